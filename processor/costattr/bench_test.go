package costattr

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/internal/attrslab"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

// benchModels are 50 chat models of the built-in catalog. The benchmark's
// calls stay below every context-tier threshold, so one OTTL expression of
// the standard rates per model computes the same cost as costattr.
func benchModels(tb testing.TB) []*pricing.Price {
	cat, err := pricing.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	var out []*pricing.Price
	seen := map[string]bool{}
	for _, p := range cat.Prices() {
		if p.Mode != "chat" || seen[p.Model] || p.Rates.Request > 0 {
			continue
		}
		seen[p.Model] = true
		out = append(out, p)
		if len(out) == 50 {
			return out
		}
	}
	tb.Fatalf("only %d models", len(out))
	return nil
}

const spansPerBatch = 100

// collectUntimed runs a garbage collection between timed rounds, so that a
// round is not charged for the batch copies or for the other processor's
// garbage. A round's own garbage is then mostly collected between rounds
// too, for every processor alike. AIOPS_BENCH_GC=natural leaves GC alone.
func collectUntimed() {
	if os.Getenv("AIOPS_BENCH_GC") != "natural" {
		runtime.GC()
	}
}

// benchBatch is a realistic OTLP request: one resource, 100 GenAI chat
// spans with semconv usage and the attribution keys an app sets.
func benchBatch(models []*pricing.Price) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "support-bot")
	rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai")
	for i := 0; i < spansPerBatch; i++ {
		m := models[i%len(models)]
		sp := ss.Spans().AppendEmpty()
		sp.SetName("chat " + m.Model)
		sp.SetTraceID(pcommon.TraceID{byte(i), 1})
		sp.SetSpanID(pcommon.SpanID{byte(i), 2})
		sp.SetParentSpanID(pcommon.SpanID{byte(i), 1})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(defaultStart))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(defaultStart.Add(1200e6)))
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", m.Provider)
		a.PutStr("gen_ai.request.model", m.Model)
		a.PutStr("gen_ai.response.id", "chatcmpl-8a7b6c5d4e3f")
		a.PutStr("server.address", "api.example.com")
		a.PutInt("gen_ai.usage.input_tokens", 1200+int64(i))
		a.PutInt("gen_ai.usage.cache_read.input_tokens", 400)
		a.PutInt("gen_ai.usage.output_tokens", 250)
		a.PutStr("user.id", fmt.Sprintf("user-%d", i%17))
		a.PutStr("traceloop.association.properties.tenant_id", "acme")
	}
	return td
}

// ottlStatements prices each model as costattr does: non-cached input,
// cached input and output at the model's per-token rates.
func ottlStatements(models []*pricing.Price) []any {
	perToken := func(a pricing.Amount) string { // USD per 1M tokens -> per token
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.18f", a.USD()/1e6), "0"), ".")
	}
	var st []any
	for _, m := range models {
		cr := m.Rates.CacheRead
		if cr == pricing.Unset {
			cr = m.Rates.Input
		}
		st = append(st, fmt.Sprintf(`set(attributes["gen_ai.usage.cost"], (attributes["gen_ai.usage.input_tokens"] - attributes["gen_ai.usage.cache_read.input_tokens"]) * %s + attributes["gen_ai.usage.cache_read.input_tokens"] * %s + attributes["gen_ai.usage.output_tokens"] * %s) where attributes["gen_ai.request.model"] == %q`,
			perToken(m.Rates.Input), perToken(cr), perToken(m.Rates.Output), m.Model))
	}
	return st
}

func newTransform(tb testing.TB, models []*pricing.Price, next consumer.Traces) processor.Traces {
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	conf := confmap.NewFromStringMap(map[string]any{
		"error_mode":       "ignore",
		"trace_statements": []any{map[string]any{"context": "span", "statements": ottlStatements(models)}},
	})
	if err := conf.Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newCostattr(tb testing.TB, next consumer.Traces) processor.Traces {
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), next)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// runPerSpan feeds fresh copies of the batch (copying is not timed) and
// reports ns and allocations per span.
// refill gives every batch a fresh copy of template, outside the timer.
func refill(b *testing.B, batches []ptrace.Traces, template ptrace.Traces) {
	b.StopTimer()
	for i := range batches {
		batches[i] = ptrace.NewTraces()
		template.CopyTo(batches[i])
	}
	collectUntimed()
	b.StartTimer()
}

func runPerSpan(b *testing.B, p processor.Traces, template ptrace.Traces, mutates bool) {
	const round = 32 // batches prepared per timer stop
	ctx := context.Background()
	if err := p.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown(ctx)
	batches := make([]ptrace.Traces, round)
	b.ReportAllocs()
	b.ResetTimer()
	spans := 0
	for spans < b.N {
		// A processor that leaves batches as they are gets the same ones
		// again: re-copying them untimed (with a GC and a stop-the-world
		// per round) took minutes for a nanosecond-per-span baseline.
		if spans == 0 || mutates {
			refill(b, batches, template)
		}
		for i := 0; i < round && spans < b.N; i++ {
			if err := p.ConsumeTraces(ctx, batches[i]); err != nil {
				b.Fatal(err)
			}
			spans += spansPerBatch
		}
	}
}

// BenchmarkPricedSpan measures a priced GenAI span with attribution, one op
// per span, through the collector's processor wrapper; and contrib's
// transformprocessor computing the same cost with one OTTL statement per
// model for 50 models. Run both in one invocation:
//
//	go test ./processor/costattr/ -run '^$' -bench BenchmarkPricedSpan -benchtime 2000000x -count 5
func BenchmarkPricedSpan(b *testing.B) {
	models := benchModels(b)
	template := benchBatch(models)
	// The harness alone: the same batches through a processor that does
	// nothing, i.e. the collector wrapper and the garbage of the copies.
	b.Run("baseline_noop", func(b *testing.B) {
		p, err := processorhelper.NewTraces(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop(),
			func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) { return td, nil })
		if err != nil {
			b.Fatal(err)
		}
		runPerSpan(b, p, template, false)
	})
	b.Run("costattr", func(b *testing.B) {
		runPerSpan(b, newCostattr(b, consumertest.NewNop()), template, true)
	})
	// The same with two budget rules (each user per day, everything per rolling 6h).
	b.Run("costattr_with_budgets", func(b *testing.B) {
		cfg := createDefaultConfig().(*Config)
		cfg.Budgets.Rules = []BudgetRuleConfig{
			{Name: "user-daily", Key: "user:*", Window: "day", SoftUSD: 1e6},
			{Name: "all-6h", Key: "all", Window: "6h", HardUSD: 1e6},
		}
		p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		runPerSpan(b, p, template, true)
	})
	b.Run("transform_ottl_50_models", func(b *testing.B) {
		runPerSpan(b, newTransform(b, models, consumertest.NewNop()), template, true)
	})
}

// BenchmarkPricedSpanInterleaved runs the two processors on alternating
// rounds of the same batches, so both see the same machine load (the
// development VM is shared). It reports ns and allocations per span for each,
// and the ratio. b.N counts spans per processor.
func BenchmarkPricedSpanInterleaved(b *testing.B) {
	models := benchModels(b)
	template := benchBatch(models)
	ctx := context.Background()
	procs := []processor.Traces{newCostattr(b, consumertest.NewNop()), newTransform(b, models, consumertest.NewNop())}
	for _, p := range procs {
		if err := p.Start(ctx, componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		defer p.Shutdown(ctx)
	}
	const round = 16
	var elapsed [2]time.Duration
	var mallocs [2]uint64
	batches := make([]ptrace.Traces, round)
	var ms runtime.MemStats
	// The timer runs through copies and collections too, so that -benchtime
	// bounds the run; only the per-processor clocks above are reported.
	b.ResetTimer()
	spans := 0
	for spans < b.N {
		for pi, p := range procs {
			for i := range batches {
				batches[i] = ptrace.NewTraces()
				template.CopyTo(batches[i])
			}
			collectUntimed() // no GC debt carried from the other processor's round
			runtime.ReadMemStats(&ms)
			before := ms.Mallocs
			start := time.Now()
			for i := range batches {
				if err := p.ConsumeTraces(ctx, batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			elapsed[pi] += time.Since(start)
			runtime.ReadMemStats(&ms)
			mallocs[pi] += ms.Mallocs - before
		}
		spans += round * spansPerBatch
	}
	n := float64(spans)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(elapsed[0].Nanoseconds())/n, "costattr-ns/span")
	b.ReportMetric(float64(mallocs[0])/n, "costattr-allocs/span")
	b.ReportMetric(float64(elapsed[1].Nanoseconds())/n, "ottl50-ns/span")
	b.ReportMetric(float64(mallocs[1])/n, "ottl50-allocs/span")
	b.ReportMetric(float64(elapsed[1])/float64(elapsed[0]), "speedup")
}

// BenchmarkAttributeWritesFloor writes the same ten attributes costattr
// writes on the benchmark's spans, with nothing else. "pdata" is the public
// API: one allocation per value, plus one to grow the attribute slice.
// "attrslab" is what costattr uses: the growth only.
func BenchmarkAttributeWritesFloor(b *testing.B) {
	template := benchBatch(benchModels(b))
	var w attrslab.Writer
	for _, c := range []struct {
		name   string
		str    func(m pcommon.Map, k, v string)
		double func(m pcommon.Map, k string, v float64)
	}{
		{"pdata", pcommon.Map.PutStr, pcommon.Map.PutDouble},
		{"attrslab", w.PutStr, w.PutDouble},
	} {
		b.Run(c.name, func(b *testing.B) {
			batches := make([]ptrace.Traces, 32)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				refill(b, batches, template)
				for i := 0; i < len(batches) && n < b.N; i++ {
					sp := batches[i].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
					for k := 0; k < sp.Len(); k++ {
						a := sp.At(k).Attributes()
						a.EnsureCapacity(a.Len() + 12)
						c.str(a, "aiops.user.id", "user-1")
						c.str(a, "aiops.tenant.id", "acme")
						c.str(a, "aiops.workload", "support-bot")
						c.double(a, "gen_ai.usage.cost", 0.004)
						c.double(a, "aiops.cost.input", 0.002)
						c.double(a, "aiops.cost.cached_input", 0.001)
						c.double(a, "aiops.cost.output", 0.001)
						c.str(a, "aiops.cost.source", "computed")
						c.str(a, "aiops.price.id", "openai/gpt-4o@2026-07-24")
						c.str(a, "aiops.price.catalog", "builtin-2026-07-24")
					}
					n += sp.Len()
				}
			}
		})
	}
}

// TestBenchmarkComputesTheSameCost checks the comparison is fair: the OTTL
// statements compute the cost costattr computes, to float precision.
func TestBenchmarkComputesTheSameCost(t *testing.T) {
	models := benchModels(t)
	if len(ottlStatements(models)) != 50 {
		t.Fatal("want 50 statements")
	}
	a, b := new(consumertest.TracesSink), new(consumertest.TracesSink)
	ca, tr := newCostattr(t, a), newTransform(t, models, b)
	ctx := context.Background()
	if err := ca.ConsumeTraces(ctx, benchBatch(models)); err != nil {
		t.Fatal(err)
	}
	if err := tr.ConsumeTraces(ctx, benchBatch(models)); err != nil {
		t.Fatal(err)
	}
	sa := a.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	sb := b.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < sa.Len(); i++ {
		x, _ := sa.At(i).Attributes().Get("gen_ai.usage.cost")
		y, ok := sb.At(i).Attributes().Get("gen_ai.usage.cost")
		if !ok || math.Abs(x.Double()-y.Double()) > 1e-12 {
			t.Fatalf("span %d (%s): costattr %v, OTTL %v", i, sa.At(i).Name(), x.AsRaw(), y.AsRaw())
		}
		if u, _ := sa.At(i).Attributes().Get("aiops.user.id"); u.Str() == "" {
			t.Fatalf("span %d not attributed", i)
		}
	}
}

// TestPricedSpanAllocations guards the benchmark's target of at most 3
// allocations per priced span.
func TestPricedSpanAllocations(t *testing.T) {
	if !attrslab.Enabled() {
		t.Skipf("attrslab off: %v", attrslab.Disabled())
	}
	const runs = 20
	template := benchBatch(benchModels(t))
	batches := make([]ptrace.Traces, runs+1) // AllocsPerRun warms up once
	for i := range batches {
		batches[i] = ptrace.NewTraces()
		template.CopyTo(batches[i])
	}
	p := newCostattr(t, consumertest.NewNop())
	ctx := context.Background()
	i := 0
	allocs := testing.AllocsPerRun(runs, func() {
		if err := p.ConsumeTraces(ctx, batches[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if perSpan := allocs / spansPerBatch; perSpan > 3 {
		t.Fatalf("%.2f allocations per span, want ≤ 3", perSpan)
	}
}
