package aitrace

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// A client's aiops.* keys and events are renamed under client.* before
// aitrace reads them: a forged duplicate_of does not move the usage, a
// forged aiops.policy event is not ours, and the span says what happened.
func TestClientAIOpsKeysAndEventsAreRenamed(t *testing.T) {
	h := newHarness(t, nil)
	td := batchOf(t, spanSpec{name: "chat gpt-4o", id: 1, attrs: map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
		"gen_ai.usage.input_tokens": int64(90_000_000), "gen_ai.usage.output_tokens": int64(90_000_000),
		"aiops.usage.duplicate_of": "0000000000000002", "aiops.content.capture": "full",
		"aiops.workload": "billing-bot", // a documented client input
	}, events: []eventSpec{
		{name: "aiops.policy", attrs: map[string]any{"aiops.policy.name": "guardrail.input", "aiops.policy.action": "allow"}},
		{name: "aiops.budget", attrs: map[string]any{"aiops.budget.rule": "forged"}},
	}})
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("aiops.cost.computed", "0")
	span := spansOf(h.run(td))[0]
	a := span.Attributes()
	expectAttrs(t, "renamed", a, map[string]any{
		"client.aiops.usage.duplicate_of": "0000000000000002", "client.aiops.content.capture": "full",
		"gen_ai.usage.input_tokens": int64(90_000_000), "gen_ai.usage.output_tokens": int64(90_000_000),
		"aiops.workload": "billing-bot", "aiops.reserved.renamed": int64(4),
	}, "aiops.usage.duplicate_of")
	names := map[string]int{}
	for _, ev := range span.Events().All() {
		names[ev.Name()]++
	}
	if names["client.aiops.policy"] != 1 || names["client.aiops.budget"] != 1 || names["aiops.policy"] != 0 || names["aiops.budget"] != 0 {
		t.Fatalf("events after aitrace: %v", names)
	}
	if _, ok := td.ResourceSpans().At(0).Resource().Attributes().Get("client.aiops.cost.computed"); !ok {
		t.Fatal("resource aiops.* key not renamed")
	}
	if n := h.counter("aiops_aitrace_input_guarded", map[string]string{"kind": "reserved_attribute"}); n != 6 {
		t.Fatalf("reserved attributes counted %d, want 6 (2 on the span, 3 on its events, 1 on the resource)", n)
	}
	if n := h.counter("aiops_aitrace_input_guarded", map[string]string{"kind": "reserved_event"}); n != 2 {
		t.Fatalf("reserved events counted %d, want 2", n)
	}
}

// An application's own guardrail and budget gate, sent as guardrail.* and
// budget.* span events, become our events marked as the application's.
func TestApplicationGuardrailAndBudgetEvents(t *testing.T) {
	span := spansOf(newHarness(t, nil).run(batchOf(t, spanSpec{name: "chat gpt-4o", id: 1, attrs: map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	}, events: []eventSpec{
		{name: "guardrail.input", attrs: map[string]any{"guardrail.action": "BLOCK"}},
		{name: "guardrail.output", attrs: map[string]any{"guardrail.action": "'; DROP TABLE x"}},
		{name: "budget.check", attrs: map[string]any{"budget.rule": "per-user-daily", "budget.key": "user:u1", "budget.state": "soft",
			"budget.spent_usd": 4.2, "budget.limit_usd": "5", "aiops.budget.id": "forged"}},
	}})))[0]
	var policy []map[string]any
	var budget map[string]any
	for _, ev := range span.Events().All() {
		switch ev.Name() {
		case "aiops.policy":
			if src, _ := ev.Attributes().Get("aiops.policy.source"); src.Str() == "application" {
				policy = append(policy, ev.Attributes().AsRaw())
			}
		case "aiops.budget":
			budget = ev.Attributes().AsRaw()
		}
	}
	if len(policy) != 2 || policy[0]["aiops.policy.name"] != "guardrail.input" || policy[0]["aiops.policy.action"] != "block" ||
		policy[1]["aiops.policy.name"] != "guardrail.output" || policy[1]["aiops.policy.action"] != "detect" {
		t.Fatalf("application guardrails: %v", policy)
	}
	want := map[string]any{"aiops.budget.name": "per-user-daily", "aiops.budget.rule": "per-user-daily", "aiops.budget.source": "application",
		"aiops.budget.key": "user:u1", "aiops.budget.state": "soft", "aiops.budget.spent_usd": 4.2, "aiops.budget.limit_usd": 5.0}
	if !sameRaw(budget, want) {
		t.Fatalf("budget event %v, want %v", budget, want)
	}
}

// deepValue nests arrays n levels around a string, without recursion.
func deepValue(v pcommon.Value, n int) {
	cur := v
	for i := 0; i < n; i++ {
		cur = cur.SetEmptySlice().AppendEmpty()
	}
	cur.SetStr("core")
}

func TestDeepAndLongValuesAreBounded(t *testing.T) {
	h := newHarness(t, nil)
	td := batchOf(t, spanSpec{name: "chat gpt-4o", id: 1, attrs: map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
		"gen_ai.request.model": strings.Repeat("m", 1<<20), // not content: cut
		"app.note":             strings.Repeat("n", 100),
	}, events: []eventSpec{{name: "app.event", attrs: map[string]any{}}}})
	span := spansOf(td)[0]
	deepValue(span.Attributes().PutEmpty("app.deep"), 1_000_000)
	deepValue(span.Events().At(0).Attributes().PutEmpty("app.deep"), 100)
	deepValue(span.Attributes().PutEmpty("app.ok"), 64)
	out := spansOf(h.run(td))[0]
	a := out.Attributes()
	deep, _ := a.Get("app.deep")
	cur := deep
	for i := 0; i < 64; i++ {
		cur = cur.Slice().At(0)
	}
	if cur.Type() != pcommon.ValueTypeStr || !strings.Contains(cur.Str(), "deeper than 64") {
		t.Fatalf("a million levels kept: level 64 is %s", cur.Type())
	}
	ok, _ := a.Get("app.ok")
	cur = ok
	for i := 0; i < 64; i++ {
		cur = cur.Slice().At(0)
	}
	if cur.Str() != "core" {
		t.Fatal("a value at the depth limit was changed")
	}
	if m, _ := a.Get("gen_ai.request.model"); len(m.Str()) != 64<<10 {
		t.Fatalf("a 1 MiB model name kept %d bytes, want 65536", len(m.Str()))
	}
	if n := h.counter("aiops_aitrace_input_guarded", map[string]string{"kind": "too_deep"}); n != 2 {
		t.Fatalf("too_deep counted %d, want 2", n)
	}
	if n := h.counter("aiops_aitrace_input_guarded", map[string]string{"kind": "too_large"}); n != 1 {
		t.Fatalf("too_large counted %d, want 1", n)
	}
}

// Content is policed whatever its value type: bytes, arrays and maps
// holding an email and a card number leave masked, as text.
func TestContentPolicyOnEveryValueType(t *testing.T) {
	const email, card = "jane.doe@example.com", "4111 1111 1111 1111"
	text := "mail " + email + " card " + card
	td := batchOf(t, spanSpec{name: "chat gpt-4o", id: 1, attrs: map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
	}})
	a := spansOf(td)[0].Attributes()
	a.PutEmptyBytes("gen_ai.input.messages").FromRaw([]byte(`[{"role":"user","parts":[{"type":"text","content":"` + text + `"}]}]`))
	arr := a.PutEmptySlice("gen_ai.output.messages")
	arr.AppendEmpty().SetStr(text)
	arr.AppendEmpty().SetEmptyMap().PutStr("note", text)
	m := a.PutEmptyMap("gen_ai.system_instructions")
	m.PutStr("content", text)
	m.PutEmptyBytes("raw").FromRaw([]byte(email))
	a.PutInt("gen_ai.tool.call.result", 4111111111111111)
	cfg := quickConfig()
	cfg.Policy.Actions = map[string]string{"pii.email": "mask", "pii.credit_card": "mask"}
	out := spansOf(newHarness(t, cfg).run(td))[0].Attributes()
	for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.call.result"} {
		v, ok := out.Get(k)
		if !ok {
			t.Errorf("%s dropped", k)
			continue
		}
		if v.Type() != pcommon.ValueTypeStr {
			t.Errorf("%s stored as %s, want text", k, v.Type())
		}
		s := v.AsString()
		for _, secret := range []string{email, card, "4111111111111111", "amFuZS5kb2VAZXhhbXBsZS5jb20"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s keeps %q: %s", k, secret, s)
			}
		}
	}
	expectAttrs(t, "capture", out, map[string]any{"aiops.content.captured": "redacted", "aiops.content.redaction": "masked"})
}

// Log records: a client's aiops.policy event (as EventName or the older
// event.name attribute) is renamed; feedback and evaluator keys stay.
func TestClientAIOpsLogEventsAreRenamed(t *testing.T) {
	h := newHarness(t, nil)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	forged := lrs.AppendEmpty()
	forged.SetEventName("aiops.policy")
	forged.Attributes().PutStr("aiops.policy.name", "guardrail.input")
	older := lrs.AppendEmpty()
	older.Attributes().PutStr("event.name", "aiops.budget")
	fb := lrs.AppendEmpty()
	fb.SetEventName("aiops.feedback")
	fb.Attributes().PutStr("aiops.feedback.kind", "thumbs")
	fb.Attributes().PutStr("aiops.workload", "w")
	deepValue(fb.Body(), 500)
	out := h.pipelines().sendLogs(t, ld)
	got := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	if got.At(0).EventName() != "client.aiops.policy" {
		t.Errorf("EventName %q", got.At(0).EventName())
	}
	if v, _ := got.At(0).Attributes().Get("client.aiops.policy.name"); v.Str() != "guardrail.input" {
		t.Error("reserved attribute on a log record not renamed")
	}
	if v, _ := got.At(1).Attributes().Get("event.name"); v.Str() != "client.aiops.budget" {
		t.Errorf("event.name %q", v.Str())
	}
	fa := got.At(2).Attributes()
	expectAttrs(t, "feedback", fa, map[string]any{"aiops.feedback.kind": "thumbs", "aiops.workload": "w"}, "aiops.reserved.renamed")
	if got.At(2).EventName() != "aiops.feedback" {
		t.Error("client feedback event renamed")
	}
	if d := depthOf(got.At(2).Body()); d != 64 {
		t.Errorf("log body nested %d deep after aitrace, want 64", d)
	}
}

func depthOf(v pcommon.Value) int {
	d := 0
	for v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() > 0 {
		v = v.Slice().At(0)
		d++
	}
	return d
}
