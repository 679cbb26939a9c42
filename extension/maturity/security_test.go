package maturity

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
)

const reportToken = "report-token-for-tests"

var bearerID = component.MustNewIDWithName("bearertokenauth", "maturity")

// bearerHost runs the real bearertokenauth extension, as the shipped
// configs do.
func bearerHost(t testing.TB, mutate func(*bearertokenauthextension.Config)) *statusHost {
	t.Helper()
	f := bearertokenauthextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	mutate(cfg)
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ext.Shutdown(context.Background()) })
	return &statusHost{authHost: authHost{ext: map[component.ID]component.Component{bearerID: ext}}}
}

func withBearer(cfg *Config) *Config {
	cfg.AllowUnauthenticated = false
	cfg.HTTP.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: bearerID}})
	return cfg
}

// TestEmptyReportTokenNeverMeansNoAuth: with AIOPS_REPORT_TOKEN empty the
// shipped `token:` makes bearertokenauth's config invalid, so the collector
// does not start; and an authenticator that would let an empty token
// through (tokens: [""]) makes the maturity extension refuse to start.
func TestEmptyReportTokenNeverMeansNoAuth(t *testing.T) {
	f := bearertokenauthextension.NewFactory()
	empty := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	empty.BearerToken = ""
	if err := empty.Validate(); err == nil || !strings.Contains(err.Error(), "no bearer token provided") {
		t.Fatalf("bearertokenauth with token \"\": %v, want it refused", err)
	}

	host := bearerHost(t, func(c *bearertokenauthextension.Config) { c.Tokens = []configopaque.String{""} })
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), withBearer(testConfig()))
	if err != nil {
		t.Fatal(err)
	}
	err = ext.Start(context.Background(), host)
	defer ext.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "http.auth: authenticator bearertokenauth/maturity accepts a request without credentials") {
		t.Fatalf("Start with an authenticator that accepts an empty token: %v", err)
	}
}

type request struct {
	method, path, host, token, contentType, origin string
}

func (r request) do(t *testing.T, base string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.host != "" {
		req.Host = r.host
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestRequestsAreGuarded runs the extension behind the real
// bearertokenauth with a response header that would open CORS (set past
// Validate), and checks every refusal and that no response carries a
// CORS header.
func TestRequestsAreGuarded(t *testing.T) {
	host := bearerHost(t, func(c *bearertokenauthextension.Config) { c.BearerToken = reportToken })
	cfg := withBearer(testConfig())
	cfg.HTTP.ResponseHeaders = configopaque.MapList{{Name: "Access-Control-Allow-Origin", Value: "*"}}
	o := newObserved(t, cfg)
	if err := o.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Shutdown(context.Background()) })
	waitFor(t, "report", func() bool { o.mu.RLock(); defer o.mu.RUnlock(); return o.latest != nil })
	addr := o.listener.Addr().String()
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	base := "http://" + addr
	json := "application/json"
	for _, c := range []struct {
		name string
		req  request
		want int
	}{
		{"no token", request{method: "GET", path: "/report.json"}, 401},
		{"wrong token", request{method: "GET", path: "/report.json", token: "nope"}, 401},
		{"token", request{method: "GET", path: "/report.json", token: reportToken}, 200},
		{"localhost", request{method: "GET", path: "/report.md", host: "localhost:" + port, token: reportToken}, 200},
		{"::1", request{method: "GET", path: "/", host: "[::1]:" + port, token: reportToken}, 200},
		{"rebound host", request{method: "GET", path: "/report.json", host: "attacker.example:" + port, token: reportToken}, 421},
		{"rebound host, no token", request{method: "GET", path: "/", host: "attacker.example:" + port}, 421},
		{"other port", request{method: "GET", path: "/", host: "127.0.0.1:1", token: reportToken}, 421},
		{"form post", request{method: "POST", path: "/run", token: reportToken, contentType: "text/plain"}, 415},
		{"urlencoded post", request{method: "POST", path: "/run", token: reportToken, contentType: "application/x-www-form-urlencoded"}, 415},
		{"post without type", request{method: "POST", path: "/run", token: reportToken}, 415},
		{"foreign origin", request{method: "POST", path: "/run", token: reportToken, contentType: json, origin: "http://attacker.example"}, 403},
		{"foreign origin on our port", request{method: "POST", path: "/run", token: reportToken, contentType: json, origin: "http://attacker.example:" + port}, 403},
		{"null origin", request{method: "POST", path: "/run", token: reportToken, contentType: json, origin: "null"}, 403},
		{"preflight", request{method: "OPTIONS", path: "/run", origin: "http://attacker.example"}, 403},
		{"foreign origin read", request{method: "GET", path: "/report.json", token: reportToken, origin: "http://attacker.example"}, 403},
		{"same origin", request{method: "POST", path: "/run", token: reportToken, contentType: "application/json; charset=utf-8", origin: "http://127.0.0.1:" + port}, 200},
		{"run", request{method: "POST", path: "/run", token: reportToken, contentType: json}, 200},
	} {
		resp, body := c.req.do(t, base)
		if resp.StatusCode != c.want {
			t.Errorf("%s: HTTP %d, want %d: %.200s", c.name, resp.StatusCode, c.want, body)
		}
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: response has %s: %s", c.name, k, resp.Header.Get(k))
			}
		}
		if c.want == 200 && c.req.path == "/" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: the HTML page has no restrictive Content-Security-Policy", c.name)
		}
	}

	// One run at a time: a run in progress refuses POST /run.
	o.runMu.Lock()
	resp, _ := request{method: "POST", path: "/run", token: reportToken, contentType: json}.do(t, base)
	o.runMu.Unlock()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("POST /run during a run: HTTP %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	refused := map[string]int64{}
	for _, dp := range o.collect(t)["aiops_maturity_requests_refused"].Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value("reason")
		refused[r.AsString()] = dp.Value
	}
	if want := map[string]int64{"host": 3, "content_type": 3, "origin": 5, "busy": 1}; !reflect.DeepEqual(refused, want) {
		t.Errorf("aiops_maturity_requests_refused %v, want %v", refused, want)
	}
}

// seed migrates a database in the shared engine and runs an INSERT.
func seed(t testing.TB, db, insert string, params ...chstore.Param) {
	t.Helper()
	s, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := chstore.Migrate(ctx, s, chstore.SchemaOptions{Database: db}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, strings.ReplaceAll(insert, "{db}", db), params...); err != nil {
		t.Fatal(err)
	}
}

// TestStageLabelsAreBounded scores 300 workloads whose names a client
// chose (long, multi-byte): aiops_maturity_stage carries the top 50 by
// model calls under their (cut) names and every other one as "other"; a
// later run with a smaller bound drops the series it no longer reports.
func TestStageLabelsAreBounded(t *testing.T) {
	// Workload i has i+1 model calls: the top 50 are w250..w299.
	seed(t, "labels", `INSERT INTO {db}.genai_spans (timestamp, workload, service_name, operation, provider, request_model, response_model, status_code, input_tokens, output_tokens)
SELECT now64(9) - INTERVAL (number * 7 + k) SECOND, concat('w', leftPad(toString(number), 3, '0'), '-', {tail:String}), 'svc', 'chat', 'openai', 'gpt-4o', 'gpt-4o', 'Unset', 10, 5
FROM numbers(300) ARRAY JOIN range(number + 1) AS k`, chstore.StringParam("tail", strings.Repeat("é", 100)))
	cfg := testConfig()
	cfg.Database = "labels"
	cfg.Registry = ""
	cfg.Window = 24 * time.Hour
	o := newObserved(t, cfg)
	if err := o.Start(context.Background(), newHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Shutdown(context.Background()) })
	waitFor(t, "report", func() bool { o.mu.RLock(); defer o.mu.RUnlock(); return o.latest != nil })
	if n := len(o.latest.Workloads); n != 300 {
		t.Fatalf("%d workloads scored, want 300", n)
	}

	labels := func(wantMax int) map[string]bool {
		t.Helper()
		m, ok := o.collect(t)["aiops_maturity_stage"]
		if !ok {
			t.Fatal("aiops_maturity_stage not emitted")
		}
		got := map[string]bool{}
		for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
			w, _ := dp.Attributes.Value("workload")
			l := w.AsString()
			if len(l) > 128 || !utf8.ValidString(l) {
				t.Errorf("label of %d bytes (valid UTF-8: %v)", len(l), utf8.ValidString(l))
			}
			got[l] = true
		}
		if len(got) > wantMax+1 || !got["other"] {
			t.Fatalf("%d workload label values (other: %v), want at most %d and other", len(got), got["other"], wantMax+1)
		}
		return got
	}
	got := labels(50)
	for i := 0; i < 300; i++ {
		prefix := fmt.Sprintf("w%03d-", i)
		found := false
		for l := range got {
			found = found || strings.HasPrefix(l, prefix)
		}
		if found != (i >= 250) {
			t.Errorf("%s labelled: %v, want %v (top 50 by model calls)", prefix, found, i >= 250)
		}
	}

	o.cfg.MaxMetricWorkloads = 10
	if _, err := o.runOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := labels(10); len(got) != 11 {
		t.Fatalf("after a run bounded to 10: %d label values", len(got))
	}
}

// TestServedReportStaysSmall: a 1 MiB model name and a 1 MiB workload
// name do not make a multi-megabyte page.
func TestServedReportStaysSmall(t *testing.T) {
	seed(t, "huge_served", `INSERT INTO {db}.genai_spans (timestamp, workload, service_name, operation, provider, request_model, response_model, status_code, tool_name, agent_name, input_tokens, output_tokens)
SELECT now64(9) - INTERVAL number MINUTE, if(number < 10, 'app', {m:String}), 'svc', if(number % 2 = 0, 'chat', 'execute_tool'), 'openai', {m:String}, {m:String}, 'Unset', {m:String}, {m:String}, 10, 5
FROM numbers(20)`, chstore.StringParam("m", strings.Repeat("x", 1<<20)))
	cfg := testConfig()
	cfg.Database = "huge_served"
	cfg.Registry = ""
	cfg.Window = 24 * time.Hour
	_, base := startExtension(t, cfg)
	for _, path := range []string{"/", "/report.json", "/report.md"} {
		code, body := get(t, base+path, "")
		if code != 200 || len(body) > 512<<10 || !strings.Contains(body, "too long and are shown cut") && !strings.Contains(body, `"truncated"`) {
			t.Errorf("%s: HTTP %d, %d bytes, notes the cut: %v", path, code, len(body), strings.Contains(body, "shown cut"))
		}
	}
}

// metadata.yaml and the metrics the extension emits stay in step: every
// declared metric is emitted with its description, unit, kind and exactly
// its declared attributes, and nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
	o := newObserved(t, testConfig())
	if err := o.Start(context.Background(), newHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Shutdown(context.Background()) })
	waitFor(t, "report", func() bool { o.mu.RLock(); defer o.mu.RUnlock(); return o.latest != nil })
	request{method: "GET", path: "/", host: "attacker.example"}.do(t, "http://"+o.listener.Addr().String())

	var ms []metricdata.Metrics
	for _, m := range o.collect(t) {
		ms = append(ms, m)
	}
	md.Check(t, telemetrytest.Metrics(t, ms))
}
