package aitrace

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The official OpenTelemetry OpenAI instrumentation's shape, as captured in
// test/conformance/testdata/otel-openai: a CLIENT span without content and
// log records carrying it, named by an event.name attribute.
const officialScope = "@opentelemetry/instrumentation-openai"

func officialSpan(id byte) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(officialScope)
	sp := ss.Spans().AppendEmpty()
	sp.SetName("chat gpt-4o-mini")
	sp.SetKind(ptrace.SpanKindClient)
	sp.SetTraceID(testTrace)
	sp.SetSpanID(sid(id))
	sp.SetStartTimestamp(pcommon.Timestamp(epoch * 1e9))
	sp.SetEndTimestamp(pcommon.Timestamp((epoch + 1) * 1e9))
	a := sp.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.system", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o-mini")
	a.PutInt("gen_ai.usage.input_tokens", 120)
	a.PutInt("gen_ai.usage.output_tokens", 30)
	return td
}

type record struct {
	event string
	body  map[string]any
}

var (
	userRecord   = record{"gen_ai.user.message", map[string]any{"content": "Please email jane.doe@example.com about my order"}}
	choiceRecord = record{"gen_ai.choice", map[string]any{"index": int64(0), "finish_reason": "stop",
		"message": map[string]any{"content": "Card 4111 1111 1111 1111 is on file."}}}
)

func contentLogs(t *testing.T, span byte, recs ...record) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(officialScope)
	for _, r := range recs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTraceID(testTrace)
		lr.SetSpanID(sid(span))
		lr.Attributes().PutStr("event.name", r.event)
		lr.Attributes().PutStr("gen_ai.system", "openai")
		if err := lr.Body().SetEmptyMap().FromRaw(r.body); err != nil {
			t.Fatal(err)
		}
	}
	return ld
}

func (pl *pipelines) sendLogs(t *testing.T, ld plog.Logs) plog.Logs {
	t.Helper()
	if err := pl.lp.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	all := pl.logs.AllLogs()
	return all[len(all)-1]
}

func (pl *pipelines) sendTraces(t *testing.T, td ptrace.Traces) ptrace.Span {
	t.Helper()
	if err := pl.tp.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	all := pl.traces.AllTraces()
	return spansOf(all[len(all)-1])[0]
}

// async sends in the background, as an SDK's second exporter does.
func async[T any](fn func() T) func() T {
	var wg sync.WaitGroup
	var out T
	wg.Add(1)
	go func() { defer wg.Done(); out = fn() }()
	return func() T { wg.Wait(); return out }
}

func joinConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Join.LogsWait, cfg.Join.ParentWait = 3*time.Second, 3*time.Second
	return cfg
}

// checkMerged asserts the span holds both messages, masked by the policy.
func checkMerged(t *testing.T, span ptrace.Span) {
	t.Helper()
	in, _ := span.Attributes().Get("gen_ai.input.messages")
	out, _ := span.Attributes().Get("gen_ai.output.messages")
	if !strings.Contains(in.Str(), "Please email [EMAIL] about my order") || !strings.Contains(out.Str(), "Card [CREDIT_CARD] is on file.") {
		t.Fatalf("span content: input %q, output %q", in.Str(), out.Str())
	}
	expectAttrs(t, "span", span.Attributes(), map[string]any{"aiops.content.source": "log_records", "aiops.content.captured": "redacted"})
}

func TestContentFromLogRecords(t *testing.T) {
	t.Run("records before their span, in another request", func(t *testing.T) {
		h := newHarness(t, joinConfig())
		pl := h.pipelines()
		logs := async(func() plog.Logs { return pl.sendLogs(t, contentLogs(t, 1, userRecord, choiceRecord)) })
		time.Sleep(100 * time.Millisecond)
		checkMerged(t, pl.sendTraces(t, officialSpan(1)))
		if n := logs().LogRecordCount(); n != 0 {
			t.Fatalf("%d merged records passed on as well", n)
		}
		if n := h.counter("aiops_aitrace_content_logs", map[string]string{"outcome": "merged"}); n != 2 {
			t.Fatalf("merged counted %d", n)
		}
	})
	t.Run("records after their span, in another request", func(t *testing.T) {
		h := newHarness(t, joinConfig())
		pl := h.pipelines()
		// The service's app logs show it exports logs: its spans wait.
		appLog := plog.NewLogs()
		rl := appLog.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "shop")
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("order 42 placed")
		if out := pl.sendLogs(t, appLog); out.LogRecordCount() != 1 {
			t.Fatal("an app log was not passed on")
		}
		span := async(func() ptrace.Span { return pl.sendTraces(t, officialSpan(1)) })
		time.Sleep(100 * time.Millisecond)
		if n := pl.sendLogs(t, contentLogs(t, 1, userRecord, choiceRecord)).LogRecordCount(); n != 0 {
			t.Fatalf("%d merged records passed on", n)
		}
		checkMerged(t, span())
	})
	t.Run("one record per request, the span between them", func(t *testing.T) {
		h := newHarness(t, joinConfig())
		pl := h.pipelines()
		first := async(func() plog.Logs { return pl.sendLogs(t, contentLogs(t, 1, userRecord)) })
		time.Sleep(50 * time.Millisecond)
		span := async(func() ptrace.Span { return pl.sendTraces(t, officialSpan(1)) })
		time.Sleep(50 * time.Millisecond)
		pl.sendLogs(t, contentLogs(t, 1, choiceRecord))
		first()
		checkMerged(t, span())
	})
	t.Run("records whose span passed earlier are stored apart, masked", func(t *testing.T) {
		cfg := joinConfig()
		cfg.Join.LogsWait = 50 * time.Millisecond
		h := newHarness(t, cfg)
		pl := h.pipelines()
		pl.sendTraces(t, officialSpan(1))
		out := pl.sendLogs(t, contentLogs(t, 1, userRecord, choiceRecord))
		if out.LogRecordCount() != 2 {
			t.Fatalf("%d records passed on, want both", out.LogRecordCount())
		}
		lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		expectAttrs(t, "late record", lr.Attributes(), map[string]any{"aiops.content.join": "late", "aiops.content.captured": "redacted"})
		in, _ := lr.Attributes().Get("gen_ai.input.messages")
		if !strings.Contains(in.Str(), "[EMAIL]") || strings.Contains(in.Str(), "jane.doe") || lr.Body().AsString() != "" {
			t.Fatalf("late record content %q, body %q", in.Str(), lr.Body().AsString())
		}
		if n := h.counter("aiops_aitrace_content_logs", map[string]string{"outcome": "late"}); n != 2 {
			t.Fatalf("late counted %d", n)
		}
	})
	t.Run("records that never meet a span are kept, masked and counted", func(t *testing.T) {
		cfg := joinConfig()
		cfg.Join.LogsWait = 50 * time.Millisecond
		h := newHarness(t, cfg)
		out := h.pipelines().sendLogs(t, contentLogs(t, 9, userRecord))
		lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		expectAttrs(t, "orphan", lr.Attributes(), map[string]any{"aiops.content.join": "orphaned"})
		if v, _ := lr.Attributes().Get("gen_ai.input.messages"); strings.Contains(v.Str(), "jane.doe") {
			t.Fatal("orphaned content stored unmasked")
		}
		if n := h.counter("aiops_aitrace_content_logs", map[string]string{"outcome": "orphaned"}); n != 1 {
			t.Fatalf("orphaned counted %d", n)
		}
	})
	t.Run("a source whose spans waited in vain is not waited on again", func(t *testing.T) {
		cfg := joinConfig()
		cfg.Join.LogsWait = 50 * time.Millisecond
		h := newHarness(t, cfg)
		pl := h.pipelines()
		pl.sendTraces(t, officialSpan(1)) // nothing was waited for: the service exports no logs yet
		p := sharedProcessorFor(t, cfg)
		p.join.mu.Lock()
		p.join.learnService("shop", clock().UnixNano())
		p.join.mu.Unlock()
		for i := 0; i < vainWaits; i++ {
			pl.sendTraces(t, officialSpan(byte(10+i)))
		}
		p.join.mu.Lock()
		expects := p.join.expectsLogs("shop", sourceKey("shop", officialScope), profileFor(officialScope), clock().UnixNano())
		p.join.mu.Unlock()
		if expects {
			t.Fatal("still waiting on a source that sent no logs")
		}
	})
}

// sharedProcessorFor returns the processor the pipelines of cfg share.
func sharedProcessorFor(t *testing.T, cfg *Config) *traceProcessor {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	for k, sp := range shared.m {
		if k.cfg == cfg {
			return sp.p
		}
	}
	t.Fatal("no shared processor")
	return nil
}

// The Anthropic SDK's own span, exported alone before the wrapper span
// that carries the user (simple span processors export each span as it
// ends, children first).
func TestProviderSpanTakesItsParentsAttribution(t *testing.T) {
	h := newHarness(t, joinConfig())
	pl := h.pipelines()
	inner, outer := twoLayers()
	outer.attrs["user.id"] = "user-7"
	child := async(func() ptrace.Span { return pl.sendTraces(t, batchOf(t, inner)) })
	time.Sleep(100 * time.Millisecond)
	parent := pl.sendTraces(t, batchOf(t, outer))
	c := child()
	expectAttrs(t, "child", c.Attributes(), map[string]any{"user.id": "user-7"})
	// One of the two carries the usage, and both name the user.
	billedCount := 0
	for _, sp := range []ptrace.Span{c, parent} {
		if _, ok := sp.Attributes().Get("gen_ai.usage.input_tokens"); ok {
			billedCount++
		}
	}
	if billedCount != 1 {
		t.Fatalf("%d spans billed", billedCount)
	}
}
