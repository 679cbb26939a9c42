package genaifeedback

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"
)

const (
	traceHex = "0af7651916cd43dd8448eb211c80319c"
	spanHex  = "b7ad6b7169203331"
)

// endpoints pairs each path with a valid record of its kind.
var endpoints = []struct {
	name, path string
	valid      func(key string) map[string]any
}{
	{"evaluations", "/v1/evaluations", func(key string) map[string]any {
		r := map[string]any{"trace_id": traceHex, "span_id": spanHex, "name": "relevance", "score_value": 0.8}
		if key != "" {
			r["idempotency_key"] = key
		}
		return r
	}},
	{"feedback", "/v1/feedback", func(key string) map[string]any {
		r := map[string]any{"trace_id": traceHex, "span_id": spanHex, "rating": "up", "user_id": "u-1"}
		if key != "" {
			r["idempotency_key"] = key
		}
		return r
	}},
}

func batch(records ...map[string]any) []map[string]any { return records }

// TestEachEndpoint runs the acceptance cases against both endpoints, behind
// contrib's bearertokenauth extension.
func TestEachEndpoint(t *testing.T) {
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			cfg := withAuth(testConfig())
			cfg.ServerConfig.MaxRequestBodySize = 4096
			h := start(t, cfg, nil, bearerHost(t))
			label := attribute.String("endpoint", ep.name)

			t.Run("auth required", func(t *testing.T) {
				r := h.post(ep.path, batch(ep.valid("")))
				if r.status != http.StatusUnauthorized || r.str("reason") != "unauthorized" || !strings.Contains(r.str("error"), "missing or empty authorization header") {
					t.Fatalf("no token: %d %s", r.status, r.raw)
				}
			})
			t.Run("auth denied", func(t *testing.T) {
				r := h.post(ep.path, batch(ep.valid("")), "Authorization", "Bearer wrong")
				if r.status != http.StatusUnauthorized || r.str("reason") != "unauthorized" || !strings.Contains(r.str("error"), "does not match") {
					t.Fatalf("wrong token: %d %s", r.status, r.raw)
				}
			})
			if n := len(h.records()); n != 0 {
				t.Fatalf("unauthenticated requests delivered %d records", n)
			}
			if n := h.counter("aiops_feedback_requests_rejected", label, attribute.String("reason", "unauthorized")); n != 2 {
				t.Errorf("unauthorized requests counted %d, want 2", n)
			}
			h.token = testToken

			t.Run("accepted", func(t *testing.T) {
				r := h.post(ep.path, batch(ep.valid(""), ep.valid("")))
				if r.status != http.StatusOK || r.num("received") != 2 || r.num("accepted") != 2 || r.num("duplicates") != 0 {
					t.Fatalf("%d %s", r.status, r.raw)
				}
				if n := len(h.records()); n != 2 {
					t.Fatalf("%d records delivered, want 2", n)
				}
			})
			t.Run("malformed JSON", func(t *testing.T) {
				r := h.post(ep.path, `[{"name": "relevance",]`)
				if r.status != http.StatusBadRequest || r.str("reason") != "malformed_json" || !strings.Contains(r.str("error"), "body: malformed JSON at byte 23: invalid character ']'") {
					t.Fatalf("%d %s", r.status, r.raw)
				}
				r = h.post(ep.path, `[{"name": "relevance"}`)
				if r.status != http.StatusBadRequest || r.str("error") != "body: malformed JSON: unexpected end of input" {
					t.Fatalf("truncated: %d %s", r.status, r.raw)
				}
				r = h.post(ep.path, `[] []`)
				if r.status != http.StatusBadRequest || !strings.Contains(r.str("error"), "unexpected data after the array") {
					t.Fatalf("trailing data: %d %s", r.status, r.raw)
				}
			})
			t.Run("unknown fields", func(t *testing.T) {
				rec := ep.valid("")
				rec["scroe_value"] = 1
				rec["Trace_Id"] = traceHex // encoding/json alone would take any letter case
				r := h.post(ep.path, batch(ep.valid(""), rec))
				if r.status != http.StatusBadRequest || r.str("reason") != "invalid" || r.str("error") != `records[1]: unknown field "Trace_Id", "scroe_value"` {
					t.Fatalf("%d %s", r.status, r.raw)
				}
			})
			t.Run("oversized bodies", func(t *testing.T) {
				big := batch(ep.valid(""))
				big[0]["attributes"] = map[string]any{"padding": strings.Repeat("x", 5000)}
				r := h.post(ep.path, big)
				if r.status != http.StatusRequestEntityTooLarge || r.str("reason") != "too_large" || !strings.Contains(r.str("error"), "exceeds max_request_body_size of 4096") {
					t.Fatalf("with Content-Length: %d %s", r.status, r.raw)
				}
				// Without Content-Length the limit applies while reading.
				r = h.post(ep.path, struct{ io.Reader }{strings.NewReader(fmt.Sprintf(`[{"name":%q}]`, strings.Repeat("x", 5000)))})
				if r.status != http.StatusRequestEntityTooLarge || r.str("reason") != "too_large" {
					t.Fatalf("chunked: %d %s", r.status, r.raw)
				}
				// A small gzip body that inflates past the limit is too large too.
				var gz bytes.Buffer
				zw := gzip.NewWriter(&gz)
				fmt.Fprintf(zw, `[{"name":%q}]`, strings.Repeat("x", 50000))
				zw.Close()
				r = h.post(ep.path, gz.Bytes(), "Content-Encoding", "gzip")
				if gz.Len() > 4096 || r.status != http.StatusRequestEntityTooLarge {
					t.Fatalf("gzip bomb (%d bytes compressed): %d %s", gz.Len(), r.status, r.raw)
				}
			})
			t.Run("idempotent retries", func(t *testing.T) {
				before := len(h.records())
				for i := 0; i < 2; i++ {
					r := h.post(ep.path, batch(ep.valid("key-"+ep.name)))
					if r.status != http.StatusOK || r.num("accepted") != 1-i || r.num("duplicates") != i {
						t.Fatalf("send %d: %d %s", i+1, r.status, r.raw)
					}
				}
				// The batch-level header gives record i the key "<header>:<i>".
				for i := 0; i < 2; i++ {
					r := h.post(ep.path, batch(ep.valid(""), ep.valid("")), "Idempotency-Key", "batch-"+ep.name)
					if r.status != http.StatusOK || r.num("accepted") != 2*(1-i) || r.num("duplicates") != 2*i {
						t.Fatalf("header send %d: %d %s", i+1, r.status, r.raw)
					}
				}
				got := h.records()[before:]
				if len(got) != 3 {
					t.Fatalf("%d events for one key and one two-record batch sent twice, want 3", len(got))
				}
				var keys []string
				for _, lr := range got {
					v, _ := lr.Attributes().Get(AttrIdempotencyKey)
					keys = append(keys, v.Str())
				}
				if want := fmt.Sprintf("[key-%s batch-%s:0 batch-%s:1]", ep.name, ep.name, ep.name); fmt.Sprint(keys) != want {
					t.Errorf("idempotency keys %v, want %s", keys, want)
				}
				if n := h.counter("aiops_feedback_records_duplicate", label); n != 3 {
					t.Errorf("duplicates counted %d, want 3", n)
				}
			})
			if n := h.counter("aiops_feedback_records_accepted", label); n != 5 {
				t.Errorf("accepted counted %d, want 5", n)
			}
		})
	}
}

func TestBatchIsAcceptedWholeOrNotAtAll(t *testing.T) {
	h := start(t, testConfig(), nil, nil)
	bad := map[string]any{"trace_id": traceHex, "name": "relevance", "score_value": "high"}
	r := h.post("/v1/evaluations", batch(endpoints[0].valid("k1"), bad, endpoints[0].valid("k2")))
	if r.status != http.StatusBadRequest || r.str("error") != "records[1].score_value: must be a number, got string" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if n := len(h.records()); n != 0 {
		t.Fatalf("a rejected batch delivered %d records", n)
	}
	if n := h.counter("aiops_feedback_records_rejected", attribute.String("reason", "invalid")); n != 3 {
		t.Errorf("rejected records counted %d, want 3", n)
	}
	// The valid records' keys were not consumed by the rejected batch.
	r = h.post("/v1/evaluations", batch(endpoints[0].valid("k1"), endpoints[0].valid("k2")))
	if r.status != http.StatusOK || r.num("accepted") != 2 {
		t.Fatalf("resend: %d %s", r.status, r.raw)
	}
}

func TestEveryProblemIsListed(t *testing.T) {
	h := start(t, testConfig(), nil, nil)
	var recs []map[string]any
	for i := 0; i < 25; i++ {
		recs = append(recs, map[string]any{"trace_id": "abc", "name": "x", "score_value": 1})
	}
	r := h.post("/v1/evaluations", recs)
	errs, _ := r.body["errors"].([]any)
	if r.status != http.StatusBadRequest || len(errs) != maxProblems || r.num("error_count") != 25 ||
		errs[maxProblems-1] != "records[19].trace_id: must be 32 hex characters, got 3" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

func TestPipelineErrors(t *testing.T) {
	next := &switchConsumer{}
	h := start(t, testConfig(), next, nil)
	rec := endpoints[1].valid("fb-1")

	next.set(errors.New("queue is full"))
	r := h.post("/v1/feedback", batch(rec))
	if r.status != http.StatusServiceUnavailable || r.str("reason") != "pipeline_retryable" || r.header.Get("Retry-After") != "5" ||
		!strings.Contains(r.str("error"), "queue is full") {
		t.Fatalf("retryable: %d %v %s", r.status, r.header, r.raw)
	}
	next.set(consumererror.NewPermanent(errors.New("schema mismatch")))
	r = h.post("/v1/feedback", batch(rec))
	if r.status != http.StatusBadRequest || r.str("reason") != "pipeline_permanent" || !strings.Contains(r.str("error"), "schema mismatch") {
		t.Fatalf("permanent: %d %s", r.status, r.raw)
	}
	// Failed deliveries do not remember the key: the retry goes through.
	next.set(nil)
	r = h.post("/v1/feedback", batch(rec))
	if r.status != http.StatusOK || r.num("accepted") != 1 || next.sink.LogRecordCount() != 1 {
		t.Fatalf("retry after failures: %d %s", r.status, r.raw)
	}
	fb := attribute.String("endpoint", "feedback")
	if a, b := h.counter("aiops_feedback_records_rejected", fb, attribute.String("reason", "pipeline_retryable")),
		h.counter("aiops_feedback_records_rejected", fb, attribute.String("reason", "pipeline_permanent")); a != 1 || b != 1 {
		t.Errorf("pipeline rejections counted %d retryable, %d permanent", a, b)
	}
	if n := h.counter("otelcol_receiver_accepted_log_records"); n != 1 {
		t.Errorf("obsreport accepted %d, want 1", n)
	}
}

func TestSameKeyInFlightIsAConflict(t *testing.T) {
	next := &switchConsumer{hold: make(chan struct{}), in: make(chan struct{}, 1)}
	h := start(t, testConfig(), next, nil)
	rec := endpoints[0].valid("eval-7")
	first := make(chan response, 1)
	go func() { first <- h.post("/v1/evaluations", batch(rec)) }()
	<-next.in // the first request is inside the pipeline
	next.mu.Lock()
	next.in = nil
	next.mu.Unlock()
	r := h.post("/v1/evaluations", batch(rec))
	if r.status != http.StatusConflict || r.str("reason") != "in_flight" || r.header.Get("Retry-After") != "1" ||
		r.str("error") != `idempotency key "eval-7" is being delivered by another request; retry later` {
		t.Fatalf("concurrent: %d %s", r.status, r.raw)
	}
	close(next.hold)
	if r := <-first; r.status != http.StatusOK || r.num("accepted") != 1 {
		t.Fatalf("first: %d %s", r.status, r.raw)
	}
	if r := h.post("/v1/evaluations", batch(rec)); r.status != http.StatusOK || r.num("duplicates") != 1 {
		t.Fatalf("after: %d %s", r.status, r.raw)
	}
	if n := next.sink.LogRecordCount(); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = RateLimitConfig{RequestsPerSecond: 0.5, Burst: 2, MaxClients: 10}
	h := start(t, cfg, nil, nil)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h.rcv.now = func() time.Time { return now }
	for i := 0; i < 2; i++ {
		if r := h.post("/v1/feedback", batch(endpoints[1].valid(""))); r.status != http.StatusOK {
			t.Fatalf("within burst: %d %s", r.status, r.raw)
		}
	}
	r := h.post("/v1/feedback", batch(endpoints[1].valid("")))
	if r.status != http.StatusTooManyRequests || r.str("reason") != "rate_limited" || r.header.Get("Retry-After") != "2" {
		t.Fatalf("over the limit: %d %v %s", r.status, r.header, r.raw)
	}
	now = now.Add(2 * time.Second)
	if r := h.post("/v1/evaluations", batch(endpoints[0].valid(""))); r.status != http.StatusOK {
		t.Fatalf("after refill: %d %s", r.status, r.raw)
	}
	if n := h.counter("aiops_feedback_requests_rejected", attribute.String("reason", "rate_limited")); n != 1 {
		t.Errorf("rate-limited requests counted %d, want 1", n)
	}
	if n := len(h.records()); n != 3 {
		t.Errorf("%d records, want 3", n)
	}
}

func TestProtocolErrors(t *testing.T) {
	h := start(t, testConfig(), nil, nil)
	req, _ := http.NewRequest(http.MethodGet, h.base+"/v1/feedback", nil)
	if r := h.do(req); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" || r.str("reason") != "method_not_allowed" {
		t.Errorf("GET: %d %s", r.status, r.raw)
	}
	if r := h.post("/v1/feedback", "[]", "Content-Type", "text/plain"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %s", r.status, r.raw)
	}
	if r := h.post("/v1/feedback", batch(endpoints[1].valid("")), "Content-Type", "application/json; charset=utf-8"); r.status != http.StatusOK {
		t.Errorf("json with charset: %d %s", r.status, r.raw)
	}
	if r := h.post("/v2/feedback", "[]"); r.status != http.StatusNotFound || !strings.Contains(r.str("error"), "POST records to /v1/evaluations or /v1/feedback") {
		t.Errorf("unknown path: %d %s", r.status, r.raw)
	}
	if r := h.post("/v1/feedback", "[]", "Idempotency-Key", strings.Repeat("k", 300)); r.status != http.StatusBadRequest ||
		!strings.HasPrefix(r.str("error"), "Idempotency-Key header: at most") {
		t.Errorf("long Idempotency-Key: %d %s", r.status, r.raw)
	}
	if r := h.post("/v1/feedback", "[]", "Content-Encoding", "br"); r.status != http.StatusBadRequest || r.str("reason") != "bad_encoding" {
		t.Errorf("unsupported encoding: %d %s", r.status, r.raw)
	}
}

func TestRejectionsAreLoggedOncePerReason(t *testing.T) {
	h := start(t, testConfig(), nil, nil)
	for i := 0; i < 3; i++ {
		h.post("/v1/evaluations", "{oops")
	}
	h.post("/v1/evaluations", `[{"name":"x"}]`)
	warn := h.logs.FilterMessageSnippet("rejected a request (logged once per reason").All()
	if len(warn) != 2 || warn[0].ContextMap()["reason"] != "malformed_json" || warn[1].ContextMap()["reason"] != "invalid" {
		t.Fatalf("warnings: %v", warn)
	}
	if n := h.logs.FilterMessage("rejected a request").Len(); n != 2 {
		t.Errorf("%d debug logs for repeats, want 2", n)
	}
	if n := h.counter("aiops_feedback_requests_rejected", attribute.String("reason", "malformed_json")); n != 3 {
		t.Errorf("malformed requests counted %d, want 3", n)
	}
}
