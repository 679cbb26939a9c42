// Package costattr prices each GenAI call from an effective-dated catalog,
// attributes it to a user, tenant, team, workload and feature, and tracks
// spend against budgets.
package costattr

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

const defaultPseudonymPrefix = "u_"

// NewFactory returns the costattr processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Attribution: AttributionConfig{
			User: []string{"user.id", "enduser.id", "traceloop.association.properties.user_id",
				"ai.telemetry.metadata.userId", "langfuse.user.id", "llm.user"},
			Tenant: []string{"tenant.id", "traceloop.association.properties.tenant_id",
				"ai.telemetry.metadata.tenantId", "langfuse.trace.metadata.tenant_id"},
			Team:               []string{"team", "traceloop.association.properties.team", "ai.telemetry.metadata.team"},
			Workload:           []string{"span:aiops.workload", "resource:aiops.workload", "resource:service.name"},
			Feature:            []string{"feature", "traceloop.association.properties.feature", "ai.telemetry.metadata.feature"},
			InheritFromParents: true,
			BaggageAttribute:   "http.request.header.baggage",
			Pseudonymize:       PseudonymizeConfig{Prefix: defaultPseudonymPrefix, ReplaceSource: true},
		},
		Usage: UsageConfig{
			ServiceTier: []string{"openai.response.service_tier", "openai.request.service_tier",
				"gen_ai.openai.response.service_tier", "gen_ai.openai.request.service_tier", "anthropic.response.service_tier"},
			CacheWrite1h: []string{"gen_ai.usage.cache_creation.ephemeral_1h_input_tokens", "gen_ai.usage.cache_write.ephemeral_1h_input_tokens"},
			CacheWrite5m: []string{"gen_ai.usage.cache_creation.ephemeral_5m_input_tokens", "gen_ai.usage.cache_write.ephemeral_5m_input_tokens"},
		},
		Budgets: BudgetsConfig{
			TimeZone:      "UTC",
			FlushInterval: 10 * time.Second,
			Webhook: WebhookConfig{
				ClientConfig:   webhookClientDefaults(),
				RetryOnFailure: configretry.NewDefaultBackOffConfig(),
			},
			Reconcile: ReconcileConfig{Database: "aiops", Interval: time.Minute, Timeout: 10 * time.Second},
		},
	}
}

func webhookClientDefaults() confighttp.ClientConfig {
	c := confighttp.NewDefaultClientConfig()
	c.Timeout = 10 * time.Second
	return c
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newCostProcessor(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithStart(p.start),
		processorhelper.WithShutdown(p.shutdown))
}
