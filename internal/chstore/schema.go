package chstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// SchemaOptions shape the DDL. Every field is validated before use.
type SchemaOptions struct {
	Database string
	// TTLDays expires rows; 0 keeps them.
	TTLDays int
	// ContentTTLDays expires prompt and response text sooner than the rows
	// that carry cost; 0 keeps content as long as the rows.
	ContentTTLDays int
}

// Validate checks the options before any DDL is built from them.
func (o SchemaOptions) Validate() error {
	if err := ValidIdent(o.Database); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if o.TTLDays < 0 || o.ContentTTLDays < 0 {
		return fmt.Errorf("ttl days must not be negative")
	}
	if o.TTLDays > 0 && o.ContentTTLDays > o.TTLDays {
		return fmt.Errorf("content ttl (%d days) must not exceed the row ttl (%d days)", o.ContentTTLDays, o.TTLDays)
	}
	return nil
}

// ColumnDef is one column of a table the pipeline writes.
type ColumnDef struct {
	Name  string
	Type  string
	Codec string // e.g. "CODEC(ZSTD(1))"; empty uses the table default
	// Content marks prompt/response text, which gets the content TTL.
	Content bool
}

// GenAISpanColumns is the contract of genai_spans: one row per GenAI span.
// The exporter encodes exactly these columns, in this order.
var GenAISpanColumns = []ColumnDef{
	{Name: "timestamp", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "trace_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "span_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "parent_span_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "span_name", Type: "LowCardinality(String)"},
	{Name: "duration_ns", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "status_code", Type: "LowCardinality(String)"},
	{Name: "error_type", Type: "LowCardinality(String)"},
	{Name: "finish_reasons", Type: "Array(LowCardinality(String))"},
	{Name: "streaming", Type: "Bool"},
	{Name: "service_name", Type: "LowCardinality(String)"},
	{Name: "service_version", Type: "LowCardinality(String)"},
	{Name: "environment", Type: "LowCardinality(String)"},
	{Name: "workload", Type: "LowCardinality(String)"},
	{Name: "user_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "tenant_id", Type: "LowCardinality(String)"},
	{Name: "team", Type: "LowCardinality(String)"},
	{Name: "feature", Type: "LowCardinality(String)"},
	{Name: "conversation_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "operation", Type: "LowCardinality(String)"},
	{Name: "provider", Type: "LowCardinality(String)"},
	{Name: "request_model", Type: "LowCardinality(String)"},
	{Name: "response_model", Type: "LowCardinality(String)"},
	{Name: "model_pinned", Type: "Bool"},
	{Name: "agent_name", Type: "LowCardinality(String)"},
	{Name: "tool_name", Type: "LowCardinality(String)"},
	{Name: "data_source_id", Type: "LowCardinality(String)"},
	{Name: "prompt_name", Type: "LowCardinality(String)"},
	{Name: "prompt_version", Type: "LowCardinality(String)"},
	{Name: "retrieval_docs", Type: "UInt32"},
	{Name: "retrieval_top_score", Type: "Nullable(Float32)"},
	{Name: "retrieval_min_score", Type: "Nullable(Float32)"},
	{Name: "input_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "output_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "cache_read_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "cache_write_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "reasoning_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	// Costs are exact: Decimal64 with 12 places holds picodollars.
	{Name: "cost_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_input_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_cached_input_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_cache_write_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_output_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_reasoning_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_source", Type: "LowCardinality(String)"},
	{Name: "price_id", Type: "LowCardinality(String)"},
	{Name: "content_captured", Type: "LowCardinality(String)"},
	{Name: "content_sha256", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "policy_flags", Type: "Array(LowCardinality(String))"},
	{Name: "input_messages", Type: "String", Codec: "CODEC(ZSTD(3))", Content: true},
	{Name: "output_messages", Type: "String", Codec: "CODEC(ZSTD(3))", Content: true},
	{Name: "attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	{Name: "resource_attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
}

// Migration is one schema version. Migrations only add; they never drop data.
type Migration struct {
	Version int
	Name    string
	DDL     func(o SchemaOptions) []string
}

// Migrations is the schema history, in order. Append; never edit a shipped one.
var Migrations = []Migration{
	{Version: 1, Name: "genai_spans", DDL: genaiSpansV1},
}

// The dedup window keeps the tokens of the last N inserts per table, so a
// retried batch is dropped instead of duplicated (plain MergeTree's default is 0).
const dedupWindow = 10000

func genaiSpansV1(o SchemaOptions) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.genai_spans (\n", o.Database)
	for _, c := range GenAISpanColumns {
		fmt.Fprintf(&b, "    %s %s", c.Name, c.Type)
		if c.Codec != "" {
			b.WriteString(" " + c.Codec)
		}
		if c.Content && o.ContentTTLDays > 0 {
			fmt.Fprintf(&b, " TTL toDateTime(timestamp) + INTERVAL %d DAY", o.ContentTTLDays)
		}
		b.WriteString(",\n")
	}
	b.WriteString("    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,\n")
	b.WriteString("    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1\n")
	b.WriteString(") ENGINE = MergeTree\n")
	b.WriteString("PARTITION BY toYYYYMM(timestamp)\n")
	// Dashboards filter by tenant and workload, then a time range.
	b.WriteString("ORDER BY (tenant_id, workload, timestamp)\n")
	if o.TTLDays > 0 {
		fmt.Fprintf(&b, "TTL toDateTime(timestamp) + INTERVAL %d DAY\n", o.TTLDays)
	}
	fmt.Fprintf(&b, "SETTINGS non_replicated_deduplication_window = %d", dedupWindow)
	return []string{b.String()}
}

func migrationsTable(db string) string {
	return "CREATE TABLE IF NOT EXISTS " + db + ".schema_migrations (\n" +
		"    version UInt32,\n    name String,\n    applied_at DateTime64(3) DEFAULT now64(3),\n    applied_by String\n" +
		") ENGINE = ReplacingMergeTree ORDER BY version"
}

// SchemaSQL is every statement a fresh database needs, for operators who run
// migrations themselves (`otelcol-aiops migrate --print`).
func SchemaSQL(o SchemaOptions) ([]string, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	out := []string{"CREATE DATABASE IF NOT EXISTS " + o.Database, migrationsTable(o.Database)}
	for _, m := range Migrations {
		out = append(out, m.DDL(o)...)
		out = append(out, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name, applied_by) VALUES (%d, '%s', 'manual')", o.Database, m.Version, m.Name))
	}
	return out, nil
}

// migrateMu serializes migrations within the process: several exporters may
// start at once against the same store.
var migrateMu sync.Mutex

// Migrate applies every migration not yet recorded, in order, and returns the
// versions it applied. It is idempotent: statements use IF NOT EXISTS, so a
// run interrupted between a statement and its record is safe to repeat.
func Migrate(ctx context.Context, s Store, o SchemaOptions, appliedBy string) ([]int, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	migrateMu.Lock()
	defer migrateMu.Unlock()
	if err := s.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+o.Database); err != nil {
		return nil, fmt.Errorf("create database %s: %w", o.Database, err)
	}
	if err := s.Exec(ctx, migrationsTable(o.Database)); err != nil {
		return nil, fmt.Errorf("create %s.schema_migrations: %w", o.Database, err)
	}
	done, err := AppliedVersions(ctx, s, o.Database)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range Migrations {
		if done[m.Version] {
			continue
		}
		for _, stmt := range m.DDL(o) {
			if err := s.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		err := s.Exec(ctx, "INSERT INTO "+o.Database+".schema_migrations (version, name, applied_by) SELECT {v:UInt32}, {n:String}, {by:String}",
			Param{"v", strconv.Itoa(m.Version)}, Param{"n", m.Name}, Param{"by", appliedBy})
		if err != nil {
			return applied, fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// AppliedVersions reads schema_migrations; a missing table means none.
func AppliedVersions(ctx context.Context, s Store, db string) (map[int]bool, error) {
	if err := ValidIdent(db); err != nil {
		return nil, err
	}
	exists, err := s.Query(ctx, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'schema_migrations'", Param{"db", db})
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	if len(exists.Data) == 0 || exists.Data[0][0].(uint64) == 0 {
		return out, nil
	}
	rows, err := s.Query(ctx, "SELECT DISTINCT version FROM "+db+".schema_migrations")
	if err != nil {
		return nil, err
	}
	for _, r := range rows.Data {
		out[int(r[0].(uint32))] = true
	}
	return out, nil
}

// Verify checks, without changing anything, that every migration is applied
// and that genai_spans has every contract column with its type. The error
// lists exactly what is missing.
func Verify(ctx context.Context, s Store, db string) error {
	done, err := AppliedVersions(ctx, s, db)
	if err != nil {
		return err
	}
	var missing []string
	for _, m := range Migrations {
		if !done[m.Version] {
			missing = append(missing, fmt.Sprintf("migration %d (%s) not applied", m.Version, m.Name))
		}
	}
	rows, err := s.Query(ctx, "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'genai_spans'", Param{"db", db})
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, r := range rows.Data {
		have[r[0].(string)] = r[1].(string)
	}
	for _, c := range GenAISpanColumns {
		switch t, ok := have[c.Name]; {
		case !ok:
			missing = append(missing, fmt.Sprintf("column %s.genai_spans.%s %s missing", db, c.Name, c.Type))
		case t != c.Type:
			missing = append(missing, fmt.Sprintf("column %s.genai_spans.%s is %s, want %s", db, c.Name, t, c.Type))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("schema in %s is not ready (run `otelcol-aiops migrate` or set create_schema: true): %s", db, strings.Join(missing, "; "))
	}
	return nil
}
