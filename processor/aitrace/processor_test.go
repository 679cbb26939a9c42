package aitrace

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// run pushes one span with attrs through a processor built from cfg and
// returns the span as it left.
func run(t *testing.T, cfg *Config, name string, attrs map[string]any) ptrace.Span {
	t.Helper()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(name)
	if err := span.Attributes().FromRaw(attrs); err != nil {
		t.Fatal(err)
	}
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	return sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

func TestNormalizeDialects(t *testing.T) {
	cases := []struct {
		name    string
		span    string
		in      map[string]any
		want    map[string]any
		absent  []string
		dialect string
	}{
		{
			name: "semconv before provider.name (gen_ai.system, prompt_tokens)",
			span: "chat gpt-4", in: map[string]any{"gen_ai.system": "az.ai.openai", "gen_ai.request.model": "gpt-4", "gen_ai.usage.prompt_tokens": int64(10), "gen_ai.usage.completion_tokens": "5"},
			want:    map[string]any{"gen_ai.provider.name": "azure.ai.openai", "gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(5), "gen_ai.operation.name": "chat", "aiops.model.pinned": false},
			dialect: "semconv_legacy",
		},
		{
			name: "current name is never overwritten",
			span: "chat", in: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.system": "anthropic", "gen_ai.usage.input_tokens": int64(7), "gen_ai.usage.prompt_tokens": int64(99)},
			want: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(7)},
		},
		{
			name: "OpenLLMetry",
			span: "openai.chat", in: map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-2024-08-06", "gen_ai.usage.prompt_tokens": int64(1200), "gen_ai.usage.cache_read_input_tokens": int64(1000), "llm.request.type": "chat"},
			want:    map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(1200), "gen_ai.usage.cache_read.input_tokens": int64(1000), "gen_ai.operation.name": "chat", "aiops.model.pinned": true},
			dialect: "openllmetry",
		},
		{
			name: "OpenInference",
			span: "ChatCompletion", in: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-sonnet-20241022", "llm.provider": "anthropic", "llm.system": "anthropic", "llm.token_count.prompt": float64(300), "llm.token_count.completion": int64(40), "llm.token_count.prompt_details.cache_read": int64(200), "session.id": "conv-1"},
			want:    map[string]any{"gen_ai.request.model": "claude-3-5-sonnet-20241022", "gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": int64(300), "gen_ai.usage.output_tokens": int64(40), "gen_ai.usage.cache_read.input_tokens": int64(200), "gen_ai.conversation.id": "conv-1", "gen_ai.operation.name": "chat", "aiops.model.pinned": true},
			dialect: "openinference",
		},
		{
			name: "Vercel AI SDK provider call",
			span: "ai.generateText.doGenerate", in: map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat", "ai.usage.promptTokens": int64(12), "ai.usage.completionTokens": int64(30)},
			want:    map[string]any{"gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(12), "gen_ai.usage.output_tokens": int64(30), "gen_ai.operation.name": "chat"},
			dialect: "vercel_ai",
		},
		{
			name: "Vercel AI SDK wrapper keeps its summed usage out of the count",
			span: "ai.generateText", in: map[string]any{"ai.operationId": "ai.generateText", "ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat", "ai.usage.promptTokens": int64(12)},
			want:   map[string]any{"gen_ai.request.model": "gpt-4o-mini"},
			absent: []string{"gen_ai.usage.input_tokens", "gen_ai.operation.name"},
		},
		{
			name: "Langfuse",
			span: "generation", in: map[string]any{"langfuse.observation.type": "generation", "langfuse.session.id": "s-9", "langfuse.observation.model.name": "gemini-2.5-pro"},
			want:    map[string]any{"gen_ai.conversation.id": "s-9", "gen_ai.request.model": "gemini-2.5-pro", "aiops.model.pinned": false},
			dialect: "langfuse",
		},
		{
			name: "malformed token counts are left unmapped",
			span: "chat", in: map[string]any{"gen_ai.system": "openai", "gen_ai.usage.prompt_tokens": "lots", "gen_ai.usage.completion_tokens": int64(-3)},
			want:   map[string]any{"gen_ai.usage.prompt_tokens": "lots", "gen_ai.usage.completion_tokens": int64(-3)},
			absent: []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"},
		},
		{
			name: "operation from the span name",
			span: "embeddings text-embedding-3-small", in: map[string]any{"gen_ai.request.model": "text-embedding-3-small"},
			want: map[string]any{"gen_ai.operation.name": "embeddings"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			span := run(t, createDefaultConfig().(*Config), c.span, c.in)
			attrs := span.Attributes()
			for k, want := range c.want {
				got, ok := attrs.Get(k)
				if !ok {
					t.Errorf("%s missing", k)
					continue
				}
				if got.AsRaw() != want {
					t.Errorf("%s = %#v, want %#v", k, got.AsRaw(), want)
				}
			}
			for _, k := range c.absent {
				if v, ok := attrs.Get(k); ok {
					t.Errorf("%s should be absent, is %v", k, v.AsRaw())
				}
			}
			if c.dialect != "" {
				v, ok := attrs.Get("aiops.normalized")
				if !ok || !sliceHas(v.Slice(), c.dialect) {
					t.Errorf("aiops.normalized lacks %s", c.dialect)
				}
			}
			// Originals are kept by default.
			for k := range c.in {
				if _, ok := attrs.Get(k); !ok {
					t.Errorf("original %s removed with keep_original_keys on", k)
				}
			}
		})
	}
}

func sliceHas(s pcommon.Slice, v string) bool {
	for i := 0; i < s.Len(); i++ {
		if s.At(i).Str() == v {
			return true
		}
	}
	return false
}

func TestNonGenAISpanUntouched(t *testing.T) {
	in := map[string]any{"http.route": "/api/chat", "http.response.status_code": int64(200), "user.id": "u1"}
	span := run(t, createDefaultConfig().(*Config), "GET /api/chat", in)
	if span.Attributes().Len() != len(in) {
		t.Fatalf("non-GenAI span changed: %v", span.Attributes().AsRaw())
	}
}

func TestRemoveOriginalsAndCustomMappings(t *testing.T) {
	cfg := &Config{KeepOriginalKeys: false, CustomMappings: map[string]string{"app.llm.model": "gen_ai.request.model"}}
	span := run(t, cfg, "chat", map[string]any{"gen_ai.system": "openai", "app.llm.model": "gpt-4o", "gen_ai.usage.prompt_tokens": int64(3)})
	attrs := span.Attributes()
	for _, k := range []string{"gen_ai.system", "app.llm.model", "gen_ai.usage.prompt_tokens"} {
		if _, ok := attrs.Get(k); ok {
			t.Errorf("%s kept with keep_original_keys off", k)
		}
	}
	if v, _ := attrs.Get("gen_ai.request.model"); v.Str() != "gpt-4o" {
		t.Errorf("custom mapping: %v", attrs.AsRaw())
	}
}

func TestOnlyEnabledDialects(t *testing.T) {
	cfg := &Config{KeepOriginalKeys: true, Dialects: []string{"openinference"}}
	span := run(t, cfg, "chat", map[string]any{"gen_ai.system": "openai", "llm.model_name": "gpt-4o"})
	attrs := span.Attributes()
	if _, ok := attrs.Get("gen_ai.provider.name"); ok {
		t.Error("semconv_legacy mapped while disabled")
	}
	if v, _ := attrs.Get("gen_ai.request.model"); v.Str() != "gpt-4o" {
		t.Error("openinference not mapped")
	}
}
