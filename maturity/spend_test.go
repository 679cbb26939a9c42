package maturity

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A workload whose traces are sampled one in four is reported with its
// estimated full cost, labelled as an estimate; a provider project with
// spend and no telemetry is in the inventory as uninstrumented spend.
func TestSampledWorkloadAndUninstrumentedSpend(t *testing.T) {
	s := migrated(t, "spend")
	ctx := context.Background()
	for _, q := range []string{
		// Spans: 250k input + 50k output for $1.125 (gpt-4o list prices).
		`INSERT INTO spend.genai_spans (timestamp, workload, service_name, operation, provider, request_model, input_tokens, output_tokens, cost_usd, cost_input_usd, cost_output_usd, cost_source) VALUES
		 ('2026-11-20 10:00:00', 'support-bot', 'support-bot', 'chat', 'openai', 'gpt-4o', 250000, 50000, 1.125, 0.625, 0.5, 'computed')`,
		// Metrics, never sampled: four times the spans' tokens.
		`INSERT INTO spend.genai_metrics (timestamp, metric_name, temporality, workload, provider, request_model, token_type, count, sum) VALUES
		 ('2026-11-20 12:00:00', 'gen_ai.client.token.usage', 'delta', 'support-bot', 'openai', 'gpt-4o', 'input', 40, 1000000),
		 ('2026-11-20 12:00:00', 'gen_ai.client.token.usage', 'delta', 'support-bot', 'openai', 'gpt-4o', 'output', 40, 200000)`,
		// The invoice: support-bot's project at list price, and a project
		// nobody mapped, $7.50.
		`INSERT INTO spend.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, input_tokens, output_tokens, cost_usd, workload, poll_time) VALUES
		 ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'usage', 'completions', 'proj_bot', 'gpt-4o-2024-08-06', 1000000, 200000, 0, 'support-bot', now64()),
		 ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06', 0, 0, 4.5, 'support-bot', now64()),
		 ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'usage', 'completions', 'proj_shadow', 'gpt-4o-mini', 3000000, 0, 0, '', now64()),
		 ('2026-11-20 00:00:00', '2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_shadow', 'gpt-4o-mini', 0, 0, 7.5, '', now64())`,
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rep, err := Score(ctx, s, Options{Database: "spend", From: from, To: from.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Workload("support-bot")
	if w == nil || w.Spend == nil {
		t.Fatalf("no spend for support-bot: %+v", w)
	}
	sp := w.Spend
	// 300k of 1.2M tokens: 25%; $1.125 × 4 = $4.50, which the invoice confirms.
	if !sp.Estimated || sp.SpanShareOfMetrics == nil || *sp.SpanShareOfMetrics != 0.25 || sp.EstimatedCostUSD != 4.5 || sp.SpanCostUSD != 1.125 || sp.InvoicedUSD != 4.5 {
		t.Errorf("spend %+v", sp)
	}
	if sp.InvoiceCoverage == nil || *sp.InvoiceCoverage != 1 {
		t.Errorf("invoice coverage %v, want 1 (the metrics saw every invoiced token)", sp.InvoiceCoverage)
	}
	sig := w.Score("llmops").Signal("llmops.s3.spend_reconciled")
	if sig == nil || !sig.Met {
		t.Errorf("spend_reconciled: %+v", sig)
	}
	cm := w.Score("llmops").Signal("llmops.s2.cost_monitoring")
	if cm == nil || !cm.Met || !strings.Contains(cm.Evidence, "$4.50") {
		t.Errorf("cost_monitoring with the provider's report: %+v", cm)
	}
	un := rep.Inventory.UninstrumentedSpend
	if len(un) != 1 || un[0].Project != "openai:proj_shadow" || un[0].CostUSD != 7.5 || un[0].Tokens != 3000000 || un[0].Workload != "" {
		t.Fatalf("uninstrumented spend %+v", un)
	}
	for _, format := range []string{"table", "markdown", "html"} {
		var b bytes.Buffer
		if err := Render(&b, rep, format); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, "estimated full cost $4.50 (estimated") || !strings.Contains(out, "proj") || !strings.Contains(out, "$7.50") {
			t.Errorf("%s: the estimate or the uninstrumented spend is missing:\n%s", format, out)
		}
	}
}
