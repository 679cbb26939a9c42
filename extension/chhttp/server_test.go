package chhttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// fixture is a small table the reader can read and must not change.
func fixture(t *testing.T) {
	t.Helper()
	s := store(t)
	ctx := context.Background()
	must(t, s.Exec(ctx, "CREATE DATABASE IF NOT EXISTS chhttp"))
	must(t, s.Exec(ctx, "CREATE TABLE IF NOT EXISTS chhttp.t (id UInt64, tenant LowCardinality(String)) ENGINE = MergeTree ORDER BY id"))
	must(t, s.Exec(ctx, "TRUNCATE TABLE chhttp.t"))
	must(t, s.Exec(ctx, "INSERT INTO chhttp.t SELECT number, if(number % 2 = 0, 'acme', 'globex') FROM numbers(10)"))
}

func TestCurlStyleQuery(t *testing.T) {
	h := newHarness(t, nil)
	fixture(t)
	r := h.get(t, q("query", "SELECT count() FROM chhttp.t"), true)
	if r.status != 200 || r.body != "10\n" {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/tab-separated-values; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if f := r.header.Get("X-ClickHouse-Format"); f != "TabSeparated" {
		t.Errorf("X-ClickHouse-Format %q", f)
	}
	if id := r.header.Get("X-ClickHouse-Query-Id"); !uuidRE.MatchString(id) {
		t.Errorf("X-ClickHouse-Query-Id %q is not a UUID", id)
	}
	var sum map[string]string
	if err := json.Unmarshal([]byte(r.header.Get("X-ClickHouse-Summary")), &sum); err != nil {
		t.Fatalf("X-ClickHouse-Summary %q: %v", r.header.Get("X-ClickHouse-Summary"), err)
	}
	for _, k := range []string{"read_rows", "read_bytes", "written_rows", "written_bytes", "result_bytes", "elapsed_ns"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %s: %v", k, sum)
		}
	}
	if sum["result_bytes"] != "3" || sum["written_rows"] != "0" {
		t.Errorf("summary %v", sum)
	}
	// The query id a client names comes back.
	r = h.get(t, q("query", "SELECT 1", "query_id", "my-query-1"), true)
	if r.header.Get("X-ClickHouse-Query-Id") != "my-query-1" {
		t.Errorf("query id %q", r.header.Get("X-ClickHouse-Query-Id"))
	}
}

func TestPingAndRoot(t *testing.T) {
	h := newHarness(t, nil)
	for _, path := range []string{"/ping", "/"} {
		resp, err := http.Get(h.base + path) // no credentials: a health check
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "Ok.\n" {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, b)
		}
	}
	r := h.post(t, q(), "", nil)
	if r.status != 400 || r.code() != "62" || !strings.Contains(r.body, "Empty query") {
		t.Errorf("POST without a query: %d %s %q", r.status, r.code(), r.body)
	}
	resp, err := http.Get(h.base + "/nowhere")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func TestQueryFromURLAndBody(t *testing.T) {
	h := newHarness(t, nil)
	// As ClickHouse: the query parameter, a newline, then the body.
	r := h.post(t, q("query", "SELECT 1 +"), "2", nil)
	if r.status != 200 || r.body != "3\n" {
		t.Fatalf("%d %q", r.status, r.body)
	}
	r = h.post(t, q(), "SELECT 'body only'", nil)
	if r.body != "body only\n" {
		t.Fatalf("%d %q", r.status, r.body)
	}
}

func TestFormatsAndDatabase(t *testing.T) {
	h := newHarness(t, nil)
	fixture(t)
	r := h.get(t, q("query", "SELECT id FROM t WHERE id < 2 ORDER BY id", "database", "chhttp", "default_format", "JSONEachRow"), true)
	if r.body != "{\"id\":0}\n{\"id\":1}\n" || r.header.Get("X-ClickHouse-Format") != "JSONEachRow" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("%d %q %v", r.status, r.body, r.header)
	}
	// A FORMAT clause wins over default_format, as in ClickHouse.
	r = h.get(t, q("query", "SELECT id FROM chhttp.t WHERE id = 3 FORMAT CSVWithNames", "default_format", "JSON"), true)
	if r.body != "\"id\"\n3\n" || r.header.Get("X-ClickHouse-Format") != "CSVWithNames" {
		t.Fatalf("%d %q %v", r.status, r.body, r.header)
	}
	r = h.get(t, q("query", "SELECT currentDatabase()", "database", "nosuch"), true)
	if r.code() != "81" || r.status != 404 {
		t.Errorf("unknown database: %d %s %q", r.status, r.code(), r.body)
	}
	r = h.get(t, q("query", "SELECT 1", "default_format", "NoSuchFormat"), true)
	if r.code() != "73" || r.status != 404 {
		t.Errorf("unknown format: %d %s %q", r.status, r.code(), r.body)
	}
}

func TestBoundParameters(t *testing.T) {
	h := newHarness(t, nil)
	fixture(t)
	// Values are data of the placeholder's type: a quote cannot end the
	// literal, and escapes are ClickHouse's.
	r := h.get(t, q("query", "SELECT {s:String}, {n:UInt32} + 1, count() FROM chhttp.t WHERE tenant IN {ts:Array(String)}",
		"param_s", `it's a\ttab`, "param_n", "41", "param_ts", "['acme']"), true)
	if r.status != 200 || r.body != "it\\'s a\\ttab\t42\t5\n" { // TSV escapes the quote and the tab
		t.Fatalf("%d %q", r.status, r.body)
	}
	r = h.get(t, q("query", "SELECT count() FROM chhttp.t WHERE tenant = {t:String}", "param_t", "x' OR '1'='1"), true)
	if r.body != "0\n" {
		t.Fatalf("a parameter changed the query: %q", r.body)
	}
	r = h.get(t, q("query", "SELECT {missing:String}"), true)
	if r.code() != "456" {
		t.Errorf("unbound parameter: %s %q", r.code(), r.body)
	}
	r = h.get(t, q("query", "SELECT 1", "param_a-b", "1"), true)
	if r.code() != "457" {
		t.Errorf("bad parameter name: %s %q", r.code(), r.body)
	}
}

func TestSettingsAllowList(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Limits.MaxExecutionTime = 20 * time.Second })
	get := func(kv ...string) reply { return h.get(t, q(kv...), true) }
	// A request may lower a limit...
	r := get("query", "SELECT number FROM numbers(5)", "max_result_rows", "2")
	if r.code() != "396" {
		t.Errorf("max_result_rows=2: %s %q", r.code(), r.body)
	}
	r = get("query", "SELECT count() FROM (SELECT number FROM numbers(5))", "max_result_rows", "2", "result_overflow_mode", "break")
	if r.body != "5\n" {
		t.Errorf("max_result_rows with break: %d %q", r.status, r.body)
	}
	// ...but not raise it past the configured bound: Grafana's 60 s timeout
	// runs with the configured 20 s.
	r = get("query", "SELECT getSetting('max_execution_time'), getSetting('max_threads'), getSetting('readonly')", "max_execution_time", "60", "max_threads", "16")
	if r.body != "20\t1\t1\n" {
		t.Errorf("settings in effect: %d %q", r.status, r.body)
	}
	r = get("query", "SELECT getSetting('max_execution_time')", "max_execution_time", "5")
	if r.body != "5\n" {
		t.Errorf("a lower timeout: %q", r.body)
	}
	for _, tc := range []struct {
		kv     []string
		code   string
		status int
	}{
		{[]string{"no_such_setting", "1"}, "115", 404},
		{[]string{"max_block_size", "1"}, "452", 500},       // a real setting readers may not change
		{[]string{"allow_ddl", "1"}, "452", 500},            // ditto
		{[]string{"readonly", "0"}, "164", 500},             // READONLY, as ClickHouse for a readonly user
		{[]string{"readonly", "2"}, "164", 500},             // ditto
		{[]string{"max_execution_time", "soon"}, "36", 400}, // not a number
		{[]string{"result_overflow_mode", "ignore"}, "36", 400},
		{[]string{"session_timezone", "UTC'; DROP"}, "36", 400},
	} {
		r := get(append([]string{"query", "SELECT 1"}, tc.kv...)...)
		if r.code() != tc.code || r.status != tc.status {
			t.Errorf("%v: %d %s %q, want %d %s", tc.kv, r.status, r.code(), r.body, tc.status, tc.code)
		}
	}
	if r := get("query", "SELECT 1", "readonly", "1", "wait_end_of_query", "1", "session_id", "grafana-1", "session_timezone", "Europe/Berlin"); r.status != 200 {
		t.Errorf("harmless parameters: %d %q", r.status, r.body)
	}
}

// The acceptance: a reader's INSERT, ALTER, DROP and SET readonly=0 are
// refused by the engine with READONLY; statements readonly would let
// through (KILL, SYSTEM, INTO OUTFILE) are refused here with READONLY too.
func TestReaderIsReadOnly(t *testing.T) {
	h := newHarness(t, nil)
	fixture(t)
	out := filepath.Join(t.TempDir(), "out.tsv")
	for _, tc := range []struct {
		sql, code, text string
	}{
		{"INSERT INTO chhttp.t VALUES (100, 'x')", "164", "Cannot execute query in readonly mode"},
		{"ALTER TABLE chhttp.t DELETE WHERE 1", "164", "Cannot execute query in readonly mode"},
		{"DROP TABLE chhttp.t", "164", "Cannot execute query in readonly mode"},
		{"TRUNCATE TABLE chhttp.t", "164", "readonly"},
		{"CREATE TABLE chhttp.u (x UInt8) ENGINE = Memory", "164", "readonly"},
		{"SET readonly = 0", "164", "Cannot modify 'readonly' setting in readonly mode"},
		{"SET max_execution_time = 3600", "164", "Cannot modify 'max_execution_time' setting in readonly mode"},
		{"SELECT 1 SETTINGS max_threads = 64", "164", "readonly"},
		{"SELECT * FROM file('/etc/hostname', 'LineAsString')", "164", "readonly"},
		{"KILL QUERY WHERE 1", "164", "KILL"},
		{"SYSTEM STOP MERGES", "164", "SYSTEM"},
		{"SELECT 1 INTO OUTFILE '" + out + "'", "164", "INTO OUTFILE"},
		{"SELECT 1; SELECT 2", "62", "Multi-statements are not allowed"},
	} {
		r := h.post(t, q(), tc.sql, nil)
		if r.code() != tc.code || !strings.Contains(r.body, tc.text) || !strings.HasPrefix(r.body, "Code: "+tc.code+". DB::Exception: ") {
			t.Errorf("%s: %d %s %q, want code %s with %q", tc.sql, r.status, r.code(), r.body, tc.code, tc.text)
		}
	}
	r := h.get(t, q("query", "SELECT count() FROM chhttp.t"), true)
	if r.body != "10\n" {
		t.Errorf("the table changed: %q", r.body)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("INTO OUTFILE wrote %s", out)
	}
}

// The acceptance: a wrong password, a missing user and an oversized query
// are refused before the engine sees anything.
func TestRefusedWithoutTouchingTheEngine(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Limits.MaxQuerySize = 1024 })
	before := h.srv.sessions.Load()
	big := "SELECT '" + strings.Repeat("x", 2000) + "'"
	for name, tc := range map[string]struct {
		req    func() reply
		code   string
		status int
	}{
		"wrong password": {func() reply {
			return h.post(t, q(), "SELECT 1", map[string]string{"X-ClickHouse-Key": "wrong"})
		}, "516", 403},
		"missing user": {func() reply {
			return h.post(t, q(), "SELECT 1", map[string]string{"X-ClickHouse-User": "nobody"})
		}, "516", 403},
		"no credentials": {func() reply { return h.get(t, q("query", "SELECT 1"), false) }, "516", 403},
		"password in URL, wrong": {func() reply {
			return h.get(t, q("query", "SELECT 1", "user", readerUser, "password", "nope"), false)
		}, "516", 403},
		"two methods at once": {func() reply {
			return h.get(t, q("query", "SELECT 1", "user", readerUser, "password", readerPass), true)
		}, "516", 403},
		"oversized body":  {func() reply { return h.post(t, q(), big, nil) }, "229", 413},
		"oversized URL":   {func() reply { return h.get(t, q("query", big), true) }, "229", 413},
		"unknown setting": {func() reply { return h.get(t, q("query", "SELECT 1", "no_such_setting", "1"), true) }, "115", 404},
	} {
		r := tc.req()
		if r.code() != tc.code || r.status != tc.status {
			t.Errorf("%s: %d %s %q, want %d %s", name, r.status, r.code(), r.body, tc.status, tc.code)
		}
	}
	if n := h.srv.sessions.Load() - before; n != 0 {
		t.Errorf("refused requests opened %d engine sessions, want 0", n)
	}
	// The counter does count a request that reaches the engine.
	r := h.get(t, q("query", "SELECT 1", "user", readerUser, "password", readerPass), false)
	if r.status != 200 || h.srv.sessions.Load()-before != 1 {
		t.Errorf("password in URL: %d %q; sessions %d", r.status, r.body, h.srv.sessions.Load()-before)
	}
}

func TestErrorsCarryTheCode(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct {
		sql, code string
		status    int
	}{
		{"SELECT * FROM chhttp.no_such_table", "60", 404},
		{"SELEC 1", "62", 400},
		{"SELECT no_such_function(1)", "46", 404},
		{"SELECT throwIf(1)", "395", 500},
	} {
		r := h.post(t, q(), tc.sql, nil)
		if r.code() != tc.code || r.status != tc.status || !strings.HasPrefix(r.body, "Code: "+tc.code+". DB::Exception: ") ||
			!strings.HasSuffix(r.body, "\n") {
			t.Errorf("%s: %d %s %q, want %d %s", tc.sql, r.status, r.code(), r.body, tc.status, tc.code)
		}
	}
}

func TestGzipResponse(t *testing.T) {
	h := newHarness(t, nil)
	sql := "SELECT number FROM numbers(1000)"
	plain := h.post(t, q(), sql, map[string]string{"Accept-Encoding": "gzip"})
	if plain.header.Get("Content-Encoding") != "" {
		t.Errorf("compressed without enable_http_compression=1")
	}
	r := h.post(t, q("enable_http_compression", "1"), sql, map[string]string{"Accept-Encoding": "gzip"})
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(r.body))
	must(t, err)
	b, err := io.ReadAll(zr)
	must(t, err)
	if !bytes.Equal(b, []byte(plain.body)) || len(r.body) >= len(plain.body) {
		t.Errorf("gzip body: %d bytes → %d, equal %v", len(r.body), len(b), bytes.Equal(b, []byte(plain.body)))
	}
}

// A long query for the concurrency tests: CPU-bound for several seconds
// on one thread, and ended early by the client.
const longQuery = "SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) % 7 = 8"

func TestConcurrencyLimitAndQueryIDs(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Limits.MaxConcurrentQueries = 1
		c.Limits.MaxQueuedQueries = 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/?query_id=long-1", strings.NewReader(longQuery))
		req.SetBasicAuth(readerUser, readerPass)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the long query to run", func() bool { return len(h.srv.slots) == 1 })
	r := h.post(t, q("query_id", "long-1"), "SELECT 1", nil)
	if r.code() != "216" {
		t.Errorf("a running query id: %d %s %q", r.status, r.code(), r.body)
	}
	r = h.post(t, q(), "SELECT 1", nil)
	if r.status != 503 || r.code() != "202" || !strings.Contains(r.body, "Too many simultaneous queries") || r.header.Get("Retry-After") == "" {
		t.Errorf("a query past the limit: %d %s %q", r.status, r.code(), r.body)
	}
	// The client going away kills the query: its slot frees long before
	// the query could have finished.
	start := time.Now()
	cancel()
	wg.Wait()
	waitFor(t, "the slot to free", func() bool { return len(h.srv.slots) == 0 })
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the slot freed %s after the client left", d)
	}
	if r := h.post(t, q(), "SELECT 1", nil); r.status != 200 {
		t.Errorf("after the kill: %d %q", r.status, r.body)
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t, nil)
	start := time.Now()
	r := h.post(t, q("max_execution_time", "1"), longQuery, nil)
	if r.code() != "159" || r.status != 408 {
		t.Errorf("%d %s %q", r.status, r.code(), r.body)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("a 1 s limit took %s", d)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
