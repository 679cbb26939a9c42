// Package chhttp is the clickhouse_http extension: it serves the embedded
// engine the aiops_clickhouse exporter writes to over ClickHouse's own HTTP
// interface, so that clickhouse-go, Grafana's ClickHouse plugin and curl read
// a running collector's data unchanged, read-only and within limits that
// keep the exporter's inserts flowing.
package chhttp

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
)

// NewFactory returns the clickhouse_http extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newServer(cfg.(*Config), set)
}
