package aiopsclickhouse

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore/chstoretest"
)

// One engine per test process, so every test shares this data directory and
// uses its own database.
var dataDir string

func TestMain(m *testing.M) { os.Exit(chstoretest.Run(m, &dataDir)) }

func testConfig(db string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Database = db
	cfg.Embedded.Path = dataDir
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // synchronous: errors reach the test
	cfg.RetryConfig.Enabled = false
	return cfg
}

func sampleTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "support-bot")
	rs.Resource().Attributes().PutStr("deployment.environment.name", "production")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

	chat := spans.AppendEmpty()
	chat.SetName("chat gpt-4o")
	chat.SetTraceID(pcommon.TraceID{1, 2, 3})
	chat.SetSpanID(pcommon.SpanID{1})
	chat.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	chat.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Millisecond)))
	a := chat.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o")
	a.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
	a.PutInt("gen_ai.usage.input_tokens", 1000)
	a.PutInt("gen_ai.usage.output_tokens", 200)
	a.PutInt("gen_ai.usage.cache_read.input_tokens", 400)
	a.PutDouble("gen_ai.usage.cost", 0.004)
	a.PutStr("aiops.cost.source", "computed")
	a.PutStr("aiops.user.id", "user-\xff-1") // invalid UTF-8 is repaired, not dropped
	a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`)
	a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")

	http := spans.AppendEmpty()
	http.SetName("GET /api/chat")
	http.SetTraceID(pcommon.TraceID{1, 2, 3})
	http.SetSpanID(pcommon.SpanID{2})
	http.Attributes().PutStr("http.route", "/api/chat")
	return td
}

func startExporter(t *testing.T, cfg *Config) func(context.Context, ptrace.Traces) error {
	t.Helper()
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
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
	return exp.ConsumeTraces
}

func openStore(t *testing.T) chstore.Store {
	s, err := chstore.OpenEmbedded(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWritesGenAISpansOnly(t *testing.T) {
	push := startExporter(t, testConfig("w1"))
	if err := push(context.Background(), sampleTraces()); err != nil {
		t.Fatal(err)
	}
	rows, err := openStore(t).Query(context.Background(),
		"SELECT span_id, service_name, environment, workload, user_id, provider, request_model, input_tokens, output_tokens, cache_read_tokens, cost_usd, cost_source, duration_ns, content_captured, finish_reasons, input_messages != '' FROM w1.genai_spans")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 1 {
		t.Fatalf("%d rows, want 1 (the HTTP span is not GenAI)", len(rows.Data))
	}
	r := rows.Data[0]
	want := []any{"0100000000000000", "support-bot", "production", "support-bot", "user-\uFFFD-1", "openai", "gpt-4o", uint64(1000), uint64(200), uint64(400)}
	for i, w := range want {
		if r[i] != w {
			t.Errorf("column %s = %#v, want %#v", rows.Columns[i], r[i], w)
		}
	}
	if d := r[10].(decimal.Decimal); d.String() != "0.004" {
		t.Errorf("cost_usd = %s, want 0.004", d)
	}
	if r[11] != "computed" || r[12] != uint64(1500*time.Millisecond) || r[13] != "full" || strings.Join(r[14].([]string), ",") != "stop" || r[15] != uint8(1) {
		t.Errorf("row: %#v", r)
	}
}

func TestRetriedBatchIsNotDuplicated(t *testing.T) {
	push := startExporter(t, testConfig("w2"))
	td := sampleTraces()
	for i := 0; i < 3; i++ {
		if err := push(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := openStore(t).Query(context.Background(), "SELECT count() FROM w2.genai_spans")
	if err != nil {
		t.Fatal(err)
	}
	if n := rows.Data[0][0].(uint64); n != 1 {
		t.Fatalf("%d rows after three deliveries of one batch, want 1", n)
	}
}

func TestCreateSchemaFalseNamesWhatIsMissing(t *testing.T) {
	cfg := testConfig("never_migrated")
	cfg.CreateSchema = false
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	defer exp.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "migration 1 (genai_spans) not applied") {
		t.Fatalf("want a start error naming the missing migration, got %v", err)
	}
}

func TestEveryContractColumnIsFilled(t *testing.T) {
	td := sampleTraces()
	rs := td.ResourceSpans().At(0)
	for _, c := range []struct {
		s   *schema
		add func(b *builder)
	}{
		{genaiSpansSchema, func(b *builder) { addGenAISpan(b, rs.Resource(), rs.ScopeSpans().At(0).Spans().At(0), "tok") }},
		{spansSchema, func(b *builder) { addSpan(b, rs.Resource(), rs.ScopeSpans().At(0).Spans().At(1), "tok") }},
		{genaiEventsSchema, func(b *builder) {
			addEvent(b, eventRow{name: "aiops.policy", attrs: rs.ScopeSpans().At(0).Spans().At(0).Attributes()}, "tok")
		}},
	} {
		b := newBuilder(c.s, 1)
		c.add(b) // endRow panics on a column without exactly one value
		batch := b.batch("x")
		if err := batch.Validate(); err != nil || batch.Rows() != 1 || len(batch.Columns) != len(c.s.cols) {
			t.Fatalf("%s: %v rows=%d", c.s.table, err, batch.Rows())
		}
	}
}

func TestServerWriter(t *testing.T) {
	dsn := os.Getenv("AIOPS_TEST_CLICKHOUSE_DSN")
	if dsn == "" {
		t.Skip("AIOPS_TEST_CLICKHOUSE_DSN is not set: skipping the exporter's ClickHouse server test (set it to a clickhouse:// DSN of a server >= 24.8)")
	}
	db := "aiops_exp_test_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	cfg := testConfig(db)
	cfg.Embedded.Path = ""
	cfg.Endpoint = dsn
	push := startExporter(t, cfg)
	for i := 0; i < 2; i++ { // a retried batch
		if err := push(context.Background(), sampleTraces()); err != nil {
			t.Fatal(err)
		}
	}
	s, err := chstore.OpenServer(context.Background(), chstore.ServerOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	rows, err := s.Query(context.Background(), "SELECT count(), any(cost_usd) FROM "+db+".genai_spans")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Data[0][0].(uint64) != 1 || rows.Data[0][1].(decimal.Decimal).String() != "0.004" {
		t.Fatalf("server rows: %v", rows.Data)
	}
}
