package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Stats summarizes a run. Spans are "sent" once an export request carrying
// them was attempted and "acked" once the request succeeded, minus spans the
// server rejected through OTLP partial success.
type Stats struct {
	SpansSent     int64         `json:"spans_sent"`
	SpansAcked    int64         `json:"spans_acked"`
	SpansRejected int64         `json:"spans_rejected"`
	TracesSent    int64         `json:"traces_sent"`
	Requests      int64         `json:"requests"`
	Errors        int64         `json:"errors"` // failed export requests
	GenAISpans    int64         `json:"genai_spans"`
	NonGenAISpans int64         `json:"non_genai_spans"`
	Elapsed       time.Duration `json:"-"`
	LastError     string        `json:"last_error,omitempty"`
}

// Failed reports whether any request failed or any span was rejected.
func (s Stats) Failed() bool { return s.Errors > 0 || s.SpansRejected > 0 }

// MarshalJSON renders Elapsed both as text and as seconds.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats
	return json.Marshal(struct {
		plain
		Elapsed        string  `json:"elapsed"`
		ElapsedSeconds float64 `json:"elapsed_seconds"`
	}{plain(s), s.Elapsed.String(), s.Elapsed.Seconds()})
}

type counters struct {
	spansSent, spansAcked, rejected, traces, requests, errors, genai, nongenai atomic.Int64

	mu      sync.Mutex
	lastErr string
}

func (c *counters) snapshot(elapsed time.Duration) Stats {
	c.mu.Lock()
	last := c.lastErr
	c.mu.Unlock()
	return Stats{
		SpansSent:     c.spansSent.Load(),
		SpansAcked:    c.spansAcked.Load(),
		SpansRejected: c.rejected.Load(),
		TracesSent:    c.traces.Load(),
		Requests:      c.requests.Load(),
		Errors:        c.errors.Load(),
		GenAISpans:    c.genai.Load(),
		NonGenAISpans: c.nongenai.Load(),
		Elapsed:       elapsed,
		LastError:     last,
	}
}

// quota hands out trace counts until MaxTraces is used up.
type quota struct {
	mu        sync.Mutex
	limited   bool
	remaining int
}

func (q *quota) take(n int) int {
	if !q.limited {
		return n
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, q.remaining)
	q.remaining -= n
	return n
}

// pacer spaces batches so traces go out at a steady rate. Idle time is not
// banked, so a slow server never causes a catch-up burst.
type pacer struct {
	mu       sync.Mutex
	next     time.Time
	perTrace float64 // nanoseconds
}

func newPacer(rate float64) *pacer { return &pacer{perTrace: float64(time.Second) / rate} }

// reserve returns when a batch of n traces may be sent.
func (p *pacer) reserve(n int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = at.Add(time.Duration(float64(n) * p.perTrace))
	return at
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Run generates and exports traffic until Duration or MaxTraces is reached or
// ctx is cancelled. Progress goes to out (nil = discard) once per second. It
// returns an error only for bad configuration or if ctx was cancelled; export
// failures are reported in Stats.
func Run(ctx context.Context, cfg Config, out io.Writer) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	cfg = cfg.withDefaults()
	if out == nil {
		out = io.Discard
	}
	w := &syncWriter{w: out}
	snd, err := newSender(cfg)
	if err != nil {
		return Stats{}, err
	}
	defer snd.close()

	start := time.Now()
	// stopCtx ends generation; in-flight requests use ctx so they may finish.
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
		stopCtx, stop = context.WithDeadline(stopCtx, deadline)
		defer stop()
	}
	q := &quota{limited: cfg.MaxTraces > 0, remaining: cfg.MaxTraces}
	var p *pacer
	if cfg.Rate > 0 {
		p = newPacer(cfg.Rate)
	}
	var c counters

	done := make(chan struct{})
	var progress sync.WaitGroup
	progress.Go(func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tk.C:
				el := now.Sub(start)
				s := c.snapshot(el)
				w.printf("t=%ds sent=%d acked=%d sent/s=%.0f acked/s=%.0f errors=%d\n",
					int(el.Round(time.Second)/time.Second), s.SpansSent, s.SpansAcked,
					rate(s.SpansSent, el), rate(s.SpansAcked, el), s.Errors)
			}
		}
	})

	var workers sync.WaitGroup
	for i := range cfg.Workers {
		workers.Go(func() {
			b := newBuilder(cfg, uint64(i))
			for stopCtx.Err() == nil {
				n := q.take(cfg.BatchTraces)
				if n == 0 {
					return
				}
				if p != nil {
					at := p.reserve(n)
					if !deadline.IsZero() && !at.Before(deadline) {
						return
					}
					if !sleepUntil(stopCtx, at) {
						return
					}
				}
				td, info := b.Build(n)
				sendCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				rejected, err := snd.send(sendCtx, td)
				cancel()

				c.requests.Add(1)
				c.traces.Add(int64(info.Traces))
				c.spansSent.Add(int64(info.Spans))
				c.genai.Add(int64(info.GenAISpans))
				c.nongenai.Add(int64(info.NonGenAISpans))
				if err != nil {
					if c.errors.Add(1) == 1 {
						w.printf("export error: %v\n", err)
					}
					c.mu.Lock()
					c.lastErr = err.Error()
					c.mu.Unlock()
					continue
				}
				rejected = min(max(rejected, 0), int64(info.Spans))
				c.rejected.Add(rejected)
				c.spansAcked.Add(int64(info.Spans) - rejected)
			}
		})
	}
	workers.Wait()
	close(done)
	progress.Wait()

	st := c.snapshot(time.Since(start))
	w.printf("done t=%.2fs traces=%d requests=%d sent=%d acked=%d rejected=%d errors=%d sent/s=%.0f acked/s=%.0f genai=%d non_genai=%d\n",
		st.Elapsed.Seconds(), st.TracesSent, st.Requests, st.SpansSent, st.SpansAcked, st.SpansRejected,
		st.Errors, rate(st.SpansSent, st.Elapsed), rate(st.SpansAcked, st.Elapsed), st.GenAISpans, st.NonGenAISpans)
	if st.LastError != "" {
		w.printf("last error: %s\n", st.LastError)
	}
	return st, ctx.Err()
}
