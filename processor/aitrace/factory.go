// Package aitrace normalizes every GenAI telemetry dialect to the current
// OpenTelemetry GenAI semantic conventions and adds model metadata.
package aitrace

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// NewFactory returns the aitrace processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		KeepOriginalKeys: true,
		DedupeUsage:      true,
		SpanMemory:       SpanMemoryConfig{MaxSpans: 200_000, Window: 10 * time.Minute},
		Limits:           LimitsConfig{MaxValueDepth: anyvalue.Default.MaxDepth, MaxAttributeBytes: 64 << 10},
		Join:             JoinConfig{LogsWait: 5 * time.Second, ParentWait: time.Second, MaxHeld: 20_000},
		Content:          ContentConfig{Capture: captureFull, MaxScanBytes: 4 << 20},
		Policy:           PolicyConfig{MinBase64Length: 200},
		Agent:            AgentConfig{LoopThreshold: 3},
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, release, err := acquire(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(func(context.Context) error { release(); return nil }))
}

// createLogs is the same processor on the logs pipeline: it joins message
// content sent as log records to the spans the traces pipeline passes.
func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, release, err := acquire(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(func(context.Context) error { release(); return nil }))
}

// One processor serves every pipeline of one configured aitrace, so the
// logs side and the traces side share their memory and their waits.
var shared = struct {
	sync.Mutex
	m map[sharedKey]*sharedProcessor
}{m: map[sharedKey]*sharedProcessor{}}

type sharedKey struct {
	id  component.ID
	cfg *Config
}

type sharedProcessor struct {
	p    *traceProcessor
	refs int
}

func acquire(set processor.Settings, cfg *Config) (*traceProcessor, func(), error) {
	key := sharedKey{set.ID, cfg}
	shared.Lock()
	defer shared.Unlock()
	sp := shared.m[key]
	if sp == nil {
		p, err := newProcessor(cfg, set.TelemetrySettings)
		if err != nil {
			return nil, nil, err
		}
		sp = &sharedProcessor{p: p}
		shared.m[key] = sp
	}
	sp.refs++
	var once sync.Once
	return sp.p, func() {
		once.Do(func() {
			shared.Lock()
			defer shared.Unlock()
			if sp.refs--; sp.refs == 0 {
				delete(shared.m, key)
				sp.p.join.close()
			}
		})
	}, nil
}
