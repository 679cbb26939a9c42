// Package costattr prices each GenAI call from an effective-dated catalog and
// attributes it to a user, tenant, team, workload and feature.
package costattr

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

// NewFactory returns the costattr processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{Attribution: AttributionConfig{
		User: []string{"user.id", "enduser.id", "traceloop.association.properties.user_id",
			"ai.telemetry.metadata.userId", "langfuse.user.id", "llm.user"},
		Tenant: []string{"tenant.id", "traceloop.association.properties.tenant_id",
			"ai.telemetry.metadata.tenantId", "langfuse.trace.metadata.tenant_id"},
		Team:     []string{"team", "traceloop.association.properties.team", "ai.telemetry.metadata.team"},
		Workload: []string{"span:aiops.workload", "resource:aiops.workload", "resource:service.name"},
		Feature:  []string{"feature", "traceloop.association.properties.feature", "ai.telemetry.metadata.feature"},
	}}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newCostProcessor(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}
