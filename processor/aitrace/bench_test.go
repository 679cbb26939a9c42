package aitrace

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// Benchmarks report ns/span and allocs/span. Run:
//
//	go test ./processor/aitrace -run '^$' -bench . -benchmem -count 5
const spansPerBatch = 100

func benchBatch(n int, attrs func(i int, m pcommon.Map)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := ss.AppendEmpty()
		sp.SetName("chat gpt-4o")
		sp.SetTraceID(pcommon.TraceID{byte(i), 1, 2, 3})
		sp.SetSpanID(pcommon.SpanID{byte(i), 9})
		sp.SetStartTimestamp(pcommon.Timestamp(epoch * 1e9))
		sp.SetEndTimestamp(pcommon.Timestamp((epoch + 1) * 1e9))
		attrs(i, sp.Attributes())
	}
	return td
}

func nonGenAIAttrs(_ int, m pcommon.Map) {
	m.PutStr("http.request.method", "POST")
	m.PutStr("http.route", "/api/orders/{id}")
	m.PutInt("http.response.status_code", 200)
	m.PutStr("url.path", "/api/orders/42")
	m.PutStr("server.address", "orders.internal")
	m.PutInt("server.port", 8080)
	m.PutStr("user_agent.original", "Mozilla/5.0")
	m.PutStr("network.protocol.version", "1.1")
}

// genAIAttrs is a realistic inference span of about 30 attributes, no content.
func genAIAttrs(i int, m pcommon.Map) {
	m.PutStr("gen_ai.operation.name", "chat")
	m.PutStr("gen_ai.system", "openai")
	m.PutStr("gen_ai.request.model", "gpt-4o-mini")
	m.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
	m.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%d", i))
	m.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	m.PutDouble("gen_ai.request.temperature", 0.2)
	m.PutInt("gen_ai.request.max_tokens", 512)
	m.PutDouble("gen_ai.request.top_p", 1)
	m.PutInt("gen_ai.usage.prompt_tokens", 1200)
	m.PutInt("gen_ai.usage.completion_tokens", 80)
	m.PutInt("gen_ai.usage.cache_read_input_tokens", 1024)
	m.PutInt("llm.usage.total_tokens", 1280)
	m.PutStr("llm.request.type", "chat")
	m.PutBool("llm.is_streaming", false)
	m.PutStr("gen_ai.openai.response.system_fingerprint", "fp_44709d6fcb")
	m.PutStr("gen_ai.openai.response.service_tier", "default")
	m.PutStr("traceloop.association.properties.user_id", "u-42")
	m.PutStr("traceloop.association.properties.tenant_id", "t-7")
	m.PutStr("traceloop.workflow.name", "support")
	m.PutStr("traceloop.entity.path", "support.answer")
	m.PutStr("server.address", "api.openai.com")
	m.PutInt("server.port", 443)
	m.PutStr("http.request.method", "POST")
	m.PutInt("http.response.status_code", 200)
	m.PutStr("url.full", "https://api.openai.com/v1/chat/completions")
	m.PutStr("deployment.environment", "prod")
	m.PutStr("app.feature", "ticket-summary")
	m.PutStr("app.request_id", fmt.Sprintf("req-%d", i))
	m.PutStr("thread.name", "worker-3")
}

// content8KB is a chat in semconv form, about 8 KB, with one finding of each
// PII and secret kind spread through ordinary text.
func content8KB() string {
	words := strings.Fields("the order shipped from our warehouse yesterday and the customer wants to know when it will arrive please check the tracking status and reply politely with an estimate while keeping the tone friendly and concise")
	findings := []string{
		"jane.doe@example.com", "+1 415 555 2671", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "078-05-1120",
		"203.0.113.7", "AKIAIOSFODNN7EXAMPLE", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0h",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	}
	var msgs []genai.Message
	var b strings.Builder
	w, f := 0, 0
	for turn := 0; b.Len() < 7600; turn++ {
		var t strings.Builder
		for t.Len() < 700 {
			t.WriteString(words[w%len(words)])
			t.WriteByte(' ')
			w++
			if w%97 == 0 && f < len(findings) {
				t.WriteString(findings[f])
				t.WriteString(" ")
				f++
			}
		}
		role := "user"
		if turn%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, genai.Message{Role: role, Parts: []genai.Part{genai.TextPart(t.String())}})
		b.WriteString(t.String())
	}
	for f < len(findings) {
		msgs[len(msgs)-1].Parts = append(msgs[len(msgs)-1].Parts, genai.TextPart("also "+findings[f]))
		f++
	}
	return genai.EncodeMessages(msgs)
}

var benchContent = content8KB()

func contentAttrs(_ int, m pcommon.Map) {
	m.PutStr("gen_ai.operation.name", "chat")
	m.PutStr("gen_ai.provider.name", "openai")
	m.PutStr("gen_ai.request.model", "gpt-4o-mini")
	m.PutInt("gen_ai.usage.input_tokens", 2100)
	m.PutInt("gen_ai.usage.output_tokens", 90)
	m.PutStr("gen_ai.input.messages", benchContent)
}

func newBenchProcessor(b *testing.B) *traceProcessor {
	p, err := newProcessor(createDefaultConfig().(*Config), processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// runCopies processes fresh copies of tmpl, copying with the timer stopped,
// and reports per-span figures.
func runCopies(b *testing.B, tmpl ptrace.Traces, perBatch int, process func(ptrace.Traces)) {
	const chunk = 8
	var batchNo uint64
	copies := make([]ptrace.Traces, chunk)
	for i := range copies {
		copies[i] = ptrace.NewTraces()
	}
	b.ReportAllocs()
	var cpu time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(chunk, b.N-done)
		for i := 0; i < n; i++ {
			copies[i] = ptrace.NewTraces()
			tmpl.CopyTo(copies[i])
			// Each copy is new traffic: the span memory must not take it
			// for a re-sent request.
			batchNo++
			for _, rs := range copies[i].ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, sp := range ss.Spans().All() {
						tid := sp.TraceID()
						binary.LittleEndian.PutUint64(tid[8:], batchNo)
						sp.SetTraceID(tid)
					}
				}
			}
		}
		// Collect the previous chunk's garbage now, so the copies' GC cost
		// does not land in the measured loop.
		runtime.GC()
		c0 := cpuTime()
		b.StartTimer()
		for i := 0; i < n; i++ {
			process(copies[i])
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		done += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/span")
	// CPU time, unlike wall time, does not grow when other jobs share the
	// machine's cores.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*perBatch), "cpu-ns/span")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkNonGenAISpan(b *testing.B) {
	p := newBenchProcessor(b)
	td := benchBatch(spansPerBatch, nonGenAIAttrs)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		p.processTraces(ctx, td) // non-GenAI spans are never written to
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spansPerBatch), "ns/span")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*spansPerBatch), "cpu-ns/span")
}

func BenchmarkGenAISpanNoContent(b *testing.B) {
	p := newBenchProcessor(b)
	ctx := context.Background()
	tmpl := benchBatch(spansPerBatch, genAIAttrs)
	warmUp(p, tmpl)
	runCopies(b, tmpl, spansPerBatch, func(td ptrace.Traces) { p.processTraces(ctx, td) })
}

// warmUp fills the span memory, so a benchmark measures the steady state
// (a full ring being overwritten) rather than its one-time growth.
func warmUp(p *traceProcessor, tmpl ptrace.Traces) {
	ctx := context.Background()
	for n := 0; n < p.cfg.SpanMemory.MaxSpans; n += tmpl.SpanCount() {
		td := ptrace.NewTraces()
		tmpl.CopyTo(td)
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					tid := sp.TraceID()
					binary.LittleEndian.PutUint64(tid[8:], ^uint64(n))
					sp.SetTraceID(tid)
				}
			}
		}
		p.processTraces(ctx, td)
	}
}

func BenchmarkContent8KBMask(b *testing.B) {
	p := newBenchProcessor(b)
	ctx := context.Background()
	b.SetBytes(int64(len(benchContent)))
	runCopies(b, benchBatch(1, contentAttrs), 1, func(td ptrace.Traces) { p.processTraces(ctx, td) })
}

// The same content through contrib's redactionprocessor, with regexes for
// the same PII and secret kinds (blocked_values masks every match).
var redactionRegexes = []string{
	`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`,
	`(?:\+\d{1,3}[ -]?)?\(?\b\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b`,
	`\b(?:\d{4}[ -]?){3}\d{4}\b|\b\d{4}[ -]?\d{6}[ -]?\d{5}\b`,
	`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b`,
	`\b\d{3}-\d{2}-\d{4}\b`,
	`\b(?:\d{1,3}\.){3}\d{1,3}\b`,
	`\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}`,
	`\bsk-ant-[A-Za-z0-9_-]{32,}`,
	`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`,
	`\bgh[pousr]_[A-Za-z0-9]{36,}\b`,
	`\bAIza[A-Za-z0-9_-]{35}\b`,
	`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}`,
	`-----BEGIN [A-Z ]*PRIVATE KEY-----`,
}

func newRedaction(tb testing.TB, next consumer.Traces) processor.Traces {
	f := redactionprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*redactionprocessor.Config)
	cfg.AllowAllKeys = true
	cfg.BlockedValues = redactionRegexes
	cfg.Summary = "silent"
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(component.MustNewType("redaction")), cfg, next)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newAitrace(tb testing.TB, next consumer.Traces) processor.Traces {
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), next)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkVsRedaction puts the same 8 KB span through both processors'
// full ConsumeTraces path, in the same run.
func BenchmarkVsRedaction(b *testing.B) {
	tmpl := benchBatch(1, contentAttrs)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		make func(testing.TB, consumer.Traces) processor.Traces
	}{{"aitrace", newAitrace}, {"redactionprocessor", newRedaction}} {
		b.Run(c.name, func(b *testing.B) {
			p := c.make(b, consumertest.NewNop())
			b.SetBytes(int64(len(benchContent)))
			runCopies(b, tmpl, 1, func(td ptrace.Traces) {
				if err := p.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// The comparison is only fair if both find the same things: every finding
// planted in the benchmark content is gone after either processor.
func TestBenchmarkDetectionsMatchRedaction(t *testing.T) {
	planted := []string{"jane.doe@example.com", "415 555 2671", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "078-05-1120",
		"203.0.113.7", "AKIAIOSFODNN7EXAMPLE", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0h", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIi"}
	for _, p := range planted {
		if !strings.Contains(benchContent, p) {
			t.Fatalf("benchmark content lacks %q", p)
		}
	}
	if len(benchContent) < 7800 || len(benchContent) > 9000 {
		t.Fatalf("content is %d bytes, want about 8 KB", len(benchContent))
	}
	for name, mk := range map[string]func(testing.TB, consumer.Traces) processor.Traces{"aitrace": newAitrace, "redaction": newRedaction} {
		sink := new(consumertest.TracesSink)
		if err := mk(t, sink).ConsumeTraces(context.Background(), benchBatch(1, contentAttrs)); err != nil {
			t.Fatal(err)
		}
		v, _ := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("gen_ai.input.messages")
		for _, p := range planted {
			if strings.Contains(v.Str(), p) {
				t.Errorf("%s left %q", name, p)
			}
		}
	}
}
