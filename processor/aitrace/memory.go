package aitrace

import (
	"hash/maphash"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// recentSpans remembers, per trace, the GenAI spans this processor passed
// within the last window, so that the spans of one provider call recognise
// each other when they arrive in different requests: SDKs export a child
// before its parent, serverless apps send one span per request, and two
// instrumentation layers may use two exporters.
//
// It is bounded twice: a trace is forgotten window after it was last
// touched, and the oldest traces go first once maxSpans are remembered.
// Memory is lost on restart, and replicas each remember only what they saw.
type recentSpans struct {
	mu       sync.Mutex
	traces   map[pcommon.TraceID]*traceMemo
	fifo     []fifoEntry // insertion order, for eviction
	head     int         // first live entry of fifo
	spans    int         // remembered spans in total
	maxSpans int
	window   time.Duration
	evicted  int64 // spans forgotten early because of maxSpans
}

type traceMemo struct {
	spans   []memo
	touched int64 // unix ns of the last insertion
}

type fifoEntry struct {
	trace   pcommon.TraceID
	touched int64
}

// memo is what a later span needs to know of an earlier one: how they are
// related and whether it carries the call's usage. 56 bytes.
type memo struct {
	id, parent pcommon.SpanID
	start, end int64
	in, out    uint32
	scope      uint32 // hash of the instrumentation scope name
	family     uint32 // hash of the model family; 0 when unknown
	response   uint32 // hash of gen_ai.response.id; 0 when absent
	role       memoRole
	fidelity   uint8
	wrapper    bool // aggregates the calls inside it
	call       bool // a model call (chat, completion, embeddings)
	estimated  bool // its counts are a library's estimate: they cannot match another layer's
	content    bool // it carried message content
	evaluator  bool // a guardrail that evaluates rather than filters
}

// memoRole says what a remembered span was to the pricing.
type memoRole uint8

const (
	roleOther     memoRole = iota // a GenAI span without usage
	roleBilled                    // carries the call's usage
	roleRepeat                    // repeats another span's usage
	roleCall                      // a model call without usage (an error, a stream without usage)
	roleGuardrail                 // a guardrail or evaluator
)

func newRecentSpans(maxSpans int, window time.Duration) *recentSpans {
	return &recentSpans{traces: map[pcommon.TraceID]*traceMemo{}, maxSpans: maxSpans, window: window}
}

// lookup returns the remembered spans of a trace. The caller holds mu.
func (r *recentSpans) lookup(t pcommon.TraceID, now int64) []memo {
	tm, ok := r.traces[t]
	if !ok || now-tm.touched > int64(r.window) {
		return nil
	}
	return tm.spans
}

// add remembers spans of one trace. The caller holds mu.
func (r *recentSpans) add(t pcommon.TraceID, now int64, ms []memo) {
	if len(ms) == 0 || r.maxSpans <= 0 {
		return
	}
	r.expire(now)
	tm, ok := r.traces[t]
	if !ok || now-tm.touched > int64(r.window) {
		if ok {
			r.spans -= len(tm.spans)
		}
		tm = &traceMemo{}
		r.traces[t] = tm
	}
	for _, m := range ms {
		replaced := false
		for i := range tm.spans {
			if tm.spans[i].id == m.id {
				// A span seen again (a re-sent request) keeps its first role.
				replaced = true
				break
			}
		}
		if !replaced {
			tm.spans = append(tm.spans, m)
			r.spans++
		}
	}
	tm.touched = now
	r.fifo = append(r.fifo, fifoEntry{trace: t, touched: now})
	for r.spans > r.maxSpans && r.head < len(r.fifo) {
		r.evictFront(true)
	}
	r.compact()
}

// expire forgets traces untouched for longer than the window.
func (r *recentSpans) expire(now int64) {
	for r.head < len(r.fifo) && now-r.fifo[r.head].touched > int64(r.window) {
		r.evictFront(false)
	}
}

func (r *recentSpans) evictFront(early bool) {
	e := r.fifo[r.head]
	r.fifo[r.head] = fifoEntry{}
	r.head++
	tm, ok := r.traces[e.trace]
	if !ok || tm.touched != e.touched {
		return // touched again since: a later entry stands for it
	}
	r.spans -= len(tm.spans)
	if early {
		r.evicted += int64(len(tm.spans))
	}
	delete(r.traces, e.trace)
}

// compact drops the consumed front of the fifo once it is half the slice.
func (r *recentSpans) compact() {
	if r.head > 1024 && r.head*2 > len(r.fifo) {
		n := copy(r.fifo, r.fifo[r.head:])
		clear(r.fifo[n:])
		r.fifo = r.fifo[:n]
		r.head = 0
	}
}

var memoSeed = maphash.MakeSeed()

// hash32 is a short, non-zero hash of s; 0 stands for empty.
func hash32(s string) uint32 {
	if s == "" {
		return 0
	}
	h := uint32(maphash.String(memoSeed, s))
	if h == 0 {
		h = 1
	}
	return h
}

func clampU32(n int64) uint32 {
	if n < 0 {
		return 0
	}
	if n > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}

// knows reports whether a span of the trace was seen. It takes mu.
func (r *recentSpans) knows(t pcommon.TraceID, id pcommon.SpanID, now int64) bool {
	seen, _ := r.passed(t, id, now)
	return seen
}

// passed reports whether a span was seen, and whether it had content. It
// takes mu.
func (r *recentSpans) passed(t pcommon.TraceID, id pcommon.SpanID, now int64) (seen, content bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.lookup(t, now) {
		if m.id == id {
			return true, m.content
		}
	}
	return false, false
}
