package providerusage

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-aiops/otelcol-aiops/internal/mockprovider"
	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
)

const (
	openAIKey    = "sk-admin-test"
	anthropicKey = "sk-ant-admin-test"
)

// now is the tests' clock: a Friday afternoon, so three daily buckets end
// with one still filling.
var now = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)

// mocks are both providers' mock servers with the fixture below, one
// bucket a page: three pages a report.
type mocks struct {
	openai, anthropic *mockprovider.Server
}

func newMocks(t *testing.T) *mocks {
	m := &mocks{openai: mockprovider.NewOpenAI(openAIKey), anthropic: mockprovider.NewAnthropic(anthropicKey)}
	t.Cleanup(m.openai.Close)
	t.Cleanup(m.anthropic.Close)
	m.fill(1)
	return m
}

// fill serves three days. Day i (0, 1, 2) holds, per report:
//
//	completions  proj_support key_support gpt-4o-2024-08-06, not batch: input 1000(i+1) of which cached 400(i+1), output 200(i+1), 10(i+1) requests
//	             proj_unmapped key_x gpt-4o-mini-2024-07-18, batch: input 500, output 50, 5 requests
//	embeddings   proj_support key_support text-embedding-3-small: input 800, 4 requests
//	costs        proj_support "gpt-4o-2024-08-06, input" $0.0225; proj_unmapped "gpt-4o-mini-2024-07-18, input" $0.000075
//	messages     wrkspc_kb apikey_kb claude-sonnet-4-20250514 standard: uncached 900, cache read 3000, 5m writes 200, 1h writes 50, output 250, 3 web searches
//	             default workspace (null) apikey_default claude-3-5-haiku-20241022 batch: uncached 100, output 20
//	cost_report  wrkspc_kb sonnet input 27.00 cents; default workspace haiku input 0.40 cents
//
// scale multiplies today's (the last) bucket's numbers, a bucket still filling.
func (m *mocks) fill(scale int64) {
	f, tr := false, true
	sc := func(i int) int64 {
		if i == 2 {
			return scale
		}
		return 1
	}
	m.openai.SetReport(mockprovider.OpenAICompletions, mockprovider.Days(now, 3, func(i int, _ time.Time) []map[string]any {
		n := int64(i+1) * sc(i)
		return []map[string]any{
			mockprovider.OpenAIUsage{Model: "gpt-4o-2024-08-06", Project: "proj_support", APIKey: "key_support", ServiceTier: "default", Batch: &f,
				Input: 1000 * n, Cached: 400 * n, Output: 200 * n, Requests: 10 * n}.Row("organization.usage.completions.result"),
			mockprovider.OpenAIUsage{Model: "gpt-4o-mini-2024-07-18", Project: "proj_unmapped", APIKey: "key_x", ServiceTier: "default", Batch: &tr,
				Input: 500, Output: 50, Requests: 5}.Row("organization.usage.completions.result"),
		}
	}))
	m.openai.SetReport(mockprovider.OpenAIEmbeddings, mockprovider.Days(now, 3, func(int, time.Time) []map[string]any {
		return []map[string]any{mockprovider.OpenAIUsage{Model: "text-embedding-3-small", Project: "proj_support", APIKey: "key_support",
			Input: 800, Requests: 4}.Row("organization.usage.embeddings.result")}
	}))
	m.openai.SetReport(mockprovider.OpenAICosts, mockprovider.Days(now, 3, func(int, time.Time) []map[string]any {
		return []map[string]any{
			mockprovider.OpenAICostText("proj_support", "gpt-4o-2024-08-06, input", "0.0225"),
			mockprovider.OpenAICostText("proj_unmapped", "gpt-4o-mini-2024-07-18, input", "0.000075"),
		}
	}))
	m.anthropic.SetReport(mockprovider.AnthropicMessages, mockprovider.Days(now, 3, func(int, time.Time) []map[string]any {
		return []map[string]any{
			mockprovider.AnthropicUsage{Model: "claude-sonnet-4-20250514", Workspace: "wrkspc_kb", APIKey: "apikey_kb", ServiceTier: "standard",
				Uncached: 900, CacheRead: 3000, Write5m: 200, Write1h: 50, Output: 250, Web: 3}.Row(),
			mockprovider.AnthropicUsage{Model: "claude-3-5-haiku-20241022", APIKey: "apikey_default", ServiceTier: "batch", Uncached: 100, Output: 20}.Row(),
		}
	}))
	m.anthropic.SetReport(mockprovider.AnthropicCosts, mockprovider.Days(now, 3, func(int, time.Time) []map[string]any {
		return []map[string]any{
			mockprovider.AnthropicCost("wrkspc_kb", "Claude Sonnet 4 Usage - Input Tokens", "claude-sonnet-4-20250514", "uncached_input_tokens", "27.00"),
			mockprovider.AnthropicCost("", "Claude Haiku 3.5 Usage - Input Tokens", "claude-3-5-haiku-20241022", "uncached_input_tokens", "0.40"),
		}
	}))
}

func (m *mocks) config() *Config {
	cfg := createDefaultConfig()
	oa := cfg.OpenAI.GetOrInsertDefault()
	oa.AdminKey, oa.Endpoint = openAIKey, m.openai.URL
	oa.Projects = map[string]Attribution{"proj_support": {Workload: "support-bot", Tenant: "acme", Team: "cx"}}
	an := cfg.Anthropic.GetOrInsertDefault()
	an.AdminKey, an.Endpoint = anthropicKey, m.anthropic.URL
	an.Workspaces = map[string]Attribution{"wrkspc_kb": {Workload: "kb-rag"}, "default": {Team: "platform"}}
	return cfg
}

// sleeper records the waits asked for instead of waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

type harness struct {
	t     *testing.T
	r     *usageReceiver
	sink  *consumertest.LogsSink
	tel   *componenttest.Telemetry
	logs  *observer.ObservedLogs
	sleep *sleeper
}

// newHarness builds the receiver through its factory with a fixed clock
// and a recording sleeper; tests call poll themselves.
func newHarness(t *testing.T, cfg *Config, next consumer.Logs) *harness {
	t.Helper()
	h := &harness{t: t, sink: new(consumertest.LogsSink), tel: componenttest.NewTelemetry(), sleep: &sleeper{}}
	if next == nil {
		next = h.sink
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	h.r = rcv.(*usageReceiver)
	h.r.now = func() time.Time { return now }
	h.r.sleep = h.sleep.sleep
	t.Cleanup(func() {
		h.r.Shutdown(context.Background())
		h.tel.Shutdown(context.Background())
	})
	return h
}

func (h *harness) poll() { h.r.poll(context.Background()) }

// records are every record the sink holds, as maps of their attributes.
func (h *harness) records() []map[string]any {
	var out []map[string]any
	for _, ld := range h.sink.AllLogs() {
		out = append(out, recordsOf(ld)...)
	}
	return out
}

func recordsOf(ld plog.Logs) []map[string]any {
	var out []map[string]any
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				m := lrs.At(k).Attributes().AsRaw()
				m["event"] = lrs.At(k).EventName()
				m["ts"] = lrs.At(k).Timestamp()
				out = append(out, m)
			}
		}
	}
	return out
}

// sum adds key over the records matching every filter (key=value).
func sum(recs []map[string]any, key string, filter map[string]any) int64 {
	var n int64
	for _, r := range recs {
		if matches(r, filter) {
			v, _ := r[key].(int64)
			n += v
		}
	}
	return n
}

func matches(r, filter map[string]any) bool {
	for k, v := range filter {
		if r[k] != v {
			return false
		}
	}
	return true
}

func where(recs []map[string]any, filter map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if matches(r, filter) {
			out = append(out, r)
		}
	}
	return out
}

// points are our metrics' data points, name{k=v,...} → value.
func (h *harness) points() map[string]int64 {
	h.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.tel.Reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metadata.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name+"{"+encode(dp.Attributes)+"}"] += dp.Value
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name+"{"+encode(dp.Attributes)+"}"] = dp.Value
				}
			}
		}
	}
	return out
}

func encode(s attribute.Set) string { return s.Encoded(attribute.DefaultEncoder()) }

func bucketTS(day int) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(mockprovider.Day(now).AddDate(0, 0, day-2))
}
