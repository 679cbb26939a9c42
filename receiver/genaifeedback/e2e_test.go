package genaifeedback

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
)

// One embedded engine per process: every test shares this data directory
// and uses its own database.
var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

func exporterConfig(db string) *aiopsclickhouse.Config {
	cfg := aiopsclickhouse.NewFactory().CreateDefaultConfig().(*aiopsclickhouse.Config)
	cfg.Database = db
	cfg.Embedded.Path = dataDir
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // synchronous: errors reach the test
	cfg.RetryConfig.Enabled = false
	return cfg
}

func spanExporter(t *testing.T, db string) consumer.Traces {
	t.Helper()
	f := aiopsclickhouse.NewFactory()
	exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), exporterConfig(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return exp
}

func logExporter(t *testing.T, db string) consumer.Logs {
	t.Helper()
	f := aiopsclickhouse.NewFactory()
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), exporterConfig(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return exp
}

func query(t *testing.T, sql string) [][]any {
	t.Helper()
	s, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	// Nullable columns come back as pointers; compare their values.
	for _, r := range rows.Data {
		for i, v := range r {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
				if rv.IsNil() {
					r[i] = nil
				} else {
					r[i] = rv.Elem().Interface()
				}
			}
		}
	}
	return rows.Data
}

var chatStart = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// chatSpan is one GenAI chat call, as an instrumented app sends it.
func chatSpan(traceID pcommon.TraceID, spanID pcommon.SpanID, responseID string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "support-bot")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("chat gpt-4o")
	s.SetTraceID(traceID)
	s.SetSpanID(spanID)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(chatStart))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(chatStart.Add(1200 * time.Millisecond)))
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o")
	a.PutStr("gen_ai.response.id", responseID)
	a.PutInt("gen_ai.usage.input_tokens", 900)
	a.PutInt("gen_ai.usage.output_tokens", 150)
	return td
}

func TestEvaluationAndSpanArriveSeparatelyAndJoin(t *testing.T) {
	spans, events := spanExporter(t, "e2e_join"), logExporter(t, "e2e_join")
	h := start(t, testConfig(), events, nil)
	tid := pcommon.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	sid := pcommon.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}
	if tid.String() != traceHex || sid.String() != spanHex {
		t.Fatal("test ids disagree")
	}

	// The judge's result comes first, the traced call after it.
	eval := `[{"trace_id":"` + traceHex + `","span_id":"` + spanHex + `","name":"relevance","score_value":0.9,"score_label":"pass",
		"explanation":"answers the question","evaluator":{"name":"gpt-4o-judge","type":"llm"},"idempotency_key":"judge-run-1/0",
		"timestamp":"2026-11-21T10:05:00Z"}]`
	if r := h.post("/v1/evaluations", eval); r.status != http.StatusOK || r.num("accepted") != 1 {
		t.Fatalf("evaluation: %d %s", r.status, r.raw)
	}
	if err := spans.ConsumeTraces(context.Background(), chatSpan(tid, sid, "chatcmpl-join")); err != nil {
		t.Fatal(err)
	}
	fb := `[{"trace_id":"` + traceHex + `","span_id":"` + spanHex + `","rating":"down","comment":"too long","user_id":"u-7"}]`
	if r := h.post("/v1/feedback", fb, "Idempotency-Key", "widget-123"); r.status != http.StatusOK {
		t.Fatalf("feedback: %d %s", r.status, r.raw)
	}
	// The judge retries; the event is not written twice.
	if r := h.post("/v1/evaluations", eval); r.status != http.StatusOK || r.num("duplicates") != 1 {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}

	rows := query(t, `SELECT e.event_name, e.name, e.score_value, e.score_label, e.explanation, e.user_id, e.service_name,
			e.attributes['aiops.evaluator.name'], s.span_name, s.request_model, s.response_id
		FROM e2e_join.genai_events e INNER JOIN e2e_join.genai_spans s ON e.trace_id = s.trace_id AND e.span_id = s.span_id
		ORDER BY e.event_name`)
	want := []string{
		"[aiops.feedback thumbs 0 negative too long u-7 support-bot  chat gpt-4o gpt-4o chatcmpl-join]",
		"[gen_ai.evaluation.result relevance 0.9 pass answers the question  support-bot gpt-4o-judge chat gpt-4o gpt-4o chatcmpl-join]",
	}
	if len(rows) != len(want) {
		t.Fatalf("joined rows: %v", rows)
	}
	for i, w := range want {
		if got := fmt.Sprint(rows[i]); got != w {
			t.Errorf("row %d\n got %s\nwant %s", i, got, w)
		}
	}
	if n := query(t, "SELECT count() FROM e2e_join.genai_events")[0][0]; n != uint64(2) {
		t.Errorf("%v events stored, want 2", n)
	}
}

func TestResponseIDOnlyRecordsAreLinkedToTheirSpan(t *testing.T) {
	spans, events := spanExporter(t, "e2e_resp"), logExporter(t, "e2e_resp")
	h := start(t, testConfig(), events, nil)
	if err := spans.ConsumeTraces(context.Background(), chatSpan(pcommon.TraceID{7, 7, 7}, pcommon.SpanID{7, 1}, "chatcmpl-r1")); err != nil {
		t.Fatal(err)
	}
	if r := h.post("/v1/evaluations", `[{"response_id":"chatcmpl-r1","name":"toxicity","score_value":0.01}]`); r.status != http.StatusOK {
		t.Fatalf("evaluation: %d %s", r.status, r.raw)
	}
	if r := h.post("/v1/feedback", `[{"response_id":"chatcmpl-r1","rating":4}]`); r.status != http.StatusOK {
		t.Fatalf("feedback: %d %s", r.status, r.raw)
	}
	rows := query(t, `SELECT e.event_name, e.trace_id, e.span_id, e.response_id, s.span_name
		FROM e2e_resp.genai_events e LEFT JOIN e2e_resp.genai_spans s ON e.trace_id = s.trace_id AND e.span_id = s.span_id
		ORDER BY e.event_name`)
	want := "[[aiops.feedback 07070700000000000000000000000000 0701000000000000 chatcmpl-r1 chat gpt-4o] " +
		"[gen_ai.evaluation.result 07070700000000000000000000000000 0701000000000000 chatcmpl-r1 chat gpt-4o]]"
	if got := fmt.Sprint(rows); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestOTLPLogsStoreTheSameRows sends the same records once through the
// JSON API and once as OTLP log records built by hand, and compares every
// genai_events column but the request token.
func TestOTLPLogsStoreTheSameRows(t *testing.T) {
	h := start(t, testConfig(), logExporter(t, "via_json"), nil)
	r := h.post("/v1/evaluations", `[{"trace_id":"`+traceHex+`","span_id":"`+spanHex+`","response_id":"chatcmpl-9",
		"name":"groundedness","score_value":0.75,"score_label":"partial","explanation":"one claim unsupported",
		"evaluator":{"name":"ragas","type":"heuristic","version":"0.2"},"user_id":"u-1","tenant_id":"acme","workload":"kb",
		"timestamp":"2026-11-21T10:00:03Z","idempotency_key":"e-1","attributes":{"eval.run":"nightly","eval.sample":3}}]`)
	if r.status != http.StatusOK {
		t.Fatalf("evaluation: %d %s", r.status, r.raw)
	}
	r = h.post("/v1/feedback", `[{"trace_id":"`+traceHex+`","conversation_id":"conv-1","user_id":"u-2","rating":5,
		"comment":"exactly right","timestamp":"2026-11-21T10:00:09Z","service_name":"web-widget","idempotency_key":"f-1"}]`)
	if r.status != http.StatusOK {
		t.Fatalf("feedback: %d %s", r.status, r.raw)
	}

	ld := plog.NewLogs()
	tid, _ := hexID(traceHex, 16)
	sid, _ := hexID(spanHex, 8)
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "support-bot")
	ev := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	ev.SetEventName("gen_ai.evaluation.result")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 21, 10, 0, 3, 0, time.UTC)))
	ev.SetTraceID(pcommon.TraceID(tid))
	ev.SetSpanID(pcommon.SpanID(sid[:8]))
	a := ev.Attributes()
	a.PutStr("gen_ai.response.id", "chatcmpl-9")
	a.PutStr("gen_ai.evaluation.name", "groundedness")
	a.PutDouble("gen_ai.evaluation.score.value", 0.75)
	a.PutStr("gen_ai.evaluation.score.label", "partial")
	a.PutStr("gen_ai.evaluation.explanation", "one claim unsupported")
	a.PutStr("aiops.evaluator.name", "ragas")
	a.PutStr("aiops.evaluator.type", "heuristic")
	a.PutStr("aiops.evaluator.version", "0.2")
	a.PutStr("user.id", "u-1")
	a.PutStr("aiops.tenant.id", "acme")
	a.PutStr("aiops.workload", "kb")
	a.PutStr("aiops.idempotency_key", "e-1")
	a.PutStr("eval.run", "nightly")
	a.PutInt("eval.sample", 3)
	rl = ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "web-widget")
	fb := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	fb.SetEventName("aiops.feedback")
	fb.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 21, 10, 0, 9, 0, time.UTC)))
	fb.SetTraceID(pcommon.TraceID(tid))
	a = fb.Attributes()
	a.PutStr("gen_ai.conversation.id", "conv-1")
	a.PutStr("user.id", "u-2")
	a.PutStr("aiops.feedback.kind", "rating")
	a.PutDouble("aiops.feedback.rating", 5)
	a.PutStr("aiops.feedback.label", "positive")
	a.PutStr("aiops.feedback.comment", "exactly right")
	a.PutStr("aiops.idempotency_key", "f-1")
	if err := logExporter(t, "via_otlp").ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}

	const cols = "SELECT * EXCEPT (insert_token) FROM %s.genai_events ORDER BY event_name"
	viaJSON, viaOTLP := query(t, fmt.Sprintf(cols, "via_json")), query(t, fmt.Sprintf(cols, "via_otlp"))
	if len(viaJSON) != 2 || len(viaOTLP) != 2 {
		t.Fatalf("rows: json %v, otlp %v", viaJSON, viaOTLP)
	}
	for i := range viaJSON {
		if j, o := fmt.Sprint(viaJSON[i]), fmt.Sprint(viaOTLP[i]); j != o {
			t.Errorf("row %d differs\njson %s\notlp %s", i, j, o)
		}
	}
	// Guard against two empty rows comparing equal.
	got := fmt.Sprint(query(t, "SELECT event_name, name, score_value, score_label, explanation, service_name, workload, user_id, tenant_id, "+
		"response_id, span_id != '' FROM via_json.genai_events ORDER BY event_name"))
	want := "[[aiops.feedback rating 5 positive exactly right web-widget web-widget u-2   0] " +
		"[gen_ai.evaluation.result groundedness 0.75 partial one claim unsupported support-bot kb u-1 acme chatcmpl-9 1]]"
	if got != want {
		t.Errorf("stored\n got %s\nwant %s", got, want)
	}
}

// TestRetryAfterRestartIsDroppedByTheTable: a new receiver process has
// forgotten the keys, but a batch without timestamps hashes to the same
// insert token, so the exporter does not store it again.
func TestRetryAfterRestartIsDroppedByTheTable(t *testing.T) {
	events := logExporter(t, "e2e_restart")
	body := `[{"conversation_id":"c-9","rating":"up","idempotency_key":"w-1"},{"conversation_id":"c-9","rating":2,"idempotency_key":"w-2"}]`
	for i := 0; i < 2; i++ {
		h := start(t, testConfig(), events, nil) // a fresh receiver: an empty key set
		if r := h.post("/v1/feedback", body); r.status != http.StatusOK || r.num("accepted") != 2 {
			t.Fatalf("send %d: %d %s", i+1, r.status, r.raw)
		}
		if err := h.rcv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := query(t, "SELECT count() FROM e2e_restart.genai_events")[0][0]; n != uint64(2) {
		t.Fatalf("%v rows after the batch was sent to two receiver lifetimes, want 2", n)
	}
}
