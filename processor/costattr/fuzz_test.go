package costattr

import (
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzSpan feeds arbitrary usage, cost, model and attribution values through
// the processor with budgets and pseudonymization on: it must never panic,
// and a priced span's total must be a finite, non-negative USD amount.
func FuzzSpan(f *testing.F) {
	f.Add("gpt-4o", int64(1000), int64(200), int64(400), "0.01", "alice", 0.5, "batch")
	f.Add("", int64(-1), int64(math.MaxInt64), int64(math.MaxInt64), "NaN", "", math.Inf(1), "priority")
	f.Add("claude-sonnet-4-5-20250929", int64(5), int64(0), int64(50_000), "-3", "x\xff\x00", math.NaN(), "")
	f.Add("GPT-4O-2024-08-06", int64(1<<53), int64(1), int64(0), "1e400", "u", -1.0, "FLEX")
	cfg := defaultCfg()
	cfg.Attribution.Pseudonymize.Key = "0123456789abcdef0123"
	cfg.Budgets.Rules = []BudgetRuleConfig{{Name: "u", Key: "user:*", Window: "day", SoftUSD: 0.001}, {Name: "a", Key: "all", Window: "1h", HardUSD: 0.01}}
	h := newHarness(f, cfg)
	h.start(nil)
	f.Cleanup(h.stop)
	f.Fuzz(func(t *testing.T, model string, in, out, cached int64, cost, user string, dcost float64, tier string) {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(pcommon.SpanID{1})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(defaultStart))
		a := sp.Attributes()
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", model)
		a.PutInt("gen_ai.usage.input_tokens", in)
		a.PutStr("gen_ai.usage.output_tokens", cost) // a string where a count belongs
		a.PutInt("gen_ai.usage.cache_read.input_tokens", cached)
		a.PutInt("gen_ai.usage.reasoning.output_tokens", out)
		a.PutDouble("gen_ai.usage.cost", dcost)
		a.PutStr("llm.cost.total", cost)
		a.PutStr("user.id", user)
		a.PutStr("openai.request.service_tier", tier)
		if err := h.proc.ConsumeTraces(t.Context(), td); err != nil {
			t.Fatal(err)
		}
		// Whatever came in, gen_ai.usage.cost leaves as a valid USD amount or not at all.
		if v, ok := a.Get("gen_ai.usage.cost"); ok {
			x := v.Double()
			if v.Type() != pcommon.ValueTypeDouble || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				t.Fatalf("cost %v for %v", v.AsRaw(), a.AsRaw())
			}
		}
	})
}
