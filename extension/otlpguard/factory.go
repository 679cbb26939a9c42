// Package otlpguard is a server middleware for the OTLP receiver that
// refuses requests nesting attribute values deeper than a limit, before the
// receiver decodes them. pdata's protobuf and JSON decoders recurse once per
// level, so a single request a million levels deep exhausts the stack and
// kills the collector.
package otlpguard

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-aiops/otelcol-aiops/extension/otlpguard/internal/metadata"
)

// NewFactory returns the otlp_guard extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{MaxValueDepth: defaultMaxValueDepth, MaxBodyBytes: defaultMaxBodyBytes}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newGuard(cfg.(*Config), set.TelemetrySettings)
}
