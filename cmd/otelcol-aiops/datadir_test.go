package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// dataRoot lays out a data directory as the shipped configs do: the engine
// in <root>/clickhouse (with the schema), the queue in <root>/queue.
func dataRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"clickhouse", "queue"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AIOPS_DATA_DIR", "")
	if out, err := runCmd(t, "migrate", "--data-dir", filepath.Join(root, "clickhouse")); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	return root
}

// TestDataDirFindsTheEngine: --data-dir and $AIOPS_DATA_DIR take the data
// root or the engine directory, and reading leaves the root as it was.
func TestDataDirFindsTheEngine(t *testing.T) {
	root := dataRoot(t)
	before := listDir(t, root)
	const sql = "SELECT count() FROM system.tables WHERE database = 'aiops' AND name = 'genai_spans'"
	for _, args := range [][]string{
		{"--data-dir", root},
		{"--data-dir", filepath.Join(root, "clickhouse")},
		{"--data-dir", root + "/"},
	} {
		out, err := runCmd(t, "query", append(args, "--format", "TSV", sql)...)
		if err != nil || strings.TrimSpace(out) != "1" {
			t.Errorf("query %v: %v\n%s", args, err, out)
		}
	}
	t.Setenv("AIOPS_DATA_DIR", root)
	if out, err := runCmd(t, "query", "--format", "TSV", sql); err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("query with AIOPS_DATA_DIR=%s: %v\n%s", root, err, out)
	}
	if after := listDir(t, root); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("the data root changed from %v to %v (a stray engine directory?)", before, after)
	}
}

// TestDataDirIsNeverCreated: a missing or engine-less --data-dir is an error
// naming it, and stays as it was.
func TestDataDirIsNeverCreated(t *testing.T) {
	t.Setenv("AIOPS_DATA_DIR", "")
	missing := filepath.Join(t.TempDir(), "typo")
	empty := t.TempDir()
	for _, cmd := range []string{"query", "score", "reconcile"} {
		args := []string{"--data-dir", missing}
		if cmd == "query" {
			args = append(args, "SELECT 1")
		}
		_, err := runCmd(t, cmd, args...)
		if err == nil || !strings.Contains(err.Error(), "data directory "+missing+" does not exist") {
			t.Errorf("%s --data-dir %s: %v", cmd, missing, err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s created %s", cmd, missing)
		}
		args[1] = empty
		_, err = runCmd(t, cmd, args...)
		if err == nil || !strings.Contains(err.Error(), empty+" holds no embedded engine") {
			t.Errorf("%s --data-dir %s: %v", cmd, empty, err)
		}
		if got := listDir(t, empty); len(got) != 0 {
			t.Fatalf("%s wrote %v into %s", cmd, got, empty)
		}
	}
}

// TestMain doubles as the child of TestDataDirHeldByTheCollector: with
// AIOPS_HOLD_ENGINE set it holds that engine, as a running collector does,
// until its stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("AIOPS_HOLD_ENGINE"); dir != "" {
		s, err := chstore.OpenEmbedded(dir, "")
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		bufio.NewReader(os.Stdin).ReadString('\n')
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDataDirHeldByTheCollector: with another process on the engine, the
// error points at the running collector's HTTP interface.
func TestDataDirHeldByTheCollector(t *testing.T) {
	root := dataRoot(t)
	engine := filepath.Join(root, "clickhouse")
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "AIOPS_HOLD_ENGINE="+engine)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		child.Wait()
	}()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "holding" {
		t.Fatalf("child: %q", line)
	}
	for _, dir := range []string{root, engine} {
		_, err := runCmd(t, "query", "--data-dir", dir, "SELECT 1")
		if err == nil || !strings.Contains(err.Error(), engine+" is in use by a running collector") ||
			!strings.Contains(err.Error(), "--endpoint http://127.0.0.1:8123") {
			t.Errorf("query --data-dir %s while held: %v", dir, err)
		}
	}
}
