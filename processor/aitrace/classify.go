package aitrace

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// operation sets gen_ai.operation.name when no dialect key gave it, from the
// span name: semconv's "{operation} {model}" or Traceloop's "openai.chat".
func (p *traceProcessor) operation(w *workspace, span ptrace.Span) string {
	attrs := span.Attributes()
	if w.hasT(tOperation) {
		return w.getStr(attrs, tOperation)
	}
	name := span.Name()
	first, _, _ := strings.Cut(name, " ")
	op := ""
	switch {
	case operations[first]:
		op = first
	default:
		if _, suffix, ok := strings.Cut(first, "."); ok && !strings.HasPrefix(first, "ai.") {
			switch suffix {
			case "chat":
				op = "chat"
			case "completion", "completions":
				op = "text_completion"
			case "embeddings", "embedding":
				op = "embeddings"
			}
		}
	}
	if op == "" {
		return ""
	}
	attrs.PutStr(genai.OperationName, op)
	w.setT(tOperation)
	return op
}

// streaming sets gen_ai.request.stream when a dialect shows the call
// streamed: AI SDK stream operations and first-chunk timings, or a
// streaming invocation parameter.
func (p *traceProcessor) streaming(w *workspace, span ptrace.Span, keyFlags uint16) {
	if w.hasT(tStream) {
		return
	}
	attrs := span.Attributes()
	stream := keyFlags&fStream != 0
	if !stream && w.hasT(tAIOperationID) {
		stream = strings.Contains(w.getStr(attrs, tAIOperationID), "stream")
	}
	if !stream {
		for _, ev := range span.Events().All() {
			if n := ev.Name(); n == "ai.stream.firstChunk" || n == "llm.content.completion.chunk" || n == "gen_ai.content.chunk" {
				stream = true
				break
			}
		}
	}
	if stream {
		attrs.PutBool(genai.RequestStream, true)
		w.setT(tStream)
	}
}

// invocationParams reads OpenInference's llm.invocation_parameters JSON for
// the request settings semconv has keys for.
func (p *traceProcessor) invocationParams(w *workspace, attrs pcommon.Map) {
	raw := strAttr(attrs, "llm.invocation_parameters")
	if raw == "" || raw[0] != '{' {
		return
	}
	var params map[string]any
	if err := json.Unmarshal([]byte(raw), &params); err != nil {
		return
	}
	if s, ok := params["stream"].(bool); ok && !w.hasT(tStream) {
		attrs.PutBool(genai.RequestStream, s)
		w.setT(tStream)
	}
	for _, kv := range []struct{ from, to string }{
		{"max_tokens", genai.RequestMaxTokens}, {"max_completion_tokens", genai.RequestMaxTokens},
		{"temperature", genai.RequestTemperature}, {"top_p", genai.RequestTopP},
	} {
		f, ok := params[kv.from].(float64)
		if !ok || w.has(p, kv.to) {
			continue
		}
		if _, exists := attrs.Get(kv.to); exists {
			continue
		}
		if kv.to == genai.RequestMaxTokens {
			if f >= 0 && f == float64(int64(f)) {
				attrs.PutInt(kv.to, int64(f))
			}
		} else {
			attrs.PutDouble(kv.to, f)
		}
		w.setPresent(p, kv.to)
	}
}

// langfuseUsage reads Langfuse's usage_details and cost_details JSON.
func (p *traceProcessor) langfuseUsage(ctx context.Context, w *workspace, attrs pcommon.Map) {
	t := p.tableIndex("langfuse")
	if t < 0 {
		return
	}
	if raw := strAttr(attrs, "langfuse.observation.usage_details"); raw != "" {
		var u map[string]json.Number
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&u); err != nil {
			p.malformed(ctx, w, "usage_unparseable", "langfuse.observation.usage_details")
		} else if lu, ok := p.readLangfuseUsage(ctx, w, u); ok {
			for _, kv := range []struct {
				to string
				n  int64
				ok bool
			}{
				{genai.InputTokens, lu.in, lu.haveIn}, {genai.OutputTokens, lu.out, lu.haveOut},
				{genai.CacheReadTokens, lu.cacheRead, lu.cacheRead > 0}, {genai.CacheCreateTokens, lu.cacheWrite, lu.cacheWrite > 0},
				{genai.ReasoningTokens, lu.reasoning, lu.reasoning > 0}, {"gen_ai.usage.total_tokens", lu.total, lu.haveTotal},
			} {
				if !kv.ok || w.has(p, kv.to) || mapHas(attrs, kv.to) {
					continue
				}
				attrs.PutInt(kv.to, kv.n)
				w.setPresent(p, kv.to)
				w.markTable(t)
				if w.usageDialect == "" {
					w.usageDialect = "langfuse"
				}
			}
			if lu.added {
				attrs.PutInt("aiops.usage.reported.input_tokens", lu.rawIn)
				attrs.PutInt("aiops.usage.reported.output_tokens", lu.rawOut)
				attrs.PutStr(genai.AIOpsTokensBasis, "langfuse_buckets")
			}
		}
	}
	if raw := strAttr(attrs, "langfuse.observation.cost_details"); raw != "" && !w.hasT(tCost) {
		var c map[string]float64
		if err := json.Unmarshal([]byte(raw), &c); err == nil {
			if total, ok := c["total"]; ok && total >= 0 {
				attrs.PutDouble(genai.UsageCost, total)
				w.setT(tCost)
				w.markTable(t)
			}
		}
	}
}

// langfuseUsage is Langfuse's usage_details read in the convention's terms.
type langfuseUsage struct {
	in, out, rawIn, rawOut           int64
	cacheRead, cacheWrite, reasoning int64
	total                            int64
	haveIn, haveOut, haveTotal       bool
	added                            bool // details were added to input or output
}

// readLangfuseUsage reads usage_details. Langfuse keeps usage as disjoint
// buckets that add up to total: its wrappers subtract every detail from its
// parent, so "input" leaves out input_* (cached, audio) and "output" leaves
// out output_* (reasoning, audio, predictions); Anthropic's cache buckets
// keep Anthropic's names. Hand-written generations may use OpenAI's names
// (promptTokens, prompt_tokens), which include their details. A total that
// matches one reading decides.
func (p *traceProcessor) readLangfuseUsage(ctx context.Context, w *workspace, u map[string]json.Number) (langfuseUsage, bool) {
	var lu langfuseUsage
	get := func(keys ...string) (int64, bool) {
		for _, k := range keys {
			num, ok := u[k]
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(num.String(), 10, 64)
			if err != nil || n < 0 || n > maxTokens {
				p.malformed(ctx, w, "token_not_integer", "langfuse.observation.usage_details."+k)
				return 0, false
			}
			return n, true
		}
		return 0, false
	}
	var buckets bool // Langfuse's own names: details are outside
	if lu.rawIn, lu.haveIn = get("input"); lu.haveIn {
		buckets = true
	} else {
		lu.rawIn, lu.haveIn = get("promptTokens", "prompt_tokens", "input_tokens", "inputTokens")
	}
	if lu.rawOut, lu.haveOut = get("output"); lu.haveOut {
		buckets = true
	} else {
		lu.rawOut, lu.haveOut = get("completionTokens", "completion_tokens", "output_tokens", "outputTokens")
	}
	if !lu.haveIn && !lu.haveOut {
		return lu, false
	}
	lu.total, lu.haveTotal = get("total", "totalTokens", "total_tokens")
	lu.cacheRead, _ = get("input_cached_tokens", "input_cache_read", "cache_read_input_tokens", "input_cache_read_tokens", "cached_tokens")
	lu.cacheWrite, _ = get("input_cache_creation", "cache_creation_input_tokens", "input_cache_creation_tokens", "input_cache_write")
	lu.reasoning, _ = get("output_reasoning_tokens", "output_reasoning", "reasoning_tokens")
	var inDetails, outDetails int64
	for k := range u {
		switch {
		case k == "input_tokens" || k == "output_tokens":
		case strings.HasPrefix(k, "input_"), k == "cache_read_input_tokens", k == "cache_creation_input_tokens":
			n, _ := get(k)
			inDetails += n
		case strings.HasPrefix(k, "output_"):
			n, _ := get(k)
			outDetails += n
		}
	}
	outside := buckets
	if lu.haveTotal {
		switch lu.total {
		case lu.rawIn + lu.rawOut + inDetails + outDetails:
			outside = true
		case lu.rawIn + lu.rawOut:
			outside = false
		}
	}
	lu.in, lu.out = lu.rawIn, lu.rawOut
	if outside && inDetails+outDetails > 0 {
		lu.in += inDetails
		lu.out += outDetails
		lu.added = true
	}
	return lu, true
}

// Error categories written to error.type (when absent) and
// aiops.error.category.
const (
	errRateLimit     = "rate_limit"
	errQuota         = "quota_exceeded"
	errTimeout       = "timeout"
	errContextLength = "context_length_exceeded"
	errContentFilter = "content_filter"
	errAuth          = "auth"
	errNotFound      = "not_found"
	errInvalid       = "invalid_request"
	errOverloaded    = "overloaded"
	errServer        = "server_error"
	errConnection    = "connection_error"
	errCancelled     = "cancelled"
	errOther         = "_OTHER"
)

// classifyError reads span status, HTTP codes and exception events.
func (p *traceProcessor) classifyError(w *workspace, span ptrace.Span) {
	attrs := span.Attributes()
	if w.hasT(tLangfuseType) && span.Status().Code() == ptrace.StatusCodeUnset && strings.EqualFold(strAttr(attrs, "langfuse.observation.level"), "ERROR") {
		// Langfuse marks a failed observation by its level only.
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(strAttr(attrs, "langfuse.observation.status_message"))
	}
	failed := span.Status().Code() == ptrace.StatusCodeError
	code := int64(0)
	for i, k := range []string{"http.response.status_code", "http.status_code"} {
		if !w.hasT(tHTTPStatus + i) {
			continue
		}
		if v, ok := attrs.Get(k); ok {
			code, _ = genai.Count(v)
			break
		}
	}
	existing := ""
	if w.hasT(tErrorType) {
		existing = w.getStr(attrs, tErrorType)
	}
	if existing != "" && code == 0 {
		if n, err := strconv.Atoi(existing); err == nil {
			code = int64(n) // some instrumentations put the HTTP status in error.type
		}
	}
	hasException := false
	for _, ev := range span.Events().All() {
		if ev.Name() == "exception" {
			hasException = true
			break
		}
	}
	if !failed && code < 400 && !hasException && existing == "" {
		return
	}
	var text strings.Builder
	text.WriteString(existing)
	text.WriteByte(' ')
	text.WriteString(span.Status().Message())
	for _, ev := range span.Events().All() {
		if ev.Name() != "exception" {
			continue
		}
		text.WriteByte(' ')
		text.WriteString(strAttr(ev.Attributes(), "exception.type"))
		text.WriteByte(' ')
		text.WriteString(strAttr(ev.Attributes(), "exception.message"))
	}
	cat := errorCategory(code, strings.ToLower(text.String()))
	if cat == "" {
		if !failed && code < 400 {
			return
		}
		cat = errOther
	}
	attrs.PutStr(genai.AIOpsErrorCategory, cat)
	if existing == "" {
		attrs.PutStr(genai.ErrorType, cat)
	}
}

var textRules = []struct {
	cat   string
	words []string
}{
	{errContextLength, []string{"context length", "context_length", "maximum context", "context window", "too many tokens", "prompt is too long", "input is too long", "reduce the length"}},
	{errContentFilter, []string{"content_filter", "content filter", "content management policy", "responsibleaipolicyviolation", "safety system", "blocked by safety", "guardrail"}},
	{errQuota, []string{"insufficient_quota", "exceeded your current quota", "quota exceeded", "billing"}},
	{errRateLimit, []string{"rate limit", "ratelimit", "rate_limit", "too many requests", "throttl"}},
	{errTimeout, []string{"timeout", "timed out", "deadline exceeded", "deadline_exceeded"}},
	{errAuth, []string{"authentication", "unauthorized", "invalid api key", "invalid_api_key", "incorrect api key", "permission", "forbidden", "access denied"}},
	{errOverloaded, []string{"overloaded"}},
	{errCancelled, []string{"aborterror", "aborted", "cancelled", "canceled"}},
	{errConnection, []string{"econnrefused", "econnreset", "connection error", "connectionerror", "enotfound", "socket hang up", "network error"}},
	{errNotFound, []string{"model_not_found", "does not exist", "not found", "notfound"}},
	{errServer, []string{"internal server error", "internalservererror", "bad gateway", "service unavailable", "server error"}},
	{errInvalid, []string{"badrequest", "bad request", "invalid_request", "invalid request", "unprocessable"}},
}

func errorCategory(code int64, text string) string {
	// Specific messages win: a 400 may be a context overflow or a filter.
	for _, r := range textRules[:3] {
		for _, w := range r.words {
			if strings.Contains(text, w) {
				return r.cat
			}
		}
	}
	switch {
	case code == 429:
		return errRateLimit
	case code == 401 || code == 403:
		return errAuth
	case code == 408 || code == 504:
		return errTimeout
	case code == 404:
		return errNotFound
	case code == 413:
		return errContextLength
	case code == 529 || code == 503:
		return errOverloaded
	case code >= 500 && code < 600:
		return errServer
	}
	for _, r := range textRules[3:] {
		for _, w := range r.words {
			if strings.Contains(text, w) {
				return r.cat
			}
		}
	}
	if code == 400 || code == 422 {
		return errInvalid
	}
	return ""
}
