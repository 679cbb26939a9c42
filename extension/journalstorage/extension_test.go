package journalstorage

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/extension/journalstorage/internal/metadata"
)

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cases := []struct {
		name    string
		want    *Config
		wantErr string
	}{
		{name: "", want: &Config{Directory: "/var/lib/otelcol-aiops/queue", CreateDirectory: true, SegmentSizeMiB: 64, Fsync: true}},
		{name: "custom", want: &Config{Directory: "/data/queue", SegmentSizeMiB: 16, Fsync: false}},
		{name: "no_directory", wantErr: "directory: required"},
		{name: "bad_segment", wantErr: "segment_size_mib: 0 is outside 1..4096"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tc.name).String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg)
		})
	}
}

func TestStartChecksDirectory(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = filepath.Join(t.TempDir(), "missing")
	ext := startExtension(t, cfg, false)
	require.ErrorContains(t, ext.Start(context.Background(), componenttest.NewNopHost()), "create_directory")
	cfg.CreateDirectory = true
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, ext.Shutdown(context.Background()))
}

func startExtension(t *testing.T, cfg *Config, start bool) extension.Extension {
	t.Helper()
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	if start {
		require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	}
	return ext
}

func TestOneClientPerComponent(t *testing.T) {
	cfg := &Config{Directory: t.TempDir(), SegmentSizeMiB: 1}
	ext := startExtension(t, cfg, true).(storage.Extension)
	id := component.MustNewID("aiops_clickhouse")
	c, err := ext.GetClient(context.Background(), component.KindExporter, id, "traces")
	require.NoError(t, err)
	_, err = ext.GetClient(context.Background(), component.KindExporter, id, "traces")
	require.ErrorContains(t, err, "already open")
	other, err := ext.GetClient(context.Background(), component.KindExporter, id, "logs")
	require.NoError(t, err)
	require.NoError(t, c.Close(context.Background()))
	c, err = ext.GetClient(context.Background(), component.KindExporter, id, "traces")
	require.NoError(t, err, "a closed client can be opened again")
	require.NoError(t, c.Close(context.Background()))
	require.NoError(t, other.Close(context.Background()))
	require.DirExists(t, filepath.Join(cfg.Directory, "exporter_aiops_clickhouse__traces"))
	require.NoError(t, ext.Shutdown(context.Background()))
}

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

// The collector's own persistent queue on the journal: requests queued while
// the destination fails are all delivered, once, after a restart.
func TestPersistentQueueSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	const requests = 40
	storageID := component.MustNewID("journal_storage")
	run := func(push func(ptrace.Traces) error, send int) {
		ext := startExtension(t, &Config{Directory: dir, SegmentSizeMiB: 1, Fsync: true}, true)
		h := host{map[component.ID]component.Component{storageID: ext}}
		retry := configretry.NewDefaultBackOffConfig()
		retry.MaxElapsedTime = 0 // a failed request stays queued until shutdown
		q := exporterhelper.NewDefaultQueueConfig()
		q.StorageID = &storageID
		q.Batch = configoptional.None[exporterhelper.BatchConfig]()
		set := exportertest.NewNopSettings(component.MustNewType("test"))
		set.ID = component.MustNewID("test") // the same queue in both runs
		exp, err := exporterhelper.NewTraces(context.Background(), set, &struct{}{},
			func(_ context.Context, td ptrace.Traces) error { return push(td) },
			exporterhelper.WithQueue(configoptional.Some(q)), exporterhelper.WithRetry(retry))
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), h))
		for i := 0; i < send; i++ {
			require.NoError(t, exp.ConsumeTraces(context.Background(), request(i)))
		}
		if send == 0 {
			require.Eventually(t, func() bool { return push(ptrace.NewTraces()) == nil }, 10*time.Second, 10*time.Millisecond)
		}
		require.NoError(t, exp.Shutdown(context.Background()))
		require.NoError(t, ext.Shutdown(context.Background()))
	}
	run(func(ptrace.Traces) error { return fmt.Errorf("destination down") }, requests)

	var mu sync.Mutex
	var got []string
	run(func(td ptrace.Traces) error {
		mu.Lock()
		defer mu.Unlock()
		if td.SpanCount() == 0 { // the test's own poll: done when all arrived
			if len(got) < requests {
				return fmt.Errorf("waiting")
			}
			return nil
		}
		got = append(got, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
		return nil
	}, 0)
	sort.Strings(got)
	want := make([]string, requests)
	for i := range want {
		want[i] = fmt.Sprintf("span-%03d", i)
	}
	sort.Strings(want)
	require.Equal(t, want, got)
}

func request(i int) ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName(fmt.Sprintf("span-%03d", i))
	sp.Attributes().PutStr("gen_ai.input.messages", string(make([]byte, 20000))) // a referenced, not inline, value
	return td
}

func TestGaugesReportEachClient(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer tel.Shutdown(context.Background())
	set := extensiontest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	ext, err := NewFactory().Create(context.Background(), set, &Config{Directory: t.TempDir(), SegmentSizeMiB: 1})
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer ext.Shutdown(context.Background())
	c, err := ext.(storage.Extension).GetClient(context.Background(), component.KindExporter, component.MustNewID("aiops_clickhouse"), "traces")
	require.NoError(t, err)
	for i := 0; i < 3; i++ { // 3 x 600 KiB: a second segment
		require.NoError(t, c.Set(context.Background(), fmt.Sprint(i), make([]byte, 600<<10)))
	}
	gauge := func(name string) int64 {
		m, err := tel.GetMetric(name)
		require.NoError(t, err)
		dps := m.Data.(metricdata.Gauge[int64]).DataPoints
		require.Len(t, dps, 1)
		v, _ := dps[0].Attributes.Value("client")
		require.Equal(t, "exporter_aiops_clickhouse__traces", v.AsString())
		return dps[0].Value
	}
	require.Greater(t, gauge("aiops_journal_disk_bytes"), int64(3*600<<10))
	require.Equal(t, int64(2), gauge("aiops_journal_segments"))
	require.NoError(t, c.Close(context.Background()))
}
