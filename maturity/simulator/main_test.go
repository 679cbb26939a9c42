package simulator

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// One embedded engine per test process: every test shares this data
// directory and uses its own database.
var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

// testEnd is a fixed end of the simulated days, inside the validity of the
// built-in prices.
var testEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// simulate runs apps through the in-process pipeline into db and scores them.
func simulate(t testing.TB, db string, apps []App) (*maturity.Report, chstore.Store) {
	t.Helper()
	ctx := context.Background()
	p, err := NewPipeline(ctx, PipelineOptions{DataDir: dataDir, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{End: testEnd, Days: 14, Seed: 42, Apps: apps}
	if _, err := Run(ctx, cfg, p); err != nil {
		p.Close(ctx)
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	store, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rep, err := maturity.Score(ctx, store, maturity.Options{
		Database: db, From: cfg.Start(), To: testEnd, Registry: Registry(apps, testEnd), History: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep, store
}
