package aitrace

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// isGenAISpan extends genai.IsGenAI with dialect keys that appear on spans
// carrying no gen_ai.* key at all (Traceloop workflow and task spans, AI SDK
// tool calls, Langfuse observations, OpenInference documents). It looks at
// the first byte of each key before any string compare, so a non-GenAI span
// costs a few nanoseconds per attribute.
func isGenAISpan(span ptrace.Span) bool {
	for k := range span.Attributes().All() {
		if len(k) < 4 {
			continue
		}
		switch k[0] {
		case 'g':
			if strings.HasPrefix(k, "gen_ai.") {
				return true
			}
		case 'l':
			if strings.HasPrefix(k, "llm.") || strings.HasPrefix(k, "langfuse.") {
				return true
			}
		case 'o':
			if k == genai.OISpanKind {
				return true
			}
		case 'a':
			if strings.HasPrefix(k, "ai.model.") || strings.HasPrefix(k, "ai.usage.") || k == "ai.operationId" || strings.HasPrefix(k, "ai.toolCall.") {
				return true
			}
		case 't':
			if k == genai.TraceloopKind || strings.HasPrefix(k, "traceloop.entity.") {
				return true
			}
		case 'r':
			if strings.HasPrefix(k, "retrieval.documents.") {
				return true
			}
		case 'e':
			if k == "embedding.model_name" {
				return true
			}
		}
	}
	return false
}

// Prefixes of flattened per-message and per-document keys.
const (
	oiInPrefix   = "llm.input_messages."
	oiOutPrefix  = "llm.output_messages."
	olInPrefix   = "gen_ai.prompt."
	olOutPrefix  = "gen_ai.completion."
	oiDocPrefix  = "retrieval.documents."
	oiEmbPrefix  = "embedding.embeddings."
	oiEvalPrefix = "evaluations."
	bedrockGuard = "aws.bedrock.guardrail."
)

// Span-pass flags for keys found by prefix.
const (
	sFlatOIIn uint16 = 1 << iota
	sFlatOIOut
	sFlatOLIn
	sFlatOLOut
	sFlatDocs
	sAzureFilter
	sBedrock
	sApproval
)

// normalize maps, classifies and polices one GenAI span.
func (p *traceProcessor) normalize(ctx context.Context, w *workspace, span ptrace.Span) {
	attrs := span.Attributes()
	w.beginSpan()
	// One pass over the keys: which dialect keys, current keys, content and
	// prefixed families are present.
	var keyFlags, prefixFlags uint16
	// Room for what we add: one copy of the map instead of a doubling.
	attrs.EnsureCapacity(attrs.Len() + 16)
	for k, v := range attrs.All() {
		if ki, ok := p.lookup(k); ok {
			if ki.target >= 0 {
				w.present[ki.target>>6] |= 1 << (ki.target & 63)
				w.cache(ki.target, v)
			}
			for _, r := range ki.rules {
				w.found = append(w.found, foundRule{ref: r, v: v})
			}
			keyFlags |= ki.flags
			if ki.flags&fContent != 0 {
				w.nContent++
			}
			continue
		}
		if len(k) < 8 {
			continue
		}
		// Families found by prefix; the first byte picks the few to test.
		switch k[0] {
		case 'l':
			if strings.HasPrefix(k, oiInPrefix) {
				prefixFlags |= sFlatOIIn
				w.addFlat(v)
			} else if strings.HasPrefix(k, oiOutPrefix) {
				prefixFlags |= sFlatOIOut
				w.addFlat(v)
			}
		case 'g':
			switch {
			case strings.HasPrefix(k, olInPrefix):
				if strings.HasSuffix(k, "filter_results") {
					prefixFlags |= sAzureFilter
				} else {
					prefixFlags |= sFlatOLIn
					w.addFlat(v)
				}
			case strings.HasPrefix(k, olOutPrefix):
				if strings.HasSuffix(k, "filter_results") {
					prefixFlags |= sAzureFilter
				} else {
					prefixFlags |= sFlatOLOut
					w.addFlat(v)
				}
			case strings.Contains(k, "approv"):
				prefixFlags |= sApproval
			}
		case 'r':
			if strings.HasPrefix(k, oiDocPrefix) {
				prefixFlags |= sFlatDocs
				w.addFlat(v)
			}
		case 'e':
			if strings.HasPrefix(k, oiEmbPrefix) && strings.HasSuffix(k, ".text") {
				w.nContent++
			}
		case 'a':
			if strings.HasPrefix(k, bedrockGuard) {
				prefixFlags |= sBedrock
			} else if strings.HasSuffix(k, "filter_results") {
				prefixFlags |= sAzureFilter
			} else if strings.Contains(k, "approv") {
				prefixFlags |= sApproval
			}
		case 't', 'h':
			// tool.*, human_*: approval markers
			if strings.Contains(k, "approv") {
				prefixFlags |= sApproval
			}
		}
	}
	info := w.newSpanInfo(span)
	wrapper := p.wrapperKind(w, attrs, info)

	p.applyRenames(ctx, w, attrs, wrapper)
	if keyFlags&fInvocation != 0 {
		p.invocationParams(w, attrs)
	}
	if keyFlags&fLangfuseUsage != 0 {
		p.langfuseUsage(ctx, w, attrs)
	}
	p.traceloopEntity(w, attrs)
	if prefixFlags&(sFlatOIIn|sFlatOIOut|sFlatOLIn|sFlatOLOut) != 0 || keyFlags&fMsgSource != 0 || span.Events().Len() > 0 {
		p.buildMessages(ctx, w, span, prefixFlags)
	}
	p.normalizeFinishReasons(w, attrs)

	op := p.identify(w, span, info, p.operation(w, span))
	info.op = op
	p.streaming(w, span, keyFlags)
	p.classifyError(w, span)
	provider := w.getStr(attrs, tProvider)
	p.tokens(ctx, w, attrs, provider, keyFlags, info)
	if info.hasUsage {
		if v, ok := attrs.Get(genai.ResponseID); ok && v.Type() == pcommon.ValueTypeStr {
			info.response = hash32(v.Str())
		}
	} else if callOps[op] && !info.guardrail && span.Status().Code() != ptrace.StatusCodeError && !w.hasT(tErrorType) {
		// A model call the instrumentation reports without usage: the
		// scoring tells "not measured" from "not done" by this flag.
		why := "not_reported"
		if streamed(w, attrs) {
			why = "stream_without_usage"
		}
		attrs.PutStr(genai.AIOpsUsageMissing, why)
	}
	if info.vercelWrapper && info.hasUsage {
		// Usage under current keys on an AI SDK wrapper repeats its calls too.
		moveUsage(attrs)
		w.valsOK = false
		info.hasUsage = false
		w.wrapperUsage = true
	}
	p.modelMeta(w, attrs, info, provider)
	if op == "retrieval" || prefixFlags&sFlatDocs != 0 || keyFlags&fRetrieval != 0 || span.Events().Len() > 0 {
		info.retr = p.retrieval(ctx, w, span, op == "retrieval")
	}
	p.signals(w, span, prefixFlags, keyFlags)
	p.toolInfo(w, attrs, info, prefixFlags)
	if w.nContent > 0 || span.Events().Len() > 0 {
		p.applyPolicy(ctx, w, span)
	}
	info.content = w.nContent > 0
	if w.res.Found != 0 || len(w.sigs) > 0 {
		p.policySummary(ctx, w, span)
	}
	p.finishSpan(ctx, w, span)
}

// wrapperKind tells framework spans that aggregate their children's work:
// the AI SDK's ai.generateText around ai.generateText.doGenerate, Traceloop
// workflows and tasks, OpenInference chains and agents.
func (p *traceProcessor) wrapperKind(w *workspace, attrs pcommon.Map, info *spanInfo) bool {
	if w.hasT(tAIOperationID) {
		if op, ok := w.get(attrs, tAIOperationID); ok {
			id := op.Str()
			if strings.HasPrefix(id, "ai.") && !strings.Contains(id, ".do") && id != "ai.toolCall" {
				info.vercelWrapper = true
				info.wrapper = true
				return true
			}
		}
	}
	if v, ok := w.get(attrs, tOIKind); ok {
		switch v.Str() {
		case "CHAIN", "AGENT":
			info.wrapper = true
		case "GUARDRAIL":
			info.guardrail = true
		case "EVALUATOR":
			info.guardrail, info.evaluator = true, true
		}
	}
	if v, ok := w.get(attrs, tLangfuseType); ok {
		switch strings.ToLower(v.Str()) {
		case "guardrail":
			info.guardrail = true
		case "evaluator":
			info.guardrail, info.evaluator = true, true
		}
	}
	if v, ok := w.get(attrs, tTraceloopKind); ok {
		switch v.Str() {
		case "workflow", "task", "agent":
			info.wrapper = true
		}
	}
	return false
}

// applyRenames maps the dialect keys found by the pass, in table priority.
func (p *traceProcessor) applyRenames(ctx context.Context, w *workspace, attrs pcommon.Map, vercelWrapper bool) {
	if len(w.found) == 0 {
		return
	}
	// Stable priority order: table, then the rule's place in it.
	refs := w.found
	for i := 1; i < len(refs); i++ {
		for j := i; j > 0 && refs[j].ref.before(refs[j-1].ref); j-- {
			refs[j], refs[j-1] = refs[j-1], refs[j]
		}
	}
	mapped := w.tableMapped[:0]
	for i := range refs {
		ref, v := &refs[i].ref, refs[i].v
		r := &ref.r
		to, slot := r.to, ref.toIdx
		if vercelWrapper && r.usage {
			// The wrapper's usage is the sum of its provider calls: keep it
			// for reference where costattr does not price it.
			to, slot = genai.AIOpsUsageRepeated+strings.TrimPrefix(r.to, "gen_ai.usage."), -1
			if _, exists := attrs.Get(to); exists {
				continue
			}
			w.wrapperUsage = true
		} else if slot >= 0 && w.hasT(slot) || slot < 0 && mapHas(attrs, to) {
			continue // never overwrite a value already under its current name
		}
		switch r.conv {
		case toInt:
			n, problem := genai.Count(v)
			if problem == "" && n > maxTokens {
				problem = "absurd"
			}
			if problem != "" {
				p.malformed(ctx, w, "token_"+problem, r.from)
				continue
			}
			nv := attrs.PutEmpty(to)
			nv.SetInt(n)
			w.cache(slot, nv)
		case toNumber:
			f, ok := genai.Number(v)
			if !ok && v.Type() == pcommon.ValueTypeStr {
				f, ok = parseFloat(v.Str())
			}
			if !ok {
				p.malformed(ctx, w, "number_wrong_type", r.from)
				continue
			}
			attrs.PutDouble(to, f)
		case toBool:
			switch {
			case v.Type() == pcommon.ValueTypeBool:
				attrs.PutBool(to, v.Bool())
			case v.Type() == pcommon.ValueTypeStr && (strings.EqualFold(v.Str(), "true") || strings.EqualFold(v.Str(), "false")):
				attrs.PutBool(to, strings.EqualFold(v.Str(), "true"))
			default:
				p.malformed(ctx, w, "bool_wrong_type", r.from)
				continue
			}
		case toProvider:
			if v.Type() != pcommon.ValueTypeStr {
				p.malformed(ctx, w, "provider_wrong_type", r.from)
				continue
			}
			nv := attrs.PutEmpty(to)
			nv.SetStr(providerName(v.Str()))
			w.cache(slot, nv)
		case toOperation:
			op, ok := operationAliases[v.AsString()]
			if !ok {
				if !operations[v.AsString()] {
					continue
				}
				op = v.AsString()
			}
			attrs.PutStr(to, op)
		case toFinish:
			s := attrs.PutEmptySlice(to)
			if v.Type() == pcommon.ValueTypeSlice {
				for _, e := range v.Slice().All() {
					s.AppendEmpty().SetStr(finishReason(e.AsString()))
				}
			} else {
				s.AppendEmpty().SetStr(finishReason(v.AsString()))
			}
		default:
			nv := attrs.PutEmpty(to)
			v.CopyTo(nv)
			w.cache(slot, nv)
		}
		if slot >= 0 {
			w.setT(slot)
		}
		if !p.cfg.KeepOriginalKeys {
			w.remove = append(w.remove, r.from)
		}
		if !containsInt(mapped, ref.table) {
			mapped = append(mapped, ref.table)
		}
		if r.usage && w.usageDialect == "" {
			if ref.table < len(p.names) {
				w.usageDialect = p.names[ref.table]
			} else {
				w.usageDialect = "custom"
			}
		}
	}
	w.tableMapped = mapped
	if len(w.remove) > 0 {
		// One pass, after all reads: removal invalidates the pass's values.
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool { return containsStr(w.remove, k) })
		w.valsOK = false
	}
}

// maxTokens bounds a believable token count for one call; anything larger
// is a unit or overflow bug and would be priced as a fortune.
const maxTokens = 100_000_000

func (r ruleRef) before(o ruleRef) bool {
	if r.table != o.table {
		return r.table < o.table
	}
	return r.prio < o.prio
}

// normalizedName joins dialect names in table order, interning the common
// combinations so the string is built once.
func (p *traceProcessor) normalizedName(tables []int) string {
	var key uint64
	for _, t := range tables {
		key |= 1 << uint(min(t, 63))
	}
	if v, ok := p.normNames.Load(key); ok {
		return v.(string)
	}
	sorted := append([]int(nil), tables...)
	sort.Ints(sorted)
	names := make([]string, len(sorted))
	for i, t := range sorted {
		names[i] = "custom"
		if t < len(p.names) {
			names[i] = p.names[t]
		}
	}
	s := strings.Join(names, ",")
	p.normNames.Store(key, s)
	return s
}

func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

func mapHas(m pcommon.Map, k string) bool {
	_, ok := m.Get(k)
	return ok
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func finishReason(v string) string {
	if r, ok := finishRenames[v]; ok {
		return r
	}
	return v
}

// normalizeFinishReasons renames dialect values that arrived under the
// current key (the AI SDK writes "tool-calls" there).
func (p *traceProcessor) normalizeFinishReasons(w *workspace, attrs pcommon.Map) {
	if !w.hasT(tFinish) {
		return
	}
	v, ok := w.get(attrs, tFinish)
	if !ok {
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			if e.Type() == pcommon.ValueTypeStr {
				if r, ok := finishRenames[e.Str()]; ok {
					e.SetStr(r)
				}
			}
		}
	case pcommon.ValueTypeStr:
		r := finishReason(v.Str())
		attrs.PutEmptySlice(genai.FinishReasons).AppendEmpty().SetStr(r)
	}
}

func strAttr(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// traceloopEntity names the tool or agent of a Traceloop tool or agent span.
func (p *traceProcessor) traceloopEntity(w *workspace, attrs pcommon.Map) {
	if !w.hasT(tTraceloopEntity) || !w.hasT(tTraceloopKind) {
		return
	}
	name := strAttr(attrs, "traceloop.entity.name")
	switch strAttr(attrs, genai.TraceloopKind) {
	case "tool":
		p.putStrIfAbsent(w, attrs, genai.ToolName, name)
	case "agent":
		p.putStrIfAbsent(w, attrs, genai.AgentName, name)
	case "workflow":
		p.putStrIfAbsent(w, attrs, genai.WorkflowName, name)
	}
}

func (p *traceProcessor) putStrIfAbsent(w *workspace, attrs pcommon.Map, k, v string) bool {
	if v == "" || w.has(p, k) {
		return false
	}
	if _, ok := attrs.Get(k); ok {
		return false
	}
	attrs.PutStr(k, v)
	w.setPresent(p, k)
	return true
}

// finishSpan writes the span's summary attributes.
func (p *traceProcessor) finishSpan(ctx context.Context, w *workspace, span ptrace.Span) {
	attrs := span.Attributes()
	if len(w.tableMapped) > 0 {
		// One comma-separated string: a slice costs five allocations per span.
		for _, t := range w.tableMapped {
			w.mappedBy[t]++
		}
		attrs.PutStr(genai.AIOpsNormalized, p.normalizedName(w.tableMapped))
	}
	if len(w.malformedKinds) > 0 {
		s := attrs.PutEmptySlice(genai.AIOpsMalformed)
		for _, k := range w.malformedKinds {
			s.AppendEmpty().SetStr(k)
		}
	}
	if w.wrapperUsage {
		attrs.PutStr(genai.AIOpsUsageDuplicateWhy, "framework_wrapper")
		p.tel.dups.Add(ctx, 1, cachedOpt(&p.tel.dupOpts, func() metric.MeasurementOption {
			return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "framework_wrapper")))
		}, "framework_wrapper"))
	}
}
