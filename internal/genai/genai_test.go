package genai

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestIsGenAI(t *testing.T) {
	cases := []struct {
		keys []string
		want bool
	}{
		{[]string{"http.route", "http.request.method"}, false},
		{[]string{"gen_ai.request.model"}, true},
		{[]string{"llm.model_name"}, true},
		{[]string{"openinference.span.kind"}, true},
		{[]string{"ai.model.id"}, true},
		{[]string{"ai.telemetry.metadata.userId"}, false},
		{[]string{"langfuse.observation.type"}, true},
		{[]string{"gen_ai"}, false},
		{nil, false},
	}
	for _, c := range cases {
		m := pcommon.NewMap()
		for _, k := range c.keys {
			m.PutStr(k, "x")
		}
		if got := IsGenAI(m); got != c.want {
			t.Errorf("%v: got %v want %v", c.keys, got, c.want)
		}
	}
}

func TestIsPinnedModel(t *testing.T) {
	for model, want := range map[string]bool{
		"gpt-4o-2024-08-06":                         true,
		"claude-3-5-sonnet-20241022":                true,
		"claude-3-5-sonnet@20241022":                true,
		"gemini-1.5-pro-002":                        true,
		"anthropic.claude-3-5-sonnet-20241022-v2:0": true,
		"gpt-4o":                   false,
		"claude-3-5-sonnet-latest": false,
		"gemini-2.5-pro":           false,
		"gpt-4.1-mini":             false,
		"":                         false,
	} {
		if got := IsPinnedModel(model); got != want {
			t.Errorf("%s: got %v want %v", model, got, want)
		}
	}
}
