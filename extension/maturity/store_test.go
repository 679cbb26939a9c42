package maturity

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/extension/extensiontest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// statusHost records the status events the extension reports.
type statusHost struct {
	authHost
	mu     sync.Mutex
	events []componentstatus.Status
	errs   []error
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Status())
	h.errs = append(h.errs, ev.Err())
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]componentstatus.Status(nil), h.events...)
}

func newStatusHost() *statusHost { return &statusHost{authHost: newHost().(authHost)} }

// observed is an extension whose logs and metrics the test reads.
type observed struct {
	*maturityExtension
	logs   *observer.ObservedLogs
	reader *sdkmetric.ManualReader
}

func newObserved(t testing.TB, cfg *Config) observed {
	t.Helper()
	set := extensiontest.NewNopSettings(metadata.Type)
	core, logs := observer.New(zapcore.DebugLevel)
	set.Logger = zap.New(core)
	reader := sdkmetric.NewManualReader()
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	e, err := newExtension(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	return observed{maturityExtension: e, logs: logs, reader: reader}
}

func (o observed) collect(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == metadata.ScopeName {
			for _, m := range sm.Metrics {
				out[m.Name] = m
			}
		}
	}
	return out
}

func (o observed) storeConnectedValue(t testing.TB) int64 {
	m, ok := o.collect(t)["aiops_maturity_store_connected"]
	if !ok {
		t.Fatal("aiops_maturity_store_connected not emitted")
	}
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

func (o observed) count(level zapcore.Level, msg string) int {
	n := 0
	for _, e := range o.logs.All() {
		if e.Level == level && strings.Contains(e.Message, msg) {
			n++
		}
	}
	return n
}

type unavailableBody struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after_seconds"`
}

func getUnavailable(t *testing.T, url string) (unavailableBody, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s: HTTP %d, want 503", url, resp.StatusCode)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("%s: Retry-After %q, want whole seconds", url, resp.Header.Get("Retry-After"))
	}
	var b unavailableBody
	if strings.HasSuffix(url, ".json") || strings.HasSuffix(url, "/run") {
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			t.Fatalf("%s: the 503 body is not JSON: %v", url, err)
		}
	}
	return b, ra
}

// TestStoreDownAtStartThenReachable stands in for a ClickHouse server that
// is down when the collector starts: the store opener fails until the test
// lets it open the real embedded store. The extension starts anyway,
// answers 503 with Retry-After and the reason, reports one recoverable
// error however many attempts fail (and logs once), then serves the report
// and reports OK once the store opens.
func TestStoreDownAtStartThenReachable(t *testing.T) {
	cfg := testConfig()
	o := newObserved(t, cfg)
	o.retryInitial, o.retryMax = 10*time.Millisecond, 40*time.Millisecond
	var attempts atomic.Int32
	release := make(chan struct{})
	o.openStore = func(ctx context.Context) (chstore.Store, error) {
		attempts.Add(1)
		select {
		case <-release:
			s, err := chstore.OpenEmbedded(dataDir, "")
			if err != nil {
				return nil, err
			}
			return s, nil
		default:
			return nil, errors.New("ping [127.0.0.1:9000]: dial tcp 127.0.0.1:9000: connect: connection refused")
		}
	}
	host := newStatusHost()
	if err := o.Start(context.Background(), host); err != nil {
		t.Fatalf("Start with the store down: %v", err)
	}
	t.Cleanup(func() {
		if err := o.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	base := "http://" + o.listener.Addr().String()
	waitFor(t, "five failed attempts", func() bool { return attempts.Load() >= 5 })

	b, _ := getUnavailable(t, base+"/report.json")
	if b.Error != "store_unavailable" || !strings.Contains(b.Message, "connection refused") || b.RetryAfter < 1 {
		t.Fatalf("report.json while down: %+v", b)
	}
	getUnavailable(t, base+"/")
	getUnavailable(t, base+"/report.md")
	req, _ := http.NewRequest(http.MethodPost, base+"/run", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("POST /run while down: HTTP %d", resp.StatusCode)
	}
	if got := host.statuses(); len(got) != 1 || got[0] != componentstatus.StatusRecoverableError {
		t.Fatalf("status events after %d failed attempts: %v, want one recoverable error", attempts.Load(), got)
	}
	if n := o.count(zapcore.WarnLevel, "store cannot be opened"); n != 1 {
		t.Fatalf("%d warnings for %d failed attempts, want one", n, attempts.Load())
	}
	if v := o.storeConnectedValue(t); v != 0 {
		t.Fatalf("aiops_maturity_store_connected = %d while down", v)
	}

	close(release)
	waitFor(t, "report", func() bool {
		o.mu.RLock()
		defer o.mu.RUnlock()
		return o.latest != nil
	})
	code, body := get(t, base+"/report.json", "")
	if code != http.StatusOK || !strings.Contains(body, `"workload": "rag-app"`) {
		t.Fatalf("report.json once reachable: HTTP %d %.200s", code, body)
	}
	if got := host.statuses(); len(got) != 2 || got[1] != componentstatus.StatusOK {
		t.Fatalf("status events: %v, want recoverable error then OK", got)
	}
	if n := o.count(zapcore.InfoLevel, "store reachable again"); n != 1 {
		t.Fatalf("%d recovery logs, want one", n)
	}
	if v := o.storeConnectedValue(t); v != 1 {
		t.Fatalf("aiops_maturity_store_connected = %d once open", v)
	}
}

// shippedConfig resolves config/clickhouse.yaml as the collector does
// and returns its maturity extension's config.
func shippedConfig(t *testing.T, file string) *Config {
	t.Helper()
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + file},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := r.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := conf.Sub("extensions::maturity")
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestUnreachableServerDoesNotPanic is the shipped clickhouse.yaml with
// nothing listening at its endpoint: Start returns nil, the report explains
// (to a request with the token), and Shutdown closes cleanly (it used to
// call Close on a nil *chstore.Server).
func TestUnreachableServerDoesNotPanic(t *testing.T) {
	t.Setenv("CLICKHOUSE_ENDPOINT", "clickhouse://127.0.0.1:1?dial_timeout=2s")
	t.Setenv("AIOPS_REPORT_TOKEN", reportToken)
	cfg := shippedConfig(t, "../../config/clickhouse.yaml")
	if cfg.ClickHouse.Endpoint != "clickhouse://127.0.0.1:1?dial_timeout=2s" || !cfg.HTTP.Auth.HasValue() {
		t.Fatalf("config/clickhouse.yaml's maturity: %+v", cfg)
	}
	cfg.HTTP.NetAddr.Endpoint = "127.0.0.1:0" // a free port, not 8890
	o := newObserved(t, cfg)
	host := bearerHost(t, func(c *bearertokenauthextension.Config) { c.BearerToken = reportToken })
	if err := o.Start(context.Background(), host); err != nil {
		t.Fatalf("Start with the server down: %v", err)
	}
	waitFor(t, "a failed attempt", func() bool { return len(host.statuses()) > 0 })
	resp, body := request{method: "GET", path: "/report.json", token: reportToken}.do(t, "http://"+o.listener.Addr().String())
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, `"store_unavailable"`) || !strings.Contains(body, "127.0.0.1:1") {
		t.Fatalf("report.json: HTTP %d %s", resp.StatusCode, body)
	}
	if got := host.statuses(); got[0] != componentstatus.StatusRecoverableError {
		t.Fatalf("status %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if o.store != nil {
		t.Fatalf("a store is held after Shutdown: %#v", o.store)
	}
}

// TestShutdownWithoutStart: the collector shuts down extensions whose
// Start it never called (another component failed first).
func TestShutdownWithoutStart(t *testing.T) {
	e, err := newExtension(testConfig(), extensiontest.NewNopSettings(metadata.Type))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A store opener that returns a nil pointer without an error is treated as
// a failure, never stored.
func TestNilStoreIsAFailure(t *testing.T) {
	e, _ := newExtension(testConfig(), extensiontest.NewNopSettings(metadata.Type))
	e.openStore = func(context.Context) (chstore.Store, error) { return (*chstore.Server)(nil), nil }
	if s, err := e.connectOnce(context.Background()); err == nil || s != nil {
		t.Fatalf("connectOnce = %v, %v", s, err)
	}
}

var _ component.Host = (*statusHost)(nil)
