package aitrace

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The fixtures are spans captured from real npm instrumentations against a
// mock OpenAI server (testdata/capture). Library versions are in each
// fixture's resource attribute aiops.fixture.libraries.

func byName(t *testing.T, td ptrace.Traces) map[string][]ptrace.Span {
	t.Helper()
	out := map[string][]ptrace.Span{}
	for _, sp := range spansOf(td) {
		out[sp.Name()] = append(out[sp.Name()], sp)
	}
	return out
}

// noRaw fails when any attribute or event attribute still holds one of the
// raw values the policy should have masked.
func noRaw(t *testing.T, td ptrace.Traces, raws ...string) {
	t.Helper()
	check := func(where string, m pcommon.Map) {
		for k, v := range m.All() {
			s := v.AsString()
			for _, raw := range raws {
				if strings.Contains(s, raw) {
					t.Errorf("%s: %s still holds %q", where, k, raw)
				}
			}
		}
	}
	for _, sp := range spansOf(td) {
		check(sp.Name(), sp.Attributes())
		for _, ev := range sp.Events().All() {
			check(sp.Name()+"/"+ev.Name(), ev.Attributes())
		}
	}
}

func usageTotal(td ptrace.Traces, key string) int64 {
	var n int64
	for _, sp := range spansOf(td) {
		if v, ok := sp.Attributes().Get(key); ok {
			n += v.Int()
		}
	}
	return n
}

func fixtureLibraries(t *testing.T, td ptrace.Traces) string {
	v, ok := td.ResourceSpans().At(0).Resource().Attributes().Get("aiops.fixture.libraries")
	if !ok {
		t.Fatal("fixture lacks aiops.fixture.libraries")
	}
	return v.Str()
}

func TestFixtureOfficialOpenAIInstrumentation(t *testing.T) {
	td := loadFixture(t, "official.json")
	if libs := fixtureLibraries(t, td); !strings.Contains(libs, "@opentelemetry/instrumentation-openai@") {
		t.Fatalf("unexpected libraries %q", libs)
	}
	h := newHarness(t, nil)
	out := h.run(td)
	spans := byName(t, out)
	chat := spans["chat gpt-4o-mini"]
	if len(chat) != 2 {
		t.Fatalf("want 2 chat spans, got %d", len(chat))
	}
	expectAttrs(t, "chat", chat[0].Attributes(), map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": int64(1201), "gen_ai.usage.output_tokens": int64(40),
		"aiops.model.pinned": false, "aiops.model.family": "gpt-4o-mini",
		"aiops.normalized": "semconv_legacy", "aiops.tokens.normalized": "as_reported",
	}, "aiops.usage.duplicate_of")
	emb := spans["embeddings text-embedding-3-small"][0]
	expectAttrs(t, "embeddings", emb.Attributes(), map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.usage.input_tokens": int64(8)})
	if got := usageTotal(out, "gen_ai.usage.input_tokens"); got != 1201+1202+8 {
		t.Fatalf("input tokens over the batch = %d", got)
	}
	if n := h.counter("aiops_aitrace_dialect_mapped", map[string]string{"dialect": "semconv_legacy"}); n != 3 {
		t.Fatalf("semconv_legacy mapped on %d spans", n)
	}
}

func TestFixtureOpenInference(t *testing.T) {
	td := loadFixture(t, "openinference.json")
	if libs := fixtureLibraries(t, td); !strings.Contains(libs, "@arizeai/openinference-instrumentation-openai@") {
		t.Fatalf("unexpected libraries %q", libs)
	}
	h := newHarness(t, nil)
	out := h.run(td)
	spans := byName(t, out)
	chat := spans["OpenAI Chat Completions"]
	first := chat[0].Attributes()
	expectAttrs(t, "chat", first, map[string]any{
		// llm.model_name holds the response snapshot; the request model is in
		// llm.invocation_parameters.
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
		"gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": int64(1201), "gen_ai.usage.output_tokens": int64(40), "gen_ai.usage.cache_read.input_tokens": int64(1024),
		"gen_ai.request.temperature": 0.2, "gen_ai.request.max_tokens": int64(200),
		"gen_ai.response.finish_reasons": []any{"stop"}, "aiops.content.captured": "redacted", "aiops.content.redaction": "masked",
		"aiops.policy.action": "mask",
	})
	if flags := flagsOf(first); len(flags) != 1 || flags[0] != "pii.email" {
		t.Fatalf("flags %v", flags)
	}
	in := jsonOf(t, first, "gen_ai.input.messages").([]any)
	if len(in) != 2 || !strings.Contains(toJSON(in[1]), "My email is [EMAIL]") {
		t.Fatalf("input messages %v", in)
	}
	if !strings.Contains(toJSON(jsonOf(t, first, "gen_ai.output.messages")), "Reach me at [EMAIL]") {
		t.Fatal("output email not masked")
	}
	// The raw request body, the flattened originals and the structured copy
	// are all masked: nothing leaves with the address.
	noRaw(t, out, "jane.doe@example.com", "help@example.com")
	expectAttrs(t, "stream", chat[1].Attributes(), map[string]any{"gen_ai.request.stream": true})
	expectAttrs(t, "embedding", spans["OpenAI Embeddings"][0].Attributes(), map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small"})
	if n := h.counter("aiops_aitrace_policy_hits", map[string]string{"detector": "pii.email", "action": "mask"}); n < 4 {
		t.Fatalf("email hits counted %d", n)
	}
}

func TestFixtureVercelAISDK(t *testing.T) {
	td := loadFixture(t, "vercel.json")
	if libs := fixtureLibraries(t, td); !strings.Contains(libs, "ai@") {
		t.Fatalf("unexpected libraries %q", libs)
	}
	h := newHarness(t, nil)
	out := h.run(td)
	spans := byName(t, out)
	calls := spans["ai.generateText.doGenerate"]
	wrapper := spans["ai.generateText"][0].Attributes()
	tool := spans["ai.toolCall"][0].Attributes()
	// Money is counted once: the wrapper's summed usage is moved aside.
	if got := usageTotal(out, "gen_ai.usage.input_tokens"); got != 1201+1202 {
		t.Fatalf("input tokens priced over the batch = %d, want %d", got, 1201+1202)
	}
	expectAttrs(t, "wrapper", wrapper, map[string]any{
		"aiops.usage.repeated.input_tokens": int64(2403), "aiops.usage.duplicate_reason": "framework_wrapper",
		"aiops.agent.tool_calls": int64(1), "user.id": "u-42",
	}, "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
	dupOf, _ := wrapper.Get("aiops.usage.duplicate_of")
	if dupOf.Str() != calls[0].SpanID().String() && dupOf.Str() != calls[1].SpanID().String() {
		t.Fatalf("duplicate_of %q is not a provider call", dupOf.Str())
	}
	expectAttrs(t, "call", calls[0].Attributes(), map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.response.finish_reasons": []any{"tool_calls"},
		"aiops.normalized": "semconv_legacy,vercel_ai",
	})
	jsonOf(t, calls[0].Attributes(), "gen_ai.output.messages")
	out0v, _ := calls[0].Attributes().Get("gen_ai.output.messages")
	out0 := out0v.Str()
	if !strings.Contains(out0, `"type":"tool_call","id":"call_w1","name":"get_weather","arguments":{"city":"Paris"}`) {
		t.Fatalf("tool call not structured: %s", out0)
	}
	expectAttrs(t, "tool", tool, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_w1", "gen_ai.tool.call.arguments": `{"city":"Paris"}`})
	noRaw(t, out, "415 555 2671", "help@example.com")
	if n := h.counter("aiops_aitrace_usage_duplicates", map[string]string{"reason": "framework_wrapper"}); n != 1 {
		t.Fatalf("duplicates counted %d", n)
	}
}
