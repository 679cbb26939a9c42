package aitrace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"sort"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai/policy"
)

// contentSide tells whether attribute k is message content, and whether the
// model produced it (output side: no injection scan).
func (p *traceProcessor) contentSide(k string) (content, output bool) {
	if ki, ok := p.index[k]; ok {
		return ki.flags&fContent != 0, ki.flags&fOutput != 0
	}
	switch {
	case strings.HasPrefix(k, oiInPrefix), strings.HasPrefix(k, oiDocPrefix):
		return true, false
	case strings.HasPrefix(k, olInPrefix):
		return !strings.HasSuffix(k, "filter_results"), false
	case strings.HasPrefix(k, oiOutPrefix):
		return true, true
	case strings.HasPrefix(k, olOutPrefix):
		return !strings.HasSuffix(k, "filter_results"), true
	case strings.HasPrefix(k, oiEmbPrefix):
		return strings.HasSuffix(k, ".text"), false
	case strings.HasPrefix(k, oiEvalPrefix):
		return strings.HasSuffix(k, ".explanation"), true // an LLM judge's reply
	}
	return false, false
}

// eventContentSide classifies span events that carry message content.
func eventContentSide(name string) (content, output bool) {
	if !strings.HasPrefix(name, "gen_ai.") {
		return false, false
	}
	switch name {
	case "gen_ai.choice", "gen_ai.assistant.message", "gen_ai.content.completion":
		return true, true
	case "gen_ai.evaluation.result":
		return false, false
	}
	return true, false
}

// applyPolicy scans every content value of the span and its GenAI events,
// rewrites findings whose action is mask or hash, and drops all content
// when a drop_content detector fired, the capture policy is digest, or a
// value is too large to vouch for. Nothing below leaves unscanned.
func (p *traceProcessor) applyPolicy(ctx context.Context, w *workspace, span ptrace.Span) {
	attrs := span.Attributes()
	r := &w.res
	rewritten, tooLarge, seen := false, false, false
	scan := func(m pcommon.Map, k string, v pcommon.Value, output bool) {
		if v.Type() != pcommon.ValueTypeStr {
			// Content of any type is scanned and stored as text: structured
			// content as the JSON semconv specifies, bytes as the text they
			// hold, so no value type passes the policy unread.
			if v.Type() == pcommon.ValueTypeBytes {
				p.malformed(ctx, w, "content_bytes", k)
			}
			v.SetStr(contentText(v))
		}
		s := v.Str()
		if s == "" {
			return
		}
		seen = true
		if len(s) > p.maxScan {
			tooLarge = true
			p.malformed(ctx, w, "content_too_large", k)
			return
		}
		if !utf8.ValidString(s) {
			p.malformed(ctx, w, "invalid_utf8", k)
			s = strings.ToValidUTF8(s, "\uFFFD")
			v.SetStr(s)
		}
		if out, changed := p.policy.Apply(&w.pol, s, !output, r); changed {
			v.SetStr(out)
			rewritten = true
		}
	}
	for k, v := range attrs.All() {
		if c, out := p.contentSide(k); c {
			scan(attrs, k, v, out)
		}
	}
	events := span.Events()
	for _, ev := range events.All() {
		c, out := eventContentSide(ev.Name())
		if !c {
			continue
		}
		ea := ev.Attributes()
		for k, v := range ea.All() {
			scan(ea, k, v, out)
		}
	}
	if !seen {
		return
	}
	drop := r.Drop || p.digest || tooLarge
	switch {
	case drop:
		reason := "capture_digest"
		switch {
		case tooLarge:
			reason = "too_large"
		case r.Drop:
			reason = "policy"
		}
		p.dropContent(w, span, reason)
	case rewritten:
		attrs.PutStr(genai.AIOpsContentCapture, "redacted")
		attrs.PutStr(genai.AIOpsContentRedaction, "masked")
	default:
		attrs.PutStr(genai.AIOpsContentCapture, "full")
	}
}

// dropContent removes every content value, keeping one SHA-256 over them
// (in key order, after masking, so the digest encodes no raw secret) and
// their total length.
func (p *traceProcessor) dropContent(w *workspace, span ptrace.Span, reason string) {
	attrs := span.Attributes()
	h := sha256.New()
	total := 0
	keys := w.strs[:0]
	for k := range attrs.All() {
		if c, _ := p.contentSide(k); c {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := attrs.Get(k)
		s := v.AsString()
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(s))
		h.Write([]byte{0})
		total += len(s)
	}
	for _, ev := range span.Events().All() {
		if c, _ := eventContentSide(ev.Name()); !c {
			continue
		}
		ea := ev.Attributes()
		ea.RemoveIf(func(k string, v pcommon.Value) bool {
			s := v.AsString()
			h.Write([]byte(k))
			h.Write([]byte{0})
			h.Write([]byte(s))
			h.Write([]byte{0})
			total += len(s)
			return true
		})
	}
	for _, k := range keys {
		attrs.Remove(k)
	}
	w.strs = keys[:0]
	attrs.PutStr(genai.AIOpsContentCapture, "redacted")
	attrs.PutStr(genai.AIOpsContentRedaction, "dropped:"+reason)
	attrs.PutStr(genai.AIOpsContentSHA256, hex.EncodeToString(h.Sum(nil)))
	attrs.PutInt(genai.AIOpsContentLength, int64(total))
}

var actionRank = map[string]int{"detect": 1, "mask": 2, "hash": 3, "drop_content": 4}
var severityRank = map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// policySummary writes one aiops.policy event per finding kind and the
// span summary: flags, strongest action, highest severity, total hits.
func (p *traceProcessor) policySummary(ctx context.Context, w *workspace, span ptrace.Span) {
	attrs := span.Attributes()
	r := &w.res
	flags := attrs.PutEmptySlice(genai.AIOpsPolicyFlags)
	maxAction, maxSev, hits := "", "", int64(0)
	emit := func(name, action, severity string, count int64) {
		ev := span.Events().AppendEmpty()
		ev.SetName(genai.AIOpsPolicyEvent)
		ev.SetTimestamp(span.StartTimestamp())
		ea := ev.Attributes()
		ea.PutStr(genai.AIOpsPolicyName, name)
		ea.PutStr(genai.AIOpsPolicyEventAction, action)
		ea.PutStr("aiops.policy.severity", severity)
		ea.PutInt(genai.AIOpsPolicyCount, count)
		flags.AppendEmpty().SetStr(name)
		if actionRank[action] > actionRank[maxAction] {
			maxAction = action
		}
		if maxSev == "" || severityRank[severity] > severityRank[maxSev] {
			maxSev = severity
		}
		hits += count
	}
	for d := policy.Detector(0); d < policy.NumDetectors; d++ {
		if !r.Found.Has(d) {
			continue
		}
		a := p.policy.Action(d).String()
		emit(d.Name(), a, d.Severity(), int64(r.Counts[d]))
		p.tel.hits.Add(ctx, int64(r.Counts[d]), p.tel.hitOpts[d])
	}
	for _, s := range w.sigs {
		sev := "medium"
		if strings.HasSuffix(s, "_configured") || strings.HasPrefix(s, "framework.") {
			sev = "info"
		}
		emit(s, "detect", sev, 1)
		p.tel.hits.Add(ctx, 1, cachedOpt(&p.tel.signalOpts, func() metric.MeasurementOption {
			return metric.WithAttributeSet(attribute.NewSet(attribute.String("detector", s), attribute.String("action", "detect")))
		}, s))
	}
	attrs.PutStr(genai.AIOpsPolicyAction, maxAction)
	attrs.PutStr(genai.AIOpsPolicySeverity, maxSev)
	attrs.PutInt(genai.AIOpsPolicyHits, hits)
	w.sigs = w.sigs[:0]
}

// signals records what providers and frameworks report about filtering:
// finish_reason content_filter, Azure content-filter results, Bedrock
// guardrails, OpenInference GUARDRAIL and EVALUATOR spans, evaluation events.
func (p *traceProcessor) signals(w *workspace, span ptrace.Span, prefixFlags, keyFlags uint16) {
	attrs := span.Attributes()
	if keyFlags&fSignal != 0 || w.hasT(tFinish) {
		if v, ok := w.get(attrs, tFinish); ok && v.Type() == pcommon.ValueTypeSlice {
			for _, e := range v.Slice().All() {
				if e.Str() == "content_filter" {
					w.sigs = append(w.sigs, "provider.content_filter")
					break
				}
			}
		}
	}
	if prefixFlags&sAzureFilter != 0 {
		for k, v := range attrs.All() {
			if strings.HasSuffix(k, "filter_results") && filtered(v.AsString()) {
				w.sigs = append(w.sigs, "provider.azure_content_filter")
				break
			}
		}
	}
	if prefixFlags&sBedrock != 0 || w.hasT(tBedrockGuardrail) {
		w.sigs = append(w.sigs, "provider.bedrock_guardrail_configured")
		for k, v := range attrs.All() {
			if strings.HasPrefix(k, bedrockGuard) {
				s := strings.ToUpper(v.AsString())
				if strings.Contains(s, "INTERVENED") || strings.Contains(s, "BLOCKED") {
					w.sigs = append(w.sigs, "provider.bedrock_guardrail_intervened")
					break
				}
			}
		}
	}
	kind := w.getStr(attrs, tOIKind)
	if kind == "" && w.hasT(tLangfuseType) {
		kind = strings.ToUpper(w.getStr(attrs, tLangfuseType))
	}
	switch kind {
	case "GUARDRAIL":
		w.sigs = append(w.sigs, "framework.guardrail")
	case "EVALUATOR":
		w.sigs = append(w.sigs, "framework.evaluator")
	}
	for _, ev := range span.Events().All() {
		if ev.Name() == "gen_ai.evaluation.result" {
			w.sigs = append(w.sigs, "framework.evaluation")
			break
		}
	}
}

// filtered reads Azure's {"hate":{"filtered":false,"severity":"safe"},
// "jailbreak":{"filtered":true,"detected":true}} shape, per choice or prompt.
func filtered(raw string) bool {
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return false
	}
	var walk func(any, int) bool
	walk = func(x any, depth int) bool {
		if depth > 6 {
			return false
		}
		switch t := x.(type) {
		case map[string]any:
			if f, _ := t["filtered"].(bool); f {
				return true
			}
			if d, _ := t["detected"].(bool); d {
				return true
			}
			for _, e := range t {
				if walk(e, depth+1) {
					return true
				}
			}
		case []any:
			for _, e := range t {
				if walk(e, depth+1) {
					return true
				}
			}
		}
		return false
	}
	return walk(v, 0)
}

// approvalWords mark human-in-the-loop steps in tool names.
var approvalWords = []string{"approval", "approve", "human", "confirm", "ask_user", "askuser", "escalat"}

// toolInfo keys a tool call by name and arguments (for loop detection) and
// spots human-approval markers.
func (p *traceProcessor) toolInfo(w *workspace, attrs pcommon.Map, info *spanInfo, prefixFlags uint16) {
	if prefixFlags&sApproval != 0 {
		for k, v := range attrs.All() {
			if strings.Contains(k, "approv") && (v.Type() != pcommon.ValueTypeBool || v.Bool()) {
				info.approval = true
				break
			}
		}
	}
	if info.op != "execute_tool" {
		return
	}
	name := strAttr(attrs, genai.ToolName)
	lname := strings.ToLower(name)
	for _, a := range approvalWords {
		if strings.Contains(lname, a) {
			info.approval = true
			break
		}
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	if v, ok := attrs.Get(genai.ToolCallArguments); ok {
		h.Write([]byte(v.AsString()))
	}
	info.toolKey = h.Sum64() | 1
	if info.approval {
		attrs.PutBool(genai.AIOpsAgentApproval, true)
	}
}

// contentText renders content of any value type as the text the policy
// scans: bytes as their (UTF-8 repaired) text, never base64, which would
// hide what they hold; nested values as JSON within the depth limit.
func contentText(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeBytes:
		return strings.ToValidUTF8(string(v.Bytes().AsRaw()), "\uFFFD")
	}
	bytesToText(v)
	s, _ := anyvalue.String(v, anyvalue.Limits{MaxDepth: anyvalue.Default.MaxDepth})
	return s
}

// bytesToText rewrites bytes nested in v as text, so JSON holds what they
// say rather than base64.
func bytesToText(v pcommon.Value) {
	stack := []pcommon.Value{v}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch x.Type() {
		case pcommon.ValueTypeBytes:
			x.SetStr(strings.ToValidUTF8(string(x.Bytes().AsRaw()), "\uFFFD"))
		case pcommon.ValueTypeSlice:
			for _, c := range x.Slice().All() {
				stack = append(stack, c)
			}
		case pcommon.ValueTypeMap:
			for _, c := range x.Map().All() {
				stack = append(stack, c)
			}
		}
	}
}
