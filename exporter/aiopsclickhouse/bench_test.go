package aiopsclickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
)

// benchTraces is n priced GenAI spans of about 30 attributes each, as they
// leave aitrace and costattr, without message content.
func benchTraces(seed, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "support-chatbot")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("deployment.environment.name", "production")
	ra.PutStr(insertTokenKey, fmt.Sprintf("bench-%d", seed))
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		s.SetName("chat gpt-4o-mini")
		s.SetTraceID(pcommon.TraceID{byte(seed), byte(seed >> 8), byte(i), byte(i >> 8), byte(i >> 16), 7})
		s.SetSpanID(pcommon.SpanID{byte(seed), byte(i), byte(i >> 8), byte(i >> 16), 9})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Millisecond)))
		s.SetEndTimestamp(s.StartTimestamp() + 800e6)
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o-mini")
		a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%d-%d", seed, i))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutInt("gen_ai.usage.input_tokens", int64(1000+i%500))
		a.PutInt("gen_ai.usage.output_tokens", int64(200+i%100))
		a.PutInt("gen_ai.usage.cache_read.input_tokens", 256)
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutInt("gen_ai.request.max_tokens", 1024)
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("conv-%d", i%97))
		a.PutStr("user.id", fmt.Sprintf("user-%d", i%50))
		a.PutStr("aiops.user.id", fmt.Sprintf("user-%d", i%50))
		a.PutStr("aiops.tenant.id", fmt.Sprintf("tenant-%d", i%5))
		a.PutStr("aiops.workload", "support-chatbot")
		a.PutBool("aiops.model.pinned", true)
		a.PutDouble("gen_ai.usage.cost", 0.000273)
		a.PutDouble("aiops.cost.input", 0.000111)
		a.PutDouble("aiops.cost.cached_input", 0.0000192)
		a.PutDouble("aiops.cost.output", 0.000143)
		a.PutDouble("aiops.cost.cache_write", 0)
		a.PutDouble("aiops.cost.reasoning", 0)
		a.PutStr("aiops.cost.source", "computed")
		a.PutStr("aiops.price.id", "openai/gpt-4o-mini@2026-07-24")
		a.PutStr("aiops.price.catalog", "builtin-2026-07-24")
		a.PutStr("aiops.content.captured", "none")
		a.PutStr("server.address", "api.openai.com")
		a.PutInt("server.port", 443)
		a.PutStr("gen_ai.prompt.name", "support-answer")
	}
	return td
}

// BenchmarkEncodeGenAISpans measures one core turning spans into a Native
// block: row building, clickhouse-go columns, and encoding.
func BenchmarkEncodeGenAISpans(b *testing.B) {
	const rows = 10000
	td := benchTraces(1, rows)
	rs := td.ResourceSpans().At(0)
	spans := rs.ScopeSpans().At(0).Spans()
	var buf chproto.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bl := newBuilder(genaiSpansSchema, 10000)
		for k := 0; k < spans.Len(); k++ {
			addGenAISpan(bl, rs.Resource(), spans.At(k), "bench")
		}
		buf.Reset()
		if err := bl.batch("aiops").EncodeNative(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(buf.Buf))/rows, "bytes/row")
}

// BenchmarkInsertEmbedded measures rows/s end to end into the embedded
// engine: token check, encoding and the insert, 10,000 spans per batch.
func BenchmarkInsertEmbedded(b *testing.B) { benchInsert(b, false) }

// BenchmarkInsertEmbeddedContent is the same with 2-8 KB of messages on
// every fourth span, as the end-to-end load sends.
func BenchmarkInsertEmbeddedContent(b *testing.B) { benchInsert(b, true) }

func benchInsert(b *testing.B, content bool) {
	// A database per run: requests of an earlier run carry the same tokens
	// and would be skipped as already stored.
	benchRuns++
	cfg := testConfig(fmt.Sprintf("bench_%d", benchRuns))
	e, err := newExporter(cfg, benchSettings())
	if err != nil {
		b.Fatal(err)
	}
	if err := e.start(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	defer e.shutdown(context.Background())
	const rows = 10000
	batches := make([]ptrace.Traces, b.N)
	for i := range batches {
		batches[i] = benchTraces(i+1, rows)
		if content {
			addContent(batches[i])
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.pushTraces(context.Background(), batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func benchSettings() exporter.Settings { return exportertest.NewNopSettings(metadata.Type) }

var benchRuns int

// addContent gives every fourth span 2-8 KB of input and output messages.
func addContent(td ptrace.Traces) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i += 4 {
		n := 2048 + (i*7919)%6144
		text := strings.Repeat(fmt.Sprintf("turn %d: the customer asks about order %d and the refund policy. ", i, i*31), n/64+1)[:n]
		a := spans.At(i).Attributes()
		a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+text[:n/2]+`"}]}]`)
		a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+text[n/2:]+`"}]}]`)
	}
}
