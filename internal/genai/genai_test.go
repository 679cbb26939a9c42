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

func TestCountAndNumber(t *testing.T) {
	cases := []struct {
		v       any
		n       int64
		problem string
	}{
		{int64(12), 12, ""}, {float64(300), 300, ""}, {" 42 ", 42, ""}, {"4.5", 0, NotInteger},
		{float64(2.5), 0, NotInteger}, {int64(-1), 0, Negative}, {"-7", 0, Negative}, {true, 0, WrongType},
		{float64(1e300), 0, NotInteger},
	}
	for _, c := range cases {
		v := pcommon.NewValueEmpty()
		if err := v.FromRaw(c.v); err != nil {
			t.Fatal(err)
		}
		if n, p := Count(v); n != c.n || p != c.problem {
			t.Errorf("Count(%#v) = %d %q, want %d %q", c.v, n, p, c.n, c.problem)
		}
	}
	for raw, ok := range map[any]bool{float64(0.5): true, int64(3): true, "1": false} {
		v := pcommon.NewValueEmpty()
		v.FromRaw(raw)
		if _, got := Number(v); got != ok {
			t.Errorf("Number(%#v) ok = %v", raw, got)
		}
	}
}
