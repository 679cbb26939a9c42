package aitrace

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// quickConfig is the default configuration with short joining waits:
// requests here are sent one after the other, so a counterpart never comes
// while one waits.
func quickConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Join.LogsWait, cfg.Join.ParentWait = 50*time.Millisecond, 50*time.Millisecond
	return cfg
}

// harness runs batches through a processor and reads its own metrics.
type harness struct {
	t      testing.TB
	reader *sdkmetric.ManualReader
	cfg    *Config
}

func newHarness(t testing.TB, cfg *Config) *harness {
	t.Helper()
	if cfg == nil {
		cfg = quickConfig()
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config invalid: %v", err)
	}
	return &harness{t: t, reader: sdkmetric.NewManualReader(), cfg: cfg}
}

// run sends one request through a processor of its own.
func (h *harness) run(td ptrace.Traces) ptrace.Traces {
	h.t.Helper()
	send, stop := h.startStop()
	defer stop()
	return send(td)
}

// start creates one processor and returns a function that sends it a
// request and returns what it passed on; the processor keeps its memory
// between requests.
func (h *harness) start() func(ptrace.Traces) ptrace.Traces {
	h.t.Helper()
	send, stop := h.startStop()
	h.t.Cleanup(stop)
	return send
}

func (h *harness) startStop() (func(ptrace.Traces) ptrace.Traces, func()) {
	h.t.Helper()
	set := processortest.NewNopSettings(metadata.Type)
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), set, h.cfg, sink)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := p.Start(context.Background(), nil); err != nil {
		h.t.Fatal(err)
	}
	return func(td ptrace.Traces) ptrace.Traces {
			h.t.Helper()
			if err := p.ConsumeTraces(context.Background(), td); err != nil {
				h.t.Fatal(err)
			}
			all := sink.AllTraces()
			return all[len(all)-1]
		}, func() {
			_ = p.Shutdown(context.Background())
		}
}

// counter sums a counter's points whose attributes include all of want.
func (h *harness) counter(name string, want map[string]string) int64 {
	h.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatal(err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				h.t.Fatalf("%s is not an int64 sum", name)
			}
		points:
			for _, dp := range sum.DataPoints {
				for k, v := range want {
					got, ok := dp.Attributes.Value(attribute.Key(k))
					if !ok || got.AsString() != v {
						continue points
					}
				}
				total += dp.Value
			}
		}
	}
	return total
}

// spanSpec describes one span of a test batch.
type spanSpec struct {
	name   string
	id     byte // span id's last byte; 0 leaves it empty
	parent byte
	start  int64 // seconds after a fixed epoch
	end    int64
	attrs  map[string]any
	status ptrace.StatusCode
	msg    string
	events []eventSpec
	scope  string // instrumentation scope name; spans of one scope share a ScopeSpans
}

type eventSpec struct {
	name  string
	attrs map[string]any
}

var testTrace = pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

const epoch = int64(1_790_000_000)

func sid(b byte) pcommon.SpanID { return pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, b} }

func batchOf(t testing.TB, specs ...spanSpec) ptrace.Traces {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	scopes := map[string]ptrace.SpanSlice{}
	for _, s := range specs {
		ss, ok := scopes[s.scope]
		if !ok {
			sc := rs.ScopeSpans().AppendEmpty()
			sc.Scope().SetName(s.scope)
			ss = sc.Spans()
			scopes[s.scope] = ss
		}
		span := ss.AppendEmpty()
		span.SetName(s.name)
		span.SetTraceID(testTrace)
		if s.id != 0 {
			span.SetSpanID(sid(s.id))
		}
		if s.parent != 0 {
			span.SetParentSpanID(sid(s.parent))
		}
		span.SetStartTimestamp(pcommon.Timestamp((epoch + s.start) * 1e9))
		span.SetEndTimestamp(pcommon.Timestamp((epoch + s.end) * 1e9))
		span.Status().SetCode(s.status)
		span.Status().SetMessage(s.msg)
		if err := span.Attributes().FromRaw(s.attrs); err != nil {
			t.Fatal(err)
		}
		for _, e := range s.events {
			ev := span.Events().AppendEmpty()
			ev.SetName(e.name)
			if err := ev.Attributes().FromRaw(e.attrs); err != nil {
				t.Fatal(err)
			}
		}
	}
	return td
}

func spansOf(td ptrace.Traces) []ptrace.Span {
	var out []ptrace.Span
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				out = append(out, sp)
			}
		}
	}
	return out
}

// runOne pushes one span through a default processor.
func runOne(t *testing.T, cfg *Config, name string, attrs map[string]any) ptrace.Span {
	t.Helper()
	return spansOf(newHarness(t, cfg).run(batchOf(t, spanSpec{name: name, id: 1, attrs: attrs})))[0]
}

func loadFixture(t testing.TB, name string) ptrace.Traces {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return td
}

// expectAttrs checks values (compared through AsRaw) and absent keys.
func expectAttrs(t *testing.T, what string, attrs pcommon.Map, want map[string]any, absent ...string) {
	t.Helper()
	for k, w := range want {
		got, ok := attrs.Get(k)
		if !ok {
			t.Errorf("%s: %s missing", what, k)
			continue
		}
		if !sameRaw(got.AsRaw(), w) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got.AsRaw(), w)
		}
	}
	for _, k := range absent {
		if v, ok := attrs.Get(k); ok {
			t.Errorf("%s: %s should be absent, is %v", what, k, v.AsRaw())
		}
	}
}

func sameRaw(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func jsonOf(t *testing.T, attrs pcommon.Map, k string) any {
	t.Helper()
	v, ok := attrs.Get(k)
	if !ok {
		t.Fatalf("%s missing", k)
	}
	var out any
	if err := json.Unmarshal([]byte(v.Str()), &out); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", k, err, v.Str())
	}
	return out
}

func sliceHas(s pcommon.Slice, v string) bool {
	for _, e := range s.All() {
		if e.Str() == v {
			return true
		}
	}
	return false
}

func flagsOf(attrs pcommon.Map) []string {
	v, ok := attrs.Get("aiops.policy.flags")
	if !ok {
		return nil
	}
	var out []string
	for _, e := range v.Slice().All() {
		out = append(out, e.Str())
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ageISO is a timestamp s seconds before the test epoch's span start + 1 s.
func ageISO(s int64) string {
	return time.Unix(epoch+1-s-1, 0).UTC().Format(time.RFC3339)
}

func ptraceOf(spans []ptrace.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for _, sp := range spans {
		sp.CopyTo(ss.AppendEmpty())
	}
	return td
}

// pipelines is one configured aitrace on a traces and a logs pipeline,
// sharing its memory and joins as in the collector.
type pipelines struct {
	traces *consumertest.TracesSink
	logs   *consumertest.LogsSink
	tp     processor.Traces
	lp     processor.Logs
}

func (h *harness) pipelines() *pipelines {
	h.t.Helper()
	set := processortest.NewNopSettings(metadata.Type)
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	pl := &pipelines{traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink)}
	var err error
	if pl.tp, err = NewFactory().CreateTraces(context.Background(), set, h.cfg, pl.traces); err != nil {
		h.t.Fatal(err)
	}
	if pl.lp, err = NewFactory().CreateLogs(context.Background(), set, h.cfg, pl.logs); err != nil {
		h.t.Fatal(err)
	}
	for _, c := range []component.Component{pl.tp, pl.lp} {
		if err := c.Start(context.Background(), nil); err != nil {
			h.t.Fatal(err)
		}
	}
	h.t.Cleanup(func() {
		_ = pl.tp.Shutdown(context.Background())
		_ = pl.lp.Shutdown(context.Background())
	})
	return pl
}
