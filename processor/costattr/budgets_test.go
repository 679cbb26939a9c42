package costattr

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-aiops/otelcol-aiops/internal/budget"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// clock is a settable timeNow for budget tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func useClock(t *testing.T, start time.Time) *clock {
	c := &clock{t: start}
	old := timeNow
	timeNow = c.now
	t.Cleanup(func() { timeNow = old })
	return c
}

// call is a gpt-4o call of n input tokens at 2.50/1M: 1000 tokens = 0.0025 USD.
func call(user string, tokens int, at time.Time, id byte) spanSpec {
	return spanSpec{trace: id, id: id, start: at, attrs: map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": tokens, "user.id": user}}
}

func budgetCfg(rules ...BudgetRuleConfig) *Config {
	cfg := defaultCfg()
	cfg.Budgets.Rules = rules
	cfg.Budgets.TimeZone = "Europe/Berlin"
	return cfg
}

func events(sp ptrace.Span) []map[string]any {
	var out []map[string]any
	for i := 0; i < sp.Events().Len(); i++ {
		if e := sp.Events().At(i); e.Name() == "aiops.budget" {
			out = append(out, e.Attributes().AsRaw())
		}
	}
	return out
}

func TestBudgetDayWindowSoftAndHard(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := func(d, h int) time.Time { return time.Date(2026, 10, d, h, 0, 0, 0, berlin) }
	clk := useClock(t, day(5, 9))
	// Per user and day: soft 0.005 USD, hard 0.01 USD.
	h := newHarness(t, budgetCfg(BudgetRuleConfig{Name: "user-daily", Key: "user:*", Window: "day", SoftUSD: 0.005, HardUSD: 0.01}))
	h.start(nil)
	defer h.stop()

	res := map[string]any{"service.name": "bot"}
	// alice: 1000 tokens (0.0025), then 1000 more (0.005 = soft), then 2000 (0.01 = hard) in one batch with bob.
	sp := h.consume(resourceSpec{attrs: res, spans: []spanSpec{call("alice", 1000, day(5, 9), 1)}})
	if len(events(sp[0])) != 0 || has(sp[0].Attributes(), "aiops.budget.state") {
		t.Fatalf("no crossing expected: %v", sp[0].Attributes().AsRaw())
	}
	clk.set(day(5, 10))
	sp = h.consume(resourceSpec{attrs: res, spans: []spanSpec{call("alice", 1000, day(5, 10), 2)}})
	ev := events(sp[0])
	// 0.0025 + 0.0025 = 0.005: soft reached.
	if len(ev) != 1 || ev[0]["aiops.budget.threshold"] != "soft" || ev[0]["aiops.budget.key"] != "user:alice" || ev[0]["aiops.budget.rule"] != "user-daily" ||
		ev[0]["aiops.budget.spent_usd"] != 0.005 || ev[0]["aiops.budget.limit_usd"] != 0.005 || ev[0]["aiops.budget.window"] != "day" ||
		ev[0]["aiops.budget.window.start"] != "2026-10-05T00:00:00+02:00" || ev[0]["aiops.budget.name"] != "user-daily" ||
		ev[0]["aiops.budget.severity"] != "medium" || ev[0]["aiops.budget.action"] != "alert" || ev[0]["aiops.budget.state"] != "soft" {
		t.Fatalf("soft event %v", ev)
	}
	if str(sp[0].Attributes(), "aiops.budget.state") != "soft" || str(sp[0].Attributes(), "aiops.budget.rule") != "user-daily" {
		t.Errorf("state attribute %v", sp[0].Attributes().AsRaw())
	}
	clk.set(day(5, 11))
	sp = h.consume(resourceSpec{attrs: res, spans: []spanSpec{call("alice", 2000, day(5, 11), 3), call("bob", 1000, day(5, 11), 4)}})
	// alice 0.005 + 0.005 = 0.01: hard. bob 0.0025: nothing.
	if ev := events(sp[0]); len(ev) != 1 || ev[0]["aiops.budget.threshold"] != "hard" || ev[0]["aiops.budget.spent_usd"] != 0.01 {
		t.Fatalf("hard event %v", ev)
	}
	if len(events(sp[1])) != 0 || has(sp[1].Attributes(), "aiops.budget.state") {
		t.Errorf("bob: %v", sp[1].Attributes().AsRaw())
	}
	// Further spend: no new events, state stays hard.
	sp = h.consume(resourceSpec{attrs: res, spans: []spanSpec{call("alice", 1000, day(5, 11), 5)}})
	if len(events(sp[0])) != 0 || str(sp[0].Attributes(), "aiops.budget.state") != "hard" {
		t.Errorf("after hard: %v", sp[0].Attributes().AsRaw())
	}
	// The next day in Berlin starts at 22:00 UTC: a new window, soft fires again.
	clk.set(day(6, 0).Add(time.Minute))
	sp = h.consume(resourceSpec{attrs: res, spans: []spanSpec{call("alice", 2000, day(6, 0).Add(time.Minute), 6)}})
	if ev := events(sp[0]); len(ev) != 1 || ev[0]["aiops.budget.threshold"] != "soft" || ev[0]["aiops.budget.window.start"] != "2026-10-06T00:00:00+02:00" {
		t.Errorf("next day %v", ev)
	}

	// The log record for alerting pipelines: one WARN per crossing, with fields.
	logs := h.logs.FilterMessage("budget threshold crossed").All()
	if len(logs) != 3 {
		t.Fatalf("%d crossing log records, want 3", len(logs))
	}
	f := logs[1].ContextMap()
	if logs[1].Level != zapcore.WarnLevel || f["event.name"] != "aiops.budget" || f["aiops.budget.threshold"] != "hard" || f["aiops.budget.key"] != "user:alice" ||
		f["aiops.budget.spent_usd"] != "0.01" || f["aiops.budget.limit_usd"] != "0.01" || f["trace_id"] != "03000000000000000000000000000000" {
		t.Errorf("log record %v", f)
	}
	// Metrics: crossings by rule and threshold; the state gauge per key.
	for th, want := range map[string]float64{"soft": 2, "hard": 1} {
		if n, _ := h.sum("aiops_costattr_budget_crossings", map[string]string{"rule": "user-daily", "threshold": th}); n != want {
			t.Errorf("crossings{%s} = %v, want %v", th, n, want)
		}
	}
	if v, ok := h.sum("aiops_costattr_budget_state", map[string]string{"rule": "user-daily", "key": "user:alice"}); !ok || v != 1 {
		t.Errorf("state gauge alice = %v %v, want 1 (soft on day 2)", v, ok)
	}
	if v, _ := h.sum("aiops_costattr_budget_spend", map[string]string{"rule": "user-daily", "key": "user:alice"}); v != 0.005 {
		t.Errorf("spend gauge %v", v)
	}
}

func TestBudgetRollingWindow(t *testing.T) {
	t0 := time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC)
	clk := useClock(t, t0)
	h := newHarness(t, budgetCfg(BudgetRuleConfig{Name: "burst", Key: "user:*", Window: "1h", SoftUSD: 0.005, HardUSD: 0.0075}))
	h.start(nil)
	defer h.stop()
	step := func(at time.Time, tokens int, wantThresholds ...string) {
		t.Helper()
		clk.set(at)
		sp := h.consume(resourceSpec{spans: []spanSpec{call("u", tokens, at, 1)}})
		var got []string
		for _, e := range events(sp[0]) {
			got = append(got, e["aiops.budget.threshold"].(string))
		}
		if len(got) != len(wantThresholds) || (len(got) > 0 && got[0] != wantThresholds[0]) || (len(got) > 1 && got[1] != wantThresholds[1]) {
			t.Errorf("at %s: crossings %v, want %v", at.Format(time.TimeOnly), got, wantThresholds)
		}
	}
	// Buckets of one minute; each call of 1000 tokens is 0.0025 USD, one unit:
	// soft is 2 units, hard 3.
	step(t0, 1000)                                      // 08:00: 1
	step(t0.Add(10*time.Minute), 1000, "soft")          // 08:10: 2
	step(t0.Add(20*time.Minute), 1000, "hard")          // 08:20: 3
	step(t0.Add(50*time.Minute), 1000)                  // 08:50: 4
	step(t0.Add(60*time.Minute), 1000)                  // 09:00: 08:00 left the hour: 3, still at hard, +1 = 4: nothing re-fires
	step(t0.Add(75*time.Minute), 0)                     // 09:15: a call priced 0 changes nothing
	step(t0.Add(85*time.Minute), 1000, "hard")          // 09:25: 08:10, 08:20 left: 2 < hard re-arms it (soft stays); +1 = 3: hard again
	step(t0.Add(125*time.Minute), 1000, "soft")         // 10:05: 08:50, 09:00 left: 1 < soft re-arms it; +1 = 2: soft again
	step(t0.Add(200*time.Minute), 3000, "soft", "hard") // 11:20: everything left: 0 + 3 at once
}

// hostWith is a host that offers extensions.
type hostWith struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h.ext }

var storageID = component.MustNewIDWithName("file_storage", "budgets")

func fileStorage(t *testing.T, dir string) extension.Extension {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return ext
}

func TestBudgetStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	clk := useClock(t, t0)
	cfg := budgetCfg(
		BudgetRuleConfig{Name: "user-daily", Key: "user:*", Window: "day", SoftUSD: 0.005, HardUSD: 0.01},
		BudgetRuleConfig{Name: "tenant-rolling", Key: "tenant:*", Window: "6h", HardUSD: 0.02},
	)
	cfg.Budgets.Storage = &storageID
	cfg.Budgets.TimeZone = "UTC"
	withTenant := func(s spanSpec) spanSpec { s.attrs["tenant.id"] = "acme"; return s }

	// First run: alice spends 0.0075 (soft), acme 0.0075.
	ext := fileStorage(t, dir)
	h := newHarness(t, cfg)
	h.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: ext}})
	sp := h.consume(resourceSpec{spans: []spanSpec{withTenant(call("alice", 3000, t0, 1))}})
	if ev := events(sp[0]); len(ev) != 1 || ev[0]["aiops.budget.threshold"] != "soft" {
		t.Fatalf("first run %v", ev)
	}
	h.stop() // saves the state
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restart mid-window, a new process would see only the file.
	t1 := t0.Add(2 * time.Hour)
	clk.set(t1)
	ext2 := fileStorage(t, dir)
	defer ext2.Shutdown(context.Background())
	h2 := newHarness(t, cfg)
	h2.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: ext2}})
	if len(h2.logs.FilterMessage("budget state restored").All()) != 1 {
		t.Error("no restore logged")
	}
	// alice +0.0025 = 0.01: hard, and soft is not repeated. acme 0.0075 + 0.0025 = 0.01.
	sp = h2.consume(resourceSpec{spans: []spanSpec{withTenant(call("alice", 1000, t1, 2))}})
	ev := events(sp[0])
	if len(ev) != 1 || ev[0]["aiops.budget.threshold"] != "hard" || ev[0]["aiops.budget.rule"] != "user-daily" || ev[0]["aiops.budget.spent_usd"] != 0.01 {
		t.Fatalf("after restart %v", ev)
	}
	// acme: 0.01 + 0.01 = 0.02 = rolling hard, counting the spend from before the restart.
	// carol's 0.01 also crosses her own daily soft and hard.
	sp = h2.consume(resourceSpec{spans: []spanSpec{withTenant(call("carol", 4000, t1, 3))}})
	var rolling []map[string]any
	for _, e := range events(sp[0]) {
		if e["aiops.budget.rule"] == "tenant-rolling" {
			rolling = append(rolling, e)
		}
	}
	if len(rolling) != 1 || rolling[0]["aiops.budget.spent_usd"] != 0.02 || rolling[0]["aiops.budget.key"] != "tenant:acme" || len(events(sp[0])) != 3 {
		t.Fatalf("rolling after restart %v", events(sp[0]))
	}
	h2.stop()
}

type hookServer struct {
	mu       sync.Mutex
	got      []budget.Notification
	auth     []string
	fail     atomic.Int32
	attempts atomic.Int32
}

func (s *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.attempts.Add(1)
	if s.fail.Load() > 0 {
		s.fail.Add(-1)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var n budget.Notification
	if err := json.Unmarshal(b, &n); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, n)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *hookServer) received() []budget.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]budget.Notification(nil), s.got...)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBudgetWebhookRetriedAndSentOncePerWindowAndThreshold(t *testing.T) {
	srv := &hookServer{}
	srv.fail.Store(2) // the endpoint fails twice before accepting
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	clk := useClock(t, t0)
	cfg := budgetCfg(BudgetRuleConfig{Name: "user-daily", Key: "user:*", Window: "day", SoftUSD: 0.005, HardUSD: 0.01})
	cfg.Budgets.TimeZone = "UTC"
	cfg.Budgets.Storage = &storageID
	cfg.Budgets.Webhook.Endpoint = hs.URL + "/budget"
	cfg.Budgets.Webhook.Headers.Set("Authorization", "Bearer t0ken")
	cfg.Budgets.Webhook.RetryOnFailure.InitialInterval = 10 * time.Millisecond
	cfg.Budgets.Webhook.RetryOnFailure.MaxInterval = 20 * time.Millisecond
	cfg.Budgets.Webhook.RetryOnFailure.RandomizationFactor = 0

	ext := fileStorage(t, dir)
	h := newHarness(t, cfg)
	h.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: ext}})
	// Soft crossed; more spend below hard: one webhook only.
	h.consume(resourceSpec{spans: []spanSpec{call("alice", 2000, t0, 1)}})
	h.consume(resourceSpec{spans: []spanSpec{call("alice", 500, t0, 2), call("alice", 500, t0, 3)}})
	waitUntil(t, "the soft webhook", func() bool { return len(srv.received()) == 1 })
	n := srv.received()[0]
	if n.Threshold != "soft" || n.Key != "user:alice" || n.SpentUSD != "0.005" || n.LimitUSD != "0.005" || n.Rule != "user-daily" || n.Source != "span" || srv.auth[0] != "Bearer t0ken" {
		t.Errorf("webhook %+v auth %q", n, srv.auth[0])
	}
	if got := srv.attempts.Load(); got != 3 {
		t.Errorf("%d attempts, want 3 (2 failures, 1 success)", got)
	}
	h.stop()
	ext.Shutdown(context.Background())

	// After a restart in the same window, spend below hard sends nothing; hard sends one.
	ext2 := fileStorage(t, dir)
	defer ext2.Shutdown(context.Background())
	h2 := newHarness(t, cfg)
	h2.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: ext2}})
	defer h2.stop()
	h2.consume(resourceSpec{spans: []spanSpec{call("alice", 1000, t0.Add(time.Hour), 4)}}) // 0.0075
	h2.consume(resourceSpec{spans: []spanSpec{call("alice", 1000, t0.Add(time.Hour), 5)}}) // 0.01: hard
	h2.consume(resourceSpec{spans: []spanSpec{call("alice", 1000, t0.Add(time.Hour), 6)}}) // beyond hard
	waitUntil(t, "the hard webhook", func() bool { return len(srv.received()) == 2 })
	// The next day: soft again, a new window.
	clk.set(t0.Add(24 * time.Hour))
	h2.consume(resourceSpec{spans: []spanSpec{call("alice", 2000, t0.Add(24*time.Hour), 7)}})
	waitUntil(t, "the next day's webhook", func() bool { return len(srv.received()) == 3 })
	time.Sleep(50 * time.Millisecond)
	got := srv.received()
	if len(got) != 3 || got[1].Threshold != "hard" || got[2].Threshold != "soft" || got[2].WindowStart.Format(time.DateOnly) != "2026-10-06" {
		t.Fatalf("webhooks %+v", got)
	}
	ids := map[string]bool{}
	for _, g := range got {
		if ids[g.ID] {
			t.Errorf("id %s sent twice", g.ID)
		}
		ids[g.ID] = true
	}
	if n, _ := h.sum("aiops_costattr_budget_webhooks", map[string]string{"outcome": "retry"}); n != 2 {
		t.Errorf("retry metric %v", n)
	}
}

func TestBudgetWebhookPendingAcrossRestart(t *testing.T) {
	srv := &hookServer{}
	srv.fail.Store(1 << 20) // down during the first run
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	useClock(t, t0)
	cfg := budgetCfg(BudgetRuleConfig{Name: "everything", Key: "all", Window: "day", HardUSD: 0.001})
	cfg.Budgets.Storage = &storageID
	cfg.Budgets.Webhook.Endpoint = hs.URL
	cfg.Budgets.Webhook.RetryOnFailure.InitialInterval = 5 * time.Millisecond
	cfg.Budgets.Webhook.RetryOnFailure.MaxInterval = 5 * time.Millisecond
	ext := fileStorage(t, dir)
	h := newHarness(t, cfg)
	h.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: ext}})
	h.consume(resourceSpec{spans: []spanSpec{call("", 1000, t0, 1)}}) // 0.0025 >= 0.001, no user needed for "all"
	waitUntil(t, "failing attempts", func() bool { return srv.attempts.Load() >= 3 })
	h.stop()
	ext.Shutdown(context.Background())

	srv.fail.Store(0)
	ext2 := fileStorage(t, dir)
	defer ext2.Shutdown(context.Background())
	h2 := newHarness(t, cfg)
	h2.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: ext2}})
	defer h2.stop()
	waitUntil(t, "delivery after restart", func() bool { return len(srv.received()) == 1 })
	if n := srv.received()[0]; n.Key != "all" || n.Threshold != "hard" || n.SpentUSD != "0.0025" {
		t.Errorf("%+v", n)
	}
}

// memStorage is a storage extension whose writes can be made to fail.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu    sync.Mutex
	data  map[string][]byte
	fails atomic.Int32
}

func (m *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return m, nil
}
func (m *memStorage) Get(_ context.Context, k string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[k], nil
}
func (m *memStorage) Set(_ context.Context, k string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[k] = v
	return nil
}
func (m *memStorage) Delete(_ context.Context, k string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, k)
	return nil
}
func (m *memStorage) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if m.fails.Load() > 0 {
		m.fails.Add(-1)
		return errors.New("disk full")
	}
	for _, op := range ops {
		if op.Type == storage.Set {
			m.Set(ctx, op.Key, op.Value)
		}
	}
	return nil
}
func (m *memStorage) Close(context.Context) error { return nil }

func TestBudgetStateSaveFailureIsRetried(t *testing.T) {
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	useClock(t, t0)
	st := &memStorage{data: map[string][]byte{}}
	st.fails.Store(1)
	cfg := budgetCfg(BudgetRuleConfig{Name: "d", Key: "user:*", Window: "day", HardUSD: 0.001})
	cfg.Budgets.Storage = &storageID
	cfg.Budgets.FlushInterval = 10 * time.Millisecond
	h := newHarness(t, cfg)
	h.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: st}})
	defer h.stop()
	h.consume(resourceSpec{spans: []spanSpec{call("alice", 1000, t0, 1)}})
	waitUntil(t, "a saved state", func() bool { b, _ := st.Get(context.Background(), "budget_state"); return b != nil })
	if len(h.logs.FilterMessageSnippet("budget state not saved").All()) == 0 {
		t.Error("the failed save was not logged")
	}
	b, _ := st.Get(context.Background(), "budget_state")
	if !json.Valid(b) || !strings.Contains(string(b), `"alice"`) {
		t.Errorf("state %s", b)
	}
	// A corrupt state does not stop a restart.
	st.Set(context.Background(), "budget_state", []byte("{not json"))
	h2 := newHarness(t, cfg)
	h2.start(hostWith{componenttest.NewNopHost(), map[component.ID]component.Component{storageID: st}})
	h2.stop()
	if len(h2.logs.FilterMessageSnippet("budget state unreadable").All()) != 1 {
		t.Error("corrupt state not reported")
	}
	// A missing or wrong extension is a start error naming the field.
	h3 := newHarness(t, cfg)
	if err := h3.proc.Start(context.Background(), componenttest.NewNopHost()); err == nil || !strings.Contains(err.Error(), "budgets.storage: extension \"file_storage/budgets\" is not configured") {
		t.Errorf("start without the extension: %v", err)
	}
}

// fakeSpend stands for ClickHouse in the processor's reconcile loop.
type fakeSpend struct{ rows []budget.SpendRow }

func (f *fakeSpend) Spend(context.Context, budget.SpendQuery) ([]budget.SpendRow, error) {
	return f.rows, nil
}

func TestBudgetReconcileFromSharedSpend(t *testing.T) {
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	useClock(t, t0)
	srv := &hookServer{}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := budgetCfg(BudgetRuleConfig{Name: "user-daily", Key: "user:*", Window: "day", SoftUSD: 0.005, HardUSD: 1})
	cfg.Budgets.TimeZone = "UTC"
	cfg.Budgets.Webhook.Endpoint = hs.URL
	h := newHarness(t, cfg)
	p, err := newCostProcessor(cfg, h.set)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer p.shutdown(context.Background())
	// This replica saw alice spend 0.0025.
	td := buildTraces(t, resourceSpec{spans: []spanSpec{call("alice", 1000, t0, 1)}})
	p.processTraces(context.Background(), td)
	// ClickHouse holds every replica's rows: alice 0.006 in total.
	p.bud.source = &fakeSpend{rows: []budget.SpendRow{{Key: "alice", Amount: usd(t, "0.006")}}}
	p.bud.reconcile()
	waitUntil(t, "the reconcile webhook", func() bool { return len(srv.received()) == 1 })
	n := srv.received()[0]
	if n.Source != "reconcile" || n.Threshold != "soft" || n.SpentUSD != "0.006" || n.TraceID != "" {
		t.Errorf("%+v", n)
	}
	if got, _, _ := p.bud.tracker.Spent("user-daily", "alice", t0); got != usd(t, "0.006") {
		t.Errorf("spent %s", got)
	}
	if v, _ := h.sum("aiops_costattr_budget_reconciles", map[string]string{"outcome": "ok"}); v != 1 {
		t.Errorf("reconcile metric %v", v)
	}
	// An unreachable ClickHouse is logged and retried, not fatal.
	p.bud.source = nil
	p.bud.openStore = func(context.Context) (chstore.Store, error) { return nil, errors.New("connection refused") }
	p.bud.reconcile()
	if v, _ := h.sum("aiops_costattr_budget_reconciles", map[string]string{"outcome": "error"}); v != 1 {
		t.Errorf("reconcile error metric %v", v)
	}
}
