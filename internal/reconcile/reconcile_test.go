package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
)

var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

// Two days of one workload's invoice, spans and metrics, plus a project no
// workload claims, summed over the window. Figures by hand: gpt-4o at
// $2.50 / $10 per 1M tokens.
func TestLoadSumsTheWindow(t *testing.T) {
	st, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := chstore.Migrate(ctx, st, chstore.SchemaOptions{Database: "r1"}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		// Each day: 800k input and 200k output invoiced ($2 + $2 = $4).
		`INSERT INTO r1.provider_usage (bucket_start, provider, kind, source, project_id, model, input_tokens, output_tokens, requests, workload, poll_time) VALUES
		 ('2026-11-20 00:00:00', 'openai', 'usage', 'completions', 'proj_bot', 'gpt-4o-2024-08-06', 800000, 200000, 100, 'support-bot', now64()),
		 ('2026-11-21 00:00:00', 'openai', 'usage', 'completions', 'proj_bot', 'gpt-4o-2024-08-06', 800000, 200000, 100, 'support-bot', now64()),
		 ('2026-11-21 00:00:00', 'openai', 'usage', 'completions', 'proj_x|y', 'gpt-4o-2024-08-06', 80000, 20000, 5, '', now64())`,
		`INSERT INTO r1.provider_usage (bucket_start, provider, kind, source, project_id, line_item, cost_usd, workload, poll_time) VALUES
		 ('2026-11-20 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06, input', 2, 'support-bot', now64()),
		 ('2026-11-20 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06, output', 2, 'support-bot', now64()),
		 ('2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06, input', 2, 'support-bot', now64()),
		 ('2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_bot', 'gpt-4o-2024-08-06, output', 2, 'support-bot', now64()),
		 ('2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_x|y', 'gpt-4o-2024-08-06, input', 0.2, '', now64()),
		 ('2026-11-21 00:00:00', 'openai', 'cost', 'costs', 'proj_x|y', 'gpt-4o-2024-08-06, output', 0.2, '', now64())`,
		// Spans saw half of day one and nothing of day two: 400k + 100k, $2.
		`INSERT INTO r1.genai_spans (timestamp, provider, request_model, workload, operation, input_tokens, output_tokens, cost_usd, cost_input_usd, cost_output_usd, cost_source) VALUES
		 ('2026-11-20 09:00:00', 'openai', 'gpt-4o', 'support-bot', 'chat', 400000, 100000, 2, 1, 1, 'computed')`,
		// A day outside the window.
		`INSERT INTO r1.provider_usage (bucket_start, provider, kind, source, project_id, model, input_tokens, workload, poll_time) VALUES
		 ('2026-11-22 00:00:00', 'openai', 'usage', 'completions', 'proj_bot', 'gpt-4o', 999, 'support-bot', now64())`,
	} {
		if err := st.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rows, sum, err := Load(ctx, st, Options{Database: "r1", From: from, To: from.AddDate(0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
	}
	bot, un := rows[0], rows[1]
	// 2M invoiced tokens, 500k in spans: 25%; $8 invoiced, $6 unobserved
	// (day one 50% of $4 seen, day two none).
	if bot.Workload != "support-bot" || bot.InvoicedTokens != 2000000 || bot.SpanTokens != 500000 || bot.InvoicedCost.String() != "8" || bot.UnobservedCost.String() != "6" {
		t.Errorf("support-bot: %+v", bot)
	}
	if c := bot.SpanInvoiceCoverage; c == nil || *c != 0.25 {
		t.Errorf("coverage %v, want 0.25", c)
	}
	// Catalog from the day's spans' unit prices, so day one only:
	// 800k × $2.50 + 200k × $10 = $4 against $4 billed that day: no drift.
	if bot.CatalogCost == nil || bot.CatalogCost.String() != "4" || bot.PriceDrift == nil || *bot.PriceDrift != 0 {
		t.Errorf("catalog %v drift %v, want 4 and 0", bot.CatalogCost, bot.PriceDrift)
	}
	if !un.Uninstrumented || un.UnobservedCost.String() != "0.4" || len(un.Projects) != 1 || un.Projects[0] != "openai:proj_x|y" {
		t.Errorf("uninstrumented: %+v", un)
	}
	// $8.40 invoiced, $6.40 unobserved: telemetry covers 2/8.4.
	if sum.InvoicedCost.String() != "8.4" || sum.UnobservedCost.String() != "6.4" || sum.UninstrumentedCost.String() != "0.4" ||
		sum.TelemetryCoverage == nil || *sum.TelemetryCoverage < 0.2380 || *sum.TelemetryCoverage > 0.2381 {
		t.Errorf("summary %+v", sum)
	}

	var md bytes.Buffer
	if err := Render(&md, "markdown", rows, sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `openai:proj\_x\|y`) || strings.Contains(md.String(), "proj_x|y") {
		t.Errorf("markdown does not escape a provider's project id:\n%s", md.String())
	}
	var js bytes.Buffer
	if err := Render(&js, "json", rows, sum); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Summary struct {
			Invoiced string `json:"invoiced_cost_usd"`
		} `json:"summary"`
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(js.Bytes(), &out); err != nil || out.Summary.Invoiced != "8.4" || len(out.Rows) != 2 {
		t.Errorf("json: %v %+v\n%s", err, out, js.String())
	}
	if err := Render(&js, "xml", rows, sum); err == nil {
		t.Error("an unknown format is accepted")
	}

	daily, _, err := Load(ctx, st, Options{Database: "r1", From: from, To: from.AddDate(0, 0, 2), Daily: true})
	if err != nil || len(daily) != 3 || daily[0].Day != "2026-11-20" {
		t.Fatalf("daily: %v %+v", err, daily)
	}
}
