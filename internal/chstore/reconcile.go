package chstore

import (
	"fmt"
	"strings"
)

// ReconciliationView holds spend from three sources side by side, per day
// × provider × model × workload: what the provider invoiced
// (provider_usage_latest, attributed through the receiver's project and
// workspace mapping), what the spans priced (genai_spans) and what the
// unsampled token metrics counted (genai_metrics). Coverage ratios tell
// sampling and missing instrumentation apart; price drift compares what
// the provider billed with what our catalog charged for the same tokens.
const ReconciliationView = "genai_reconciliation_daily"

// modelKey folds a dated snapshot id into its alias, because spans often
// carry only the requested alias while the provider bills the snapshot:
// gpt-4o-2024-08-06 and gpt-4o, claude-sonnet-4-20250514 and claude-sonnet-4.
const modelKey = `replaceRegexpOne(%s, '-(\\d{4}-\\d{2}-\\d{2}|\\d{8})$', '')`

func reconcileModel(col string) string { return fmt.Sprintf(modelKey, col) }

// Tokens are compared as the semantic conventions count them: input
// includes cache reads and writes (the providers report the uncached part
// apart), output includes reasoning.
const reconcileSelect = `SELECT * EXCEPT (_rate_in, _rate_read, _rate_write, _rate_out) FROM (SELECT
    day, provider, model, workload,
    arraySort(groupUniqArrayArray(20)(projects)) AS provider_projects,
    sum(inv_input) AS invoiced_input_tokens,
    sum(inv_output) AS invoiced_output_tokens,
    invoiced_input_tokens + invoiced_output_tokens AS invoiced_tokens,
    sum(inv_requests) AS invoiced_requests,
    sum(inv_cost) AS invoiced_cost_usd,
    sum(span_input) AS span_input_tokens,
    sum(span_output) AS span_output_tokens,
    span_input_tokens + span_output_tokens AS span_tokens,
    sum(span_calls) AS span_calls,
    sum(span_cost) AS span_cost_usd,
    sum(metric_input) AS metric_input_tokens,
    sum(metric_output) AS metric_output_tokens,
    metric_input_tokens + metric_output_tokens AS metric_tokens,
    sum(metric_calls) AS metric_calls,
    span_tokens / nullIf(invoiced_tokens, 0) AS span_invoice_coverage,
    metric_tokens / nullIf(invoiced_tokens, 0) AS metric_invoice_coverage,
    span_tokens / nullIf(metric_tokens, 0) AS span_metric_coverage,
    -- Sampled traces: the spans' cost scaled by what the metrics counted.
    if(span_tokens > 0 AND metric_tokens > span_tokens,
       toDecimal128(span_cost_usd, 12) * metric_tokens / span_tokens,
       toDecimal128(span_cost_usd, 12)) AS estimated_cost_usd,
    metric_tokens > span_tokens AND span_tokens > 0 AS sampled,
    -- Invoiced tokens that neither spans nor metrics saw, and their share of the bill.
    invoiced_tokens - least(invoiced_tokens, greatest(span_tokens, metric_tokens)) AS unobserved_tokens,
    if(invoiced_tokens = 0, toDecimal128(invoiced_cost_usd, 12),
       toDecimal128(invoiced_cost_usd, 12) * unobserved_tokens / invoiced_tokens) AS unobserved_cost_usd,
    CAST(workload, 'String') = '' AS uninstrumented,
    -- Our catalog's price of the invoiced tokens, at the unit prices our
    -- spans of this model were charged that day (any workload).
    sum(sum(pr_uncached_cost)) OVER m / nullIf(sum(sum(pr_uncached)) OVER m, 0) AS _rate_in,
    ifNull(sum(sum(pr_read_cost)) OVER m / nullIf(sum(sum(pr_read)) OVER m, 0), _rate_in) AS _rate_read,
    ifNull(sum(sum(pr_write_cost)) OVER m / nullIf(sum(sum(pr_write)) OVER m, 0), _rate_in) AS _rate_write,
    sum(sum(pr_output_cost)) OVER m / nullIf(sum(sum(pr_output)) OVER m, 0) AS _rate_out,
    if(_rate_in IS NULL OR _rate_out IS NULL, NULL,
       toDecimal128(sum(inv_uncached) * _rate_in + sum(inv_read) * _rate_read + sum(inv_write) * _rate_write + invoiced_output_tokens * _rate_out, 12)) AS catalog_cost_usd,
    -- Invoiced cost per token against the catalog's: +0.1 means billed a tenth above.
    if(catalog_cost_usd > 0 AND invoiced_cost_usd > 0, toFloat64(invoiced_cost_usd) / toFloat64(catalog_cost_usd) - 1, NULL) AS price_drift
FROM
(
    SELECT toDate(bucket_start) AS day, provider,
        %[2]s AS model, workload,
        [concat(provider, ':', if(project_id = '', 'default', project_id))] AS projects,
        if(kind = 'usage', input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_write_30m_tokens + cache_write_12h_tokens, 0) AS inv_input,
        if(kind = 'usage', input_tokens, 0) AS inv_uncached,
        if(kind = 'usage', cache_read_tokens, 0) AS inv_read,
        if(kind = 'usage', cache_write_5m_tokens + cache_write_1h_tokens + cache_write_30m_tokens + cache_write_12h_tokens, 0) AS inv_write,
        if(kind = 'usage', output_tokens, 0) AS inv_output,
        if(kind = 'usage', requests, 0) AS inv_requests,
        if(kind = 'cost', toDecimal128(cost_usd, 12), toDecimal128(0, 12)) AS inv_cost,
        0 AS span_input, 0 AS span_output, 0 AS span_calls, toDecimal128(0, 12) AS span_cost,
        0 AS pr_uncached, toDecimal128(0, 12) AS pr_uncached_cost, 0 AS pr_read, toDecimal128(0, 12) AS pr_read_cost,
        0 AS pr_write, toDecimal128(0, 12) AS pr_write_cost, 0 AS pr_output, toDecimal128(0, 12) AS pr_output_cost,
        0 AS metric_input, 0 AS metric_output, 0 AS metric_calls
    FROM %[1]s.provider_usage_latest
    UNION ALL
%[3]s
    UNION ALL
    SELECT toDate(timestamp), provider, %[4]s, workload, [],
        0, 0, 0, 0, 0, 0, toDecimal128(0, 12),
        0, 0, 0, toDecimal128(0, 12),
        0, toDecimal128(0, 12), 0, toDecimal128(0, 12), 0, toDecimal128(0, 12), 0, toDecimal128(0, 12),
        toUInt64(if(token_type IN ('input', 'prompt'), ifNull(sum, 0), 0)),
        toUInt64(if(token_type IN ('output', 'completion'), ifNull(sum, 0), 0)),
        if(token_type IN ('input', 'prompt'), count, 0)
    FROM %[1]s.genai_metrics
    -- Delta points add up; cumulative ones are running totals (the shipped
    -- configs convert them with cumulativetodelta).
    WHERE metric_name = 'gen_ai.client.token.usage' AND temporality = 'delta' AND provider != ''
)
GROUP BY day, provider, model, workload
WINDOW m AS (PARTITION BY day, provider, model))`

// spendDailyTable is the span side of the reconciliation, summed per day
// as spans arrive, so the view reads a few rows per workload and model
// instead of every span (it stays as fast at 100M spans as at 1M).
var spendDailyTable = Table{
	Name: "genai_spend_daily", Engine: "SummingMergeTree",
	Columns: []ColumnDef{
		{Name: "day", Type: "Date"},
		{Name: "provider", Type: "LowCardinality(String)"},
		{Name: "model", Type: "LowCardinality(String)"}, // the alias key, see modelKey
		{Name: "workload", Type: "LowCardinality(String)"},
		{Name: "span_input", Type: "UInt64"},
		{Name: "span_output", Type: "UInt64"},
		{Name: "span_calls", Type: "UInt64"},
		{Name: "span_cost", Type: "Decimal(38, 12)"},
		// Priced by our catalog (cost_source computed), per token kind: the
		// catalog's unit prices for the drift.
		{Name: "pr_uncached", Type: "UInt64"},
		{Name: "pr_uncached_cost", Type: "Decimal(38, 12)"},
		{Name: "pr_read", Type: "UInt64"},
		{Name: "pr_read_cost", Type: "Decimal(38, 12)"},
		{Name: "pr_write", Type: "UInt64"},
		{Name: "pr_write_cost", Type: "Decimal(38, 12)"},
		{Name: "pr_output", Type: "UInt64"},
		{Name: "pr_output_cost", Type: "Decimal(38, 12)"},
	},
	PartitionBy: "toYYYYMM(day)",
	OrderBy:     "(workload, provider, model, day)",
	TTLOn:       "day", ShardBy: "cityHash64(workload)",
}

const spendDailySelect = `SELECT toDate(timestamp) AS day, provider, %[2]s AS model, workload,
    input_tokens AS span_input, output_tokens AS span_output, input_tokens + output_tokens > 0 AS span_calls,
    toDecimal128(cost_usd, 12) AS span_cost,
    if(cost_source = 'computed', input_tokens - least(input_tokens, cache_read_tokens + cache_write_tokens), 0) AS pr_uncached,
    if(cost_source = 'computed', toDecimal128(cost_input_usd, 12), toDecimal128(0, 12)) AS pr_uncached_cost,
    if(cost_source = 'computed', cache_read_tokens, 0) AS pr_read,
    if(cost_source = 'computed', toDecimal128(cost_cached_input_usd, 12), toDecimal128(0, 12)) AS pr_read_cost,
    if(cost_source = 'computed', cache_write_tokens, 0) AS pr_write,
    if(cost_source = 'computed', toDecimal128(cost_cache_write_usd, 12), toDecimal128(0, 12)) AS pr_write_cost,
    if(cost_source = 'computed', output_tokens, 0) AS pr_output,
    if(cost_source = 'computed', toDecimal128(cost_output_usd + cost_reasoning_usd, 12), toDecimal128(0, 12)) AS pr_output_cost
FROM %[1]s
WHERE provider != ''`

// spendDailyDDL adds the rollup, fills it from the spans already stored
// (the exporter migrates before it inserts, so none arrive in between),
// then points the view at it.
func spendDailyDDL(o SchemaOptions) []string {
	model := reconcileModel("if(response_model != '', response_model, request_model)")
	out := tableDDL(o, spendDailyTable)
	// On a cluster both names are Distributed tables: each span's row goes
	// to the shard its workload hashes to.
	out = append(out, fmt.Sprintf("INSERT INTO %s.%s\n%s", o.Database, spendDailyTable.Name,
		fmt.Sprintf(spendDailySelect, o.Database+".genai_spans", model)))
	out = append(out, viewDDL(o, "genai_spend_daily_mv", spendDailyTable.Name, "genai_spans", strings.Replace(spendDailySelect, "%[2]s", model, 1)))
	return append(out, reconcileViewDDL(o, true)...)
}

// The span side of the view: raw spans (migration 10), then the rollup.
const (
	spansBranch = `    SELECT toDate(timestamp), provider, %[2]s, workload, [],
        0, 0, 0, 0, 0, 0, toDecimal128(0, 12),
        input_tokens, output_tokens, input_tokens + output_tokens > 0, toDecimal128(cost_usd, 12),
        if(cost_source = 'computed', input_tokens - least(input_tokens, cache_read_tokens + cache_write_tokens), 0), if(cost_source = 'computed', toDecimal128(cost_input_usd, 12), toDecimal128(0, 12)),
        if(cost_source = 'computed', cache_read_tokens, 0), if(cost_source = 'computed', toDecimal128(cost_cached_input_usd, 12), toDecimal128(0, 12)),
        if(cost_source = 'computed', cache_write_tokens, 0), if(cost_source = 'computed', toDecimal128(cost_cache_write_usd, 12), toDecimal128(0, 12)),
        if(cost_source = 'computed', output_tokens, 0), if(cost_source = 'computed', toDecimal128(cost_output_usd + cost_reasoning_usd, 12), toDecimal128(0, 12)),
        0, 0, 0
    FROM %[1]s.genai_spans
    WHERE provider != ''`
	rollupBranch = `    SELECT day, provider, model, workload, [],
        0, 0, 0, 0, 0, 0, toDecimal128(0, 12),
        span_input, span_output, span_calls, span_cost,
        pr_uncached, pr_uncached_cost, pr_read, pr_read_cost, pr_write, pr_write_cost, pr_output, pr_output_cost,
        0, 0, 0
    FROM %[1]s.genai_spend_daily`
)

func reconcileDDL(o SchemaOptions) []string { return reconcileViewDDL(o, false) }

func reconcileViewDDL(o SchemaOptions, rollup bool) []string {
	spanModel := reconcileModel("if(response_model != '', response_model, request_model)")
	branch, create := fmt.Sprintf(spansBranch, o.Database, spanModel), "CREATE VIEW IF NOT EXISTS"
	if rollup {
		branch, create = fmt.Sprintf(rollupBranch, o.Database), "CREATE OR REPLACE VIEW"
	}
	sel := fmt.Sprintf(reconcileSelect, o.Database,
		reconcileModel("if(model = '' AND provider = 'openai' AND kind = 'cost', trimBoth(splitByChar(',', line_item)[1]), model)"),
		branch, spanModel)
	return []string{fmt.Sprintf("%s %s.%s%s AS\n%s", create, o.Database, ReconciliationView, o.onCluster(), sel)}
}
