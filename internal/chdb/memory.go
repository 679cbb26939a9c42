package chdb

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Memory bounds the engine's own memory: everything it allocates outside the
// Go heap, which GOMEMLIMIT and memory_limiter cannot see. The engine reads
// the bounds once, when it starts; the zero Memory keeps ClickHouse's
// defaults (a limit of 90% of the machine's memory, 5 GiB caches, merges of
// up to 100 parts).
type Memory struct {
	// Limit caps every allocation the engine tracks (inserts, merges,
	// queries and the caches below together): max_server_memory_usage.
	// Past it, the statement or merge that would allocate fails with
	// MEMORY_LIMIT_EXCEEDED (241); an insert is retried, a merge rescheduled.
	Limit uint64
	// Merges stops new merges and mutations from starting while running
	// ones hold more: merges_mutations_memory_usage_soft_limit.
	Merges uint64
	// The caches a read fills: mark_cache_size, index_mark_cache_size,
	// primary_index_cache_size, query_condition_cache_size and
	// compiled_expression_cache_size. The uncompressed caches and the query
	// cache are switched off (size 0).
	MarkCache, IndexMarkCache, PrimaryIndexCache, QueryConditionCache, CompiledExpressionCache uint64

	// MergeTree defaults, for every table that does not set its own (0
	// keeps ClickHouse's):
	//
	// MaxMergeParts is max_parts_to_merge_at_once: a horizontal merge holds
	// a block of every part it reads.
	MaxMergeParts uint64
	// CompactPartBuffer is compact_parts_max_bytes_to_buffer: a compact
	// part being written buffers granules up to this size (128 MiB by
	// default).
	CompactPartBuffer uint64
	// VerticalMergeRows is vertical_merge_algorithm_min_rows_to_activate:
	// merges into a wide part of at least this many rows write one column
	// at a time instead of all of them at once.
	VerticalMergeRows uint64
}

// MemoryFor derives every bound from the engine's limit: half of it for
// merges; 1/16 for marks and 1/32 each for the other caches, so that full
// caches hold under 1/4 of it and inserts and merges keep the rest; 1/16 for
// a compact part's buffer. Measured on genai_spans with message content
// (20k-span inserts, a 256 MiB limit): the largest merge held 150-185 MiB
// without the compact buffer and vertical merge bounds, 115 MiB with them.
func MemoryFor(limit uint64) Memory {
	return Memory{
		Limit:                   limit,
		Merges:                  limit / 2,
		MarkCache:               limit / 16,
		IndexMarkCache:          limit / 32,
		PrimaryIndexCache:       limit / 32,
		QueryConditionCache:     limit / 32,
		CompiledExpressionCache: limit / 32,
		MaxMergeParts:           16,
		CompactPartBuffer:       limit / 16,
		VerticalMergeRows:       16384,
	}
}

// Setting is one engine setting and where it lives: a server setting
// (system.server_settings) or a MergeTree default (system.merge_tree_settings).
type Setting struct {
	MergeTree   bool
	Name, Value string
}

// Settings lists what m applies, in a fixed order; none for the zero Memory.
func (m Memory) Settings() []Setting {
	if m == (Memory{}) {
		return nil
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	out := []Setting{
		{Name: "max_server_memory_usage", Value: u(m.Limit)},
		{Name: "merges_mutations_memory_usage_soft_limit", Value: u(m.Merges)},
		{Name: "mark_cache_size", Value: u(m.MarkCache)},
		{Name: "index_mark_cache_size", Value: u(m.IndexMarkCache)},
		{Name: "primary_index_cache_size", Value: u(m.PrimaryIndexCache)},
		{Name: "query_condition_cache_size", Value: u(m.QueryConditionCache)},
		{Name: "compiled_expression_cache_size", Value: u(m.CompiledExpressionCache)},
		{Name: "uncompressed_cache_size", Value: "0"},
		{Name: "index_uncompressed_cache_size", Value: "0"},
		{Name: "query_cache.max_size_in_bytes", Value: "0"},
	}
	for _, s := range []struct {
		name string
		v    uint64
	}{
		{"max_parts_to_merge_at_once", m.MaxMergeParts},
		{"compact_parts_max_bytes_to_buffer", m.CompactPartBuffer},
		{"vertical_merge_algorithm_min_rows_to_activate", m.VerticalMergeRows},
	} {
		if s.v > 0 {
			out = append(out, Setting{MergeTree: true, Name: s.name, Value: u(s.v)})
		}
	}
	return out
}

// Validate refuses bounds the engine cannot work within.
func (m Memory) Validate() error {
	if m == (Memory{}) {
		return nil
	}
	if m.Limit < MinMemoryLimit {
		return fmt.Errorf("the engine's memory limit %d MiB is below %d MiB, too little for one insert and one merge", m.Limit>>20, MinMemoryLimit>>20)
	}
	if m.Merges > m.Limit {
		return fmt.Errorf("the merges' soft limit (%d bytes) exceeds the engine's limit (%d bytes)", m.Merges, m.Limit)
	}
	if m.MaxMergeParts == 1 {
		return fmt.Errorf("max_parts_to_merge_at_once must be 0 (the engine's default) or at least 2")
	}
	return nil
}

// MinMemoryLimit is the smallest engine limit Validate accepts.
const MinMemoryLimit = 64 << 20

// configXML renders m as a ClickHouse configuration file.
func (m Memory) configXML() string {
	var b strings.Builder
	b.WriteString("<clickhouse>\n")
	var tree []Setting
	for _, s := range m.Settings() {
		if s.MergeTree {
			tree = append(tree, s)
			continue
		}
		writeXMLSetting(&b, "  ", s.Name, s.Value)
	}
	if len(tree) > 0 {
		b.WriteString("  <merge_tree>\n")
		for _, s := range tree {
			writeXMLSetting(&b, "    ", s.Name, s.Value)
		}
		b.WriteString("  </merge_tree>\n")
	}
	b.WriteString("</clickhouse>\n")
	return b.String()
}

// writeXMLSetting writes a.b.c = v as nested elements. Names and values are
// ours (identifiers and numbers): nothing needs escaping.
func writeXMLSetting(b *strings.Builder, indent, name, value string) {
	parts := strings.Split(name, ".")
	b.WriteString(indent)
	for _, p := range parts {
		b.WriteString("<" + p + ">")
	}
	b.WriteString(value)
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString("</" + parts[i] + ">")
	}
	b.WriteString("\n")
}

// writeConfig puts m's configuration file in a new private directory (the
// engine also reads config.d/ beside the file it is given) and returns the
// file and a function that removes both; the engine reads it only while it
// starts. It returns "" for the zero Memory.
func (m Memory) writeConfig() (string, func(), error) {
	if m == (Memory{}) {
		return "", func() {}, nil
	}
	dir, err := os.MkdirTemp("", "otelcol-aiops-engine-")
	if err != nil {
		return "", nil, fmt.Errorf("chdb: engine configuration: %w", err)
	}
	lastConfigDir = dir
	file := filepath.Join(dir, "engine.xml")
	if err := os.WriteFile(file, []byte(m.configXML()), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("chdb: engine configuration: %w", err)
	}
	return file, func() { os.RemoveAll(dir) }, nil
}

// lastConfigDir is the directory writeConfig made last (tests check that it
// is gone).
var lastConfigDir string

var (
	memoryMu    sync.Mutex
	startMemory Memory // what the next engine start applies
)

// SetMemory sets the bounds the engine starts with when an Open starts it
// without Options.Memory (the exporter sets them when it is created, before
// any component opens the engine). A running engine keeps its bounds until
// its last user closes it.
func SetMemory(m Memory) {
	memoryMu.Lock()
	startMemory = m
	memoryMu.Unlock()
}

func memoryToStart(opts Options) Memory {
	if opts.Memory != nil {
		return *opts.Memory
	}
	memoryMu.Lock()
	defer memoryMu.Unlock()
	return startMemory
}

// Memory is the bounds the engine started with (the zero Memory when it
// runs on ClickHouse's defaults).
func (e *Engine) Memory() Memory { return e.memory }
