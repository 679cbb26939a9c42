package costattr

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestGoldenCosts runs every pricing case of the acceptance list
// through the processor, as spans, and checks the attributes written. The
// expected values are computed by hand in the comments; rates are USD per 1M
// tokens from internal/pricing/catalog/builtin.yaml.
func TestGoldenCosts(t *testing.T) {
	type part struct{ key, usd string }
	cases := []struct {
		name    string
		attrs   map[string]any
		priceID string
		total   string
		parts   []part // breakdown; zero parts are not written
		source  string
	}{
		{
			// gpt-4o, 1000 input of which 400 cached, 200 output:
			// 600*2.50/1M = 0.0015; 400*1.25/1M = 0.0005; 200*10/1M = 0.002; total 0.004
			name: "openai cached input",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cache_read.input_tokens": 400, "gen_ai.usage.output_tokens": 200},
			priceID: "openai/gpt-4o@2026-07-24", total: "0.004",
			parts: []part{{"aiops.cost.input", "0.0015"}, {"aiops.cost.cached_input", "0.0005"}, {"aiops.cost.output", "0.002"}},
		},
		{
			// claude-sonnet-4-5, 10000 input = 1000 plain + 6000 cache read + 3000 cache
			// writes, of which 1000 to the 1-hour cache (reported separately) and 2000 to
			// the 5-minute one; 500 output:
			// plain 1000*3/1M = 0.003; read 6000*0.30/1M = 0.0018;
			// writes 2000*3.75/1M + 1000*6/1M = 0.0075 + 0.006 = 0.0135; output 500*15/1M = 0.0075
			// total 0.003 + 0.0018 + 0.0135 + 0.0075 = 0.0258
			name: "anthropic cache read and 5m/1h writes",
			attrs: map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
				"gen_ai.usage.input_tokens": 10000, "gen_ai.usage.cache_read.input_tokens": 6000,
				"gen_ai.usage.cache_creation.input_tokens": 3000, "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens": 1000,
				"gen_ai.usage.output_tokens": 500},
			priceID: "anthropic/claude-sonnet-4-5@2026-07-24", total: "0.0258",
			parts: []part{{"aiops.cost.input", "0.003"}, {"aiops.cost.cached_input", "0.0018"}, {"aiops.cost.cache_write", "0.0135"}, {"aiops.cost.output", "0.0075"}},
		},
		{
			// gemini-2.5-pro above 200k input: the whole request at 2.50 / 0.25 / 15.
			// 250000 input, 50000 cached: 200000*2.50/1M = 0.5; 50000*0.25/1M = 0.0125;
			// 1000 output*15/1M = 0.015; total 0.5275
			name: "gemini above 200k tier",
			attrs: map[string]any{"gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemini-2.5-pro",
				"gen_ai.usage.input_tokens": 250000, "gen_ai.usage.cache_read.input_tokens": 50000, "gen_ai.usage.output_tokens": 1000},
			priceID: "gcp.gemini/gemini-2.5-pro@2026-07-24", total: "0.5275",
			parts: []part{{"aiops.cost.input", "0.5"}, {"aiops.cost.cached_input", "0.0125"}, {"aiops.cost.output", "0.015"}},
		},
		{
			// gpt-5, 3000 output of which 2000 reasoning (billed at the output rate):
			// input 1000*1.25/1M = 0.00125; output 1000*10/1M = 0.01; reasoning 2000*10/1M = 0.02;
			// total 0.03125
			name: "reasoning tokens",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-5", "gen_ai.response.model": "gpt-5-2025-08-07",
				"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 3000, "gen_ai.usage.reasoning.output_tokens": 2000},
			priceID: "openai/gpt-5@2026-07-24", total: "0.03125",
			parts: []part{{"aiops.cost.input", "0.00125"}, {"aiops.cost.output", "0.01"}, {"aiops.cost.reasoning", "0.02"}},
		},
		{
			// gpt-4o batch tier = 50% of every rate: 600*1.25/1M = 0.00075;
			// 400*0.625/1M = 0.00025; 200*5/1M = 0.001; total 0.002
			name: "batch service tier",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "openai.request.service_tier": "batch",
				"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cache_read.input_tokens": 400, "gen_ai.usage.output_tokens": 200},
			priceID: "openai/gpt-4o@2026-07-24", total: "0.002",
			parts: []part{{"aiops.cost.input", "0.00075"}, {"aiops.cost.cached_input", "0.00025"}, {"aiops.cost.output", "0.001"}},
		},
		{
			// The response's tier wins over the request's: "default" -> standard rates:
			// 1000*2.50/1M = 0.0025
			name: "response service tier wins",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"openai.request.service_tier": "auto", "openai.response.service_tier": "default", "gen_ai.usage.input_tokens": 1000},
			priceID: "openai/gpt-4o@2026-07-24", total: "0.0025",
			parts: []part{{"aiops.cost.input", "0.0025"}},
		},
		{
			// text-embedding-3-small: 1,000,000 input tokens * 0.02/1M = 0.02; no output tokens.
			name: "embeddings",
			attrs: map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "openai",
				"gen_ai.request.model": "text-embedding-3-small", "gen_ai.usage.input_tokens": 1_000_000},
			priceID: "openai/text-embedding-3-small@2026-07-24", total: "0.02",
			parts: []part{{"aiops.cost.input", "0.02"}},
		},
		{
			// The dated snapshot gpt-4o-2024-08-06 (response model) matches gpt-4o's
			// pattern: same arithmetic as the first case, 0.004.
			name: "dated snapshot matched by pattern",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
				"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cache_read.input_tokens": 400, "gen_ai.usage.output_tokens": 200},
			priceID: "openai/gpt-4o@2026-07-24", total: "0.004",
			parts: []part{{"aiops.cost.input", "0.0015"}, {"aiops.cost.cached_input", "0.0005"}, {"aiops.cost.output", "0.002"}},
		},
		{
			// An unknown model is not priced at zero: no cost attribute, source unpriced.
			name: "unknown model",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-99-imaginary",
				"gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 5},
			source: "unpriced",
		},
		{
			// The SDK reported 0.01 USD: kept as gen_ai.usage.cost. Computed beside it:
			// 1000 input * 2.50/1M = 0.0025; difference 0.01 - 0.0025 = 0.0075.
			name: "provider-reported cost kept",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 0, "gen_ai.usage.cost": 0.01},
			priceID: "openai/gpt-4o@2026-07-24", total: "0.01", source: "provider",
			parts: []part{{"aiops.cost.computed", "0.0025"}, {"aiops.cost.difference", "0.0075"}},
		},
		{
			// OpenInference's llm.cost.total is a reported cost too: 0.5 kept;
			// computed 200*10/1M = 0.002; difference 0.498.
			name: "openinference reported cost kept",
			attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"gen_ai.usage.output_tokens": 200, "llm.cost.total": 0.5},
			priceID: "openai/gpt-4o@2026-07-24", total: "0.5", source: "provider",
			parts: []part{{"aiops.cost.computed", "0.002"}, {"aiops.cost.difference", "0.498"}},
		},
	}
	h := newHarness(t, defaultCfg())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := h.one(map[string]any{"service.name": "svc"}, tc.attrs)
			wantSource := tc.source
			if wantSource == "" {
				wantSource = "computed"
			}
			if got := str(attrs, "aiops.cost.source"); got != wantSource {
				t.Fatalf("source %q, want %q: %v", got, wantSource, attrs.AsRaw())
			}
			if wantSource == "unpriced" {
				if has(attrs, "gen_ai.usage.cost") || has(attrs, "aiops.price.id") {
					t.Errorf("unpriced span got a cost: %v", attrs.AsRaw())
				}
				return
			}
			if got := usdAttr(t, attrs, "gen_ai.usage.cost"); got != usd(t, tc.total) {
				t.Errorf("gen_ai.usage.cost = %s, want %s", got, tc.total)
			}
			if got := str(attrs, "aiops.price.id"); got != tc.priceID {
				t.Errorf("price id %q, want %q", got, tc.priceID)
			}
			if got := str(attrs, "aiops.price.catalog"); got != "builtin-2026-07-24" {
				t.Errorf("catalog %q", got)
			}
			seen := map[string]bool{}
			for _, p := range tc.parts {
				seen[p.key] = true
				if got := usdAttr(t, attrs, p.key); got != usd(t, p.usd) {
					t.Errorf("%s = %s, want %s", p.key, got, p.usd)
				}
			}
			for _, k := range []string{"aiops.cost.input", "aiops.cost.cached_input", "aiops.cost.cache_write", "aiops.cost.output", "aiops.cost.reasoning"} {
				if !seen[k] && has(attrs, k) {
					t.Errorf("%s written but expected zero/absent: %v", k, attrs.AsRaw())
				}
			}
		})
	}
	// The unknown model is reported by name.
	if n, ok := h.sum("aiops_costattr_unpriced", map[string]string{"provider": "openai", "model": "gpt-99-imaginary"}); !ok || n != 1 {
		t.Errorf("unpriced metric %v %v", n, ok)
	}
}

// TestPriceChangeMidWindow prices one call per day over June 2026 with a
// negotiated price that drops on June 15, and checks each span's price and
// the exact total recorded in aiops_costattr_cost.
func TestPriceChangeMidWindow(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "prices.yaml")
	os.WriteFile(f, []byte(`
version: negotiated-2026
prices:
  - {provider: acme, model: m1, effective_from: 2026-01-01, input: 3, cache_read: 0.3, output: 15}
  - {provider: acme, model: m1, effective_from: 2026-06-15, input: 2, cache_read: 0.2, output: 10}
`), 0o644)
	cfg := defaultCfg()
	cfg.PriceFiles = []string{f}
	h := newHarness(t, cfg)
	var spans []spanSpec
	for d := 1; d <= 30; d++ {
		spans = append(spans, spanSpec{trace: 1, id: byte(d), start: time.Date(2026, 6, d, 9, 30, 0, 0, time.UTC), attrs: map[string]any{
			"gen_ai.provider.name": "acme", "gen_ai.request.model": "m1",
			"gen_ai.usage.input_tokens": 10_000, "gen_ai.usage.cache_read.input_tokens": 4_000, "gen_ai.usage.output_tokens": 2_000}})
	}
	out := h.consume(resourceSpec{attrs: map[string]any{"service.name": "svc"}, spans: spans})
	// Old price, June 1-14: 6000*3/1M + 4000*0.3/1M + 2000*15/1M = 0.018 + 0.0012 + 0.03 = 0.0492
	// New price, June 15-30: 6000*2/1M + 4000*0.2/1M + 2000*10/1M = 0.012 + 0.0008 + 0.02 = 0.0328
	for i, sp := range out {
		a := sp.Attributes()
		wantID, wantCost := "acme/m1@2026-01-01", "0.0492"
		if i+1 >= 15 {
			wantID, wantCost = "acme/m1@2026-06-15", "0.0328"
		}
		if str(a, "aiops.price.id") != wantID || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, wantCost) {
			t.Errorf("June %d: %s %v, want %s %s", i+1, str(a, "aiops.price.id"), str(a, "gen_ai.usage.cost"), wantID, wantCost)
		}
		if str(a, "aiops.price.catalog") != "builtin-2026-07-24+negotiated-2026" {
			t.Errorf("catalog %q", str(a, "aiops.price.catalog"))
		}
	}
	// Window total: 14 * 0.0492 + 16 * 0.0328 = 0.6888 + 0.5248 = 1.2136 USD.
	if got, _ := h.sum("aiops_costattr_cost", map[string]string{"source": "computed"}); got != 1.2136 {
		t.Errorf("aiops_costattr_cost = %v, want 1.2136", got)
	}
}
