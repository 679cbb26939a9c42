package costattr

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

// spanSpec describes one span of a test batch. IDs are single bytes so
// traces read easily: trace 1, span 2, parent 1.
type spanSpec struct {
	trace, id, parent byte
	start             time.Time
	attrs             map[string]any
}

type resourceSpec struct {
	attrs map[string]any
	scope map[string]any
	spans []spanSpec
}

// defaultStart is inside the validity of every built-in price.
var defaultStart = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func buildTraces(t testing.TB, resources ...resourceSpec) ptrace.Traces {
	t.Helper()
	td := ptrace.NewTraces()
	for _, r := range resources {
		rs := td.ResourceSpans().AppendEmpty()
		if err := rs.Resource().Attributes().FromRaw(r.attrs); err != nil {
			t.Fatal(err)
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("test")
		if err := ss.Scope().Attributes().FromRaw(r.scope); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.spans {
			sp := ss.Spans().AppendEmpty()
			sp.SetName("span")
			if s.trace != 0 {
				sp.SetTraceID(pcommon.TraceID{s.trace})
			}
			if s.id != 0 {
				sp.SetSpanID(pcommon.SpanID{s.id})
			}
			if s.parent != 0 {
				sp.SetParentSpanID(pcommon.SpanID{s.parent})
			}
			start := s.start
			if start.IsZero() {
				start = defaultStart
			}
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
			if err := sp.Attributes().FromRaw(s.attrs); err != nil {
				t.Fatal(err)
			}
		}
	}
	return td
}

// harness runs the processor as the collector would: through the factory,
// with observable telemetry and logs.
type harness struct {
	t    testing.TB
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
	proc processor.Traces
	sink *consumertest.TracesSink
	set  processor.Settings
}

func newHarness(t testing.TB, cfg *Config) *harness {
	t.Helper()
	h := &harness{t: t, tel: componenttest.NewTelemetry(), sink: new(consumertest.TracesSink)}
	core, logs := observer.New(zapcore.InfoLevel)
	h.logs = logs
	h.set = processortest.NewNopSettings(metadata.Type)
	h.set.TelemetrySettings = h.tel.NewTelemetrySettings()
	h.set.Logger = zap.New(core)
	p, err := NewFactory().CreateTraces(context.Background(), h.set, cfg, h.sink)
	if err != nil {
		t.Fatal(err)
	}
	h.proc = p
	t.Cleanup(func() { h.tel.Shutdown(context.Background()) })
	return h
}

func (h *harness) start(host component.Host) {
	h.t.Helper()
	if host == nil {
		host = componenttest.NewNopHost()
	}
	if err := h.proc.Start(context.Background(), host); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stop() {
	h.t.Helper()
	if err := h.proc.Shutdown(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// consume processes a batch and returns the spans as they left.
func (h *harness) consume(resources ...resourceSpec) []ptrace.Span {
	h.t.Helper()
	td := buildTraces(h.t, resources...)
	if err := h.proc.ConsumeTraces(context.Background(), td); err != nil {
		h.t.Fatal(err)
	}
	out := h.sink.AllTraces()[len(h.sink.AllTraces())-1]
	var spans []ptrace.Span
	for i := 0; i < out.ResourceSpans().Len(); i++ {
		ss := out.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			for k := 0; k < ss.At(j).Spans().Len(); k++ {
				spans = append(spans, ss.At(j).Spans().At(k))
			}
		}
	}
	return spans
}

// one processes a single span under resource res.
func (h *harness) one(res, attrs map[string]any) pcommon.Map {
	h.t.Helper()
	return h.consume(resourceSpec{attrs: res, spans: []spanSpec{{trace: 1, id: 1, attrs: attrs}}})[0].Attributes()
}

// sum returns a counter's value for the data point whose attributes include want.
func (h *harness) sum(name string, want map[string]string) (float64, bool) {
	h.t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0, false
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if hasAttrs(p.Attributes.ToSlice(), want) {
				return float64(p.Value), true
			}
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			if hasAttrs(p.Attributes.ToSlice(), want) {
				return p.Value, true
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if hasAttrs(p.Attributes.ToSlice(), want) {
				return float64(p.Value), true
			}
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			if hasAttrs(p.Attributes.ToSlice(), want) {
				return p.Value, true
			}
		}
	}
	return 0, false
}

func hasAttrs(kvs []attribute.KeyValue, want map[string]string) bool {
	n := 0
	for _, kv := range kvs {
		if w, ok := want[string(kv.Key)]; ok {
			if kv.Value.Emit() != w {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func str(m pcommon.Map, k string) string {
	v, ok := m.Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

func has(m pcommon.Map, k string) bool {
	_, ok := m.Get(k)
	return ok
}

// usdAttr reads a USD attribute exactly (as the exporter does) in picodollars.
func usdAttr(t testing.TB, m pcommon.Map, k string) pricing.Amount {
	t.Helper()
	v, ok := m.Get(k)
	if !ok {
		t.Fatalf("%s missing in %v", k, m.AsRaw())
	}
	a, ok := pricing.FromUSD(v.Double())
	if !ok {
		t.Fatalf("%s = %v is not a USD amount", k, v.AsRaw())
	}
	return a
}

func usd(t testing.TB, s string) pricing.Amount {
	t.Helper()
	a, err := pricing.ParseUSD(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func defaultCfg() *Config { return createDefaultConfig().(*Config) }
