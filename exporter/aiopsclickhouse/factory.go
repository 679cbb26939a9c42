// Package aiopsclickhouse writes GenAI spans to ClickHouse in the
// analysis-ready schema of internal/chstore.
package aiopsclickhouse

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
)

// NewFactory returns the aiops_clickhouse exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	queue := exporterhelper.NewDefaultQueueConfig()
	retry := configretry.NewDefaultBackOffConfig()
	// Transient errors are retried while the queue has room: a batch the
	// exporter gives up on is dead-lettered, so a bound is opt-in.
	retry.MaxElapsedTime = 0
	return &Config{
		TimeoutConfig:  exporterhelper.TimeoutConfig{Timeout: 30 * time.Second},
		QueueConfig:    configoptional.Some(queue),
		RetryConfig:    retry,
		MaxRetryAge:    10 * time.Minute,
		Database:       "aiops",
		CreateSchema:   true,
		SpansTable:     true,
		TLS:            configtls.ClientConfig{Insecure: true},
		TTLDays:        0,
		ContentTTLDays: 0,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	e.exports("traces")
	exp, err := newTracesExporter(ctx, set, c, e)
	if err != nil {
		return nil, err
	}
	return stampTraces{exp}, nil
}

// newTracesExporter turns requests into rows as they arrive, and queues and
// batches the rows (tracesEncoding), not the OTLP data.
func newTracesExporter(ctx context.Context, set exporter.Settings, c *Config, e *chExporter) (exporter.Traces, error) {
	opts := append(helperOptions(c, e), xexporterhelper.WithQueueBatch(c.QueueConfig, xexporterhelper.QueueBatchSettings{Encoding: tracesEncoding{e}}))
	return xexporterhelper.NewTracesRequest(ctx, set, e.convertTraces, e.pushRequest, opts...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	e.exports("logs")
	exp, err := exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, append(helperOptions(c, e), exporterhelper.WithQueue(c.QueueConfig))...)
	if err != nil {
		return nil, err
	}
	return stampLogs{exp}, nil
}

func helperOptions(c *Config, e *chExporter) []exporterhelper.Option {
	// The helper never gives up on its own: past max_elapsed_time it would
	// drop the batch, so the exporter enforces that bound and dead-letters.
	retry := c.RetryConfig
	retry.MaxElapsedTime = 0
	return []exporterhelper.Option{
		// The stamping wrapper mutates; the helper itself only reads.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(retry),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
	}
}
