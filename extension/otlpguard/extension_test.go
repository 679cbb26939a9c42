package otlpguard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configmiddleware"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/otelcol-aiops/otelcol-aiops/extension/otlpguard/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	must(t, err)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	must(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	if err != nil || cfg.MaxValueDepth != 64 || cfg.MaxBodyBytes != 20<<20 {
		t.Fatalf("defaults: %v %+v", err, cfg)
	}
	if cfg.jsonDepthLimit() != 4*64+16 {
		t.Fatalf("json bound %d", cfg.jsonDepthLimit())
	}
	cfg, err = loadConfig(t, "custom")
	if err != nil || cfg.MaxValueDepth != 16 || cfg.MaxBodyBytes != 4<<20 {
		t.Fatalf("custom: %v %+v", err, cfg)
	}
	for name, want := range map[string][]string{
		"zero_depth": {"max_value_depth: 0", "1..10000", "default 64"},
		"huge_depth": {"max_value_depth: 1000000"},
		"tiny_body":  {"max_body_bytes: 100", "max_request_body_size"},
		"typo":       {"max_depth"},
	} {
		_, err := loadConfig(t, name)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q: %v", name, w, err)
			}
		}
	}
}

// host hands the receiver its extensions, as the collector does.
type host struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().String()
}

// harness is a real OTLP receiver with the guard as the middleware of both
// servers, as config/embedded.yaml wires them.
type harness struct {
	grpcAddr, httpAddr string
	traces             *consumertest.TracesSink
	logs               *consumertest.LogsSink
	metrics            *consumertest.MetricsSink
	tel                *componenttest.Telemetry
	logged             *observer.ObservedLogs
}

func newHarness(t *testing.T, cfg *Config, http map[string]any) *harness {
	t.Helper()
	h := &harness{grpcAddr: freeAddr(t), httpAddr: freeAddr(t), traces: new(consumertest.TracesSink),
		logs: new(consumertest.LogsSink), metrics: new(consumertest.MetricsSink), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { h.tel.Shutdown(context.Background()) })
	set := extensiontest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	core, logs := observer.New(zap.WarnLevel)
	set.Logger, h.logged = zap.New(core), logs
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	must(t, err)
	must(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { ext.Shutdown(context.Background()) })

	mw := []any{map[string]any{"id": "otlp_guard"}}
	httpCfg := map[string]any{"endpoint": h.httpAddr, "middlewares": mw}
	for k, v := range http {
		httpCfg[k] = v
	}
	f := otlpreceiver.NewFactory()
	rcfg := f.CreateDefaultConfig()
	must(t, confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{
		"grpc": map[string]any{"endpoint": h.grpcAddr, "middlewares": mw},
		"http": httpCfg,
	}}).Unmarshal(rcfg))
	rset := receivertest.NewNopSettings(f.Type())
	tr, err := f.CreateTraces(context.Background(), rset, rcfg, h.traces)
	must(t, err)
	lr, err := f.CreateLogs(context.Background(), rset, rcfg, h.logs)
	must(t, err)
	mr, err := f.CreateMetrics(context.Background(), rset, rcfg, h.metrics)
	must(t, err)
	hst := host{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{component.NewID(metadata.Type): ext}}
	for _, r := range []component.Component{tr, lr, mr} {
		must(t, r.Start(context.Background(), hst))
		t.Cleanup(func() { r.Shutdown(context.Background()) })
	}
	return h
}

// post sends body to path, gzipped when asked, and returns the status and
// the response body.
func (h *harness) post(t *testing.T, path, contentType string, body []byte, gz bool) (int, string) {
	t.Helper()
	if gz {
		body = gzipped(t, body)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+h.httpAddr+path, bytes.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", contentType)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v (did the receiver die?)", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) grpcClient(t *testing.T) *grpc.ClientConn {
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func tracesAt(t *testing.T, depth int) (ptrace.Traces, []byte, []byte) {
	pb, js := shapes()[0].build(t, func(v pcommon.Value) { nest(v, depth, 'x') })
	req := ptraceotlp.NewExportRequest()
	must(t, req.UnmarshalProto(pb))
	return req.Traces(), pb, js
}

func TestHTTPRefusesDeepAndPassesTheRest(t *testing.T) {
	h := newHarness(t, defaultCfg, nil)
	_, atLimitPB, atLimitJS := tracesAt(t, limit)
	_, overPB, overJS := tracesAt(t, 2*limit)
	deepLogsPB, deepLogs := logShape("body", func(lr plog.LogRecord) pcommon.Value { return lr.Body() }).build(t, func(v pcommon.Value) { nest(v, limit+1, 'm') })
	deepMetricsPB, _ := shapes()[8].build(t, func(v pcommon.Value) { nest(v, limit+1, 'a') })
	comma := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":` + strings.Repeat(`,"arrayValue":,"values":,`, 50000) + `}]}]}]}]}`

	cases := []struct {
		name, path, ct string
		body           []byte
		gz             bool
		status         int
		msg            string
	}{
		{"protobuf 1.5M levels gzip", "/v1/traces", contentProtobuf, deepTracesProto(1_500_000), true, 400, "more than 64 arrays and maps"},
		{"protobuf over the limit", "/v1/traces", contentProtobuf, overPB, false, 400, "max_value_depth"},
		{"json over the limit", "/v1/traces", contentJSON, overJS, false, 400, "brackets"},
		{"json comma recursion", "/v1/traces", contentJSON, []byte(comma), true, 400, "not valid JSON"},
		// One level over is still within the JSON bracket bound (see jsonDepthLimit).
		{"json log body one over", "/v1/logs", contentJSON, deepLogs, false, 200, ""},
		{"protobuf log body over", "/v1/logs", contentProtobuf, deepLogsPB, false, 400, "max_value_depth"},
		{"protobuf metric exemplar over", "/v1/metrics", contentProtobuf, deepMetricsPB, false, 400, "max_value_depth"},
		{"protobuf at the limit", "/v1/traces", contentProtobuf, atLimitPB, false, 200, ""},
		{"json at the limit", "/v1/traces", contentJSON, atLimitJS, true, 200, ""},
		{"malformed protobuf reaches the receiver", "/v1/traces", contentProtobuf, []byte{0x0a, 0x7f}, false, 400, "unexpected EOF"},
		{"other content types reach the receiver", "/v1/traces", "text/plain", overPB, false, 415, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.post(t, c.path, c.ct, c.body, c.gz)
			if code != c.status || !strings.Contains(body, c.msg) {
				t.Fatalf("HTTP %d %q, want %d with %q", code, body, c.status, c.msg)
			}
		})
	}
	// Only the accepted requests were decoded and passed on.
	if n := len(h.traces.AllTraces()); n != 2 {
		t.Errorf("%d trace requests passed on, want 2 (at the limit, proto and JSON)", n)
	}
	if n := len(h.logs.AllLogs()); n != 1 {
		t.Errorf("%d log requests passed on, want 1", n)
	}
	if n := len(h.metrics.AllMetrics()); n != 0 {
		t.Errorf("%d metric requests passed on", n)
	}
	got := h.traces.AllTraces()[0]
	if d := maxDecodedDepth(got); d != limit {
		t.Errorf("the request at the limit arrived with depth %d", d)
	}
}

// A refused protobuf request is answered with a google.rpc.Status the OTLP
// client can decode.
func TestHTTPRefusalIsAStatus(t *testing.T) {
	h := newHarness(t, defaultCfg, nil)
	_, over, _ := tracesAt(t, limit+1)
	code, body := h.post(t, "/v1/traces", contentProtobuf, []byte(over), false)
	if code != 400 {
		t.Fatalf("HTTP %d", code)
	}
	// Status{code=3, message=...}.
	if len(body) < 4 || body[0] != 0x08 || body[1] != 3 || body[2] != 0x12 {
		t.Fatalf("not a Status: % x", body)
	}
	_, js := logShape("body", func(lr plog.LogRecord) pcommon.Value { return lr.Body() }).build(t, func(v pcommon.Value) { nest(v, 3*limit, 'a') })
	code, body = h.post(t, "/v1/logs", contentJSON, js, false)
	if code != 400 || !strings.HasPrefix(body, `{"code":3,"message":"refused by otlp_guard: the JSON nests more than 272 brackets`) {
		t.Fatalf("HTTP %d %s", code, body)
	}
}

// A custom path is checked as every signal.
func TestHTTPCustomPath(t *testing.T) {
	h := newHarness(t, defaultCfg, map[string]any{"traces_url_path": "/ingest/t", "logs_url_path": "/ingest/l"})
	deepLogs, _ := logShape("body", func(lr plog.LogRecord) pcommon.Value { return lr.Body() }).build(t, func(v pcommon.Value) { nest(v, limit+1, 'a') })
	if code, body := h.post(t, "/ingest/l", contentProtobuf, deepLogs, false); code != 400 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	_, ok, _ := tracesAt(t, 3)
	if code, body := h.post(t, "/ingest/t", contentProtobuf, ok, false); code != 200 {
		t.Fatalf("HTTP %d %s", code, body)
	}
}

func TestHTTPBodyTooLarge(t *testing.T) {
	h := newHarness(t, &Config{MaxValueDepth: 64, MaxBodyBytes: 4096}, nil)
	td := genaiBatch(t)
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(t, err)
	if len(pb) <= 4096 {
		t.Fatalf("batch of %d bytes is too small for the test", len(pb))
	}
	code, body := h.post(t, "/v1/traces", contentProtobuf, pb, true)
	if code != 413 || !strings.Contains(body, "max_body_bytes") {
		t.Fatalf("HTTP %d %s", code, body)
	}
	_, small, _ := tracesAt(t, 2)
	if code, _ := h.post(t, "/v1/traces", contentProtobuf, small, false); code != 200 {
		t.Fatalf("small request: HTTP %d", code)
	}
}

func TestGRPCRefusesDeepWithInvalidArgument(t *testing.T) {
	h := newHarness(t, defaultCfg, nil)
	conn := h.grpcClient(t)
	traces := ptraceotlp.NewGRPCClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 450k levels: just under gRPC's default 4 MiB message limit.
	raw := deepTracesProto(450_000)
	if len(raw) > 4<<20 {
		t.Fatalf("%d bytes exceed the server's 4 MiB message limit", len(raw))
	}
	// The request is sent as built: its own Marshal would recurse.
	_, err := exportRaw(ctx, conn, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", raw)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "max_value_depth") {
		t.Fatalf("450k levels: %v", err)
	}

	over, _, _ := tracesAt(t, limit+1)
	if _, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(over)); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("limit+1: %v", err)
	}
	at, _, _ := tracesAt(t, limit)
	if _, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(at)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(genaiBatch(t))); err != nil {
		t.Fatalf("a real batch: %v", err)
	}
	ld := plog.NewLogs()
	nest(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body(), limit+1, 'm')
	if _, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld)); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("deep log body: %v", err)
	}
	if n := len(h.traces.AllTraces()); n != 2 {
		t.Errorf("%d trace requests passed on, want 2", n)
	}
	if n := len(h.logs.AllLogs()); n != 0 {
		t.Errorf("%d log requests passed on, want 0", n)
	}
	if d := maxDecodedDepth(h.traces.AllTraces()[0]); d != limit {
		t.Errorf("the request at the limit arrived with depth %d", d)
	}
}

// rawCodec sends prebuilt bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func exportRaw(ctx context.Context, conn *grpc.ClientConn, method string, body []byte) ([]byte, error) {
	var out []byte
	err := conn.Invoke(ctx, method, &body, &out, grpc.ForceCodec(rawCodec{}), grpc.MaxCallSendMsgSize(64<<20))
	return out, err
}

// Forcing the codec leaves other services on the same server working: a
// configgrpc server with the guard also serves gRPC health checks.
func TestGRPCOtherServicesStillWork(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer tel.Shutdown(context.Background())
	set := extensiontest.NewNopSettings(metadata.Type)
	ext, err := NewFactory().Create(context.Background(), set, defaultCfg)
	must(t, err)
	addr := freeAddr(t)
	sc := configgrpc.NewDefaultServerConfig()
	sc.NetAddr = confignet.AddrConfig{Endpoint: addr, Transport: confignet.TransportTypeTCP}
	sc.Middlewares = []configmiddleware.Config{{ID: component.NewID(metadata.Type)}}
	srv, err := sc.ToServer(context.Background(), map[component.ID]component.Component{component.NewID(metadata.Type): ext}, tel.NewTelemetrySettings())
	must(t, err)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	sink := new(consumertest.TracesSink)
	ptraceotlp.RegisterGRPCServer(srv, &sinkServer{sink: sink})
	l, err := net.Listen("tcp", addr)
	must(t, err)
	go srv.Serve(l)
	defer srv.Stop()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check through the guard's codec: %v %v", resp, err)
	}
	over, _, _ := tracesAt(t, limit+1)
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(over)); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("deep export: %v", err)
	}
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(genaiBatch(t))); err != nil || sink.SpanCount() < 100 {
		t.Fatalf("export: %v, %d spans", err, sink.SpanCount())
	}
}

type sinkServer struct {
	ptraceotlp.UnimplementedGRPCServer
	sink *consumertest.TracesSink
}

func (s sinkServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	return ptraceotlp.NewExportResponse(), s.sink.ConsumeTraces(ctx, req.Traces())
}

// A refusal an earlier interceptor answered first stays parked; the ring
// bounds how many do.
func TestParkedIsBounded(t *testing.T) {
	var p parked
	keys := make([]*int, 3000)
	for i := range keys {
		keys[i] = new(int)
		p.put(keys[i], refusal{reason: reasonTooDeep})
	}
	if len(p.m) != len(p.ring) || p.n.Load() != int64(len(p.ring)) {
		t.Fatalf("%d parked, want %d", len(p.m), len(p.ring))
	}
	if _, ok := p.take(keys[0]); ok {
		t.Fatal("the oldest was not dropped")
	}
	if r, ok := p.take(keys[2999]); !ok || r.reason != reasonTooDeep {
		t.Fatal("the newest was lost")
	}
	if _, ok := p.take(keys[2999]); ok {
		t.Fatal("taken twice")
	}
}

// The first refusal of each reason is logged at warn, later ones only
// counted.
func TestLogsOncePerReason(t *testing.T) {
	h := newHarness(t, &Config{MaxValueDepth: 4, MaxBodyBytes: 4096}, nil)
	_, over, overJS := tracesAt(t, 5)
	for i := 0; i < 3; i++ {
		h.post(t, "/v1/traces", contentProtobuf, over, false)
		h.post(t, "/v1/traces", contentJSON, overJS[:len(overJS)/2], false)
		h.post(t, "/v1/traces", contentJSON, bytes.Repeat([]byte(" "), 5000), false)
	}
	entries := h.logged.FilterMessageSnippet("Refused an OTLP request").All()
	seen := map[string]int{}
	for _, e := range entries {
		if e.Level != zap.WarnLevel {
			t.Errorf("logged at %v", e.Level)
		}
		seen[e.ContextMap()["reason"].(string)]++
	}
	want := map[string]int{reasonTooDeep: 1, reasonInvalidJSON: 1, reasonTooLarge: 1}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("logged %v, want %v", seen, want)
	}
}

// When the receiver's own limit is the lower one, the refusal names it.
func TestHTTPReceiverLimitFirst(t *testing.T) {
	h := newHarness(t, defaultCfg, map[string]any{"max_request_body_size": 4096})
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(genaiBatch(t))
	must(t, err)
	code, body := h.post(t, "/v1/traces", contentProtobuf, pb, true)
	if code != 413 || !strings.Contains(body, "exceeds 4096 bytes (the receiver's max_request_body_size)") {
		t.Fatalf("HTTP %d %q", code, body)
	}
}
