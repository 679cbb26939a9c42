package chstore

import (
	"fmt"
	"strings"
)

// ColumnDef is one column of a table the pipeline writes.
type ColumnDef struct {
	Name  string
	Type  string
	Codec string // e.g. "CODEC(ZSTD(1))"; empty uses the table default
	// Content marks prompt/response text, which gets the content TTL.
	Content bool
}

// Table describes a table and how it is stored.
type Table struct {
	Name        string
	Columns     []ColumnDef
	Indexes     []string
	Engine      string // MergeTree family member, without "Replicated"
	PartitionBy string
	OrderBy     string
	// TTLOn is the DateTime expression the row TTL counts from; empty: no TTL.
	TTLOn string
	// ShardBy is the Distributed sharding key in cluster mode.
	ShardBy string
	// Dedup keeps insert tokens so retried batches are dropped.
	Dedup bool
}

// insertTokenColumn records which queued request each row came from; the
// exporter checks it before a retry so a batch regrouped after a crash is
// never written twice.
var insertTokenColumn = ColumnDef{Name: "insert_token", Type: "String", Codec: "CODEC(ZSTD(1))"}

const insertTokenIndex = "INDEX idx_insert_token insert_token TYPE bloom_filter(0.001) GRANULARITY 1"

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
	{Name: "response_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
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
	// ZSTD(1): prompt text is the bulk of the bytes and is rewritten by every
	// merge; level 3 costs more CPU than the space it saves.
	{Name: "input_messages", Type: "String", Codec: "CODEC(ZSTD(1))", Content: true},
	{Name: "output_messages", Type: "String", Codec: "CODEC(ZSTD(1))", Content: true},
	{Name: "attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	{Name: "resource_attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	insertTokenColumn,
}

// GenAIEventColumns is the contract of genai_events: policy, budget,
// evaluation and feedback events.
var GenAIEventColumns = []ColumnDef{
	{Name: "timestamp", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "trace_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "span_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	// response_id links an evaluation that names only the response it judges.
	{Name: "response_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "service_name", Type: "LowCardinality(String)"},
	{Name: "workload", Type: "LowCardinality(String)"},
	{Name: "user_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "tenant_id", Type: "LowCardinality(String)"},
	{Name: "event_name", Type: "LowCardinality(String)"},
	{Name: "name", Type: "LowCardinality(String)"},
	{Name: "score_value", Type: "Nullable(Float64)"},
	{Name: "score_label", Type: "LowCardinality(String)"},
	{Name: "severity", Type: "LowCardinality(String)"},
	{Name: "action", Type: "LowCardinality(String)"},
	{Name: "explanation", Type: "String", Codec: "CODEC(ZSTD(3))"},
	{Name: "attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	insertTokenColumn,
}

// SpanColumns is the contract of spans: every non-GenAI span, compact, so
// the scoring sees the rest of each workload.
var SpanColumns = []ColumnDef{
	{Name: "timestamp", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "trace_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "span_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "parent_span_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
	{Name: "service_name", Type: "LowCardinality(String)"},
	{Name: "workload", Type: "LowCardinality(String)"},
	{Name: "span_name", Type: "LowCardinality(String)"},
	{Name: "span_kind", Type: "LowCardinality(String)"},
	{Name: "duration_ns", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "status_code", Type: "LowCardinality(String)"},
	{Name: "http_status_code", Type: "UInt16"},
	{Name: "http_route", Type: "LowCardinality(String)"},
	insertTokenColumn,
}

var (
	genaiSpansTable = Table{
		Name: "genai_spans", Columns: GenAISpanColumns, Engine: "MergeTree",
		Indexes: []string{
			"INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
			"INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1",
			"INDEX idx_response_id response_id TYPE bloom_filter(0.001) GRANULARITY 1",
			insertTokenIndex,
		},
		// Monthly partitions keep part counts low at one insert per second.
		PartitionBy: "toYYYYMM(timestamp)",
		// Dashboards filter by tenant and workload, then a time range.
		OrderBy: "(tenant_id, workload, timestamp)",
		TTLOn:   "toDateTime(timestamp)", ShardBy: "cityHash64(trace_id)", Dedup: true,
	}
	genaiEventsTable = Table{
		Name: "genai_events", Columns: GenAIEventColumns, Engine: "MergeTree",
		Indexes: []string{
			"INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
			insertTokenIndex,
		},
		PartitionBy: "toYYYYMM(timestamp)",
		OrderBy:     "(tenant_id, workload, event_name, timestamp)",
		TTLOn:       "toDateTime(timestamp)", ShardBy: "cityHash64(trace_id)", Dedup: true,
	}
	spansTable = Table{
		Name: "spans", Columns: SpanColumns, Engine: "MergeTree",
		Indexes: []string{
			"INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
			insertTokenIndex,
		},
		PartitionBy: "toYYYYMM(timestamp)",
		OrderBy:     "(workload, timestamp)",
		TTLOn:       "toDateTime(timestamp)", ShardBy: "cityHash64(trace_id)", Dedup: true,
	}
	// usageHourly is read by cost dashboards instead of scanning raw rows.
	usageHourlyTable = Table{
		Name: "genai_usage_hourly", Engine: "AggregatingMergeTree",
		Columns: []ColumnDef{
			{Name: "hour", Type: "DateTime"},
			{Name: "tenant_id", Type: "LowCardinality(String)"},
			{Name: "workload", Type: "LowCardinality(String)"},
			{Name: "user_id", Type: "String"},
			{Name: "provider", Type: "LowCardinality(String)"},
			{Name: "request_model", Type: "LowCardinality(String)"},
			{Name: "operation", Type: "LowCardinality(String)"},
			{Name: "requests", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "errors", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "input_tokens", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "output_tokens", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "cache_read_tokens", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "cache_write_tokens", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "reasoning_tokens", Type: "SimpleAggregateFunction(sum, UInt64)"},
			{Name: "cost_usd", Type: "SimpleAggregateFunction(sum, Decimal(38, 12))"},
			{Name: "duration_quantiles", Type: "AggregateFunction(quantiles(0.5, 0.9, 0.95, 0.99), UInt64)"},
		},
		PartitionBy: "toYYYYMM(hour)",
		OrderBy:     "(tenant_id, workload, hour, provider, request_model, operation, user_id)",
		TTLOn:       "hour", ShardBy: "cityHash64(tenant_id, workload)", Dedup: true,
	}
	// coverageDaily holds the counters the maturity scoring reads cheaply.
	coverageDailyTable = Table{
		Name: "genai_coverage_daily", Engine: "SummingMergeTree",
		Columns: []ColumnDef{
			{Name: "day", Type: "Date"},
			{Name: "tenant_id", Type: "LowCardinality(String)"},
			{Name: "workload", Type: "LowCardinality(String)"},
			{Name: "spans", Type: "UInt64"},
			{Name: "with_model", Type: "UInt64"},
			{Name: "with_provider", Type: "UInt64"},
			{Name: "with_usage", Type: "UInt64"},
			{Name: "with_content", Type: "UInt64"},
			{Name: "with_user", Type: "UInt64"},
			{Name: "with_tenant", Type: "UInt64"},
			{Name: "with_prompt_version", Type: "UInt64"},
			{Name: "pinned", Type: "UInt64"},
			{Name: "priced", Type: "UInt64"},
			{Name: "policy_flagged", Type: "UInt64"},
			{Name: "errors", Type: "UInt64"},
			{Name: "tool_spans", Type: "UInt64"},
			{Name: "retrieval_spans", Type: "UInt64"},
			{Name: "agent_spans", Type: "UInt64"},
			{Name: "cache_read_tokens", Type: "UInt64"},
		},
		PartitionBy: "toYYYYMM(day)",
		OrderBy:     "(tenant_id, workload, day)",
		TTLOn:       "toDateTime(day)", ShardBy: "cityHash64(tenant_id, workload)", Dedup: true,
	}
)

const usageHourlySelect = `SELECT
    toStartOfHour(timestamp) AS hour, tenant_id, workload, user_id, provider, request_model, operation,
    count() AS requests, countIf(status_code = 'Error') AS errors,
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
    sum(reasoning_tokens) AS reasoning_tokens, sum(cost_usd) AS cost_usd,
    quantilesState(0.5, 0.9, 0.95, 0.99)(duration_ns) AS duration_quantiles
FROM %s
GROUP BY hour, tenant_id, workload, user_id, provider, request_model, operation`

const coverageDailySelect = `SELECT
    toDate(timestamp) AS day, tenant_id, workload,
    count() AS spans,
    countIf(request_model != '' OR response_model != '') AS with_model,
    countIf(provider != '') AS with_provider,
    countIf(input_tokens + output_tokens > 0) AS with_usage,
    countIf(content_captured IN ('full', 'redacted')) AS with_content,
    countIf(user_id != '') AS with_user,
    countIf(tenant_id != '') AS with_tenant,
    countIf(prompt_version != '') AS with_prompt_version,
    countIf(model_pinned) AS pinned,
    countIf(cost_source IN ('provider', 'computed')) AS priced,
    countIf(notEmpty(policy_flags)) AS policy_flagged,
    countIf(status_code = 'Error') AS errors,
    countIf(operation = 'execute_tool') AS tool_spans,
    countIf(operation = 'retrieval') AS retrieval_spans,
    countIf(operation IN ('invoke_agent', 'create_agent')) AS agent_spans,
    sum(cache_read_tokens) AS cache_read_tokens
FROM %s
GROUP BY day, tenant_id, workload`

// The dedup window keeps the tokens of the last N inserts per table, so a
// retried batch is dropped instead of duplicated (plain MergeTree's default is 0).
const dedupWindow = 10000

// tableDDL creates t: one MergeTree table, or on a cluster a Replicated
// local table plus a Distributed table under the plain name.
func tableDDL(o SchemaOptions, t Table) []string {
	var b strings.Builder
	name := o.Database + "." + t.Name
	if o.Cluster != "" {
		name += "_local"
	}
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s%s (\n", name, o.onCluster())
	for i, c := range t.Columns {
		fmt.Fprintf(&b, "    %s %s", c.Name, c.Type)
		if c.Codec != "" {
			b.WriteString(" " + c.Codec)
		}
		if c.Content && o.ContentTTLDays > 0 && t.TTLOn != "" {
			fmt.Fprintf(&b, " TTL %s + INTERVAL %d DAY", t.TTLOn, o.ContentTTLDays)
		}
		if i < len(t.Columns)-1 || len(t.Indexes) > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	for i, ix := range t.Indexes {
		b.WriteString("    " + ix)
		if i < len(t.Indexes)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(") ENGINE = " + o.engine(t.Engine) + "\n")
	fmt.Fprintf(&b, "PARTITION BY %s\nORDER BY %s\n", t.PartitionBy, t.OrderBy)
	if o.TTLDays > 0 && t.TTLOn != "" {
		fmt.Fprintf(&b, "TTL %s + INTERVAL %d DAY\n", t.TTLOn, o.TTLDays)
	}
	settings := []string{"ttl_only_drop_parts = 1"}
	if t.Dedup && o.Cluster == "" {
		// Replicated tables deduplicate through Keeper without this.
		settings = append(settings, fmt.Sprintf("non_replicated_deduplication_window = %d", dedupWindow))
	}
	b.WriteString("SETTINGS " + strings.Join(settings, ", "))
	out := []string{b.String()}
	if o.Cluster != "" {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s ENGINE = Distributed(%s, %s, %s_local, %s)",
			o.Database, t.Name, o.onCluster(), name, o.Cluster, o.Database, t.Name, t.ShardBy))
	}
	return out
}

// viewDDL creates a materialized view from source into target. On a cluster
// it reads and writes the local tables on every node.
func viewDDL(o SchemaOptions, view, target, source, selectFmt string) string {
	suffix := ""
	if o.Cluster != "" {
		suffix = "_local"
	}
	return fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s.%s%s AS\n%s",
		o.Database, view, o.onCluster(), o.Database, target, suffix,
		fmt.Sprintf(selectFmt, o.Database+"."+source+suffix))
}

func (o SchemaOptions) onCluster() string {
	if o.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + o.Cluster
}

func (o SchemaOptions) engine(family string) string {
	if o.Cluster == "" {
		return family
	}
	// An engine's own arguments (a version column) follow Keeper's.
	args := ""
	if name, a, ok := strings.Cut(family, "("); ok {
		family, args = name, ", "+strings.TrimSuffix(a, ")")
	}
	return "Replicated" + family + "('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'" + args + ")"
}

// MaturityScoresTable holds every maturity scoring run (the maturity
// extension and `otelcol-aiops score --record`): one row per workload,
// framework and signal, with the stage repeated on each, so stage trends and
// regressions are one query.
var MaturityScoresTable = Table{
	Name: "maturity_scores", Engine: "MergeTree",
	Columns: []ColumnDef{
		{Name: "run_at", Type: "DateTime64(3)", Codec: "CODEC(Delta, ZSTD(1))"},
		{Name: "run_id", Type: "String", Codec: "CODEC(ZSTD(1))"},
		{Name: "window_from", Type: "DateTime64(3)"},
		{Name: "window_to", Type: "DateTime64(3)"},
		{Name: "workload", Type: "LowCardinality(String)"},
		{Name: "framework", Type: "LowCardinality(String)"},
		{Name: "stage", Type: "UInt8"},
		{Name: "stage_name", Type: "LowCardinality(String)"},
		{Name: "signal_id", Type: "LowCardinality(String)"},
		{Name: "signal_stage", Type: "UInt8"},
		{Name: "domain", Type: "LowCardinality(String)"},
		{Name: "kind", Type: "LowCardinality(String)"},
		{Name: "status", Type: "LowCardinality(String)"},
		{Name: "required", Type: "Bool"},
		{Name: "value", Type: "Nullable(Float64)"},
		{Name: "threshold", Type: "Float64"},
		{Name: "evidence", Type: "String", Codec: "CODEC(ZSTD(3))"},
		{Name: "rubric_version", Type: "LowCardinality(String)"},
	},
	PartitionBy: "toYYYYMM(run_at)",
	OrderBy:     "(workload, framework, run_at, signal_id)",
	TTLOn:       "toDateTime(run_at)", ShardBy: "cityHash64(workload)", Dedup: true,
}
