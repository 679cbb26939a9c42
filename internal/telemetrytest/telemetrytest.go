// Package telemetrytest holds a component's metadata.yaml against the
// metrics its code emits, for the components' tests.
package telemetrytest

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"
)

// Metadata is what a metadata.yaml declares about a component's telemetry.
type Metadata struct {
	Type       string               `yaml:"type"`
	Attributes map[string]Attribute `yaml:"attributes"`
	Telemetry  struct {
		Metrics map[string]Metric `yaml:"metrics"`
	} `yaml:"telemetry"`
}

// Attribute is a declared metric attribute; Enum, when given, lists every
// value it may take.
type Attribute struct {
	Enum []string `yaml:"enum"`
}

// Metric is a declared metric.
type Metric struct {
	Description string   `yaml:"description"`
	Unit        string   `yaml:"unit"`
	Attributes  []string `yaml:"attributes"`
	Sum         *struct {
		Monotonic bool `yaml:"monotonic"`
	} `yaml:"sum"`
	Gauge     map[string]any `yaml:"gauge"`
	Histogram map[string]any `yaml:"histogram"`
}

func (m Metric) kind() string {
	switch {
	case m.Sum != nil && m.Sum.Monotonic:
		return "sum"
	case m.Sum != nil:
		return "updown"
	case m.Gauge != nil:
		return "gauge"
	case m.Histogram != nil:
		return "histogram"
	}
	return "undeclared"
}

// Load reads metadata.yaml in the test's directory and checks that it
// names the component type the code registers.
func Load(t testing.TB, componentType string) *Metadata {
	t.Helper()
	raw, err := os.ReadFile("metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var md Metadata
	if err := yaml.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	if md.Type != componentType {
		t.Errorf("metadata.yaml type %q, code %q", md.Type, componentType)
	}
	return &md
}

// Emitted is one metric as the SDK collected it.
type Emitted struct {
	Description, Unit string
	Kind              string // sum, updown, gauge or histogram
	// Points are the values by encoded attribute set ("k=v,k2=v2"): a
	// sum's total, a gauge's last value, a histogram's count.
	Points map[string]float64
	values map[string]map[string]bool // attribute key → values seen
	sets   map[string]bool            // each point's attribute keys, joined
}

// Keys are the attribute keys the metric was emitted with.
func (e *Emitted) Keys() []string {
	out := make([]string, 0, len(e.values))
	for k := range e.values {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keySet(keys []string) string { return strings.Join(keys, ",") }

// Collect gathers the metrics of scope from rm.
func Collect(t testing.TB, rm *metricdata.ResourceMetrics, scope string) map[string]*Emitted {
	t.Helper()
	var ms []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == scope {
			ms = append(ms, sm.Metrics...)
		}
	}
	return Metrics(t, ms)
}

// Metrics gathers ms by name.
func Metrics(t testing.TB, ms []metricdata.Metrics) map[string]*Emitted {
	t.Helper()
	out := map[string]*Emitted{}
	for _, m := range ms {
		e := &Emitted{Description: m.Description, Unit: m.Unit, Points: map[string]float64{}, values: map[string]map[string]bool{}, sets: map[string]bool{}}
		point := func(set attribute.Set, v float64, add bool) {
			var keys []string
			for _, kv := range set.ToSlice() {
				keys = append(keys, string(kv.Key))
				k := string(kv.Key)
				if e.values[k] == nil {
					e.values[k] = map[string]bool{}
				}
				e.values[k][kv.Value.Emit()] = true
			}
			e.sets[keySet(keys)] = true // ToSlice is sorted by key
			key := set.Encoded(attribute.DefaultEncoder())
			if add {
				e.Points[key] += v
			} else {
				e.Points[key] = v
			}
		}
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			e.Kind = sums(d, point)
		case metricdata.Sum[float64]:
			e.Kind = sums(d, point)
		case metricdata.Gauge[int64]:
			e.Kind = gauges(d, point)
		case metricdata.Gauge[float64]:
			e.Kind = gauges(d, point)
		case metricdata.Histogram[int64]:
			e.Kind = histograms(d, point)
		case metricdata.Histogram[float64]:
			e.Kind = histograms(d, point)
		default:
			t.Errorf("%s: unexpected data %T", m.Name, m.Data)
		}
		out[m.Name] = e
	}
	return out
}

// pointFunc takes one data point: its attributes, value, and whether
// values of one attribute set add up.
type pointFunc func(set attribute.Set, v float64, add bool)

func sums[N int64 | float64](d metricdata.Sum[N], point pointFunc) string {
	for _, dp := range d.DataPoints {
		point(dp.Attributes, float64(dp.Value), true)
	}
	if d.IsMonotonic {
		return "sum"
	}
	return "updown"
}

func gauges[N int64 | float64](d metricdata.Gauge[N], point pointFunc) string {
	for _, dp := range d.DataPoints {
		point(dp.Attributes, float64(dp.Value), false)
	}
	return "gauge"
}

func histograms[N int64 | float64](d metricdata.Histogram[N], point pointFunc) string {
	for _, dp := range d.DataPoints {
		point(dp.Attributes, float64(dp.Count), true)
	}
	return "histogram"
}

// Check holds got against md: every declared metric is emitted with its
// description, unit and kind and exactly its declared attributes; every
// attribute is declared, with a value its enum lists when it has one; and
// nothing undeclared is emitted.
func (md *Metadata) Check(t testingT, got map[string]*Emitted) {
	t.Helper()
	for _, p := range md.problems(got) {
		t.Error(p)
	}
}

// testingT is what the checks need of a test.
type testingT interface {
	Helper()
	Error(args ...any)
}

// registeredProblems compares names, descriptions, units and kinds.
func (md *Metadata) registeredProblems(got map[string]*Emitted) []string {
	var out []string
	for name, decl := range md.Telemetry.Metrics {
		e, ok := got[name]
		if !ok {
			out = append(out, fmt.Sprintf("%s is declared in metadata.yaml but not emitted", name))
			continue
		}
		if e.Description != decl.Description || e.Unit != decl.Unit {
			out = append(out, fmt.Sprintf("%s: code says %q %q, metadata.yaml %q %q", name, e.Description, e.Unit, decl.Description, decl.Unit))
		}
		if e.Kind != decl.kind() {
			out = append(out, fmt.Sprintf("%s: emitted as %s, metadata.yaml declares %s", name, e.Kind, decl.kind()))
		}
	}
	for name := range got {
		if _, ok := md.Telemetry.Metrics[name]; !ok {
			out = append(out, fmt.Sprintf("%s is emitted but not declared in metadata.yaml", name))
		}
	}
	sort.Strings(out)
	return out
}

func (md *Metadata) problems(got map[string]*Emitted) []string {
	out := md.registeredProblems(got)
	for name, decl := range md.Telemetry.Metrics {
		e, ok := got[name]
		if !ok {
			continue
		}
		want := slices.Clone(decl.Attributes)
		sort.Strings(want)
		for set := range e.sets {
			if set != keySet(want) {
				out = append(out, fmt.Sprintf("%s: emitted with attributes [%s], metadata.yaml declares %v", name, strings.ReplaceAll(set, ",", " "), want))
			}
		}
	}
	for name, e := range got {
		for _, k := range e.Keys() {
			a, ok := md.Attributes[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: attribute %s is not described in metadata.yaml", name, k))
				continue
			}
			for v := range e.values[k] {
				if len(a.Enum) > 0 && !slices.Contains(a.Enum, v) {
					out = append(out, fmt.Sprintf("%s: %s=%s is not in metadata.yaml's enum", name, k, v))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
