package aitrace

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

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
		markWrappers(spans, parent)
	}
	p.byTrace(ctx, spans)
	p.rollupRetrieval(spans, parent)
	p.agents(spans, parent)
}

var callOps = map[string]bool{"chat": true, "text_completion": true, "generate_content": true, "embeddings": true}

// clock is the processor's time source; tests move it.
var clock = time.Now

// runOps aggregate the work of the calls inside them.
var runOps = map[string]bool{"invoke_agent": true, "invoke_workflow": true, "create_agent": true}

// markWrappers names, on each AI SDK wrapper (whose usage normalize moved
// aside), a call whose usage it repeats.
func markWrappers(spans []spanInfo, parent []int) {
	for i := range spans {
		u := &spans[i]
		if !u.hasUsage || u.vercelWrapper {
			continue
		}
		for j, depth := parent[i], 0; j >= 0 && depth < maxAncestors; j, depth = parent[j], depth+1 {
			if a := &spans[j]; a.vercelWrapper {
				if _, ok := a.span.Attributes().Get(genai.AIOpsUsageDuplicateOf); !ok {
					a.span.Attributes().PutStr(genai.AIOpsUsageDuplicateOf, u.id.String())
				}
			}
		}
	}
}

// byTrace does the work that needs a trace's other spans, with those of
// earlier requests remembered: pricing each call once and crediting
// guardrails to the calls they check.
func (p *traceProcessor) byTrace(ctx context.Context, spans []spanInfo) {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return bytes.Compare(spans[a].trace[:], spans[b].trace[:])
	})
	g := &p.groupScratch
	now := clock().UnixNano()
	mem := p.recent
	mem.mu.Lock()
	defer mem.mu.Unlock()
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && spans[order[hi]].trace == spans[order[lo]].trace {
			hi++
		}
		known := mem.lookup(spans[order[lo]].trace, now)
		g.reset(spans, order[lo:hi], known)
		if p.cfg.DedupeUsage {
			p.dedupeTrace(ctx, g)
		}
		creditGuardrails(g)
		mem.add(spans[order[lo]].trace, now, g.nodes[len(g.batch):], g.remember())
		lo = hi
	}
}

// traceGroup is one trace's spans of a batch beside those remembered.
type traceGroup struct {
	spans  []spanInfo
	batch  []int  // indices into spans
	nodes  []memo // batch spans first, then remembered ones
	billed []int  // node indices that carry a call's usage
	cands  []int
	depth  []int
	out    []memo
}

func (g *traceGroup) reset(spans []spanInfo, batch []int, remembered []memo) {
	g.spans, g.batch = spans, batch
	g.nodes, g.billed, g.cands, g.depth = g.nodes[:0], g.billed[:0], g.cands[:0], g.depth[:0]
	for _, i := range batch {
		g.nodes = append(g.nodes, memoOf(&spans[i]))
	}
	g.nodes = append(g.nodes, remembered...)
	for n := len(batch); n < len(g.nodes); n++ {
		if g.nodes[n].role == roleBilled {
			g.billed = append(g.billed, n)
		}
	}
	for n := range g.nodes {
		d := 0
		for cur := g.find(g.nodes[n].parent); cur >= 0 && d < maxAncestors; cur = g.find(g.nodes[cur].parent) {
			d++
		}
		g.depth = append(g.depth, d)
	}
}

// find returns the node whose span id is id, or -1.
func (g *traceGroup) find(id pcommon.SpanID) int {
	if id.IsEmpty() {
		return -1
	}
	for n := range g.nodes {
		if g.nodes[n].id == id {
			return n
		}
	}
	return -1
}

// isAncestor reports whether node a is an ancestor of node d.
func (g *traceGroup) isAncestor(a, d int) bool {
	cur := g.find(g.nodes[d].parent)
	for steps := 0; cur >= 0 && steps < maxAncestors; steps++ {
		if cur == a {
			return true
		}
		cur = g.find(g.nodes[cur].parent)
	}
	return false
}

func memoOf(s *spanInfo) memo {
	m := memo{id: s.id, parent: s.parent, start: int64(s.start), end: int64(s.end),
		in: clampU32(s.in), out: clampU32(s.out), scope: s.scope, family: hash32(s.family), response: s.response,
		fidelity: s.fidelity, wrapper: s.wrapper || s.vercelWrapper || runOps[s.op], estimated: s.estimated, content: s.content}
	switch {
	case s.guardrail:
		m.role = roleGuardrail
		m.evaluator = s.evaluator
	case s.hasUsage:
		m.role = roleBilled
	case s.repeat:
		m.role = roleRepeat
	case callOps[s.op]:
		m.role = roleCall
	}
	if callOps[s.op] {
		m.call = true
	}
	return m
}

// remember returns the memos to keep for the batch's spans of this trace.
func (g *traceGroup) remember() []memo {
	g.out = g.out[:0]
	for _, i := range g.batch {
		g.out = append(g.out, memoOf(&g.spans[i]))
	}
	return g.out
}

// dedupeTrace makes sure each provider call's usage is priced once,
// whichever of its spans arrives first and however they were batched.
// Spans of one call are found by relation: a framework wrapper around the
// call (Traceloop workflow or task, OpenInference CHAIN or AGENT, an agent
// run), a second instrumentation layer on the same HTTP call (parent and
// child, or siblings from two libraries overlapping in time), or the same
// response id. The span that keeps the usage is, among the spans seen
// together, the innermost non-wrapper with the most faithful token counts;
// a span related to one already priced (in this batch or remembered from
// an earlier request) moves its usage to aiops.usage.repeated.*.
func (p *traceProcessor) dedupeTrace(ctx context.Context, g *traceGroup) {
	for n, i := range g.batch {
		if s := &g.spans[i]; s.hasUsage && !s.vercelWrapper {
			g.cands = append(g.cands, n)
		}
	}
	if len(g.cands) == 0 {
		return
	}
	// Preference: calls before wrappers, faithful counts first, then the
	// innermost span, then the earliest.
	if len(g.cands) > 1 {
		slices.SortStableFunc(g.cands, func(a, b int) int {
			x, y := &g.nodes[a], &g.nodes[b]
			switch {
			case x.wrapper != y.wrapper:
				if x.wrapper {
					return 1
				}
				return -1
			case x.fidelity != y.fidelity:
				return int(y.fidelity) - int(x.fidelity)
			case g.depth[a] != g.depth[b]:
				return g.depth[b] - g.depth[a]
			}
			return cmp.Compare(x.start, y.start)
		})
	}
	for _, c := range g.cands {
		repeats, reason := -1, ""
		for _, b := range g.billed {
			if reason = g.relation(c, b); reason != "" {
				repeats = b
				break
			}
		}
		if repeats < 0 {
			g.billed = append(g.billed, c)
			continue
		}
		s := &g.spans[g.batch[c]]
		p.markDuplicate(ctx, s, g.nodes[repeats].id, reason, repeats >= len(g.batch))
	}
}

// relation tells why node c repeats the usage of billed node b, or "".
func (g *traceGroup) relation(c, b int) string {
	x, y := &g.nodes[c], &g.nodes[b]
	if x.id == y.id {
		return "span_resent" // the same span in a re-sent request
	}
	if x.response != 0 && x.response == y.response {
		return "same_response_id"
	}
	sameTokens := x.in == y.in && x.out == y.out || x.estimated || y.estimated
	families := x.family == y.family || x.family == 0 || y.family == 0
	// Two layers on one call come from two libraries; one library nesting
	// call spans is trusted only when the counts agree.
	layers := x.call && y.call && families && (x.scope != y.scope || sameTokens)
	switch {
	case g.isAncestor(b, c) || g.isAncestor(c, b):
		outer := x
		if g.isAncestor(b, c) {
			outer = y
		}
		switch {
		case outer.wrapper && sameTokens:
			return "wrapper_same"
		case outer.wrapper:
			return "wrapper_aggregate"
		case layers:
			return "double_instrumentation"
		}
	case x.parent == y.parent && !x.wrapper && !y.wrapper && x.scope != y.scope && layers &&
		(x.in == y.in || x.out == y.out || x.estimated || y.estimated) && overlapping(x, y):
		return "sibling_instrumentation"
	}
	return ""
}

// overlapping: the shorter span lies at least half inside the longer.
func overlapping(a, b *memo) bool {
	lo, hi := max(a.start, b.start), min(a.end, b.end)
	if hi <= lo {
		return false
	}
	shorter := min(a.end-a.start, b.end-b.start)
	return shorter <= 0 || 2*(hi-lo) >= shorter
}

func (p *traceProcessor) markDuplicate(ctx context.Context, dup *spanInfo, of pcommon.SpanID, reason string, remembered bool) {
	attrs := dup.span.Attributes()
	moveUsage(attrs)
	attrs.PutStr(genai.AIOpsUsageDuplicateOf, of.String())
	attrs.PutStr(genai.AIOpsUsageDuplicateWhy, reason)
	dup.hasUsage, dup.repeat = false, true
	found := "batch"
	if remembered {
		found = "earlier_request"
	}
	p.tel.dups.Add(ctx, 1, cachedOpt(&p.tel.dupOpts, func() metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason), attribute.String("found_in", found)))
	}, reason+"/"+found))
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

// creditGuardrails credits a guardrail or evaluator to the model calls it
// wraps, else to the call it follows (the last call of the trace that
// ended before it started), whichever arrives first: the guardrail names
// its calls in aiops.guardrail.targets, and a call still in this batch gets
// framework.guardrail or framework.evaluator in aiops.policy.flags.
func creditGuardrails(g *traceGroup) {
	followed := func(gr int) int {
		best := -1
		for c := range g.nodes {
			x := &g.nodes[c]
			if x.call && x.end <= g.nodes[gr].start && !g.isAncestor(gr, c) && (best < 0 || x.end > g.nodes[best].end) {
				best = c
			}
		}
		return best
	}
	for n, i := range g.batch {
		s := &g.spans[i]
		if !s.guardrail {
			continue
		}
		var targets []int
		if !s.evaluator {
			// A guardrail wraps the call it protects; an evaluator's own
			// calls are its judge, not what it judges.
			for c := range g.nodes {
				if g.nodes[c].call && g.isAncestor(n, c) {
					targets = append(targets, c)
				}
			}
		}
		if len(targets) == 0 {
			if c := followed(n); c >= 0 {
				targets = append(targets, c)
			}
		}
		if len(targets) == 0 {
			continue
		}
		ids := s.span.Attributes().PutEmptySlice(genai.AIOpsGuardrailTargets)
		for _, c := range targets {
			ids.AppendEmpty().SetStr(g.nodes[c].id.String())
			if c < len(g.batch) {
				flagChecked(&g.spans[g.batch[c]], s.evaluator)
			}
		}
	}
	// Calls of this batch that a guardrail of an earlier request checked.
	for c, i := range g.batch {
		if !g.nodes[c].call {
			continue
		}
		for m := len(g.batch); m < len(g.nodes); m++ {
			x := &g.nodes[m]
			if x.role == roleGuardrail && (!x.evaluator && g.isAncestor(m, c) || followed(m) == c) {
				flagChecked(&g.spans[i], x.evaluator)
			}
		}
	}
}

// flagChecked adds the framework signal to a call's policy flags.
func flagChecked(s *spanInfo, evaluator bool) {
	flag := "framework.guardrail"
	if evaluator {
		flag = "framework.evaluator"
	}
	attrs := s.span.Attributes()
	v, ok := attrs.Get(genai.AIOpsPolicyFlags)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		v = attrs.PutEmpty(genai.AIOpsPolicyFlags)
		v.SetEmptySlice()
	}
	for _, f := range v.Slice().All() {
		if f.Str() == flag {
			return
		}
	}
	v.Slice().AppendEmpty().SetStr(flag)
}
