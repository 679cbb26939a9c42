package telemetrytest

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"
)

const declared = `
type: demo
attributes:
  reason: {enum: [a, b]}
  signal: {}
telemetry:
  metrics:
    demo_refused:
      description: Requests refused.
      unit: "{requests}"
      attributes: [reason, signal]
      sum: {monotonic: true}
    demo_in_flight:
      description: Requests in flight.
      unit: "{requests}"
      sum: {monotonic: false}
    demo_age:
      description: Age of the oldest request.
      unit: s
      gauge: {}
`

// emit records metrics the way a component would, through the SDK.
func emit(t *testing.T, f func(m metric.Meter)) map[string]*Emitted {
	reader := sdkmetric.NewManualReader()
	f(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("demo"))
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return Collect(t, &rm, "demo")
}

func TestCheckFindsEachMismatch(t *testing.T) {
	var md Metadata
	if err := yaml.Unmarshal([]byte(declared), &md); err != nil {
		t.Fatal(err)
	}
	inStep := func(m metric.Meter) {
		c, _ := m.Int64Counter("demo_refused", metric.WithDescription("Requests refused."), metric.WithUnit("{requests}"))
		c.Add(context.Background(), 2, metric.WithAttributes(attribute.String("reason", "a"), attribute.String("signal", "traces")))
		c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", "a"), attribute.String("signal", "traces")))
		u, _ := m.Int64UpDownCounter("demo_in_flight", metric.WithDescription("Requests in flight."), metric.WithUnit("{requests}"))
		u.Add(context.Background(), 0)
		g, _ := m.Float64Gauge("demo_age", metric.WithDescription("Age of the oldest request."), metric.WithUnit("s"))
		g.Record(context.Background(), 4)
	}
	got := emit(t, inStep)
	if p := md.problems(got); len(p) != 0 {
		t.Fatalf("metrics in step reported: %v", p)
	}
	if v := got["demo_refused"].Points["reason=a,signal=traces"]; v != 3 {
		t.Errorf("summed point %v, want 3", v)
	}
	for _, c := range []struct {
		name string
		emit func(m metric.Meter)
		want string
	}{
		{"undeclared metric", func(m metric.Meter) {
			c, _ := m.Int64Counter("demo_other")
			c.Add(context.Background(), 1)
		}, "demo_other is emitted but not declared"},
		{"value outside the enum", func(m metric.Meter) {
			c, _ := m.Int64Counter("demo_refused", metric.WithDescription("Requests refused."), metric.WithUnit("{requests}"))
			c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", "c"), attribute.String("signal", "logs")))
		}, "reason=c is not in metadata.yaml's enum"},
		{"missing attribute", func(m metric.Meter) {
			c, _ := m.Int64Counter("demo_refused", metric.WithDescription("Requests refused."), metric.WithUnit("{requests}"))
			c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", "a")))
		}, "demo_refused: emitted with attributes [reason], metadata.yaml declares [reason signal]"},
		{"undescribed attribute", func(m metric.Meter) {
			u, _ := m.Int64UpDownCounter("demo_in_flight", metric.WithDescription("Requests in flight."), metric.WithUnit("{requests}"))
			u.Add(context.Background(), 1, metric.WithAttributes(attribute.String("pod", "x")))
		}, "attribute pod is not described"},
		{"other description", func(m metric.Meter) {
			g, _ := m.Float64Gauge("demo_age", metric.WithDescription("Age."), metric.WithUnit("s"))
			g.Record(context.Background(), 1)
		}, `demo_age: code says "Age." "s"`},
		{"other kind", func(m metric.Meter) {
			c, _ := m.Int64Counter("demo_in_flight", metric.WithDescription("Requests in flight."), metric.WithUnit("{requests}"))
			c.Add(context.Background(), 1)
		}, "demo_in_flight: emitted as sum, metadata.yaml declares updown"},
	} {
		got := emit(t, func(m metric.Meter) { inStep(m); c.emit(m) })
		if c.name == "other kind" || c.name == "other description" {
			// The SDK keeps the first registration of a name: emit the
			// mismatching one alone beside the others.
			got = emit(t, c.emit)
			for name, e := range emit(t, inStep) {
				if got[name] == nil {
					got[name] = e
				}
			}
		}
		if p := strings.Join(md.problems(got), "\n"); !strings.Contains(p, c.want) {
			t.Errorf("%s: problems %q, want one containing %q", c.name, p, c.want)
		}
	}
	delete(got, "demo_age")
	if p := strings.Join(md.problems(got), "\n"); !strings.Contains(p, "demo_age is declared in metadata.yaml but not emitted") {
		t.Errorf("a metric not emitted: problems %q", p)
	}
}

func TestRecorderKeepsItsScope(t *testing.T) {
	var md Metadata
	if err := yaml.Unmarshal([]byte(declared), &md); err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder("demo")
	m := rec.Meter("demo")
	m.Int64Counter("demo_refused", metric.WithDescription("Requests refused."), metric.WithUnit("{requests}"))
	m.Int64UpDownCounter("demo_in_flight", metric.WithDescription("Requests in flight."), metric.WithUnit("{requests}"))
	m.Float64ObservableGauge("demo_age", metric.WithDescription("Age of the oldest request."), metric.WithUnit("ms"))
	rec.Meter("otherscope").Int64Counter("helper_items")
	got := strings.Join(md.registeredProblems(rec.Got), "\n")
	if want := `demo_age: code says "Age of the oldest request." "ms", metadata.yaml "Age of the oldest request." "s"`; got != want {
		t.Errorf("problems %q, want only %q", got, want)
	}
}
