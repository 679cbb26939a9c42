package maturity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
	scoring "github.com/otelcol-aiops/otelcol-aiops/maturity"
	"github.com/otelcol-aiops/otelcol-aiops/maturity/simulator"
)

// One embedded engine per test process: the reference apps are simulated
// once, into database "sim", over the 14 days before now.
var (
	dataDir     string
	registryYML string
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "maturity-ext-test-")
	if err != nil {
		panic(err)
	}
	dataDir = d
	code := func() int {
		ctx := context.Background()
		p, err := simulator.NewPipeline(ctx, simulator.PipelineOptions{DataDir: dataDir, Database: "sim"})
		if err != nil {
			panic(err)
		}
		end := time.Now().UTC().Truncate(time.Hour)
		apps := simulator.ReferenceApps()
		if _, err := simulator.Run(ctx, simulator.Config{End: end, Days: 14, Seed: 3, Apps: apps}, p); err != nil {
			panic(err)
		}
		if err := p.Close(ctx); err != nil {
			panic(err)
		}
		raw, err := simulator.RegistryYAML(apps, end)
		if err != nil {
			panic(err)
		}
		registryYML = d + "/registry.yaml"
		if err := os.WriteFile(registryYML, raw, 0o644); err != nil {
			panic(err)
		}
		return m.Run()
	}()
	os.RemoveAll(d)
	os.Exit(code)
}

func testConfig() *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.HTTP.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Database = "sim"
	cfg.Embedded.Path = dataDir
	cfg.InitialDelay = 10 * time.Millisecond
	cfg.Interval = time.Hour
	cfg.Window = 14*24*time.Hour + time.Hour
	cfg.Registry = registryYML
	cfg.AllowUnauthenticated = true // tests that check auth configure it
	return cfg
}

// waitFor polls cond for up to 60s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 60s", what)
		}
	}
}

func (e *maturityExtension) connected() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.storeState == storeUp
}

// authHost offers a bearer-token authenticator named "testauth".
type authHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h authHost) GetExtensions() map[component.ID]component.Component { return h.ext }

type tokenAuth struct {
	component.StartFunc
	component.ShutdownFunc
}

func (tokenAuth) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") && len(v) > 0 && v[0] == "Bearer s3cret" {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or wrong bearer token")
}

var authID = component.MustNewID("testauth")

func newHost() component.Host {
	return authHost{Host: nil, ext: map[component.ID]component.Component{authID: tokenAuth{}}}
}

// startExtension starts the extension and waits for its first report.
func startExtension(t testing.TB, cfg *Config) (*maturityExtension, string) {
	t.Helper()
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), newHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ext.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	e := ext.(*maturityExtension)
	deadline := time.Now().Add(60 * time.Second)
	for {
		e.mu.RLock()
		done, lastErr := e.latest != nil, e.lastErr
		e.mu.RUnlock()
		if done {
			break
		}
		if lastErr != nil {
			t.Fatal(lastErr)
		}
		if time.Now().After(deadline) {
			t.Fatal("no report within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e, "http://" + e.listener.Addr().String()
}

func get(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestExtensionScoresRecordsAndServes(t *testing.T) {
	cfg := testConfig()
	cfg.AllowUnauthenticated = false
	cfg.HTTP.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	e, base := startExtension(t, cfg)

	if code, _ := get(t, base+"/report.json", ""); code != http.StatusUnauthorized {
		t.Fatalf("without a token: HTTP %d, want 401", code)
	}
	if code, _ := get(t, base+"/report.json", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: HTTP %d, want 401", code)
	}
	code, body := get(t, base+"/report.json", "s3cret")
	if code != http.StatusOK {
		t.Fatalf("report.json: HTTP %d: %s", code, body)
	}
	var rep scoring.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	for _, a := range simulator.ReferenceApps() {
		for _, fw := range []string{"llmops", "aiops"} {
			if got := rep.Workload(a.Name).Score(fw).Stage; got != a.Stage {
				t.Errorf("%s %s: stage %d, want %d", a.Name, fw, got, a.Stage)
			}
		}
	}
	code, body = get(t, base+"/", "s3cret")
	if code != http.StatusOK || !strings.Contains(body, "<title>AI workload maturity") || !strings.Contains(body, "Disciplined production") {
		t.Fatalf("html: HTTP %d\n%.300s", code, body)
	}
	if code, body = get(t, base+"/report.md", "s3cret"); code != http.StatusOK || !strings.Contains(body, "## agent-platform") {
		t.Fatalf("markdown: HTTP %d", code)
	}

	// Every run is recorded; the next one compares with it.
	rows, err := e.store.Query(context.Background(), "SELECT uniqExact(run_id), count(), uniqExact(workload) FROM sim.maturity_scores")
	if err != nil {
		t.Fatal(err)
	}
	if r := rows.Data[0]; r[0] != uint64(1) || r[2] != uint64(4) {
		t.Fatalf("maturity_scores after one run: %v", r)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/run", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var second scoring.Report
	err = json.NewDecoder(resp.Body).Decode(&second)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /run: HTTP %d %v", resp.StatusCode, err)
	}
	if second.PreviousRunAt == nil || second.Workload("rag-app").Score("llmops").Previous == nil {
		t.Fatal("the second run does not name the previous one")
	}
}

func TestExtensionReportsRegressions(t *testing.T) {
	// A recorded run in which rag-app was at stage 4 with online evaluation
	// met: the next run must report the drop.
	cfg := testConfig()
	cfg.InitialDelay = time.Hour // runs only on POST /run
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), newHost()); err != nil {
		t.Fatal(err)
	}
	defer ext.Shutdown(context.Background())
	e := ext.(*maturityExtension)
	waitFor(t, "store", e.connected)
	code, _ := get(t, "http://"+e.listener.Addr().String()+"/report.json", "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("before the first run: HTTP %d, want 503", code)
	}
	prior := &scoring.Report{RunID: "prior-1", GeneratedAt: time.Now().Add(-time.Millisecond), RubricVersion: "x",
		Window: scoring.Window{From: time.Now().Add(-30 * time.Hour), To: time.Now().Add(-time.Hour)},
		Workloads: []scoring.WorkloadReport{{Workload: "rag-app", Scores: []scoring.FrameworkScore{{Framework: "llmops", Stage: 4, StageName: "Operational excellence",
			Signals: []scoring.SignalResult{{ID: "llmops.s4.online_evaluation", Stage: 4, Kind: "measured", Status: scoring.StatusMet, Met: true}}}}}}}
	if err := scoring.Record(context.Background(), e.store, "sim", prior); err != nil {
		t.Fatal(err)
	}
	rep, err := e.runOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sc := rep.Workload("rag-app").Score("llmops")
	if sc.Previous == nil || sc.Previous.Stage != 4 || len(sc.Regressions) != 2 ||
		sc.Regressions[0].Kind != "stage" || sc.Regressions[1].Signal != "llmops.s4.online_evaluation" {
		t.Fatalf("regressions: previous %+v, %+v", sc.Previous, sc.Regressions)
	}
}

func TestExtensionFailsToStartWithoutAuthenticator(t *testing.T) {
	cfg := testConfig()
	cfg.AllowUnauthenticated = false
	cfg.HTTP.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("missing")}})
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = ext.Start(context.Background(), newHost())
	defer ext.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("want a start error naming the missing authenticator, got %v", err)
	}
}

var _ extensioncapabilities.Dependent = (*maturityExtension)(nil)

func TestDependsOnItsAuthenticator(t *testing.T) {
	cfg := testConfig()
	e, _ := newExtension(cfg, extensiontest.NewNopSettings(metadata.Type))
	if len(e.Dependencies()) != 0 {
		t.Fatal("no authenticator, no dependency")
	}
	cfg.HTTP.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	if d := e.Dependencies(); len(d) != 1 || d[0] != authID {
		t.Fatalf("dependencies %v", d)
	}
}

// The window starts on a day boundary, at or before now − window, so no
// run reads a cut day of old rows.
func TestWindowStartsOnAWholeDay(t *testing.T) {
	for _, c := range []struct{ now, want string }{
		{"2026-12-06T07:30:00Z", "2026-11-06T00:00:00Z"},
		{"2026-12-06T00:00:00Z", "2026-11-06T00:00:00Z"},
		{"2026-12-06T23:59:59Z", "2026-11-06T00:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := windowStart(now, 30*24*time.Hour).Format(time.RFC3339); got != c.want {
			t.Errorf("window of 30 d before %s starts %s, want %s", c.now, got, c.want)
		}
	}
	// In another zone the day is still the UTC day.
	now := time.Date(2026, 12, 6, 1, 0, 0, 0, time.FixedZone("UTC+3", 3*3600)) // 22:00 UTC the day before
	if got := windowStart(now, 24*time.Hour).Format(time.RFC3339); got != "2026-12-04T00:00:00Z" {
		t.Errorf("one day before 2026-12-05T22:00Z starts %s, want 2026-12-04T00:00:00Z", got)
	}
}
