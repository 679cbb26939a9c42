package chhttp

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
)

// The test binary shares one engine on one data directory.
var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

const (
	readerUser = "reader"
	readerPass = "s3cret pass"
)

type harness struct {
	srv  *server
	base string // http://host:port
	tel  *componenttest.Telemetry
}

// newHarness starts the extension on a free loopback port with one user,
// and waits for the engine.
func newHarness(t *testing.T, mutate func(*Config)) *harness {
	return newHarnessOn(t, componenttest.NewNopHost(), mutate)
}

func newHarnessOn(t *testing.T, host component.Host, mutate func(*Config)) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Users = []UserConfig{{Name: readerUser, Password: readerPass}}
	cfg.Embedded.Path = dataDir
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { _ = h.tel.Shutdown(context.Background()) })
	set := extensiontest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = ext.(*server)
	if err := ext.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ext.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	h.base = "http://" + h.srv.listener.Addr().String()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if eng, _ := h.srv.engine(); eng != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("engine did not open within 60s")
		}
	}
	return h
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) code() string { return r.header.Get("X-ClickHouse-Exception-Code") }

// get sends GET /?params with basic auth as reader unless params carry
// credentials of their own.
func (h *harness) get(t *testing.T, params url.Values, auth bool) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+"/?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(readerUser, readerPass)
	}
	return do(t, req)
}

func (h *harness) post(t *testing.T, params url.Values, body string, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+"/?"+params.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-ClickHouse-User", readerUser)
	req.Header.Set("X-ClickHouse-Key", readerPass)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// store opens the shared engine as the exporter does, for fixtures.
func store(t *testing.T) *chstore.Embedded {
	t.Helper()
	s, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
