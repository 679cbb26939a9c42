package chstore

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// The reconciliation view on hand-made rows of all three sources, with
// every expected figure worked out by hand from the gpt-4o list prices
// ($2.50 per 1M input, $1.25 cached, $10 output) and a Claude model the
// provider bills 10% above what the spans were charged ($3 / $15 per 1M).
func TestReconciliationView(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "rc"}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		// support-bot's project: 3M uncached + 1M cached input, 1M output, billed at list price.
		`INSERT INTO rc.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, input_tokens, cache_read_tokens, output_tokens, requests, workload, poll_time)
		 VALUES ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'usage', 'completions', 'proj_bot', 'gpt-4o-2024-08-06', 3000000, 1000000, 1000000, 400, 'support-bot', now64())`,
		`INSERT INTO rc.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, line_item, cost_usd, cost_amount, currency, workload, poll_time)
		 VALUES ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06, input', 8.75, 8.75, 'USD', 'support-bot', now64()),
		        ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06, output', 10, 10, 'USD', 'support-bot', now64())`,
		// A project nobody mapped: spend no telemetry claims.
		`INSERT INTO rc.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, input_tokens, output_tokens, requests, poll_time)
		 VALUES ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'usage', 'completions', 'proj_x', 'gpt-4o-2024-08-06', 200000, 50000, 10, now64())`,
		`INSERT INTO rc.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, line_item, cost_usd, cost_amount, currency, poll_time)
		 VALUES ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_x', 'gpt-4o-2024-08-06, input', 0.5, 0.5, 'USD', now64()),
		        ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_x', 'gpt-4o-2024-08-06, output', 0.5, 0.5, 'USD', now64())`,
		// kb-rag on Claude: 400k input, 80k output, billed at $3.30 / $16.50.
		`INSERT INTO rc.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, input_tokens, output_tokens, requests, cost_usd, workload, poll_time)
		 VALUES ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'anthropic', 'usage', 'messages', 'wrk_1', 'claude-sonnet-4-20250514', 400000, 80000, 40, 0, 'kb-rag', now64()),
		        ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'anthropic', 'cost', 'cost_report', 'wrk_1', 'claude-sonnet-4-20250514', 0, 0, 0, 2.64, 'kb-rag', now64())`,
		// support-bot's spans, one trace in four kept: 1M input (250k cached),
		// 250k output; $1.875 + $0.3125 + $2.50 = $4.6875.
		`INSERT INTO rc.genai_spans (timestamp, provider, request_model, response_model, workload, operation, input_tokens, cache_read_tokens, output_tokens, cost_usd, cost_input_usd, cost_cached_input_usd, cost_output_usd, cost_source)
		 VALUES ('2026-11-20 10:00:00', 'openai', 'gpt-4o', 'gpt-4o-2024-08-06', 'support-bot', 'chat', 600000, 250000, 150000, 2.6875, 0.875, 0.3125, 1.5, 'computed'),
		        ('2026-11-20 11:00:00', 'openai', 'gpt-4o', '', 'support-bot', 'chat', 400000, 0, 100000, 2.0, 1.0, 0, 1.0, 'computed')`,
		// kb-rag's spans: 100k input, 20k output at $3 / $15: $0.60.
		`INSERT INTO rc.genai_spans (timestamp, provider, request_model, response_model, workload, operation, input_tokens, output_tokens, cost_usd, cost_input_usd, cost_output_usd, cost_source)
		 VALUES ('2026-11-20 12:00:00', 'anthropic', 'claude-sonnet-4', 'claude-sonnet-4-20250514', 'kb-rag', 'chat', 100000, 20000, 0.6, 0.3, 0.3, 'computed')`,
		// support-bot's unsampled metrics: 4M input, 1M output over 400 calls.
		`INSERT INTO rc.genai_metrics (timestamp, metric_name, metric_type, temporality, workload, provider, request_model, response_model, token_type, count, sum)
		 VALUES ('2026-11-20 12:00:00', 'gen_ai.client.token.usage', 'histogram', 'delta', 'support-bot', 'openai', 'gpt-4o', 'gpt-4o-2024-08-06', 'input', 400, 4000000),
		        ('2026-11-20 12:00:00', 'gen_ai.client.token.usage', 'histogram', 'delta', 'support-bot', 'openai', 'gpt-4o', 'gpt-4o-2024-08-06', 'output', 400, 1000000),
		        ('2026-11-20 12:00:00', 'gen_ai.client.token.usage', 'histogram', 'cumulative', 'support-bot', 'openai', 'gpt-4o', 'gpt-4o-2024-08-06', 'output', 900, 9000000)`,
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	rows, err := s.Query(ctx, `SELECT workload, provider, model, invoiced_tokens, invoiced_cost_usd, span_tokens, span_cost_usd, metric_tokens,
		span_invoice_coverage, metric_invoice_coverage, span_metric_coverage, estimated_cost_usd, sampled, unobserved_cost_usd, uninstrumented,
		catalog_cost_usd, price_drift, provider_projects, span_calls, metric_calls
		FROM rc.genai_reconciliation_daily WHERE day = '2026-11-20' ORDER BY provider, workload`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 3 {
		t.Fatalf("%d rows, want 3: %v", len(rows.Data), rows.Data)
	}
	dec := func(v any) string { return v.(decimal.Decimal).String() }
	f := func(v any) float64 {
		if p, ok := v.(*float64); ok {
			if p == nil {
				return math.NaN()
			}
			return *p
		}
		return v.(float64)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// anthropic kb-rag: coverage 120k/480k = 25% of the invoice, no metrics;
	// catalog $1.20 + $1.20 = $2.40, billed $2.64: drift +10%.
	kb := rows.Data[0]
	if kb[0] != "kb-rag" || kb[2] != "claude-sonnet-4" || kb[3] != uint64(480000) || dec(kb[4]) != "2.64" || kb[5] != uint64(120000) || dec(kb[6]) != "0.6" {
		t.Errorf("kb-rag row %v", kb)
	}
	near("kb-rag span_invoice_coverage", f(kb[8]), 0.25)
	near("kb-rag catalog_cost_usd", mustFloat(t, kb[15]), 2.4)
	near("kb-rag price_drift", f(kb[16]), 0.1)
	// openai, unmapped project: $1.00 all unobserved, uninstrumented.
	un := rows.Data[1]
	if un[0] != "" || un[3] != uint64(250000) || dec(un[4]) != "1" || dec(un[13]) != "1" || un[14] != true && un[14] != uint8(1) {
		t.Errorf("uninstrumented row %v", un)
	}
	if p := un[17].([]string); len(p) != 1 || p[0] != "openai:proj_x" {
		t.Errorf("uninstrumented projects %v", p)
	}
	// openai support-bot: invoice 5M tokens, $18.75; spans 1.25M (25%),
	// $4.6875; metrics 5M (100%, the cumulative point not counted);
	// estimate $4.6875 × 4 = $18.75; nothing unobserved; catalog
	// 3M × 2.5 + 1M × 1.25 + 1M × 10 = $18.75, so no drift.
	sb := rows.Data[2]
	if sb[0] != "support-bot" || sb[2] != "gpt-4o" || sb[3] != uint64(5000000) || dec(sb[4]) != "18.75" || sb[5] != uint64(1250000) || dec(sb[6]) != "4.6875" || sb[7] != uint64(5000000) {
		t.Errorf("support-bot row %v", sb)
	}
	near("support-bot span_invoice_coverage", f(sb[8]), 0.25)
	near("support-bot metric_invoice_coverage", f(sb[9]), 1)
	near("support-bot span_metric_coverage", f(sb[10]), 0.25)
	if dec(sb[11]) != "18.75" || dec(sb[13]) != "0" {
		t.Errorf("support-bot estimated %s unobserved %s, want 18.75 and 0", dec(sb[11]), dec(sb[13]))
	}
	near("support-bot catalog_cost_usd", mustFloat(t, sb[15]), 18.75)
	near("support-bot price_drift", f(sb[16]), 0)
	if sb[18] != uint64(2) || sb[19] != uint64(400) {
		t.Errorf("support-bot calls: spans %v metrics %v, want 2 and 400", sb[18], sb[19])
	}
}

func mustFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case decimal.Decimal:
		return x.InexactFloat64()
	case *decimal.Decimal:
		if x != nil {
			return x.InexactFloat64()
		}
	}
	t.Fatalf("not a decimal: %#v", v)
	return 0
}

// Migration 11 fills the span rollup from spans stored before it: its
// backfill gives the view the same figures as the rollup's own view.
func TestSpendDailyBackfill(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	o := SchemaOptions{Database: "rcb"}
	if _, err := Migrate(ctx, s, o, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, `INSERT INTO rcb.genai_spans (timestamp, provider, request_model, response_model, workload, operation, input_tokens, cache_read_tokens, output_tokens, cost_usd, cost_input_usd, cost_cached_input_usd, cost_output_usd, cost_source) VALUES
		('2026-11-20 10:00:00', 'openai', 'gpt-4o', 'gpt-4o-2024-08-06', 'bot', 'chat', 600000, 250000, 150000, 2.6875, 0.875, 0.3125, 1.5, 'computed'),
		('2026-11-21 10:00:00', 'anthropic', 'claude-sonnet-4', '', 'rag', 'chat', 1000, 0, 10, 0.00315, 0.003, 0, 0.00015, 'computed'),
		('2026-11-21 11:00:00', '', 'unknown', '', 'rag', 'chat', 5, 0, 5, 0, 0, 0, 0, 'unpriced')`); err != nil {
		t.Fatal(err)
	}
	view := func() string {
		r, err := s.Query(ctx, "SELECT day, provider, model, workload, span_tokens, span_calls, toString(span_cost_usd), ifNull(toString(catalog_cost_usd), 'null') FROM rcb.genai_reconciliation_daily ORDER BY day, provider")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(r.Data)
	}
	live := view()
	if !strings.Contains(live, "gpt-4o bot 750000 1 2.6875") || !strings.Contains(live, "claude-sonnet-4 rag 1010 1 0.00315") || strings.Contains(live, "unknown") {
		t.Fatalf("view from the rollup: %s", live)
	}
	if err := s.Exec(ctx, "TRUNCATE TABLE rcb.genai_spend_daily"); err != nil {
		t.Fatal(err)
	}
	var backfill string
	for _, q := range spendDailyDDL(o) {
		if strings.HasPrefix(q, "INSERT INTO") {
			backfill = q
		}
	}
	if err := s.Exec(ctx, backfill); err != nil {
		t.Fatalf("%v\n%s", err, backfill)
	}
	if got := view(); got != live {
		t.Errorf("after the backfill: %s\nas the spans arrived: %s", got, live)
	}
}
