package aitrace

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestIdentifyProviderModelOperation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		span   string
		attrs  map[string]any
		want   map[string]any
		absent []string
	}{
		{
			// OpenInference's LangChain spans name no provider: only
			// LangChain's metadata does.
			name: "LangChain ls_provider", span: "ChatOpenAI",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": int64(10),
				"metadata": `{"ls_provider":"openai","ls_model_name":"gpt-4o-mini","ls_model_type":"chat"}`},
			want: map[string]any{"gen_ai.provider.name": "openai", "aiops.provider.inferred": "framework_metadata", "gen_ai.operation.name": "chat"},
		},
		{
			name: "API host", span: "POST",
			attrs: map[string]any{"gen_ai.request.model": "my-finetune", "gen_ai.usage.input_tokens": int64(5), "server.address": "api.mistral.ai"},
			want:  map[string]any{"gen_ai.provider.name": "mistral_ai", "aiops.provider.inferred": "server_address"},
		},
		{
			name: "host from url.full", span: "POST",
			attrs: map[string]any{"gen_ai.request.model": "x", "gen_ai.usage.input_tokens": int64(5), "url.full": "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke"},
			want:  map[string]any{"gen_ai.provider.name": "aws.bedrock", "aiops.provider.inferred": "server_address"},
		},
		{
			name: "model family, last resort", span: "call",
			attrs: map[string]any{"gen_ai.request.model": "claude-3-5-haiku-latest", "gen_ai.usage.input_tokens": int64(5)},
			want:  map[string]any{"gen_ai.provider.name": "anthropic", "aiops.provider.inferred": "model_name"},
		},
		{
			name: "Bedrock id", span: "BedrockRuntime.InvokeModel",
			attrs: map[string]any{"gen_ai.request.model": "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "gen_ai.usage.input_tokens": int64(5)},
			want:  map[string]any{"gen_ai.provider.name": "aws.bedrock", "gen_ai.operation.name": "chat", "aiops.operation.inferred": "model_name"},
		},
		{
			name: "Bedrock embedding model without an operation", span: "BedrockRuntime.InvokeModel",
			attrs: map[string]any{"gen_ai.system": "aws.bedrock", "gen_ai.request.model": "amazon.titan-embed-text-v2:0", "gen_ai.usage.input_tokens": int64(9)},
			want:  map[string]any{"gen_ai.operation.name": "embeddings", "aiops.operation.inferred": "model_name"},
		},
		{
			name: "Azure host behind an openai provider", span: "chat prod-chat",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "prod-chat",
				"gen_ai.response.model": "gpt-4o-2024-08-06", "server.address": "contoso.openai.azure.com"},
			want: map[string]any{"gen_ai.provider.name": "azure.ai.openai", "aiops.provider.reported": "openai", "aiops.provider.inferred": "server_address"},
		},
		{
			name: "a named provider is kept", span: "chat",
			attrs:  map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "groq", "gen_ai.request.model": "gpt-oss-120b", "server.address": "api.openai.com"},
			want:   map[string]any{"gen_ai.provider.name": "groq"},
			absent: []string{"aiops.provider.inferred"},
		},
		{
			// OpenInference's OpenAI instrumentation overwrites llm.model_name
			// with the response model.
			name: "OpenInference request model in invocation parameters", span: "OpenAI Chat Completions",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini-2024-07-18", "llm.provider": "openai",
				"llm.invocation_parameters": `{"model":"gpt-4o-mini","user":"u1"}`, "llm.token_count.prompt": int64(10)},
			want: map[string]any{"gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18"},
		},
		{
			name: "OpenInference request and response keys", span: "Anthropic Messages",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-haiku-20241022", "llm.request.model_name": "claude-3-5-haiku-latest",
				"llm.response.model_name": "claude-3-5-haiku-20241022", "llm.invocation_parameters": `{"model":"claude-3-5-haiku-latest"}`, "llm.provider": "anthropic"},
			want: map[string]any{"gen_ai.request.model": "claude-3-5-haiku-latest", "gen_ai.response.model": "claude-3-5-haiku-20241022"},
		},
		{
			// LangChain via OpenInference: the response model and id only in output.value.
			name: "LangChain response in output.value", span: "ChatOpenAI",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.invocation_parameters": `{"model":"gpt-4o-mini","stream":false}`,
				"output.mime_type": "application/json",
				"output.value":     `{"generations":[[{"text":"hi","message":{"lc":1,"kwargs":{"id":"chatcmpl-9","response_metadata":{"model_name":"gpt-4o-mini-2024-07-18","finish_reason":"stop"}}}}]]}`},
			want: map[string]any{"gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": "chatcmpl-9"},
		},
		{
			name: "a guardrail is never a model call", span: "input-guardrail",
			attrs:  map[string]any{"openinference.span.kind": "GUARDRAIL", "input.value": "hello"},
			absent: []string{"gen_ai.operation.name"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			span := runOne(t, nil, tc.span, tc.attrs)
			expectAttrs(t, tc.name, span.Attributes(), tc.want, tc.absent...)
		})
	}
}

// Langfuse v5's OpenAI wrapper, as captured in test/conformance: no gen_ai.*
// keys, usage as disjoint buckets, failures marked by level only.
func TestLangfuseObservations(t *testing.T) {
	t.Run("buckets add up to the convention's counts", func(t *testing.T) {
		span := runOne(t, nil, "OpenAI.chat", map[string]any{"langfuse.observation.type": "generation", "langfuse.observation.model.name": "o3-mini-2025-01-31",
			"langfuse.observation.usage_details": `{"input":60,"output":18,"total":110,"input_cached_tokens":0,"output_reasoning_tokens":32,"output_audio_tokens":0}`})
		expectAttrs(t, "o3-mini", span.Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(60), "gen_ai.usage.output_tokens": int64(50),
			"gen_ai.usage.reasoning.output_tokens": int64(32), "aiops.usage.reported.output_tokens": int64(18), "gen_ai.provider.name": "openai",
			"gen_ai.operation.name": "chat", "aiops.tokens.normalized": "as_reported"}, "aiops.malformed")
		span = runOne(t, nil, "OpenAI.chat", map[string]any{"langfuse.observation.type": "generation", "langfuse.observation.model.name": "gpt-4o-mini-2024-07-18",
			"langfuse.observation.usage_details": `{"input":56,"output":30,"total":150,"input_cached_tokens":64,"input_audio_tokens":0,"output_reasoning_tokens":0}`})
		expectAttrs(t, "cached", span.Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(120), "gen_ai.usage.cache_read.input_tokens": int64(64),
			"gen_ai.usage.output_tokens": int64(30)}, "aiops.malformed")
	})
	t.Run("hand-written OpenAI-style names include their details", func(t *testing.T) {
		span := runOne(t, nil, "manual", map[string]any{"langfuse.observation.type": "generation", "langfuse.observation.model.name": "gpt-4o-mini",
			"langfuse.observation.usage_details": `{"promptTokens":100,"completionTokens":40,"totalTokens":140}`})
		expectAttrs(t, "manual", span.Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(100), "gen_ai.usage.output_tokens": int64(40)}, "aiops.malformed")
	})
	t.Run("embeddings typed as a generation", func(t *testing.T) {
		span := runOne(t, nil, "OpenAI.embeddings", map[string]any{"langfuse.observation.type": "generation", "langfuse.observation.model.name": "text-embedding-3-small"})
		expectAttrs(t, "embeddings", span.Attributes(), map[string]any{"gen_ai.operation.name": "embeddings"})
	})
	t.Run("level ERROR is a failure", func(t *testing.T) {
		span := runOne(t, nil, "OpenAI.chat", map[string]any{"langfuse.observation.type": "generation", "langfuse.observation.model.name": "gpt-4o-mini",
			"langfuse.observation.level": "ERROR", "langfuse.observation.status_message": "429 Rate limit reached"})
		expectAttrs(t, "error", span.Attributes(), map[string]any{"error.type": "rate_limit"})
		if span.Status().Code() != 2 {
			t.Fatalf("status %v", span.Status().Code())
		}
	})
}

// OpenInference guardrail and evaluator spans, shaped as in
// test/conformance/testdata/openinference-guardrail.
func TestGuardrailsCreditedToTheirCalls(t *testing.T) {
	llm := func(id, parent byte, start, end int64) spanSpec {
		return spanSpec{name: "OpenAI Chat Completions", id: id, parent: parent, start: start, end: end, scope: "oi",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": int64(10), "llm.token_count.completion": int64(2)}}
	}
	guard := spanSpec{name: "input-guardrail", id: 2, parent: 1, start: 1, end: 5, scope: "openinference-core", attrs: map[string]any{"openinference.span.kind": "GUARDRAIL", "input.value": "hi"}}
	eval := spanSpec{name: "pii-output-evaluator", id: 4, parent: 1, start: 6, end: 7, scope: "openinference-core", attrs: map[string]any{"openinference.span.kind": "EVALUATOR",
		"evaluations.0.evaluation.name": "pii_leak", "evaluations.0.evaluation.label": "leaked"}}
	targets := func(sp ptrace.Span) []any {
		if v, ok := sp.Attributes().Get("aiops.guardrail.targets"); ok {
			return v.Slice().AsRaw()
		}
		return nil
	}
	t.Run("in one request", func(t *testing.T) {
		spans := spansOf(newHarness(t, nil).run(batchOf(t, llm(3, 2, 2, 4), guard, eval)))
		if f := flagsOf(spans[0].Attributes()); !contains(f, "framework.guardrail") || !contains(f, "framework.evaluator") {
			t.Fatalf("call flags %v", f)
		}
		if _, ok := spans[1].Attributes().Get("gen_ai.operation.name"); ok {
			t.Fatal("a guardrail became a model call")
		}
		if got := targets(spans[1]); len(got) != 1 || got[0] != sid(3).String() {
			t.Fatalf("guardrail targets %v", got)
		}
		if got := targets(spans[2]); len(got) != 1 || got[0] != sid(3).String() {
			t.Fatalf("evaluator targets %v", got)
		}
	})
	t.Run("call first, guardrail and evaluator in later requests", func(t *testing.T) {
		send := newHarness(t, nil).start()
		send(batchOf(t, llm(3, 2, 2, 4)))
		if got := targets(spansOf(send(batchOf(t, guard)))[0]); len(got) != 1 || got[0] != sid(3).String() {
			t.Fatalf("guardrail targets %v", got)
		}
		if got := targets(spansOf(send(batchOf(t, eval)))[0]); len(got) != 1 || got[0] != sid(3).String() {
			t.Fatalf("evaluator targets %v", got)
		}
	})
	t.Run("guardrail first, its call later", func(t *testing.T) {
		send := newHarness(t, nil).start()
		send(batchOf(t, guard))
		if f := flagsOf(spansOf(send(batchOf(t, llm(3, 2, 2, 4))))[0].Attributes()); !contains(f, "framework.guardrail") {
			t.Fatalf("call flags %v", f)
		}
	})
	t.Run("an LLM judge's own call is not what it judged", func(t *testing.T) {
		judge := spanSpec{name: "faithfulness-judge", id: 5, parent: 1, start: 6, end: 9, scope: "openinference-core", attrs: map[string]any{"openinference.span.kind": "EVALUATOR"}}
		byID := map[byte]ptrace.Span{}
		for _, sp := range spansOf(newHarness(t, nil).run(batchOf(t, llm(3, 1, 2, 4), judge, llm(6, 5, 7, 8)))) {
			byID[sp.SpanID()[7]] = sp
		}
		if got := targets(byID[5]); len(got) != 1 || got[0] != sid(3).String() {
			t.Fatalf("judge targets %v, want the app's call", got)
		}
		if f := flagsOf(byID[6].Attributes()); contains(f, "framework.evaluator") {
			t.Fatal("the judge's own call credited as evaluated")
		}
	})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
