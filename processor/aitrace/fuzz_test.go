package aitrace

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// FuzzNormalize feeds arbitrary keys and values, in the dialects' shapes,
// through the whole processor: it must never panic, and usage it leaves
// under gen_ai.usage.* must be a non-negative integer costattr can price.
func FuzzNormalize(f *testing.F) {
	seeds := []struct{ k1, v1, k2, v2 string }{
		{"gen_ai.usage.prompt_tokens", "12", "gen_ai.system", "openai"},
		{"llm.input_messages.0.message.content", "jane@example.com", "llm.input_messages.0.message.role", "user"},
		{"ai.prompt.messages", `[{"role":"user","content":[{"type":"text","text":"4111 1111 1111 1111"}]}]`, "ai.operationId", "ai.generateText.doGenerate"},
		{"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"\u0000\ud800"}]}]`, "gen_ai.usage.input_tokens", "-1"},
		{"retrieval.documents.0.document.metadata", `{"updated_at":"2020-01-01"}`, "openinference.span.kind", "RETRIEVER"},
		{"langfuse.observation.usage_details", `{"input":1e99}`, "gen_ai.completion.0.tool_calls.0.arguments", "{"},
		{"gen_ai.prompt.999999999999.role", "x", "llm.invocation_parameters", `{"stream":"yes"}`},
	}
	for _, s := range seeds {
		f.Add(s.k1, s.v1, s.k2, s.v2, int64(7), 2.5)
	}
	p, err := newProcessor(createDefaultConfig().(*Config), processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	if err != nil {
		f.Fatal(err)
	}
	// A second processor takes the removal paths: originals dropped,
	// content reduced to its digest.
	strict := createDefaultConfig().(*Config)
	strict.KeepOriginalKeys = false
	strict.Content.Capture = captureDigest
	p2, err := newProcessor(strict, processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, n int64, d float64) {
		for _, p := range []*traceProcessor{p, p2} {
			fuzzOnce(t, p, k1, v1, k2, v2, n, d)
		}
	})
}

func fuzzOnce(t *testing.T, p *traceProcessor, k1, v1, k2, v2 string, n int64, d float64) {
	{
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		parent := ss.AppendEmpty()
		parent.SetSpanID(pcommon.SpanID{1})
		a := parent.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr(k1, v1)
		a.PutStr(k2, v2)
		a.PutInt(k2+".n", n)
		a.PutDouble("gen_ai.usage.output_tokens", d)
		child := ss.AppendEmpty()
		child.SetSpanID(pcommon.SpanID{2})
		child.SetParentSpanID(pcommon.SpanID{1})
		parent.Attributes().CopyTo(child.Attributes())
		child.Attributes().PutInt(k1, n)
		ev := child.Events().AppendEmpty()
		ev.SetName("gen_ai.user.message")
		ev.Attributes().PutStr("content", v1)
		if _, err := p.processTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
		for _, sp := range []ptrace.Span{parent, child} {
			for _, k := range usageKeys {
				if v, ok := sp.Attributes().Get(k); ok && (v.Type() != pcommon.ValueTypeInt || v.Int() < 0 || v.Int() > maxTokens) {
					t.Fatalf("%s left as %v", k, v.AsRaw())
				}
			}
			if !p.cfg.KeepOriginalKeys {
				if _, ok := sp.Attributes().Get("gen_ai.input.messages"); ok {
					t.Fatal("content kept under capture: digest")
				}
			}
		}
	}
}
