package genaifeedback

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/genaifeedback/internal/metadata"
)

type telemetry struct {
	accepted         metric.Int64Counter
	rejected         metric.Int64Counter
	duplicates       metric.Int64Counter
	requestsRejected metric.Int64Counter
}

func newTelemetry(mp metric.MeterProvider) (*telemetry, error) {
	meter := mp.Meter(metadata.ScopeName)
	var errs []error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	t := &telemetry{
		accepted:   counter("aiops_feedback_records_accepted", "Records delivered to the pipeline, by endpoint.", "{records}"),
		rejected:   counter("aiops_feedback_records_rejected", "Records in rejected requests, by endpoint and reason (only when the request was parsed far enough to count them).", "{records}"),
		duplicates: counter("aiops_feedback_records_duplicate", "Records dropped because their idempotency key was already delivered, by endpoint.", "{records}"),
		requestsRejected: counter("aiops_feedback_requests_rejected",
			"Requests answered with an error, by endpoint and reason (rate_limited, unauthorized, too_large, invalid, ...).", "{requests}"),
	}
	return t, errors.Join(errs...)
}

func (t *telemetry) add(ctx context.Context, c metric.Int64Counter, n int, attrs ...attribute.KeyValue) {
	if n > 0 {
		c.Add(ctx, int64(n), metric.WithAttributes(attrs...))
	}
}
