package genaifeedback

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/genaifeedback/internal/metadata"
)

const testToken = "s3cret-token"

var authID = component.MustNewIDWithName("bearertokenauth", "feedback")

// testHost supplies extensions, as the collector's host does.
type testHost struct {
	ext map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// bearerHost runs contrib's bearertokenauth extension accepting testToken.
func bearerHost(t *testing.T) component.Host {
	t.Helper()
	f := bearertokenauthextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	cfg.BearerToken = testToken
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ext.Shutdown(context.Background()) })
	return testHost{ext: map[component.ID]component.Component{authID: ext}}
}

func withAuth(cfg *Config) *Config {
	cfg.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	return cfg
}

func testConfig() *Config {
	cfg := createDefaultConfig()
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.ServiceName = "support-bot"
	return cfg
}

type harness struct {
	t    *testing.T
	rcv  *feedbackReceiver
	base string
	sink *consumertest.LogsSink
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
	// token is sent as a bearer token when set.
	token string
}

// start runs the receiver through its factory on a loopback port. next
// defaults to a sink; host defaults to one without extensions.
func start(t *testing.T, cfg *Config, next consumer.Logs, host component.Host) *harness {
	t.Helper()
	h := &harness{t: t, sink: new(consumertest.LogsSink), tel: componenttest.NewTelemetry()}
	if next == nil {
		next = h.sink
	}
	if host == nil {
		host = componenttest.NewNopHost()
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		h.tel.Shutdown(context.Background())
	})
	h.rcv = r.(*feedbackReceiver)
	h.base = "http://" + h.rcv.addr.String()
	return h
}

type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r response) num(key string) int {
	f, _ := r.body[key].(float64)
	return int(f)
}

// post sends body as JSON; headers are set after the defaults, so tests
// can override Content-Type or Authorization.
func (h *harness) post(path string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(http.MethodPost, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) response {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// records returns every log record the next consumer received.
func (h *harness) records() []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range h.sink.AllLogs() {
		forEachRecord(ld, func(_ string, lr plog.LogRecord) { out = append(out, lr) })
	}
	return out
}

func forEachRecord(ld plog.Logs, f func(service string, lr plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		svc, _ := rl.Resource().Attributes().Get("service.name")
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(svc.AsString(), lrs.At(k))
			}
		}
	}
}

// counter reads a counter's value at the data point carrying want.
func (h *harness) counter(name string, want ...attribute.KeyValue) int64 {
	h.t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		h.t.Fatalf("%s is %T", name, m.Data)
	}
	var total int64
	for _, p := range sum.DataPoints {
		match := true
		for _, kv := range want {
			if v, ok := p.Attributes.Value(kv.Key); !ok || v != kv.Value {
				match = false
			}
		}
		if match {
			total += p.Value
		}
	}
	return total
}

// switchConsumer returns err (when set) instead of delivering, and can hold
// deliveries until released.
type switchConsumer struct {
	mu   sync.Mutex
	err  error
	hold chan struct{}
	in   chan struct{}
	sink consumertest.LogsSink
}

func (c *switchConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *switchConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	err, hold, in := c.err, c.hold, c.in
	c.mu.Unlock()
	if in != nil {
		in <- struct{}{}
	}
	if hold != nil {
		select {
		case <-hold:
		case <-time.After(10 * time.Second):
			return context.DeadlineExceeded
		}
	}
	if err != nil {
		return err
	}
	return c.sink.ConsumeLogs(ctx, ld)
}

func (c *switchConsumer) set(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}
