package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	stdio "io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// The payloads of the decoding-depth attack. pdata's decoders recurse once
// per nesting level, so these overflow the 1 GB goroutine stack and kill
// the collector, or take hundreds of MiB of stack, unless otlp_guard
// refuses them ahead of decoding (TestWithoutGuardTheCrashPayloadKills).

// guardDeepProto is an ExportTraceServiceRequest whose one span has an
// attribute nesting levels arrays, written from the innermost value out:
// pdata's own marshaler would recurse.
func guardDeepProto(levels int) []byte {
	b := make([]byte, levels*10+256)
	pos := len(b)
	end := pos
	put := func(p ...byte) { pos -= len(p); copy(b[pos:], p) }
	wrap := func(tag byte) { // everything written so far becomes field tag's body
		n := end - pos
		var v []byte
		for ; n >= 0x80; n >>= 7 {
			v = append(v, byte(n)|0x80)
		}
		put(append(v, byte(n))...)
		put(tag)
	}
	put(0x18, 0x01) // AnyValue.int_value = 1
	for i := 0; i < levels; i++ {
		wrap(0x0a) // ArrayValue.values
		wrap(0x2a) // AnyValue.array_value
	}
	wrap(0x12) // KeyValue.value
	// KeyValue.key = "app.deep"
	put([]byte("app.deep")...)
	put(0x0a, 0x08)
	wrap(0x4a) // Span.attributes
	put(0x2a, 0x04, 'd', 'e', 'e', 'p')
	wrap(0x12) // ScopeSpans.spans
	wrap(0x12) // ResourceSpans.scope_spans
	wrap(0x0a) // ExportTraceServiceRequest.resource_spans
	return b[pos:]
}

// guardDeepJSON nests levels arrays in OTLP/JSON; unit and closer replace
// the usual {"arrayValue":{"values":[ and ]}} when given.
func guardDeepJSON(levels int, unit, core, closer string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"deep","attributes":[{"key":"app.deep","value":`)
	for i := 0; i < levels; i++ {
		b.WriteString(unit)
	}
	b.WriteString(core)
	for i := 0; i < levels; i++ {
		b.WriteString(closer)
	}
	b.WriteString(`}]}]}]}]}`)
	return b.Bytes()
}

func guardGzip(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return out.Bytes()
}

// guardPost sends a gzipped OTLP/HTTP request and returns the status and
// the start of the answer.
func guardPost(t *testing.T, port int, contentType string, gz []byte) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port), bytes.NewReader(gz))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := stdio.ReadAll(stdio.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(body), nil
}

// guardRawCodec sends prebuilt protobuf over gRPC.
type guardRawCodec struct{}

func (guardRawCodec) Marshal(v any) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (guardRawCodec) Unmarshal(data []byte, v any) error { return nil }
func (guardRawCodec) Name() string                       { return "proto" }

func guardAlive(t *testing.T, c *collector) {
	t.Helper()
	if c.cmd.ProcessState != nil || syscall.Kill(c.cmd.Process.Pid, 0) != nil {
		log, _ := os.ReadFile(filepath.Join(c.dataDir, "collector.log"))
		if len(log) > 3000 {
			log = log[len(log)-3000:]
		}
		t.Fatalf("the collector died; its log ends:\n%s", log)
	}
}

// The collector's peak RSS over the whole attack is bounded, engine
// included, and so is its growth over the RSS after start-up. The guard
// holds one decompressed body (at most 20 MiB, in a buffer that grows by
// doubling) per request and scans it without recursion. Measured on the
// 2-core test VM: 258-263 MiB after start, 322-380 MiB peak (three runs).
// Unguarded, the 1.5M-level protobuf kills the process.
const (
	guardRSSBoundMiB  = 640
	guardRSSGrowthMiB = 256
)

// TestGuardRefusesDecodingDepthAttacks sends the crash payloads to the real
// binary over OTLP/HTTP (protobuf and JSON, gzipped) and gRPC. Each is
// refused (400 / InvalidArgument) with its reason counted, the process
// stays up with its peak RSS bounded, and normal spans sent afterwards are
// stored.
func TestGuardRefusesDecodingDepthAttacks(t *testing.T) {
	dir := t.TempDir()
	col := newCollector(t, dir)
	if cfg, _ := os.ReadFile(col.config); strings.Count(string(cfg), "middlewares: [{id: otlp_guard}]") != 2 {
		t.Fatal("config/embedded.yaml no longer puts otlp_guard on both OTLP servers")
	}
	col.start()
	pid := col.cmd.Process.Pid
	startRSS := vm(pid, "VmHWM")

	const (
		protobuf = "application/x-protobuf"
		jsonType = "application/json"
	)
	arrayJSON := func(n int) []byte {
		return guardDeepJSON(n, `{"arrayValue":{"values":[`, `{"intValue":"1"}`, `]}}`)
	}
	payloads := []struct {
		name, contentType, want string
		raw                     []byte
	}{
		{"protobuf, 1.5M levels", protobuf, "nests more than 64 arrays and maps", guardDeepProto(1_500_000)},
		// 20 MiB is the receiver's body limit; 740k levels is the most it holds.
		{"JSON, 740k levels", jsonType, "nests more than 272 brackets", arrayJSON(740_000)},
		{"JSON, 500k levels", jsonType, "nests more than 272 brackets", arrayJSON(500_000)},
		// No brackets at all: json-iterator takes a comma for an opening.
		{"JSON, 700k bracket-free levels", jsonType, "not valid JSON",
			guardDeepJSON(700_000, `,"arrayValue":,"values":,`, `,"stringValue":"s"}`, `]}}`)},
	}
	for _, p := range payloads {
		gz := guardGzip(t, p.raw)
		code, body, err := guardPost(t, col.http, p.contentType, gz)
		if err != nil {
			t.Fatalf("%s: collector unreachable: %v", p.name, err)
		}
		if code != http.StatusBadRequest || !strings.Contains(body, p.want) {
			t.Errorf("%s: HTTP %d %q, want 400 with %q", p.name, code, body, p.want)
		}
		guardAlive(t, col)
		t.Logf("%-32s %9d bytes, %8d gzipped -> HTTP %d; peak RSS %.0f MiB", p.name, len(p.raw), len(gz), code, vm(pid, "VmHWM"))
	}

	// gRPC: 450k levels fit its default 4 MiB message limit.
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", col.grpc), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw := guardDeepProto(450_000)
	var out []byte
	err = conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &raw, &out, grpc.ForceCodec(guardRawCodec{}))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "max_value_depth") {
		t.Errorf("gRPC, 450k levels (%d bytes): %v, want InvalidArgument", len(raw), err)
	}
	guardAlive(t, col)
	t.Logf("%-32s %9d bytes -> %v; peak RSS %.0f MiB", "gRPC protobuf, 450k levels", len(raw), status.Code(err), vm(pid, "VmHWM"))

	// Normal spans afterwards, over both transports.
	normal := func(b byte) ptrace.Traces {
		td := ptrace.NewTraces()
		hostileSpan(td, b, func(pcommon.Map, ptrace.Span) {})
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", "after-guard")
		return td
	}
	pb, _ := ptraceotlp.NewExportRequestFromTraces(normal(0x61)).MarshalProto()
	if code, body, err := guardPost(t, col.http, protobuf, guardGzip(t, pb)); err != nil || code != http.StatusOK {
		t.Fatalf("normal span over HTTP: %d %q %v", code, body, err)
	}
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(normal(0x62))); err != nil {
		t.Fatalf("normal span over gRPC: %v", err)
	}

	rejected, _ := col.metric("aiops_otlp_guard_rejected")
	checked, _ := col.metric("aiops_otlp_guard_checked")
	col.drain(60 * time.Second)
	peak := vm(pid, "VmHWM")
	guardAlive(t, col)
	col.signal(syscall.SIGTERM)

	t.Logf("peak RSS %.0f MiB (%.0f MiB after start), bound %d MiB; %.0f requests refused, %.0f checked", peak, startRSS, guardRSSBoundMiB, rejected, checked)
	if peak > guardRSSBoundMiB || peak-startRSS > guardRSSGrowthMiB {
		t.Errorf("peak RSS %.0f MiB, %.0f over start-up; bounds %d and %d MiB", peak, peak-startRSS, guardRSSBoundMiB, guardRSSGrowthMiB)
	}
	if int(rejected) != len(payloads)+1 {
		t.Errorf("aiops_otlp_guard_rejected = %.0f, want %d", rejected, len(payloads)+1)
	}
	if int(checked) != len(payloads)+3 {
		t.Errorf("aiops_otlp_guard_checked = %.0f, want %d", checked, len(payloads)+3)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "collector.log"))
	if n := strings.Count(string(log), "Refused an OTLP request before decoding"); n != 2 {
		t.Errorf("%d refusal warnings logged, want one per reason (too_deep, invalid_json)", n)
	}

	s, err := chstore.OpenEmbedded(filepath.Join(dir, "clickhouse"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.Query(context.Background(), "SELECT count() FROM aiops.genai_spans WHERE service_name = 'after-guard'")
	if err != nil {
		t.Fatal(err)
	}
	if n := rows.Data[0][0].(uint64); n != 2 {
		t.Errorf("%d of the 2 normal spans sent after the attack stored", n)
	}
}

// TestWithoutGuardTheCrashPayloadKills is the control: the same binary with
// otlp_guard taken out of the config dies on the 1.5M-level payload. It
// shows the payload is the attack and the guard what stops it.
func TestWithoutGuardTheCrashPayloadKills(t *testing.T) {
	dir := t.TempDir()
	col := newCollector(t, dir)
	cfg, _ := os.ReadFile(col.config)
	off := strings.ReplaceAll(string(cfg), "        middlewares: [{id: otlp_guard}]\n", "")
	if off == string(cfg) {
		t.Fatal("config/embedded.yaml no longer wires otlp_guard as this test expects")
	}
	if err := os.WriteFile(col.config, []byte(off), 0o644); err != nil {
		t.Fatal(err)
	}
	col.start()
	pid := col.cmd.Process.Pid
	// Smaller ones first: they are decoded, at the cost of the stack.
	for _, p := range []struct {
		name, contentType string
		raw               []byte
	}{
		{"JSON, 500k levels", "application/json", guardDeepJSON(500_000, `{"arrayValue":{"values":[`, `{"intValue":"1"}`, `]}}`)},
		{"protobuf, 500k levels", "application/x-protobuf", guardDeepProto(500_000)},
	} {
		gz := guardGzip(t, p.raw)
		code, _, err := guardPost(t, col.http, p.contentType, gz)
		t.Logf("without the guard: %s (%d bytes gzipped) -> HTTP %d %v; peak RSS %.0f MiB", p.name, len(gz), code, err, vm(pid, "VmHWM"))
	}
	code, _, err := guardPost(t, col.http, "application/x-protobuf", guardGzip(t, guardDeepProto(1_500_000)))
	exited := make(chan error, 1)
	go func() { exited <- col.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("without the guard the collector survived (HTTP %d, %v): the payload no longer crashes pdata, revisit otlp_guard", code, err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "collector.log"))
	if !strings.Contains(string(log), "stack overflow") {
		t.Errorf("the collector exited, but not from a stack overflow")
	}
	t.Logf("without the guard: HTTP %d, %v; the collector died of a stack overflow", code, err)
}
