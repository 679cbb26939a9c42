package genaifeedback

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// attrs renders a map sorted, with value types, for exact comparison.
func attrs(m pcommon.Map) string {
	var kv []string
	m.Range(func(k string, v pcommon.Value) bool {
		kv = append(kv, fmt.Sprintf("%s=%s(%s)", k, v.Type(), v.AsString()))
		return true
	})
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

func TestEvaluationBecomesAnEvaluationEvent(t *testing.T) {
	h := start(t, testConfig(), nil, nil)
	before := time.Now()
	r := h.post("/v1/evaluations", `[{
		"trace_id": "0AF7651916CD43DD8448EB211C80319C", "span_id": "b7ad6b7169203331",
		"response_id": "chatcmpl-123", "conversation_id": "conv-9", "user_id": "u-42",
		"name": "faithfulness", "score_value": 0.25, "score_label": "fail", "explanation": "cites a document it was not given",
		"evaluator": {"name": "gpt-4o-judge", "type": "llm", "version": "2026-04"},
		"timestamp": "2026-05-01T12:00:00.5Z", "service_name": "rag-api", "workload": "kb-search", "tenant_id": "acme",
		"idempotency_key": "run-1/42", "attributes": {"eval.run": "nightly", "eval.dataset_size": 500, "eval.threshold": 0.5, "eval.blocking": true}
	}]`)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	ld := h.sink.AllLogs()[0]
	rl := ld.ResourceLogs().At(0)
	if got := attrs(rl.Resource().Attributes()); got != "service.name=Str(rag-api)" {
		t.Errorf("resource: %s", got)
	}
	if s := rl.ScopeLogs().At(0).Scope(); s.Name() != "github.com/otelcol-aiops/otelcol-aiops/receiver/genaifeedback" {
		t.Errorf("scope: %s", s.Name())
	}
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	if lr.EventName() != "gen_ai.evaluation.result" || lr.TraceID().String() != traceHex || lr.SpanID().String() != spanHex {
		t.Errorf("event %q trace %s span %s", lr.EventName(), lr.TraceID(), lr.SpanID())
	}
	if lr.Timestamp().AsTime() != time.Date(2026, 5, 1, 12, 0, 0, 5e8, time.UTC) {
		t.Errorf("timestamp %v", lr.Timestamp().AsTime())
	}
	if obs := lr.ObservedTimestamp().AsTime(); obs.Before(before) || obs.After(time.Now()) {
		t.Errorf("observed timestamp %v is not the receive time", obs)
	}
	want := "aiops.evaluator.name=Str(gpt-4o-judge) aiops.evaluator.type=Str(llm) aiops.evaluator.version=Str(2026-04) " +
		"aiops.idempotency_key=Str(run-1/42) aiops.tenant.id=Str(acme) aiops.workload=Str(kb-search) " +
		"eval.blocking=Bool(true) eval.dataset_size=Int(500) eval.run=Str(nightly) eval.threshold=Double(0.5) " +
		"gen_ai.conversation.id=Str(conv-9) gen_ai.evaluation.explanation=Str(cites a document it was not given) " +
		"gen_ai.evaluation.name=Str(faithfulness) gen_ai.evaluation.score.label=Str(fail) gen_ai.evaluation.score.value=Double(0.25) " +
		"gen_ai.response.id=Str(chatcmpl-123) user.id=Str(u-42)"
	if got := attrs(lr.Attributes()); got != want {
		t.Errorf("attributes\n got %s\nwant %s", got, want)
	}
}

func TestFeedbackBecomesAFeedbackEvent(t *testing.T) {
	h := start(t, testConfig(), nil, nil)
	r := h.post("/v1/feedback", `[
		{"response_id": "chatcmpl-1", "rating": "up", "user_id": "u-1"},
		{"trace_id": "`+traceHex+`", "rating": "down", "comment": "wrong answer", "conversation_id": "c-1", "service_name": "other-bot"},
		{"conversation_id": "c-2", "rating": 3, "timestamp": 1777636800000000000},
		{"conversation_id": "c-3", "rating": 4.5},
		{"conversation_id": "c-4", "rating": 2, "label": "neutral"}
	]`)
	if r.status != http.StatusOK || r.num("accepted") != 5 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	ld := h.sink.AllLogs()[0]
	if n := ld.ResourceLogs().Len(); n != 2 {
		t.Fatalf("%d resources, want one per service", n)
	}
	var got []string
	forEachRecord(ld, func(svc string, lr plog.LogRecord) {
		if lr.EventName() != "aiops.feedback" {
			t.Errorf("event name %q", lr.EventName())
		}
		got = append(got, svc+" "+attrs(lr.Attributes()))
	})
	want := []string{
		"support-bot aiops.feedback.kind=Str(thumbs) aiops.feedback.label=Str(positive) aiops.feedback.rating=Double(1) gen_ai.response.id=Str(chatcmpl-1) user.id=Str(u-1)",
		"support-bot aiops.feedback.kind=Str(rating) aiops.feedback.label=Str(neutral) aiops.feedback.rating=Double(3) gen_ai.conversation.id=Str(c-2)",
		"support-bot aiops.feedback.kind=Str(rating) aiops.feedback.label=Str(positive) aiops.feedback.rating=Double(4.5) gen_ai.conversation.id=Str(c-3)",
		"support-bot aiops.feedback.kind=Str(rating) aiops.feedback.label=Str(neutral) aiops.feedback.rating=Double(2) gen_ai.conversation.id=Str(c-4)",
		"other-bot aiops.feedback.comment=Str(wrong answer) aiops.feedback.kind=Str(thumbs) aiops.feedback.label=Str(negative) aiops.feedback.rating=Double(0) gen_ai.conversation.id=Str(c-1)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	third := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	if third.Timestamp() != 1777636800000000000 {
		t.Errorf("unix-nanosecond timestamp read as %d", third.Timestamp())
	}
	first := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if first.Timestamp() != 0 || first.ObservedTimestamp() == 0 || !first.TraceID().IsEmpty() {
		t.Errorf("no timestamp given: timestamp %d observed %d trace %s", first.Timestamp(), first.ObservedTimestamp(), first.TraceID())
	}
}

func TestValidationNamesTheField(t *testing.T) {
	noDefault := testConfig()
	noDefault.ServiceName = ""
	hs := map[bool]*harness{true: start(t, testConfig(), nil, nil), false: start(t, noDefault, nil, nil)}
	ev := `"trace_id":"` + traceHex + `","name":"relevance"`
	fb := `"trace_id":"` + traceHex + `"`
	for _, c := range []struct {
		path, body, want string
		noDefault        bool
	}{
		{"/v1/evaluations", `{"records": []}`, "body: must be a JSON array of records, got object", false},
		{"/v1/evaluations", `null`, "body: must be a JSON array of records, got null", false},
		{"/v1/evaluations", `[]`, "body: the array is empty; send at least one record", false},
		{"/v1/evaluations", ``, "body: empty; expected a JSON array of records", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1}, 7]`, "records[1]: must be an object, got number", false},
		{"/v1/evaluations", `[null]`, "records[0]: must be an object, got null", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":"0.5"}]`, "records[0].score_value: must be a number, got string", false},
		{"/v1/evaluations", `[{` + ev + `,"score_label":5}]`, "records[0].score_label: must be a string, got number", false},
		{"/v1/evaluations", `[{` + ev + `}]`, "records[0]: one of score_value or score_label is required", false},
		{"/v1/evaluations", `[{"trace_id":"` + traceHex + `","score_value":1}]`, "records[0].name: required", false},
		{"/v1/evaluations", `[{"name":"x","score_value":1}]`, "records[0]: one of trace_id (with span_id for a single call) or response_id is required to link the evaluation", false},
		{"/v1/evaluations", `[{"name":"x","score_value":1,"trace_id":"abc"}]`, "records[0].trace_id: must be 32 hex characters, got 3", false},
		{"/v1/evaluations", `[{"name":"x","score_value":1,"trace_id":"` + strings.Repeat("g", 32) + `"}]`, "records[0].trace_id: must be hexadecimal", false},
		{"/v1/evaluations", `[{"name":"x","score_value":1,"trace_id":"` + strings.Repeat("0", 32) + `"}]`, "records[0].trace_id: must not be all zeros", false},
		{"/v1/evaluations", `[{"name":"x","score_value":1,"response_id":"r","span_id":"` + spanHex + `"}]`, "records[0].span_id: requires trace_id", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"span_id":"b7ad"}]`, "records[0].span_id: must be 16 hex characters, got 4", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"evaluator":{"name":"j","kind":"llm"}}]`, `records[0].evaluator: unknown field "kind"`, false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"evaluator":{"type":"llm"}}]`, "records[0].evaluator.name: required", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"evaluator":"judge"}]`, "records[0].evaluator: must be an object, got string", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"timestamp":1777636800}]`, "records[0].timestamp: 1777636800 is before 2000-01-01 as unix nanoseconds (seconds or milliseconds sent?)", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"timestamp":"yesterday"}]`, `records[0].timestamp: must be RFC 3339 such as "2026-05-01T12:00:00Z", or integer unix nanoseconds; got "yesterday"`, false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"timestamp":1.5e18}]`, "records[0].timestamp: must be integer unix nanoseconds or an RFC 3339 string, got 1.5e18", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"timestamp":"2999-01-01T00:00:00Z"}]`, "records[0].timestamp: 2999-01-01T00:00:00Z is more than 1h0m0s in the future", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"attributes":{"gen_ai.evaluation.name":"y"}}]`, `records[0].attributes["gen_ai.evaluation.name"]: reserved: set through the record's own fields`, false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"attributes":{"tags":["a"]}}]`, `records[0].attributes["tags"]: must be a string, number or boolean, got array`, false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"attributes":[1]}]`, "records[0].attributes: must be an object, got array", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1,"name":"` + strings.Repeat("n", 300) + `"}]`, "records[0].name: at most 256 bytes, got 300", false},
		{"/v1/evaluations", `[{` + ev + `,"score_value":1}]`, "records[0].service_name: required, as the receiver has no service_name default", true},
		{"/v1/feedback", `[{` + fb + `}]`, `records[0].rating: required: "up", "down" or a number from 1 to 5`, false},
		{"/v1/feedback", `[{` + fb + `,"rating":0}]`, `records[0].rating: must be "up", "down" or a number from 1 to 5, got 0`, false},
		{"/v1/feedback", `[{` + fb + `,"rating":"thumbs_up"}]`, `records[0].rating: must be "up", "down" or a number from 1 to 5, got "thumbs_up"`, false},
		{"/v1/feedback", `[{` + fb + `,"rating":5,"label":"great"}]`, `records[0].label: must be "positive", "negative" or "neutral", got "great"`, false},
		{"/v1/feedback", `[{` + fb + `,"rating":"` + strings.Repeat("u", 100) + `"}]`, `records[0].rating: must be "up", "down" or a number from 1 to 5, got "` + strings.Repeat("u", 63) + `...`, false},
		{"/v1/feedback", `[{"trace_id":5,"rating":5}]`, "records[0].trace_id: must be a string, got number", false},
		{"/v1/feedback", `[{"user_id":"u","rating":5}]`, "records[0]: one of trace_id, response_id or conversation_id is required to link the feedback", false},
		{"/v1/feedback", `[{` + fb + `,"rating":5,"comment":"` + strings.Repeat("c", 40000) + `"}]`, "records[0].comment: at most 32768 bytes, got 40000", false},
		{"/v1/feedback", `[{` + fb + `,"rating":5,"name":"x"}]`, `records[0]: unknown field "name"`, false},
		{"/v1/feedback", `[{` + fb + `,"rating":5,"idempotency_key":"` + strings.Repeat("k", 300) + `"}]`, "records[0].idempotency_key: at most 256 bytes", false},
	} {
		h := hs[!c.noDefault]
		r := h.post(c.path, c.body)
		if r.status != http.StatusBadRequest || r.str("error") != c.want {
			t.Errorf("%s %.80s\n got %d %s\nwant %s", c.path, c.body, r.status, r.raw, c.want)
		}
	}
	for _, h := range hs {
		if n := len(h.records()); n != 0 {
			t.Errorf("invalid input delivered %d records", n)
		}
	}
}

func TestServiceNameDefaultOrPerRecord(t *testing.T) {
	cfg := testConfig()
	cfg.ServiceName = ""
	h := start(t, cfg, nil, nil)
	r := h.post("/v1/evaluations", `[{"response_id":"r1","name":"tone","score_label":"ok","service_name":"chat-a"}]`)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	forEachRecord(h.sink.AllLogs()[0], func(svc string, _ plog.LogRecord) {
		if svc != "chat-a" {
			t.Errorf("service.name %q, want the record's", svc)
		}
	})
}
