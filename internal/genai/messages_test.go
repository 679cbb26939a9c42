package genai

import (
	"testing"
)

func TestPinnedModelAndFamily(t *testing.T) {
	cases := []struct {
		model  string
		pinned bool
		family string
	}{
		{"gpt-4o-2024-08-06", true, "gpt-4o"},
		{"gpt-4o", false, "gpt-4o"},
		{"gpt-4o-mini-2024-07-18", true, "gpt-4o-mini"},
		{"gpt-4-0613", true, "gpt-4"},
		{"gpt-4-1106-preview", true, "gpt-4"},
		{"ft:gpt-4o-mini-2024-07-18:acme::abc123", true, "gpt-4o-mini"},
		{"claude-3-5-sonnet-20241022", true, "claude-3-5-sonnet"},
		{"claude-3-5-sonnet-latest", false, "claude-3-5-sonnet"},
		{"claude-3-5-sonnet@20241022", true, "claude-3-5-sonnet"},
		{"claude-sonnet-4-5", false, "claude-sonnet-4-5"},
		{"us.anthropic.claude-3-5-sonnet-20241022-v2:0", true, "claude-3-5-sonnet"},
		{"amazon.titan-text-express-v1", true, "titan-text-express"},
		{"gemini-1.5-pro-002", true, "gemini-1.5-pro"},
		{"gemini-2.5-pro", false, "gemini-2.5-pro"},
		{"models/gemini-2.5-pro-preview-05-06", true, "gemini-2.5-pro"},
		{"mistral-large-2407", true, "mistral-large"},
		{"mistral-large-latest", false, "mistral-large"},
		{"command-r-08-2024", true, "command-r"},
		{"command-r", false, "command-r"},
		{"grok-2-1212", true, "grok-2"},
		{"gpt-4.1-mini", false, "gpt-4.1-mini"},
		{"llama3:8b", false, "llama3"},
		{"", false, ""},
	}
	for _, c := range cases {
		if got := PinnedModel(c.model); got != c.pinned {
			t.Errorf("PinnedModel(%q) = %v", c.model, got)
		}
		if got := ModelFamily(c.model); got != c.family {
			t.Errorf("ModelFamily(%q) = %q, want %q", c.model, got, c.family)
		}
	}
}

func TestParseMessagesShapes(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"openai request", `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
			`[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"hi"},{"type":"uri","uri":"data:image/png;base64,<omitted>"}]}]`},
		{"openai tool call and result", `[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}]`,
			`[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"sunny"}]}]`},
		{"ai sdk prompt", `{"system":"sys","prompt":"hello"}`,
			`[{"role":"system","parts":[{"type":"text","content":"sys"}]},{"role":"user","parts":[{"type":"text","content":"hello"}]}]`},
		{"ai sdk parts", `[{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c2","toolName":"t","input":{"a":1}}]},{"role":"tool","content":[{"type":"tool-result","toolCallId":"c2","toolName":"t","output":{"type":"json","value":2}}]}]`,
			`[{"role":"assistant","parts":[{"type":"tool_call","id":"c2","name":"t","arguments":{"a":1}}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"c2","response":{"type":"json","value":2}}]}]`},
		{"completion response", `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`,
			`[{"role":"assistant","parts":[{"type":"text","content":"ok"}],"finish_reason":"stop"}]`},
		{"semconv already", `[{"role":"user","parts":[{"type":"text","content":"x <b>"}]}]`,
			`[{"role":"user","parts":[{"type":"text","content":"x <b>"}]}]`},
	}
	for _, c := range cases {
		msgs, err := ParseMessages(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := EncodeMessages(msgs); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	for _, bad := range []string{``, `42`, `{"model":"m"}`, `[1,2]`, `{"messages":7}`, `[{"role":`} {
		if _, err := ParseMessages(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseMessages(f *testing.F) {
	for _, s := range []string{
		`[{"role":"user","content":"hi"}]`,
		`{"messages":[{"role":"tool","tool_call_id":"1","content":[{"type":"text","text":"x"}]}],"system":[{"type":"text","text":"s"}]}`,
		`{"choices":[{"message":{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{"}}]}}]}`,
		`"plain"`, `[{"role":"user","parts":[{"type":"tool_call","arguments":{"a":[1,2]}}]}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		msgs, err := ParseMessages(s)
		if err != nil {
			return
		}
		out := EncodeMessages(msgs)
		again, err := ParseMessages(out)
		if err != nil {
			t.Fatalf("re-parse of our own output failed: %v\n%s", err, out)
		}
		if len(again) != len(msgs) {
			t.Fatalf("round trip changed message count %d -> %d", len(msgs), len(again))
		}
	})
}
