package journalstorage

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func open(t *testing.T, dir string, segSize int64) *journal {
	t.Helper()
	j, err := openJournal(dir, segSize, false, zap.NewNop())
	require.NoError(t, err)
	return j
}

func value(r *rand.Rand, n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(r.IntN(256))
	}
	return v
}

func TestClientSemantics(t *testing.T) {
	ctx := context.Background()
	c := client{open(t, t.TempDir(), 1<<20)}
	defer c.Close(ctx)

	v, err := c.Get(ctx, "missing")
	require.NoError(t, err)
	require.Nil(t, v, "a missing key reads as nil, as file_storage does")

	big := bytes.Repeat([]byte("q"), 3*inlineMax)
	require.NoError(t, c.Set(ctx, "small", []byte("s")))
	require.NoError(t, c.Set(ctx, "big", big))
	require.NoError(t, c.Set(ctx, "empty", nil))
	v, _ = c.Get(ctx, "big")
	require.Equal(t, big, v)
	v[0] = 'X' // the caller owns what it got
	v, _ = c.Get(ctx, "big")
	require.Equal(t, big, v)
	v, _ = c.Get(ctx, "empty")
	require.NotNil(t, v, "a key set to nothing exists")
	require.Empty(t, v)

	// In one batch a Get sees the writes before it, not the ones after.
	before, afterSet, afterDel := storage.GetOperation("small"), storage.GetOperation("small"), storage.GetOperation("big")
	require.NoError(t, c.Batch(ctx, before, storage.SetOperation("small", []byte("t")), afterSet,
		storage.DeleteOperation("big"), afterDel))
	require.Equal(t, []byte("s"), before.Value)
	require.Equal(t, []byte("t"), afterSet.Value)
	require.Nil(t, afterDel.Value)

	require.NoError(t, c.Delete(ctx, "small"))
	v, _ = c.Get(ctx, "small")
	require.Nil(t, v)
	require.NoError(t, c.Delete(ctx, "never-set"))

	require.NoError(t, c.Close(ctx))
	require.Error(t, c.Set(ctx, "k", []byte("v")), "a closed client refuses writes")
}

// model replays random operations against a map and checks the journal
// holds exactly the same after every reopen, through many rotations.
func TestRandomOperationsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string][]byte{}
	j := open(t, dir, 64<<10)
	for round := 0; round < 40; round++ {
		for i := 0; i < 50; i++ {
			var ops []*storage.Operation
			for n := 1 + r.IntN(4); n > 0; n-- {
				k := fmt.Sprintf("k%d", r.IntN(30))
				switch x := r.IntN(10); {
				case x < 5:
					size := r.IntN(64)
					if r.IntN(3) == 0 {
						size = inlineMax + 1 + r.IntN(30000)
					}
					v := value(r, size)
					ops = append(ops, storage.SetOperation(k, v))
					want[k] = v
				case x < 8:
					ops = append(ops, storage.DeleteOperation(k))
					delete(want, k)
				default:
					ops = append(ops, storage.GetOperation(k))
				}
			}
			require.NoError(t, j.batch(ops))
		}
		checkState(t, j, want)
		require.NoError(t, j.close())
		j = open(t, dir, 64<<10)
		checkState(t, j, want)
		checkNoSpentSegments(t, j)
	}
	require.NoError(t, j.close())
}

func checkState(t *testing.T, j *journal, want map[string][]byte) {
	t.Helper()
	require.Len(t, j.index, len(want))
	for k, v := range want {
		got, err := j.get(k)
		require.NoError(t, err)
		require.Equal(t, v, nonNil(got), "key %s", k)
	}
}

// checkNoSpentSegments: every segment file on disk is the active one or
// holds a live value.
func checkNoSpentSegments(t *testing.T, j *journal) {
	t.Helper()
	names, err := os.ReadDir(j.dir)
	require.NoError(t, err)
	refs := j.refCounts()
	for _, d := range names {
		if !strings.HasSuffix(d.Name(), ".seg") {
			continue
		}
		var n uint64
		_, err := fmt.Sscanf(d.Name(), "%016x.seg", &n)
		require.NoError(t, err)
		require.True(t, n == j.active || refs[n] > 0, "segment %s is spent but still on disk", d.Name())
	}
}

// A key deleted in a segment that was later removed must not come back from
// an older segment that is still kept for another value.
func TestDeletedKeysStayDeletedAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 16<<10)
	big := bytes.Repeat([]byte("a"), inlineMax+1)
	require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("keep", big), storage.SetOperation("gone", big), storage.SetOperation("meta", []byte("1"))}))
	for i := 0; i < 20; i++ { // rotate several times; the first segment stays for "keep"
		require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation(fmt.Sprintf("x%d", i), big), storage.DeleteOperation(fmt.Sprintf("x%d", i))}))
		if i == 3 {
			require.NoError(t, j.batch([]*storage.Operation{storage.DeleteOperation("gone"), storage.DeleteOperation("meta")}))
		}
	}
	require.Greater(t, j.active, uint64(3))
	_, err := os.Stat(filepath.Join(dir, segName(1)))
	require.NoError(t, err, "the first segment is still needed")
	require.NoError(t, j.close())
	j = open(t, dir, 16<<10)
	defer j.close()
	checkState(t, j, map[string][]byte{"keep": big})
}

func TestTornTailIsCutOff(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 30; trial++ {
		dir := t.TempDir()
		j := open(t, dir, 1<<30)
		want := map[string][]byte{}
		for i := 0; i < 10; i++ {
			k, v := fmt.Sprintf("k%d", i), value(r, 100+r.IntN(3*inlineMax))
			require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation(k, v)}))
			want[k] = v
		}
		before := j.size
		require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("last", value(r, 5000)), storage.DeleteOperation("k0")}))
		after := j.size
		require.NoError(t, j.close())

		// The crash left only part of the last record on disk.
		cut := before + r.Int64N(after-before)
		path := filepath.Join(dir, segName(1))
		require.NoError(t, os.Truncate(path, cut))
		core, logs := observer.New(zap.WarnLevel)
		j, err := openJournal(dir, 1<<30, false, zap.New(core))
		require.NoError(t, err)
		checkState(t, j, want)
		require.Equal(t, 1, logs.FilterMessageSnippet("torn record").Len(), "cut at %d of %d..%d", cut, before, after)

		// Appending after the cut works and survives another reopen.
		require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("next", []byte("v"))}))
		want["next"] = []byte("v")
		require.NoError(t, j.close())
		j = open(t, dir, 1<<30)
		checkState(t, j, want)
		require.NoError(t, j.close())
	}
}

func TestGarbageAfterLastRecord(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<30)
	require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("k", []byte("v"))}))
	require.NoError(t, j.close())
	f, err := os.OpenFile(filepath.Join(dir, segName(1)), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0xde, 0xad, 0xbe, 0xef, 9, 0, 0, 0, 1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	j = open(t, dir, 1<<30)
	defer j.close()
	checkState(t, j, map[string][]byte{"k": []byte("v")})
}

func TestUnfinishedRotationIsIgnored(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<30)
	require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("k", bytes.Repeat([]byte("v"), 2*inlineMax))}))
	require.NoError(t, j.close())
	// A crash between writing the next checkpoint and renaming it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, segName(2)+".tmp"), []byte("partial"), 0o600))
	j = open(t, dir, 1<<30)
	defer j.close()
	checkState(t, j, map[string][]byte{"k": bytes.Repeat([]byte("v"), 2*inlineMax)})
	_, err := os.Stat(filepath.Join(dir, segName(2)+".tmp"))
	require.True(t, os.IsNotExist(err))
}

func TestCorruptValueIsAnError(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<30)
	v := bytes.Repeat([]byte("v"), 2*inlineMax)
	require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("k", v)}))
	loc := j.index["k"].loc
	f, err := os.OpenFile(filepath.Join(dir, segName(1)), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("X"), loc.off+100)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = j.get("k")
	require.ErrorIs(t, err, errCorrupt)
	require.NoError(t, j.close())
}

func TestCorruptCheckpointRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<30)
	require.NoError(t, j.close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, segName(1)), []byte("not a journal"), 0o600))
	_, err := openJournal(dir, 1<<30, false, zap.NewNop())
	require.ErrorIs(t, err, errCorrupt)
}

func TestOneProcessPerDirectory(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<30)
	_, err := openJournal(dir, 1<<30, false, zap.NewNop())
	require.ErrorContains(t, err, "in use")
	require.NoError(t, j.close())
	j = open(t, dir, 1<<30) // the lock goes with the close
	require.NoError(t, j.close())
}

// A directory used by file_storage before holds a file where the journal
// wants its directory: the error says what it is and what to do.
func TestFileStorageLeftoverIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exporter_aiops_clickhouse__traces")
	require.NoError(t, os.WriteFile(path, []byte("bbolt"), 0o600))
	_, err := openJournal(path, 1<<20, false, zap.NewNop())
	require.ErrorContains(t, err, "file_storage queue")
}

func TestFsyncPath(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, 8<<10, true, zap.NewNop())
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation(fmt.Sprintf("k%d", i), bytes.Repeat([]byte("v"), 2*inlineMax))}))
	}
	require.Greater(t, j.active, uint64(1), "rotated with fsync on")
	require.NoError(t, j.close())
}

func TestWriteErrorLeavesNoHalfRecord(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<30)
	require.NoError(t, j.batch([]*storage.Operation{storage.SetOperation("k", []byte("v"))}))
	// A read-only descriptor makes the next write fail.
	s := j.segs[j.active]
	path := filepath.Join(dir, segName(j.active))
	s.f.Close()
	ro, err := os.Open(path)
	require.NoError(t, err)
	s.f = ro
	err = j.batch([]*storage.Operation{storage.SetOperation("k2", []byte("v2"))})
	require.ErrorContains(t, err, "journal storage: write")
	v, _ := j.get("k2")
	require.Nil(t, v, "a failed write changes nothing")
	require.NoError(t, j.close())
	j = open(t, dir, 1<<30)
	defer j.close()
	checkState(t, j, map[string][]byte{"k": []byte("v")})
}

func TestSanitize(t *testing.T) {
	got := []string{sanitize("exporter_aiops_clickhouse__traces"), sanitize("a/b"), sanitize(".."), sanitize("x y")}
	require.Equal(t, []string{"exporter_aiops_clickhouse__traces", "a~2fb", "~2e.", "x~20y"}, got)
}
