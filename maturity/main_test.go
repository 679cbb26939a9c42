package maturity

import (
	"context"
	"os"
	"testing"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
)

// One embedded engine per test process: every test shares this data
// directory and uses its own database.
var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

func openStore(t testing.TB) chstore.Store {
	t.Helper()
	s, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func migrated(t testing.TB, db string) chstore.Store {
	t.Helper()
	s := openStore(t)
	if _, err := chstore.Migrate(context.Background(), s, chstore.SchemaOptions{Database: db}, "test"); err != nil {
		t.Fatal(err)
	}
	return s
}
