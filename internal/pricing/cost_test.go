package pricing

import (
	"math"
	"testing"
	"time"
)

// at is inside the validity of every built-in entry (snapshots 2026-03-06 and 2026-07-24).
var at = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

func mustUSD(t testing.TB, s string) Amount {
	t.Helper()
	a, err := ParseUSD(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustBuiltin(t testing.TB) *Catalog {
	t.Helper()
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustLoad(t testing.TB, y string) *Catalog {
	t.Helper()
	c, err := Load([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type golden struct {
	name     string
	provider string
	model    string
	wantID   string
	u        Usage
	// Expected parts as decimal USD; "" means zero.
	total, input, cached, write, output, reasoning, request string
	clamped                                                 bool
}

func checkGolden(t *testing.T, c *Catalog, tests []golden) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := c.Lookup(tt.provider, tt.model, at)
			if !ok {
				t.Fatalf("Lookup(%q, %q) not found", tt.provider, tt.model)
			}
			if tt.wantID != "" && p.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", p.ID, tt.wantID)
			}
			got := p.Cost(tt.u)
			z := func(s string) Amount {
				if s == "" {
					return 0
				}
				return mustUSD(t, s)
			}
			want := Cost{
				Total: z(tt.total), Input: z(tt.input), CachedInput: z(tt.cached), CacheWrite: z(tt.write),
				Output: z(tt.output), Reasoning: z(tt.reasoning), Request: z(tt.request), Clamped: tt.clamped,
			}
			if got != want {
				t.Errorf("Cost(%+v)\n got  %+v\n want %+v", tt.u, got, want)
			}
		})
	}
}

func TestCostBuiltinGolden(t *testing.T) {
	c := mustBuiltin(t)
	checkGolden(t, c, []golden{
		{
			// gpt-4o: 1000 input of which 400 cached: 600*2.50/1M + 400*1.25/1M = 0.0015 + 0.0005 = 0.002;
			// output 200*10/1M = 0.002; total 0.004 USD
			name: "openai cached input", provider: "openai", model: "gpt-4o", wantID: "openai/gpt-4o@2026-07-24",
			u:     Usage{Input: 1000, CacheRead: 400, Output: 200},
			total: "0.004", input: "0.0015", cached: "0.0005", output: "0.002",
		},
		{
			// gpt-4.1 caches at 25%: 10000 input, 8000 cached: 2000*2/1M + 8000*0.5/1M = 0.004 + 0.004 = 0.008;
			// output 500*8/1M = 0.004; total 0.012
			name: "openai cached input 25%", provider: "openai", model: "gpt-4.1",
			u:     Usage{Input: 10000, CacheRead: 8000, Output: 500},
			total: "0.012", input: "0.004", cached: "0.004", output: "0.004",
		},
		{
			// claude-sonnet-4-5: 10000 input = 1000 plain + 6000 read + 2000 write5m + 1000 write1h.
			// plain 1000*3/1M = 0.003; read 6000*0.30/1M = 0.0018;
			// writes 2000*3.75/1M + 1000*6/1M = 0.0075 + 0.006 = 0.0135; output 500*15/1M = 0.0075
			// total 0.003 + 0.0018 + 0.0135 + 0.0075 = 0.0258
			name: "anthropic cache read and writes", provider: "anthropic", model: "claude-sonnet-4-5",
			u:     Usage{Input: 10000, CacheRead: 6000, CacheWrite5m: 2000, CacheWrite1h: 1000, Output: 500},
			total: "0.0258", input: "0.003", cached: "0.0018", write: "0.0135", output: "0.0075",
		},
		{
			// claude-3-5-haiku 1h write is 2x input = 1.60 (not the 6.00 in the source data):
			// 1000 write1h*1.6/1M = 0.0016; 1000 write5m*1/1M = 0.001; total 0.0026
			name: "anthropic haiku 1h write fixed", provider: "anthropic", model: "claude-3-5-haiku-20241022",
			u:     Usage{Input: 2000, CacheWrite5m: 1000, CacheWrite1h: 1000},
			total: "0.0026", write: "0.0026",
		},
		{
			// gemini-2.5-pro above 200k: whole request at 2.50/0.25/15.
			// 250000 input, 50000 cached: 200000*2.5/1M + 50000*0.25/1M = 0.5 + 0.0125; output 1000*15/1M = 0.015
			// total 0.5275
			name: "gemini above 200k tier", provider: "gcp.gemini", model: "gemini-2.5-pro",
			u:     Usage{Input: 250000, CacheRead: 50000, Output: 1000},
			total: "0.5275", input: "0.5", cached: "0.0125", output: "0.015",
		},
		{
			// exactly 200000 input is not above the threshold: 200000*1.25/1M + 1000*10/1M = 0.25 + 0.01 = 0.26
			name: "gemini at 200k stays standard", provider: "gcp.gemini", model: "gemini-2.5-pro",
			u:     Usage{Input: 200000, Output: 1000},
			total: "0.26", input: "0.25", output: "0.01",
		},
		{
			// claude-sonnet-4-5 above 200k: 210000 input = 200000 plain + 10000 write5m.
			// 200000*6/1M + 10000*7.5/1M = 1.2 + 0.075; output 2000*22.5/1M = 0.045; total 1.32
			name: "anthropic above 200k tier", provider: "anthropic", model: "claude-sonnet-4-5",
			u:     Usage{Input: 210000, CacheWrite5m: 10000, Output: 2000},
			total: "1.32", input: "1.2", write: "0.075", output: "0.045",
		},
		{
			// gpt-5: 3000 output of which 2000 reasoning, reasoning billed at output rate:
			// 1000*1.25/1M = 0.00125; 1000*10/1M = 0.01; 2000*10/1M = 0.02; total 0.03125
			name: "reasoning at output rate", provider: "openai", model: "gpt-5",
			u:     Usage{Input: 1000, Output: 3000, Reasoning: 2000},
			total: "0.03125", input: "0.00125", output: "0.01", reasoning: "0.02",
		},
		{
			// gpt-4o batch = 50%: 600*1.25/1M + 400*0.625/1M = 0.00075 + 0.00025; 200*5/1M = 0.001; total 0.002
			name: "openai batch", provider: "openai", model: "gpt-4o",
			u:     Usage{Input: 1000, CacheRead: 400, Output: 200, ServiceTier: "batch"},
			total: "0.002", input: "0.00075", cached: "0.00025", output: "0.001",
		},
		{
			// claude-haiku-4-5 batch = 50%: 10000*0.5/1M + 1000*2.5/1M = 0.005 + 0.0025 = 0.0075
			name: "anthropic batch", provider: "anthropic", model: "claude-haiku-4-5",
			u:     Usage{Input: 10000, Output: 1000, ServiceTier: "batch"},
			total: "0.0075", input: "0.005", output: "0.0025",
		},
		{
			// gpt-4o priority = 1.7x: 1000*4.25/1M + 100*17/1M = 0.00425 + 0.0017 = 0.00595
			name: "openai priority multiplier", provider: "openai", model: "gpt-4o",
			u:     Usage{Input: 1000, Output: 100, ServiceTier: "priority"},
			total: "0.00595", input: "0.00425", output: "0.0017",
		},
		{
			// gpt-4o-mini priority has explicit rates: 1000*0.25/1M + 1000*1.00/1M = 0.00025 + 0.001 = 0.00125
			name: "openai priority explicit", provider: "openai", model: "gpt-4o-mini",
			u:     Usage{Input: 1000, Output: 1000, ServiceTier: "Priority"},
			total: "0.00125", input: "0.00025", output: "0.001",
		},
		{
			// gpt-5 flex = 50%: 1000*0.625/1M + 1000*5/1M = 0.000625 + 0.005 = 0.005625
			name: "openai flex", provider: "openai", model: "gpt-5",
			u:     Usage{Input: 1000, Output: 1000, ServiceTier: "flex"},
			total: "0.005625", input: "0.000625", output: "0.005",
		},
		{
			// flex is not offered for gpt-4o, "scale" is unknown: both bill at standard.
			// 1000*2.5/1M + 100*10/1M = 0.0025 + 0.001 = 0.0035
			name: "tier without rates is standard", provider: "openai", model: "gpt-4o",
			u:     Usage{Input: 1000, Output: 100, ServiceTier: "flex"},
			total: "0.0035", input: "0.0025", output: "0.001",
		},
		{
			// gpt-5.4 above 272k with priority (2x of the tier rates 5 / 22.5):
			// 300000*10/1M = 3; 1000*45/1M = 0.045; total 3.045
			name: "context tier then priority multiplier", provider: "openai", model: "gpt-5.4",
			u:     Usage{Input: 300000, Output: 1000, ServiceTier: "priority"},
			total: "3.045", input: "3", output: "0.045",
		},
		{
			// text-embedding-3-small: 1,000,000 tokens * 0.02/1M = 0.02
			name: "embedding small", provider: "openai", model: "text-embedding-3-small",
			u:     Usage{Input: 1_000_000},
			total: "0.02", input: "0.02",
		},
		{
			// text-embedding-3-large: 12345 * 0.13/1M = 0.00160485
			name: "embedding large", provider: "openai", model: "text-embedding-3-large",
			u:     Usage{Input: 12345},
			total: "0.00160485", input: "0.00160485",
		},
		{
			// text-embedding-ada-002 batch: 500 * 0.05/1M = 0.000025
			name: "embedding ada batch", provider: "openai", model: "text-embedding-ada-002",
			u:     Usage{Input: 500, ServiceTier: "batch"},
			total: "0.000025", input: "0.000025",
		},
		{
			// dated snapshot resolves to gpt-4o by pattern; same arithmetic as the first case: 0.004
			name: "dated snapshot gpt-4o-2024-08-06", provider: "openai", model: "gpt-4o-2024-08-06",
			wantID: "openai/gpt-4o@2026-07-24",
			u:      Usage{Input: 1000, CacheRead: 400, Output: 200},
			total:  "0.004", input: "0.0015", cached: "0.0005", output: "0.002",
		},
		{
			// gpt-4o-2024-05-13 has its own (higher) price and wins over the gpt-4o pattern:
			// 1000*5/1M + 200*15/1M = 0.005 + 0.003 = 0.008
			name: "pinned snapshot with own price", provider: "openai", model: "gpt-4o-2024-05-13",
			wantID: "openai/gpt-4o-2024-05-13@2026-07-24",
			u:      Usage{Input: 1000, Output: 200},
			total:  "0.008", input: "0.005", output: "0.003",
		},
		{
			// claude-3-5-sonnet-20241022: 1000*3/1M + 1000*0.3/1M + 100*15/1M = 0.003 + 0.0003 + 0.0015 = 0.0048
			name: "dated snapshot claude-3-5-sonnet-20241022", provider: "anthropic", model: "claude-3-5-sonnet-20241022",
			wantID: "anthropic/claude-3-5-sonnet-20241022@2026-07-24",
			u:      Usage{Input: 2000, CacheRead: 1000, Output: 100},
			total:  "0.0048", input: "0.003", cached: "0.0003", output: "0.0015",
		},
		{
			// Bedrock cross-region id by glob; same rates as above: 0.0048
			name: "bedrock id by pattern", provider: "aws.bedrock", model: "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
			wantID: "aws.bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0@2026-07-24",
			u:      Usage{Input: 2000, CacheRead: 1000, Output: 100},
			total:  "0.0048", input: "0.003", cached: "0.0003", output: "0.0015",
		},
		{
			// Bedrock geo profile costs 10% more: 1000*1.1/1M + 1000*5.5/1M = 0.0011 + 0.0055 = 0.0066
			name: "bedrock geo profile by regex", provider: "aws.bedrock", model: "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
			wantID: "aws.bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0@2026-07-24",
			u:      Usage{Input: 1000, Output: 1000},
			total:  "0.0066", input: "0.0011", output: "0.0055",
		},
		{
			// global profile at list price: 1000*1/1M + 1000*5/1M = 0.006
			name: "bedrock global profile by regex", provider: "aws.bedrock", model: "global.anthropic.claude-haiku-4-5-20251001-v1:0",
			wantID: "aws.bedrock/anthropic.claude-haiku-4-5-20251001-v1:0@2026-07-24",
			u:      Usage{Input: 1000, Output: 1000},
			total:  "0.006", input: "0.001", output: "0.005",
		},
		{
			// Bedrock Llama inference profile: 1000*0.72/1M + 1000*0.72/1M = 0.00144
			name: "bedrock llama profile", provider: "aws.bedrock", model: "us.meta.llama3-3-70b-instruct-v1:0",
			u:     Usage{Input: 1000, Output: 1000},
			total: "0.00144", input: "0.00072", output: "0.00072",
		},
		{
			// 4 cache-read tokens reported above 2 input tokens: plain input clamps to 0, reads still billed:
			// 4*1.25/1M = 0.000005
			name: "cache above input clamps", provider: "openai", model: "gpt-4o",
			u:     Usage{Input: 2, CacheRead: 4},
			total: "0.000005", cached: "0.000005", clamped: true,
		},
		{
			// reasoning reported outside output (0 output): non-reasoning output clamps to 0,
			// reasoning 100*10/1M = 0.001
			name: "reasoning above output clamps", provider: "openai", model: "gpt-5",
			u:     Usage{Reasoning: 100},
			total: "0.001", reasoning: "0.001", clamped: true,
		},
	})
}

func TestCostCustomGolden(t *testing.T) {
	c := mustLoad(t, `
prices:
  - provider: acme
    model: thinker
    input: 0.15
    output: 0.6
    reasoning: 3.5
  - provider: acme
    model: reranker
    input: 0
    request: 0.002
  - provider: acme
    model: tiny
    input: 0.000000000001
    output: 0.000000000003
`)
	checkGolden(t, c, []golden{
		{
			// reasoning priced above output: 1000*0.15/1M + 1000*0.6/1M + 2000*3.5/1M
			// = 0.00015 + 0.0006 + 0.007 = 0.00775
			name: "reasoning rate", provider: "acme", model: "thinker",
			u:     Usage{Input: 1000, Output: 3000, Reasoning: 2000},
			total: "0.00775", input: "0.00015", output: "0.0006", reasoning: "0.007",
		},
		{
			// per-request fee: 3 requests * 0.002 = 0.006
			name: "request fee", provider: "acme", model: "reranker",
			u:     Usage{Requests: 3},
			total: "0.006", request: "0.006",
		},
		{
			// Requests 0 counts as one request: 0.002
			name: "request fee default one", provider: "acme", model: "reranker",
			u:     Usage{Input: 50},
			total: "0.002", request: "0.002",
		},
		{
			// 0.000000000001 USD/1M = 1 picodollar per 1M tokens. 500000 tokens = 0.5 pd -> rounds half up to 1 pd;
			// 499999 output tokens * 3 pd/1M = 1.499997 pd -> 1 pd. Total 2 pd.
			name: "round half up", provider: "acme", model: "tiny",
			u:     Usage{Input: 500000, Output: 499999},
			total: "0.000000000002", input: "0.000000000001", output: "0.000000000001",
		},
	})
}

func TestDiscountMerge(t *testing.T) {
	user := mustLoad(t, `
discounts:
  openai: 0.8
  "*": 95%
prices:
  - provider: acme
    model: tiny
    input: 0.000000000001
`)
	c := mustBuiltin(t).Merge(user)
	checkGolden(t, c, []golden{
		{
			// gpt-4o with 20% off: (600*2.5 + 400*1.25 + 200*10)/1M * 0.8 = 0.004 * 0.8 = 0.0032
			name: "provider discount", provider: "openai", model: "gpt-4o",
			u:     Usage{Input: 1000, CacheRead: 400, Output: 200},
			total: "0.0032", input: "0.0012", cached: "0.0004", output: "0.0016",
		},
		{
			// batch and discount multiply: 1000*2.5/1M * 0.5 * 0.8 = 0.001
			name: "discount on batch", provider: "openai", model: "gpt-4o",
			u:     Usage{Input: 1000, ServiceTier: "batch"},
			total: "0.001", input: "0.001",
		},
		{
			// "*" applies to other providers: claude-haiku-4-5 1000*1/1M * 0.95 = 0.00095
			name: "wildcard discount", provider: "anthropic", model: "claude-haiku-4-5",
			u:     Usage{Input: 1000},
			total: "0.00095", input: "0.00095",
		},
		{
			// exact rounding of the discounted product: 1 pd/1M * 1e6 tokens * 0.95 = 0.95 pd -> 1 pd;
			// 1 pd/1M * 500000 * 0.95 = 0.475 pd -> 0 pd
			name: "discount rounds once", provider: "acme", model: "tiny",
			u:     Usage{Input: 1_000_000},
			total: "0.000000000001", input: "0.000000000001",
		},
	})
	p, _ := c.Lookup("acme", "tiny", at)
	if got := p.Cost(Usage{Input: 500_000}).Total; got != 0 {
		t.Errorf("0.475 pd rounded to %d, want 0", int64(got))
	}
	// The built-in catalog itself is unchanged.
	b, _ := mustBuiltin(t).Lookup("openai", "gpt-4o", at)
	if b.Discount != 0 || b.Cost(Usage{Input: 1000}).Total != mustUSD(t, "0.0025") {
		t.Errorf("Merge modified the built-in catalog")
	}
}

func TestZeroDrift(t *testing.T) {
	// 10 million calls of 7 input (3 cached) and 5 output tokens on gpt-5-nano, with a 0.8 discount.
	// Per call: (4*0.05 + 3*0.005 + 5*0.4)/1M * 0.8 = (0.2 + 0.015 + 2)/1M * 0.8 = 0.000001772 USD,
	// an exact 1,772,000 pd, so the sum must equal the cost of the summed usage exactly: 17.72 USD.
	c := mustBuiltin(t).Merge(mustLoad(t, "discounts: {openai: 0.8}\nprices: []\n"))
	p, ok := c.Lookup("openai", "gpt-5-nano", at)
	if !ok {
		t.Fatal("gpt-5-nano not found")
	}
	const n = 10_000_000
	one := Usage{Input: 7, CacheRead: 3, Output: 5}
	var sum Amount
	var fsum float64
	for i := 0; i < n; i++ {
		c := p.Cost(one).Total
		sum += c
		fsum += c.USD()
	}
	exact := p.Cost(Usage{Input: 7 * n, CacheRead: 3 * n, Output: 5 * n}).Total
	if want := mustUSD(t, "17.72"); exact != want || sum != want {
		t.Fatalf("sum of %d costs = %s, cost of summed usage = %s, want %s", n, sum, exact, want)
	}
	t.Logf("exact sum %s USD; float64 sum %.17g (drift %.3g)", sum, fsum, fsum-17.72)
}

func TestSaturation(t *testing.T) {
	p, _ := mustBuiltin(t).Lookup("openai", "gpt-5-pro", at)
	got := p.Cost(Usage{Output: math.MaxInt64})
	if got.Output != math.MaxInt64 || got.Total != math.MaxInt64 || !got.Clamped {
		t.Errorf("overflowing cost = %+v, want saturated and clamped", got)
	}
	// int64 picodollars top out at ~9.2M USD; 5e10 tokens * 120/1M = 6,000,000 USD fits.
	got = p.Cost(Usage{Output: 50_000_000_000})
	if got.Total != mustUSD(t, "6000000") || got.Clamped {
		t.Errorf("6M USD cost = %+v", got)
	}
	var nilPrice *Price
	if c := nilPrice.Cost(Usage{Input: 1}); c != (Cost{}) {
		t.Errorf("nil price cost = %+v", c)
	}
}

func TestMulDivRound(t *testing.T) {
	tests := []struct {
		a, b, c, d uint64
		want       Amount
		ok         bool
	}{
		{3, 5, 1, 2, 8, true}, // 7.5 -> 8
		{7, 1, 1, 2, 4, true}, // 3.5 -> 4
		{5, 1, 1, 4, 1, true}, // 1.25 -> 1
		{1 << 63, 1 << 62, 4, 1 << 62, 0, false},
		{math.MaxUint64, math.MaxUint64, 1_000_000, 1e18, 0, false},
		{1e18, 1e18, 1e12, 1e18, 0, false},   // 1e30 > MaxInt64
		{1e12, 1e12, 1e12, 1e18, 1e18, true}, // 192-bit intermediate, fits
	}
	for _, tt := range tests {
		got, ok := mulDivRound(tt.a, tt.b, tt.c, tt.d)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("mulDivRound(%d,%d,%d,%d) = %d,%v want %d,%v", tt.a, tt.b, tt.c, tt.d, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPriceChangeMidWindow(t *testing.T) {
	// A 30-day window, 2026-06-01 .. 2026-06-30, with one call per day of
	// 10,000 input (4,000 of them cached) and 2,000 output tokens. The price
	// drops on 2026-06-15, in the middle of the window.
	c := mustLoad(t, `
prices:
  - {provider: acme, model: m1, effective_from: 2026-01-01, input: 3, cache_read: 0.3, output: 15}
  - {provider: acme, model: m1, effective_from: 2026-06-15, input: 2, cache_read: 0.2, output: 10}
`)
	u := Usage{Input: 10_000, CacheRead: 4_000, Output: 2_000}
	var sum Amount
	perID := map[string]int{}
	for d := 1; d <= 30; d++ {
		at := time.Date(2026, 6, d, 9, 30, 0, 0, time.UTC)
		p, ok := c.Lookup("acme", "m1", at)
		if !ok {
			t.Fatalf("no price on day %d", d)
		}
		perID[p.ID]++
		sum += p.Cost(u).Total
	}
	// Old price, June 1-14 (14 calls): 6000*3/1M + 4000*0.3/1M + 2000*15/1M
	//   = 0.018 + 0.0012 + 0.03 = 0.0492 per call; 14 * 0.0492 = 0.6888
	// New price, June 15-30 (16 calls): 6000*2/1M + 4000*0.2/1M + 2000*10/1M
	//   = 0.012 + 0.0008 + 0.02 = 0.0328 per call; 16 * 0.0328 = 0.5248
	// Window total: 0.6888 + 0.5248 = 1.2136 USD.
	if perID["acme/m1@2026-01-01"] != 14 || perID["acme/m1@2026-06-15"] != 16 {
		t.Errorf("calls per price: %v, want 14 old and 16 new", perID)
	}
	if want := mustUSD(t, "1.2136"); sum != want {
		t.Errorf("window total %s, want %s", sum, want)
	}
	// Re-pricing history: the 2026-06-14 call costs the old price even when
	// looked up after the change.
	p, _ := c.Lookup("acme", "m1", time.Date(2026, 6, 14, 23, 59, 59, 0, time.UTC))
	if got := p.Cost(u).Total; got != mustUSD(t, "0.0492") {
		t.Errorf("last call before the change: %s, want 0.0492", got)
	}
}

func TestUnknownModelHasNoPrice(t *testing.T) {
	c := mustBuiltin(t)
	// An unknown model is not priced at 0: Lookup reports it missing, so the
	// caller marks the call unpriced instead of recording a zero cost.
	for _, m := range []string{"gpt-99-imaginary", "claude-7-opus-20300101", "llama-unknown"} {
		if p, ok := c.Lookup("", m, at); ok {
			t.Errorf("Lookup(%q) found %s", m, p.ID)
		}
	}
}
