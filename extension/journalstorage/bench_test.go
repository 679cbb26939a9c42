package journalstorage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// BenchmarkQueueCycle drives a storage client the way the exporter's
// persistent queue does, per request: put (metadata + item), read (metadata
// + get), done (metadata + delete), with 20 requests queued. Values are the
// size of a 512-span request with content. Baseline: contrib's file_storage.
func BenchmarkQueueCycle(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		for _, store := range []string{"file_storage", "journal_storage"} {
			b.Run(fmt.Sprintf("%s/fsync=%v", store, fsync), func(b *testing.B) {
				c := benchClient(b, store, fsync)
				defer c.Close(context.Background())
				queueCycle(b, c)
			})
		}
	}
}

func benchClient(b *testing.B, store string, fsync bool) storage.Client {
	ctx := context.Background()
	var ext extension.Extension
	var err error
	if store == "file_storage" {
		f := filestorage.NewFactory()
		cfg := f.CreateDefaultConfig().(*filestorage.Config)
		cfg.Directory, cfg.FSync = b.TempDir(), fsync
		ext, err = f.Create(ctx, extensiontest.NewNopSettings(f.Type()), cfg)
	} else {
		ext, err = NewFactory().Create(ctx, extensiontest.NewNopSettings(NewFactory().Type()),
			&Config{Directory: b.TempDir(), SegmentSizeMiB: 64, Fsync: fsync})
	}
	require.NoError(b, err)
	require.NoError(b, ext.Start(ctx, componenttest.NewNopHost()))
	b.Cleanup(func() { _ = ext.Shutdown(ctx) })
	c, err := ext.(storage.Extension).GetClient(ctx, component.KindExporter, component.MustNewID("aiops_clickhouse"), "traces")
	require.NoError(b, err)
	return c
}

func queueCycle(b *testing.B, c storage.Client) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	item := make([]byte, 1<<20)
	for i := range item {
		item[i] = byte('a' + r.IntN(20)) // text-like, as marshaled spans with content are
	}
	meta := make([]byte, 60)
	const depth = 20
	put := func(i int) {
		require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.SetOperation(strconv.Itoa(i), item)))
	}
	for i := 0; i < depth; i++ {
		put(i)
	}
	b.SetBytes(int64(len(item)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		put(i + depth)
		get := storage.GetOperation(strconv.Itoa(i))
		require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), get))
		if len(get.Value) != len(item) {
			b.Fatalf("read %d bytes", len(get.Value))
		}
		require.NoError(b, c.Batch(ctx, storage.SetOperation("qmv0", meta), storage.DeleteOperation(strconv.Itoa(i))))
	}
}
