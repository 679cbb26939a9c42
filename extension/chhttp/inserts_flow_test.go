package chhttp

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// insertsFor inserts 1000-row batches the way the exporter does (the
// Engine's own connection, one statement at a time) for d, and counts them.
func insertsFor(t *testing.T, s *chstore.Embedded, d time.Duration) int {
	t.Helper()
	ids := make([]uint64, 1000)
	strs := make([]string, 1000)
	for i := range ids {
		ids[i], strs[i] = uint64(i), "span"
	}
	b := &chstore.Batch{Database: "flow", Table: "ev", Columns: []chstore.Column{
		{Name: "id", Type: "UInt64", Values: ids}, {Name: "s", Type: "String", Values: strs}}}
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		must(t, s.Insert(context.Background(), b, ""))
	}
	return n
}

// Inserts keep flowing while a reader's long query runs: each request runs
// in an engine session of its own, not on the connection the exporter's
// inserts take. Counts in equal windows are compared, with and without
// long queries; the control shows the same query on the exporter's
// connection stalls the inserts, so the comparison can fail.
func TestInsertsFlowDuringALongQuery(t *testing.T) {
	h := newHarness(t, nil)
	s := store(t)
	ctx := context.Background()
	must(t, s.Exec(ctx, "CREATE DATABASE IF NOT EXISTS flow"))
	must(t, s.Exec(ctx, "CREATE TABLE IF NOT EXISTS flow.ev (id UInt64, s String) ENGINE = MergeTree ORDER BY id"))
	const window = 3 * time.Second
	insertsFor(t, s, 500*time.Millisecond) // warm up

	baseline := insertsFor(t, s, window)

	// Long dashboard queries through the interface, back to back, for the
	// whole window; the last is ended by its client going away.
	qctx, stop := context.WithCancel(ctx)
	var ran atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for qctx.Err() == nil {
			req, _ := http.NewRequestWithContext(qctx, http.MethodPost, h.base+"/", strings.NewReader(longQuery))
			req.SetBasicAuth(readerUser, readerPass)
			ran.Add(1)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	waitFor(t, "the long query to run", func() bool { return len(h.srv.slots) == 1 })
	during := insertsFor(t, s, window)
	inFlightAtEnd := len(h.srv.slots)
	stop()
	wg.Wait()

	// Control: the same query on the exporter's connection.
	var control int
	cctx, cstop := context.WithTimeout(ctx, window+2*time.Second)
	defer cstop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.Engine().Query(cctx, longQuery+" SETTINGS max_execution_time = 5, max_threads = 1", "TSV")
	}()
	time.Sleep(200 * time.Millisecond)
	control = insertsFor(t, s, window)
	<-done

	ratio := float64(during) / float64(baseline)
	t.Logf("inserts in %s: %d without queries, %d during %d long queries (ratio %.2f), %d with the query on the exporter's connection",
		window, baseline, during, ran.Load(), ratio, control)
	if inFlightAtEnd != 1 {
		t.Errorf("the long query was not running at the end of the window")
	}
	if ratio < 0.5 {
		t.Errorf("inserts fell to %.0f%% of their rate during a long query", 100*ratio)
	}
	if float64(control) > 0.5*float64(baseline) {
		t.Errorf("control: %d inserts with the query on the exporter's connection, want it to stall them (baseline %d)", control, baseline)
	}
}
