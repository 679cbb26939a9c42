package aiopsclickhouse

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
)

func startMetricsExporter(t *testing.T, cfg *Config) func(context.Context, pmetric.Metrics) error {
	t.Helper()
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return exp.ConsumeMetrics
}

var metricsDay = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// tokenUsage is what the official OpenTelemetry GenAI instrumentations
// send: gen_ai.client.token.usage, a histogram per token type, with the
// semantic conventions' advisory bucket boundaries.
func tokenUsage(md pmetric.Metrics, service string, temporality pmetric.AggregationTemporality, input, output []float64) {
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("@opentelemetry/instrumentation-openai")
	m := sm.Metrics().AppendEmpty()
	m.SetName("gen_ai.client.token.usage")
	m.SetUnit("{token}")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(temporality)
	bounds := []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	for _, c := range []struct {
		typ  string
		vals []float64
	}{{"input", input}, {"output", output}} {
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(metricsDay))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(metricsDay.Add(time.Minute)))
		a := dp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.system", "openai") // the deprecated name, as older instrumentations send
		a.PutStr("gen_ai.request.model", "gpt-4o")
		a.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
		a.PutStr("gen_ai.token.type", c.typ)
		a.PutStr("server.address", "api.openai.com")
		dp.ExplicitBounds().FromRaw(bounds)
		counts := make([]uint64, len(bounds)+1)
		sum, lo, hi := 0.0, math.Inf(1), 0.0
		for _, v := range c.vals {
			i := 0
			for i < len(bounds) && v > bounds[i] {
				i++
			}
			counts[i]++
			sum += v
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		dp.BucketCounts().FromRaw(counts)
		dp.SetCount(uint64(len(c.vals)))
		dp.SetSum(sum)
		dp.SetMin(lo)
		dp.SetMax(hi)
	}
	// Not a GenAI metric: counted and not stored.
	other := sm.Metrics().AppendEmpty()
	other.SetName("http.client.request.duration")
	other.SetEmptyHistogram().DataPoints().AppendEmpty().SetCount(1)
}

func TestGenAIMetricsStored(t *testing.T) {
	push := startMetricsExporter(t, testConfig("m1"))
	md := pmetric.NewMetrics()
	tokenUsage(md, "support-bot", pmetric.AggregationTemporalityDelta, []float64{1200, 800, 40}, []float64{300, 5})
	if err := push(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	rows, err := openStore(t).Query(context.Background(),
		"SELECT token_type, metric_name, temporality, service_name, workload, provider, request_model, response_model, operation, server_address, count, sum, min, max, bucket_counts FROM m1.genai_metrics ORDER BY token_type")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 2 {
		t.Fatalf("%d rows, want 2 (one per token type; the HTTP metric is not GenAI)", len(rows.Data))
	}
	// Hand arithmetic: input 1200+800+40 = 2040 over 3 calls, output 305 over 2.
	for i, w := range []struct {
		typ             string
		count           uint64
		sum, min, max   float64
		bucketsNonEmpty map[int]uint64
	}{
		{"input", 3, 2040, 40, 1200, map[int]uint64{3: 1, 5: 1, 6: 1}}, // 40 in (16,64], 800 in (256,1024], 1200 in (1024,4096]
		{"output", 2, 305, 5, 300, map[int]uint64{2: 1, 5: 1}},
	} {
		r := rows.Data[i]
		head := []any{w.typ, "gen_ai.client.token.usage", "delta", "support-bot", "support-bot", "openai", "gpt-4o", "gpt-4o-2024-08-06", "chat", "api.openai.com", w.count}
		for j, v := range head {
			if r[j] != v {
				t.Errorf("%s: %s = %#v, want %#v", w.typ, rows.Columns[j], r[j], v)
			}
		}
		for j, v := range []float64{w.sum, w.min, w.max} {
			if got := r[11+j].(*float64); got == nil || *got != v {
				t.Errorf("%s: %s = %v, want %v", w.typ, rows.Columns[11+j], got, v)
			}
		}
		counts := r[14].([]uint64)
		for b, c := range counts {
			if c != w.bucketsNonEmpty[b] {
				t.Errorf("%s: bucket %d = %d, want %d", w.typ, b, c, w.bucketsNonEmpty[b])
			}
		}
	}
}

func TestGenAIMetricsRetriedRequestStoredOnce(t *testing.T) {
	push := startMetricsExporter(t, testConfig("m2"))
	md := pmetric.NewMetrics()
	tokenUsage(md, "kb-rag", pmetric.AggregationTemporalityDelta, []float64{100}, []float64{10})
	for i := 0; i < 3; i++ {
		c := pmetric.NewMetrics()
		md.CopyTo(c)
		if err := push(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := openStore(t).Query(context.Background(), "SELECT count(), sum(sum) FROM m2.genai_metrics")
	if err != nil {
		t.Fatal(err)
	}
	if n, s := rows.Data[0][0].(uint64), *rows.Data[0][1].(*float64); n != 2 || s != 110 {
		t.Fatalf("after three deliveries of one request: %d rows summing %v, want 2 rows summing 110", n, s)
	}
}

func TestGenAIMetricsBadPointsCountedNotStored(t *testing.T) {
	push := startMetricsExporter(t, testConfig("m3"))
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	h := ms.AppendEmpty()
	h.SetName("gen_ai.client.operation.duration")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	good := hist.DataPoints().AppendEmpty()
	good.SetTimestamp(pcommon.NewTimestampFromTime(metricsDay))
	good.SetCount(2)
	good.SetSum(math.NaN()) // stored with sum NULL, flagged
	good.ExplicitBounds().FromRaw([]float64{1, 2})
	good.BucketCounts().FromRaw([]uint64{1, 1, 5}) // counts 7 != 2: buckets dropped, point kept
	noTime := hist.DataPoints().AppendEmpty()
	noTime.SetCount(1)
	absurd := hist.DataPoints().AppendEmpty()
	absurd.SetTimestamp(pcommon.NewTimestampFromTime(metricsDay))
	absurd.SetCount(1 << 60)
	ms.AppendEmpty().SetName("gen_ai.client.summary_of_nothing")
	ms.At(1).SetEmptySummary().DataPoints().AppendEmpty()
	if err := push(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	rows, err := openStore(t).Query(context.Background(),
		"SELECT count, sum IS NULL, length(bucket_counts) FROM m3.genai_metrics")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 1 {
		t.Fatalf("%d rows, want 1 (no time, an absurd count and a summary are skipped)", len(rows.Data))
	}
	if r := rows.Data[0]; r[0] != uint64(2) || r[1] != uint8(1) || r[2] != uint64(0) {
		t.Fatalf("row %#v: want count 2, sum NULL, no buckets", r)
	}
}

// The token look-up reads only the batch's own time range, a second wider;
// a time DateTime64(9) cannot hold exactly leaves it unbounded.
func TestTokenCheckTimeRange(t *testing.T) {
	b := newBuilder(genaiMetricsSchema, 2)
	col := b.s.col("timestamp")
	vs := b.cols[col].(*vals[time.Time])
	vs.v = append(vs.v, metricsDay.Add(time.Hour), metricsDay)
	lo, hi, ok := b.timeRange(col)
	if !ok || lo != metricsDay.Add(-time.Second).UnixNano() || hi != metricsDay.Add(time.Hour+time.Second).UnixNano() {
		t.Errorf("range %d..%d %v", lo, hi, ok)
	}
	vs.v = append(vs.v, time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, _, ok := b.timeRange(col); ok {
		t.Error("a time before 1900 still bounds the look-up")
	}
}

// An exponential histogram is stored with the explicit bounds its buckets
// stand for: at scale 0 and offset 0, bucket i covers (2^i, 2^(i+1)], and
// zero counts go below the first bound.
func TestExponentialHistogramAsExplicitBounds(t *testing.T) {
	push := startMetricsExporter(t, testConfig("m4"))
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gen_ai.client.operation.duration")
	h := m.SetEmptyExponentialHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(metricsDay))
	dp.SetScale(0)
	dp.SetZeroCount(1)
	dp.Positive().SetOffset(0)
	dp.Positive().BucketCounts().FromRaw([]uint64{1, 2})
	dp.SetCount(4)
	dp.SetSum(9)
	if err := push(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	rows, err := openStore(t).Query(context.Background(), "SELECT metric_type, count, bucket_bounds, bucket_counts FROM m4.genai_metrics")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 1 {
		t.Fatalf("%d rows, want 1", len(rows.Data))
	}
	r := rows.Data[0]
	bounds, counts := r[2].([]float64), r[3].([]uint64)
	if r[0] != "exponential_histogram" || r[1] != uint64(4) || fmt.Sprint(bounds) != "[1 2 4]" || fmt.Sprint(counts) != "[1 1 2 0]" {
		t.Errorf("row %v: want bounds [1 2 4], counts [1 1 2 0]", r)
	}
}
