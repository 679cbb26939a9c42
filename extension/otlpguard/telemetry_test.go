package otlpguard

import (
	"context"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/extension/otlpguard/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
)

// metadata.yaml and the metrics the guard emits stay in step: every metric
// declared is emitted with its description, unit and exactly its declared
// attributes, every attribute value is one the metadata names, and nothing
// undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())

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
	got := telemetrytest.Collect(t, &rm, metadata.ScopeName)
	md.Check(t, got)
	// The counts themselves.
	wantRejected := map[string]float64{
		"reason=invalid_json,transport=http": 1,
		"reason=too_deep,transport=grpc":     1,
		"reason=too_deep,transport=http":     2,
		"reason=too_large,transport=http":    1,
	}
	if e := got["aiops_otlp_guard_rejected"]; e == nil || !reflect.DeepEqual(e.Points, wantRejected) {
		t.Errorf("rejected: %v, want %v", e, wantRejected)
	}
	wantChecked := map[string]float64{"transport=grpc": 1, "transport=http": 5}
	if e := got["aiops_otlp_guard_checked"]; e == nil || !reflect.DeepEqual(e.Points, wantChecked) {
		t.Errorf("checked: %v, want %v", e, wantChecked)
	}
}
