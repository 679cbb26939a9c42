package costattr

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

// metadata.yaml and the instruments the processor registers stay in step:
// every declared metric is registered with its description, unit and kind,
// and nothing undeclared is. The budget metrics exist only with budgets.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
	rec := telemetrytest.NewRecorder(metadata.ScopeName)
	set := processortest.NewNopSettings(metadata.Type)
	set.MeterProvider = rec
	cfg := budgetCfg(BudgetRuleConfig{Name: "user-daily", Key: "user:*", Window: "day", SoftUSD: 0.005, HardUSD: 0.01})
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, new(consumertest.TracesSink))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	md.CheckRegistered(t, rec)
}
