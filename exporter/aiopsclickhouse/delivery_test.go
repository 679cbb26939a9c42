package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// faultyStore injects failures around the real engine.
type faultyStore struct {
	chstore.Store
	mu         sync.Mutex
	failBefore int   // inserts refused before reaching the engine
	failAfter  int   // inserts committed, then reported as failed (a lost reply)
	permanent  error // returned for every insert when set
	inserts    int
}

func (f *faultyStore) Insert(ctx context.Context, b *chstore.Batch, tok string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inserts++
	if f.permanent != nil {
		return f.permanent
	}
	if f.failBefore > 0 {
		f.failBefore--
		return errors.New("injected: connection reset before the insert was sent")
	}
	err := f.Store.Insert(ctx, b, tok)
	if err == nil && f.failAfter > 0 {
		f.failAfter--
		return errors.New("injected: connection lost after the insert committed")
	}
	return err
}

// startWith builds the exporter as the factory does, with the store wrapped.
func startWith(t *testing.T, cfg *Config, wrap func(chstore.Store) chstore.Store) (consumer.Traces, consumer.Logs) {
	t.Helper()
	ctx := context.Background()
	set := exportertest.NewNopSettings(metadata.Type)
	e, err := newExporter(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	e.storeFor = wrap
	tr, err := newTracesExporter(ctx, set, cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	// The logs side shares the exporter, as a second pipeline would share the engine.
	lg, err := exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return stampTraces{tr}, stampLogs{lg}
}

func fastRetry(cfg *Config) {
	cfg.RetryConfig.Enabled = true
	cfg.RetryConfig.InitialInterval = 5 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 10 * time.Second
}

func scalar(t *testing.T, q string) any {
	t.Helper()
	rows, err := openStore(t).Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return rows.Data[0][0]
}

// manyTraces makes n GenAI spans (and n/10 HTTP spans) with distinct ids.
func manyTraces(seed, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		s.SetName("chat gpt-4o")
		s.SetTraceID(pcommon.TraceID{byte(seed), byte(seed >> 8), byte(i), byte(i >> 8), byte(i >> 16)})
		s.SetSpanID(pcommon.SpanID{byte(seed), byte(seed >> 8), byte(i), byte(i >> 8), byte(i >> 16), 1})
		s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(seed*1_000_000+i)))
		s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		s.Attributes().PutInt("gen_ai.usage.input_tokens", int64(i))
		if i%10 == 0 {
			h := spans.AppendEmpty()
			h.SetName("GET /x")
			h.SetTraceID(s.TraceID())
			h.SetSpanID(pcommon.SpanID{byte(seed), byte(seed >> 8), byte(i), byte(i >> 8), byte(i >> 16), 2})
			h.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	return td
}

func TestInjectedFailuresAreRetriedWithoutLossOrDuplicates(t *testing.T) {
	for name, f := range map[string]*faultyStore{
		"refused before send":     {failBefore: 3},
		"reply lost after commit": {failAfter: 2},
		"both":                    {failBefore: 2, failAfter: 2},
	} {
		t.Run(name, func(t *testing.T) {
			db := "fault_" + strings.ReplaceAll(name, " ", "_")
			cfg := testConfig(db)
			fastRetry(cfg)
			push, _ := startWith(t, cfg, func(s chstore.Store) chstore.Store { f.Store = s; return f })
			for i := 0; i < 3; i++ {
				if err := push.ConsumeTraces(context.Background(), manyTraces(i, 500)); err != nil {
					t.Fatal(err)
				}
			}
			if n := scalar(t, "SELECT count() FROM "+db+".genai_spans"); n != uint64(1500) {
				t.Errorf("genai_spans has %d rows, want 1500", n)
			}
			if n := scalar(t, "SELECT toUInt64(count() - uniqExact(span_id)) FROM "+db+".genai_spans"); n != uint64(0) {
				t.Errorf("%d duplicate span ids", n)
			}
			if n := scalar(t, "SELECT count() FROM "+db+".spans"); n != uint64(150) {
				t.Errorf("spans has %d rows, want 150", n)
			}
			if f.failBefore != 0 || f.failAfter != 0 || f.inserts < 6 {
				t.Errorf("faults not all exercised: %+v", f)
			}
		})
	}
}

// After a crash the persistent queue hands back requests that were in flight,
// and the batcher may group them differently. Requests already stored are
// skipped, the rest inserted.
func TestRegroupedRequestsAfterACrashAreStoredOnce(t *testing.T) {
	cfg := testConfig("regroup")
	push, _ := startWith(t, cfg, nil)
	a, b, c := manyTraces(1, 100), manyTraces(2, 100), manyTraces(3, 100)
	stamp := func(td ptrace.Traces) ptrace.Traces {
		td.ResourceSpans().At(0).Resource().Attributes().PutStr(insertTokenKey, tracesToken(td))
		return td
	}
	merge := func(parts ...ptrace.Traces) ptrace.Traces {
		out := ptrace.NewTraces()
		for _, p := range parts {
			cp := ptrace.NewTraces()
			p.CopyTo(cp)
			cp.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
		}
		return out
	}
	stamp(a)
	stamp(b)
	stamp(c)
	if err := push.ConsumeTraces(context.Background(), merge(a, b)); err != nil { // committed, then the crash
		t.Fatal(err)
	}
	if err := push.ConsumeTraces(context.Background(), merge(b, c)); err != nil { // replayed in a new grouping
		t.Fatal(err)
	}
	if err := push.ConsumeTraces(context.Background(), merge(a)); err != nil {
		t.Fatal(err)
	}
	// A client re-sent c after losing its reply: both copies, one token, one batch.
	d := manyTraces(4, 100)
	stamp(d)
	if err := push.ConsumeTraces(context.Background(), merge(d, d, d)); err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, "SELECT count() FROM regroup.genai_spans"); n != uint64(400) {
		t.Fatalf("%d rows, want 400", n)
	}
	if n := scalar(t, "SELECT toUInt64(count() - uniqExact(span_id)) FROM regroup.genai_spans"); n != uint64(0) {
		t.Fatalf("%d duplicates", n)
	}
	if n := scalar(t, "SELECT sum(requests) FROM regroup.genai_usage_hourly"); n != uint64(400) {
		t.Fatalf("rollup counted %d requests, want 400", n)
	}
}

func TestPermanentErrorsGoToTheDeadLetterDirectory(t *testing.T) {
	cfg := testConfig("dlq")
	cfg.DeadLetterDir = filepath.Join(t.TempDir(), "dead")
	fastRetry(cfg)
	f := &faultyStore{permanent: fmt.Errorf("wrapped: %w", &chstore.BatchError{Err: errors.New("value does not fit")})}
	push, _ := startWith(t, cfg, func(s chstore.Store) chstore.Store { f.Store = s; return f })
	if err := push.ConsumeTraces(context.Background(), manyTraces(7, 20)); err != nil {
		t.Fatalf("a dead-lettered batch is kept, not failed: %v", err)
	}
	if f.inserts != 2 { // one per table (genai_spans, spans), none retried
		t.Fatalf("a permanent error was retried: %d inserts", f.inserts)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DeadLetterDir, "*.traces.otlp.json"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files: %v", files)
	}
	reason, _ := os.ReadFile(files[0] + ".error.txt")
	if !strings.Contains(string(reason), "value does not fit") {
		t.Fatalf("reason file: %q", reason)
	}
	// The file is OTLP JSON with its tokens: replaying it twice stores it once.
	body, _ := os.ReadFile(files[0])
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	if err != nil || td.SpanCount() != 22 {
		t.Fatalf("dead-letter file does not hold the batch: %v, %d spans", err, td.SpanCount())
	}
	f.permanent = nil
	for i := 0; i < 2; i++ {
		if err := push.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	if n := scalar(t, "SELECT count() FROM dlq.genai_spans"); n != uint64(20) {
		t.Fatalf("replay stored %d rows, want 20", n)
	}
}

func TestEveryTableRoundTripsEdgeValues(t *testing.T) {
	push, logs := startWith(t, testConfig("edge"), nil)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "édge-☃")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	s := spans.AppendEmpty()
	s.SetName("chat \xff bad")
	s.SetTraceID(pcommon.TraceID{9, 9})
	s.SetSpanID(pcommon.SpanID{9, 1})
	s.SetStartTimestamp(pcommon.Timestamp(1_763_700_000_123_456_789))
	a := s.Attributes()
	a.PutStr("gen_ai.request.model", "")
	a.PutStr("gen_ai.provider.name", "openai")
	a.PutInt("gen_ai.usage.input_tokens", math.MaxInt64)
	a.PutInt("gen_ai.usage.output_tokens", -5) // repaired to 0 and counted
	a.PutDouble("gen_ai.usage.cost", 0)
	a.PutStr("user.id", "用户-\xfe")
	for i := 0; i < 10000; i++ {
		a.PutStr(fmt.Sprintf("app.k%05d", i), strings.Repeat("v", i%7))
	}
	ev := s.Events().AppendEmpty()
	ev.SetName("aiops.policy")
	ev.SetTimestamp(s.StartTimestamp())
	ev.Attributes().PutStr("aiops.policy.name", "pii.email")
	ev.Attributes().PutStr("aiops.policy.action", "mask")
	ev.Attributes().PutStr("aiops.policy.severity", "medium")
	ev.Attributes().PutInt("aiops.policy.count", 2)
	h := spans.AppendEmpty()
	h.SetName("GET /api/chat")
	h.SetKind(ptrace.SpanKindServer)
	h.SetTraceID(pcommon.TraceID{9, 9})
	h.SetSpanID(pcommon.SpanID{9, 2})
	h.SetStartTimestamp(s.StartTimestamp())
	h.SetEndTimestamp(s.StartTimestamp() + 5e6)
	h.Status().SetCode(ptrace.StatusCodeError)
	h.Attributes().PutInt("http.response.status_code", 503)
	h.Attributes().PutStr("http.route", "/api/chat")
	if err := push.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.evaluation.result")
	lr.SetTimestamp(s.StartTimestamp() + 1e9)
	lr.SetTraceID(s.TraceID())
	lr.SetSpanID(s.SpanID())
	lr.Attributes().PutStr("gen_ai.evaluation.name", "relevance")
	lr.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.25)
	lr.Attributes().PutStr("gen_ai.evaluation.score.label", "fail")
	lr.Attributes().PutStr("gen_ai.evaluation.explanation", "off topic ✗")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().Body().SetStr("an ordinary log line")
	if err := logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}

	st := openStore(t)
	ctx := context.Background()
	g, err := st.Query(ctx, "SELECT span_name, service_name, user_id, input_tokens, output_tokens, cost_usd, length(attributes), request_model, insert_token != '' FROM edge.genai_spans")
	if err != nil || len(g.Data) != 1 {
		t.Fatalf("genai_spans: %v %v", g, err)
	}
	want := []any{"chat \uFFFD bad", "édge-☃", "用户-\uFFFD", uint64(math.MaxInt64), uint64(0), decimal.Zero, uint64(10000 + 1), "", uint8(1)} // promoted keys have their own columns
	for i, w := range want {
		got := g.Data[0][i]
		if d, ok := got.(decimal.Decimal); ok {
			got = d.String()
			w = w.(decimal.Decimal).String()
		}
		if got != w {
			t.Errorf("genai_spans.%s = %#v, want %#v", g.Columns[i], got, w)
		}
	}
	sp, err := st.Query(ctx, "SELECT span_name, span_kind, status_code, http_status_code, http_route, duration_ns, service_name FROM edge.spans")
	if err != nil || len(sp.Data) != 1 {
		t.Fatalf("spans: %v %v", sp, err)
	}
	if fmt.Sprint(sp.Data[0]) != "[GET /api/chat Server Error 503 /api/chat 5000000 édge-☃]" {
		t.Errorf("spans row: %v", sp.Data[0])
	}
	ev2, err := st.Query(ctx, `SELECT event_name, name, action, severity, score_value, score_label, explanation, span_id, service_name
		FROM edge.genai_events ORDER BY event_name`)
	if err != nil || len(ev2.Data) != 2 {
		t.Fatalf("genai_events: %v %v", ev2, err)
	}
	if r := ev2.Data[0]; r[0] != "aiops.policy" || r[1] != "pii.email" || r[2] != "mask" || r[3] != "medium" || r[4] != nil || r[7] != "0901000000000000" {
		t.Errorf("policy event: %v", r)
	}
	if r := ev2.Data[1]; r[0] != "gen_ai.evaluation.result" || r[1] != "relevance" || *r[4].(*float64) != 0.25 || r[5] != "fail" || r[6] != "off topic ✗" || r[7] != "0901000000000000" {
		t.Errorf("evaluation event: %v", r)
	}
	// The evaluation joins the span it judges.
	if n := scalar(t, `SELECT count() FROM edge.genai_events e INNER JOIN edge.genai_spans s
		ON e.trace_id = s.trace_id AND e.span_id = s.span_id WHERE e.event_name = 'gen_ai.evaluation.result'`); n != uint64(1) {
		t.Errorf("evaluation joined %d spans, want 1", n)
	}
}

func TestResponseIDOnlyEvaluationIsLinkedToItsSpan(t *testing.T) {
	push, logs := startWith(t, testConfig("link"), nil)
	td := sampleTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("gen_ai.response.id", "chatcmpl-'abc\\")
	if err := push.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	for _, id := range []string{"chatcmpl-'abc\\", "chatcmpl-unknown"} {
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetEventName("gen_ai.evaluation.result")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Attributes().PutStr("gen_ai.response.id", id)
		lr.Attributes().PutStr("gen_ai.evaluation.name", "faithfulness")
		lr.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.9)
	}
	if err := logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	rows, err := openStore(t).Query(context.Background(), `SELECT e.response_id, e.trace_id, e.span_id, s.span_name
		FROM link.genai_events e LEFT JOIN link.genai_spans s ON e.trace_id = s.trace_id AND e.span_id = s.span_id
		ORDER BY e.response_id`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 2 {
		t.Fatalf("rows: %v", rows.Data)
	}
	if r := rows.Data[0]; r[0] != "chatcmpl-'abc\\" || r[1] != "01020300000000000000000000000000" || r[2] != "0100000000000000" || r[3] != "chat gpt-4o" {
		t.Errorf("linked evaluation: %v", r)
	}
	if r := rows.Data[1]; r[0] != "chatcmpl-unknown" || r[2] != "" {
		t.Errorf("an evaluation of an unknown response stays unlinked: %v", r)
	}
}
