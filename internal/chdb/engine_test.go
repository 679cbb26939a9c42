package chdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The whole test binary shares one engine; each test opens and closes it.
var testDir string

func TestMain(m *testing.M) {
	if role := os.Getenv("CHDB_TEST_CHILD"); role != "" {
		os.Exit(child(role))
	}
	dir, err := os.MkdirTemp("", "chdb-test-")
	if err != nil {
		panic(err)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func openTest(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(Options{DataDir: testDir})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

func query(t testing.TB, e *Engine, q string) string {
	t.Helper()
	res, err := e.Query(context.Background(), q, "TSVRaw")
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strings.TrimSpace(string(res.Data))
}

// nativeBlock encodes (id UInt64, s String) rows in ClickHouse's Native format
// by hand, so this package's tests do not depend on the encoder built on it.
func nativeBlock(ids []uint64, strs []string) []byte {
	var b bytes.Buffer
	uv := func(v uint64) { b.Write(binary.AppendUvarint(nil, v)) }
	str := func(s string) { uv(uint64(len(s))); b.WriteString(s) }
	uv(2)
	uv(uint64(len(ids)))
	str("id")
	str("UInt64")
	for _, id := range ids {
		b.Write(binary.LittleEndian.AppendUint64(nil, id))
	}
	str("s")
	str("String")
	for _, s := range strs {
		str(s)
	}
	return b.Bytes()
}

func TestVersionAndLibrary(t *testing.T) {
	e := openTest(t)
	if !strings.HasPrefix(e.Version(), "26.7.") {
		t.Fatalf("engine version %q, want the pinned 26.7 engine", e.Version())
	}
	if e.LibraryPath() == "" || !filepath.IsAbs(e.DataDir()) {
		t.Fatalf("library %q data dir %q", e.LibraryPath(), e.DataDir())
	}
}

// The library's allocator takes our settings, read from the environment
// when the library loads.
func TestAllocatorConfigured(t *testing.T) {
	e := openTest(t)
	if os.Getenv(allocatorEnv) != allocatorConf {
		t.Skipf("%s was set outside the test (%q); the engine uses that", allocatorEnv, os.Getenv(allocatorEnv))
	}
	stats := query(t, e, "SELECT * FROM system.jemalloc_stats")
	for _, want := range []string{"opt.dirty_decay_ms: 250", "opt.prof_active: false"} {
		if !strings.Contains(stats, want) {
			t.Errorf("jemalloc statistics lack %q", want)
		}
	}
}

func TestProbeLibrary(t *testing.T) {
	path, version, err := ProbeLibrary("")
	if err != nil || path == "" || !strings.HasPrefix(version, "26.7") {
		t.Fatalf("probe: %q %q %v", path, version, err)
	}
}

func TestBadSQLCarriesCode(t *testing.T) {
	e := openTest(t)
	err := e.Exec(context.Background(), "SELEC 1")
	if ErrorCode(err) != 62 || !strings.Contains(err.Error(), "Syntax error") {
		t.Fatalf("want SYNTAX_ERROR (62), got %v", err)
	}
	err = e.Exec(context.Background(), "SELECT * FROM no_such_db_x.no_such_table")
	if code := ErrorCode(err); code != 81 && code != 60 {
		t.Fatalf("want UNKNOWN_DATABASE (81) or UNKNOWN_TABLE (60), got %d: %v", code, err)
	}
	// The engine is still usable after errors.
	if got := query(t, e, "SELECT 1+1"); got != "2" {
		t.Fatalf("after errors: %q", got)
	}
}

func TestNativeInsertIsBinarySafe(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS bin",
		"DROP TABLE IF EXISTS bin.t",
		"CREATE TABLE bin.t (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
	} {
		if err := e.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	values := []string{"", "a\x00b", "\n\n", "x\n\ny", "\xff\xfe not utf-8", "FORMAT Native\n", "'; DROP TABLE bin.t; --", strings.Repeat("x", 1<<20), "日本語 ✓"}
	ids := make([]uint64, len(values))
	for i := range ids {
		ids[i] = uint64(i)
	}
	if _, err := e.InsertNative(ctx, "INSERT INTO bin.t", nativeBlock(ids, values)); err != nil {
		t.Fatal(err)
	}
	res, err := e.Query(ctx, "SELECT s FROM bin.t ORDER BY id", "RowBinary")
	if err != nil {
		t.Fatal(err)
	}
	buf := res.Data
	for i, want := range values {
		n, k := binary.Uvarint(buf)
		got := string(buf[k : k+int(n)])
		buf = buf[k+int(n):]
		if got != want {
			t.Fatalf("row %d: got %q (len %d), want len %d", i, trunc(got), len(got), len(want))
		}
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func TestConcurrentInsertsAndQueries(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS conc",
		"DROP TABLE IF EXISTS conc.t",
		"CREATE TABLE conc.t (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
	} {
		if err := e.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const writers, readers, batches, rows = 8, 8, 20, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Each goroutine opens its own reference, as components do.
			eng, err := Open(Options{DataDir: testDir})
			if err != nil {
				errs <- err
				return
			}
			defer eng.Close()
			for b := 0; b < batches; b++ {
				ids := make([]uint64, rows)
				strs := make([]string, rows)
				for i := range ids {
					ids[i] = uint64((w*batches+b)*rows + i)
					strs[i] = fmt.Sprintf("w%d-b%d-%d", w, b, i)
				}
				if _, err := eng.InsertNative(ctx, "INSERT INTO conc.t", nativeBlock(ids, strs)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				res, err := e.Query(ctx, "SELECT count(), uniqExact(id) = count() FROM conc.t", "TSVRaw")
				if err != nil {
					errs <- err
					return
				}
				if !strings.HasSuffix(strings.TrimSpace(string(res.Data)), "\t1") {
					errs <- fmt.Errorf("duplicate ids seen mid-run: %q", res.Data)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := strconv.Itoa(writers * batches * rows)
	if got := query(t, e, "SELECT count() FROM conc.t"); got != want {
		t.Fatalf("rows: got %s want %s", got, want)
	}
	if got := query(t, e, "SELECT uniqExact(id) FROM conc.t"); got != want {
		t.Fatalf("distinct ids: got %s want %s", got, want)
	}
}

func TestCanceledContextDoesNotRun(t *testing.T) {
	e := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.sem <- struct{}{} // a query is "running"
	cancel()
	_, err := e.Query(ctx, "SELECT 1", "TSVRaw")
	<-e.sem
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestRefCountingAndOneDirectory(t *testing.T) {
	a := openTest(t)
	b := openTest(t)
	if a != b {
		t.Fatal("two Opens on one directory must share the engine")
	}
	if _, err := Open(Options{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("a second data directory must be refused, got %v", err)
	}
}

func TestReopenInProcessKeepsData(t *testing.T) {
	ctx := context.Background()
	e, err := Open(Options{DataDir: testDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS persist",
		"DROP TABLE IF EXISTS persist.t",
		"CREATE TABLE persist.t (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
	} {
		if err := e.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.InsertNative(ctx, "INSERT INTO persist.t", nativeBlock([]uint64{1, 2, 3}, []string{"a", "b", "c"})); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(ctx, "SELECT 1", "TSVRaw"); err == nil {
		t.Fatal("a closed engine must refuse queries")
	}
	e2 := openTest(t)
	if got := query(t, e2, "SELECT groupArray(s) FROM (SELECT s FROM persist.t ORDER BY id)"); got != "['a','b','c']" {
		t.Fatalf("after reopen: %q", got)
	}
}

// runChild runs this test binary as a separate process in the given role.
func runChild(t *testing.T, role string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "CHDB_TEST_CHILD="+role), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func child(role string) int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Println("CHILD-ERROR:", err); return 3 }
	switch role {
	case "write", "read":
		e, err := Open(Options{DataDir: os.Getenv("CHDB_TEST_DIR")})
		if err != nil {
			return fail(err)
		}
		defer e.Close()
		if role == "write" {
			for _, q := range []string{
				"CREATE DATABASE IF NOT EXISTS p",
				"CREATE TABLE IF NOT EXISTS p.t (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
			} {
				if err := e.Exec(ctx, q); err != nil {
					return fail(err)
				}
			}
			if _, err := e.InsertNative(ctx, "INSERT INTO p.t", nativeBlock([]uint64{7, 8}, []string{"seven", "eight"})); err != nil {
				return fail(err)
			}
			return 0
		}
		res, err := e.Query(ctx, "SELECT sum(id), groupArray(s) FROM (SELECT * FROM p.t ORDER BY id)", "TSVRaw")
		if err != nil {
			return fail(err)
		}
		fmt.Printf("RESULT:%s", res.Data)
		return 0
	case "corrupt":
		_, err := Open(Options{DataDir: os.Getenv("CHDB_TEST_DIR"), LibraryPath: os.Getenv("CHDB_TEST_LIB")})
		if err == nil {
			fmt.Println("CHILD-UNEXPECTED-SUCCESS")
			return 4
		}
		fmt.Println("ERR:", err)
		return 0
	}
	return 5
}

func TestDataPersistsAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	if out, err := runChild(t, "write", "CHDB_TEST_DIR="+dir); err != nil {
		t.Fatalf("writer: %v\n%s", err, out)
	}
	out, err := runChild(t, "read", "CHDB_TEST_DIR="+dir)
	if err != nil {
		t.Fatalf("reader: %v\n%s", err, out)
	}
	if !strings.Contains(out, "RESULT:15\t['seven','eight']") {
		t.Fatalf("reader saw %q", out)
	}
}

func TestMissingLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope", "libchdb.so")
	_, err := Open(Options{DataDir: t.TempDir(), LibraryPath: missing})
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "make libchdb") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("want a not-found error naming the path and `make libchdb`, got %v", err)
	}
	t.Setenv(EnvLibrary, missing)
	if _, err := LocateLibrary(""); !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "$"+EnvLibrary) {
		t.Fatalf("env override: %v", err)
	}
	if _, err := LocateLibrary(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory as library: %v", err)
	}
}

func TestCorruptLibrary(t *testing.T) {
	// A fresh process, so that no library is loaded yet.
	for name, content := range map[string][]byte{
		"garbage":   []byte("this is not an ELF file\x00\x01\x02"),
		"truncated": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...),
		"wrong-elf": nil, // filled below
	} {
		if name == "wrong-elf" {
			// A real shared object that is not libchdb: loads, but lacks the symbols.
			libc, _ := filepath.Glob("/lib/x86_64-linux-gnu/libz.so.*")
			if len(libc) == 0 {
				continue
			}
			content, _ = os.ReadFile(libc[0])
		}
		lib := filepath.Join(t.TempDir(), "libchdb.so")
		if err := os.WriteFile(lib, content, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runChild(t, "corrupt", "CHDB_TEST_DIR="+t.TempDir(), "CHDB_TEST_LIB="+lib)
		if err != nil {
			t.Fatalf("%s: child crashed or failed: %v\n%s", name, err, out)
		}
		if !strings.Contains(out, "ERR: chdb: ") || !strings.Contains(out, lib) {
			t.Fatalf("%s: want a chdb error naming the file, got %q", name, out)
		}
	}
}

func TestUnwritableDataDir(t *testing.T) {
	// A path below a regular file cannot be created, even by root.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runChild(t, "corrupt", "CHDB_TEST_DIR="+filepath.Join(f, "data"), "CHDB_TEST_LIB=")
	if err != nil || !strings.Contains(out, "ERR: chdb: ") {
		t.Fatalf("want a clear error for an unusable data dir, got %v\n%s", err, out)
	}
}

func TestParamsAreBoundNotSpliced(t *testing.T) {
	e := openTest(t)
	v := "x'); DROP DATABASE conc; --\x00\n\nend"
	res, err := e.Query(context.Background(),
		"SELECT length({v:String}), {v:String} = unhex({h:String})", "TSVRaw",
		Param{Name: "v", Value: EscapeParam(v)}, Param{Name: "h", Value: hex.EncodeToString([]byte(v))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(res.Data)), fmt.Sprintf("%d\t1", len(v)); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if err := e.Exec(context.Background(), "SELECT {n:UInt8}", Param{Name: "n", Value: "1; DROP TABLE x"}); err == nil {
		t.Fatal("a value that does not parse as its type must be refused")
	}
}

// The engine's own signal handlers must not take over the Go runtime's: a nil
// dereference in the collector has to stay a recoverable panic.
func TestGoPanicsStayRecoverableWithEngineLoaded(t *testing.T) {
	openTest(t)
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("expected a recovered nil-dereference panic")
		}
	}()
	var p *int
	_ = *p
}
