package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

// crashParams size the run: the short form runs in `make test`, the long
// form (AIOPS_SOAK=1) in `make soak`.
func crashParams() (requests, kills int) {
	if os.Getenv("AIOPS_SOAK") != "" {
		return 3000, 12
	}
	return 400, 3
}

// TestSIGKILLUnderLoadLosesAndDuplicatesNothing sends GenAI traffic while
// the collector is SIGKILLed and restarted at random moments. The client
// retries each request until it is acknowledged, as OTLP SDKs do. Afterwards
// every acknowledged span is in ClickHouse exactly once.
func TestSIGKILLUnderLoadLosesAndDuplicatesNothing(t *testing.T) {
	requests, kills := crashParams()
	dir := t.TempDir()
	col := newCollector(t, dir)
	col.start()

	// Deterministic requests, built up front so a retry re-sends identical spans.
	b := loadgen.NewBuilder(loadgen.Config{Seed: 42, ContentBytes: [2]int{256, 2048}})
	batches := make([]ptrace.Traces, requests)
	spanIDs := map[string]bool{}
	for i := range batches {
		batches[i], _ = b.Build(3)
		rss := batches[i].ResourceSpans()
		for x := 0; x < rss.Len(); x++ {
			sss := rss.At(x).ScopeSpans()
			for y := 0; y < sss.Len(); y++ {
				for z := 0; z < sss.At(y).Spans().Len(); z++ {
					id := sss.At(y).Spans().At(z).SpanID()
					spanIDs[fmt.Sprintf("%x", id[:])] = true
				}
			}
		}
	}

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", col.grpc), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	type result struct{ acked, retried int }
	var progress atomic.Int64 // requests acknowledged so far
	sent := make(chan result, 1)
	go func() {
		var r result
		for _, td := range batches {
			// Paced so that the load spans every kill.
			time.Sleep(10 * time.Millisecond)
			for attempt := 0; ; attempt++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
				cancel()
				if err == nil {
					r.acked += td.SpanCount()
					progress.Add(1)
					break
				}
				if attempt == 0 {
					r.retried++
				}
				if attempt > 600 {
					sent <- result{acked: -1}
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		sent <- r
	}()

	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	last := int64(0)
	for k := 0; k < kills; k++ {
		// Each kill waits for the load to flow again after the last restart.
		for deadline := time.Now().Add(60 * time.Second); progress.Load() < last+20; {
			if time.Now().After(deadline) {
				t.Fatalf("no progress after restart %d", k)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Half the kills are aimed just after an insert commits, before the
		// queue marks the request done: the window where a replay could
		// duplicate rows. The rest land anywhere.
		if k%2 == 0 {
			col.waitForInsert(5 * time.Second)
		} else {
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		}
		at := progress.Load()
		last = at
		if at == 0 || at >= int64(requests) {
			t.Fatalf("kill %d came at request %d of %d: not under load", k+1, at, requests)
		}
		col.signal(syscall.SIGKILL)
		t.Logf("SIGKILL %d of %d after %d of %d requests", k+1, kills, at, requests)
		col.start()
	}
	res := <-sent
	acked := res.acked
	if acked < 0 {
		t.Fatal("a request was never acknowledged")
	}
	col.drain(120 * time.Second)
	col.signal(syscall.SIGTERM)

	s, err := chstore.OpenEmbedded(filepath.Join(dir, "clickhouse"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.Query(context.Background(), `SELECT count(), uniqExact(span_id) FROM
		(SELECT span_id FROM aiops.genai_spans UNION ALL SELECT span_id FROM aiops.spans)`)
	if err != nil {
		t.Fatal(err)
	}
	stored, unique := rows.Data[0][0].(uint64), rows.Data[0][1].(uint64)
	t.Logf("%d requests, %d kills, %d requests retried: %d spans acknowledged, %d rows stored, %d distinct",
		requests, kills, res.retried, acked, stored, unique)
	if acked < len(spanIDs) {
		t.Fatalf("acknowledged %d spans, generated %d distinct", acked, len(spanIDs))
	}
	if stored != unique {
		t.Errorf("%d duplicate rows", stored-unique)
	}
	if unique != uint64(len(spanIDs)) {
		t.Errorf("stored %d distinct spans, every one of the %d acknowledged must be there", unique, len(spanIDs))
	}
}
