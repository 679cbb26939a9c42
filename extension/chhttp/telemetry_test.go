package chhttp

import (
	"context"
	"os"
	"reflect"
	"sort"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
)

// metadata.yaml and the metrics the interface emits stay in step: every
// declared metric is emitted with its description, unit and exactly its
// declared attributes, every attribute value is one the metadata lists,
// and nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	raw, err := os.ReadFile("metadata.yaml")
	must(t, err)
	var md struct {
		Type      string `yaml:"type"`
		Telemetry struct {
			Metrics map[string]struct {
				Description string         `yaml:"description"`
				Unit        string         `yaml:"unit"`
				Attributes  []string       `yaml:"attributes"`
				Sum         map[string]any `yaml:"sum"`
				Histogram   map[string]any `yaml:"histogram"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
		Attributes map[string]struct {
			Enum []string `yaml:"enum"`
		} `yaml:"attributes"`
	}
	must(t, yaml.Unmarshal(raw, &md))
	if md.Type != metadata.Type.String() {
		t.Errorf("metadata.yaml type %q, code %q", md.Type, metadata.Type)
	}
	if !reflect.DeepEqual(sorted(md.Attributes["outcome"].Enum), sorted(outcomes)) || !reflect.DeepEqual(sorted(md.Attributes["reason"].Enum), sorted(reasons)) {
		t.Errorf("metadata.yaml enums %v %v, code %v %v", md.Attributes["outcome"].Enum, md.Attributes["reason"].Enum, outcomes, reasons)
	}

	h := newHarness(t, nil)
	h.get(t, q("query", "SELECT 1"), true)                        // ok
	h.get(t, q("query", "SELECT * FROM chhttp.nope"), true)       // error
	h.get(t, q("query", "SELECT 1"), false)                       // refused: auth
	h.get(t, q("query", "SELECT 1", "max_block_size", "1"), true) // refused: setting
	h.post(t, q(), "KILL QUERY WHERE 1", nil)                     // refused: statement
	h.get(t, q("query", "SELECT 1", "param_a-b", "1"), true)      // refused: bad_request

	var rm metricdata.ResourceMetrics
	must(t, h.tel.Reader.Collect(context.Background(), &rm))
	type emitted struct {
		desc, unit string
		kind       string
		keys       map[string]bool
		points     map[string]float64
	}
	got := map[string]*emitted{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metadata.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			e := &emitted{desc: m.Description, unit: m.Unit, keys: map[string]bool{}, points: map[string]float64{}}
			add := func(set attribute.Set, v float64) {
				for _, kv := range set.ToSlice() {
					e.keys[string(kv.Key)] = true
					if enum := md.Attributes[string(kv.Key)].Enum; !contains(enum, kv.Value.AsString()) {
						t.Errorf("%s: %s=%s is not in metadata.yaml", m.Name, kv.Key, kv.Value.AsString())
					}
				}
				e.points[set.Encoded(attribute.DefaultEncoder())] += v
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				e.kind = "sum"
				if !d.IsMonotonic {
					e.kind = "updown"
				}
				for _, dp := range d.DataPoints {
					add(dp.Attributes, float64(dp.Value))
				}
			case metricdata.Histogram[float64]:
				e.kind = "histogram"
				for _, dp := range d.DataPoints {
					add(dp.Attributes, float64(dp.Count))
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
			got[m.Name] = e
		}
	}
	for name, decl := range md.Telemetry.Metrics {
		e, ok := got[name]
		if !ok {
			t.Errorf("%s is declared in metadata.yaml but not emitted", name)
			continue
		}
		want := map[string]bool{}
		for _, a := range decl.Attributes {
			want[a] = true
		}
		if !reflect.DeepEqual(e.keys, want) {
			t.Errorf("%s: emitted with attributes %v, metadata.yaml declares %v", name, e.keys, decl.Attributes)
		}
		if e.desc != decl.Description || e.unit != decl.Unit {
			t.Errorf("%s: code says %q %q, metadata.yaml %q %q", name, e.desc, e.unit, decl.Description, decl.Unit)
		}
		wantKind := "histogram"
		if decl.Sum != nil {
			wantKind = "updown"
			if decl.Sum["monotonic"] == true {
				wantKind = "sum"
			}
		}
		if e.kind != wantKind {
			t.Errorf("%s: emitted as %s, metadata.yaml declares %s", name, e.kind, wantKind)
		}
	}
	for name := range got {
		if _, ok := md.Telemetry.Metrics[name]; !ok {
			t.Errorf("%s is emitted but not declared in metadata.yaml", name)
		}
	}
	// The counts themselves.
	if p := got["aiops_clickhouse_http_queries"].points; p["outcome=ok"] != 1 || p["outcome=error"] != 1 {
		t.Errorf("queries %v", p)
	}
	wantRefused := map[string]float64{"reason=auth": 1, "reason=setting": 1, "reason=statement": 1, "reason=bad_request": 1}
	if p := got["aiops_clickhouse_http_requests_refused"].points; !reflect.DeepEqual(p, wantRefused) {
		t.Errorf("refused %v, want %v", p, wantRefused)
	}
	if p := got["aiops_clickhouse_http_queries_in_flight"].points; p[""] != 0 {
		t.Errorf("in flight %v after every query returned", p)
	}
	if p := got["aiops_clickhouse_http_query_duration"].points; p["outcome=ok"] != 1 || p["outcome=error"] != 1 {
		t.Errorf("duration counts %v", p)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
