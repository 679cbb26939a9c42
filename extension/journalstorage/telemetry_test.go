package journalstorage

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/extension/journalstorage/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
)

// metadata.yaml and the metrics the journal emits stay in step: every
// declared metric is emitted with its description, unit, kind and exactly
// its declared attributes, and nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	set := extensiontest.NewNopSettings(NewFactory().Type())
	set.TelemetrySettings = tel.NewTelemetrySettings()
	ctx := context.Background()
	ext, err := NewFactory().Create(ctx, set, &Config{Directory: t.TempDir(), SegmentSizeMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ext.Shutdown(ctx) })
	c, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, component.MustNewID("aiops_clickhouse"), "traces")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "k", make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := tel.Reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := telemetrytest.Collect(t, &rm, metadata.ScopeName)
	md.Check(t, got)
	if e := got["aiops_journal_disk_bytes"]; e == nil || e.Points["client=exporter_aiops_clickhouse__traces"] < 4096 {
		t.Errorf("disk bytes after a 4 KiB value: %+v", e)
	}
}
