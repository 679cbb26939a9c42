package otlpguard

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/extension/otlpguard/internal/metadata"
)

// metadata.yaml and the metrics the guard emits stay in step: every metric
// declared is emitted with its description, unit and exactly its declared
// attributes, every attribute value is one the metadata names, and nothing
// undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	raw, err := os.ReadFile("metadata.yaml")
	must(t, err)
	var md struct {
		Type      string `yaml:"type"`
		Telemetry struct {
			Metrics map[string]struct {
				Description string   `yaml:"description"`
				Unit        string   `yaml:"unit"`
				Attributes  []string `yaml:"attributes"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
		Attributes map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"attributes"`
	}
	must(t, yaml.Unmarshal(raw, &md))
	if md.Type != metadata.Type.String() {
		t.Errorf("metadata.yaml type %q, code %q", md.Type, metadata.Type)
	}

	// Every reason on both transports.
	h := newHarness(t, &Config{MaxValueDepth: 4, MaxBodyBytes: 4096}, nil)
	_, over, _ := tracesAt(t, 5)
	_, _, deepJS := tracesAt(t, 20) // the JSON bound admits 5 (see jsonDepthLimit)
	h.post(t, "/v1/traces", contentProtobuf, over, false)
	h.post(t, "/v1/traces", contentJSON, deepJS, false)
	h.post(t, "/v1/traces", contentJSON, deepJS[:10], false)
	h.post(t, "/v1/traces", contentJSON, make([]byte, 5000), false)
	_, ok, _ := tracesAt(t, 1)
	h.post(t, "/v1/traces", contentProtobuf, ok, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	overTD, _, _ := tracesAt(t, 5)
	ptraceotlp.NewGRPCClient(h.grpcClient(t)).Export(ctx, ptraceotlp.NewExportRequestFromTraces(overTD))

	var rm metricdata.ResourceMetrics
	must(t, h.tel.Reader.Collect(context.Background(), &rm))
	got := map[string]*emitted{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metadata.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			e := &emitted{desc: m.Description, unit: m.Unit, keys: map[string]bool{}, points: map[string]int64{}}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					e.keys[string(kv.Key)] = true
					if _, ok := md.Attributes[string(kv.Key)]; !ok {
						t.Errorf("%s: attribute %s is not in metadata.yaml", m.Name, kv.Key)
					}
				}
				e.points[dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
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
	}
	for name := range got {
		if _, ok := md.Telemetry.Metrics[name]; !ok {
			t.Errorf("%s is emitted but not declared in metadata.yaml", name)
		}
	}
	// The counts themselves.
	wantRejected := map[string]int64{
		"reason=invalid_json,transport=http": 1,
		"reason=too_deep,transport=grpc":     1,
		"reason=too_deep,transport=http":     2,
		"reason=too_large,transport=http":    1,
	}
	if e := got["aiops_otlp_guard_rejected"]; e == nil || !reflect.DeepEqual(e.points, wantRejected) {
		t.Errorf("rejected: %v, want %v", e.pointsOrNil(), wantRejected)
	}
	wantChecked := map[string]int64{"transport=grpc": 1, "transport=http": 5}
	if e := got["aiops_otlp_guard_checked"]; e == nil || !reflect.DeepEqual(e.points, wantChecked) {
		t.Errorf("checked: %v, want %v", e.pointsOrNil(), wantChecked)
	}
}

type emitted struct {
	desc, unit string
	keys       map[string]bool
	points     map[string]int64 // encoded attribute set → value
}

func (e *emitted) pointsOrNil() map[string]int64 {
	if e == nil {
		return nil
	}
	return e.points
}
