package aitrace

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

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
			name: "semconv current names pass as they are",
			span: "chat gpt-4o", in: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": int64(100), "gen_ai.usage.output_tokens": int64(20), "gen_ai.usage.cache_read.input_tokens": int64(64)},
			want:   map[string]any{"gen_ai.usage.input_tokens": int64(100), "gen_ai.usage.output_tokens": int64(20), "aiops.tokens.normalized": "as_reported", "aiops.model.pinned": false, "aiops.model.family": "gpt-4o"},
			absent: []string{"aiops.normalized", "aiops.malformed"},
		},
		{
			name: "semconv before provider.name (gen_ai.system, prompt_tokens)",
			span: "chat gpt-4", in: map[string]any{"gen_ai.system": "az.ai.openai", "gen_ai.request.model": "gpt-4", "gen_ai.usage.prompt_tokens": int64(10), "gen_ai.usage.completion_tokens": "5", "gen_ai.openai.response.system_fingerprint": "fp_1"},
			want:    map[string]any{"gen_ai.provider.name": "azure.ai.openai", "gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(5), "gen_ai.operation.name": "chat", "aiops.model.pinned": false, "openai.response.system_fingerprint": "fp_1"},
			dialect: "semconv_legacy",
		},
		{
			name: "current name is never overwritten",
			span: "chat", in: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.system": "anthropic", "gen_ai.usage.input_tokens": int64(7), "gen_ai.usage.prompt_tokens": int64(99)},
			want: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(7)},
		},
		{
			name: "OpenLLMetry",
			span: "openai.chat", in: map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-2024-08-06", "gen_ai.usage.prompt_tokens": int64(1200), "gen_ai.usage.completion_tokens": int64(30), "gen_ai.usage.cache_read_input_tokens": int64(1000), "llm.usage.total_tokens": int64(1230), "llm.request.type": "chat", "llm.is_streaming": true, "traceloop.association.properties.user_id": "u-1", "traceloop.prompt.key": "support", "traceloop.prompt.version": int64(3)},
			want:    map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(1200), "gen_ai.usage.cache_read.input_tokens": int64(1000), "gen_ai.operation.name": "chat", "aiops.model.pinned": true, "gen_ai.request.stream": true, "user.id": "u-1", "gen_ai.prompt.name": "support", "gen_ai.prompt.version": int64(3)},
			dialect: "openllmetry",
		},
		{
			name: "OpenInference",
			span: "ChatCompletion", in: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-sonnet-20241022", "llm.provider": "anthropic", "llm.system": "anthropic", "llm.token_count.prompt": float64(300), "llm.token_count.completion": int64(40), "llm.token_count.prompt_details.cache_read": int64(200), "session.id": "conv-1", "llm.invocation_parameters": `{"temperature":0.3,"max_tokens":512,"stream":false}`},
			want:    map[string]any{"gen_ai.request.model": "claude-3-5-sonnet-20241022", "gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": int64(300), "gen_ai.usage.output_tokens": int64(40), "gen_ai.usage.cache_read.input_tokens": int64(200), "gen_ai.conversation.id": "conv-1", "gen_ai.operation.name": "chat", "aiops.model.pinned": true, "gen_ai.request.temperature": 0.3, "gen_ai.request.max_tokens": int64(512), "gen_ai.request.stream": false},
			dialect: "openinference",
		},
		{
			name: "Vercel AI SDK provider call",
			span: "ai.generateText.doGenerate", in: map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat", "ai.usage.promptTokens": int64(12), "ai.usage.completionTokens": int64(30), "ai.response.finishReason": "tool-calls", "ai.telemetry.metadata.userId": "u-9", "ai.settings.maxOutputTokens": int64(100)},
			want:    map[string]any{"gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(12), "gen_ai.usage.output_tokens": int64(30), "gen_ai.operation.name": "chat", "gen_ai.response.finish_reasons": []any{"tool_calls"}, "user.id": "u-9", "gen_ai.request.max_tokens": int64(100)},
			dialect: "vercel_ai",
		},
		{
			name: "Vercel AI SDK wrapper keeps its summed usage out of the count",
			span: "ai.streamText", in: map[string]any{"ai.operationId": "ai.streamText", "ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat", "ai.usage.promptTokens": int64(12), "ai.usage.completionTokens": int64(3)},
			want:   map[string]any{"gen_ai.request.model": "gpt-4o-mini", "aiops.usage.repeated.input_tokens": int64(12), "aiops.usage.repeated.output_tokens": int64(3), "aiops.usage.duplicate_reason": "framework_wrapper", "gen_ai.request.stream": true},
			absent: []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.operation.name", "aiops.tokens.normalized"},
		},
		{
			name: "Langfuse",
			span: "generation", in: map[string]any{"langfuse.observation.type": "generation", "langfuse.session.id": "s-9", "langfuse.user.id": "u-3", "langfuse.observation.model.name": "gemini-2.5-pro", "langfuse.observation.usage_details": `{"input":120,"output":30,"total":150}`, "langfuse.observation.cost_details": `{"total":0.0042}`, "langfuse.observation.prompt.name": "triage", "langfuse.observation.prompt.version": int64(2)},
			want:    map[string]any{"gen_ai.conversation.id": "s-9", "user.id": "u-3", "gen_ai.request.model": "gemini-2.5-pro", "aiops.model.pinned": false, "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": int64(120), "gen_ai.usage.output_tokens": int64(30), "gen_ai.usage.cost": 0.0042, "gen_ai.prompt.name": "triage", "gen_ai.prompt.version": int64(2)},
			dialect: "langfuse",
		},
		{
			name: "Traceloop tool span names its tool",
			span: "get_weather.tool", in: map[string]any{"traceloop.span.kind": "tool", "traceloop.entity.name": "get_weather", "traceloop.entity.input": `{"city":"Paris"}`},
			want:    map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"},
			dialect: "openllmetry",
		},
		{
			name: "malformed token counts are moved aside, never priced",
			span: "chat", in: map[string]any{"gen_ai.system": "openai", "gen_ai.usage.input_tokens": "lots", "gen_ai.usage.output_tokens": int64(-3), "gen_ai.usage.prompt_tokens": float64(2.5)},
			want:   map[string]any{"aiops.usage.invalid.input_tokens": "lots", "aiops.usage.invalid.output_tokens": int64(-3), "aiops.malformed": []any{"token_not_integer", "token_negative"}},
			absent: []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"},
		},
		{
			name: "wrong-typed settings are flagged, usable strings are read",
			span: "ai.generateText.doGenerate", in: map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.settings.temperature": "0.7", "ai.settings.topP": "high", "ai.model.provider": int64(3), "llm.is_streaming": int64(1)},
			want:   map[string]any{"gen_ai.request.temperature": 0.7, "aiops.malformed": []any{"bool_wrong_type", "provider_wrong_type", "number_wrong_type"}},
			absent: []string{"gen_ai.request.top_p", "gen_ai.provider.name", "gen_ai.request.stream"},
		},
		{
			name: "absurd counts are not priced",
			span: "chat", in: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(5_000_000_000), "gen_ai.usage.output_tokens": int64(10)},
			want:   map[string]any{"aiops.usage.invalid.input_tokens": int64(5_000_000_000), "aiops.malformed": []any{"token_absurd"}},
			absent: []string{"gen_ai.usage.input_tokens"},
		},
		{
			name: "operation from the span name",
			span: "embeddings text-embedding-3-small", in: map[string]any{"gen_ai.request.model": "text-embedding-3-small"},
			want: map[string]any{"gen_ai.operation.name": "embeddings"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			span := runOne(t, createDefaultConfig().(*Config), c.span, c.in)
			attrs := span.Attributes()
			expectAttrs(t, c.name, attrs, c.want, c.absent...)
			if c.dialect != "" {
				v, ok := attrs.Get("aiops.normalized")
				if !ok || !containsStr(strings.Split(v.Str(), ","), c.dialect) {
					t.Errorf("aiops.normalized lacks %s: %v", c.dialect, attrs.AsRaw()["aiops.normalized"])
				}
			}
			// Originals are kept by default; unusable current usage moves.
			for k := range c.in {
				if _, ok := attrs.Get(k); !ok {
					if _, moved := attrs.Get("aiops.usage.invalid." + strings.TrimPrefix(k, "gen_ai.usage.")); !moved {
						t.Errorf("original %s removed with keep_original_keys on", k)
					}
				}
			}
		})
	}
}

func TestNonGenAISpanUntouched(t *testing.T) {
	h := newHarness(t, nil)
	in := map[string]any{"http.route": "/api/chat", "http.response.status_code": int64(200), "user.id": "u1", "ai.telemetry.metadata.userId": "u1"}
	span := spansOf(h.run(batchOf(t, spanSpec{name: "GET /api/chat", id: 1, attrs: in})))[0]
	if span.Attributes().Len() != len(in) || span.Events().Len() != 0 {
		t.Fatalf("non-GenAI span changed: %v", span.Attributes().AsRaw())
	}
	if n := h.counter("aiops_aitrace_spans", map[string]string{"kind": "other"}); n != 1 {
		t.Fatalf("other spans counted %d", n)
	}
}

func TestRemoveOriginalsAndCustomMappings(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.KeepOriginalKeys = false
	cfg.CustomMappings = map[string]string{"app.llm.model": "gen_ai.request.model"}
	span := runOne(t, cfg, "chat", map[string]any{"gen_ai.system": "openai", "app.llm.model": "gpt-4o", "gen_ai.usage.prompt_tokens": int64(3),
		"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi"})
	attrs := span.Attributes()
	for _, k := range []string{"gen_ai.system", "app.llm.model", "gen_ai.usage.prompt_tokens", "llm.input_messages.0.message.role", "llm.input_messages.0.message.content"} {
		if _, ok := attrs.Get(k); ok {
			t.Errorf("%s kept with keep_original_keys off", k)
		}
	}
	expectAttrs(t, "custom", attrs, map[string]any{"gen_ai.request.model": "gpt-4o", "gen_ai.input.messages": `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`})
	if v, _ := attrs.Get("aiops.normalized"); v.Str() != "semconv_legacy,openinference,custom" {
		t.Error("custom mapping not recorded")
	}
}

func TestOnlyEnabledDialects(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Dialects = []string{"openinference"}
	span := runOne(t, cfg, "chat", map[string]any{"gen_ai.system": "openai", "llm.model_name": "gpt-4o"})
	attrs := span.Attributes()
	// gen_ai.system is not mapped; the provider may only be inferred from the model.
	if _, ok := attrs.Get("gen_ai.provider.name"); ok {
		if v, _ := attrs.Get("aiops.provider.inferred"); v.Str() != "model_name" {
			t.Error("semconv_legacy mapped while disabled")
		}
	}
	if _, ok := attrs.Get("gen_ai.system"); !ok {
		t.Error("gen_ai.system removed while its dialect is disabled")
	}
	if v, _ := attrs.Get("gen_ai.request.model"); v.Str() != "gpt-4o" {
		t.Error("openinference not mapped")
	}
}

func TestFlattenedMessages(t *testing.T) {
	t.Run("OpenInference with tool calls and contents", func(t *testing.T) {
		span := runOne(t, nil, "ChatCompletion", map[string]any{
			"openinference.span.kind":                                                 "LLM",
			"llm.input_messages.0.message.role":                                       "system",
			"llm.input_messages.0.message.content":                                    "be brief",
			"llm.input_messages.1.message.role":                                       "user",
			"llm.input_messages.1.message.contents.0.message_content.type":            "text",
			"llm.input_messages.1.message.contents.0.message_content.text":            "what is in this picture?",
			"llm.input_messages.1.message.contents.1.message_content.type":            "image",
			"llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://example.com/cat.png",
			"llm.input_messages.10.message.role":                                      "tool",
			"llm.input_messages.10.message.tool_call_id":                              "c1",
			"llm.input_messages.10.message.content":                                   `{"ok":true}`,
			"llm.output_messages.0.message.role":                                      "assistant",
			"llm.output_messages.0.message.tool_calls.0.tool_call.id":                 "c2",
			"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "lookup",
			"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"q":"cats"}`,
		})
		attrs := span.Attributes()
		expectAttrs(t, "oi", attrs, map[string]any{
			"gen_ai.input.messages":  `[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"what is in this picture?"},{"type":"uri","uri":"https://example.com/cat.png"}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":{"ok":true}}]}]`,
			"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"tool_call","id":"c2","name":"lookup","arguments":{"q":"cats"}}]}]`,
			"aiops.content.captured": "full",
		})
	})
	t.Run("OpenLLMetry with finish reason", func(t *testing.T) {
		span := runOne(t, nil, "openai.chat", map[string]any{
			"gen_ai.system": "openai", "llm.request.type": "chat",
			"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hello",
			"gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "hi there", "gen_ai.completion.0.finish_reason": "stop",
			"gen_ai.completion.1.role": "assistant", "gen_ai.completion.1.tool_calls.0.name": "f", "gen_ai.completion.1.tool_calls.0.arguments": "not json", "gen_ai.completion.1.finish_reason": "tool_calls",
		})
		expectAttrs(t, "ol", span.Attributes(), map[string]any{
			"gen_ai.input.messages":  `[{"role":"user","parts":[{"type":"text","content":"hello"}]}]`,
			"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"hi there"}],"finish_reason":"stop"},{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":"not json"}],"finish_reason":"tool_calls"}]`,
		})
	})
	t.Run("span events of the older semconv", func(t *testing.T) {
		h := newHarness(t, nil)
		span := spansOf(h.run(batchOf(t, spanSpec{name: "chat gpt-4", id: 1, attrs: map[string]any{"gen_ai.system": "openai"}, events: []eventSpec{
			{name: "gen_ai.system.message", attrs: map[string]any{"content": "sys"}},
			{name: "gen_ai.user.message", attrs: map[string]any{"content": "question"}},
			{name: "gen_ai.choice", attrs: map[string]any{"finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "answer"}}},
		}})))[0]
		expectAttrs(t, "events", span.Attributes(), map[string]any{
			"gen_ai.input.messages":  `[{"role":"system","parts":[{"type":"text","content":"sys"}]},{"role":"user","parts":[{"type":"text","content":"question"}]}]`,
			"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"answer"}],"finish_reason":"stop"}]`,
		})
	})
	t.Run("unparseable JSON source is flagged and left", func(t *testing.T) {
		span := runOne(t, nil, "ai.generateText.doGenerate", map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.prompt.messages": `[{"role":"user","content":`})
		expectAttrs(t, "bad", span.Attributes(), map[string]any{"aiops.malformed": []any{"messages_unparseable"}}, "gen_ai.input.messages")
	})
}

func TestStreamingAndErrors(t *testing.T) {
	cases := []struct {
		name   string
		spec   spanSpec
		want   map[string]any
		absent []string
	}{
		{"429 from HTTP status", spanSpec{name: "chat gpt-4o", attrs: map[string]any{"gen_ai.provider.name": "openai", "http.response.status_code": int64(429)}, status: ptrace.StatusCodeError},
			map[string]any{"error.type": "rate_limit", "aiops.error.category": "rate_limit"}, nil},
		{"context overflow in a 400 exception", spanSpec{name: "chat gpt-4o", attrs: map[string]any{"gen_ai.provider.name": "openai"}, status: ptrace.StatusCodeError,
			events: []eventSpec{{name: "exception", attrs: map[string]any{"exception.type": "BadRequestError", "exception.message": "400 This model's maximum context length is 128000 tokens"}}}},
			map[string]any{"error.type": "context_length_exceeded"}, nil},
		{"existing error.type is kept, category added", spanSpec{name: "chat gpt-4o", attrs: map[string]any{"gen_ai.provider.name": "openai", "error.type": "APIConnectionTimeoutError"}, status: ptrace.StatusCodeError},
			map[string]any{"error.type": "APIConnectionTimeoutError", "aiops.error.category": "timeout"}, nil},
		{"content filter from Azure message", spanSpec{name: "chat gpt-4o", attrs: map[string]any{"gen_ai.provider.name": "azure.ai.openai"}, status: ptrace.StatusCodeError, msg: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy"},
			map[string]any{"error.type": "content_filter"}, nil},
		{"unknown failure", spanSpec{name: "chat gpt-4o", attrs: map[string]any{"gen_ai.provider.name": "openai"}, status: ptrace.StatusCodeError, msg: "boom"},
			map[string]any{"error.type": "_OTHER"}, nil},
		{"success has no error", spanSpec{name: "chat gpt-4o", attrs: map[string]any{"gen_ai.provider.name": "openai", "http.response.status_code": int64(200)}},
			nil, []string{"error.type", "aiops.error.category"}},
		{"AI SDK stream", spanSpec{name: "ai.streamText.doStream", attrs: map[string]any{"ai.operationId": "ai.streamText.doStream", "ai.response.msToFirstChunk": 120.5}},
			map[string]any{"gen_ai.request.stream": true, "gen_ai.operation.name": "chat"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.id = 1
			span := spansOf(newHarness(t, nil).run(batchOf(t, c.spec)))[0]
			expectAttrs(t, c.name, span.Attributes(), c.want, c.absent...)
		})
	}
}

func TestTokenAccounting(t *testing.T) {
	cases := []struct {
		name   string
		in     map[string]any
		want   map[string]any
		absent []string
	}{
		{"Anthropic cache far above input is outside it, whatever the dialect",
			map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.model.provider": "anthropic.messages", "ai.model.id": "claude-sonnet-4-20250514", "ai.usage.inputTokens": int64(50), "ai.usage.outputTokens": int64(10), "ai.usage.cachedInputTokens": int64(2000)},
			map[string]any{"gen_ai.usage.input_tokens": int64(2050), "aiops.usage.reported.input_tokens": int64(50), "aiops.tokens.normalized": "cache_added_to_input", "aiops.tokens.basis": "cache_exceeds_input"}, nil},
		{"total decides: cache outside input",
			map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(10), "gen_ai.usage.cache_read.input_tokens": int64(100), "gen_ai.usage.cache_creation.input_tokens": int64(40), "gen_ai.usage.total_tokens": int64(200)},
			map[string]any{"gen_ai.usage.input_tokens": int64(190)}, nil},
		{"total decides: cache already inside",
			map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": int64(150), "gen_ai.usage.output_tokens": int64(10), "gen_ai.usage.cache_read.input_tokens": int64(100), "gen_ai.usage.total_tokens": int64(160)},
			map[string]any{"gen_ai.usage.input_tokens": int64(150), "aiops.tokens.normalized": "as_reported"}, []string{"aiops.usage.reported.input_tokens"}},
		{"OpenAI cache above input is impossible",
			map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(10), "gen_ai.usage.cache_read.input_tokens": int64(100)},
			map[string]any{"gen_ai.usage.input_tokens": int64(50), "aiops.malformed": []any{"token_cache_exceeds_input"}}, nil},
		{"Anthropic cache above input means separate",
			map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(10), "gen_ai.usage.cache_read.input_tokens": int64(100)},
			map[string]any{"gen_ai.usage.input_tokens": int64(150), "aiops.tokens.basis": "cache_exceeds_input"}, []string{"aiops.malformed"}},
		{"Gemini thoughts are added to output",
			map[string]any{"gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemini-2.5-pro", "gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(10), "gen_ai.usage.reasoning.output_tokens": int64(300)},
			map[string]any{"gen_ai.usage.output_tokens": int64(310), "aiops.usage.reported.output_tokens": int64(10), "aiops.tokens.normalized": "reasoning_added_to_output"}, nil},
		{"OpenAI reasoning is inside output",
			map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "o3", "gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(400), "gen_ai.usage.reasoning.output_tokens": int64(300)},
			map[string]any{"gen_ai.usage.output_tokens": int64(400), "aiops.tokens.normalized": "as_reported"}, nil},
		{"string counts become integers",
			map[string]any{"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": float64(3)},
			map[string]any{"gen_ai.usage.input_tokens": int64(12), "gen_ai.usage.output_tokens": int64(3)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			span := runOne(t, nil, "chat", c.in)
			expectAttrs(t, c.name, span.Attributes(), c.want, c.absent...)
		})
	}
}

// Libraries whose Anthropic counts need their profile: the numbers are a
// call of 200 input tokens (120 cache reads, 30 writes) and 25 output, as
// each library reported it in test/conformance's captures.
func TestTokenAccountingByLibrary(t *testing.T) {
	anth := func(in int64, extra map[string]any) map[string]any {
		m := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-3-5-haiku-latest",
			"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": int64(25), "gen_ai.usage.cache_read.input_tokens": int64(120)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		scope  string
		attrs  map[string]any
		want   map[string]any
		absent []string
	}{
		{"com.anthropic.sdk.typescript", anth(200, map[string]any{"gen_ai.usage.cache_write.input_tokens": int64(30)}),
			map[string]any{"gen_ai.usage.input_tokens": int64(200), "aiops.tokens.normalized": "as_reported"}, []string{"aiops.malformed"}},
		{"@openlit/instrumentation-anthropic", anth(50, map[string]any{"gen_ai.usage.cache_creation.input_tokens": int64(30)}),
			map[string]any{"gen_ai.usage.input_tokens": int64(200), "aiops.usage.reported.input_tokens": int64(50), "aiops.tokens.basis": "library_rule"}, nil},
		{"ai", map[string]any{"ai.operationId": "ai.generateText.doGenerate", "gen_ai.system": "anthropic.messages", "gen_ai.request.model": "claude-3-5-haiku-latest",
			"gen_ai.usage.input_tokens": int64(200), "gen_ai.usage.output_tokens": int64(25), "ai.usage.inputTokenDetails.cacheReadTokens": int64(120),
			"ai.usage.inputTokenDetails.cacheWriteTokens": int64(30), "ai.usage.totalTokens": int64(225)},
			map[string]any{"gen_ai.usage.input_tokens": int64(200), "gen_ai.usage.cache_read.input_tokens": int64(120), "aiops.tokens.normalized": "as_reported"}, nil},
		{"@opentelemetry/instrumentation-aws-sdk", map[string]any{"gen_ai.system": "aws.bedrock", "gen_ai.request.model": "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
			"gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(25)},
			map[string]any{"gen_ai.usage.input_tokens": int64(50), "aiops.usage.incomplete": "cache_not_reported"}, nil},
		{"some-other-library", anth(150, nil), // unknown library, cache under input: taken as reported
			map[string]any{"gen_ai.usage.input_tokens": int64(150)}, []string{"aiops.tokens.basis"}},
	} {
		t.Run(c.scope, func(t *testing.T) {
			span := spansOf(newHarness(t, nil).run(batchOf(t, spanSpec{name: "chat", id: 1, scope: c.scope, attrs: c.attrs})))[0]
			expectAttrs(t, c.scope, span.Attributes(), c.want, c.absent...)
		})
	}
}

func TestModelDrift(t *testing.T) {
	h := newHarness(t, nil)
	mk := func(id byte, req, resp, fp string) spanSpec {
		return spanSpec{name: "chat", id: id, attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": req, "gen_ai.response.model": resp, "openai.response.system_fingerprint": fp}}
	}
	spans := spansOf(h.run(batchOf(t,
		mk(1, "gpt-4o", "gpt-4o-2024-08-06", "fp_a"),
		mk(2, "gpt-4o-2024-05-13", "gpt-4o-2024-08-06", "fp_a"),
		mk(3, "gpt-4", "gpt-4o-2024-08-06", "fp_b"),
		mk(4, "gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "fp_b"),
	)))
	expectAttrs(t, "alias resolving is no drift", spans[0].Attributes(), map[string]any{"aiops.model.pinned": false}, "aiops.model.drift")
	expectAttrs(t, "snapshot", spans[1].Attributes(), map[string]any{"aiops.model.drift": []any{"snapshot_changed"}, "aiops.model.pinned": true})
	expectAttrs(t, "substituted", spans[2].Attributes(), map[string]any{"aiops.model.drift": []any{"model_substituted", "fingerprint_changed"}, "aiops.model.fingerprint_previous": "fp_a"})
	expectAttrs(t, "steady", spans[3].Attributes(), map[string]any{"aiops.model.family": "gpt-4o"}, "aiops.model.drift")
}

// metadata.yaml and the metrics the processor emits stay in step: every
// metric declared is emitted with its description, unit, kind and exactly
// its declared attributes, and nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
	cfg := quickConfig()
	h := newHarness(t, cfg)
	pl := h.pipelines()
	inner, outer := twoLayers()
	outer.attrs["gen_ai.input.messages"] = `[{"role":"user","parts":[{"type":"text","content":"mail jane.doe@example.com"}]}]`
	outer.attrs["gen_ai.usage.reasoning.output_tokens"] = int64(-1)
	outer.attrs["aiops.usage.duplicate_of"] = "forged" // a client's aiops.* key
	pl.sendTraces(t, batchOf(t, inner, outer, spanSpec{name: "GET /", id: 9, attrs: map[string]any{"http.route": "/"}}))
	pl.sendLogs(t, contentLogs(t, 42, userRecord))

	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	md.Check(t, telemetrytest.Collect(t, &rm, metadata.ScopeName))
}
