package chdb

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A Session is an engine client of its own: its settings stay in it, and
// its queries run while the Engine's connection inserts.
func TestSessionIsolatedAndConcurrent(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	if err := e.Exec(ctx, "CREATE TABLE IF NOT EXISTS default.sess (id UInt64) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Query(ctx, "SET readonly = 1", "TSV"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, "INSERT INTO default.sess VALUES (1)", "TSV"); ErrorCode(err) != 164 {
		t.Errorf("insert in a readonly session: %v", err)
	}
	if got := query(t, e, "SELECT getSetting('readonly')"); got != "0" {
		t.Errorf("the engine's own connection has readonly = %s", got)
	}
	res, err := s.Query(ctx, "SELECT count() FROM numbers(1000)", "TSV")
	if err != nil || res.BytesRead == 0 {
		t.Errorf("bytes read: %+v %v", res, err)
	}

	// Inserts on the Engine complete while a session query runs.
	long, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	var running atomic.Bool
	done := make(chan error, 1)
	go func() {
		running.Store(true)
		_, err := long.Query(ctx, "SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) % 7 = 8 SETTINGS max_execution_time = 2, max_threads = 1", "TSV")
		done <- err
	}()
	for !running.Load() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	inserts := 0
	for end := time.Now().Add(time.Second); time.Now().Before(end); inserts++ {
		if err := e.Exec(ctx, "INSERT INTO default.sess VALUES (2)"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the long query ended early (%v): the test shows nothing", err)
	default:
	}
	if inserts < 10 {
		t.Errorf("%d inserts in 1s beside a session query", inserts)
	}
	if err := <-done; ErrorCode(err) != 159 {
		t.Errorf("long query: %v, want TIMEOUT_EXCEEDED", err)
	}
}

func TestSessionClassify(t *testing.T) {
	e := openTest(t)
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for q, want := range map[string]struct {
		class QueryClass
		n     int
	}{
		"SELECT 1":                     {ClassReadOnly, 1},
		"SHOW TABLES":                  {ClassReadOnly, 1},
		"INSERT INTO t VALUES (1)":     {ClassMutating, 1},
		"DROP TABLE t":                 {ClassMutating, 1},
		"KILL QUERY WHERE 1":           {ClassControl, 1},
		"SYSTEM STOP MERGES":           {ClassControl, 1},
		"SELECT 1 INTO OUTFILE '/x'":   {ClassControl, 1},
		"SELECT 1; SELECT 2":           {ClassReadOnly, 2},
		"SELEC 1":                      {ClassUnknown, 0},
		"SELECT 1; DROP TABLE t":       {ClassMutating, 2},
		"SET readonly = 0":             {ClassControl, 1},
		"SELECT {x:String} FORMAT CSV": {ClassReadOnly, 1},
	} {
		c, n, err := s.Classify(context.Background(), q)
		if err != nil || c != want.class || n != want.n {
			t.Errorf("%q: class %d, %d statements, %v; want %d, %d", q, c, n, err, want.class, want.n)
		}
	}
}

func TestSessionAfterClose(t *testing.T) {
	e := openTest(t)
	s, err := e.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.Query(context.Background(), "SELECT 1", "TSV"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("query on a closed session: %v", err)
	}
}
