package genaifeedback

import (
	"testing"

	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
	"github.com/otelcol-aiops/otelcol-aiops/receiver/genaifeedback/internal/metadata"
)

// metadata.yaml and the instruments the receiver registers stay in step:
// every declared metric is registered with its description, unit and kind,
// and nothing undeclared is.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
	rec := telemetrytest.NewRecorder(metadata.ScopeName)
	if _, err := newTelemetry(rec); err != nil {
		t.Fatal(err)
	}
	md.CheckRegistered(t, rec)
}
