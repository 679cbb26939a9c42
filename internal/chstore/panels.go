package chstore

import (
	"fmt"
	"strings"
)

// CallsHourly is what the dashboards' panels read instead of the spans:
// per hour, tenant, workload, provider, model, operation, error type,
// data source, tool and agent, the counts and sums the panels show
// (latency comes from genai_latency_hourly). genai_usage_hourly also keys by user, which makes it nearly
// as large as genai_spans in a fleet with thousands of users.
const CallsHourly = "genai_calls_hourly"

// Expressions name the span columns through s: an aggregate's alias may
// repeat a column's name (input_tokens) that another expression reads.
var callsHourlyColumns = []rollupColumn{
	{name: "hour", typ: "DateTime", expr: "toStartOfHour(s.timestamp)"},
	{name: "tenant_id", typ: "LowCardinality(String)", expr: "s.tenant_id"},
	{name: "workload", typ: "LowCardinality(String)", expr: "s.workload"},
	{name: "provider", typ: "LowCardinality(String)", expr: "s.provider"},
	{name: "request_model", typ: "LowCardinality(String)", expr: "s.request_model"},
	{name: "operation", typ: "LowCardinality(String)", expr: "s.operation"},
	{name: "error_type", typ: "LowCardinality(String)", expr: "s.error_type"},
	{name: "data_source_id", typ: "LowCardinality(String)", expr: "s.data_source_id"},
	{name: "tool_name", typ: "LowCardinality(String)", expr: "s.tool_name"},
	{name: "agent_name", typ: "LowCardinality(String)", expr: "s.agent_name"},

	{name: "requests", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "count()"},
	{name: "errors", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.status_code = 'Error')"},
	{name: "input_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(s.input_tokens)"},
	{name: "output_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(s.output_tokens)"},
	{name: "cache_read_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(s.cache_read_tokens)"},
	{name: "cache_write_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(s.cache_write_tokens)"},
	{name: "reasoning_tokens", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(s.reasoning_tokens)"},
	{name: "cost_usd", typ: "SimpleAggregateFunction(sum, Decimal(38, 12))", agg: "sum(s.cost_usd)"},
	{name: "cost_cached_input_usd", typ: "SimpleAggregateFunction(sum, Decimal(38, 12))", agg: "sum(s.cost_cached_input_usd)"},
	// What cached tokens would have cost at the uncached input price.
	{name: "cache_savings_usd", typ: "SimpleAggregateFunction(sum, Float64)", agg: "sum(if(s.cache_read_tokens > 0 AND s.input_tokens > s.cache_read_tokens + s.cache_write_tokens, " +
		"toFloat64(s.cost_input_usd) / (s.input_tokens - s.cache_read_tokens - s.cache_write_tokens) * s.cache_read_tokens - toFloat64(s.cost_cached_input_usd), 0))"},
	{name: "unpriced", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.cost_source = 'unpriced')"},
	{name: "pricing_known", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.cost_source IN ('provider', 'computed', 'unpriced'))"},
	{name: "unpinned", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(NOT s.model_pinned)"},
	{name: "injection_flagged", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(arrayExists(f -> startsWith(f, 'injection.'), s.policy_flags))"},
	{name: "sensitive_flagged", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(arrayExists(f -> startsWith(f, 'pii.') OR startsWith(f, 'secret.'), s.policy_flags))"},
	{name: "sensitive_flagged_redacted", typ: "SimpleAggregateFunction(sum, UInt64)",
		agg: "countIf(arrayExists(f -> startsWith(f, 'pii.') OR startsWith(f, 'secret.'), s.policy_flags) AND s.content_captured IN ('redacted', 'digest', 'none'))"},
	{name: "rate_limited", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.status_code = 'Error' AND (s.error_type IN ('rate_limit', 'rate_limit_exceeded', 'quota_exceeded', '429') " +
		"OR s.attributes['aiops.error.category'] IN ('rate_limit', 'quota_exceeded')))"},
	{name: "empty_retrievals", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.retrieval_docs = 0)"},
	{name: "retrieval_docs", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(s.retrieval_docs)"},
	{name: "top_score_sum", typ: "SimpleAggregateFunction(sum, Float64)", agg: "sum(toFloat64(ifNull(s.retrieval_top_score, 0)))"},
	{name: "top_scores", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "count(s.retrieval_top_score)"},
	{name: "min_score_sum", typ: "SimpleAggregateFunction(sum, Float64)", agg: "sum(toFloat64(ifNull(s.retrieval_min_score, 0)))"},
	{name: "min_scores", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "count(s.retrieval_min_score)"},
	{name: "loops_suspected", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.attributes['aiops.agent.loop_suspected'] = 'true')"},
	{name: "max_repeated_tool_calls", typ: "SimpleAggregateFunction(max, UInt32)", agg: "max(toUInt32OrZero(s.attributes['aiops.agent.max_repeated_tool_calls']))"},
	{name: "agent_tool_calls", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "sum(toUInt64(toUInt32OrZero(s.attributes['aiops.agent.tool_calls'])))"},
}

// callsHourlyQuantiles were genai_calls_hourly's latency states until
// migration 16: sampled states that held nearly every span's duration,
// which no panel has read since migration 15 and which every insert and
// merge paid for.
var callsHourlyQuantiles = []rollupColumn{
	{name: "duration_quantiles", typ: "AggregateFunction(quantiles(0.5, 0.9, 0.95, 0.99), UInt64)", agg: "quantilesState(0.5, 0.9, 0.95, 0.99)(s.duration_ns)"},
	{name: "ttft_quantiles", typ: "AggregateFunction(quantiles(0.5, 0.95), Float64)", agg: "quantilesStateIf(0.5, 0.95)(assumeNotNull(" + ttftMs + "), s.streaming AND " + ttftMs + " IS NOT NULL)"},
}

// ttftMs is the time to first token of a streamed call, in ms, from
// whichever key the instrumentation reports.
const ttftMs = "multiIf(s.attributes['gen_ai.server.time_to_first_token'] != '', toFloat64OrNull(s.attributes['gen_ai.server.time_to_first_token']) * 1000, " +
	"s.attributes['gen_ai.response.time_to_first_chunk'] != '', toFloat64OrNull(s.attributes['gen_ai.response.time_to_first_chunk']) * 1000, " +
	"s.attributes['ai.response.msToFirstChunk'] != '', toFloat64OrNull(s.attributes['ai.response.msToFirstChunk']), toFloat64OrNull(s.attributes['ai.stream.msToFirstChunk']))"

// callsHourlyV13 is the table and view as migration 13 made them.
var callsHourlyV13 = append(callsHourlyColumns[:len(callsHourlyColumns):len(callsHourlyColumns)], callsHourlyQuantiles...)

func callsHourlyDDL(o SchemaOptions) []string {
	t := rollupTable(CallsHourly, callsHourlyV13)
	// Panels filter by tenant and workload first, then a time range.
	t.OrderBy = "(tenant_id, workload, hour, provider, request_model, operation, error_type, data_source_id, tool_name, agent_name)"
	t.PartitionBy, t.TTLOn, t.ShardBy = "toYYYYMM(hour)", "hour", "cityHash64(tenant_id, workload)"
	return spanRollupDDL(o, t, callsHourlyV13)
}

// callsHourlyWithoutQuantilesDDL points the view at the columns that stay,
// then drops the others; rows keep flowing in between (the target's
// unfed columns take their default).
func callsHourlyWithoutQuantilesDDL(o SchemaOptions) []string {
	local := ""
	if o.Cluster != "" {
		local = "_local"
	}
	out := []string{fmt.Sprintf("ALTER TABLE %s.%s_mv%s MODIFY QUERY\n%s", o.Database, CallsHourly, o.onCluster(),
		rollupSelect(callsHourlyColumns, o.Database+".genai_spans"+local))}
	tables := []string{CallsHourly + local}
	if o.Cluster != "" {
		tables = append(tables, CallsHourly) // the Distributed table
	}
	for _, t := range tables {
		drops := make([]string, len(callsHourlyQuantiles))
		for i, c := range callsHourlyQuantiles {
			drops[i] = "DROP COLUMN IF EXISTS " + c.name
		}
		out = append(out, fmt.Sprintf("ALTER TABLE %s.%s%s %s", o.Database, t, o.onCluster(), strings.Join(drops, ", ")))
	}
	return out
}

// The latency panels' rollups (migration 15). genai_calls_hourly's
// duration_quantiles and ttft_quantiles are sampled (quantiles keeps up to
// 8192 values) and split by nine keys, so a row holds a handful of calls
// and its state all of their values: a month's merge reads every span's
// duration again (0.8 s at 10M spans, about ten times that at 100M).
// These keep t-digest states (at most a few hundred centroids whatever
// the calls) over fewer keys: genai_latency_hourly per hour, tenant,
// workload and model for panels with workloads picked, and
// genai_latency_tenant_hourly per hour, tenant and model, all workloads
// together, for the panels at All workloads. ttft_calls counts the
// streamed calls with a time to first token, so panels skip the rows
// without one instead of merging their empty states.
const (
	LatencyHourly       = "genai_latency_hourly"
	LatencyTenantHourly = "genai_latency_tenant_hourly"
)

func latencyColumns(keys ...rollupColumn) []rollupColumn {
	return append(append([]rollupColumn{{name: "hour", typ: "DateTime", expr: "toStartOfHour(s.timestamp)"}}, keys...),
		rollupColumn{name: "requests", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "count()"},
		rollupColumn{name: "duration_quantiles", typ: "AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt64)",
			agg: "quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(s.duration_ns)"},
		rollupColumn{name: "ttft_calls", typ: "SimpleAggregateFunction(sum, UInt64)", agg: "countIf(s.streaming AND " + ttftMs + " IS NOT NULL)"},
		rollupColumn{name: "ttft_quantiles", typ: "AggregateFunction(quantilesTDigest(0.5, 0.95), Float64)",
			agg: "quantilesTDigestStateIf(0.5, 0.95)(assumeNotNull(" + ttftMs + "), s.streaming AND " + ttftMs + " IS NOT NULL)"},
	)
}

var (
	latencyTenant   = rollupColumn{name: "tenant_id", typ: "LowCardinality(String)", expr: "s.tenant_id"}
	latencyWorkload = rollupColumn{name: "workload", typ: "LowCardinality(String)", expr: "s.workload"}
	latencyModel    = rollupColumn{name: "request_model", typ: "LowCardinality(String)", expr: "s.request_model"}

	latencyHourlyColumns       = latencyColumns(latencyTenant, latencyWorkload, latencyModel)
	latencyTenantHourlyColumns = latencyColumns(latencyTenant, latencyModel)

	latencyHourlyTable = func() Table {
		t := rollupTable(LatencyHourly, latencyHourlyColumns)
		t.OrderBy = "(tenant_id, workload, hour, request_model)"
		t.PartitionBy, t.TTLOn, t.ShardBy = "toYYYYMM(hour)", "hour", "cityHash64(tenant_id, workload)"
		return t
	}()
	latencyTenantHourlyTable = func() Table {
		t := rollupTable(LatencyTenantHourly, latencyTenantHourlyColumns)
		t.OrderBy = "(tenant_id, hour, request_model)"
		t.PartitionBy, t.TTLOn, t.ShardBy = "toYYYYMM(hour)", "hour", "cityHash64(tenant_id)"
		return t
	}()
)

func latencyHourlyDDL(o SchemaOptions) []string {
	return append(spanRollupDDL(o, latencyHourlyTable, latencyHourlyColumns), spanRollupDDL(o, latencyTenantHourlyTable, latencyTenantHourlyColumns)...)
}
