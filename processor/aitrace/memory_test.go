package aitrace

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// billed returns the spans that still carry gen_ai.usage.* after the
// processor, by name.
func billed(t *testing.T, out ...ptrace.Traces) []string {
	t.Helper()
	var names []string
	for _, td := range out {
		for _, sp := range spansOf(td) {
			if _, ok := sp.Attributes().Get("gen_ai.usage.input_tokens"); ok {
				names = append(names, sp.Name())
			}
		}
	}
	return names
}

// Anthropic's SDK span inside a third-party wrapper span, the two counting
// input differently (the SDK includes cache reads, the wrapper does not).
func twoLayers() (inner, outer spanSpec) {
	inner = spanSpec{name: "anthropic.messages.create", id: 2, parent: 1, start: 1, end: 3, scope: "com.anthropic.sdk.typescript",
		attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
			"gen_ai.usage.input_tokens": int64(200), "gen_ai.usage.cache_read.input_tokens": int64(120), "gen_ai.usage.output_tokens": int64(25)}}
	outer = spanSpec{name: "anthropic.chat", id: 1, start: 0, end: 4, scope: "@traceloop/instrumentation-anthropic",
		attrs: map[string]any{"gen_ai.system": "anthropic", "llm.request.type": "chat", "gen_ai.request.model": "claude-sonnet-4-5",
			"gen_ai.usage.prompt_tokens": int64(80), "gen_ai.usage.cache_read_input_tokens": int64(120), "gen_ai.usage.completion_tokens": int64(25)}}
	return inner, outer
}

func TestUsageOnceAcrossRequests(t *testing.T) {
	inner, outer := twoLayers()
	for _, tc := range []struct {
		name   string
		first  spanSpec
		second spanSpec
	}{
		{"child first, as batch processors export", inner, outer},
		{"parent first", outer, inner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			send := h.start()
			a := send(batchOf(t, tc.first))
			time.Sleep(20 * time.Millisecond) // a pause between the requests, as between two exports
			b := send(batchOf(t, tc.second))
			got := billed(t, a, b)
			if len(got) != 1 || got[0] != tc.first.name {
				t.Fatalf("billed %v, want only the first to arrive (%s)", got, tc.first.name)
			}
			rep := spansOf(b)[0].Attributes()
			expectAttrs(t, "second", rep, map[string]any{
				"aiops.usage.duplicate_of": sid(tc.first.id).String(), "aiops.usage.duplicate_reason": "double_instrumentation",
			}, "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
			if n := h.counter("aiops_aitrace_usage_duplicates", map[string]string{"found_in": "earlier_request"}); n != 1 {
				t.Fatalf("earlier-request duplicates counted %d, want 1", n)
			}
		})
	}
	t.Run("both in one request: the layer with conventional counts is billed", func(t *testing.T) {
		got := billed(t, newHarness(t, nil).run(batchOf(t, outer, inner)))
		if len(got) != 1 {
			t.Fatalf("billed %v, want one", got)
		}
	})
	t.Run("siblings from two libraries, one span per request", func(t *testing.T) {
		send := newHarness(t, nil).start()
		lc := spanSpec{name: "ChatOpenAI.chat", id: 2, parent: 1, start: 1, end: 5, scope: "@traceloop/instrumentation-langchain",
			attrs: usage(300, 40, map[string]any{"gen_ai.system": "openai", "llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini"})}
		oa := spanSpec{name: "openai.chat", id: 3, parent: 1, start: 1, end: 4, scope: "@traceloop/instrumentation-openai",
			attrs: usage(300, 40, map[string]any{"gen_ai.system": "openai", "llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini"})}
		got := billed(t, send(batchOf(t, oa)), send(batchOf(t, lc)))
		if len(got) != 1 || got[0] != "openai.chat" {
			t.Fatalf("billed %v", got)
		}
	})
	t.Run("two identical calls from one library are two calls", func(t *testing.T) {
		send := newHarness(t, nil).start()
		a := spanSpec{name: "chat a", id: 2, parent: 1, start: 1, end: 3, scope: "lib", attrs: usage(100, 10, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})}
		b := a
		b.name, b.id = "chat b", 3
		got := billed(t, send(batchOf(t, a)), send(batchOf(t, b)))
		if len(got) != 2 {
			t.Fatalf("billed %v, want both", got)
		}
	})
	t.Run("two libraries, calls far apart in time, are two calls", func(t *testing.T) {
		send := newHarness(t, nil).start()
		a := spanSpec{name: "chat a", id: 2, parent: 1, start: 1, end: 3, scope: "lib-a", attrs: usage(100, 10, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})}
		b := spanSpec{name: "chat b", id: 3, parent: 1, start: 10, end: 12, scope: "lib-b", attrs: usage(100, 10, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})}
		if got := billed(t, send(batchOf(t, a)), send(batchOf(t, b))); len(got) != 2 {
			t.Fatalf("billed %v, want both", got)
		}
	})
	t.Run("a wrapper summing calls that arrived earlier", func(t *testing.T) {
		send := newHarness(t, nil).start()
		c1 := spanSpec{name: "ChatOpenAI", id: 2, parent: 1, start: 1, end: 2, scope: "oi", attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": int64(100), "llm.token_count.completion": int64(20)}}
		c2 := spanSpec{name: "ChatOpenAI", id: 3, parent: 1, start: 2, end: 3, scope: "oi", attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": int64(200), "llm.token_count.completion": int64(30)}}
		chain := spanSpec{name: "RunnableSequence", id: 1, start: 0, end: 4, scope: "oi", attrs: map[string]any{"openinference.span.kind": "CHAIN", "llm.token_count.prompt": int64(300), "llm.token_count.completion": int64(50)}}
		got := billed(t, send(batchOf(t, c1)), send(batchOf(t, c2)), send(batchOf(t, chain)))
		if len(got) != 2 || got[0] != "ChatOpenAI" || got[1] != "ChatOpenAI" {
			t.Fatalf("billed %v, want the two calls", got)
		}
	})
	t.Run("the same span re-sent by a client is billed once", func(t *testing.T) {
		send := newHarness(t, nil).start()
		if got := billed(t, send(batchOf(t, inner)), send(batchOf(t, inner))); len(got) != 1 {
			t.Fatalf("billed %v", got)
		}
	})
}

func TestSpanMemoryBounds(t *testing.T) {
	inner, outer := twoLayers()
	t.Run("forgotten after the window", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 0)
		clock = func() time.Time { return now }
		defer func() { clock = time.Now }()
		cfg := quickConfig()
		cfg.SpanMemory.Window = time.Minute
		send := newHarness(t, cfg).start()
		a := send(batchOf(t, inner))
		now = now.Add(61 * time.Second)
		if got := billed(t, a, send(batchOf(t, outer))); len(got) != 2 {
			t.Fatalf("billed %v: the memory outlived its window", got)
		}
	})
	t.Run("oldest traces go first past max_spans", func(t *testing.T) {
		cfg := quickConfig()
		cfg.SpanMemory.MaxSpans = 3
		h := newHarness(t, cfg)
		send := h.start()
		a := send(batchOf(t, inner))
		for i := 0; i < 3; i++ { // three other traces push the first one out
			other := inner
			td := batchOf(t, other)
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(pcommon.TraceID{byte(i + 100)})
			send(td)
		}
		if got := billed(t, a, send(batchOf(t, outer))); len(got) != 2 {
			t.Fatalf("billed %v: max_spans did not bound the memory", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		cfg := quickConfig()
		cfg.SpanMemory.MaxSpans = 0
		send := newHarness(t, cfg).start()
		if got := billed(t, send(batchOf(t, inner)), send(batchOf(t, outer))); len(got) != 2 {
			t.Fatalf("billed %v", got)
		}
	})
}

// BenchmarkSpanMemory reports the heap bytes per remembered span, for
// traces of one and of three GenAI spans.
func BenchmarkSpanMemory(b *testing.B) {
	for _, per := range []int{1, 3} {
		b.Run(fmt.Sprintf("spans_per_trace=%d", per), func(b *testing.B) {
			const traces = 100_000
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := newRecentSpans(traces*per, time.Hour)
			ms := make([]memo, per)
			for i := 0; i < traces; i++ {
				var t pcommon.TraceID
				t[0], t[1], t[2] = byte(i), byte(i>>8), byte(i>>16)
				for j := range ms {
					ms[j] = memo{id: pcommon.SpanID{byte(j + 1)}, role: roleBilled}
				}
				r.add(t, int64(i), nil, ms)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perSpan := float64(after.HeapAlloc-before.HeapAlloc) / float64(traces*per)
			runtime.KeepAlive(r)
			b.ReportMetric(perSpan, "bytes/span")
			for i := 0; i < b.N; i++ {
				r.lookup(pcommon.TraceID{byte(i)}, traces)
			}
		})
	}
}

// The memory costs at most 200 bytes per remembered span and never holds
// more than max_spans, however many traces pass.
func TestSpanMemoryCost(t *testing.T) {
	const maxSpans = 50_000
	var r *recentSpans
	// The heap delta is the memory's cost unless other tests' garbage is
	// freed meanwhile (a negative delta): then measure again.
	var per float64
	for attempt := 0; attempt < 5; attempt++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		r = newRecentSpans(maxSpans, time.Hour)
		for i := 0; i < 3*maxSpans; i++ {
			var tr pcommon.TraceID
			tr[0], tr[1], tr[2], tr[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
			r.add(tr, int64(i), r.lookup(tr, int64(i)), []memo{{id: pcommon.SpanID{1}, role: roleBilled}})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if delta := int64(after.HeapAlloc) - int64(before.HeapAlloc); delta > 0 {
			per = float64(delta) / maxSpans
			break
		}
	}
	if len(r.keys) != maxSpans || len(r.memos) != maxSpans {
		t.Fatalf("ring holds %d entries, bound %d", len(r.keys), maxSpans)
	}
	if per == 0 || per > 200 {
		t.Fatalf("%.0f bytes per remembered span, bound 200", per)
	}
	runtime.KeepAlive(r)
	// The newest are there, the oldest are gone.
	n := 3*maxSpans - 1
	last := pcommon.TraceID{byte(n), byte(n >> 8), byte(n >> 16)}
	if len(r.lookup(last, 3*maxSpans)) != 1 || len(r.lookup(pcommon.TraceID{}, 3*maxSpans)) != 0 {
		t.Fatal("ring order not kept")
	}
	if r.evicted != 2*maxSpans {
		t.Fatalf("evicted %d, want %d", r.evicted, 2*maxSpans)
	}
}
