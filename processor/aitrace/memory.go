package aitrace

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// recentSpans remembers the GenAI spans this processor passed within the
// last window, by trace, so that the spans of one provider call recognise
// each other when they arrive in different requests: SDKs export a child
// before its parent, serverless apps send one span per request, and two
// instrumentation layers may use two exporters.
//
// It is a ring of at most maxSpans entries; the oldest are overwritten
// first, and an entry older than window is ignored. A table of buckets by
// trace id points at the newest entry of each bucket, and each entry at
// the previous one of its bucket, so a trace's entries are found by walking
// one short chain. Nothing is allocated per span once the ring has grown,
// and no map is probed. Memory is lost on restart, and replicas each
// remember only what they saw.
type recentSpans struct {
	mu       sync.Mutex
	keys     []slotKey // what a lookup walks: small, so it stays in cache
	memos    []slotMemo
	next     int     // the slot written next
	buckets  []int32 // newest slot of each bucket, or -1
	mask     uint64
	seq      uint64
	epoch    int64 // unix ns that touched counts seconds from
	maxSpans int
	window   int64
	evicted  int64  // entries overwritten while still inside the window
	scratch  []memo // lookup's result, valid until the next call
	// seen is a filter of the traces written lately, one bit per trace
	// hash in two generations that each live for maxSpans writes: most
	// traces are new, and a clear bit answers them without touching the
	// ring.
	seen    [2][]uint64
	cur     int
	written int // writes into seen[cur]
}

// slotKey is the part of an entry a lookup reads for every entry it passes.
type slotKey struct {
	seq     uint64 // write order; 0 for a slot never written
	tag     uint32 // high bits of the trace's hash: a cheap first compare
	chain   int32  // the bucket's previous slot, or -1
	bucket  uint32 // the bucket it was written in
	touched uint32 // seconds after epoch
}

// slotMemo is the part read only for the trace looked up.
type slotMemo struct {
	memo
	trace pcommon.TraceID
}

// memo is what a later span needs to know of an earlier one: how they are
// related and whether it carries the call's usage.
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
	r := &recentSpans{maxSpans: maxSpans, window: int64(window / time.Second), epoch: clock().UnixNano()}
	if maxSpans > 0 {
		// A bucket per four entries: the table stays small enough for the
		// cache, and chains stay short.
		n := 1
		for n*4 < maxSpans {
			n <<= 1
		}
		r.buckets = make([]int32, n)
		for i := range r.buckets {
			r.buckets[i] = -1
		}
		r.mask = uint64(n - 1)
		for g := range r.seen {
			r.seen[g] = make([]uint64, max(n*16/64, 1)) // 4 bits per entry
		}
	}
	return r
}

func (r *recentSpans) seenBit(h uint64) (word int, bit uint64) {
	i := h & uint64(len(r.seen[0])*64-1)
	return int(i / 64), 1 << (i % 64)
}

// maybe reports whether a trace may have entries; false is certain.
func (r *recentSpans) maybe(h uint64) bool {
	w, bit := r.seenBit(h)
	return r.seen[0][w]&bit != 0 || r.seen[1][w]&bit != 0
}

func (r *recentSpans) mark(h uint64) {
	if r.written >= r.maxSpans {
		r.cur ^= 1
		clear(r.seen[r.cur])
		r.written = 0
	}
	w, bit := r.seenBit(h)
	r.seen[r.cur][w] |= bit
	r.written++
}

// hashOf hashes a trace id. Ids should be random but are not always (some
// generators count), so both halves are mixed.
func hashOf(t pcommon.TraceID) uint64 {
	h := binary.LittleEndian.Uint64(t[:8])*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(t[8:])*0xC2B2AE3D27D4EB4F
	h ^= h >> 31
	return h * 0x94D049BB133111EB
}

func (r *recentSpans) secs(now int64) uint32 {
	return uint32(max(now-r.epoch, 0) / int64(time.Second))
}

// lookup returns the remembered spans of a trace, newest first. The
// caller holds mu; the result is valid until the next call.
func (r *recentSpans) lookup(t pcommon.TraceID, now int64) []memo {
	r.scratch = r.scratch[:0]
	if r.maxSpans <= 0 {
		return nil
	}
	h := hashOf(t)
	if !r.maybe(h) {
		return nil
	}
	b, tag, at := uint32((h>>32)&r.mask), uint32(h), r.secs(now)
	seq := ^uint64(0)
	for i := r.buckets[b]; i >= 0; {
		k := &r.keys[i]
		// The chain ends at a slot rewritten since (another bucket, or a
		// newer write) or older than the window.
		if k.bucket != b || k.seq >= seq || int64(at)-int64(k.touched) > r.window {
			break
		}
		if k.tag == tag && r.memos[i].trace == t {
			r.scratch = append(r.scratch, r.memos[i].memo)
		}
		seq, i = k.seq, k.chain
	}
	return r.scratch
}

// add remembers spans of one trace; known is what lookup returned for it
// in this same hold of mu. A span seen again (a re-sent request) keeps its
// first entry. The caller holds mu.
func (r *recentSpans) add(t pcommon.TraceID, now int64, known, ms []memo) {
	if r.maxSpans <= 0 {
		return
	}
	h := hashOf(t)
	b, tag, at := uint32((h>>32)&r.mask), uint32(h), r.secs(now)
	for _, m := range ms {
		dup := false
		for k := range known {
			if known[k].id == m.id {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		i := r.next
		if i == len(r.keys) {
			r.keys = append(r.keys, slotKey{})
			r.memos = append(r.memos, slotMemo{})
		} else if old := &r.keys[i]; old.seq != 0 && int64(at)-int64(old.touched) <= r.window {
			r.evicted++
		}
		r.seq++
		r.keys[i] = slotKey{seq: r.seq, tag: tag, chain: r.buckets[b], bucket: b, touched: at}
		r.memos[i] = slotMemo{memo: m, trace: t}
		r.buckets[b] = int32(i)
		r.mark(h)
		if r.next = i + 1; r.next == r.maxSpans {
			r.next = 0
		}
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
