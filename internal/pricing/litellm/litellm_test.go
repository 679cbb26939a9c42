package litellm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

const snapshotName = "litellm_model_prices_2026-07-24.json"

var day = time.Date(2026, 7, 24, 0, 0, 0, 0, time.UTC)

// knownBad are the data errors listed in REFERENCE §4, with the reason the
// importer must give. claude-3-5-haiku-20241022 is only in the subset (the
// 2026-07-24 snapshot dropped it).
var knownBad = map[string]string{
	"claude-3-haiku-20240307":   "1-hour cache write 6 is 24.0x input 0.25",
	"claude-3-opus-20240229":    "1-hour cache write 6 is below the 5-minute cache write 18.75",
	"claude-3-5-haiku-20241022": "1-hour cache write 6 is 7.5x input 0.8",
	"gemini/gemini-1.5-flash":   "mode embedding, but priced with a context tier above 128k tokens",
	"gpt-5-nano":                "priority tier: input 2.5 is 50.0x the standard 0.05",
}

func importFile(t *testing.T, path string) (*Result, map[string]map[string]json.Number) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(data, Options{Source: filepath.Base(path)})
	if err != nil {
		t.Fatal(err)
	}
	return res, sourceNumbers(t, data)
}

// sourceNumbers decodes the file independently of the importer: every
// numeric field of every entry, as its literal text.
func sourceNumbers(t *testing.T, data []byte) map[string]map[string]json.Number {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]json.Number{}
	for k, v := range raw {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		if d.Decode(&m) != nil {
			continue
		}
		out[k] = map[string]json.Number{}
		for f, x := range m {
			if n, ok := x.(json.Number); ok {
				out[k][f] = n
			}
		}
	}
	return out
}

func rejectedReasons(r *Result) map[string]string {
	m := map[string]string{}
	for _, x := range r.Rejected {
		m[x.Key] = strings.Join(x.Reasons, "; ")
	}
	return m
}

func priceByID(t *testing.T, r *Result, id string) *pricing.Price {
	t.Helper()
	for _, p := range r.Catalog.Prices() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no imported price %s", id)
	return nil
}

func TestImportSubset(t *testing.T) {
	res, _ := importFile(t, filepath.Join("testdata", "litellm_subset.json"))

	rej := rejectedReasons(res)
	for key, want := range knownBad {
		if !strings.Contains(rej[key], want) {
			t.Errorf("%s: rejected for %q, want a reason containing %q", key, rej[key], want)
		}
	}
	for key, want := range map[string]string{
		"azure_ai/Llama-4-Maverick-17B-128E-Instruct-FP8": "output 0.35 is below input 1.41: swapped?",
		"novita/baai/bge-m3":                              "mode embedding, but output tokens are priced 0.01",
		"deepseek/deepseek-chat":                          "conflicts with deepseek-chat",
	} {
		if !strings.Contains(rej[key], want) {
			t.Errorf("%s: rejected for %q, want %q", key, rej[key], want)
		}
	}
	if len(res.Rejected) != len(knownBad)+3 {
		t.Errorf("rejected %d entries, want %d: %v", len(res.Rejected), len(knownBad)+3, rej)
	}
	// Rejected entries are not in the catalog.
	for _, x := range res.Rejected {
		for _, im := range res.Imported {
			if im.Key == x.Key {
				t.Errorf("%s is both rejected and imported", x.Key)
			}
		}
	}
	if _, ok := res.Catalog.Lookup("anthropic", "claude-3-haiku-20240307", day); ok {
		t.Error("claude-3-haiku-20240307 was imported despite its bad 1-hour price")
	}

	skipped := map[string]string{}
	for _, s := range res.Skipped {
		skipped[s.Key] = s.Reason
	}
	for key, want := range map[string]string{
		"dall-e-3":                "mode image_generation",
		"whisper-1":               "mode audio_transcription",
		"fireworks-ai-default":    "no mode",
		"heroku/claude-3-5-haiku": "no token or request price",
		"sample_spec":             "documentation",
		"last_updated":            "metadata",
	} {
		if !strings.Contains(skipped[key], want) {
			t.Errorf("%s: skipped for %q, want %q", key, skipped[key], want)
		}
	}
	if got, want := len(res.Imported), res.Entries-len(res.Rejected)-(len(res.Skipped)-2); got != want || got < 25 {
		t.Errorf("imported %d of %d entries, want %d (>= 25)", got, res.Entries, want)
	}

	// Spot checks of the conversion, USD per 1M tokens.
	p := priceByID(t, res, "openai/gpt-4o@2026-07-24")
	if p.Rates.Input != usd(t, "2.5") || p.Rates.CacheRead != usd(t, "1.25") || p.Rates.Output != usd(t, "10") {
		t.Errorf("gpt-4o rates %+v", p.Rates)
	}
	// LiteLLM's gpt-4o batch (1.25/5) and priority (4.25/2.125/17) prices are
	// 0.5x and 1.7x standard throughout: written as multipliers.
	if p.Batch == nil || p.Batch.Multiplier.String() != "0.5" || p.Priority == nil || p.Priority.Multiplier.String() != "1.7" {
		t.Errorf("gpt-4o service tiers batch %+v priority %+v", p.Batch, p.Priority)
	}
	// gemini-2.5-pro's above-200k tier.
	p = priceByID(t, res, "gcp.gemini/gemini-2.5-pro@2026-07-24")
	if len(p.ContextTiers) != 1 || p.ContextTiers[0].Above != 200000 || p.ContextTiers[0].Rates.Input != usd(t, "2.5") || p.ContextTiers[0].Rates.Output != usd(t, "15") {
		t.Errorf("gemini-2.5-pro context tiers %+v", p.ContextTiers)
	}
	// Anthropic 5-minute and 1-hour cache writes.
	p = priceByID(t, res, "anthropic/claude-sonnet-4-5@2026-07-24")
	if p.Rates.CacheWrite5m != usd(t, "3.75") || p.Rates.CacheWrite1h != usd(t, "6") {
		t.Errorf("claude-sonnet-4-5 cache writes %+v", p.Rates)
	}
	// Reranking is priced per query, Perplexity online models per request.
	if p := priceByID(t, res, "cohere/rerank-english-v3.0@2026-07-24"); p.Rates.Request != usd(t, "0.002") || p.Mode != "rerank" {
		t.Errorf("rerank %+v", p)
	}
	if p := priceByID(t, res, "perplexity/sonar-small-online@2026-07-24"); p.Rates.Request != usd(t, "0.005") {
		t.Errorf("perplexity request fee %+v", p.Rates)
	}
	// Provider prefixes are stripped from the model name and normalized.
	for _, id := range []string{"azure.ai.openai/gpt-4o@2026-07-24", "mistral_ai/mistral-large-latest@2026-07-24", "x_ai/grok-4@2026-07-24", "groq/llama-3.3-70b-versatile@2026-07-24"} {
		priceByID(t, res, id)
	}
	// A price in float noise is rounded to the picodollar per 1M and reported.
	if len(res.Rounded) != 1 || res.Rounded[0].Key != "databricks/databricks-gpt-5-nano" || res.Rounded[0].Out != "0.39998" {
		t.Errorf("rounded %+v", res.Rounded)
	}

	// The same call costs the same from the imported and the built-in catalog.
	// gpt-4o: 600*2.5/1M + 400*1.25/1M + 200*10/1M = 0.0015 + 0.0005 + 0.002 = 0.004
	bi, _ := pricing.Builtin()
	u := pricing.Usage{Input: 1000, CacheRead: 400, Output: 200}
	a, _ := res.Catalog.Lookup("openai", "gpt-4o", day)
	b, _ := bi.Lookup("openai", "gpt-4o", day)
	if a.Cost(u).Total != usd(t, "0.004") || b.Cost(u).Total != usd(t, "0.004") {
		t.Errorf("gpt-4o cost imported %s, built-in %s, want 0.004", a.Cost(u).Total, b.Cost(u).Total)
	}

	report := res.Report()
	for _, want := range []string{"REJECTED (inconsistent, not imported): 8", "claude-3-opus-20240229 (anthropic)", "gpt-5-nano (openai)", "ROUNDED", "SKIPPED"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func usd(t *testing.T, s string) pricing.Amount {
	t.Helper()
	a, err := pricing.ParseUSD(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// snapshotPath finds ../shared/data beside the repository, as CI lays it out.
func snapshotPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AIOPS_LITELLM_SNAPSHOT"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", snapshotName)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("LiteLLM snapshot not found at %s (CI places ../shared beside the clone; or set AIOPS_LITELLM_SNAPSHOT): skipping the full-snapshot import test", p)
	}
	return p
}

var rateSource = map[string]string{
	"input": "input_cost_per_token", "cache_read": "cache_read_input_token_cost", "cache_write_5m": "cache_creation_input_token_cost",
	"cache_write_1h": "cache_creation_input_token_cost_above_1hr", "output": "output_cost_per_token", "reasoning": "output_cost_per_reasoning_token",
}

func rateOf(r *pricing.Rates, f string) pricing.Amount {
	switch f {
	case "input":
		return r.Input
	case "cache_read":
		return r.CacheRead
	case "cache_write_5m":
		return r.CacheWrite5m
	case "cache_write_1h":
		return r.CacheWrite1h
	case "output":
		return r.Output
	case "reasoning":
		return r.Reasoning
	}
	panic(f)
}

// picoPer1M converts a per-token literal to picodollars per 1M tokens:
// value × 1e6 tokens × 1e12 pd/USD, exact.
func picoPer1M(t *testing.T, n json.Number) (pricing.Amount, bool) {
	d, err := decimal.NewFromString(n.String())
	if err != nil {
		t.Fatal(err)
	}
	d = d.Shift(18)
	return pricing.Amount(d.IntPart()), d.IsInteger()
}

// checkEntry compares every price the source gives for key with the
// imported entry: standard, context tiers and service tiers.
func checkEntry(t *testing.T, key string, src map[string]json.Number, p *pricing.Price) int {
	t.Helper()
	checked := 0
	eq := func(field string, got pricing.Amount, n json.Number) {
		want, exact := picoPer1M(t, n)
		if !exact {
			t.Errorf("%s %s: source %s is finer than a picodollar per 1M; not a sample candidate", key, field, n)
		}
		if got != want {
			t.Errorf("%s %s: imported %s per 1M, source %s per token (= %s per 1M)", key, field, got, n, want)
		}
		checked++
	}
	for f, sf := range rateSource {
		if n, ok := src[sf]; ok {
			eq(sf, rateOf(&p.Rates, f), n)
		}
	}
	for _, ct := range p.ContextTiers {
		for f, sf := range rateSource {
			n, ok := src[sf+"_above_"+strconv.FormatInt(ct.Above/1000, 10)+"k_tokens"]
			if ok && rateOf(&ct.Rates, f) != pricing.Unset {
				eq(sf+" above "+strconv.FormatInt(ct.Above, 10), rateOf(&ct.Rates, f), n)
			}
		}
	}
	for suffix, tier := range map[string]*pricing.TierRates{"batches": p.Batch, "flex": p.Flex, "priority": p.Priority} {
		for f, sf := range rateSource {
			n, ok := src[sf+"_"+suffix]
			if !ok {
				continue
			}
			if tier == nil {
				t.Errorf("%s: source has %s_%s but the %s tier was not imported", key, sf, suffix, suffix)
				continue
			}
			got := rateOf(&tier.Rates, f)
			if got == pricing.Unset { // multiplier × standard rate, exactly
				m, _ := decimal.NewFromString(tier.Multiplier.String())
				got = pricing.Amount(decimal.NewFromInt(int64(rateOf(&p.Rates, f))).Mul(m).IntPart())
			}
			eq(sf+"_"+suffix, got, n)
		}
	}
	return checked
}

func TestImportSnapshot(t *testing.T) {
	path := snapshotPath(t)
	res, src := importFile(t, path)

	// Every known bad entry in the snapshot is reported, and not imported.
	rej := rejectedReasons(res)
	for key, want := range knownBad {
		if _, inSnapshot := src[key]; !inSnapshot {
			continue // claude-3-5-haiku-20241022 left LiteLLM before this snapshot
		}
		if !strings.Contains(rej[key], want) {
			t.Errorf("%s: rejected for %q, want %q", key, rej[key], want)
		}
	}
	if res.Entries != 2983 {
		t.Errorf("read %d entries, want 2983 (2985 keys minus sample_spec and last_updated)", res.Entries)
	}
	// The good ones import: every entry is either imported, rejected with a
	// reason or skipped with a reason, and rejections are the exception.
	if n := len(res.Imported) + len(res.Rejected) + len(res.Skipped) - 2; n != res.Entries {
		t.Errorf("imported %d + rejected %d + skipped %d != %d entries", len(res.Imported), len(res.Rejected), len(res.Skipped)-2, res.Entries)
	}
	if len(res.Imported) < 2300 || len(res.Rejected) > 40 {
		t.Errorf("imported %d, rejected %d: want most chat/embedding entries imported", len(res.Imported), len(res.Rejected))
	}
	for _, x := range res.Rejected {
		if len(x.Reasons) == 0 {
			t.Errorf("%s rejected without a reason", x.Key)
		}
	}
	if len(res.Catalog.Prices()) != len(res.Imported) {
		t.Errorf("catalog holds %d prices, imported %d", len(res.Catalog.Prices()), len(res.Imported))
	}

	// 20 sampled imported prices match the source exactly. The sample is
	// every k-th imported entry in key order, among entries whose prices are
	// exact decimals (the rounded ones are checked below).
	rounded := map[string]bool{}
	for _, r := range res.Rounded {
		rounded[r.Key] = true
	}
	var candidates []Imported
	for _, im := range res.Imported {
		if !rounded[im.Key] {
			candidates = append(candidates, im)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Key < candidates[j].Key })
	stride := len(candidates) / 20
	var sampled []string
	fields := 0
	for i := 0; i < 20; i++ {
		im := candidates[i*stride+stride/2]
		sampled = append(sampled, im.Key)
		fields += checkEntry(t, im.Key, src[im.Key], priceByID(t, res, im.ID))
	}
	t.Logf("sampled %v: %d prices compared exactly", sampled, fields)
	if fields < 40 {
		t.Errorf("only %d prices compared", fields)
	}
	// Named samples with context and service tiers.
	for _, key := range []string{"gpt-4o", "gpt-5.4", "gemini/gemini-2.5-pro", "claude-sonnet-4-5", "text-embedding-3-large"} {
		var id string
		for _, im := range res.Imported {
			if im.Key == key {
				id = im.ID
			}
		}
		if id == "" {
			t.Errorf("%s not imported", key)
			continue
		}
		checkEntry(t, key, src[key], priceByID(t, res, id))
	}

	// Rounded values: listed in the report and within half a picodollar per
	// 1M tokens of the source.
	half := decimal.New(5, -13)
	for _, r := range res.Rounded {
		s, _ := decimal.NewFromString(r.Source)
		o, _ := decimal.NewFromString(r.Out)
		if s.Shift(6).Sub(o).Abs().GreaterThan(half) {
			t.Errorf("%s %s: rounded %s from %s", r.Key, r.Field, r.Out, r.Source)
		}
	}
	report := res.Report()
	for _, key := range []string{"claude-3-haiku-20240307", "claude-3-opus-20240229", "gemini/gemini-1.5-flash", "gpt-5-nano"} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(key) + ` \(`).MatchString(report) {
			t.Errorf("report does not list %s as rejected", key)
		}
	}
}

func TestImportErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		opts Options
		want string
	}{
		"not json":     {in: "[1, 2]", want: "not a JSON object"},
		"no date":      {in: `{"m": {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 1e-6}}`, want: "no last_updated date"},
		"bad date":     {in: `{"last_updated": "yesterday"}`, want: "is not a date"},
		"explicit day": {in: `{"m": {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 1e-6}}`, opts: Options{EffectiveFrom: day}},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Import([]byte(tc.in), tc.opts)
			if tc.want == "" {
				if err != nil || len(res.Imported) != 1 || res.Imported[0].ID != "openai/m@2026-07-24" {
					t.Fatalf("got %+v, %v", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestImportRejectsBadValues(t *testing.T) {
	in := `{"last_updated": "2026-07-24",
	  "neg":   {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": -1e-6, "output_cost_per_token": 2e-6},
	  "str":   {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": "1e-6", "output_cost_per_token": 2e-6},
	  "noprov": {"mode": "chat", "input_cost_per_token": 1e-6},
	  "cr":    {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 1e-6, "cache_read_input_token_cost": 2e-6, "output_cost_per_token": 2e-6},
	  "tier":  {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 2e-6, "input_cost_per_token_above_200k_tokens": 1e-6, "output_cost_per_token": 4e-6},
	  "batch": {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 2e-6, "input_cost_per_token_batches": 3e-6, "output_cost_per_token": 4e-6},
	  "ok":    {"mode": "chat", "litellm_provider": "openai", "input_cost_per_token": 2e-6, "input_cost_per_token_batches": 1e-6, "output_cost_per_token": 4e-6, "output_cost_per_token_batches": 2e-6}
	}`
	res, err := Import([]byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rej := rejectedReasons(res)
	for key, want := range map[string]string{
		"neg":    "input_cost_per_token: -1e-6 is negative",
		"str":    "is not a number",
		"noprov": "litellm_provider: missing",
		"cr":     "cache read 2 is above input 1",
		"tier":   "above 200k tokens: input 1 is below the standard 2",
		"batch":  "batch tier: input 3 is above the standard 2",
	} {
		if !strings.Contains(rej[key], want) {
			t.Errorf("%s: %q, want %q", key, rej[key], want)
		}
	}
	if len(res.Imported) != 1 || res.Imported[0].Key != "ok" {
		t.Fatalf("imported %+v", res.Imported)
	}
	if p := priceByID(t, res, "openai/ok@2026-07-24"); p.Batch == nil || p.Batch.Multiplier.String() != "0.5" {
		t.Errorf("batch tier %+v", p.Batch)
	}
}
