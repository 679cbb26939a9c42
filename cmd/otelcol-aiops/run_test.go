package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// runCmd runs one of our subcommands with args.
func runCmd(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	var cmd *cobra.Command
	switch name {
	case "migrate":
		cmd = migrateCommand(component.BuildInfo{Version: "test"})
	case "query":
		cmd = queryCommand()
	case "pricing":
		cmd = pricingCommand()
	case "score":
		cmd = scoreCommand()
	case "reconcile":
		cmd = reconcileCommand()
	default:
		t.Fatalf("no subcommand %q", name)
	}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func versions(ms []chstore.Migration) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}

func TestMigrateAndQuerySubcommands(t *testing.T) {
	out, err := runCmd(t, "migrate", "--print", "--database", "ops", "--ttl-days", "90", "--content-ttl-days", "30")
	if err != nil || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS ops.genai_spans") || !strings.Contains(out, "INTERVAL 30 DAY") {
		t.Fatalf("migrate --print: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "migrate", "--print", "--cluster", "prod"); err != nil || !strings.Contains(out, "genai_spans_local ON CLUSTER prod") {
		t.Fatalf("migrate --print --cluster: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "migrate", "--print", "--database", "bad-name"); err == nil {
		t.Fatal("bad database name accepted")
	}
	dir := filepath.Join(t.TempDir(), "ch")
	t.Setenv("AIOPS_DATA_DIR", "")
	if _, err := runCmd(t, "migrate", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), dir+" does not exist") {
		t.Fatalf("migrate into a missing directory: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("migrate created %s: %v", dir, err)
	}
	// migrate may start a new engine in an empty directory.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	all := fmt.Sprint(versions(chstore.Migrations))
	if out, err = runCmd(t, "migrate", "--data-dir", dir, "--database", "ops"); err != nil || !strings.Contains(out, "applied migrations "+all+" to ops") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err = runCmd(t, "migrate", "--data-dir", dir, "--database", "ops"); err != nil || !strings.Contains(out, "applied migrations [] to ops") {
		t.Fatalf("second migrate must apply nothing: %v\n%s", err, out)
	}
	out, err = runCmd(t, "query", "--data-dir", dir, "--format", "TSV", "SELECT count() FROM ops.schema_migrations")
	if err != nil || strings.TrimSpace(out) != fmt.Sprint(len(chstore.Migrations)) {
		t.Fatalf("query: %v\n%s", err, out)
	}
	if _, err = runCmd(t, "query", "--data-dir", dir, "DROP DATABASE ops"); err == nil {
		t.Fatal("query must be read-only")
	}
	if _, err = runCmd(t, "migrate"); err == nil || !strings.Contains(err.Error(), "--data-dir or --endpoint is required") {
		t.Fatalf("no target: %v", err)
	}
}
