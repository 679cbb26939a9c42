package budget

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"
)

type recorder struct {
	mu       sync.Mutex
	bodies   []Notification
	keys     []string
	failures atomic.Int32 // respond 503 this many times first
	status   int          // status after failures (0 = 204)
	attempts atomic.Int32
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.attempts.Add(1)
	if r.failures.Load() > 0 {
		r.failures.Add(-1)
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if r.status != 0 {
		http.Error(w, "no", r.status)
		return
	}
	b, _ := io.ReadAll(req.Body)
	var n Notification
	if err := json.Unmarshal(b, &n); err != nil || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, n)
	r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *recorder) received() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notification(nil), r.bodies...)
}

func fastBackoff() configretry.BackOffConfig {
	b := configretry.NewDefaultBackOffConfig()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime, b.RandomizationFactor = 5*time.Millisecond, 20*time.Millisecond, 5*time.Second, 0
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sampleCrossing(t *testing.T) Crossing {
	tr, _ := NewTracker([]Rule{{Name: "daily-user", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "5")}}, 0)
	now := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	c := tr.AddBatch([]Item{userItem("alice", usd(t, "5.25"), now)}, now, nil)
	if len(c) != 1 {
		t.Fatal(c)
	}
	return c[0]
}

func TestWebhookRetriedAndSentOnce(t *testing.T) {
	rec := &recorder{}
	rec.failures.Store(2) // two 503s, then success
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	var outcomes sync.Map
	n := NewNotifier(srv.Client(), srv.URL, fastBackoff(), zap.NewNop())
	n.OnResult = func(o string) {
		v, _ := outcomes.LoadOrStore(o, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
	}
	n.Start()
	defer n.Shutdown(context.Background())

	c := sampleCrossing(t)
	body := NotificationFor(&c, "0102", "03")
	if !n.Enqueue(body) {
		t.Fatal("not enqueued")
	}
	// The same crossing enqueued again (a second span, a reconcile) is not queued twice.
	if n.Enqueue(body) {
		t.Error("pending duplicate enqueued")
	}
	waitFor(t, "delivery", func() bool { return len(rec.received()) == 1 && len(n.Pending()) == 0 })
	if got := rec.attempts.Load(); got != 3 {
		t.Errorf("%d attempts, want 3 (two 503s, then 204)", got)
	}
	got := rec.received()[0]
	if got.ID != c.ID || rec.keys[0] != c.ID || got.Rule != "daily-user" || got.Key != "user:alice" || got.Threshold != "soft" ||
		got.SpentUSD != "5.25" || got.LimitUSD != "5" || got.Window != "day" || got.TimeZone != "UTC" || got.Source != "span" ||
		got.WindowStart.Format(time.RFC3339) != "2026-10-05T00:00:00Z" || got.WindowEnd == nil || got.TraceID != "0102" {
		t.Errorf("body %+v", got)
	}
	// Delivered ids are remembered: enqueueing it again sends nothing.
	if n.Enqueue(body) {
		t.Error("delivered notification enqueued again")
	}
	time.Sleep(30 * time.Millisecond)
	if len(rec.received()) != 1 {
		t.Errorf("sent %d times", len(rec.received()))
	}
	if v, _ := outcomes.Load(OutcomeRetry); v == nil || v.(*atomic.Int32).Load() != 2 {
		t.Errorf("retry outcomes %v", v)
	}
}

func TestWebhookRejectedIsNotRetried(t *testing.T) {
	rec := &recorder{status: http.StatusBadRequest}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	var rejected atomic.Int32
	n := NewNotifier(srv.Client(), srv.URL, fastBackoff(), zap.NewNop())
	n.OnResult = func(o string) {
		if o == OutcomeRejected {
			rejected.Add(1)
		}
	}
	n.Start()
	defer n.Shutdown(context.Background())
	c := sampleCrossing(t)
	n.Enqueue(NotificationFor(&c, "", ""))
	waitFor(t, "rejection", func() bool { return rejected.Load() == 1 })
	if rec.attempts.Load() != 1 || len(n.Pending()) != 0 {
		t.Errorf("attempts %d pending %d", rec.attempts.Load(), len(n.Pending()))
	}
}

func TestWebhookPendingSurvivesRestart(t *testing.T) {
	rec := &recorder{}
	rec.failures.Store(1 << 20) // down
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	n := NewNotifier(srv.Client(), srv.URL, fastBackoff(), zap.NewNop())
	n.Start()
	c := sampleCrossing(t)
	n.Enqueue(NotificationFor(&c, "", ""))
	waitFor(t, "a failed attempt", func() bool { return rec.attempts.Load() >= 2 })
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	state, err := n.Snapshot()
	if err != nil || len(n.Pending()) != 1 {
		t.Fatalf("pending %d, %v", len(n.Pending()), err)
	}

	// The endpoint recovers; a new notifier restored from the state sends it.
	rec.failures.Store(0)
	n2 := NewNotifier(srv.Client(), srv.URL, fastBackoff(), zap.NewNop())
	if err := n2.Restore(state); err != nil {
		t.Fatal(err)
	}
	n2.Start()
	waitFor(t, "delivery after restart", func() bool { return len(rec.received()) == 1 })
	n2.Shutdown(context.Background())
	waitFor(t, "pending cleared", func() bool { return len(n2.Pending()) == 0 })

	// A third restart from a state saved after delivery sends nothing again.
	state2, _ := n2.Snapshot()
	n3 := NewNotifier(srv.Client(), srv.URL, fastBackoff(), zap.NewNop())
	n3.Restore(state2)
	if n3.Enqueue(NotificationFor(&c, "", "")) {
		t.Error("a delivered id was enqueued after restart")
	}
}

func TestWebhookExpires(t *testing.T) {
	rec := &recorder{}
	rec.failures.Store(1 << 20)
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	b := fastBackoff()
	b.MaxElapsedTime = 40 * time.Millisecond
	var expired atomic.Int32
	n := NewNotifier(srv.Client(), srv.URL, b, zap.NewNop())
	n.OnResult = func(o string) {
		if o == OutcomeExpired {
			expired.Add(1)
		}
	}
	n.Start()
	defer n.Shutdown(context.Background())
	c := sampleCrossing(t)
	n.Enqueue(NotificationFor(&c, "", ""))
	waitFor(t, "expiry", func() bool { return expired.Load() == 1 })
	if len(n.Pending()) != 0 || rec.attempts.Load() < 2 {
		t.Errorf("pending %d attempts %d", len(n.Pending()), rec.attempts.Load())
	}
}
