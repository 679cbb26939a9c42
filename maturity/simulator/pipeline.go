package simulator

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr"
)

// Pipeline is the collector's GenAI path run in process: traces go through
// aitrace → costattr → aiops_clickhouse, logs straight to aiops_clickhouse,
// as in config/embedded.yaml. Use it to write simulated telemetry to an
// embedded data directory without starting a collector.
type Pipeline struct {
	Sink
	started []component.Component
}

// PipelineOptions locate the store.
type PipelineOptions struct {
	// DataDir is the embedded engine's data directory.
	DataDir string
	// Library is libchdb.so; empty searches as the exporter does.
	Library  string
	Database string
}

// NewPipeline builds and starts the components from their factories.
func NewPipeline(ctx context.Context, o PipelineOptions) (*Pipeline, error) {
	if o.Database == "" {
		o.Database = "aiops"
	}
	ef := aiopsclickhouse.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*aiopsclickhouse.Config)
	ecfg.Database = o.Database
	ecfg.Embedded.Path = o.DataDir
	ecfg.Embedded.Library = o.Library
	ecfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // synchronous: errors reach the caller
	ecfg.RetryConfig.Enabled = false
	if err := ecfg.Validate(); err != nil {
		return nil, err
	}
	host := componenttest.NewNopHost()
	p := &Pipeline{}
	eset := exporter.Settings{ID: component.NewID(ef.Type()), TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	texp, err := ef.CreateTraces(ctx, eset, ecfg)
	if err != nil {
		return nil, err
	}
	lexp, err := ef.CreateLogs(ctx, eset, ecfg)
	if err != nil {
		return nil, err
	}
	cf := costattr.NewFactory()
	cost, err := cf.CreateTraces(ctx, processorSettings(cf.Type()), cf.CreateDefaultConfig(), texp)
	if err != nil {
		return nil, err
	}
	af := aitrace.NewFactory()
	ai, err := af.CreateTraces(ctx, processorSettings(af.Type()), af.CreateDefaultConfig(), cost)
	if err != nil {
		return nil, err
	}
	// Start downstream first, as the collector does.
	for _, c := range []component.Component{texp, lexp, cost, ai} {
		if err := c.Start(ctx, host); err != nil {
			return nil, errors.Join(err, p.Close(ctx))
		}
		p.started = append(p.started, c)
	}
	p.Sink = NewConsumerSink(ai, lexp, 4096)
	return p, nil
}

func processorSettings(t component.Type) processor.Settings {
	return processor.Settings{ID: component.NewID(t), TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
}

// Close flushes and shuts the components down, upstream first.
func (p *Pipeline) Close(ctx context.Context) error {
	var errs []error
	if p.Sink != nil {
		errs = append(errs, p.Sink.Flush(ctx))
	}
	for i := len(p.started) - 1; i >= 0; i-- {
		errs = append(errs, p.started[i].Shutdown(ctx))
	}
	p.started = nil
	return errors.Join(errs...)
}
