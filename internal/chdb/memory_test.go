package chdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemoryConfigXML(t *testing.T) {
	if got := (Memory{}).Settings(); got != nil {
		t.Fatalf("the zero Memory must apply nothing, got %v", got)
	}
	got := MemoryFor(256 << 20).configXML()
	for _, want := range []string{
		"<max_server_memory_usage>268435456</max_server_memory_usage>",
		"<merges_mutations_memory_usage_soft_limit>134217728</merges_mutations_memory_usage_soft_limit>",
		"<mark_cache_size>16777216</mark_cache_size>",
		"<query_cache><max_size_in_bytes>0</max_size_in_bytes></query_cache>",
		"<merge_tree>\n    <max_parts_to_merge_at_once>16</max_parts_to_merge_at_once>\n",
		"    <compact_parts_max_bytes_to_buffer>16777216</compact_parts_max_bytes_to_buffer>\n",
		"    <vertical_merge_algorithm_min_rows_to_activate>16384</vertical_merge_algorithm_min_rows_to_activate>\n  </merge_tree>\n</clickhouse>\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []Memory{{Limit: 1 << 20}, {Limit: 128 << 20, Merges: 256 << 20}, {Limit: 128 << 20, MaxMergeParts: 1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v must be refused", bad)
		}
	}
	if err := MemoryFor(MinMemoryLimit).Validate(); err != nil {
		t.Errorf("the smallest limit must be accepted: %v", err)
	}
}

// TestMemoryBoundsApplied starts the real engine with bounds and reads every
// one back from the engine's own tables, then checks that the limit is
// enforced, and that a default start afterwards gets ClickHouse's defaults.
func TestMemoryBoundsApplied(t *testing.T) {
	ctx := context.Background()
	mem := MemoryFor(128 << 20)
	dir := t.TempDir()
	e, err := Open(Options{DataDir: dir, Memory: &mem})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if e != nil {
			e.Close()
		}
	}()
	if e.Memory() != mem {
		t.Fatalf("engine reports %+v, want %+v", e.Memory(), mem)
	}
	for _, s := range mem.Settings() {
		table := "system.server_settings"
		if s.MergeTree {
			table = "system.merge_tree_settings"
		}
		res, err := e.Query(ctx, "SELECT value FROM "+table+" WHERE name = {n:String}", "TSVRaw", Param{Name: "n", Value: s.Name})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(res.Data)); got != s.Value {
			t.Errorf("%s %s = %q, want %q", table, s.Name, got, s.Value)
		}
	}
	// 256 MiB of numbers cannot be held under a 128 MiB limit, whatever the
	// query's own limit says.
	_, err = e.Query(ctx, "SELECT length(groupArray(number)) FROM numbers(32000000) SETTINGS max_memory_usage = 0", "TSVRaw")
	if ErrorCode(err) != 241 || !strings.Contains(err.Error(), "(total) memory limit exceeded") {
		t.Fatalf("want the engine-wide limit (241, total) to stop the query, got %v", err)
	}
	// The configuration file is gone once the engine runs, and further
	// sessions start without it.
	if lastConfigDir == "" || !strings.HasPrefix(lastConfigDir, filepath.Join(os.TempDir(), "otelcol-aiops-engine-")) {
		t.Errorf("configuration written to %q", lastConfigDir)
	} else if _, err := os.Stat(lastConfigDir); !os.IsNotExist(err) {
		t.Errorf("engine configuration left behind in %s (%v)", lastConfigDir, err)
	}
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Query(ctx, "SELECT value FROM system.server_settings WHERE name = 'max_server_memory_usage'", "TSVRaw"); err != nil {
		t.Error(err)
	} else if got := strings.TrimSpace(string(res.Data)); got != "134217728" {
		t.Errorf("a session sees max_server_memory_usage = %s", got)
	}
	s.Close()

	// Sharing: no bounds asked shares; other bounds are refused.
	same, err := Open(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	same.Close()
	other := MemoryFor(256 << 20)
	if o, err := Open(Options{DataDir: dir, Memory: &other}); err == nil {
		o.Close()
		t.Fatal("other bounds for a running engine must be refused")
	} else if !strings.Contains(err.Error(), "other memory bounds") {
		t.Fatalf("unclear error: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = nil

	// A restart without bounds is back on the engine's defaults.
	d := openTest(t)
	if got := query(t, d, "SELECT value FROM system.merge_tree_settings WHERE name = 'max_parts_to_merge_at_once'"); got != "100" {
		t.Errorf("after a restart without bounds, max_parts_to_merge_at_once = %s, want the default 100", got)
	}
	if got := query(t, d, "SELECT toUInt64(value) > 1073741824 FROM system.server_settings WHERE name = 'max_server_memory_usage'"); got != "1" {
		t.Errorf("after a restart without bounds, the engine kept a limit")
	}
}

func TestSetMemoryAppliesWhenOpenGivesNone(t *testing.T) {
	defer SetMemory(Memory{})
	SetMemory(MemoryFor(96 << 20))
	e, err := Open(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, e, "SELECT value FROM system.server_settings WHERE name = 'max_server_memory_usage'")
	e.Close()
	if got != "100663296" {
		t.Fatalf("max_server_memory_usage = %s, want SetMemory's 100663296", got)
	}
	SetMemory(Memory{Limit: 1 << 20})
	if e, err := Open(Options{DataDir: t.TempDir()}); err == nil {
		e.Close()
		t.Fatal("a limit too small must be refused before the engine starts")
	} else if !strings.Contains(err.Error(), "below") {
		t.Fatalf("unclear error: %v", err)
	}
}
