package providerusage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/mockprovider"
)

func openAI(source string) map[string]any {
	return map[string]any{genai.PUProvider: "openai", genai.PUSource: source}
}

func anthropic(source string) map[string]any {
	return map[string]any{genai.PUProvider: "anthropic", genai.PUSource: source}
}

func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// Every report of both providers is read across its three pages, with each
// API's own paging and grouping parameters; the sums are the fixture's.
func TestPaginatesEveryReport(t *testing.T) {
	m := newMocks(t)
	h := newHarness(t, m.config(), nil)
	h.poll()

	for _, c := range []struct {
		srv     *mockprovider.Server
		path    string
		groupBy string
		groups  []string
		limit   string
	}{
		{m.openai, mockprovider.OpenAICompletions, "group_by", []string{"project_id", "api_key_id", "model", "batch", "service_tier"}, "31"},
		{m.openai, mockprovider.OpenAIEmbeddings, "group_by", []string{"project_id", "api_key_id", "model"}, "31"},
		{m.openai, mockprovider.OpenAICosts, "group_by", []string{"project_id", "line_item"}, "180"},
		{m.anthropic, mockprovider.AnthropicMessages, "group_by[]", []string{"model", "workspace_id", "api_key_id", "service_tier", "context_window"}, "31"},
		{m.anthropic, mockprovider.AnthropicCosts, "group_by[]", []string{"workspace_id", "description"}, "31"},
	} {
		var pages []int
		for i, r := range c.srv.Requests() {
			if r.Path != c.path {
				continue
			}
			pages = append(pages, r.Page)
			if !reflect.DeepEqual(r.Query[c.groupBy], c.groups) || r.Query.Get("bucket_width") != "1d" || r.Query.Get("limit") != c.limit {
				t.Errorf("%s request %d: %v", c.path, i, r.Query)
			}
			if want := map[int]string{0: "", 1: "page_1", 2: "page_2"}[r.Page]; r.Query.Get("page") != want {
				t.Errorf("%s page %d asked with page=%q", c.path, r.Page, r.Query.Get("page"))
			}
		}
		if !reflect.DeepEqual(pages, []int{0, 1, 2}) {
			t.Errorf("%s: pages served %v, want 0, 1, 2", c.path, pages)
		}
	}
	// The window starts at midnight UTC seven days back, in each API's syntax.
	start := time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC)
	if q := m.openai.Requests()[0].Query; q.Get("start_time") != fmt.Sprint(start.Unix()) || q.Has("end_time") {
		t.Errorf("openai window: %v", q)
	}
	if q := m.anthropic.Requests()[0].Query; q.Get("starting_at") != "2026-11-13T00:00:00Z" || q.Has("ending_at") {
		t.Errorf("anthropic window: %v", q)
	}

	recs := h.records()
	if len(recs) != 27 {
		t.Fatalf("%d records, want 6 + 3 + 6 + 6 + 6", len(recs))
	}
	support := with(openAI("completions"), genai.PUProjectID, "proj_support")
	for key, want := range map[string]int64{
		// 1000(1+2+3) input of which 400(1+2+3) cached: 3600 uncached.
		genai.PUInputTokens: 3600, genai.PUCacheReadTokens: 2400, genai.PUOutputTokens: 1200, genai.PURequests: 60,
	} {
		if got := sum(recs, key, support); got != want {
			t.Errorf("openai completions proj_support %s = %d, want %d", key, got, want)
		}
	}
	unmapped := with(openAI("completions"), genai.PUProjectID, "proj_unmapped")
	if in, out, req := sum(recs, genai.PUInputTokens, unmapped), sum(recs, genai.PUOutputTokens, unmapped), sum(recs, genai.PURequests, unmapped); in != 1500 || out != 150 || req != 15 {
		t.Errorf("proj_unmapped: %d in, %d out, %d requests; want 1500, 150, 15", in, out, req)
	}
	if in, req := sum(recs, genai.PUInputTokens, openAI("embeddings")), sum(recs, genai.PURequests, openAI("embeddings")); in != 2400 || req != 12 {
		t.Errorf("embeddings: %d in, %d requests; want 2400, 12", in, req)
	}
	kb := with(anthropic("messages"), genai.PUProjectID, "wrkspc_kb")
	for key, want := range map[string]int64{
		genai.PUInputTokens: 2700, genai.PUCacheReadTokens: 9000, genai.PUCacheWrite5mTokens: 600, genai.PUCacheWrite1hTokens: 150,
		genai.PUOutputTokens: 750, genai.PUWebSearchRequests: 9,
	} {
		if got := sum(recs, key, kb); got != want {
			t.Errorf("anthropic wrkspc_kb %s = %d, want %d", key, got, want)
		}
	}
	def := with(anthropic("messages"), genai.PUProjectID, "")
	if in, out := sum(recs, genai.PUInputTokens, def), sum(recs, genai.PUOutputTokens, def); in != 300 || out != 60 {
		t.Errorf("default workspace: %d in, %d out; want 300, 60", in, out)
	}
	p := h.points()
	for k, want := range map[string]int64{
		"aiops_provider_usage_requests{outcome=ok,provider=openai,report=completions}":    3,
		"aiops_provider_usage_requests{outcome=ok,provider=anthropic,report=cost_report}": 3,
		"aiops_provider_usage_records_emitted{provider=openai,report=costs}":              6,
		"aiops_provider_usage_polls{outcome=ok,provider=openai}":                          1,
		"aiops_provider_usage_polls{outcome=ok,provider=anthropic}":                       1,
		"aiops_provider_usage_last_success{provider=openai}":                              now.Unix(),
	} {
		if p[k] != want {
			t.Errorf("%s = %d, want %d", k, p[k], want)
		}
	}
}

// One record carries its bucket, its group, its poll time and, through the
// mapping, its attribution; an unmapped group carries none.
func TestRecordShapeAndMapping(t *testing.T) {
	m := newMocks(t)
	h := newHarness(t, m.config(), nil)
	h.poll()
	recs := h.records()
	today := mockprovider.Day(now)
	r := where(recs, with(openAI("completions"), genai.PUProjectID, "proj_support", genai.PUBucketStart, today.Unix()))
	if len(r) != 1 {
		t.Fatalf("today's proj_support completions: %d records", len(r))
	}
	want := map[string]any{
		"event": genai.ProviderUsageEvent, "ts": bucketTS(2),
		genai.PUProvider: "openai", genai.PUSource: "completions", genai.PUBucketStart: today.Unix(), genai.PUBucketEnd: today.AddDate(0, 0, 1).Unix(),
		genai.PUModel: "gpt-4o-2024-08-06", genai.PUProjectID: "proj_support", genai.PUAPIKeyID: "key_support", genai.PUServiceTier: "default",
		genai.PUBatch: "false", genai.PULineItem: "", genai.PUCostType: "", genai.PUTokenType: "", genai.PUContext: "",
		genai.PUInputTokens: int64(1800), genai.PUCacheReadTokens: int64(1200), genai.PUOutputTokens: int64(600),
		genai.PUInputAudioTokens: int64(0), genai.PUOutputAudioTokens: int64(0), genai.PURequests: int64(30),
		genai.PUPollTime: now.UnixNano(), genai.AIOpsWorkload: "support-bot", genai.AIOpsTenantID: "acme", genai.AIOpsTeam: "cx",
	}
	if !reflect.DeepEqual(r[0], want) {
		t.Errorf("record\n got %v\nwant %v", r[0], want)
	}
	for _, rec := range where(recs, with(openAI("costs"), genai.PUProjectID, "proj_unmapped")) {
		if _, ok := rec[genai.AIOpsWorkload]; ok || rec["event"] != genai.ProviderCostEvent {
			t.Errorf("unmapped project's cost: %v", rec)
		}
	}
	// Anthropic's default workspace (null) is mapped through "default".
	for _, rec := range where(recs, anthropic("cost_report")) {
		switch rec[genai.PUProjectID] {
		case "":
			if rec[genai.AIOpsTeam] != "platform" || rec[genai.AIOpsWorkload] != nil {
				t.Errorf("default workspace: %v", rec)
			}
		case "wrkspc_kb":
			if rec[genai.AIOpsWorkload] != "kb-rag" || rec[genai.PUCostType] != "tokens" || rec[genai.PUTokenType] != "uncached_input_tokens" ||
				rec[genai.PUModel] != "claude-sonnet-4-20250514" || rec[genai.PUContext] != "0-200k" || rec[genai.PUServiceTier] != "standard" {
				t.Errorf("wrkspc_kb: %v", rec)
			}
		}
	}
}

// Money stays exact decimal text: OpenAI's dollars as a JSON number read
// from its text, Anthropic's cents as a decimal string, shifted.
func TestMoneyIsExact(t *testing.T) {
	m := newMocks(t)
	m.openai.SetReport(mockprovider.OpenAICosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{
			mockprovider.OpenAICostText("p1", "a", "0.0225"),
			mockprovider.OpenAICostText("p2", "b", "1e-7"),
			mockprovider.OpenAICostText("p3", "c", "0.0000000000015"), // below a picodollar: rounded half away from zero
			mockprovider.OpenAICostText("p4", "d", "0.30000000000000004"),
			mockprovider.OpenAICostText("p5", "e", "-2.5"), // a credit
		}
	}))
	m.anthropic.SetReport(mockprovider.AnthropicCosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{
			mockprovider.AnthropicCost("w1", "x", "m", "output_tokens", "123.45"),
			mockprovider.AnthropicCost("w2", "y", "m", "output_tokens", "0.0001"),
		}
	}))
	h := newHarness(t, m.config(), nil)
	h.poll()
	got := map[string]string{}
	for _, r := range h.records() {
		if r[genai.PUCost] != nil {
			got[r[genai.PUProjectID].(string)] = r[genai.PUCost].(string) + " " + r[genai.PUCurrency].(string)
		}
	}
	want := map[string]string{"p1": "0.0225 USD", "p2": "0.0000001 USD", "p3": "0.000000000002 USD", "p4": "0.3 USD", "p5": "-2.5 USD",
		"w1": "1.2345 USD", "w2": "0.000001 USD"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("costs\n got %v\nwant %v", got, want)
	}
}

// A 429 waits what Retry-After says (seconds, or an HTTP date), then the
// report is read whole.
func TestRateLimitHonoursRetryAfter(t *testing.T) {
	m := newMocks(t)
	m.openai.Script(mockprovider.OpenAICompletions, mockprovider.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"})
	m.anthropic.Script(mockprovider.AnthropicMessages, mockprovider.Fault{Status: http.StatusTooManyRequests,
		RetryAfter: now.Add(90 * time.Second).Format(http.TimeFormat)})
	h := newHarness(t, m.config(), nil)
	h.poll()
	waits := h.sleep.got()
	slices.Sort(waits)
	if !reflect.DeepEqual(waits, []time.Duration{7 * time.Second, 90 * time.Second}) {
		t.Errorf("waits %v, want 7s (openai) and 90s (anthropic)", waits)
	}
	if n := len(where(h.records(), openAI("completions"))); n != 6 {
		t.Errorf("completions: %d records after the 429, want 6", n)
	}
	if n := len(where(h.records(), anthropic("messages"))); n != 6 {
		t.Errorf("messages: %d records after the 429, want 6", n)
	}
	if n := len(m.openai.Requests()) - 9; n != 1 {
		t.Errorf("%d extra openai requests, want the one answered 429", n)
	}
	p := h.points()
	if p["aiops_provider_usage_requests{outcome=rate_limited,provider=openai,report=completions}"] != 1 ||
		p["aiops_provider_usage_polls{outcome=ok,provider=openai}"] != 1 {
		t.Errorf("telemetry: %v", p)
	}
}

// 5xx (and Anthropic's 529) are retried after 1s, 2s, ...
func TestServerErrorsAreRetried(t *testing.T) {
	m := newMocks(t)
	m.openai.Script(mockprovider.OpenAICosts, mockprovider.Fault{Status: 503}, mockprovider.Fault{Status: 500})
	m.anthropic.Script(mockprovider.AnthropicCosts, mockprovider.Fault{Status: 529})
	h := newHarness(t, m.config(), nil)
	h.poll()
	waits := h.sleep.got()
	slices.Sort(waits)
	if !reflect.DeepEqual(waits, []time.Duration{time.Second, time.Second, 2 * time.Second}) {
		t.Errorf("waits %v, want 1s, 2s (openai) and 1s (anthropic)", waits)
	}
	if n := len(h.records()); n != 27 {
		t.Errorf("%d records, want all 27", n)
	}
	p := h.points()
	if p["aiops_provider_usage_requests{outcome=server_error,provider=openai,report=costs}"] != 2 ||
		p["aiops_provider_usage_requests{outcome=server_error,provider=anthropic,report=cost_report}"] != 1 {
		t.Errorf("telemetry: %v", p)
	}
}

// After max_attempts the report waits for the next poll; the others are
// still read, and the failure is logged once.
func TestGivesUpAfterMaxAttempts(t *testing.T) {
	m := newMocks(t)
	cfg := m.config()
	cfg.Anthropic = configoptional.None[AnthropicConfig]()
	for i := 0; i < 8; i++ {
		m.openai.Script(mockprovider.OpenAIEmbeddings, mockprovider.Fault{Status: 502})
	}
	h := newHarness(t, cfg, nil)
	h.poll()
	h.poll()
	if waits := h.sleep.got(); !reflect.DeepEqual(waits, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second, 4 * time.Second}) {
		t.Errorf("waits %v", waits)
	}
	recs := h.records()
	if len(where(recs, openAI("embeddings"))) != 0 || len(where(recs, openAI("completions"))) != 12 || len(where(recs, openAI("costs"))) != 12 {
		t.Errorf("records: %d", len(recs))
	}
	p := h.points()
	if p["aiops_provider_usage_requests{outcome=server_error,provider=openai,report=embeddings}"] != 8 ||
		p["aiops_provider_usage_polls{outcome=partial,provider=openai}"] != 2 || p["aiops_provider_usage_last_success{provider=openai}"] != 0 {
		t.Errorf("telemetry: %v", p)
	}
	if n := h.logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("reading a provider report failed").Len(); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}

// A Retry-After beyond what one poll waits leaves the report to the next.
func TestRetryAfterTooLongWaitsForTheNextPoll(t *testing.T) {
	m := newMocks(t)
	m.openai.Script(mockprovider.OpenAICompletions, mockprovider.Fault{Status: 429, RetryAfter: "3600"})
	h := newHarness(t, m.config(), nil)
	h.poll()
	if w := h.sleep.got(); len(w) != 0 {
		t.Errorf("waited %v", w)
	}
	if n := len(where(h.records(), openAI("completions"))); n != 0 {
		t.Errorf("%d completions records", n)
	}
	if e := h.logs.FilterMessageSnippet("reading a provider report failed").All(); len(e) != 1 ||
		!strings.Contains(e[0].ContextMap()["error"].(string), "asked to wait 1h0m0s") {
		t.Errorf("log: %v", e)
	}
}

// A refused key is reported once at error level and not retried: one
// request per poll, and no other report of that provider is asked. Once a
// poll succeeds, a later refusal is reported again.
func TestUnauthorizedIsReportedOnceNotRetried(t *testing.T) {
	m := newMocks(t)
	cfg := m.config()
	cfg.OpenAI.Get().AdminKey = "sk-admin-revoked"
	h := newHarness(t, cfg, nil)
	h.poll()
	h.poll()
	reqs := m.openai.Requests()
	if len(reqs) != 2 || reqs[0].Path != mockprovider.OpenAICompletions || reqs[0].Status != 401 || reqs[1].Status != 401 {
		t.Fatalf("openai saw %v, want one refused request per poll", reqs)
	}
	if len(h.sleep.got()) != 0 {
		t.Errorf("waited %v before giving up", h.sleep.got())
	}
	errs := h.logs.FilterLevelExact(zapcore.ErrorLevel).All()
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "openai refused the admin key: check openai.admin_key") {
		t.Fatalf("error logs: %v", errs)
	}
	for _, e := range h.logs.All() {
		if strings.Contains(fmt.Sprint(e.ContextMap()), "revoked") || strings.Contains(e.Message, "revoked") {
			t.Errorf("the key is logged: %v", e)
		}
	}
	// Anthropic is polled as ever.
	if n := len(where(h.records(), map[string]any{genai.PUProvider: "anthropic"})); n != 24 {
		t.Errorf("anthropic records: %d, want 12 a poll", n)
	}
	p := h.points()
	if p["aiops_provider_usage_requests{outcome=unauthorized,provider=openai,report=completions}"] != 2 ||
		p["aiops_provider_usage_polls{outcome=failed,provider=openai}"] != 2 {
		t.Errorf("telemetry: %v", p)
	}

	// The key is fixed, then refused again (403 this time): reported again.
	h.r.providers[0].headers.Set("Authorization", "Bearer "+openAIKey)
	h.poll()
	m.openai.Script(mockprovider.OpenAICompletions, mockprovider.Fault{Status: 403})
	h.poll()
	if n := h.logs.FilterLevelExact(zapcore.ErrorLevel).Len(); n != 2 {
		t.Errorf("%d error logs after a success and a new refusal, want 2", n)
	}
	if p := h.points(); p["aiops_provider_usage_requests{outcome=forbidden,provider=openai,report=completions}"] != 1 {
		t.Errorf("telemetry: %v", p)
	}
}

// Rows that are not what the documentation says are counted; a row whose
// money cannot be read is not emitted, one with a bad count is, with 0.
func TestBadRowsAreCounted(t *testing.T) {
	m := newMocks(t)
	m.openai.SetReport(mockprovider.OpenAICompletions, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		neg := mockprovider.OpenAIUsage{Model: "m", Project: "neg", Input: 10, Output: 5}.Row("organization.usage.completions.result")
		neg["output_tokens"] = -5
		frac := mockprovider.OpenAIUsage{Model: "m", Project: "frac", Input: 10}.Row("organization.usage.completions.result")
		frac["num_model_requests"] = 1.5
		over := mockprovider.OpenAIUsage{Model: "m", Project: "over", Input: 10, Cached: 20}.Row("organization.usage.completions.result")
		return []map[string]any{neg, frac, over}
	}))
	m.openai.SetReport(mockprovider.OpenAICosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{mockprovider.OpenAICostText("p", "x", "1e400"), mockprovider.OpenAICostText("q", "y", "0.5")}
	}))
	m.anthropic.SetReport(mockprovider.AnthropicCosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{mockprovider.AnthropicCost("w", "x", "m", "t", "twelve")}
	}))
	h := newHarness(t, m.config(), nil)
	h.poll()
	recs := h.records()
	if r := where(recs, with(openAI("completions"), genai.PUProjectID, "neg")); len(r) != 1 || r[0][genai.PUOutputTokens] != int64(0) || r[0][genai.PUInputTokens] != int64(10) {
		t.Errorf("negative output: %v", r)
	}
	if r := where(recs, with(openAI("completions"), genai.PUProjectID, "over")); len(r) != 1 || r[0][genai.PUInputTokens] != int64(0) || r[0][genai.PUCacheReadTokens] != int64(20) {
		t.Errorf("cached above input: %v", r)
	}
	if n, total := len(where(recs, openAI("costs"))), len(where(recs, anthropic("cost_report"))); n != 1 || total != 0 {
		t.Errorf("cost rows emitted: openai %d (want the readable one), anthropic %d", n, total)
	}
	p := h.points()
	for k, want := range map[string]int64{
		"aiops_provider_usage_row_problems{provider=openai,reason=bad_count,report=completions}":           2,
		"aiops_provider_usage_row_problems{provider=openai,reason=inconsistent_counts,report=completions}": 1,
		"aiops_provider_usage_row_problems{provider=openai,reason=bad_amount,report=costs}":                1,
		"aiops_provider_usage_row_problems{provider=anthropic,reason=bad_amount,report=cost_report}":       1,
	} {
		if p[k] != want {
			t.Errorf("%s = %d, want %d", k, p[k], want)
		}
	}
}

// A server that breaks its own paging, or sends no data, is stopped and
// counted; whole buckets already read are kept.
func TestBrokenPagingIsStopped(t *testing.T) {
	page := func(start int64) string {
		return fmt.Sprintf(`{"object":"page","data":[{"object":"bucket","start_time":%d,"end_time":%d,"results":[`+
			`{"object":"organization.usage.completions.result","input_tokens":7,"num_model_requests":1,"model":"m"}]}],"has_more":true,"next_page":"same"}`,
			start, start+86400)
	}
	day0 := mockprovider.Day(now).Unix()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case mockprovider.OpenAICompletions:
			if r.URL.Query().Get("page") == "" {
				fmt.Fprint(w, page(day0-86400))
			} else {
				fmt.Fprint(w, page(day0))
			}
		case mockprovider.OpenAIEmbeddings:
			fmt.Fprint(w, `{"error": null}`)
		default:
			fmt.Fprint(w, `{"data":[{"start_time":"yesterday","end_time":1,"results":[{"amount":{"value":1,"currency":"usd"}}]}],"has_more":false}`)
		}
	}))
	defer srv.Close()
	cfg := createDefaultConfig()
	oa := cfg.OpenAI.GetOrInsertDefault()
	oa.AdminKey, oa.Endpoint = "k", srv.URL
	h := newHarness(t, cfg, nil)
	h.poll()
	if n := sum(h.records(), genai.PUInputTokens, openAI("completions")); n != 14 {
		t.Errorf("completions input %d, want 7 from each of the two pages read", n)
	}
	p := h.points()
	for k, want := range map[string]int64{
		"aiops_provider_usage_requests{outcome=ok,provider=openai,report=completions}":              2,
		"aiops_provider_usage_requests{outcome=invalid_response,provider=openai,report=embeddings}": 1,
		"aiops_provider_usage_row_problems{provider=openai,reason=bad_bucket,report=costs}":         1,
		"aiops_provider_usage_polls{outcome=partial,provider=openai}":                               1,
	} {
		if p[k] != want {
			t.Errorf("%s = %d, want %d", k, p[k], want)
		}
	}
	if e := h.logs.FilterMessageSnippet("reading a provider report failed").All(); len(e) != 2 ||
		!strings.Contains(fmt.Sprint(e[0].ContextMap()), "has_more without a new next_page") {
		t.Errorf("warnings: %v", e)
	}
}

// A pipeline that refuses a report's records is counted and logged; the
// next poll reads them again.
func TestPipelineRefusalIsCounted(t *testing.T) {
	m := newMocks(t)
	var mu sync.Mutex // the providers are polled side by side
	var ok []plog.Logs
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if recordsOf(ld)[0][genai.PUSource] == "embeddings" {
			return errors.New("queue is full")
		}
		mu.Lock()
		defer mu.Unlock()
		ok = append(ok, ld)
		return nil
	})
	h := newHarness(t, m.config(), next)
	h.poll()
	p := h.points()
	if p["aiops_provider_usage_records_refused{provider=openai,report=embeddings}"] != 3 ||
		p["aiops_provider_usage_records_emitted{provider=openai,report=completions}"] != 6 || len(ok) != 4 ||
		p["aiops_provider_usage_polls{outcome=partial,provider=openai}"] != 1 || p["aiops_provider_usage_last_success{provider=openai}"] != 0 {
		t.Errorf("telemetry: %v", p)
	}
	if h.logs.FilterMessageSnippet("the pipeline refused").Len() != 1 {
		t.Error("refusal not logged")
	}
}

func TestRetryAfterParsing(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "3": 3 * time.Second, "1.5": 1500 * time.Millisecond, now.Add(time.Minute).Format(http.TimeFormat): time.Minute,
		now.Add(-time.Minute).Format(http.TimeFormat): 0, "1e300": 100 * time.Minute,
	} {
		if got, ok := retryAfter(in, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-1", "NaN"} {
		if _, ok := retryAfter(in, now); ok {
			t.Errorf("retryAfter(%q) accepted", in)
		}
	}
}

// The receiver keeps its key out of what it sends anywhere but the header.
func TestHeadersAsDocumented(t *testing.T) {
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Clone())
		json.NewEncoder(w).Encode(map[string]any{"data": []any{}, "has_more": false})
	}))
	defer srv.Close()
	cfg := createDefaultConfig()
	an := cfg.Anthropic.GetOrInsertDefault()
	an.AdminKey, an.Endpoint = "sk-ant-x", srv.URL+"/"
	h := newHarness(t, cfg, nil)
	h.poll()
	if len(seen) != 2 || seen[0].Get("x-api-key") != "sk-ant-x" || seen[0].Get("anthropic-version") != "2023-06-01" || seen[0].Get("Authorization") != "" {
		t.Errorf("headers: %v", seen)
	}
}
