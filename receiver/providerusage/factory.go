// Package providerusage polls the providers' own organization usage and
// cost reports (OpenAI, Anthropic) and emits one log record per provider ×
// bucket × group, for the aiops_clickhouse exporter's provider_usage table.
package providerusage

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
)

// NewFactory returns the provider_usage receiver factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(cfg.(*Config), set, next)
}
