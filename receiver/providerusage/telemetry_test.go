package providerusage

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/mockprovider"
	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
)

// metadata.yaml and the metrics the receiver emits stay in step: every
// metric declared is emitted with its description, unit, kind and exactly
// its declared attributes; nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())

	// One poll that does everything: a good report, a refused one, a bad row.
	m := newMocks(t)
	m.openai.SetReport(mockprovider.OpenAICosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any { return nil }))
	m.anthropic.SetReport(mockprovider.AnthropicCosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{mockprovider.AnthropicCost("w", "x", "m", "t", "n/a")}
	}))
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if recordsOf(ld)[0][genai.PUSource] == "embeddings" {
			return errors.New("refused")
		}
		return nil
	})
	h := newHarness(t, m.config(), next)
	h.poll()

	var rm metricdata.ResourceMetrics
	if err := h.tel.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	md.Check(t, telemetrytest.Collect(t, &rm, metadata.ScopeName))
}
