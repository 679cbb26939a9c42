package chhttp

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
)

var bearerID = component.MustNewIDWithName("bearertokenauth", "readers")

type authHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h authHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// bearerHost runs the real bearertokenauth extension.
func bearerHost(t *testing.T, tokens ...configopaque.String) authHost {
	t.Helper()
	f := bearertokenauthextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	cfg.Tokens = tokens
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	must(t, err)
	must(t, ext.Start(context.Background(), nil))
	t.Cleanup(func() { ext.Shutdown(context.Background()) })
	return authHost{ext: map[component.ID]component.Component{bearerID: ext}}
}

func withBearer(c *Config) {
	c.Users = nil
	c.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: bearerID}})
}

// A collector authenticator guards queries (Grafana sends the token as a
// custom header); /ping stays open, as ClickHouse's.
func TestCollectorAuthenticator(t *testing.T) {
	h := newHarnessOn(t, bearerHost(t, "reader-token"), withBearer)
	send := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, h.base+"/?query=SELECT+42", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r := do(t, req)
		return r.status, r.body
	}
	if st, body := send("reader-token"); st != 200 || body != "42\n" {
		t.Errorf("with the token: %d %q", st, body)
	}
	before := h.srv.sessions.Load()
	for _, tok := range []string{"", "wrong"} {
		if st, body := send(tok); st != http.StatusUnauthorized {
			t.Errorf("token %q: %d %q", tok, st, body)
		}
	}
	if h.srv.sessions.Load() != before {
		t.Error("a request the authenticator refused reached the engine")
	}
	resp, err := http.Get(h.base + "/ping")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/ping behind the authenticator: %d", resp.StatusCode)
	}
}

// An authenticator that lets a request without credentials through, with
// no users behind it, would make the telemetry public: Start refuses.
func TestAnonymousAuthenticatorRefused(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Embedded.Path = dataDir
	withBearer(cfg)
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	must(t, err)
	err = ext.Start(context.Background(), bearerHost(t, ""))
	defer ext.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "accepts a request without credentials") {
		t.Fatalf("Start: %v", err)
	}
}
