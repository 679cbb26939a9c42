package aitrace

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai/policy"
)

// workspace holds one batch's scratch state; pooled so a batch allocates
// little beyond what it writes onto spans.
type workspace struct {
	pol            policy.Workspace
	res            policy.Result
	found          []foundRule
	remove         []string
	present        [maxTargets / 64]uint64
	vals           [nFixed]pcommon.Value // values of fixed slots, read by the pass or written by a rename
	valSet         uint64                // which vals are set
	valsOK         bool                  // false once anything was removed from the map
	nContent       int
	tableMapped    []int
	malformedKinds []string
	usageDialect   string
	wrapperUsage   bool
	mappedBy       []int64
	spans          []spanInfo
	sigs           []string // provider and framework signals on this span
	strs           []string
	scope          uint32          // hash of the current scope's name
	profile        *libraryProfile // what is known of the current scope's library
}

// foundRule is a rename whose source key is on the span, with its value as
// read by the span pass (valid until the first removal from the map).
type foundRule struct {
	ref ruleRef
	v   pcommon.Value
}

// spanInfo is what the batch phase needs to know about one GenAI span.
type spanInfo struct {
	span          ptrace.Span
	trace         pcommon.TraceID
	id, parent    pcommon.SpanID
	start, end    pcommon.Timestamp
	op            string
	family        string
	scope         uint32 // hash of the instrumentation scope name
	response      uint32 // hash of gen_ai.response.id
	fidelity      uint8  // how closely its token counts follow the convention
	in, out       int64
	hasUsage      bool
	repeat        bool // its usage was moved to aiops.usage.repeated.*
	guardrail     bool // a guardrail or evaluator: never a model call
	evaluator     bool // an evaluator (a guardrail that judges, not filters)
	estimated     bool // its usage is a library's estimate
	content       bool // it carries message content
	wrapper       bool // aggregates its children's work
	vercelWrapper bool
	retr          *retrStats
	toolKey       uint64 // hash of tool name and arguments; 0 when not a tool call
	approval      bool
}

// Fixed presence slots for the keys the span code asks about on every span,
// so those checks are a bit test rather than a map lookup. The first six
// follow usageKeys.
const (
	tInput = iota
	tOutput
	tCacheRead
	tCacheCreate
	tCacheWrite
	tReasoning
	tOperation
	tStream
	tFinish
	tAIOperationID
	tTraceloopKind
	tTraceloopEntity
	tErrorType
	tCost
	tInputMsgs
	tOutputMsgs
	tHTTPStatus
	tHTTPStatusOld
	tBedrockGuardrail
	tProvider
	tRequestModel
	tResponseModel
	tFingerprint
	tOIKind
	tLangfuseType
	nFixed
)

var fixedTargets = [nFixed]string{
	tInput:            genai.InputTokens,
	tOutput:           genai.OutputTokens,
	tCacheRead:        genai.CacheReadTokens,
	tCacheCreate:      genai.CacheCreateTokens,
	tCacheWrite:       genai.CacheWriteTokens,
	tReasoning:        genai.ReasoningTokens,
	tOperation:        genai.OperationName,
	tStream:           genai.RequestStream,
	tFinish:           genai.FinishReasons,
	tAIOperationID:    "ai.operationId",
	tTraceloopKind:    genai.TraceloopKind,
	tTraceloopEntity:  "traceloop.entity.name",
	tErrorType:        genai.ErrorType,
	tCost:             genai.UsageCost,
	tInputMsgs:        genai.InputMessages,
	tOutputMsgs:       genai.OutputMessages,
	tHTTPStatus:       "http.response.status_code",
	tHTTPStatusOld:    "http.status_code",
	tBedrockGuardrail: genai.BedrockGuardrailID,
	tProvider:         genai.ProviderName,
	tRequestModel:     genai.RequestModel,
	tResponseModel:    genai.ResponseModel,
	tFingerprint:      genai.SystemFingerprint,
	tOIKind:           genai.OISpanKind,
	tLangfuseType:     "langfuse.observation.type",
}

func newWorkspace() *workspace { return &workspace{} }

// get reads a fixed slot's value without a map lookup where it can.
func (w *workspace) get(attrs pcommon.Map, slot int) (pcommon.Value, bool) {
	if !w.hasT(slot) {
		return pcommon.Value{}, false
	}
	if w.valsOK && w.valSet&(1<<slot) != 0 {
		return w.vals[slot], true
	}
	return attrs.Get(fixedTargets[slot])
}

// getStr is get for string values.
func (w *workspace) getStr(attrs pcommon.Map, slot int) string {
	if v, ok := w.get(attrs, slot); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func (w *workspace) cache(slot int, v pcommon.Value) {
	if slot >= 0 && slot < nFixed {
		w.vals[slot] = v
		w.valSet |= 1 << slot
	}
}

func (w *workspace) hasT(i int) bool { return w.present[i>>6]&(1<<(i&63)) != 0 }
func (w *workspace) setT(i int)      { w.present[i>>6] |= 1 << (i & 63) }

func (w *workspace) reset(tables int) {
	if cap(w.mappedBy) < tables {
		w.mappedBy = make([]int64, tables)
	}
	w.mappedBy = w.mappedBy[:tables]
	clear(w.mappedBy)
	w.spans = w.spans[:0]
}

// release drops references to pdata so the pool does not pin a batch.
func (w *workspace) release() {
	clear(w.spans)
	w.spans = w.spans[:0]
}

func (w *workspace) beginSpan() {
	w.found = w.found[:0]
	w.remove = w.remove[:0]
	w.present = [maxTargets / 64]uint64{}
	w.valSet = 0
	w.valsOK = true
	w.nContent = 0
	w.tableMapped = w.tableMapped[:0]
	w.malformedKinds = w.malformedKinds[:0]
	w.usageDialect = ""
	w.wrapperUsage = false
	w.sigs = w.sigs[:0]
	w.res.Reset()
}

func (w *workspace) newSpanInfo(span ptrace.Span) *spanInfo {
	w.spans = append(w.spans, spanInfo{
		span: span, trace: span.TraceID(), id: span.SpanID(), parent: span.ParentSpanID(),
		start: span.StartTimestamp(), end: span.EndTimestamp(), scope: w.scope,
	})
	return &w.spans[len(w.spans)-1]
}

// has reports whether k was on the span when the pass ran or was put since.
// Keys the processor does not track are looked up.
func (w *workspace) has(p *traceProcessor, k string) bool {
	if ki, ok := p.index[k]; ok && ki.target >= 0 {
		return w.present[ki.target>>6]&(1<<(ki.target&63)) != 0
	}
	return false
}

func (w *workspace) setPresent(p *traceProcessor, k string) {
	if ki, ok := p.index[k]; ok && ki.target >= 0 {
		w.present[ki.target>>6] |= 1 << (ki.target & 63)
	}
}

func (w *workspace) addFlat(v pcommon.Value) {
	if v.Type() == pcommon.ValueTypeStr {
		w.nContent++
	}
}

func (w *workspace) addMalformed(kind string) {
	for _, k := range w.malformedKinds {
		if k == kind {
			return
		}
	}
	w.malformedKinds = append(w.malformedKinds, kind)
}
