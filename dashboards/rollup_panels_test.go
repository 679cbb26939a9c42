package dashboards

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// Proposed queries for the panels that scan genai_spans or the per-user
// genai_usage_hourly, on genai_calls_hourly (migration 13) instead. A panel
// over a time range reads the rollup for the whole hours inside the range
// and the spans for the parts of the edge hours the range cuts, so the
// answer is the spans' own. Timeseries read the rollup only when the
// interval is a whole number of hours (set the panel's min interval to 1h);
// at finer intervals they read the spans as before.
//
// TestRollupPanelsMatchSpans runs each proposal and the panel's current
// query over the reference workloads and wants the same rows.
// AIOPS_PANEL_PROPOSALS=file writes them as Markdown for review.
type panelProposal struct {
	file, title, sql, why string
	// approx: the panel estimates quantiles from samples; the proposal uses
	// the same estimator over other groupings, so it is not bit-identical.
	approx bool
	// minInterval: the panel's min interval, in seconds, that lets a
	// timeseries read the rollup.
	minInterval int
}

const (
	// The whole hours inside [from, to], and the spans outside them.
	hoursFrom   = "toStartOfHour($__fromTime - INTERVAL 1 SECOND) + INTERVAL 1 HOUR"
	hoursTo     = "toStartOfHour($__toTime)"
	wholeHours  = "hour >= " + hoursFrom + " AND hour < " + hoursTo
	edgeSpans   = "$__timeFilter(timestamp) AND (timestamp < " + hoursFrom + " OR timestamp >= " + hoursTo + ")"
	hourly      = "$__interval_s % 3600 = 0"
	tenantAll   = "$__conditionalAll(tenant_id IN (${tenant:singlequote}), $tenant)"
	workloadAll = "$__conditionalAll(workload IN (${workload:singlequote}), $workload)"
	modelAll    = "$__conditionalAll(request_model IN (${model:singlequote}), $model)"
	notCalls    = "operation NOT IN ('execute_tool', 'invoke_agent', 'create_agent', 'invoke_workflow', 'retrieval')"
	injection   = "arrayExists(f -> startsWith(f, 'injection.'), policy_flags)"
	sensitive   = "arrayExists(f -> startsWith(f, 'pii.') OR startsWith(f, 'secret.'), policy_flags)"
	ttftMs      = "multiIf(attributes['gen_ai.server.time_to_first_token'] != '', toFloat64OrNull(attributes['gen_ai.server.time_to_first_token']) * 1000, " +
		"attributes['gen_ai.response.time_to_first_chunk'] != '', toFloat64OrNull(attributes['gen_ai.response.time_to_first_chunk']) * 1000, " +
		"attributes['ai.response.msToFirstChunk'] != '', toFloat64OrNull(attributes['ai.response.msToFirstChunk']), toFloat64OrNull(attributes['ai.stream.msToFirstChunk']))"
)

// union is a stat or table panel's rows: the rollup's whole hours, then
// the cut hours' spans, each filtered by where; a branch adds its own
// conditions (the rollup's first, then the spans').
func union(rollupCols, spanCols, where string, own ...string) string {
	r, sp := branchWhere(where, own)
	return "SELECT " + rollupCols + " FROM aiops.genai_calls_hourly WHERE " + wholeHours + " AND " + r +
		" UNION ALL SELECT " + spanCols + " FROM aiops.genai_spans WHERE " + edgeSpans + " AND " + sp
}

// series is union for a timeseries: the rollup only at whole-hour intervals.
func series(rollupCols, spanCols, where string, own ...string) string {
	r, sp := branchWhere(where, own)
	return "SELECT $__timeInterval(hour) AS time, " + rollupCols + " FROM aiops.genai_calls_hourly WHERE " + wholeHours + " AND " + hourly + " AND " + r +
		" UNION ALL SELECT $__timeInterval(timestamp) AS time, " + spanCols + " FROM aiops.genai_spans WHERE $__timeFilter(timestamp) AND (timestamp < " + hoursFrom +
		" OR timestamp >= " + hoursTo + " OR NOT (" + hourly + ")) AND " + sp
}

func branchWhere(where string, own []string) (rollup, spans string) {
	rollup, spans = where, where
	if len(own) == 2 {
		rollup, spans = where+" AND "+own[0], where+" AND "+own[1]
	}
	return rollup, spans
}

// swapped is the panel's query on genai_calls_hourly instead of
// genai_usage_hourly: the same hours, filters and sums, without the split
// by user.
func swapped(file, title string) panelProposal {
	return panelProposal{file: file, title: title, why: "genai_calls_hourly holds genai_usage_hourly's columns summed over users: the same hours, filters and sums."}
}

var rollupProposals = func() []panelProposal {
	all3 := tenantAll + " AND " + workloadAll + " AND " + modelAll
	all2 := tenantAll + " AND " + workloadAll
	ps := []panelProposal{
		{file: "cost.json", title: "Unpriced calls",
			sql: "SELECT 100 * sum(u) / nullIf(sum(k), 0) AS unpriced_pct, sum(u) AS unpriced_calls FROM (" +
				union("unpriced AS u, pricing_known AS k", "toUInt64(cost_source = 'unpriced') AS u, toUInt64(cost_source IN ('provider', 'computed', 'unpriced')) AS k", all3+" AND "+notCalls) + ")",
			why: "unpriced and pricing_known count the same cost_source values per hour."},
		{file: "cost.json", title: "Savings from caching",
			sql: "SELECT workload, sum(t) AS cached_tokens, sum(c) AS cached_input_cost_usd, sum(v) AS savings_usd FROM (" +
				union("workload, cache_read_tokens AS t, cost_cached_input_usd AS c, cache_savings_usd AS v",
					"workload, cache_read_tokens AS t, toDecimal128(cost_cached_input_usd, 12) AS c, if(cache_read_tokens > 0 AND input_tokens > cache_read_tokens + cache_write_tokens, toFloat64(cost_input_usd) / (input_tokens - cache_read_tokens - cache_write_tokens) * cache_read_tokens - toFloat64(cost_cached_input_usd), 0) AS v",
					all3) + ") GROUP BY workload ORDER BY savings_usd DESC",
			why: "cache_savings_usd sums the panel's per-span expression per hour; tokens and cached cost are exact sums, savings equal up to floating-point rounding."},
		{file: "governance.json", title: "Redaction coverage",
			sql: "SELECT 100 * sum(r) / nullIf(sum(n), 0) AS redaction_pct, sum(n) AS calls_with_findings FROM (" +
				union("sensitive_flagged_redacted AS r, sensitive_flagged AS n", "toUInt64(content_captured IN ('redacted', 'digest', 'none')) AS r, toUInt64(1) AS n", all3, "sensitive_flagged > 0", sensitive) + ")",
			why: "sensitive_flagged counts the spans with a pii. or secret. flag, sensitive_flagged_redacted those of them stored redacted, digested or without content."},
		{file: "governance.json", title: "Suspected injections",
			sql: "SELECT sum(i) AS suspected_injections, 100 * suspected_injections / nullIf(sum(n), 0) AS injection_pct FROM (" +
				union("injection_flagged AS i, requests AS n", "toUInt64("+injection+") AS i, toUInt64(1) AS n", all3) + ")",
			why: "injection_flagged counts the spans with an injection. flag; requests counts every span."},
		{file: "governance.json", title: "Unpinned model calls",
			sql: "SELECT 100 * sum(u) / nullIf(sum(n), 0) AS unpinned_pct, sum(u) AS unpinned_calls FROM (" +
				union("unpinned AS u, requests AS n", "toUInt64(NOT model_pinned) AS u, toUInt64(1) AS n", all3+" AND "+notCalls+" AND request_model != ''") + ")",
			why: "unpinned counts the spans without model_pinned; operation and request_model are keys of the rollup."},
		{file: "governance.json", title: "Suspected injections by workload", minInterval: 3600,
			sql: "SELECT time, workload, sum(i) AS suspected_injections FROM (" +
				series("workload, injection_flagged AS i", "workload, toUInt64("+injection+") AS i", all3) + ") GROUP BY time, workload ORDER BY time, workload",
			why: "At whole-hour intervals an hour falls in one interval, so summing hours per interval counts the same spans."},
		{file: "governance.json", title: "Unpinned models",
			sql: "SELECT workload, request_model, sum(n) AS calls, sum(u) AS unpinned_calls, 100 * unpinned_calls / calls AS unpinned_pct FROM (" +
				union("workload, request_model, requests AS n, unpinned AS u", "workload, request_model, toUInt64(1) AS n, toUInt64(NOT model_pinned) AS u", all3+" AND "+notCalls+" AND request_model != ''") +
				") GROUP BY workload, request_model HAVING unpinned_calls > 0 ORDER BY unpinned_calls DESC",
			why: "requests and unpinned per workload and model, as the panel counts them."},
		{file: "quality.json", title: "Error types",
			sql: "SELECT if(e = '', '(unclassified)', e) AS error_type, sum(n) AS errors, 100 * sum(n) / sum(sum(n)) OVER () AS share_pct FROM (" +
				union("error_type AS e, errors AS n", "error_type AS e, toUInt64(1) AS n", all3, "errors > 0", "status_code = 'Error'") +
				") GROUP BY error_type HAVING errors > 0 ORDER BY errors DESC",
			why: "error_type is a key of the rollup and errors counts status Error; rows without errors are left out, as the panel never sees them."},
		{file: "quality.json", title: "Rate limits", minInterval: 3600,
			sql: "SELECT time, provider, sum(r) AS rate_limited FROM (" +
				series("provider, rate_limited AS r", "provider, toUInt64(error_type IN ('rate_limit', 'rate_limit_exceeded', 'quota_exceeded', '429') OR attributes['aiops.error.category'] IN ('rate_limit', 'quota_exceeded')) AS r",
					all3, "errors > 0", "status_code = 'Error'") + ") GROUP BY time, provider ORDER BY time, provider",
			why: "rate_limited counts the failed spans the panel counts; an hour and provider has a row with errors > 0 exactly when a failed span makes the panel show it."},
		{file: "quality.json", title: "Time to first token", minInterval: 3600, approx: true,
			sql: "SELECT time, request_model, q[1] AS ttft_p50_ms, q[2] AS ttft_p95_ms FROM (SELECT time, request_model, quantilesMerge(0.5, 0.95)(s) AS q FROM (" +
				series("request_model, ttft_quantiles AS s", "request_model, quantilesStateIf(0.5, 0.95)(assumeNotNull("+ttftMs+"), streaming AND "+ttftMs+" IS NOT NULL) AS s",
					all3) + " GROUP BY time, request_model) GROUP BY time, request_model HAVING NOT isNaN(q[1])) ORDER BY time, request_model",
			why: "The same sampled quantile estimator (exact while an interval holds fewer than 8192 streamed calls of a model) over hourly states."},
		{file: "rag-agents.json", title: "Empty-retrieval rate", minInterval: 3600,
			sql: "SELECT time, workload, 100 * sum(e) / sum(n) AS empty_retrieval_pct FROM (" +
				series("workload, empty_retrievals AS e, requests AS n", "workload, toUInt64(retrieval_docs = 0) AS e, toUInt64(1) AS n", all2+" AND operation = 'retrieval'") +
				") GROUP BY time, workload ORDER BY time, workload",
			why: "empty_retrievals and requests of retrieval spans per hour."},
		{file: "rag-agents.json", title: "Retrieval scores", minInterval: 3600,
			sql: "SELECT time, data_source_id, sum(ts) / nullIf(sum(tn), 0) AS avg_top_score, sum(ms) / nullIf(sum(mn), 0) AS avg_min_score FROM (" +
				series("data_source_id, top_score_sum AS ts, top_scores AS tn, min_score_sum AS ms, min_scores AS mn",
					"data_source_id, toFloat64(ifNull(retrieval_top_score, 0)) AS ts, toUInt64(retrieval_top_score IS NOT NULL) AS tn, toFloat64(ifNull(retrieval_min_score, 0)) AS ms, toUInt64(retrieval_min_score IS NOT NULL) AS mn",
					all2+" AND operation = 'retrieval'") + ") GROUP BY time, data_source_id ORDER BY time, data_source_id",
			why: "avg is the sum of the scores that are set over their count; equal up to floating-point rounding."},
		{file: "rag-agents.json", title: "Retrieval sources",
			sql: "SELECT data_source_id, sum(n) AS retrievals, sum(d) / retrievals AS avg_docs, sum(ts) / nullIf(sum(tn), 0) AS avg_top_score, 100 * sum(e) / retrievals AS empty_pct FROM (" +
				union("data_source_id, requests AS n, retrieval_docs AS d, top_score_sum AS ts, top_scores AS tn, empty_retrievals AS e",
					"data_source_id, toUInt64(1) AS n, toUInt64(retrieval_docs) AS d, toFloat64(ifNull(retrieval_top_score, 0)) AS ts, toUInt64(retrieval_top_score IS NOT NULL) AS tn, toUInt64(retrieval_docs = 0) AS e",
					all2+" AND operation = 'retrieval'") + ") GROUP BY data_source_id ORDER BY retrievals DESC",
			why: "Counts and sums of retrieval spans per data source; avg is sum over count."},
		{file: "rag-agents.json", title: "Tool error rates",
			sql: "SELECT tool_name, sum(n) AS calls, sum(e) AS errors, 100 * errors / calls AS error_pct FROM (" +
				union("tool_name, requests AS n, errors AS e", "tool_name, toUInt64(1) AS n, toUInt64(status_code = 'Error') AS e", all2+" AND operation = 'execute_tool'") +
				") GROUP BY tool_name ORDER BY error_pct DESC, calls DESC",
			why: "requests and errors of tool spans per tool."},
		{file: "rag-agents.json", title: "Tool error rate over time", minInterval: 3600,
			sql: "SELECT time, tool_name, 100 * sum(e) / sum(n) AS error_pct FROM (" +
				series("tool_name, requests AS n, errors AS e", "tool_name, toUInt64(1) AS n, toUInt64(status_code = 'Error') AS e", all2+" AND operation = 'execute_tool'") +
				") GROUP BY time, tool_name ORDER BY time, tool_name",
			why: "requests and errors of tool spans per hour and tool."},
		{file: "rag-agents.json", title: "Suspected loops",
			sql: "SELECT agent_name, sum(n) AS runs, sum(l) AS suspected_loops, 100 * suspected_loops / runs AS loop_pct, max(m) AS max_repeated_tool_calls, sum(c) / runs AS avg_tool_calls FROM (" +
				union("agent_name, requests AS n, loops_suspected AS l, max_repeated_tool_calls AS m, agent_tool_calls AS c",
					"agent_name, toUInt64(1) AS n, toUInt64(attributes['aiops.agent.loop_suspected'] = 'true') AS l, toUInt32OrZero(attributes['aiops.agent.max_repeated_tool_calls']) AS m, toUInt64(toUInt32OrZero(attributes['aiops.agent.tool_calls'])) AS c",
					all2+" AND operation = 'invoke_agent'") + ") GROUP BY agent_name ORDER BY suspected_loops DESC, runs DESC",
			why: "Counts, the maximum and the sum of the agent attributes per agent; avg is sum over count."},
	}
	for _, title := range []string{"Total spend", "Requests", "Cost per request", "Spend by workload", "Spend by model", "Spend by provider",
		"Cost per request by workload and model", "Top tenants", "Forecast to the end of the month"} {
		ps = append(ps, swapped("cost.json", title))
	}
	ps = append(ps, swapped("quality.json", "Error rate by workload"))
	for _, title := range []string{"Latency p50 / p95 / p99 by model", "Latency by model"} {
		p := swapped("quality.json", title)
		p.approx = true
		p.why = "The same sampled quantile estimator (exact while a group holds fewer than 8192 calls) over states that are not split by user."
		ps = append(ps, p)
	}
	return ps
}()

// proposalSQL is the proposal's query, or for a swapped panel the panel's
// own on genai_calls_hourly.
func proposalSQL(t *testing.T, ds []*dashboard, p panelProposal) (current, proposed string) {
	t.Helper()
	for _, d := range ds {
		if d.file != p.file {
			continue
		}
		for _, pn := range d.Panels {
			if pn.Title == p.title && len(pn.Targets) > 0 {
				current = pn.Targets[0].RawSQL
			}
		}
	}
	if current == "" {
		t.Fatalf("%s: no panel %q", p.file, p.title)
	}
	proposed = p.sql
	if proposed == "" {
		if !strings.Contains(current, "aiops.genai_usage_hourly") {
			t.Fatalf("%s %q: does not read genai_usage_hourly", p.file, p.title)
		}
		proposed = strings.ReplaceAll(current, "aiops.genai_usage_hourly", "aiops.genai_calls_hourly")
	}
	return current, proposed
}

func TestRollupPanelsMatchSpans(t *testing.T) {
	needStore(t)
	ds := loadDashboards(t)
	opts := map[string]map[string][]string{}
	for _, d := range ds {
		opts[d.file] = variableOptions(t, d)
	}
	odd := 3*time.Hour + 17*time.Minute + 29*time.Second
	ranges := []struct {
		name     string
		from, to time.Time
	}{
		{"whole hours", simStart, simEnd},
		{"cut hours", simStart.Add(odd), simEnd.Add(-odd)},
		{"a cut day", simEnd.Add(-30*time.Hour - odd), simEnd.Add(-6*time.Hour - odd)},
		{"under an hour", simEnd.Add(-50*time.Hour + 7*time.Minute), simEnd.Add(-49*time.Hour - 3*time.Minute)},
	}
	picked := map[string][]string{"tenant": {"acme"}, "workload": {"agent-platform"}}
	var md strings.Builder
	md.WriteString(`# Issue 20: panels proposed onto genai_calls_hourly

genai_calls_hourly (migration 13, internal/chstore/panels.go) holds per hour, tenant, workload, provider, model, operation, error type, data source, tool and agent what these panels count and sum. Each proposal below is checked against the panel's current query on the reference workloads, for ranges on and off hour boundaries, intervals of 1 minute, 1 hour and 6 hours, all variables at All and one tenant and workload picked: ` + "`go test ./dashboards -run TestRollupPanelsMatchSpans`" + ` (the proposals live in dashboards/rollup_panels_test.go; that test also wrote this file).

How: a panel reads the rollup for the whole hours inside its range and genai_spans for the parts of the two edge hours the range cuts, so its answer is the spans' own, not the hour-rounded one. Timeseries read the rollup only when ` + "`$__interval_s`" + ` is a whole number of hours; set their min interval to 1h (` + "`\"interval\": \"1h\"`" + `), as the genai_usage_hourly timeseries already behave, or they read the spans as before.

Also:
- The ` + "`model`" + ` variable of every dashboard: ` + "`SELECT DISTINCT request_model FROM aiops.genai_calls_hourly WHERE request_model != '' ORDER BY request_model`" + ` (the same models; genai_usage_hourly is as large as the spans in a fleet with thousands of users).
- "Top users" stays on genai_usage_hourly: it needs user_id.
- Not proposed: the maturity dashboard (maturity_scores and genai_coverage_daily are small), the reconciliation panels (genai_reconciliation_daily reads genai_spend_daily), and the genai_events panels (budgets, policy events, evaluations, feedback: a few events per hundred spans).
- Latency and time-to-first-token panels keep their sampled quantile estimator (quantiles/quantile keep at most 8192 samples): the proposal merges hourly states, so it equals the spans' answer while a group holds fewer than 8192 calls and is an estimate of the same quantile beyond.
`)
	for _, p := range rollupProposals {
		current, proposed := proposalSQL(t, ds, p)
		for _, rg := range ranges {
			for _, iv := range []int{60, 3600, 21600} {
				for _, sel := range []map[string][]string{nil, picked} {
					sc := scope{from: rg.from, to: rg.to, intervalS: max(iv, p.minInterval), sel: sel, options: opts[p.file]}
					name := fmt.Sprintf("%s/%s/%s/%ds/picked=%v", p.file, p.title, rg.name, sc.intervalS, sel != nil)
					t.Run(name, func(t *testing.T) {
						a, err := expand(current, sc)
						if err != nil {
							t.Fatal(err)
						}
						b, err := expand(proposed, sc)
						if err != nil {
							t.Fatal(err)
						}
						want, got := query(t, a), query(t, b)
						if strings.Join(want.Columns, ",") != strings.Join(got.Columns, ",") {
							t.Fatalf("columns %v, want %v", got.Columns, want.Columns)
						}
						w, g := rowKeys(want.Data, p.approx), rowKeys(got.Data, p.approx)
						if strings.Join(w, "\n") != strings.Join(g, "\n") {
							t.Errorf("rows differ\n got %.800s\nwant %.800s", strings.Join(g, " | "), strings.Join(w, " | "))
						}
					})
				}
			}
		}
		fmt.Fprintf(&md, "\n## %s: %s\n\nWhy the answer is the same: %s\n", p.file, p.title, p.why)
		if p.minInterval > 0 {
			fmt.Fprintf(&md, "\nSet the panel's min interval (`\"interval\": \"1h\"`): at finer intervals it reads the spans as before.\n")
		}
		fmt.Fprintf(&md, "\nOld:\n\n```sql\n%s\n```\n\nNew:\n\n```sql\n%s\n```\n", current, proposed)
	}
	if out := os.Getenv("AIOPS_PANEL_PROPOSALS"); out != "" {
		if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// rowKeys renders rows for comparison, sorted (ties in ORDER BY may come
// in either order); floats to 9 significant digits, as sums over hours
// add in another order than sums over spans. Approximate panels keep only
// their non-float cells.
func rowKeys(rows [][]any, approx bool) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			switch x := v.(type) {
			case float64:
				if approx {
					cells[i] = "~"
				} else {
					cells[i] = roundSig(x)
				}
			case *float64:
				switch {
				case x == nil:
					cells[i] = "NULL"
				case approx:
					cells[i] = "~"
				default:
					cells[i] = roundSig(*x)
				}
			case []float64:
				cells[i] = "~"
			case string:
				cells[i] = x
			case time.Time:
				cells[i] = x.UTC().String()
			default:
				cells[i] = fmt.Sprint(num(v)) // integers and decimals: exact sums
			}
		}
		out = append(out, strings.Join(cells, ","))
	}
	sort.Strings(out)
	return out
}

func roundSig(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("%.9g", x)
}
