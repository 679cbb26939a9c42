package aiopsclickhouse

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chproto "github.com/ClickHouse/ch-go/proto"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	pdatareq "go.opentelemetry.io/collector/pdata/xpdata/request"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// queuedTraces is a request with every column kind: GenAI spans with and
// without content, events, a plain span, an invalid UTF-8 value (repaired),
// two resources under different tokens.
func queuedTraces() ptrace.Traces {
	td := sampleTraces()
	td.ResourceSpans().At(0).Resource().Attributes().PutStr(insertTokenKey, "tok-a")
	more := benchTraces(3, 40)
	addContent(more)
	sp := more.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	sp.At(1).Attributes().PutStr("gen_ai.conversation.id", "bad \xff utf8")
	ev := sp.At(2).Events().AppendEmpty()
	ev.SetName("aiops.policy")
	ev.Attributes().PutStr("aiops.policy.action", "redact")
	sp.At(3).Attributes().PutDouble(genai.AIOpsRetrievalTopScore, 0.875) // a Nullable(Float32) value
	eval := sp.At(3).Events().AppendEmpty()
	eval.SetName("gen_ai.evaluation.result")
	eval.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.25) // a Nullable(Float64) value
	plain := sp.AppendEmpty()
	plain.SetName("GET /orders")
	plain.SetTraceID([16]byte{9, 9})
	plain.SetSpanID([8]byte{9})
	more.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	return td
}

func nativeOf(t *testing.T, b *builder) []byte {
	t.Helper()
	var buf chproto.Buffer
	if err := b.batch("db").EncodeNative(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Buf
}

func newCodecExporter(t *testing.T) *chExporter {
	t.Helper()
	e, err := newExporter(testConfig("codec"), benchSettings())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The queue gives back exactly the rows it was given: the Native block the
// store receives is byte for byte the one built from the request, and the
// dead-letter copy is the request as it arrived.
func TestQueuedRowsRoundTrip(t *testing.T) {
	e := newCodecExporter(t)
	td := queuedTraces()
	want := (&ptrace.JSONMarshaler{})
	wantJSON, _ := want.MarshalTraces(td)
	req, err := e.convertTraces(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	enc := tracesEncoding{e}
	b, err := enc.Marshal(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := enc.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	orig, back := req.(*tracesRequest), got.(*tracesRequest)
	if back.ItemsCount() != td.SpanCount() || len(back.parts) != 1 {
		t.Fatalf("items %d parts %d, want %d and 1", back.ItemsCount(), len(back.parts), td.SpanCount())
	}
	po, pb := orig.parts[0], back.parts[0]
	if pb.gen != nil || pb.cols == nil {
		t.Fatal("a queued part is decoded when read; its columns should wait for the write")
	}
	// Both ways a queued part's rows are decoded: into a batch's builders,
	// and into builders of its own (a batch that repeats a resource).
	batched, _, _, _, err := batchRows(back.parts)
	if err != nil {
		t.Fatal(err)
	}
	own, err := pb.builders()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*builder{po.gen, po.evs, po.other} {
		if want.n == 0 {
			t.Fatalf("table %d has no rows: the fixture does not cover it", i)
		}
		for _, got := range []*builder{batched[i], own[i]} {
			if !bytes.Equal(nativeOf(t, want), nativeOf(t, got)) {
				t.Errorf("table %s: decoded rows encode differently from the originals", want.s.table)
			}
		}
	}
	gen, evs := batched[0], batched[1]
	// Nullable values come back set where they were set, with their value.
	var scores []float64
	for _, v := range gen.cols[genaiSpansSchema.col("retrieval_top_score")].(*vals[*float32]).v {
		if v != nil {
			scores = append(scores, float64(*v))
		}
	}
	for _, v := range evs.cols[genaiEventsSchema.col("score_value")].(*vals[*float64]).v {
		if v != nil {
			scores = append(scores, *v)
		}
	}
	if len(scores) != 2 || scores[0] != 0.875 || scores[1] != 0.25 {
		t.Errorf("nullable values after the queue: %v, want [0.875 0.25]", scores)
	}
	if gen.repaired["invalid_utf8"] == 0 || gen.repaired["invalid_utf8"] != po.gen.repaired["invalid_utf8"] {
		t.Errorf("repair counts after the queue: %v, before %v", gen.repaired, po.gen.repaired)
	}
	// A record read back and queued again (the queue re-offers what it had
	// not dispatched at start) is the same record.
	if again, err := enc.Marshal(context.Background(), back); err != nil || !bytes.Equal(again, b) {
		t.Errorf("a read record queued again differs from the record (%v)", err)
	}
	if len(pb.res) != 2 || pb.res[0].token != "tok-a" || pb.res[1].token != "bench-3" || pb.res[0] != po.res[0] || pb.res[1] != po.res[1] {
		t.Errorf("resources after the queue: %+v, want %+v", pb.res, po.res)
	}
	dead, err := back.traces(nil)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := want.MarshalTraces(dead)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Error("the dead-letter copy of a queued request differs from the request")
	}
	only, _ := back.traces(map[string]bool{"bench-3": true})
	if only.ResourceSpans().Len() != 1 || only.SpanCount() != 41 {
		t.Errorf("dead-letter copy of one request: %d resources, %d spans; want 1 and 41", only.ResourceSpans().Len(), only.SpanCount())
	}
}

// Merged requests keep each request's rows and resources; a resource a
// batch carries twice is stored once and counted as a repeat.
// Requests are merged as they arrived (in a queue without storage) or as
// read back from the queue's records.
func TestMergedRequestsSkipRepeatedResources(t *testing.T) {
	e := newCodecExporter(t)
	ctx := context.Background()
	for _, queued := range []bool{false, true} {
		request := func(seed, n int) xexporterhelper.Request {
			r, _ := e.convertTraces(ctx, benchTraces(seed, n))
			if queued {
				rec, _ := tracesEncoding{e}.Marshal(ctx, r)
				_, r, _ = tracesEncoding{e}.Unmarshal(rec)
			}
			return r
		}
		m, err := request(1, 10).MergeSplit(ctx, 0, exporterhelper.RequestSizerTypeItems, request(2, 7))
		if err != nil {
			t.Fatal(err)
		}
		m, _ = m[0].MergeSplit(ctx, 0, exporterhelper.RequestSizerTypeItems, request(1, 10))
		req := m[0].(*tracesRequest)
		if req.ItemsCount() != 27 {
			t.Fatalf("queued %v: items %d, want 27", queued, req.ItemsCount())
		}
		rows, toks, repeated, _, err := batchRows(req.parts)
		gen := rows[0]
		if err != nil || gen.n != 17 || repeated != 10 || len(toks) != 3 {
			t.Fatalf("queued %v: rows %d repeated %d tokens %v (%v); want 17, 10 and three tokens", queued, gen.n, repeated, toks, err)
		}
		ids := gen.strings(gen.s.col("insert_token"))
		if ids[0] != "bench-1" || ids[9] != "bench-1" || ids[10] != "bench-2" || ids[16] != "bench-2" {
			t.Errorf("queued %v: row tokens %v", queued, ids)
		}
		nativeOf(t, gen) // every column has every row
	}
}

// A record written before a schema change reads: a column it lacks is zero,
// one the schema no longer has is dropped.
func TestQueuedRowsSurviveSchemaChanges(t *testing.T) {
	old := &schema{table: genaiSpansSchema.table, pos: map[string]int{}}
	for _, c := range genaiSpansSchema.cols {
		if c.Name == "workload" {
			continue // a column added since the record was written
		}
		old.pos[c.Name] = len(old.cols)
		old.cols = append(old.cols, c)
	}
	old.pos["retired_column"] = len(old.cols)
	old.cols = append(old.cols, chstore.ColumnDef{Name: "retired_column", Type: "Array(Float64)"})
	b := newBuilder(old, 2)
	for r := 0; r < 2; r++ {
		for i, c := range b.cols {
			if i == old.pos["retired_column"] {
				add(b, i, []float64{1.5, float64(r)})
				continue
			}
			c.grow(1)
		}
		b.endRow()
	}
	sid := b.strings(old.pos["span_id"])
	sid[0], sid[1] = "00000000000000a1", "00000000000000a2"
	d := &decoder{b: b.encode(nil)}
	got := newBuilder(genaiSpansSchema, 0)
	d.rows(genaiSpansSchema, got)
	if d.err != nil || d.pos != len(d.b) {
		t.Fatalf("decode: %v at %d of %d", d.err, d.pos, len(d.b))
	}
	if got.n != 2 || got.strings(genaiSpansSchema.col("span_id"))[1] != "00000000000000a2" {
		t.Errorf("rows %d, span ids %v", got.n, got.strings(genaiSpansSchema.col("span_id")))
	}
	if w := got.strings(genaiSpansSchema.col("workload")); len(w) != 2 || w[0] != "" {
		t.Errorf("missing column not zero-filled: %q", w)
	}
	nativeOf(t, got) // the batch is whole: every column has every row
}

// Records queued by releases that queued OTLP are converted as read.
func TestQueuedOTLPFromEarlierReleasesIsConverted(t *testing.T) {
	e := newCodecExporter(t)
	td := queuedTraces()
	legacy, err := pdatareq.MarshalTraces(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := tracesEncoding{e}.Unmarshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := e.convertTraces(context.Background(), queuedTraces())
	g, w := got.(*tracesRequest).parts[0], want.(*tracesRequest).parts[0]
	if !bytes.Equal(nativeOf(t, g.gen), nativeOf(t, w.gen)) || g.other.n != w.other.n || g.evs.n != w.evs.n {
		t.Error("an OTLP record converts to other rows than the request itself")
	}
}

// A damaged record never panics nor allocates wildly, and never fails: the
// queue would drop it. It becomes a request that keeps the record.
func TestDamagedQueuedRecordsAreKept(t *testing.T) {
	e := newCodecExporter(t)
	req, _ := e.convertTraces(context.Background(), queuedTraces())
	enc := tracesEncoding{e}
	b, _ := enc.Marshal(context.Background(), req)
	unread := func(c []byte) *spanRows {
		t.Helper()
		_, got, err := enc.Unmarshal(c)
		if err != nil {
			t.Fatalf("Unmarshal failed: %v", err)
		}
		r := got.(*tracesRequest)
		for _, p := range r.parts {
			if p.readErr != nil {
				if !bytes.Equal(p.record, c) {
					t.Fatal("an unreadable record is not kept as it is")
				}
				return p
			}
		}
		// What read is decoded when written, and must decode whole.
		rows, _, _, _, err := batchRows(r.parts)
		if err != nil {
			t.Fatalf("a record that read does not decode: %v", err)
		}
		for _, b := range rows {
			if err := b.batch("db").Validate(); err != nil {
				t.Fatalf("a record that read decodes to ragged rows: %v", err)
			}
		}
		return nil
	}
	for n := len(rowsMagic); n < len(b); n += 1 + n/50 {
		p := unread(append([]byte(nil), b[:n]...))
		if p == nil {
			t.Fatalf("a record cut at %d of %d bytes read as rows", n, len(b))
		}
		if n > len(rowsMagic)+4 && p.spans != req.ItemsCount() {
			t.Fatalf("cut at %d: %d items, want the header's %d", n, p.spans, req.ItemsCount())
		}
	}
	garbage := []byte("neither rows nor OTLP")
	if unread(garbage) == nil {
		t.Fatal("garbage read as a request")
	}
	// The queue re-offers undispatched records at start: one that did not
	// read is written back as it was.
	_, r, _ := enc.Unmarshal(garbage)
	if again, err := enc.Marshal(context.Background(), r); err != nil || !bytes.Equal(again, garbage) {
		t.Fatalf("an unreadable record queued again: %q, %v", again, err)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		c := append([]byte(nil), b...)
		for j := 0; j < 1+rng.Intn(4); j++ {
			c[len(rowsMagic)+rng.Intn(len(c)-len(rowsMagic))] = byte(rng.Intn(256))
		}
		unread(c) // must return, whatever it reads
	}
}

// A batch holding an unreadable record stores the readable requests and
// keeps the record, byte for byte, in the dead-letter directory.
func TestUnreadableRecordGoesToTheDeadLetterDirectory(t *testing.T) {
	cfg := testConfig("unreadable_record")
	cfg.DeadLetterDir = t.TempDir()
	e, err := newExporter(cfg, benchSettings())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	defer e.shutdown(ctx)
	good, _ := e.convertTraces(ctx, benchTraces(7, 25))
	enc := tracesEncoding{e}
	rec, _ := enc.Marshal(ctx, good)
	damaged := append([]byte(nil), rec[:len(rec)/2]...)
	_, bad, _ := enc.Unmarshal(damaged)
	merged, err := good.MergeSplit(ctx, 0, exporterhelper.RequestSizerTypeItems, bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pushRequest(ctx, merged[0]); err != nil {
		t.Fatalf("push: %v", err)
	}
	st, _ := e.current()
	r, err := st.Query(ctx, "SELECT count() FROM unreadable_record.genai_spans")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Data[0][0].(uint64); got != 25 {
		t.Errorf("stored %d spans, want the readable request's 25", got)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DeadLetterDir, "*.traces.queue-record"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files %v", files)
	}
	kept, _ := os.ReadFile(files[0])
	reason, _ := os.ReadFile(files[0] + ".error.txt")
	if !bytes.Equal(kept, damaged) || !strings.Contains(string(reason), "queued traces record") {
		t.Errorf("kept %d bytes (want %d), reason %q", len(kept), len(damaged), reason)
	}
}

func BenchmarkQueueCodec(b *testing.B) {
	e, _ := newExporter(testConfig("codec"), benchSettings())
	td := benchTraces(1, 10000)
	addContent(td)
	enc := tracesEncoding{e}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := e.convertTraces(context.Background(), td)
		buf, err := enc.Marshal(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		_, back, err := enc.Unmarshal(buf)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, _, err := batchRows(back.(*tracesRequest).parts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// The queue round trip it replaces: OTLP proto out and back into pdata,
// then rows.
func BenchmarkQueueCodecOTLP(b *testing.B) {
	e, _ := newExporter(testConfig("codec"), benchSettings())
	td := benchTraces(1, 10000)
	addContent(td)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, err := pdatareq.MarshalTraces(context.Background(), td)
		if err != nil {
			b.Fatal(err)
		}
		_, back, err := pdatareq.UnmarshalTraces(buf)
		if err != nil {
			b.Fatal(err)
		}
		e.spanRows(back)
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "spans/s")
}
