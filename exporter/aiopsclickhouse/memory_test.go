package aiopsclickhouse

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// TestEngineMemoryBoundsApplied: the bounds of embedded.memory_limit_mib are
// set when the exporter is created, so whichever component opens the engine
// first (here a reader, as the clickhouse_http extension does) starts it with
// them; the engine's own tables show every one in effect, and spans still
// store under them.
func TestEngineMemoryBoundsApplied(t *testing.T) {
	ctx := context.Background()
	defer chdb.SetMemory(chdb.Memory{})
	// A directory of its own: loading tables counts against the limit, and
	// the shared one holds every other test's databases.
	dir := t.TempDir()
	cfg := testConfig("mem1")
	cfg.Embedded.Path = dir
	cfg.Embedded.MemoryLimitMiB = 192
	core, logs := observer.New(zapcore.WarnLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateTraces(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := chstore.OpenEmbedded(dir, "") // starts the engine, before the exporter does
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	want := chdb.MemoryFor(192 << 20)
	if got := reader.Engine().Memory(); got != want {
		t.Fatalf("engine started with %+v, want %+v", got, want)
	}
	settings := want.Settings()
	if len(settings) < 10 {
		t.Fatalf("only %d settings applied", len(settings))
	}
	for _, s := range settings {
		table := "system.server_settings"
		if s.MergeTree {
			table = "system.merge_tree_settings"
		}
		rows, err := reader.Query(ctx, "SELECT toString(value) FROM "+table+" WHERE name = {n:String}", chstore.Param{Name: "n", Value: s.Name})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows.Data) != 1 || rows.Data[0][0] != s.Value {
			t.Errorf("%s %s: got %v, want %s", table, s.Name, rows.Data, s.Value)
		}
	}
	if err := exp.ConsumeTraces(ctx, sampleTraces()); err != nil {
		t.Fatal(err)
	}
	if rows, err := reader.Query(ctx, "SELECT count() FROM mem1.genai_spans"); err != nil || rows.Data[0][0] != uint64(1) {
		t.Fatalf("span not stored under the bounds: %v %v", rows, err)
	}
	if w := logs.FilterMessageSnippet("memory bounds").All(); len(w) != 0 {
		t.Errorf("unexpected warning: %v", w)
	}

	// A second exporter on the running engine with other bounds cannot
	// change them, and says so.
	other := testConfig("mem2")
	other.Embedded.Path = dir
	other.Embedded.MemoryLimitMiB = 512
	e2, err := NewFactory().CreateTraces(ctx, set, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	e2.Shutdown(ctx)
	if w := logs.FilterMessageSnippet("other memory bounds").All(); len(w) != 1 || w[0].ContextMap()["engine_limit_mib"] != uint64(192) {
		t.Errorf("want one warning naming the running limit, got %v", logs.FilterMessageSnippet("memory").All())
	}
	if reader.Engine().Memory() != want {
		t.Error("the running engine's bounds changed")
	}
}

func TestEngineMemoryNotSetForServer(t *testing.T) {
	defer chdb.SetMemory(chdb.Memory{})
	chdb.SetMemory(chdb.MemoryFor(96 << 20))
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "clickhouse://127.0.0.1:1"
	cfg.DeadLetterDir = t.TempDir()
	if _, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg); err != nil {
		t.Fatal(err)
	}
	// No engine to read it back from without starting one: the exporter
	// for a server must leave the process's engine bounds alone.
	e, err := chdb.Open(chdb.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Memory().Limit; got != 96<<20 {
		t.Fatalf("a server exporter changed the embedded engine's bounds to %d", got)
	}
}
