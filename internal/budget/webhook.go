package budget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"
)

// Notification is the JSON body of a budget webhook.
type Notification struct {
	ID          string     `json:"id"` // also sent as Idempotency-Key
	Event       string     `json:"event"`
	Rule        string     `json:"rule"`
	Key         string     `json:"key"` // "user:alice", "tenant:acme" or "all"
	Dimension   string     `json:"dimension"`
	Value       string     `json:"value,omitempty"`
	Threshold   string     `json:"threshold"` // soft | hard
	Window      string     `json:"window"`    // day | month | rolling 6h
	TimeZone    string     `json:"time_zone"`
	WindowStart time.Time  `json:"window_start"`
	WindowEnd   *time.Time `json:"window_end,omitempty"`
	SpentUSD    string     `json:"spent_usd"` // exact decimal
	LimitUSD    string     `json:"limit_usd"`
	CrossedAt   time.Time  `json:"crossed_at"`
	Source      string     `json:"source"` // span | reconcile
	TraceID     string     `json:"trace_id,omitempty"`
	SpanID      string     `json:"span_id,omitempty"`
}

// NotificationFor builds the webhook body of a crossing.
func NotificationFor(c *Crossing, traceID, spanID string) Notification {
	n := Notification{
		ID: c.ID, Event: "aiops.budget", Rule: c.Rule.Name, Key: c.KeyLabel(), Dimension: c.Rule.Dim.String(), Value: c.Key,
		Threshold: c.Threshold.String(), Window: c.Rule.Window.String(), TimeZone: c.Rule.Window.loc().String(),
		WindowStart: c.WindowStart, SpentUSD: c.Spent.String(), LimitUSD: c.Limit.String(), CrossedAt: c.At.UTC(),
		Source: "span", TraceID: traceID, SpanID: spanID,
	}
	if !c.WindowEnd.IsZero() {
		e := c.WindowEnd
		n.WindowEnd = &e
	}
	if c.Item < 0 {
		n.Source = "reconcile"
	}
	return n
}

// Outcomes reported to Notifier.OnResult.
const (
	OutcomeSent      = "sent"
	OutcomeRetry     = "retry"
	OutcomeRejected  = "rejected" // a 4xx other than 408/429: not retried
	OutcomeExpired   = "expired"  // retries exhausted (max_elapsed_time)
	OutcomeDuplicate = "duplicate"
)

// Notifier POSTs notifications one at a time, in order, retrying with
// exponential backoff. Each id is delivered once: ids already sent are
// remembered (and persisted with the pending queue) so a notification
// enqueued again, e.g. after a restart, is not sent twice.
type Notifier struct {
	client   *http.Client
	endpoint string
	backoff  configretry.BackOffConfig
	logger   *zap.Logger
	// OnResult, when set, is called after each attempt's outcome.
	OnResult func(outcome string)
	// OnChange, when set, is called when pending or sent changes, so the
	// owner can persist Snapshot.
	OnChange func()

	mu      sync.Mutex
	pending []Notification
	sent    []string // recently delivered ids, oldest first
	sentSet map[string]bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

const maxRemembered = 4096

// NewNotifier sends to endpoint with client (which carries the configured
// headers and TLS).
func NewNotifier(client *http.Client, endpoint string, backoff configretry.BackOffConfig, logger *zap.Logger) *Notifier {
	return &Notifier{client: client, endpoint: endpoint, backoff: backoff, logger: logger,
		sentSet: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// Enqueue queues n unless its id is pending or was delivered.
func (w *Notifier) Enqueue(n Notification) bool {
	w.mu.Lock()
	if w.sentSet[n.ID] {
		w.mu.Unlock()
		w.result(OutcomeDuplicate)
		return false
	}
	for i := range w.pending {
		if w.pending[i].ID == n.ID {
			w.mu.Unlock()
			return false
		}
	}
	w.pending = append(w.pending, n)
	w.mu.Unlock()
	w.changed()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// Pending returns the notifications not yet delivered.
func (w *Notifier) Pending() []Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notification(nil), w.pending...)
}

type notifierState struct {
	Pending []Notification `json:"pending"`
	Sent    []string       `json:"sent"`
}

// Snapshot serializes the pending queue and the delivered ids.
func (w *Notifier) Snapshot() ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return json.Marshal(notifierState{Pending: w.pending, Sent: w.sent})
}

// Restore loads a Snapshot; pending notifications are sent once started.
func (w *Notifier) Restore(data []byte) error {
	var st notifierState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("webhook state: %w", err)
	}
	w.mu.Lock()
	for _, id := range st.Sent {
		w.remember(id)
	}
	w.mu.Unlock()
	for _, n := range st.Pending {
		w.Enqueue(n)
	}
	return nil
}

func (w *Notifier) remember(id string) {
	if w.sentSet[id] {
		return
	}
	w.sent = append(w.sent, id)
	w.sentSet[id] = true
	if len(w.sent) > maxRemembered {
		delete(w.sentSet, w.sent[0])
		w.sent = w.sent[1:]
	}
}

// Start runs the delivery loop until Shutdown.
func (w *Notifier) Start() {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.loop()
}

// Shutdown stops delivery; undelivered notifications stay in Pending.
func (w *Notifier) Shutdown(ctx context.Context) error {
	if w.stop == nil {
		return nil
	}
	close(w.stop)
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Notifier) loop() {
	defer close(w.done)
	for {
		w.mu.Lock()
		var next *Notification
		if len(w.pending) > 0 {
			n := w.pending[0]
			next = &n
		}
		w.mu.Unlock()
		if next == nil {
			select {
			case <-w.stop:
				return
			case <-w.wake:
				continue
			}
		}
		outcome := w.deliver(next)
		if outcome == "" {
			return // stopped while retrying; the notification stays pending
		}
		w.mu.Lock()
		if len(w.pending) > 0 && w.pending[0].ID == next.ID {
			w.pending = w.pending[1:]
		}
		if outcome == OutcomeSent {
			w.remember(next.ID)
		}
		w.mu.Unlock()
		w.changed()
	}
}

// deliver retries until sent, rejected or expired; "" when stopped.
func (w *Notifier) deliver(n *Notification) string {
	body, err := json.Marshal(n)
	if err != nil {
		w.logger.Error("budget webhook: cannot encode notification", zap.Error(err))
		return OutcomeRejected
	}
	start := time.Now()
	interval := w.backoff.InitialInterval
	for attempt := 1; ; attempt++ {
		retry, err := w.post(body, n.ID)
		if err == nil {
			w.result(OutcomeSent)
			w.logger.Info("budget webhook sent", zap.String("id", n.ID), zap.String("rule", n.Rule), zap.String("key", n.Key), zap.String("threshold", n.Threshold), zap.Int("attempt", attempt))
			return OutcomeSent
		}
		if !retry || !w.backoff.Enabled {
			w.result(OutcomeRejected)
			w.logger.Error("budget webhook rejected; not retried", zap.String("id", n.ID), zap.String("rule", n.Rule), zap.String("key", n.Key), zap.Error(err))
			return OutcomeRejected
		}
		wait := jitter(interval, w.backoff.RandomizationFactor)
		if w.backoff.MaxElapsedTime > 0 && time.Since(start)+wait > w.backoff.MaxElapsedTime {
			w.result(OutcomeExpired)
			w.logger.Error("budget webhook dropped after retries", zap.String("id", n.ID), zap.String("rule", n.Rule), zap.String("key", n.Key), zap.Int("attempts", attempt), zap.Error(err))
			return OutcomeExpired
		}
		w.result(OutcomeRetry)
		w.logger.Warn("budget webhook failed; retrying", zap.String("id", n.ID), zap.Int("attempt", attempt), zap.Duration("in", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-w.stop:
			t.Stop()
			return ""
		case <-t.C:
		}
		if m := w.backoff.Multiplier; m > 1 {
			interval = time.Duration(float64(interval) * m)
		}
		if w.backoff.MaxInterval > 0 && interval > w.backoff.MaxInterval {
			interval = w.backoff.MaxInterval
		}
	}
}

var errStatus = errors.New("webhook status")

// post sends once; retry tells whether a failure is worth retrying.
func (w *Notifier) post(body []byte, id string) (retry bool, err error) {
	ctx := context.Background()
	if w.client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	req.Header.Set("User-Agent", "otelcol-aiops-costattr")
	resp, err := w.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	return false, fmt.Errorf("%w %d", errStatus, resp.StatusCode)
}

func jitter(d time.Duration, factor float64) time.Duration {
	if factor <= 0 || d <= 0 {
		return d
	}
	delta := factor * float64(d)
	return time.Duration(float64(d) - delta + rand.Float64()*2*delta)
}

func (w *Notifier) result(o string) {
	if w.OnResult != nil {
		w.OnResult(o)
	}
}

func (w *Notifier) changed() {
	if w.OnChange != nil {
		w.OnChange()
	}
}
