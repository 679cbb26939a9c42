package providerusage

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/mockprovider"
	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
)

// metadata.yaml and the metrics the receiver emits stay in step: every
// metric declared is emitted with its description, unit, kind and exactly
// its declared attributes; nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	raw, err := os.ReadFile("metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Type       string         `yaml:"type"`
		Attributes map[string]any `yaml:"attributes"`
		Telemetry  struct {
			Metrics map[string]struct {
				Description string         `yaml:"description"`
				Unit        string         `yaml:"unit"`
				Sum         map[string]any `yaml:"sum"`
				Gauge       map[string]any `yaml:"gauge"`
				Attributes  []string       `yaml:"attributes"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
	}
	if err := yaml.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	if md.Type != metadata.Type.String() {
		t.Errorf("metadata.yaml type %q, code %q", md.Type, metadata.Type)
	}

	// One poll that does everything: a good report, a refused one, a bad row.
	m := newMocks(t)
	m.openai.SetReport(mockprovider.OpenAICosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any { return nil }))
	m.anthropic.SetReport(mockprovider.AnthropicCosts, mockprovider.Days(now, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{mockprovider.AnthropicCost("w", "x", "m", "t", "n/a")}
	}))
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if recordsOf(ld)[0][genai.PUSource] == "embeddings" {
			return errors.New("refused")
		}
		return nil
	})
	h := newHarness(t, m.config(), next)
	h.poll()

	var rm metricdata.ResourceMetrics
	if err := h.tel.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metadata.ScopeName {
			continue
		}
		for _, got := range sm.Metrics {
			seen[got.Name] = true
			decl, ok := md.Telemetry.Metrics[got.Name]
			if !ok {
				t.Errorf("%s is emitted but not declared in metadata.yaml", got.Name)
				continue
			}
			if got.Description != decl.Description || got.Unit != decl.Unit {
				t.Errorf("%s: code says %q %q, metadata.yaml %q %q", got.Name, got.Description, got.Unit, decl.Description, decl.Unit)
			}
			keys := map[string]bool{}
			switch d := got.Data.(type) {
			case metricdata.Sum[int64]:
				if decl.Sum == nil {
					t.Errorf("%s is a sum in code only", got.Name)
				}
				for _, dp := range d.DataPoints {
					for _, kv := range dp.Attributes.ToSlice() {
						keys[string(kv.Key)] = true
					}
				}
			case metricdata.Gauge[int64]:
				if decl.Gauge == nil {
					t.Errorf("%s is a gauge in code only", got.Name)
				}
				for _, dp := range d.DataPoints {
					for _, kv := range dp.Attributes.ToSlice() {
						keys[string(kv.Key)] = true
					}
				}
			default:
				t.Errorf("%s: unexpected data %T", got.Name, got.Data)
			}
			want := map[string]bool{}
			for _, a := range decl.Attributes {
				want[a] = true
				if _, ok := md.Attributes[a]; !ok {
					t.Errorf("%s: attribute %s is not described in metadata.yaml", got.Name, a)
				}
			}
			if !reflect.DeepEqual(keys, want) {
				t.Errorf("%s: emitted with attributes %v, metadata.yaml declares %v", got.Name, keys, decl.Attributes)
			}
		}
	}
	for name := range md.Telemetry.Metrics {
		if !seen[name] {
			t.Errorf("%s is declared in metadata.yaml but not emitted", name)
		}
	}
}
