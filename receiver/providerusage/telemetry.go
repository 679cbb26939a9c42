package providerusage

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
)

// Outcomes of one HTTP request (the outcome attribute of requests).
const (
	outcomeOK              = "ok"
	outcomeRateLimited     = "rate_limited"
	outcomeServerError     = "server_error"
	outcomeNetworkError    = "network_error"
	outcomeUnauthorized    = "unauthorized"
	outcomeForbidden       = "forbidden"
	outcomeClientError     = "client_error"
	outcomeInvalidResponse = "invalid_response"
)

// Outcomes of one provider's poll.
const (
	pollOK      = "ok"
	pollPartial = "partial"
	pollFailed  = "failed"
)

type telemetry struct {
	polls    metric.Int64Counter
	requests metric.Int64Counter
	emitted  metric.Int64Counter
	refused  metric.Int64Counter
	problems metric.Int64Counter
	lastOK   metric.Int64ObservableGauge

	reg metric.Registration
	mu  sync.Mutex
	// last is each provider's last successful poll, unix seconds.
	last map[string]int64
}

func newTelemetry(mp metric.MeterProvider) (*telemetry, error) {
	meter := mp.Meter(metadata.ScopeName)
	var errs []error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	t := &telemetry{last: map[string]int64{}}
	t.polls = counter("aiops_provider_usage_polls", "Polls of one provider's reports, by provider and outcome (ok, partial, failed).", "{polls}")
	t.requests = counter("aiops_provider_usage_requests",
		"HTTP requests to the providers' report APIs, by provider, report and outcome (ok, rate_limited, server_error, network_error, unauthorized, forbidden, client_error, invalid_response).", "{requests}")
	t.emitted = counter("aiops_provider_usage_records_emitted", "Records the pipeline accepted, by provider and report.", "{records}")
	t.refused = counter("aiops_provider_usage_records_refused", "Records the pipeline refused, by provider and report; the next poll reads them again.", "{records}")
	t.problems = counter("aiops_provider_usage_row_problems",
		"Report rows read with a problem, by provider, report and reason (bad_count and inconsistent_counts are stored as 0; bad_bucket and bad_amount rows are not emitted).", "{rows}")
	var err error
	t.lastOK, err = meter.Int64ObservableGauge("aiops_provider_usage_last_success",
		metric.WithDescription("When a poll last read and delivered every report of a provider, by provider; absent until one has."), metric.WithUnit("s"))
	errs = append(errs, err)
	if err == nil {
		t.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			for p, ts := range t.last {
				o.ObserveInt64(t.lastOK, ts, metric.WithAttributes(attribute.String("provider", p)))
			}
			return nil
		}, t.lastOK)
		errs = append(errs, err)
	}
	return t, errors.Join(errs...)
}

func (t *telemetry) succeeded(provider string, unix int64) {
	t.mu.Lock()
	t.last[provider] = unix
	t.mu.Unlock()
}

func (t *telemetry) add(ctx context.Context, c metric.Int64Counter, n int, attrs ...attribute.KeyValue) {
	if n > 0 {
		c.Add(ctx, int64(n), metric.WithAttributes(attrs...))
	}
}

func (t *telemetry) close() {
	if t.reg != nil {
		t.reg.Unregister()
	}
}
