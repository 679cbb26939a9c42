package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/telemetrytest"
)

// statusHost records the component status the exporter reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []componentstatus.Status
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Status())
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]componentstatus.Status(nil), h.events...)
}

// harness runs the exporter as the factory does (exporterhelper with the
// config's queue and retry), with a metric reader and a status host.
type harness struct {
	e      *chExporter
	traces consumer.Traces
	logs   consumer.Logs
	reader *sdkmetric.ManualReader
	host   *statusHost
}

func newHarness(t *testing.T, cfg *Config, setup func(*chExporter)) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{reader: sdkmetric.NewManualReader(), host: &statusHost{Host: componenttest.NewNopHost()}}
	set := exportertest.NewNopSettings(metadata.Type)
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	e, err := newExporter(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(e)
	}
	h.e = e
	tr, err := newTracesExporter(ctx, set, cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	// The logs side shares the exporter and its lifecycle.
	retry := cfg.RetryConfig
	retry.MaxElapsedTime = 0
	lg, err := exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, exporterhelper.WithRetry(retry), exporterhelper.WithQueue(cfg.QueueConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx, h.host); err != nil {
		t.Fatal(err)
	}
	if err := lg.Start(ctx, h.host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lg.Shutdown(context.Background())
		tr.Shutdown(context.Background())
	})
	h.traces, h.logs = stampTraces{tr}, stampLogs{lg}
	return h
}

// queued is a config with the real in-memory sending queue, one consumer
// (later batches wait behind earlier ones), no batching and fast retries.
func queued(db string) *Config {
	cfg := testConfig(db)
	q := exporterhelper.NewDefaultQueueConfig()
	q.NumConsumers = 1
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	cfg.QueueConfig = configoptional.Some(q)
	fastRetry(cfg)
	cfg.RetryConfig.MaxElapsedTime = 0
	return cfg
}

// metricPoints maps "name{k=v,...}" to the value of each data point.
func (h *harness) metricPoints(t *testing.T) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	key := func(name string, attrs []string) string {
		sort.Strings(attrs)
		return name + "{" + strings.Join(attrs, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metadata.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out[key(m.Name, attrStrings(dp.Attributes.ToSlice()))] += float64(dp.Value)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					out[key(m.Name, attrStrings(dp.Attributes.ToSlice()))] = dp.Value
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					out[key(m.Name, attrStrings(dp.Attributes.ToSlice()))] += float64(dp.Count)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out[key(m.Name, attrStrings(dp.Attributes.ToSlice()))] += float64(dp.Count)
				}
			}
		}
	}
	return out
}

func attrStrings(kvs []attribute.KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = string(kv.Key) + "=" + kv.Value.Emit()
	}
	return out
}

// waitFor polls cond for up to 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func rowCount(t *testing.T, q string) uint64 {
	t.Helper()
	return scalar(t, q).(uint64)
}

// monthsTraces is one request of n GenAI spans, span i in the i-th month
// after start, each with a policy event, plus an HTTP span for every tenth.
func monthsTraces(seed, n int, start time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "backfill")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		ts := pcommon.NewTimestampFromTime(start.AddDate(0, i, 0))
		s := spans.AppendEmpty()
		s.SetName("chat")
		s.SetTraceID(pcommon.TraceID{byte(seed), 7, byte(i), byte(i >> 8)})
		s.SetSpanID(pcommon.SpanID{byte(seed), 7, byte(i), byte(i >> 8), 1})
		s.SetStartTimestamp(ts)
		s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		ev := s.Events().AppendEmpty()
		ev.SetName("aiops.policy")
		ev.SetTimestamp(ts)
		ev.Attributes().PutStr("aiops.policy.name", "pii")
		if i%10 == 0 {
			h := spans.AppendEmpty()
			h.SetName("GET /")
			h.SetTraceID(s.TraceID())
			h.SetSpanID(pcommon.SpanID{byte(seed), 7, byte(i), byte(i >> 8), 2})
			h.SetStartTimestamp(ts)
		}
	}
	return td
}

var jan2010 = time.Date(2010, 1, 15, 12, 0, 0, 0, time.UTC)

func TestBatchOverManyMonthsIsSplitAndNothingBehindWaits(t *testing.T) {
	db := "split_months"
	cfg := queued(db)
	cfg.DeadLetterDir = t.TempDir()
	h := newHarness(t, cfg, nil)
	// 150 months is over max_partitions_per_insert_block (100): once
	// refused for good and retried forever; now split by month.
	if err := h.traces.ConsumeTraces(context.Background(), monthsTraces(1, 150, jan2010)); err != nil {
		t.Fatal(err)
	}
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(2, 100)); err != nil {
		t.Fatal(err)
	}
	// Each batch writes genai_spans, then genai_events and spans: wait for
	// the last table too.
	waitFor(t, "both batches", func() bool {
		return rowCount(t, "SELECT count() FROM "+db+".genai_spans") >= 250 && rowCount(t, "SELECT count() FROM "+db+".spans") >= 25
	})
	for q, want := range map[string]uint64{
		"SELECT count() FROM " + db + ".genai_spans":                                                  250,
		"SELECT uniqExact(span_id) FROM " + db + ".genai_spans":                                       250,
		"SELECT uniqExact(_partition_id) FROM " + db + ".genai_spans WHERE service_name = 'backfill'": 150,
		// Rows of the split request carry <request token>~<yyyymm>.
		"SELECT countIf(insert_token LIKE '%~20%') FROM " + db + ".genai_spans": 150,
		"SELECT count() FROM " + db + ".genai_events":                           150,
		"SELECT count() FROM " + db + ".spans":                                  15 + 10,
		"SELECT sum(requests) FROM " + db + ".genai_usage_hourly":               250,
	} {
		if got := rowCount(t, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	// A replay of the split request stores nothing again.
	td := monthsTraces(1, 150, jan2010)
	if err := h.traces.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(3, 10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch after the replay", func() bool { return rowCount(t, "SELECT count() FROM "+db+".genai_spans") >= 260 })
	time.Sleep(100 * time.Millisecond)
	if got := rowCount(t, "SELECT count() FROM "+db+".genai_spans"); got != 260 {
		t.Errorf("after a replay: %d rows, want 260", got)
	}
	if files, _ := filepath.Glob(filepath.Join(h.e.dlq.dir, "*")); len(files) != 0 {
		t.Errorf("dead-lettered: %v", files)
	}
}

// failNth fails the n-th insert (counting from 1) with err, around the real engine.
type failNth struct {
	chstore.Store
	mu    sync.Mutex
	n     int
	calls int
	err   error
}

func (f *failNth) Insert(ctx context.Context, b *chstore.Batch, tok string) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls == f.n
	f.mu.Unlock()
	if fail {
		return f.err
	}
	return f.Store.Insert(ctx, b, tok)
}

var connReset = &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}

func genaiOnly(td ptrace.Traces) ptrace.Traces {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.RemoveIf(func(s ptrace.Span) bool { return s.Name() != "chat" })
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).Events().RemoveIf(func(ptrace.SpanEvent) bool { return true })
	}
	return td
}

func merged(parts ...ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, p := range parts {
		cp := ptrace.NewTraces()
		p.CopyTo(cp)
		cp.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

// A crash between the months of a split request: the process dies with the
// first months stored; the persistent queue replays the request (alone or
// regrouped) into a new process. Every row is stored once.
func TestSplitRequestSurvivesACrashBetweenMonths(t *testing.T) {
	db := "split_crash"
	// Inserts: 1 the whole request (refused: 150 months), 2 months 1-50,
	// 3 months 51-100 fails as if the process died during it.
	first := newHarness(t, testConfig(db), func(e *chExporter) {
		e.storeFor = func(s chstore.Store) chstore.Store { return &failNth{Store: s, n: 3, err: connReset} }
	})
	td := genaiOnly(monthsTraces(4, 150, jan2010))
	if err := first.traces.ConsumeTraces(context.Background(), td); err == nil {
		t.Fatal("the failed chunk was not reported")
	}
	if got := rowCount(t, "SELECT count() FROM "+db+".genai_spans"); got != 50 {
		t.Fatalf("%d rows after the first chunk, want 50", got)
	}
	// A new process: no memory of the attempt; the request keeps its token.
	second := newHarness(t, testConfig(db), nil)
	for i := 0; i < 2; i++ {
		if err := second.traces.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]uint64{
		"SELECT count() FROM " + db + ".genai_spans":                  150,
		"SELECT uniqExact(span_id) FROM " + db + ".genai_spans":       150,
		"SELECT uniqExact(_partition_id) FROM " + db + ".genai_spans": 150,
		"SELECT sum(requests) FROM " + db + ".genai_usage_hourly":     150,
	} {
		if got := rowCount(t, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	if p := second.metricPoints(t)["aiops_exporter_rows_already_committed{table=genai_spans}"]; p != 50+150 {
		t.Errorf("rows skipped as stored: %v, want 200 (50 on the replay, 150 on the second)", p)
	}
}

// Two requests of 60 months each, merged into one batch of 120 months: the
// months 1-50 of the first are stored, then the process dies. Replayed apart
// (A alone is under the limit, so it goes in one insert), then together:
// still each row once.
func TestRegroupedReplayOfAPartlySplitBatchIsStoredOnce(t *testing.T) {
	db := "split_regroup"
	a := genaiOnly(monthsTraces(5, 60, jan2010))
	b := genaiOnly(monthsTraces(6, 60, jan2010.AddDate(10, 0, 0)))
	for _, td := range []ptrace.Traces{a, b} {
		td.ResourceSpans().At(0).Resource().Attributes().PutStr(insertTokenKey, tracesToken(td))
	}
	first := newHarness(t, testConfig(db), func(e *chExporter) {
		e.storeFor = func(s chstore.Store) chstore.Store { return &failNth{Store: s, n: 3, err: connReset} }
	})
	if err := first.traces.ConsumeTraces(context.Background(), merged(a, b)); err == nil {
		t.Fatal("the failed chunk was not reported")
	}
	if got := rowCount(t, "SELECT count() FROM "+db+".genai_spans"); got != 50 {
		t.Fatalf("%d rows after the first chunk, want 50", got)
	}
	second := newHarness(t, testConfig(db), nil)
	for _, td := range []ptrace.Traces{a, b, merged(a, b), merged(b, a)} {
		if err := second.traces.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	if got := rowCount(t, "SELECT count() FROM "+db+".genai_spans"); got != 120 {
		t.Errorf("%d rows, want 120", got)
	}
	if got := rowCount(t, "SELECT uniqExact(span_id) FROM "+db+".genai_spans"); got != 120 {
		t.Errorf("%d distinct spans, want 120", got)
	}
}

// A batch the engine refuses for good (a CHECK constraint it violates) is
// dead-lettered with its error and counted; the batch queued behind it is
// stored. Merged with a good request, only the bad request is kept aside.
func TestRefusedBatchIsDeadLetteredAndTheNextIsStored(t *testing.T) {
	db := "poison_bad"
	cfg := queued(db)
	cfg.DeadLetterDir = filepath.Join(t.TempDir(), "dead")
	h := newHarness(t, cfg, nil)
	if err := openStore(t).Exec(context.Background(), "ALTER TABLE "+db+".genai_spans ADD CONSTRAINT sane_tokens CHECK input_tokens < 1000000"); err != nil {
		t.Fatal(err)
	}
	bad := manyTraces(8, 3) // 3 GenAI spans and 1 HTTP span
	bad.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).Attributes().PutInt("gen_ai.usage.input_tokens", 5_000_000)
	if err := h.traces.ConsumeTraces(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(9, 20)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good batch", func() bool { return rowCount(t, "SELECT count() FROM "+db+".genai_spans") == 20 })
	files, _ := filepath.Glob(filepath.Join(cfg.DeadLetterDir, "*.traces.otlp.json"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files: %v", files)
	}
	reason, _ := os.ReadFile(files[0] + ".error.txt")
	if !strings.Contains(string(reason), "VIOLATED_CONSTRAINT") {
		t.Errorf("error file: %s", reason)
	}
	points := h.metricPoints(t)
	if got := points["aiops_exporter_dead_lettered{reason=bad_data,signal=traces}"]; got != 4 {
		t.Errorf("dead-lettered records: %v, want 4; %v", got, points)
	}
	if got := points["aiops_exporter_insert_failures{permanent=true,reason=bad_data,table=genai_spans}"]; got != 1 {
		t.Errorf("permanent insert failures: %v, want 1", got)
	}

	// The bad request merged with a good one: the good one is stored, the
	// bad one alone is kept.
	good := manyTraces(10, 30)
	bad2 := manyTraces(11, 5)
	bad2.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutInt("gen_ai.usage.input_tokens", 7_000_000)
	for _, td := range []ptrace.Traces{good, bad2} {
		td.ResourceSpans().At(0).Resource().Attributes().PutStr(insertTokenKey, tracesToken(td))
	}
	if err := h.e.pushTraces(context.Background(), merged(good, bad2)); err != nil {
		t.Fatal(err)
	}
	if got := rowCount(t, "SELECT count() FROM "+db+".genai_spans"); got != 50 {
		t.Errorf("%d rows, want 20 + the 30 good ones", got)
	}
	files, _ = filepath.Glob(filepath.Join(cfg.DeadLetterDir, "*.traces.otlp.json"))
	if len(files) != 2 {
		t.Fatalf("dead-letter files: %v", files)
	}
	sort.Strings(files)
	body, _ := os.ReadFile(files[1])
	kept, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	if err != nil || kept.SpanCount() != bad2.SpanCount() {
		t.Fatalf("the second file holds %d spans (%v), want only the bad request's %d", kept.SpanCount(), err, bad2.SpanCount())
	}
}

// realError is a genuine engine error: the wrapper hands it back for every insert.
type failingStore struct {
	chstore.Store
	err atomic.Pointer[error]
}

func (f *failingStore) Insert(ctx context.Context, b *chstore.Batch, tok string) error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return f.Store.Insert(ctx, b, tok)
}

// An error no table knows is retried, but not past max_retry_age: then the
// batch is dead-lettered, not retried forever or dropped.
func TestUnclassifiedErrorIsDeadLetteredAfterMaxRetryAge(t *testing.T) {
	db := "retry_age"
	cfg := testConfig(db)
	cfg.DeadLetterDir = filepath.Join(t.TempDir(), "dead")
	cfg.MaxRetryAge = 10 * time.Minute
	realErr := openStore(t).Exec(context.Background(), "SELECT plus(1)") // NUMBER_OF_ARGUMENTS_DOESNT_MATCH: not in the table
	if c := chstore.ClassifyError(realErr); c.Permanent || c.Reason != chstore.ReasonUnclassified {
		t.Fatalf("premise: %v is %+v", realErr, c)
	}
	fs := &failingStore{}
	fs.err.Store(&realErr)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, cfg, func(e *chExporter) {
		e.storeFor = func(s chstore.Store) chstore.Store { fs.Store = s; return fs }
		e.now = func() time.Time { return clock }
	})
	td := manyTraces(12, 5)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr(insertTokenKey, tracesToken(td))
	if err := h.e.pushTraces(context.Background(), td); err == nil || consumerPermanent(err) {
		t.Fatalf("first failure: %v, want retryable", err)
	}
	clock = clock.Add(9 * time.Minute)
	if err := h.e.pushTraces(context.Background(), td); err == nil {
		t.Fatal("gave up before max_retry_age")
	}
	if got := h.metricPoints(t)["aiops_exporter_oldest_pending_age{signal=traces}"]; got != 540 {
		t.Errorf("oldest pending age %v s, want 540", got)
	}
	clock = clock.Add(2 * time.Minute)
	if err := h.e.pushTraces(context.Background(), td); err != nil {
		t.Fatalf("past max_retry_age: %v, want the batch dead-lettered", err)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DeadLetterDir, "*.traces.otlp.json"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files: %v", files)
	}
	reason, _ := os.ReadFile(files[0] + ".error.txt")
	if !strings.Contains(string(reason), "max_retry_age") || !strings.Contains(string(reason), "code 42") {
		t.Errorf("error file: %s", reason)
	}
	points := h.metricPoints(t)
	if got := points["aiops_exporter_dead_lettered{reason=expired_unclassified,signal=traces}"]; got != 6 {
		t.Errorf("dead-lettered: %v, want 6; %v", got, points)
	}
	if got := points["aiops_exporter_oldest_pending_age{signal=traces}"]; got != 0 {
		t.Errorf("oldest pending age %v after the dead-letter, want 0", got)
	}
}

func consumerPermanent(err error) bool {
	var p interface{ IsPermanent() bool }
	return errors.As(err, &p)
}

// exporterhelper drops a batch past retry_on_failure.max_elapsed_time; the
// exporter dead-letters it first, through the real queue and retry sender.
func TestMaxElapsedTimeDeadLettersInsteadOfDropping(t *testing.T) {
	db := "elapsed"
	cfg := queued(db)
	cfg.DeadLetterDir = filepath.Join(t.TempDir(), "dead")
	cfg.RetryConfig.MaxElapsedTime = 300 * time.Millisecond
	fs := &failingStore{}
	var down error = connReset
	fs.err.Store(&down)
	h := newHarness(t, cfg, func(e *chExporter) {
		e.storeFor = func(s chstore.Store) chstore.Store { fs.Store = s; return fs }
	})
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(13, 7)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead-letter file", func() bool {
		files, _ := filepath.Glob(filepath.Join(cfg.DeadLetterDir, "*.traces.otlp.json"))
		return len(files) == 1
	})
	fs.err.Store(nil)
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(14, 9)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next batch", func() bool { return rowCount(t, "SELECT count() FROM "+db+".genai_spans") == 9 })
	if got := h.metricPoints(t)["aiops_exporter_dead_lettered{reason=expired_network,signal=traces}"]; got != 8 {
		t.Errorf("dead-lettered %v records, want 8", got)
	}
}

// metadata.yaml and the metrics the exporter emits stay in step: every
// metric declared is emitted with its description, unit, kind and exactly
// its declared attributes, and nothing undeclared is emitted.
func TestTelemetryMatchesMetadata(t *testing.T) {
	md := telemetrytest.Load(t, metadata.Type.String())
	db := "telemetry"
	cfg := testConfig(db)
	cfg.DeadLetterDir = filepath.Join(t.TempDir(), "dead")
	cfg.SpansTable = false
	fs := &failingStore{}
	h := newHarness(t, cfg, func(e *chExporter) {
		e.storeFor = func(s chstore.Store) chstore.Store { fs.Store = s; return fs }
	})
	td := sampleTraces()     // invalid UTF-8 is repaired; its HTTP span is skipped (spans_table off)
	for i := 0; i < 2; i++ { // the second is already committed
		if err := h.traces.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("not an event")
	if err := h.logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	var refused error = &chstore.BatchError{Err: errors.New("refused")}
	fs.err.Store(&refused)
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(15, 2)); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	md.Check(t, telemetrytest.Collect(t, &rm, metadata.ScopeName))
}

// With the store unreachable the exporter starts, the queue holds what
// arrives, health shows a recoverable error; once the store answers, every
// span is stored exactly once and health is OK again.
func TestStartsWithoutTheStoreAndDeliversOnceConnected(t *testing.T) {
	db := "late_store"
	var reachable atomic.Bool
	var refusedOpens atomic.Int64
	h := newHarness(t, queued(db), func(e *chExporter) {
		e.reconnectInitial, e.reconnectMax = 10*time.Millisecond, 50*time.Millisecond
		e.openStore = func(ctx context.Context) (chstore.Store, string, error) {
			if !reachable.Load() {
				refusedOpens.Add(1)
				return nil, "server 127.0.0.1:9000", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}
			return e.open(ctx)
		}
	})
	if got := h.host.statuses(); len(got) != 1 || got[0] != componentstatus.StatusRecoverableError {
		t.Fatalf("status after start: %v, want a recoverable error", got)
	}
	for i := 0; i < 20; i++ {
		if err := h.traces.ConsumeTraces(context.Background(), manyTraces(100+i, 50)); err != nil {
			t.Fatalf("request %d refused while the store is down: %v", i, err)
		}
	}
	waitFor(t, "reconnect attempts", func() bool { return refusedOpens.Load() >= 5 })
	if n := rowCount(t, "SELECT count() FROM system.databases WHERE name = '"+db+"'"); n != 0 {
		t.Fatalf("the database exists before the store was reachable")
	}
	if age := h.metricPoints(t)["aiops_exporter_oldest_pending_age{signal=traces}"]; age <= 0 {
		t.Errorf("oldest pending age %v while the store is down, want > 0", age)
	}
	reachable.Store(true)
	waitFor(t, "all 1000 spans", func() bool {
		var n uint64
		if rows, err := openStore(t).Query(context.Background(), "SELECT count() FROM "+db+".genai_spans"); err == nil {
			n = rows.Data[0][0].(uint64)
		}
		return n >= 1000
	})
	time.Sleep(200 * time.Millisecond) // any stray retry would land now
	if got := rowCount(t, "SELECT count() FROM "+db+".genai_spans"); got != 1000 {
		t.Errorf("%d rows, want 1000", got)
	}
	if got := rowCount(t, "SELECT uniqExact(span_id) FROM "+db+".genai_spans"); got != 1000 {
		t.Errorf("%d distinct spans, want 1000", got)
	}
	st := h.host.statuses()
	if st[len(st)-1] != componentstatus.StatusOK {
		t.Errorf("statuses %v, want OK last", st)
	}
}

func TestShutdownStopsReconnecting(t *testing.T) {
	cfg := testConfig("never_reachable")
	set := exportertest.NewNopSettings(metadata.Type)
	e, err := newExporter(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int64
	e.reconnectInitial, e.reconnectMax = 5*time.Millisecond, 10*time.Millisecond
	e.openStore = func(context.Context) (chstore.Store, string, error) {
		opens.Add(1)
		return nil, "server", fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
	}
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := e.pushTraces(context.Background(), manyTraces(1, 1)); !errors.Is(err, chstore.ErrNotConnected) {
		t.Fatalf("push while not connected: %v", err)
	}
	waitFor(t, "reconnects", func() bool { return opens.Load() >= 3 })
	start := time.Now()
	if err := e.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %s", d)
	}
	after := opens.Load()
	time.Sleep(50 * time.Millisecond)
	if opens.Load() != after {
		t.Error("still reconnecting after shutdown")
	}
}

// create_schema false and the schema missing once the store answers: the
// exporter waits (data stays queued) and picks up a migration run meanwhile.
func TestSchemaMigratedWhileRunningIsPickedUp(t *testing.T) {
	db := "late_schema"
	cfg := queued(db)
	cfg.CreateSchema = false
	var opens atomic.Int64
	h := newHarness(t, cfg, func(e *chExporter) {
		e.reconnectInitial, e.reconnectMax = 10*time.Millisecond, 50*time.Millisecond
		e.openStore = func(ctx context.Context) (chstore.Store, string, error) {
			if opens.Add(1) == 1 {
				return nil, "server", fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
			}
			return e.open(ctx)
		}
	})
	if err := h.traces.ConsumeTraces(context.Background(), manyTraces(30, 40)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "verification attempts", func() bool { return opens.Load() >= 4 })
	if _, err := chstore.Migrate(context.Background(), openStore(t), cfg.schemaOptions(), "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queued spans", func() bool { return rowCount(t, "SELECT count() FROM "+db+".genai_spans") == 40 })
}

// A value nested a million levels deep used to overflow the stack in
// AsString. It is stored as a placeholder naming its digest and size.
func TestDeeplyNestedValuesAreStoredAsPlaceholders(t *testing.T) {
	db := "deep_values"
	h := newHarness(t, testConfig(db), nil)
	deep := func(v pcommon.Value) {
		cur := v
		for i := 0; i < 1_000_000; i++ {
			cur = cur.SetEmptySlice().AppendEmpty()
		}
	}
	td := manyTraces(40, 1)
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	deep(attrs.PutEmpty("app.deep"))
	deep(attrs.PutEmpty("gen_ai.input.messages"))
	wide := attrs.PutEmptySlice("app.wide") // 3 × 512 KiB: its text is over 1 MiB
	for i := 0; i < 3; i++ {
		wide.AppendEmpty().SetStr(strings.Repeat("x", 512<<10))
	}
	if err := h.traces.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.evaluation.result")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	deep(lr.Body())
	deep(lr.Attributes().PutEmpty("app.deep"))
	if err := h.logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	// 1,000,000 arrays and the empty value at the bottom.
	const prefix = "[aiops: value nested deeper than 64 levels removed; 1000001 nodes, sha256:"
	rows, err := openStore(t).Query(context.Background(), "SELECT attributes['app.deep'], input_messages, length(attributes['app.wide']) FROM "+db+".genai_spans")
	if err != nil || len(rows.Data) != 1 {
		t.Fatalf("%v %v", rows, err)
	}
	r := rows.Data[0]
	if !strings.HasPrefix(r[0].(string), prefix) || !strings.HasPrefix(r[1].(string), prefix) || r[0] != r[1] {
		t.Errorf("deep values stored as %.120q and %.120q", r[0], r[1])
	}
	if n := r[2].(uint64); n != 1<<20 {
		t.Errorf("wide value stored with %d bytes, want it cut to %d", n, 1<<20)
	}
	ev, err := openStore(t).Query(context.Background(), "SELECT attributes['app.deep'] FROM "+db+".genai_events")
	if err != nil || len(ev.Data) != 1 || ev.Data[0][0] != r[0] {
		t.Errorf("event attribute: %v %v", ev, err)
	}
	points := h.metricPoints(t)
	if points["aiops_exporter_values_repaired{kind=too_deep}"] != 3 || points["aiops_exporter_values_repaired{kind=too_large}"] != 1 {
		t.Errorf("repairs: %v", points)
	}
}
