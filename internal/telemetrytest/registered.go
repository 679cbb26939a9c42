package telemetrytest

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Recorder is a MeterProvider that records the instruments a component
// creates (name, description, unit and kind) and hands out no-op ones:
// for checking metadata.yaml against every metric a component registers,
// including those a test cannot easily make it emit.
type Recorder struct {
	noop.MeterProvider
	scope string
	Got   map[string]*Emitted
}

// NewRecorder records the instruments of the meter named scope (the
// component's; the collector's helpers register theirs on others).
func NewRecorder(scope string) *Recorder { return &Recorder{scope: scope, Got: map[string]*Emitted{}} }

// Meter returns a meter that records into r, for r's scope.
func (r *Recorder) Meter(name string, _ ...metric.MeterOption) metric.Meter {
	if name != r.scope {
		return noop.Meter{}
	}
	return recordingMeter{r: r}
}

func (r *Recorder) add(name, desc, unit, kind string) {
	r.Got[name] = &Emitted{Description: desc, Unit: unit, Kind: kind}
}

// recordingMeter records the instrument kinds our components use; one of
// another kind (a float up-down counter, say) is not recorded, so a check
// reports it as declared but not emitted rather than passing it by.
type recordingMeter struct {
	noop.Meter
	r *Recorder
}

func (m recordingMeter) Int64Counter(name string, o ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c := metric.NewInt64CounterConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "sum")
	return m.Meter.Int64Counter(name, o...)
}

func (m recordingMeter) Float64Counter(name string, o ...metric.Float64CounterOption) (metric.Float64Counter, error) {
	c := metric.NewFloat64CounterConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "sum")
	return m.Meter.Float64Counter(name, o...)
}

func (m recordingMeter) Int64UpDownCounter(name string, o ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	c := metric.NewInt64UpDownCounterConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "updown")
	return m.Meter.Int64UpDownCounter(name, o...)
}

func (m recordingMeter) Int64Histogram(name string, o ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	c := metric.NewInt64HistogramConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "histogram")
	return m.Meter.Int64Histogram(name, o...)
}

func (m recordingMeter) Float64Histogram(name string, o ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	c := metric.NewFloat64HistogramConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "histogram")
	return m.Meter.Float64Histogram(name, o...)
}

func (m recordingMeter) Int64Gauge(name string, o ...metric.Int64GaugeOption) (metric.Int64Gauge, error) {
	c := metric.NewInt64GaugeConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "gauge")
	return m.Meter.Int64Gauge(name, o...)
}

func (m recordingMeter) Float64Gauge(name string, o ...metric.Float64GaugeOption) (metric.Float64Gauge, error) {
	c := metric.NewFloat64GaugeConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "gauge")
	return m.Meter.Float64Gauge(name, o...)
}

func (m recordingMeter) Int64ObservableCounter(name string, o ...metric.Int64ObservableCounterOption) (metric.Int64ObservableCounter, error) {
	c := metric.NewInt64ObservableCounterConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "sum")
	return m.Meter.Int64ObservableCounter(name, o...)
}

func (m recordingMeter) Int64ObservableGauge(name string, o ...metric.Int64ObservableGaugeOption) (metric.Int64ObservableGauge, error) {
	c := metric.NewInt64ObservableGaugeConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "gauge")
	return m.Meter.Int64ObservableGauge(name, o...)
}

func (m recordingMeter) Float64ObservableGauge(name string, o ...metric.Float64ObservableGaugeOption) (metric.Float64ObservableGauge, error) {
	c := metric.NewFloat64ObservableGaugeConfig(o...)
	m.r.add(name, c.Description(), c.Unit(), "gauge")
	return m.Meter.Float64ObservableGauge(name, o...)
}

// CheckRegistered holds the instruments r recorded against md: every
// declared metric registered with its description, unit and kind, and
// nothing registered undeclared. Attributes are only known once emitted:
// Check covers them.
func (md *Metadata) CheckRegistered(t testingT, r *Recorder) {
	t.Helper()
	for _, p := range md.registeredProblems(r.Got) {
		t.Error(p)
	}
}
