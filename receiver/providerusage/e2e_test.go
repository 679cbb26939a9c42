package providerusage

import (
	"context"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
	"github.com/otelcol-aiops/otelcol-aiops/internal/mockprovider"
)

// One engine per test process; each test uses its own database.
var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

// startExporter runs the real aiops_clickhouse exporter on the embedded
// engine, synchronously, so a stored record is stored when Consume returns.
func startExporter(t *testing.T, db string) exporter.Logs {
	t.Helper()
	f := aiopsclickhouse.NewFactory()
	cfg := f.CreateDefaultConfig().(*aiopsclickhouse.Config)
	cfg.Database = db
	cfg.Embedded.Path = dataDir
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return exp
}

func query(t *testing.T, q string) [][]any {
	t.Helper()
	s, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return rows.Data
}

func scalar(t *testing.T, q string) any { t.Helper(); return query(t, q)[0][0] }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The figures one full read of the fixture gives, whatever was read before
// (see mocks.fill), as the view must show them.
func checkOnce(t *testing.T, db string) {
	t.Helper()
	v := db + ".provider_usage_latest"
	for q, want := range map[string]any{
		"SELECT count() FROM " + v: uint64(27),
		// 1000(1+2+3) input of which 400(1+2+3) cached; 200(1+2+3) output.
		"SELECT sum(input_tokens) FROM " + v + " WHERE source = 'completions' AND project_id = 'proj_support'":          uint64(3600),
		"SELECT sum(output_tokens) FROM " + v + " WHERE source = 'completions' AND project_id = 'proj_support'":         uint64(1200),
		"SELECT sum(cache_read_tokens) FROM " + v + " WHERE provider = 'anthropic'":                                     uint64(9000),
		"SELECT sum(requests) FROM " + v + " WHERE provider = 'openai'":                                                 uint64(60 + 15 + 12),
		"SELECT toString(sum(cost_usd)) FROM " + v + " WHERE provider = 'openai'":                                       "0.067725", // 3 × (0.0225 + 0.000075)
		"SELECT toString(sum(cost_usd)) FROM " + v + " WHERE provider = 'anthropic'":                                    "0.822",    // 3 × (27 + 0.40) cents
		"SELECT toString(sum(cost_usd)) FROM " + v + " WHERE kind = 'cost' AND workload = ''":                           "0.012225", // proj_unmapped 3 × 0.000075, default workspace 3 × 0.004
		"SELECT toString(sum(cost_usd)) FROM " + v + " WHERE workload = 'support-bot' AND tenant_id = 'acme'":           "0.0675",
		"SELECT sum(output_tokens) FROM " + v + " WHERE provider = 'anthropic' AND workload = '' AND team = 'platform'": uint64(60),
	} {
		if got := scalar(t, q); got != want {
			t.Errorf("%s\n got %v, want %v", q, got, want)
		}
	}
}

// A bucket still filling, read again with larger values, replaces the
// earlier read in provider_usage_latest; nothing is added twice.
func TestRepolledBucketIsReplacedNotAdded(t *testing.T) {
	db := "pu_repoll"
	m := newMocks(t)
	exp := startExporter(t, db)
	defer exp.Shutdown(context.Background())
	h := newHarness(t, m.config(), exp)
	h.poll()
	checkOnce(t, db)

	// An hour later today's bucket has grown threefold.
	m.fill(3)
	h.r.now = func() time.Time { return now.Add(time.Hour) }
	h.poll()
	v := db + ".provider_usage_latest"
	// 200·1 + 200·2 + 200·3·3: the old 600 of today is gone, not added.
	if got := scalar(t, "SELECT sum(output_tokens) FROM "+v+" WHERE source = 'completions' AND project_id = 'proj_support'"); got != uint64(2400) {
		t.Errorf("output tokens %v, want 2400", got)
	}
	if got := scalar(t, "SELECT toString(max(poll_time)) FROM "+v+" WHERE source = 'completions' AND project_id = 'proj_support'"); got != "2026-11-20 16:30:00.000000000" {
		t.Errorf("today's row read at %v, want the second poll", got)
	}
	// Every row is the second read's (merges may or may not have dropped
	// the first's from the table yet; the view never shows both).
	if got := scalar(t, "SELECT countIf(poll_time = toDateTime64('2026-11-20 16:30:00', 9, 'UTC')) FROM "+v); got != uint64(27) {
		t.Errorf("%v rows of the second read in the view, want 27", got)
	}
	if got := scalar(t, "SELECT count() FROM "+v); got != uint64(27) {
		t.Errorf("view rows %v, want 27", got)
	}
}

// The collector stops in the middle of a poll (both providers held on a
// later page of their cost report) and starts again: the second start reads
// the window again and nothing is counted twice.
func TestRestartInTheMiddleOfAPollDoublesNothing(t *testing.T) {
	db := "pu_restart"
	m := newMocks(t)
	releaseOpenAI := m.openai.Hold(mockprovider.OpenAICosts, 1)
	releaseAnthropic := m.anthropic.Hold(mockprovider.AnthropicCosts, 2)
	defer releaseOpenAI()
	defer releaseAnthropic()

	raw := func(where string) uint64 {
		return scalar(t, "SELECT count() FROM "+db+".provider_usage WHERE "+where).(uint64)
	}
	exp := startExporter(t, db)
	h := newHarness(t, m.config(), exp)
	if err := h.r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	// Usage reports are stored; each cost report has served its first pages.
	waitFor(t, "the first poll's usage rows", func() bool {
		return raw("source IN ('completions', 'embeddings', 'messages')") == 15 &&
			m.openai.Served(mockprovider.OpenAICosts) == 1 && m.anthropic.Served(mockprovider.AnthropicCosts) == 2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.r.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown in the middle of a poll: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The held requests were abandoned by the stop, not answered.
	for _, srv := range []*mockprovider.Server{m.openai, m.anthropic} {
		waitFor(t, "the held request to be abandoned", func() bool {
			for _, r := range srv.Requests() {
				if r.Status == 499 {
					return true
				}
			}
			return false
		})
	}
	if n := raw("kind = 'cost'"); n != 0 {
		t.Fatalf("%d cost rows from an abandoned report", n)
	}

	// Restart five minutes later; the held pages are let go meanwhile.
	exp2 := startExporter(t, db)
	defer exp2.Shutdown(context.Background())
	h2 := newHarness(t, m.config(), exp2)
	h2.r.now = func() time.Time { return now.Add(5 * time.Minute) }
	if err := h2.r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	releaseOpenAI()
	releaseAnthropic()
	waitFor(t, "the second poll", func() bool {
		return scalar(t, "SELECT countIf(poll_time = toDateTime64('2026-11-20 15:35:00', 9, 'UTC')) FROM "+db+".provider_usage_latest") == uint64(27)
	})
	if err := h2.r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, db)
	// The view holds the second start's read only.
	if got := scalar(t, "SELECT uniqExact(poll_time) FROM "+db+".provider_usage_latest"); got != uint64(1) {
		t.Errorf("the view mixes %v polls, want the second only", got)
	}
}
