package pricing

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLookupResolution(t *testing.T) {
	c := mustBuiltin(t)
	tests := []struct {
		provider, model string
		wantID          string // "" = not found
	}{
		{"openai", "gpt-4o", "openai/gpt-4o@2026-07-24"},
		{"", "gpt-4o", "openai/gpt-4o@2026-07-24"},
		{"", "GPT-4o", "openai/gpt-4o@2026-07-24"},
		{"", "openai/gpt-4o", "openai/gpt-4o@2026-07-24"},
		{"openai", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini@2026-07-24"},
		{"openai", "gpt-5-2025-08-07", "openai/gpt-5@2026-07-24"},
		{"openai", "gpt-5-mini-2025-08-07", "openai/gpt-5-mini@2026-07-24"},
		{"anthropic", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5@2026-07-24"},
		{"anthropic", "claude-3-5-sonnet-latest", "anthropic/claude-3-5-sonnet-20241022@2026-07-24"},
		{"anthropic", "claude-3-5-haiku-20241022", "anthropic/claude-3-5-haiku-20241022@2026-03-06"},
		// Bedrock ids: cross-region, ARN, and LiteLLM "bedrock/" prefix.
		{"aws.bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0@2026-07-24"},
		{"aws.bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
			"aws.bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0@2026-07-24"},
		{"", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0@2026-07-24"},
		{"aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0@2026-07-24"},
		// Stripped of region and vendor, as Traceloop's Bedrock instrumentation reports them.
		{"aws.bedrock", "claude-3-5-sonnet-20241022-v2:0", "aws.bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0@2026-07-24"},
		{"aws.bedrock", "titan-embed-text-v2:0", "aws.bedrock/amazon.titan-embed-text-v2:0@2026-07-24"},
		// Legacy provider names and provider fallbacks.
		{"gemini", "gemini-2.5-pro", "gcp.gemini/gemini-2.5-pro@2026-07-24"},
		{"gcp.gemini", "models/gemini-2.5-pro", "gcp.gemini/gemini-2.5-pro@2026-07-24"},
		{"gcp.vertex_ai", "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash", "gcp.gemini/gemini-2.5-flash@2026-07-24"},
		{"gcp.vertex_ai", "gemini-1.5-pro-002", "gcp.vertex_ai/gemini-1.5-pro@2026-03-06"},
		{"gcp.gemini", "gemini-1.5-pro-002", "gcp.gemini/gemini-1.5-pro@2026-03-06"},
		{"vertex_ai", "claude-sonnet-4-5@20250929", "anthropic/claude-sonnet-4-5@2026-07-24"},
		{"azure.ai.openai", "gpt-4o", "openai/gpt-4o@2026-07-24"},
		{"az.ai.openai", "gpt-4.1-2025-04-14", "openai/gpt-4.1@2026-07-24"},
		{"", "azure/gpt-5", "openai/gpt-5@2026-07-24"},
		{"mistral", "mistral-large-2512", "mistral_ai/mistral-large-latest@2026-07-24"},
		{"cohere", "embed-english-v3.0", "cohere/embed-english-v3.0@2026-07-24"},
		{"groq", "openai/gpt-oss-120b", "groq/openai/gpt-oss-120b@2026-07-24"},
		{"xai", "grok-4-0709", "x_ai/grok-4@2026-07-24"},
		// Not found.
		{"openai", "gpt-9-ultra", ""},
		{"", "no-such-model", ""},
		{"anthropic", "gpt-4o", ""},          // wrong provider
		{"openai", "gpt-4o-2024-08-06x", ""}, // globs are anchored
		{"aws.bedrock", "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", ""},
		{"openai", "", ""},
	}
	for _, tt := range tests {
		for pass := 0; pass < 2; pass++ { // second pass hits the pattern cache
			p, ok := c.Lookup(tt.provider, tt.model, at)
			gotID := ""
			if ok {
				gotID = p.ID
			}
			if gotID != tt.wantID {
				t.Errorf("pass %d: Lookup(%q, %q) = %q, want %q", pass, tt.provider, tt.model, gotID, tt.wantID)
			}
		}
	}
}

func TestEffectiveDating(t *testing.T) {
	// A price cut dated mid-window: 2026-06-15.
	c := mustLoad(t, `
prices:
  - {provider: acme, model: widget-1, effective_from: 2026-01-01, input: 1, output: 2, match: [widget-latest]}
  - {provider: acme, model: widget-1, effective_from: 2026-06-15, input: 0.5, output: 1}
`)
	tests := []struct {
		at     time.Time
		wantID string
		// 1000 input + 1000 output
		wantTotal string
	}{
		{day("2025-12-31"), "", ""},                                                  // before the first price
		{day("2026-01-01"), "acme/widget-1@2026-01-01", "0.003"},                     // 1000*1/1M + 1000*2/1M
		{day("2026-06-14").Add(23 * time.Hour), "acme/widget-1@2026-01-01", "0.003"}, // last hour of the old price
		{day("2026-06-15"), "acme/widget-1@2026-06-15", "0.0015"},                    // 1000*0.5/1M + 1000*1/1M
		{day("2026-12-01"), "acme/widget-1@2026-06-15", "0.0015"},
		{time.Time{}, "acme/widget-1@2026-06-15", "0.0015"}, // zero time = newest
	}
	for _, model := range []string{"widget-1", "widget-latest"} {
		for _, tt := range tests {
			p, ok := c.Lookup("acme", model, tt.at)
			if tt.wantID == "" {
				if ok {
					t.Errorf("%s at %v: got %s, want not found", model, tt.at, p.ID)
				}
				continue
			}
			if !ok || p.ID != tt.wantID {
				t.Errorf("%s at %v: got %v %v, want %s", model, tt.at, p, ok, tt.wantID)
				continue
			}
			if got := p.Cost(Usage{Input: 1000, Output: 1000}).Total; got != mustUSD(t, tt.wantTotal) {
				t.Errorf("%s at %v: total %s, want %s", model, tt.at, got, tt.wantTotal)
			}
		}
	}
}

func TestMergeOverride(t *testing.T) {
	base := mustBuiltin(t)
	user := mustLoad(t, `
version: acme-2026-09
prices:
  # same provider+model+effective_from: replaces the built-in entry
  - {provider: openai, model: gpt-4o, effective_from: 2026-07-24, input: 2, cache_read: 1, output: 8}
  # a later price for the same model
  - {provider: openai, model: gpt-4o, effective_from: 2026-10-01, input: 1, output: 4}
  # a private deployment name
  - {provider: azure.ai.openai, model: prod-chat, input: 2.75, output: 11, match: ["glob:prod-chat-*"]}
`)
	c := base.Merge(user)
	if got, want := c.Version(), "builtin-2026-07-24+acme-2026-09"; got != want {
		t.Errorf("Version() = %q, want %q", got, want)
	}
	if n, m := len(c.Prices()), len(base.Prices())+2; n != m {
		t.Errorf("merged has %d prices, want %d", n, m)
	}
	p, _ := c.Lookup("openai", "gpt-4o", day("2026-08-01"))
	// 1000*2/1M + 1000*8/1M = 0.01
	if got := p.Cost(Usage{Input: 1000, Output: 1000}).Total; got != mustUSD(t, "0.01") {
		t.Errorf("overridden gpt-4o total %s, want 0.01", got)
	}
	// The dated-snapshot pattern still resolves to the replaced entry and then to the later one.
	p, _ = c.Lookup("openai", "gpt-4o-2024-11-20", day("2026-10-02"))
	if p.ID != "openai/gpt-4o@2026-10-01" {
		t.Errorf("after 2026-10-01 got %s", p.ID)
	}
	p, ok := c.Lookup("azure.ai.openai", "prod-chat-eastus", at)
	if !ok || p.ID != "azure.ai.openai/prod-chat" {
		t.Errorf("deployment pattern: %v %v", p, ok)
	}
	// Nothing leaked into the base catalog.
	if _, ok := base.Lookup("azure.ai.openai", "prod-chat", at); ok {
		t.Error("Merge modified the base catalog")
	}
	if p, _ := base.Lookup("openai", "gpt-4o", day("2026-10-02")); p.Rates.Input != mustUSD(t, "2.5") {
		t.Error("base gpt-4o changed")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"bad decimal", `prices: [{provider: openai, model: m1, input: 1, output: "1,5"}]`,
			[]string{"prices[0] (openai/m1)", "output", "invalid decimal"}},
		{"too precise", `prices: [{provider: openai, model: m1, effective_from: 2026-01-02, input: 0.0000000000001}]`,
			[]string{"prices[0] (openai/m1@2026-01-02)", "input", "more decimal places"}},
		{"negative", `prices: [{provider: openai, model: m1, input: -1}]`, []string{"input: must not be negative"}},
		{"unknown field", `prices: [{provider: openai, model: m1, input: 1, cached_input: 0.5}]`,
			[]string{"cached_input", "not found"}},
		{"cache read above input", `prices: [{provider: anthropic, model: m2, input: 1, cache_read: 6}]`,
			[]string{"prices[0] (anthropic/m2)", "cache_read: 6 exceeds input 1"}},
		{"missing model", `prices: [{provider: openai, input: 1}]`, []string{"prices[0]", "model: required"}},
		{"missing provider", `prices: [{model: m1, input: 1}]`, []string{"provider: required"}},
		{"missing input", `prices: [{provider: openai, model: m1, output: 1}]`, []string{"input: required"}},
		{"bad date", `prices: [{provider: openai, model: m1, input: 1, effective_from: 2026-13-01}]`,
			[]string{"effective_from"}},
		{"duplicate", `
prices:
  - {provider: openai, model: m1, effective_from: 2026-01-01, input: 1}
  - {provider: openai, model: M1, effective_from: 2026-01-01, input: 2}`,
			[]string{"prices[1] (openai/M1@2026-01-01): duplicates prices[0]"}},
		{"tier order", `
prices:
  - provider: openai
    model: m1
    input: 1
    context_tiers: [{above: 200000, input: 2}, {above: 128000, input: 3}]`,
			[]string{"context_tiers[1].above"}},
		{"tier cache read", `
prices:
  - provider: openai
    model: m1
    input: 1
    context_tiers: [{above: 200000, cache_read: 3}]`,
			[]string{"context_tiers[0].cache_read: 3 exceeds input 1"}},
		{"unknown service tier", `
prices:
  - {provider: openai, model: m1, input: 1, service_tiers: {scale: {multiplier: 2}}}`,
			[]string{"service_tiers: unknown tier \"scale\""}},
		{"bad multiplier", `
prices:
  - {provider: openai, model: m1, input: 1, service_tiers: {batch: {multiplier: 0}}}`,
			[]string{"service_tiers.batch.multiplier"}},
		{"bad regex", `prices: [{provider: openai, model: m1, input: 1, match: ["re:(unclosed"]}]`,
			[]string{"match[0]"}},
		{"bad discount", `discounts: {openai: 2000}`, []string{"discounts.openai"}},
		{"bad mode", `prices: [{provider: openai, model: m1, input: 1, mode: image}]`, []string{"mode: unknown"}},
		{"empty", ``, []string{"empty catalog"}},
		{"all errors reported", `
prices:
  - {provider: openai, model: a, input: x}
  - {provider: openai, model: b, input: 1, output: y}`,
			[]string{"prices[0] (openai/a): input", "prices[1] (openai/b): output"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadVersionHash(t *testing.T) {
	y := "prices: [{provider: acme, model: m, input: 1}]\n"
	a, b := mustLoad(t, y), mustLoad(t, y)
	if a.Version() != b.Version() || !strings.HasPrefix(a.Version(), "sha256-") {
		t.Errorf("versions %q %q", a.Version(), b.Version())
	}
	if c := mustLoad(t, y+"# changed\n"); c.Version() == a.Version() {
		t.Error("different content, same version")
	}
}

// TestBuiltinInvariants checks the documented pricing patterns on every built-in entry.
func TestBuiltinInvariants(t *testing.T) {
	c := mustBuiltin(t)
	if len(c.Prices()) < 60 {
		t.Errorf("only %d built-in prices", len(c.Prices()))
	}
	for _, p := range c.Prices() {
		r := p.Rates
		if r.CacheRead != Unset && r.CacheRead > r.Input {
			t.Errorf("%s: cache read %s above input %s", p.ID, r.CacheRead, r.Input)
		}
		if r.Output != Unset && r.Output < r.Input && p.Mode != "embedding" {
			t.Errorf("%s: output %s below input %s", p.ID, r.Output, r.Input)
		}
		claude := p.Provider == "anthropic" || strings.Contains(p.Model, "anthropic.claude")
		if claude {
			// cache read 0.1x, 5-minute write 1.25x, 1-hour write 2x input
			if r.CacheRead*10 != r.Input || r.CacheWrite5m*4 != r.Input*5 ||
				(r.CacheWrite1h != Unset && r.CacheWrite1h != 2*r.Input) {
				t.Errorf("%s: Anthropic cache multipliers off: %+v", p.ID, r)
			}
			if p.Provider == "anthropic" && (p.Batch == nil || p.Batch.Multiplier != 500_000) {
				t.Errorf("%s: missing 50%% batch tier", p.ID)
			}
		}
		if p.Provider == "openai" && (p.Batch == nil || p.Batch.Multiplier != 500_000) {
			t.Errorf("%s: missing 50%% batch tier", p.ID)
		}
		for i, ct := range p.ContextTiers {
			if ct.Rates.Input != Unset && ct.Rates.Input <= r.Input {
				t.Errorf("%s: context tier %d input not above standard", p.ID, i)
			}
		}
		if p.EffectiveFrom != day("2026-07-24") && p.EffectiveFrom != day("2026-03-06") {
			t.Errorf("%s: unexpected effective_from", p.ID)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"gpt-4o-20??-??-??", "gpt-4o-2024-08-06", true},
		{"gpt-4o-20??-??-??", "gpt-4o-mini-2024-07-18", false},
		{"*anthropic.claude-*", "arn:aws:bedrock:x/us.anthropic.claude-3", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*", "", true},
		{"?", "", false},
		{"abc", "abc", true},
		{"abc*", "ab", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

func TestNormalizeProvider(t *testing.T) {
	for in, want := range map[string]string{
		"gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "az.ai.openai": "azure.ai.openai",
		"xai": "x_ai", "bedrock_converse": "aws.bedrock", "mistral": "mistral_ai", "openai": "openai",
		"ollama": "ollama",
	} {
		if got := NormalizeProvider(in); got != want {
			t.Errorf("NormalizeProvider(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPatternCacheBounded(t *testing.T) {
	c := mustLoad(t, `prices: [{provider: acme, model: m, input: 1, match: ["glob:m-*"]}]`)
	for i := 0; i < 3*patternCacheMax; i++ {
		c.Lookup("acme", fmt.Sprintf("unknown-%d", i), at)
	}
	if n := c.cache.n.Load(); n > patternCacheMax {
		t.Errorf("cache holds %d entries, limit %d", n, patternCacheMax)
	}
	if p, ok := c.Lookup("acme", "m-7", at); !ok || p.Model != "m" {
		t.Error("pattern lookup failed after cache resets")
	}
}

func TestConcurrentLookup(t *testing.T) {
	c := mustBuiltin(t)
	models := []string{"gpt-4o", "gpt-4o-2024-08-06", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "nope", "claude-3-5-sonnet-latest"}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				m := models[i%len(models)]
				p, ok := c.Lookup("", m, at)
				if ok != (m != "nope") {
					t.Errorf("Lookup(%q) ok=%v", m, ok)
					return
				}
				p.Cost(Usage{Input: 100, Output: 10})
			}
		}()
	}
	wg.Wait()
}

func TestExactLookupAndCostDoNotAllocate(t *testing.T) {
	c := mustBuiltin(t)
	u := Usage{Input: 1200, CacheRead: 400, Output: 300, Reasoning: 100, ServiceTier: "batch"}
	for _, tt := range []struct{ provider, model string }{
		{"openai", "gpt-4o"},
		{"anthropic", "claude-3-5-sonnet-latest"},                       // alias
		{"aws.bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0"}, // cached pattern
	} {
		c.Lookup(tt.provider, tt.model, at) // warm the pattern cache
		n := testing.AllocsPerRun(1000, func() {
			p, ok := c.Lookup(tt.provider, tt.model, at)
			if !ok {
				t.Fatal("not found")
			}
			_ = p.Cost(u)
		})
		if n != 0 {
			t.Errorf("%s/%s: %v allocs per lookup+cost, want 0", tt.provider, tt.model, n)
		}
	}
}

func TestLoadScalars(t *testing.T) {
	c := mustLoad(t, `
prices:
  - provider: acme
    model: m
    effective_from: "2026-02-01T00:00:00Z"
    input: "2.50"
    output: ~
    cache_read:
    match: ["glob:m-*", "re:acme-m-v[0-9]+", M-Alias]
`)
	p, ok := c.Lookup("acme", "m-alias", day("2026-02-01"))
	if !ok || p.Rates.Input != mustUSD(t, "2.5") || p.Rates.Output != Unset || p.Rates.CacheRead != Unset {
		t.Fatalf("got %+v %v", p, ok)
	}
	if _, ok := c.Lookup("acme", "ACME-M-V12", day("2026-02-01")); !ok {
		t.Error("regex alias not matched case-insensitively")
	}
	// 1000 input, 500 cached (inherits input rate), 10 output (null = 0): 1000*2.5/1M = 0.0025
	if got := p.Cost(Usage{Input: 1000, CacheRead: 500, Output: 10}).Total; got != mustUSD(t, "0.0025") {
		t.Errorf("total %s", got)
	}
	if _, err := Load([]byte(`prices: [{provider: a, model: m, input: [1]}]`)); err == nil ||
		!strings.Contains(err.Error(), "expected a number") {
		t.Errorf("sequence as a price: %v", err)
	}
	var nilCat *Catalog
	if _, ok := nilCat.Lookup("a", "m", at); ok || nilCat.Version() != "" || nilCat.Prices() != nil {
		t.Error("nil catalog")
	}
	if c.Merge(nil) != c || nilCat.Merge(c) != c {
		t.Error("Merge with nil")
	}
}
