package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// TestWalkingSkeleton runs the shipped embedded config in-process, sends one
// OTLP span with a model, usage and user.id, and finds it in genai_spans with
// its tokens and a cost.
func TestWalkingSkeleton(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AIOPS_DATA_DIR", dir)
	t.Setenv("AIOPS_REPORT_TOKEN", "test-report-token")
	t.Setenv("AIOPS_READER_PASSWORD", "test-reader-password")
	b, err := os.ReadFile("../../config/embedded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Ports of its own, so a collector running on this machine does not clash.
	cfg := strings.NewReplacer("127.0.0.1:4317", "127.0.0.1:24317", "127.0.0.1:4318", "127.0.0.1:24318",
		"127.0.0.1:13133", "127.0.0.1:23133", "127.0.0.1:4320", "127.0.0.1:24320", "127.0.0.1:8890", "127.0.0.1:28890", "127.0.0.1:8123", "127.0.0.1:28123", "port: 8888", "port: 28888").Replace(string(b))
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	set := settings()
	set.ConfigProviderSettings.ResolverSettings.URIs = []string{"file:" + path}
	set.ConfigProviderSettings.ResolverSettings.DefaultScheme = "env"
	col, err := otelcol.NewCollector(set)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for col.GetState() != otelcol.StateRunning {
		if time.Now().After(deadline) {
			t.Fatal("collector did not start")
		}
		select {
		case err := <-done:
			t.Fatalf("collector exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer func() {
		col.Shutdown()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// The shipped config serves the maturity report only with the token.
	for token, want := range map[string]int{"": http.StatusUnauthorized, "wrong": http.StatusUnauthorized, "test-report-token": http.StatusServiceUnavailable} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:28890/report.json", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// 503: authenticated, before the first scoring run (initial_delay 30s).
		if resp.StatusCode != want {
			t.Errorf("report.json with token %q: HTTP %d, want %d", token, resp.StatusCode, want)
		}
	}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "skeleton-app")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("chat gpt-4o-mini")
	span.SetTraceID(pcommon.TraceID{0xab, 1})
	span.SetSpanID(pcommon.SpanID{0xcd, 2})
	now := time.Now()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	span.Attributes().PutStr("gen_ai.request.model", "gpt-4o-mini")
	span.Attributes().PutStr("gen_ai.system", "openai") // the pre-provider.name key, normalized by aitrace
	span.Attributes().PutInt("gen_ai.usage.input_tokens", 2000)
	span.Attributes().PutInt("gen_ai.usage.output_tokens", 500)
	span.Attributes().PutStr("user.id", "alice")

	conn, err := grpc.NewClient("127.0.0.1:24317", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}

	// The exporter holds the process's engine; this shares it.
	store, err := chstore.OpenEmbedded(filepath.Join(dir, "clickhouse"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var rows *chstore.Rows
	for deadline = time.Now().Add(30 * time.Second); ; {
		rows, err = store.Query(ctx, "SELECT service_name, user_id, provider, request_model, input_tokens, output_tokens, cost_usd, cost_source FROM aiops.genai_spans WHERE span_id = 'cd02000000000000'")
		if err == nil && len(rows.Data) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no row after 30s (last error %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := rows.Data[0]
	// gpt-4o-mini: 2000 * 0.15/1M + 500 * 0.60/1M = 0.0003 + 0.0003 = 0.0006 USD.
	want := []any{"skeleton-app", "alice", "openai", "gpt-4o-mini", uint64(2000), uint64(500)}
	for i, w := range want {
		if r[i] != w {
			t.Errorf("%s = %#v, want %#v", rows.Columns[i], r[i], w)
		}
	}
	if c := r[6].(decimal.Decimal); !c.Equal(decimal.RequireFromString("0.0006")) || r[7] != "computed" {
		t.Errorf("cost %s (%v), want 0.0006 computed", c, r[7])
	}
}
