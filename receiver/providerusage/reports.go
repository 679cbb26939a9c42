package providerusage

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

const (
	providerOpenAI    = "openai"
	providerAnthropic = "anthropic"
	kindUsage         = "usage"
	kindCost          = "cost"
	// anthropicVersion is the API version the report shapes below are read in.
	anthropicVersion = "2023-06-01"
)

// Problems with a report row (the reason attribute of row_problems).
const (
	problemBadCount     = "bad_count"           // not a non-negative integer: stored as 0
	problemInconsistent = "inconsistent_counts" // cached input above total input: uncached stored as 0
	problemBadBucket    = "bad_bucket"          // bucket times unreadable: the bucket's rows are not emitted
	problemBadAmount    = "bad_amount"          // money unreadable or out of range: the row is not emitted
)

// report is one of a provider's report endpoints and how to read its rows.
type report struct {
	provider string
	source   string // genai.PUSource value
	path     string
	kind     string
	groupBy  []string
	// limit is the most one-day buckets a page may hold, as documented.
	limit int
	parse func(r *row, f fields)
}

var (
	openAICompletions = report{provider: providerOpenAI, source: "completions", path: "/v1/organization/usage/completions", kind: kindUsage,
		groupBy: []string{"project_id", "api_key_id", "model", "batch", "service_tier"}, limit: 31, parse: parseOpenAICompletions}
	openAIEmbeddings = report{provider: providerOpenAI, source: "embeddings", path: "/v1/organization/usage/embeddings", kind: kindUsage,
		groupBy: []string{"project_id", "api_key_id", "model"}, limit: 31, parse: parseOpenAIEmbeddings}
	openAICosts = report{provider: providerOpenAI, source: "costs", path: "/v1/organization/costs", kind: kindCost,
		groupBy: []string{"project_id", "line_item"}, limit: 180, parse: parseOpenAICost}
	anthropicMessages = report{provider: providerAnthropic, source: "messages", path: "/v1/organizations/usage_report/messages", kind: kindUsage,
		groupBy: []string{"model", "workspace_id", "api_key_id", "service_tier", "context_window"}, limit: 31, parse: parseAnthropicMessages}
	anthropicCosts = report{provider: providerAnthropic, source: "cost_report", path: "/v1/organizations/cost_report", kind: kindCost,
		groupBy: []string{"workspace_id", "description"}, limit: 31, parse: parseAnthropicCost}
)

// query is a page's parameters. OpenAI takes start_time in unix seconds and
// repeats group_by; Anthropic takes starting_at in RFC 3339 and group_by[].
// No end: the bucket still filling (today's) is read too.
func (rep report) query(from time.Time, page string) url.Values {
	q := url.Values{}
	q.Set("bucket_width", "1d")
	q.Set("limit", strconv.Itoa(rep.limit))
	group := "group_by"
	if rep.provider == providerOpenAI {
		q.Set("start_time", strconv.FormatInt(from.Unix(), 10))
	} else {
		q.Set("starting_at", from.UTC().Format(time.RFC3339))
		group = "group_by[]"
	}
	for _, g := range rep.groupBy {
		q.Add(group, g)
	}
	if page != "" {
		q.Set("page", page)
	}
	return q
}

// row is one result row of one bucket, read.
type row struct {
	start, end time.Time
	// The group; empty where the provider sent null.
	project, apiKey, model, serviceTier, lineItem, costType, tokenType, contextWindow string
	batch                                                                             string // "true", "false", "" when not grouped
	counts                                                                            []count
	cost                                                                              pricing.Amount
	currency                                                                          string
	hasCost                                                                           bool
	problems                                                                          []string
}

type count struct {
	key string
	n   int64
}

func (r *row) set(key string, n int64) { r.counts = append(r.counts, count{key, n}) }
func (r *row) problem(p string)        { r.problems = append(r.problems, p) }

// fields is one result object, its values kept raw so numbers stay exact.
type fields map[string]json.RawMessage

// str reads a string; null or absent is "", and a number or bool is its
// JSON text (a group is a group whatever its type).
func (f fields) str(k string) string {
	raw := bytes.TrimSpace(f[k])
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (f fields) obj(k string) fields {
	var o fields
	_ = json.Unmarshal(f[k], &o) // not an object: its counts read as absent
	return o
}

// count reads a token or request count; absent or null is 0. Anything
// else that is not a non-negative integer is 0 and a problem.
func (r *row) count(f fields, k string) int64 {
	raw := bytes.TrimSpace(f[k])
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// 1.0 and 1e3 are integers written otherwise.
		d, derr := decimal.NewFromString(string(raw))
		if derr != nil || !d.IsInteger() || !d.BigInt().IsInt64() {
			r.problem(problemBadCount)
			return 0
		}
		n = d.IntPart()
	}
	if n < 0 {
		r.problem(problemBadCount)
		return 0
	}
	return n
}

func parseOpenAICompletions(r *row, f fields) {
	openAIGroup(r, f)
	r.serviceTier = f.str("service_tier")
	if b := f.str("batch"); b == "true" || b == "false" {
		r.batch = b
	}
	// input_tokens includes cached (and cache-write) tokens; we store the
	// uncached part, as Anthropic reports it.
	input, cached := r.count(f, "input_tokens"), r.count(f, "input_cached_tokens")
	uncached := input - cached
	if uncached < 0 {
		r.problem(problemInconsistent)
		uncached = 0
	}
	r.set(genai.PUInputTokens, uncached)
	r.set(genai.PUCacheReadTokens, cached)
	r.set(genai.PUOutputTokens, r.count(f, "output_tokens"))
	r.set(genai.PUInputAudioTokens, r.count(f, "input_audio_tokens"))
	r.set(genai.PUOutputAudioTokens, r.count(f, "output_audio_tokens"))
	r.set(genai.PURequests, r.count(f, "num_model_requests"))
}

func parseOpenAIEmbeddings(r *row, f fields) {
	openAIGroup(r, f)
	r.set(genai.PUInputTokens, r.count(f, "input_tokens"))
	r.set(genai.PURequests, r.count(f, "num_model_requests"))
}

func openAIGroup(r *row, f fields) {
	r.project, r.apiKey, r.model = f.str("project_id"), f.str("api_key_id"), f.str("model")
}

// parseOpenAICost reads amount.value, a JSON number in dollars, from its
// decimal text: no float in between.
func parseOpenAICost(r *row, f fields) {
	r.project, r.lineItem = f.str("project_id"), f.str("line_item")
	amount := f.obj("amount")
	r.currency = strings.ToUpper(amount.str("currency"))
	money(r, string(bytes.TrimSpace(amount["value"])), 0)
}

func parseAnthropicMessages(r *row, f fields) {
	r.project, r.apiKey, r.model = f.str("workspace_id"), f.str("api_key_id"), f.str("model")
	r.serviceTier, r.contextWindow = f.str("service_tier"), f.str("context_window")
	r.set(genai.PUInputTokens, r.count(f, "uncached_input_tokens"))
	r.set(genai.PUCacheReadTokens, r.count(f, "cache_read_input_tokens"))
	cc := f.obj("cache_creation")
	r.set(genai.PUCacheWrite5mTokens, r.count(cc, "ephemeral_5m_input_tokens"))
	r.set(genai.PUCacheWrite1hTokens, r.count(cc, "ephemeral_1h_input_tokens"))
	r.set(genai.PUOutputTokens, r.count(f, "output_tokens"))
	r.set(genai.PUWebSearchRequests, r.count(f.obj("server_tool_use"), "web_search_requests"))
}

// parseAnthropicCost reads amount, a decimal string in the currency's
// lowest unit (cents for USD).
func parseAnthropicCost(r *row, f fields) {
	r.project, r.lineItem, r.model = f.str("workspace_id"), f.str("description"), f.str("model")
	r.costType, r.tokenType = f.str("cost_type"), f.str("token_type")
	r.serviceTier, r.contextWindow = f.str("service_tier"), f.str("context_window")
	r.currency = strings.ToUpper(f.str("currency"))
	money(r, f.str("amount"), -2)
}

// maxAmount keeps a bucket's cost inside what pricing.Amount holds.
var maxAmount = decimal.NewFromInt(9_000_000)

// money reads an exact decimal (shifted by shift places: -2 for cents)
// into r.cost, rounded half away from zero to the picodollar.
func money(r *row, text string, shift int32) {
	if r.currency == "" {
		r.currency = "USD" // both document USD as the only currency
	}
	d, err := decimal.NewFromString(strings.Trim(text, `"`))
	if err != nil || d.Shift(shift).Abs().GreaterThan(maxAmount) {
		r.problem(problemBadAmount)
		return
	}
	a, err := pricing.ParseUSD(d.Shift(shift).Round(12).String())
	if err != nil {
		r.problem(problemBadAmount)
		return
	}
	r.cost, r.hasCost = a, true
}

// page is one response: buckets of results, and where the next page is.
type page struct {
	Data []struct {
		StartTime  json.RawMessage `json:"start_time"`
		EndTime    json.RawMessage `json:"end_time"`
		StartingAt string          `json:"starting_at"`
		EndingAt   string          `json:"ending_at"`
		Results    []fields        `json:"results"`
	} `json:"data"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
}

var errNoData = errors.New(`the response has no "data" array`)

// readPage parses a page into rows; bad rows are kept with their problems
// so the caller can count them.
func (rep report) readPage(body []byte) (rows []row, p page, err error) {
	var probe struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, p, err
	}
	if len(probe.Data) == 0 || string(probe.Data) == "null" {
		return nil, p, errNoData
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, p, err
	}
	for _, b := range p.Data {
		start, end, ok := rep.bucket(b.StartTime, b.EndTime, b.StartingAt, b.EndingAt)
		for _, f := range b.Results {
			r := row{start: start, end: end}
			if !ok {
				r.problem(problemBadBucket)
			} else {
				rep.parse(&r, f)
			}
			rows = append(rows, r)
		}
	}
	return rows, p, nil
}

func (rep report) bucket(startTime, endTime json.RawMessage, startingAt, endingAt string) (start, end time.Time, ok bool) {
	if rep.provider == providerOpenAI {
		s, err1 := strconv.ParseInt(string(bytes.TrimSpace(startTime)), 10, 64)
		e, err2 := strconv.ParseInt(string(bytes.TrimSpace(endTime)), 10, 64)
		if err1 != nil || err2 != nil {
			return start, end, false
		}
		start, end = time.Unix(s, 0).UTC(), time.Unix(e, 0).UTC()
	} else {
		var err1, err2 error
		start, err1 = time.Parse(time.RFC3339, startingAt)
		end, err2 = time.Parse(time.RFC3339, endingAt)
		if err1 != nil || err2 != nil {
			return start, end, false
		}
		start, end = start.UTC(), end.UTC()
	}
	// DateTime64(9) ends in 2262; a bucket must also have a width.
	ok = start.Year() >= 2000 && end.Year() < 2262 && end.After(start)
	return start, end, ok
}
