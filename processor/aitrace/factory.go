// Package aitrace normalizes every GenAI telemetry dialect to the current
// OpenTelemetry GenAI semantic conventions and adds model metadata.
package aitrace

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// NewFactory returns the aitrace processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		KeepOriginalKeys: true,
		DedupeUsage:      true,
		SpanMemory:       SpanMemoryConfig{MaxSpans: 200_000, Window: 10 * time.Minute},
		Content:          ContentConfig{Capture: captureFull, MaxScanBytes: 4 << 20},
		Policy:           PolicyConfig{MinBase64Length: 200},
		Agent:            AgentConfig{LoopThreshold: 3},
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newProcessor(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}
