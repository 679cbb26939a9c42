package chhttp

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
)

// metadata.yaml and the metrics the interface emits stay in step: every
// declared metric is emitted with its description, unit and exactly its
// declared attributes, every attribute value is one the metadata lists,
// and nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
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
	got := telemetrytest.Collect(t, &rm, metadata.ScopeName)
	md.Check(t, got)
	points := func(name string) map[string]float64 {
		if e := got[name]; e != nil {
			return e.Points
		}
		return nil
	}
	// The counts themselves.
	if p := points("aiops_clickhouse_http_queries"); p["outcome=ok"] != 1 || p["outcome=error"] != 1 {
		t.Errorf("queries %v", p)
	}
	wantRefused := map[string]float64{"reason=auth": 1, "reason=setting": 1, "reason=statement": 1, "reason=bad_request": 1}
	if p := points("aiops_clickhouse_http_requests_refused"); !reflect.DeepEqual(p, wantRefused) {
		t.Errorf("refused %v, want %v", p, wantRefused)
	}
	if p := points("aiops_clickhouse_http_queries_in_flight"); p[""] != 0 {
		t.Errorf("in flight %v after every query returned", p)
	}
	if p := points("aiops_clickhouse_http_query_duration"); p["outcome=ok"] != 1 || p["outcome=error"] != 1 {
		t.Errorf("duration counts %v", p)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
