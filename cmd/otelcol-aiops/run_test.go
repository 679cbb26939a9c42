package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := migrateCommand(component.BuildInfo{Version: "test"})
	if args[0] == "query" {
		cmd = queryCommand()
	}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args[1:])
	err := cmd.Execute()
	return out.String(), err
}

func TestMigrateAndQuerySubcommands(t *testing.T) {
	out, err := runCmd(t, "migrate", "--print", "--database", "ops", "--ttl-days", "90", "--content-ttl-days", "30")
	if err != nil || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS ops.genai_spans") || !strings.Contains(out, "INTERVAL 30 DAY") {
		t.Fatalf("migrate --print: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "migrate", "--print", "--database", "bad-name"); err == nil {
		t.Fatal("bad database name accepted")
	}
	dir := filepath.Join(t.TempDir(), "ch")
	t.Setenv("AIOPS_DATA_DIR", "")
	if out, err = runCmd(t, "migrate", "--data-dir", dir, "--database", "ops"); err != nil || !strings.Contains(out, "applied migrations [1] to ops") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err = runCmd(t, "migrate", "--data-dir", dir, "--database", "ops"); err != nil || !strings.Contains(out, "applied migrations [] to ops") {
		t.Fatalf("second migrate must apply nothing: %v\n%s", err, out)
	}
	out, err = runCmd(t, "query", "--data-dir", dir, "--format", "TSV", "SELECT version FROM ops.schema_migrations")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("query: %v\n%s", err, out)
	}
	if _, err = runCmd(t, "query", "--data-dir", dir, "DROP DATABASE ops"); err == nil {
		t.Fatal("query must be read-only")
	}
	if _, err = runCmd(t, "migrate"); err == nil || !strings.Contains(err.Error(), "--data-dir or --endpoint is required") {
		t.Fatalf("no target: %v", err)
	}
}
