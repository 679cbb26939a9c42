package aitrace

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

type spanKey struct {
	t pcommon.TraceID
	s pcommon.SpanID
}

// maxAncestors bounds parent walks; deeper nesting is not followed.
const maxAncestors = 32

// batch links the GenAI spans of one batch: it marks repeated usage,
// rolls retrieval onto the LLM call that used it, and summarizes agent runs.
// Spans of one trace that arrive in different batches are not linked.
func (p *traceProcessor) batch(ctx context.Context, w *workspace) {
	spans := w.spans
	idx := make(map[spanKey]int, len(spans))
	for i := range spans {
		idx[spanKey{spans[i].trace, spans[i].id}] = i
	}
	parent := make([]int, len(spans))
	for i := range spans {
		parent[i] = -1
		if !spans[i].parent.IsEmpty() {
			if j, ok := idx[spanKey{spans[i].trace, spans[i].parent}]; ok && j != i {
				parent[i] = j
			}
		}
	}
	if p.cfg.DedupeUsage {
		p.dedupe(ctx, spans, parent)
	}
	p.rollupRetrieval(spans, parent)
	p.agents(spans, parent)
}

var callOps = map[string]bool{"chat": true, "text_completion": true, "generate_content": true, "embeddings": true}

// dedupe marks usage that another span of the batch already reports: a
// framework wrapper around the provider call (Traceloop workflow or task,
// OpenInference CHAIN or AGENT) or a second instrumentation layer on the
// same HTTP call (same model, same token counts, parent and child). The
// outer span's usage moves to aiops.usage.repeated.*, so costattr prices
// only the innermost call.
func (p *traceProcessor) dedupe(ctx context.Context, spans []spanInfo, parent []int) {
	for i := range spans {
		u := &spans[i]
		if !u.hasUsage || u.vercelWrapper {
			continue
		}
		for j, depth := parent[i], 0; j >= 0 && depth < maxAncestors; j, depth = parent[j], depth+1 {
			a := &spans[j]
			if a.vercelWrapper {
				if _, ok := a.span.Attributes().Get(genai.AIOpsUsageDuplicateOf); !ok {
					a.span.Attributes().PutStr(genai.AIOpsUsageDuplicateOf, u.id.String())
				}
				continue
			}
			if !a.hasUsage {
				continue
			}
			switch {
			case a.wrapper:
				reason := "wrapper_aggregate"
				if a.in == u.in && a.out == u.out {
					reason = "wrapper_same"
				}
				p.markDuplicate(ctx, a, u, reason)
			case callOps[a.op] && a.in == u.in && a.out == u.out && (a.family == u.family || a.family == "" || u.family == ""):
				p.markDuplicate(ctx, a, u, "double_instrumentation")
			}
		}
	}
}

func (p *traceProcessor) markDuplicate(ctx context.Context, dup, of *spanInfo, reason string) {
	attrs := dup.span.Attributes()
	moveUsage(attrs)
	attrs.PutStr(genai.AIOpsUsageDuplicateOf, of.id.String())
	attrs.PutStr(genai.AIOpsUsageDuplicateWhy, reason)
	dup.hasUsage = false
	p.tel.dups.Add(ctx, 1, cachedOpt(&p.tel.dupOpts, func() metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
	}, reason))
}

// moveUsage moves usage and cost to aiops.usage.repeated.*, where costattr
// and the exporter's cost columns do not read it.
func moveUsage(attrs pcommon.Map) {
	for _, k := range append(usageKeys[:len(usageKeys):len(usageKeys)], genai.UsageCost) {
		if v, ok := attrs.Get(k); ok {
			v.CopyTo(attrs.PutEmpty(genai.AIOpsUsageRepeated + strings.TrimPrefix(k, "gen_ai.usage.")))
			attrs.Remove(k)
		}
	}
}

var llmOps = map[string]bool{"chat": true, "text_completion": true, "generate_content": true}

// rollupRetrieval copies each retrieval's summary onto the LLM call of the
// same trace that consumed it: the earliest call starting after the
// retrieval started, preferring a sibling.
func (p *traceProcessor) rollupRetrieval(spans []spanInfo, parent []int) {
	var byTrace map[pcommon.TraceID][]int
	var retrievals []int
	for i := range spans {
		if spans[i].retr != nil && spans[i].retr.fromRetrieval {
			retrievals = append(retrievals, i)
		}
	}
	for _, i := range retrievals {
		if byTrace == nil {
			byTrace = map[pcommon.TraceID][]int{}
			for j := range spans {
				if llmOps[spans[j].op] && spans[j].retr == nil {
					byTrace[spans[j].trace] = append(byTrace[spans[j].trace], j)
				}
			}
		}
		best, bestSibling := -1, false
		for _, j := range byTrace[spans[i].trace] {
			if spans[j].start < spans[i].start {
				continue
			}
			sibling := parent[j] == parent[i] && parent[i] >= 0 || spans[j].parent == spans[i].parent
			switch {
			case best < 0, sibling && !bestSibling, sibling == bestSibling && spans[j].start < spans[best].start:
				best, bestSibling = j, sibling
			}
		}
		if best < 0 {
			continue
		}
		t := &spans[best]
		if t.retr == nil {
			t.retr = &retrStats{}
		}
		t.retr.merge(spans[i].retr)
		attrs := t.span.Attributes()
		t.retr.write(attrs, t.start)
		var from pcommon.Slice
		if v, ok := attrs.Get(genai.AIOpsRetrievalFrom); ok && v.Type() == pcommon.ValueTypeSlice {
			from = v.Slice()
		} else {
			from = attrs.PutEmptySlice(genai.AIOpsRetrievalFrom)
		}
		from.AppendEmpty().SetStr(spans[i].id.String())
	}
}

// agents counts tool calls per agent run, flags repeated identical calls as
// a loop suspicion, and records agent depth and human-approval steps.
func (p *traceProcessor) agents(spans []spanInfo, parent []int) {
	isAgent := func(i int) bool { return spans[i].op == "invoke_agent" }
	isRun := func(i int) bool {
		return isAgent(i) || spans[i].op == "invoke_workflow" || spans[i].vercelWrapper
	}
	runOf := func(i int) int {
		run := -1
		for j, d := parent[i], 0; j >= 0 && d < maxAncestors; j, d = parent[j], d+1 {
			if isAgent(j) {
				return j
			}
			if run < 0 && isRun(j) {
				run = j
			}
		}
		return run
	}
	type runStats struct {
		tools    int64
		repeats  map[uint64]int64
		approval bool
	}
	var runs map[int]*runStats
	get := func(r int) *runStats {
		if runs == nil {
			runs = map[int]*runStats{}
		}
		s := runs[r]
		if s == nil {
			s = &runStats{}
			runs[r] = s
		}
		return s
	}
	for i := range spans {
		if spans[i].op == "execute_tool" || spans[i].approval {
			r := runOf(i)
			if r < 0 {
				continue
			}
			s := get(r)
			if spans[i].approval {
				s.approval = true
			}
			if spans[i].op == "execute_tool" {
				s.tools++
				if spans[i].toolKey != 0 {
					if s.repeats == nil {
						s.repeats = map[uint64]int64{}
					}
					s.repeats[spans[i].toolKey]++
				}
			}
		}
	}
	for i := range spans {
		if !isAgent(i) {
			continue
		}
		depth := int64(1)
		for j, d := parent[i], 0; j >= 0 && d < maxAncestors; j, d = parent[j], d+1 {
			if isAgent(j) {
				depth++
			}
		}
		attrs := spans[i].span.Attributes()
		attrs.PutInt(genai.AIOpsAgentDepth, depth)
		if runs[i] == nil {
			attrs.PutInt(genai.AIOpsAgentToolCalls, 0)
		}
	}
	for r, s := range runs {
		attrs := spans[r].span.Attributes()
		attrs.PutInt(genai.AIOpsAgentToolCalls, s.tools)
		var most int64
		for _, n := range s.repeats {
			most = max(most, n)
		}
		if most > 1 {
			attrs.PutInt(genai.AIOpsAgentRepeats, most)
		}
		if most >= int64(p.loopMin) {
			attrs.PutBool(genai.AIOpsAgentLoop, true)
		}
		if s.approval {
			attrs.PutBool(genai.AIOpsAgentApproval, true)
		}
	}
}
