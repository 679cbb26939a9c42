package loadgen

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// countingServer counts spans and traces received; rejectEvery>0 makes it
// report every n-th span as rejected via partial success.
type countingServer struct {
	ptraceotlp.UnimplementedGRPCServer
	spans, requests, rejected atomic.Int64
	rejectEvery               int
	fail                      error
}

func (s *countingServer) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.requests.Add(1)
	if s.fail != nil {
		return ptraceotlp.NewExportResponse(), s.fail
	}
	n := int64(req.Traces().SpanCount())
	s.spans.Add(n)
	resp := ptraceotlp.NewExportResponse()
	if s.rejectEvery > 0 {
		rej := n / int64(s.rejectEvery)
		s.rejected.Add(rej)
		resp.PartialSuccess().SetRejectedSpans(rej)
		resp.PartialSuccess().SetErrorMessage("dropped by test")
	}
	return resp, nil
}

func startGRPC(t *testing.T, srv *countingServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func startHTTP(t *testing.T, srv *countingServer, statusCode int) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad request shape", http.StatusBadRequest)
			return
		}
		if statusCode != 0 {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(statusCode)
			_, _ = io.WriteString(w, "slow down")
			return
		}
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, _ := srv.Export(r.Context(), req)
		out, _ := resp.MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestEndToEndGRPC(t *testing.T) {
	srv := &countingServer{}
	addr := startGRPC(t, srv)
	var out bytes.Buffer
	st, err := Run(context.Background(), Config{
		Endpoint: addr, Protocol: "grpc", MaxTraces: 503, Workers: 3, BatchTraces: 7,
		Seed: 1, ContentBytes: [2]int{1024, 4096},
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v\n%s", st, out.String())
	if st.TracesSent != 503 || st.Requests != 72 { // ceil(503/7)
		t.Fatalf("traces=%d requests=%d, want 503 and 72", st.TracesSent, st.Requests)
	}
	if st.Errors != 0 || st.SpansSent != srv.spans.Load() || st.SpansAcked != st.SpansSent {
		t.Fatalf("sent=%d acked=%d received=%d errors=%d", st.SpansSent, st.SpansAcked, srv.spans.Load(), st.Errors)
	}
	if st.GenAISpans+st.NonGenAISpans != st.SpansSent || st.NonGenAISpans == 0 {
		t.Fatalf("span kinds don't add up: %+v", st)
	}
	if !strings.Contains(out.String(), "done t=") {
		t.Fatalf("no summary line in output:\n%s", out.String())
	}
}

func TestEndToEndHTTP(t *testing.T) {
	srv := &countingServer{}
	url := startHTTP(t, srv, 0)
	st, err := Run(context.Background(), Config{
		Endpoint: url, Protocol: "http", MaxTraces: 200, Workers: 2, BatchTraces: 16,
		Seed: 2, ContentBytes: [2]int{2048, 8192},
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st.TracesSent != 200 || st.Errors != 0 || st.SpansSent != srv.spans.Load() || st.SpansAcked != st.SpansSent {
		t.Fatalf("stats %+v, received %d", st, srv.spans.Load())
	}
}

func TestPartialSuccessSubtractsRejected(t *testing.T) {
	for _, proto := range []string{"grpc", "http"} {
		t.Run(proto, func(t *testing.T) {
			srv := &countingServer{rejectEvery: 10}
			ep := startGRPC(t, srv)
			if proto == "http" {
				ep = startHTTP(t, srv, 0)
			}
			st, err := Run(context.Background(), Config{Endpoint: ep, Protocol: proto, MaxTraces: 100, Seed: 3}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if st.SpansRejected != srv.rejected.Load() || st.SpansRejected == 0 ||
				st.SpansAcked != st.SpansSent-st.SpansRejected || st.SpansSent != srv.spans.Load() || !st.Failed() {
				t.Fatalf("stats %+v, server rejected %d of %d", st, srv.rejected.Load(), srv.spans.Load())
			}
		})
	}
}

func TestFailuresAreCountedNotRetried(t *testing.T) {
	srv := &countingServer{fail: status.Error(codes.ResourceExhausted, "memory limiter")}
	st, err := Run(context.Background(), Config{Endpoint: startGRPC(t, srv), MaxTraces: 50, BatchTraces: 10, Seed: 4}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors != 5 || srv.requests.Load() != 5 || st.SpansAcked != 0 || st.SpansSent == 0 || !strings.Contains(st.LastError, "memory limiter") {
		t.Fatalf("stats %+v, server saw %d requests", st, srv.requests.Load())
	}

	st, err = Run(context.Background(), Config{Endpoint: startHTTP(t, &countingServer{}, http.StatusTooManyRequests), Protocol: "http", MaxTraces: 20, Seed: 4}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors != 2 || st.SpansAcked != 0 || !strings.Contains(st.LastError, "429") {
		t.Fatalf("stats %+v", st)
	}
}

func TestRateAndDuration(t *testing.T) {
	srv := &countingServer{}
	addr := startGRPC(t, srv)
	st, err := Run(context.Background(), Config{Endpoint: addr, Rate: 200, Duration: 1500 * time.Millisecond, BatchTraces: 5, Workers: 4, Seed: 5}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 1.5s = 300 traces, plus at most one batch of slack.
	if st.TracesSent < 250 || st.TracesSent > 310 {
		t.Fatalf("traces=%d, want ~300", st.TracesSent)
	}
	if st.Elapsed < 1400*time.Millisecond || st.Elapsed > 3*time.Second {
		t.Fatalf("elapsed %s", st.Elapsed)
	}
	if st.SpansAcked != srv.spans.Load() {
		t.Fatalf("acked %d received %d", st.SpansAcked, srv.spans.Load())
	}
}

func TestFlatOutStopsAtDurationAndCancel(t *testing.T) {
	addr := startGRPC(t, &countingServer{})
	st, err := Run(context.Background(), Config{Endpoint: addr, Duration: 300 * time.Millisecond, Seed: 6}, io.Discard)
	if err != nil || st.TracesSent == 0 || st.Elapsed > 2*time.Second {
		t.Fatalf("duration run: %+v %v", st, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err = Run(ctx, Config{Endpoint: addr, Duration: time.Hour, Rate: 50, Seed: 6}, io.Discard)
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("cancel: err=%v after %s", err, time.Since(start))
	}
}

func TestProgressLine(t *testing.T) {
	addr := startGRPC(t, &countingServer{})
	var out bytes.Buffer
	if _, err := Run(context.Background(), Config{Endpoint: addr, Duration: 1200 * time.Millisecond, Rate: 100, Seed: 7}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "t=1s sent=") || !strings.Contains(lines[0], " acked/s=") || !strings.Contains(lines[0], " errors=0") {
		t.Fatalf("unexpected output:\n%s", out.String())
	}
}
