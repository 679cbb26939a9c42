package aiopsclickhouse

import (
	"encoding/hex"
	"hash/fnv"
	"math"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// spanRows accumulates genai_spans rows column by column.
type spanRows struct {
	n       int
	ts      []time.Time
	str     map[string][]string
	u64     map[string][]uint64
	u32     map[string][]uint32
	bools   map[string][]bool
	f32     map[string][]*float32
	dec     map[string][]decimal.Decimal
	arrays  map[string][][]string
	maps    map[string][]map[string]string
	skipped int // non-GenAI spans, stored elsewhere once the spans table exists
	// invalid counts values that had to be repaired, by kind.
	invalid map[string]int
}

func newSpanRows(capacity int) *spanRows {
	r := &spanRows{
		str: map[string][]string{}, u64: map[string][]uint64{}, u32: map[string][]uint32{},
		bools: map[string][]bool{}, f32: map[string][]*float32{}, dec: map[string][]decimal.Decimal{},
		arrays: map[string][][]string{}, maps: map[string][]map[string]string{}, invalid: map[string]int{},
	}
	r.ts = make([]time.Time, 0, capacity)
	return r
}

// promoted keys have their own columns and are left out of the attributes map
// (content would otherwise be stored twice).
var promoted = map[string]bool{
	genai.InputMessages: true, genai.OutputMessages: true,
}

func (r *spanRows) add(res pcommon.Resource, span ptrace.Span) {
	attrs := span.Attributes()
	rattrs := res.Attributes()
	r.n++
	r.ts = append(r.ts, span.StartTimestamp().AsTime())
	s := func(col, v string) { r.str[col] = append(r.str[col], r.validUTF8(v)) }
	get := func(m pcommon.Map, k string) string {
		if v, ok := m.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := get(attrs, k); v != "" {
				return v
			}
		}
		return ""
	}
	tid, sid, pid := span.TraceID(), span.SpanID(), span.ParentSpanID()
	s("trace_id", hexOrEmpty(tid[:], tid.IsEmpty()))
	s("span_id", hexOrEmpty(sid[:], sid.IsEmpty()))
	s("parent_span_id", hexOrEmpty(pid[:], pid.IsEmpty()))
	s("span_name", span.Name())
	dur := uint64(0)
	if span.EndTimestamp() > span.StartTimestamp() {
		dur = uint64(span.EndTimestamp() - span.StartTimestamp())
	}
	r.u64["duration_ns"] = append(r.u64["duration_ns"], dur)
	s("status_code", span.Status().Code().String())
	s("error_type", get(attrs, genai.ErrorType))
	r.arrays["finish_reasons"] = append(r.arrays["finish_reasons"], r.strSlice(attrs, genai.FinishReasons))
	r.bools["streaming"] = append(r.bools["streaming"], boolAttr(attrs, genai.RequestStream))

	service := get(rattrs, "service.name")
	s("service_name", service)
	s("service_version", get(rattrs, "service.version"))
	env := get(rattrs, "deployment.environment.name")
	if env == "" {
		env = get(rattrs, "deployment.environment")
	}
	s("environment", env)
	workload := first(genai.AIOpsWorkload)
	if workload == "" {
		if workload = get(rattrs, genai.AIOpsWorkload); workload == "" {
			workload = service
		}
	}
	s("workload", workload)
	s("user_id", first(genai.AIOpsUserID, "user.id", "enduser.id"))
	s("tenant_id", first(genai.AIOpsTenantID, "tenant.id"))
	s("team", first(genai.AIOpsTeam))
	s("feature", first(genai.AIOpsFeature))
	s("conversation_id", first(genai.ConversationID))

	s("operation", get(attrs, genai.OperationName))
	s("provider", get(attrs, genai.ProviderName))
	s("request_model", get(attrs, genai.RequestModel))
	s("response_model", get(attrs, genai.ResponseModel))
	r.bools["model_pinned"] = append(r.bools["model_pinned"], boolAttr(attrs, genai.AIOpsModelPinned))
	s("agent_name", get(attrs, genai.AgentName))
	s("tool_name", get(attrs, genai.ToolName))
	s("data_source_id", get(attrs, genai.DataSourceID))
	s("prompt_name", get(attrs, genai.PromptName))
	s("prompt_version", get(attrs, genai.PromptVersion))
	r.u32["retrieval_docs"] = append(r.u32["retrieval_docs"], uint32(r.count(attrs, "aiops.retrieval.docs")))
	r.f32["retrieval_top_score"] = append(r.f32["retrieval_top_score"], floatPtr(attrs, "aiops.retrieval.top_score"))
	r.f32["retrieval_min_score"] = append(r.f32["retrieval_min_score"], floatPtr(attrs, "aiops.retrieval.min_score"))

	r.u64["input_tokens"] = append(r.u64["input_tokens"], r.count(attrs, genai.InputTokens))
	r.u64["output_tokens"] = append(r.u64["output_tokens"], r.count(attrs, genai.OutputTokens))
	r.u64["cache_read_tokens"] = append(r.u64["cache_read_tokens"], r.count(attrs, genai.CacheReadTokens))
	cw := r.count(attrs, genai.CacheCreateTokens)
	if cw == 0 {
		cw = r.count(attrs, genai.CacheWriteTokens)
	}
	r.u64["cache_write_tokens"] = append(r.u64["cache_write_tokens"], cw)
	r.u64["reasoning_tokens"] = append(r.u64["reasoning_tokens"], r.count(attrs, genai.ReasoningTokens))

	r.dec["cost_usd"] = append(r.dec["cost_usd"], r.usd(attrs, genai.UsageCost))
	r.dec["cost_input_usd"] = append(r.dec["cost_input_usd"], r.usd(attrs, genai.AIOpsCostInput))
	r.dec["cost_cached_input_usd"] = append(r.dec["cost_cached_input_usd"], r.usd(attrs, genai.AIOpsCostCached))
	r.dec["cost_cache_write_usd"] = append(r.dec["cost_cache_write_usd"], r.usd(attrs, genai.AIOpsCostCacheWrite))
	r.dec["cost_output_usd"] = append(r.dec["cost_output_usd"], r.usd(attrs, genai.AIOpsCostOutput))
	r.dec["cost_reasoning_usd"] = append(r.dec["cost_reasoning_usd"], r.usd(attrs, genai.AIOpsCostReasoning))
	s("cost_source", get(attrs, genai.AIOpsCostSource))
	s("price_id", get(attrs, genai.AIOpsPriceID))

	in, out := get(attrs, genai.InputMessages), get(attrs, genai.OutputMessages)
	captured := get(attrs, genai.AIOpsContentCapture)
	if captured == "" {
		captured = "none"
		if in != "" || out != "" {
			captured = "full"
		}
	}
	s("content_captured", captured)
	s("content_sha256", get(attrs, genai.AIOpsContentSHA256))
	r.arrays["policy_flags"] = append(r.arrays["policy_flags"], r.strSlice(attrs, genai.AIOpsPolicyFlags))
	s("input_messages", in)
	s("output_messages", out)
	r.maps["attributes"] = append(r.maps["attributes"], r.flatten(attrs, promoted))
	r.maps["resource_attributes"] = append(r.maps["resource_attributes"], r.flatten(rattrs, nil))
}

// batch lays the columns out in the contract order of chstore.GenAISpanColumns.
func (r *spanRows) batch(db string) *chstore.Batch {
	b := &chstore.Batch{Database: db, Table: "genai_spans", Columns: make([]chstore.Column, 0, len(chstore.GenAISpanColumns))}
	for _, c := range chstore.GenAISpanColumns {
		var v any
		switch {
		case c.Name == "timestamp":
			v = r.ts
		case r.str[c.Name] != nil:
			v = r.str[c.Name]
		case r.u64[c.Name] != nil:
			v = r.u64[c.Name]
		case r.u32[c.Name] != nil:
			v = r.u32[c.Name]
		case r.bools[c.Name] != nil:
			v = r.bools[c.Name]
		case r.f32[c.Name] != nil:
			v = r.f32[c.Name]
		case r.dec[c.Name] != nil:
			v = r.dec[c.Name]
		case r.arrays[c.Name] != nil:
			v = r.arrays[c.Name]
		case r.maps[c.Name] != nil:
			v = r.maps[c.Name]
		default:
			panic("aiops_clickhouse: no values for contract column " + c.Name)
		}
		b.Columns = append(b.Columns, chstore.Column{Name: c.Name, Type: c.Type, Values: v})
	}
	return b
}

func (r *spanRows) validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	r.invalid["invalid_utf8"]++
	return toValidUTF8(s)
}

func toValidUTF8(s string) string {
	b := make([]byte, 0, len(s))
	for len(s) > 0 {
		c, size := utf8.DecodeRuneInString(s)
		if c == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[:size]...)
		}
		s = s[size:]
	}
	return string(b)
}

// count reads a non-negative integer attribute; anything else stores 0 and
// is counted.
func (r *spanRows) count(m pcommon.Map, k string) uint64 {
	v, ok := m.Get(k)
	if !ok {
		return 0
	}
	n, problem := genai.Count(v)
	if problem != "" {
		r.invalid["count_"+problem]++
	}
	return uint64(n)
}

// usd reads a USD amount exactly to the picodollar: costattr writes amounts
// below 2^53 picodollars, whose shortest float form is their exact decimal.
func (r *spanRows) usd(m pcommon.Map, k string) decimal.Decimal {
	v, ok := m.Get(k)
	if !ok {
		return decimal.Zero
	}
	var d decimal.Decimal
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 9e6 {
			r.invalid["bad_cost"]++
			return decimal.Zero
		}
		d = decimal.NewFromFloat(f)
	case pcommon.ValueTypeInt:
		d = decimal.NewFromInt(v.Int())
	case pcommon.ValueTypeStr:
		var err error
		if d, err = decimal.NewFromString(v.Str()); err != nil {
			r.invalid["bad_cost"]++
			return decimal.Zero
		}
	default:
		r.invalid["bad_cost"]++
		return decimal.Zero
	}
	if d.IsNegative() || d.GreaterThan(decimal.NewFromInt(9_000_000)) {
		r.invalid["bad_cost"]++
		return decimal.Zero
	}
	return d.Round(12)
}

func (r *spanRows) strSlice(m pcommon.Map, k string) []string {
	v, ok := m.Get(k)
	if !ok {
		return []string{}
	}
	if v.Type() != pcommon.ValueTypeSlice {
		return []string{r.validUTF8(v.AsString())}
	}
	s := v.Slice()
	out := make([]string, s.Len())
	for i := range out {
		out[i] = r.validUTF8(s.At(i).AsString())
	}
	return out
}

func (r *spanRows) flatten(m pcommon.Map, skip map[string]bool) map[string]string {
	out := make(map[string]string, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		if !skip[k] {
			out[r.validUTF8(k)] = r.validUTF8(v.AsString())
		}
		return true
	})
	return out
}

func boolAttr(m pcommon.Map, k string) bool {
	v, ok := m.Get(k)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}

func floatPtr(m pcommon.Map, k string) *float32 {
	v, ok := m.Get(k)
	if !ok {
		return nil
	}
	f, ok := genai.Number(v)
	if !ok {
		return nil
	}
	f32 := float32(f)
	return &f32
}

func hexOrEmpty(b []byte, empty bool) string {
	if empty {
		return ""
	}
	return hex.EncodeToString(b)
}

// dedupToken identifies a batch by its spans, so the same request retried
// (or re-read from the persistent queue after a crash) gets the same token
// and ClickHouse drops the repeat.
func dedupToken(td ptrace.Traces) string {
	h := fnv.New128a()
	var n [8]byte
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				tid, sid := sp.TraceID(), sp.SpanID()
				h.Write(tid[:])
				h.Write(sid[:])
				ts := uint64(sp.StartTimestamp())
				for b := range n {
					n[b] = byte(ts >> (8 * b))
				}
				h.Write(n[:])
			}
		}
	}
	return "aiops-" + hex.EncodeToString(h.Sum(nil))
}
