// Package maturity is the maturity extension: it scores every AI workload's
// operational maturity from the stored telemetry on an interval, records each
// run in the maturity_scores table, and serves the latest report as JSON and
// as an HTML page on a local address behind collector auth extensions.
package maturity

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
)

// NewFactory returns the maturity extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = "127.0.0.1:8890"
	return &Config{
		HTTP:         srv,
		Database:     "aiops",
		CreateSchema: true,
		ClickHouse:   ServerStoreConfig{TLS: configtls.ClientConfig{Insecure: true}},
		Interval:     time.Hour,
		InitialDelay: 30 * time.Second,
		Window:       30 * 24 * time.Hour,

		MaxMetricWorkloads: 50,
	}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set)
}
