package chstore

import (
	"fmt"
	"strings"
)

// The maturity scoring's rollups. genai_scoring_daily holds, per day and
// workload, one row per combination of everything the scoring's span
// measures test (operation, models, status, attribution, flags...) with
// counts and sums, so a score reads a few hundred rows per workload and
// day however many spans the day had. genai_users_daily holds each day's
// distinct users per workload as a uniq state. Both are filled by
// materialized views; the migration backfills the spans already stored.
const (
	ScoringDaily = "genai_scoring_daily"
	UsersDaily   = "genai_users_daily"
)

// rollupColumn is a column of a rollup and the expression over genai_spans
// that fills it: the materialized view and the raw rows the scorer reads
// for partial days use the same expression, so they cannot disagree.
type rollupColumn struct {
	name, typ, expr string
	// agg is the aggregate of a measure column; empty for a key column.
	agg string
}

var scoringDailyColumns = []rollupColumn{
	{name: "day", typ: "Date", expr: "toDate(timestamp)"},
	{name: "workload", typ: "LowCardinality(String)", expr: "workload"},
	{name: "tenant_id", typ: "LowCardinality(String)", expr: "tenant_id"},
	{name: "operation", typ: "LowCardinality(String)", expr: "operation"},
	{name: "provider", typ: "LowCardinality(String)", expr: "provider"},
	{name: "request_model", typ: "LowCardinality(String)", expr: "request_model"},
	{name: "response_model", typ: "LowCardinality(String)", expr: "response_model"},
	{name: "service_name", typ: "LowCardinality(String)", expr: "service_name"},
	{name: "service_version", typ: "LowCardinality(String)", expr: "service_version"},
	{name: "environment", typ: "LowCardinality(String)", expr: "environment"},
	{name: "team", typ: "LowCardinality(String)", expr: "team"},
	{name: "feature", typ: "LowCardinality(String)", expr: "feature"},
	{name: "model_pinned", typ: "Bool", expr: "model_pinned"},
	{name: "error", typ: "Bool", expr: "status_code = 'Error'"},
	{name: "error_type", typ: "LowCardinality(String)", expr: "error_type"},
	{name: "cost_source", typ: "LowCardinality(String)", expr: "cost_source"},
	{name: "content_captured", typ: "LowCardinality(String)", expr: "content_captured"},
	{name: "prompt_name", typ: "LowCardinality(String)", expr: "prompt_name"},
	{name: "prompt_version", typ: "LowCardinality(String)", expr: "prompt_version"},
	{name: "data_source_id", typ: "LowCardinality(String)", expr: "data_source_id"},
	{name: "tool_name", typ: "LowCardinality(String)", expr: "tool_name"},
	{name: "agent_name", typ: "LowCardinality(String)", expr: "agent_name"},
	{name: "with_user", typ: "Bool", expr: "user_id != ''"},
	{name: "with_response_id", typ: "Bool", expr: "response_id != ''"},
	{name: "with_content_digest", typ: "Bool", expr: "content_sha256 != ''"},
	{name: "with_usage", typ: "Bool", expr: "input_tokens + output_tokens > 0"},
	{name: "policy_flagged", typ: "Bool", expr: "notEmpty(policy_flags)"},
	{name: "with_retrieval_docs", typ: "Bool", expr: "retrieval_docs > 0"},
	{name: "with_retrieval_score", typ: "Bool", expr: "retrieval_top_score IS NOT NULL"},
	{name: "usage_duplicate", typ: "Bool", expr: "attributes['aiops.usage.duplicate_of'] != ''"},
	{name: "usage_missing", typ: "LowCardinality(String)", expr: "attributes['aiops.usage.missing']"},
	{name: "usage_estimated", typ: "Bool", expr: "attributes['aiops.usage.estimated'] != ''"},
	{name: "usage_incomplete", typ: "Bool", expr: "attributes['aiops.usage.incomplete'] != ''"},
	// The prompt-size classes model routing compares.
	{name: "input_size", typ: "UInt8", expr: "multiIf(input_tokens < 1000, 0, input_tokens < 4000, 1, input_tokens < 16000, 2, 3)"},

	{name: "spans", typ: "SimpleAggregateFunction(sum, UInt64)", expr: "toUInt64(1)", agg: "count()"},
	{name: "cost_usd", typ: "SimpleAggregateFunction(sum, Decimal(38, 12))", expr: "toDecimal128(cost_usd, 12)", agg: "sum(cost_usd)"},
	{name: "cost_cached_input_usd", typ: "SimpleAggregateFunction(sum, Decimal(38, 12))", expr: "toDecimal128(cost_cached_input_usd, 12)", agg: "sum(cost_cached_input_usd)"},
	// Named apart from the span columns: key expressions read input_tokens.
	{name: "sum_input_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", expr: "input_tokens", agg: "sum(input_tokens)"},
	{name: "sum_cache_read_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", expr: "cache_read_tokens", agg: "sum(cache_read_tokens)"},
	{name: "first_seen", typ: "SimpleAggregateFunction(min, DateTime64(9))", expr: "timestamp", agg: "min(timestamp)"},
	{name: "last_seen", typ: "SimpleAggregateFunction(max, DateTime64(9))", expr: "timestamp", agg: "max(timestamp)"},
}

var usersDailyColumns = []rollupColumn{
	{name: "day", typ: "Date", expr: "toDate(timestamp)"},
	{name: "workload", typ: "LowCardinality(String)", expr: "workload"},
	{name: "users", typ: "AggregateFunction(uniq, String)", agg: "uniqStateIf(user_id, user_id != '')"},
}

func rollupTable(name string, cols []rollupColumn) Table {
	t := Table{Name: name, Engine: "AggregatingMergeTree", PartitionBy: "toYYYYMM(day)",
		TTLOn: "toDateTime(day)", ShardBy: "cityHash64(workload)", Dedup: true}
	var key []string
	for _, c := range cols {
		t.Columns = append(t.Columns, ColumnDef{Name: c.name, Type: c.typ})
		if c.agg == "" {
			key = append(key, c.name)
		}
	}
	// workload first: the scoring filters by workload, then a day range.
	key[0], key[1] = key[1], key[0]
	t.OrderBy = "(" + strings.Join(key, ", ") + ")"
	return t
}

var (
	scoringDailyTable = rollupTable(ScoringDaily, scoringDailyColumns)
	usersDailyTable   = rollupTable(UsersDaily, usersDailyColumns)
)

// rollupSelect is the materialized view's SELECT over source (expressions
// may name it s).
func rollupSelect(cols []rollupColumn, source string) string {
	var sel, key []string
	for _, c := range cols {
		if c.agg == "" {
			sel = append(sel, c.expr+" AS "+c.name)
			key = append(key, c.name)
		} else {
			sel = append(sel, c.agg+" AS "+c.name)
		}
	}
	return fmt.Sprintf("SELECT %s\nFROM %s AS s\nGROUP BY %s", strings.Join(sel, ", "), source, strings.Join(key, ", "))
}

// spanRollupDDL adds a rollup of genai_spans, fills it from the spans
// already stored (the exporter migrates before it inserts), then adds its
// view. On a cluster both names are Distributed tables.
func spanRollupDDL(o SchemaOptions, t Table, cols []rollupColumn) []string {
	out := tableDDL(o, t)
	out = append(out, fmt.Sprintf("INSERT INTO %s.%s\n%s", o.Database, t.Name, rollupSelect(cols, o.Database+".genai_spans")))
	// No % in the expressions: the SELECT is its own format string.
	return append(out, viewDDL(o, t.Name+"_mv", t.Name, "genai_spans", rollupSelect(cols, "%s")))
}

func scoringRollupsDDL(o SchemaOptions) []string {
	return append(spanRollupDDL(o, scoringDailyTable, scoringDailyColumns), spanRollupDDL(o, usersDailyTable, usersDailyColumns)...)
}

// ScoringDailySource is a subquery with genai_scoring_daily's columns: the
// rollup's rows where rollupWhere holds, and one row per genai_spans row
// where rawWhere holds. The scorer reads whole days from the rollup and
// the parts of days its window cuts from the spans; without the rollup
// (rollup false: a store not yet migrated) it reads only spans.
func ScoringDailySource(db, rollupWhere, rawWhere string, rollup bool) string {
	var raw []string
	for _, c := range scoringDailyColumns {
		typ := c.typ // SimpleAggregateFunction(f, T) reads as T
		if rest, ok := strings.CutPrefix(typ, "SimpleAggregateFunction("); ok {
			_, typ, _ = strings.Cut(strings.TrimSuffix(rest, ")"), ", ")
		}
		raw = append(raw, fmt.Sprintf("CAST(%s AS %s) AS %s", c.expr, typ, c.name))
	}
	spans := fmt.Sprintf("SELECT %s FROM %s.genai_spans WHERE %s", strings.Join(raw, ", "), db, rawWhere)
	if !rollup {
		return "(" + spans + ")"
	}
	return fmt.Sprintf("(SELECT * FROM %s.%s WHERE %s UNION ALL %s)", db, ScoringDaily, rollupWhere, spans)
}

// UsersDailySource is ScoringDailySource for genai_users_daily: day,
// workload and users (a uniq state of the user ids that are not empty).
func UsersDailySource(db, rollupWhere, rawWhere string, rollup bool) string {
	spans := fmt.Sprintf("SELECT toDate(timestamp) AS day, workload, uniqStateIf(user_id, user_id != '') AS users FROM %s.genai_spans WHERE %s GROUP BY day, workload", db, rawWhere)
	if !rollup {
		return "(" + spans + ")"
	}
	return fmt.Sprintf("(SELECT day, workload, users FROM %s.%s WHERE %s UNION ALL %s)", db, UsersDaily, rollupWhere, spans)
}
