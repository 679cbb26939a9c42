package aiopsclickhouse

import (
	"encoding/hex"
	"math"
	"strconv"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

var (
	genaiSpansSchema  = newSchema("genai_spans", chstore.GenAISpanColumns)
	genaiEventsSchema = newSchema("genai_events", chstore.GenAIEventColumns)
	spansSchema       = newSchema("spans", chstore.SpanColumns)
)

// Event names that become genai_events rows, from span events or log
// records: ours, evaluations and feedback.
var genaiEventNames = map[string]bool{"aiops.policy": true, "aiops.budget": true, "aiops.feedback": true, "gen_ai.evaluation.result": true}

// logEventNames adds the message content log records that met no span
// (aitrace joins the rest to their spans; on spans such events are read
// into the span's messages instead).
var logEventNames = func() map[string]bool {
	m := map[string]bool{}
	for name := range genaiEventNames {
		m[name] = true
	}
	for name := range genai.ContentEvents {
		m[name] = true
	}
	return m
}()

// promoted keys have columns of their own; the attributes map keeps
// everything else, so nothing is stored twice.
var promoted = setOf(
	genai.InputMessages, genai.OutputMessages, genai.ErrorType, genai.FinishReasons, genai.RequestStream,
	genai.AIOpsWorkload, genai.AIOpsUserID, genai.AIOpsTenantID, genai.AIOpsTeam, genai.AIOpsFeature,
	genai.ConversationID, genai.ResponseID, genai.OperationName, genai.ProviderName, genai.RequestModel,
	genai.ResponseModel, genai.AIOpsModelPinned, genai.AgentName, genai.ToolName, genai.DataSourceID,
	genai.PromptName, genai.PromptVersion, "aiops.retrieval.docs", "aiops.retrieval.top_score",
	"aiops.retrieval.min_score", genai.InputTokens, genai.OutputTokens, genai.CacheReadTokens,
	genai.CacheCreateTokens, genai.CacheWriteTokens, genai.ReasoningTokens, genai.UsageCost,
	genai.AIOpsCostInput, genai.AIOpsCostCached, genai.AIOpsCostCacheWrite, genai.AIOpsCostOutput,
	genai.AIOpsCostReasoning, genai.AIOpsCostSource, genai.AIOpsPriceID, genai.AIOpsContentCapture,
	genai.AIOpsContentSHA256, genai.AIOpsPolicyFlags,
)

// resourcePromoted are resource keys with columns of their own, plus our
// request token.
var resourcePromoted = setOf("service.name", "service.version", "deployment.environment.name", insertTokenKey)

// readKeys are span attributes addGenAISpan reads that stay in the
// attributes map too (they have no column of their own).
var readKeys = []string{"user.id", "enduser.id", "tenant.id"}

// slotOf numbers every span attribute addGenAISpan reads, so one pass over
// the attributes fills them all instead of a linear Get per column. Promoted
// keys take the first len(promoted) slots.
var slotOf = func() map[string]int {
	m := map[string]int{}
	for k := range promoted {
		m[k] = len(m)
	}
	for _, k := range readKeys {
		m[k] = len(m)
	}
	return m
}()

// attrKey is the slot of a span attribute addGenAISpan reads, resolved once
// at start-up instead of a map lookup per read.
type attrKey int

func keyFor(name string) attrKey {
	i, ok := slotOf[name]
	if !ok {
		panic("aiops_clickhouse: " + name + " is read from spans but not collected in slotOf")
	}
	return attrKey(i)
}

var (
	kAIOpsContentCapture = keyFor(genai.AIOpsContentCapture)
	kAIOpsContentSHA256  = keyFor(genai.AIOpsContentSHA256)
	kAIOpsCostCacheWrite = keyFor(genai.AIOpsCostCacheWrite)
	kAIOpsCostCached     = keyFor(genai.AIOpsCostCached)
	kAIOpsCostInput      = keyFor(genai.AIOpsCostInput)
	kAIOpsCostOutput     = keyFor(genai.AIOpsCostOutput)
	kAIOpsCostReasoning  = keyFor(genai.AIOpsCostReasoning)
	kAIOpsCostSource     = keyFor(genai.AIOpsCostSource)
	kAIOpsFeature        = keyFor(genai.AIOpsFeature)
	kAIOpsModelPinned    = keyFor(genai.AIOpsModelPinned)
	kAIOpsPolicyFlags    = keyFor(genai.AIOpsPolicyFlags)
	kAIOpsPriceID        = keyFor(genai.AIOpsPriceID)
	kAIOpsTeam           = keyFor(genai.AIOpsTeam)
	kAIOpsTenantID       = keyFor(genai.AIOpsTenantID)
	kAIOpsUserID         = keyFor(genai.AIOpsUserID)
	kAIOpsWorkload       = keyFor(genai.AIOpsWorkload)
	kAgentName           = keyFor(genai.AgentName)
	kRetrievalDocs       = keyFor("aiops.retrieval.docs")
	kRetrievalMinScore   = keyFor("aiops.retrieval.min_score")
	kRetrievalTopScore   = keyFor("aiops.retrieval.top_score")
	kCacheCreateTokens   = keyFor(genai.CacheCreateTokens)
	kCacheReadTokens     = keyFor(genai.CacheReadTokens)
	kCacheWriteTokens    = keyFor(genai.CacheWriteTokens)
	kConversationID      = keyFor(genai.ConversationID)
	kDataSourceID        = keyFor(genai.DataSourceID)
	kEndUserID           = keyFor("enduser.id")
	kErrorType           = keyFor(genai.ErrorType)
	kFinishReasons       = keyFor(genai.FinishReasons)
	kInputMessages       = keyFor(genai.InputMessages)
	kInputTokens         = keyFor(genai.InputTokens)
	kOperationName       = keyFor(genai.OperationName)
	kOutputMessages      = keyFor(genai.OutputMessages)
	kOutputTokens        = keyFor(genai.OutputTokens)
	kPromptName          = keyFor(genai.PromptName)
	kPromptVersion       = keyFor(genai.PromptVersion)
	kProviderName        = keyFor(genai.ProviderName)
	kReasoningTokens     = keyFor(genai.ReasoningTokens)
	kRequestModel        = keyFor(genai.RequestModel)
	kRequestStream       = keyFor(genai.RequestStream)
	kResponseID          = keyFor(genai.ResponseID)
	kResponseModel       = keyFor(genai.ResponseModel)
	kTenantID            = keyFor("tenant.id")
	kToolName            = keyFor(genai.ToolName)
	kUsageCost           = keyFor(genai.UsageCost)
	kUserID              = keyFor("user.id")
)

// spanView is one pass over a span's attributes: the values addGenAISpan
// reads, by slot, and everything without a column in rest. The builder
// keeps one and reuses it for every row.
type spanView struct {
	b    *builder
	vals []pcommon.Value
	has  []bool
	rest chstore.KV
}

func (b *builder) spanView(attrs pcommon.Map) *spanView {
	v := b.view
	if v == nil {
		v = &spanView{b: b, vals: make([]pcommon.Value, len(slotOf)), has: make([]bool, len(slotOf))}
		b.view = v
	}
	clear(v.has)
	start := b.reserve(2 * attrs.Len())
	attrs.Range(func(k string, val pcommon.Value) bool {
		i, ok := slotOf[k]
		if ok {
			v.vals[i], v.has[i] = val, true
		}
		if !ok || i >= len(promoted) {
			b.arena = append(b.arena, b.valid(k), b.valid(b.text(val)))
		}
		return true
	})
	v.rest = b.kv(start)
	return v
}

func (v *spanView) value(k attrKey) (pcommon.Value, bool) {
	return v.vals[k], v.has[k]
}

func (v *spanView) str(k attrKey) string {
	if val, ok := v.value(k); ok {
		return v.b.text(val)
	}
	return ""
}

func (v *spanView) first(keys ...attrKey) string {
	for _, k := range keys {
		if s := v.str(k); s != "" {
			return s
		}
	}
	return ""
}

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func get(b *builder, m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return b.text(v)
	}
	return ""
}

func first(b *builder, m pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if v := get(b, m, k); v != "" {
			return v
		}
	}
	return ""
}

// valueLimits bound the text of arrays, maps and bytes (see anyvalue).
var valueLimits = anyvalue.Default

// text is v as stored. Strings are kept whole: the receiver's message limit
// bounds them and a prompt may be megabytes. Other values become their
// AsString text built without recursion: a value nested deeper than
// valueLimits.MaxDepth becomes a placeholder naming its digest, text over
// valueLimits.MaxBytes is cut, and both are counted as repairs.
func (b *builder) text(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return b.derive(20, func(out []byte) []byte { return strconv.AppendInt(out, v.Int(), 10) })
	case pcommon.ValueTypeDouble:
		return b.derive(32, func(out []byte) []byte { return appendDouble(out, v.Double()) })
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.Bool())
	}
	s, changed := anyvalue.String(v, valueLimits)
	if changed {
		if t := v.Type(); (t == pcommon.ValueTypeSlice || t == pcommon.ValueTypeMap) && anyvalue.Depth(v, valueLimits.MaxDepth+1) > valueLimits.MaxDepth {
			b.repair("too_deep")
		} else {
			b.repair("too_large")
		}
	}
	return s
}

// appendDouble writes f as pcommon's Value.AsString does (ES6 number to
// string: %g-like, exponent cut-offs 1e-6 and 1e21, no exponent padding).
func appendDouble(out []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(out, "NaN"...)
	case math.IsInf(f, 1):
		return append(out, "Infinity"...)
	case math.IsInf(f, -1):
		return append(out, "-Infinity"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(out)
	out = strconv.AppendFloat(out, f, format, -1, 64)
	if n := len(out); format == 'e' && n-start >= 4 && out[n-4] == 'e' && out[n-3] == '-' && out[n-2] == '0' {
		out[n-2] = out[n-1] // e-09 is written e-9
		out = out[:n-1]
	}
	return out
}

// who is the attribution shared by a span's rows.
type who struct{ service, workload, user, tenant string }

func attribution(b *builder, span, res pcommon.Map) who {
	w := who{service: get(b, res, "service.name")}
	if w.workload = first(b, span, genai.AIOpsWorkload); w.workload == "" {
		if w.workload = get(b, res, genai.AIOpsWorkload); w.workload == "" {
			w.workload = w.service
		}
	}
	w.user = first(b, span, genai.AIOpsUserID, "user.id", "enduser.id")
	w.tenant = first(b, span, genai.AIOpsTenantID, "tenant.id")
	if w.tenant == "" {
		w.tenant = get(b, res, "tenant.id")
	}
	return w
}

// resourceRow is what every span of one resource shares, read once.
type resourceRow struct {
	res                                     pcommon.Resource
	service, version, env, workload, tenant string
	attrs                                   chstore.KV
}

func (b *builder) resource(res pcommon.Resource) *resourceRow {
	if b.res != nil && b.res.res == res {
		return b.res
	}
	a := res.Attributes()
	r := &resourceRow{
		res:      res,
		service:  get(b, a, "service.name"),
		version:  get(b, a, "service.version"),
		env:      first(b, a, "deployment.environment.name", "deployment.environment"),
		workload: get(b, a, genai.AIOpsWorkload),
		tenant:   get(b, a, "tenant.id"),
		attrs:    flatten(b, a, resourcePromoted),
	}
	b.res = r
	return r
}

// addGenAISpan adds the span's row and returns its attribution, which its
// events share.
func addGenAISpan(b *builder, res pcommon.Resource, span ptrace.Span, token string) who {
	c := b.idx
	r := b.resource(res)
	v := b.spanView(span.Attributes())
	w := who{service: r.service}
	if w.workload = v.str(kAIOpsWorkload); w.workload == "" {
		if w.workload = r.workload; w.workload == "" {
			w.workload = w.service
		}
	}
	w.user = v.first(kAIOpsUserID, kUserID, kEndUserID)
	if w.tenant = v.first(kAIOpsTenantID, kTenantID); w.tenant == "" {
		w.tenant = r.tenant
	}
	b.timev(c("timestamp"), span.StartTimestamp().AsTime())
	tid, sid, pid := span.TraceID(), span.SpanID(), span.ParentSpanID()
	b.str(c("trace_id"), b.idHex(tid[:], tid.IsEmpty()))
	b.str(c("span_id"), b.idHex(sid[:], sid.IsEmpty()))
	b.str(c("parent_span_id"), b.idHex(pid[:], pid.IsEmpty()))
	b.str(c("span_name"), span.Name())
	b.u64v(c("duration_ns"), duration(span))
	b.str(c("status_code"), span.Status().Code().String())
	b.str(c("error_type"), v.str(kErrorType))
	b.arr(c("finish_reasons"), strSliceOf(b, v, kFinishReasons))
	b.boolv(c("streaming"), boolOf(v, kRequestStream))

	b.str(c("service_name"), w.service)
	b.str(c("service_version"), r.version)
	b.str(c("environment"), r.env)
	b.str(c("workload"), w.workload)
	b.str(c("user_id"), w.user)
	b.str(c("tenant_id"), w.tenant)
	b.str(c("team"), v.str(kAIOpsTeam))
	b.str(c("feature"), v.str(kAIOpsFeature))
	b.str(c("conversation_id"), v.str(kConversationID))
	b.str(c("response_id"), v.str(kResponseID))

	b.str(c("operation"), v.str(kOperationName))
	b.str(c("provider"), v.str(kProviderName))
	b.str(c("request_model"), v.str(kRequestModel))
	b.str(c("response_model"), v.str(kResponseModel))
	b.boolv(c("model_pinned"), boolOf(v, kAIOpsModelPinned))
	b.str(c("agent_name"), v.str(kAgentName))
	b.str(c("tool_name"), v.str(kToolName))
	b.str(c("data_source_id"), v.str(kDataSourceID))
	b.str(c("prompt_name"), v.str(kPromptName))
	b.str(c("prompt_version"), v.str(kPromptVersion))
	docs := countOf(b, v, kRetrievalDocs)
	if docs > math.MaxUint32 {
		b.repair("count_too_large")
		docs = math.MaxUint32
	}
	b.u32v(c("retrieval_docs"), uint32(docs))
	b.f32v(c("retrieval_top_score"), float32Of(b, v, kRetrievalTopScore))
	b.f32v(c("retrieval_min_score"), float32Of(b, v, kRetrievalMinScore))

	b.u64v(c("input_tokens"), countOf(b, v, kInputTokens))
	b.u64v(c("output_tokens"), countOf(b, v, kOutputTokens))
	b.u64v(c("cache_read_tokens"), countOf(b, v, kCacheReadTokens))
	cw := countOf(b, v, kCacheCreateTokens)
	if cw == 0 {
		cw = countOf(b, v, kCacheWriteTokens)
	}
	b.u64v(c("cache_write_tokens"), cw)
	b.u64v(c("reasoning_tokens"), countOf(b, v, kReasoningTokens))

	b.dec(c("cost_usd"), usdOf(b, v, kUsageCost))
	b.dec(c("cost_input_usd"), usdOf(b, v, kAIOpsCostInput))
	b.dec(c("cost_cached_input_usd"), usdOf(b, v, kAIOpsCostCached))
	b.dec(c("cost_cache_write_usd"), usdOf(b, v, kAIOpsCostCacheWrite))
	b.dec(c("cost_output_usd"), usdOf(b, v, kAIOpsCostOutput))
	b.dec(c("cost_reasoning_usd"), usdOf(b, v, kAIOpsCostReasoning))
	b.str(c("cost_source"), v.str(kAIOpsCostSource))
	b.str(c("price_id"), v.str(kAIOpsPriceID))

	in, out := v.str(kInputMessages), v.str(kOutputMessages)
	captured := v.str(kAIOpsContentCapture)
	if captured == "" {
		captured = "none"
		if in != "" || out != "" {
			captured = "full"
		}
	}
	b.str(c("content_captured"), captured)
	b.str(c("content_sha256"), v.str(kAIOpsContentSHA256))
	b.arr(c("policy_flags"), strSliceOf(b, v, kAIOpsPolicyFlags))
	b.str(c("input_messages"), in)
	b.str(c("output_messages"), out)
	b.mapv(c("attributes"), v.rest)
	b.mapv(c("resource_attributes"), r.attrs)
	b.str(c("insert_token"), token)
	b.endRow()
	return w
}

func addSpan(b *builder, res pcommon.Resource, span ptrace.Span, token string) {
	c := b.idx
	attrs := span.Attributes()
	w := attribution(b, attrs, res.Attributes())
	b.timev(c("timestamp"), span.StartTimestamp().AsTime())
	tid, sid, pid := span.TraceID(), span.SpanID(), span.ParentSpanID()
	b.str(c("trace_id"), b.idHex(tid[:], tid.IsEmpty()))
	b.str(c("span_id"), b.idHex(sid[:], sid.IsEmpty()))
	b.str(c("parent_span_id"), b.idHex(pid[:], pid.IsEmpty()))
	b.str(c("service_name"), w.service)
	b.str(c("workload"), w.workload)
	b.str(c("span_name"), span.Name())
	b.str(c("span_kind"), span.Kind().String())
	b.u64v(c("duration_ns"), duration(span))
	b.str(c("status_code"), span.Status().Code().String())
	status := count(b, attrs, "http.response.status_code")
	if status == 0 {
		status = count(b, attrs, "http.status_code")
	}
	if status > math.MaxUint16 {
		b.repair("count_too_large")
		status = 0
	}
	b.u16v(c("http_status_code"), uint16(status))
	b.str(c("http_route"), get(b, attrs, "http.route"))
	b.str(c("insert_token"), token)
	b.endRow()
}

// eventRow is what a genai_events row needs, from a span event or a log.
type eventRow struct {
	ts       pcommon.Timestamp
	traceID  pcommon.TraceID
	spanID   pcommon.SpanID
	who      who
	name     string
	attrs    pcommon.Map
	fallback pcommon.Map // the span's attributes, for a user or tenant the event lacks
}

func addEvent(b *builder, e eventRow, token string) {
	c := b.idx
	a := e.attrs
	b.timev(c("timestamp"), e.ts.AsTime())
	b.str(c("trace_id"), b.idHex(e.traceID[:], e.traceID.IsEmpty()))
	b.str(c("span_id"), b.idHex(e.spanID[:], e.spanID.IsEmpty()))
	b.str(c("response_id"), get(b, a, genai.ResponseID))
	b.str(c("service_name"), e.who.service)
	b.str(c("workload"), e.who.workload)
	user := first(b, a, genai.AIOpsUserID, "user.id", "aiops.feedback.user_id")
	if user == "" {
		user = e.who.user
	}
	b.str(c("user_id"), user)
	tenant := first(b, a, genai.AIOpsTenantID, "tenant.id")
	if tenant == "" {
		tenant = e.who.tenant
	}
	b.str(c("tenant_id"), tenant)
	b.str(c("event_name"), e.name)
	b.str(c("name"), first(b, a, "gen_ai.evaluation.name", "aiops.policy.name", "aiops.budget.name", "aiops.feedback.kind"))
	b.f64v(c("score_value"), float64Ptr(a, "gen_ai.evaluation.score.value", "aiops.feedback.rating", "aiops.budget.spent_usd"))
	b.str(c("score_label"), first(b, a, "gen_ai.evaluation.score.label", "aiops.feedback.label", "aiops.budget.state"))
	b.str(c("severity"), first(b, a, "aiops.policy.severity", "aiops.budget.severity"))
	b.str(c("action"), first(b, a, "aiops.policy.action", "aiops.budget.action"))
	b.str(c("explanation"), first(b, a, "gen_ai.evaluation.explanation", "aiops.feedback.comment", "aiops.policy.explanation"))
	b.mapv(c("attributes"), flatten(b, a, nil))
	b.str(c("insert_token"), token)
	b.endRow()
}

// logEventName is a log record's event name: the EventName field, or the
// event.name attribute older SDKs write.
func logEventName(b *builder, lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	return get(b, lr.Attributes(), "event.name")
}

func duration(span ptrace.Span) uint64 {
	if span.EndTimestamp() > span.StartTimestamp() {
		return uint64(span.EndTimestamp() - span.StartTimestamp())
	}
	return 0
}

// count reads a non-negative integer attribute; anything else stores 0 and
// is counted.
func count(b *builder, m pcommon.Map, k string) uint64 {
	v, ok := m.Get(k)
	return countValue(b, v, ok)
}

func countOf(b *builder, sv *spanView, k attrKey) uint64 {
	v, ok := sv.value(k)
	return countValue(b, v, ok)
}

func countValue(b *builder, v pcommon.Value, ok bool) uint64 {
	if !ok {
		return 0
	}
	n, problem := genai.Count(v)
	if problem != "" {
		b.repair("count_" + problem)
	}
	return uint64(n)
}

// usdMax is the largest per-row amount Decimal(18, 12) holds.
var usdMax = decimal.NewFromInt(999_999)

const usdMaxFloat = 999_999

// usdOf reads a USD amount as picodollars, the units of Decimal(18, 12).
// costattr writes amounts as float64; below 2^53 picodollars (about 9,000
// USD) rounding the scaled float recovers the exact integer. A decimal
// string is read exactly.
func usdOf(b *builder, sv *spanView, k attrKey) int64 {
	v, ok := sv.value(k)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble, pcommon.ValueTypeInt:
		f, ok := genai.Number(v)
		if !ok || f < 0 || f > usdMaxFloat {
			b.repair("bad_cost")
			return 0
		}
		return int64(math.Round(f * 1e12))
	case pcommon.ValueTypeStr:
		d, err := decimal.NewFromString(v.Str())
		if err != nil || d.IsNegative() || d.GreaterThan(usdMax) {
			b.repair("bad_cost")
			return 0
		}
		return d.Shift(12).Round(0).IntPart()
	}
	b.repair("bad_cost")
	return 0
}

func strSliceOf(b *builder, sv *spanView, k attrKey) []string {
	v, ok := sv.value(k)
	if !ok {
		return []string{}
	}
	if v.Type() != pcommon.ValueTypeSlice {
		return b.list(1, func(int) string { return b.valid(b.text(v)) })
	}
	s := v.Slice()
	return b.list(s.Len(), func(i int) string { return b.valid(b.text(s.At(i))) })
}

func flatten(b *builder, m pcommon.Map, skip map[string]bool) chstore.KV {
	start := b.reserve(2 * m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		if !skip[k] {
			b.arena = append(b.arena, b.valid(k), b.valid(b.text(v)))
		}
		return true
	})
	return b.kv(start)
}

func boolOf(sv *spanView, k attrKey) bool {
	v, ok := sv.value(k)
	if !ok {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeStr:
		t, _ := strconv.ParseBool(v.Str())
		return t
	}
	return false
}

func float32Of(b *builder, sv *spanView, k attrKey) *float32 {
	v, ok := sv.value(k)
	if !ok {
		return nil
	}
	f, ok := genai.Number(v)
	if !ok {
		return nil
	}
	return b.f32(float32(f))
}

func float64Ptr(m pcommon.Map, keys ...string) *float64 {
	for _, k := range keys {
		if v, ok := m.Get(k); ok {
			if f, ok := genai.Number(v); ok {
				return &f
			}
			if v.Type() != pcommon.ValueTypeStr {
				continue // numbers were read above; nothing else spells one
			}
			if f, err := strconv.ParseFloat(v.Str(), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return &f
			}
		}
	}
	return nil
}

func (b *builder) idHex(id []byte, empty bool) string {
	if empty {
		return ""
	}
	return b.derive(2*len(id), func(out []byte) []byte { return hex.AppendEncode(out, id) })
}
