package otlpguard

import (
	"bytes"
	"compress/gzip"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

// nest fills v with n levels of arrays ('a'), key-value lists ('m') or
// both alternating ('x') around a string, iteratively.
func nest(v pcommon.Value, n int, kind byte) {
	for i := 0; i < n; i++ {
		if kind == 'a' || kind == 'x' && i%2 == 0 {
			v = v.SetEmptySlice().AppendEmpty()
		} else {
			v = v.SetEmptyMap().PutEmpty("k")
		}
	}
	v.SetStr("core")
}

// shape places one value somewhere in an OTLP request and encodes it.
type shape struct {
	name string
	root msg
	// build returns the protobuf and JSON encodings of a request holding
	// the value fill makes.
	build func(t testing.TB, fill func(pcommon.Value)) (pb, js []byte)
}

func traceShape(name string, place func(ptrace.ResourceSpans) pcommon.Map) shape {
	return shape{name, mTracesRequest, func(t testing.TB, fill func(pcommon.Value)) ([]byte, []byte) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetName("chat")
		s.Attributes().PutStr("gen_ai.provider.name", "openai")
		fill(place(rs).PutEmpty("deep"))
		pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		must(t, err)
		js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		must(t, err)
		return pb, js
	}}
}

func logShape(name string, place func(plog.LogRecord) pcommon.Value) shape {
	return shape{name, mLogsRequest, func(t testing.TB, fill func(pcommon.Value)) ([]byte, []byte) {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Attributes().PutStr("event.name", "gen_ai.user.message")
		fill(place(lr))
		pb, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		must(t, err)
		js, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		must(t, err)
		return pb, js
	}}
}

func metricShape(name string, place func(pmetric.Metric) pcommon.Map) shape {
	return shape{name, mMetricsRequest, func(t testing.TB, fill func(pcommon.Value)) ([]byte, []byte) {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("gen_ai.client.token.usage")
		fill(place(m).PutEmpty("deep"))
		pb, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
		must(t, err)
		js, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		must(t, err)
		return pb, js
	}}
}

// shapes covers every place an OTLP request can carry an AnyValue.
func shapes() []shape {
	span := func(rs ptrace.ResourceSpans) ptrace.Span { return rs.ScopeSpans().At(0).Spans().At(0) }
	return []shape{
		traceShape("span attribute", func(rs ptrace.ResourceSpans) pcommon.Map { return span(rs).Attributes() }),
		traceShape("resource attribute", func(rs ptrace.ResourceSpans) pcommon.Map { return rs.Resource().Attributes() }),
		traceShape("scope attribute", func(rs ptrace.ResourceSpans) pcommon.Map { return rs.ScopeSpans().At(0).Scope().Attributes() }),
		traceShape("event attribute", func(rs ptrace.ResourceSpans) pcommon.Map { return span(rs).Events().AppendEmpty().Attributes() }),
		traceShape("link attribute", func(rs ptrace.ResourceSpans) pcommon.Map { return span(rs).Links().AppendEmpty().Attributes() }),
		logShape("log body", func(lr plog.LogRecord) pcommon.Value { return lr.Body() }),
		logShape("log attribute", func(lr plog.LogRecord) pcommon.Value { return lr.Attributes().PutEmpty("deep") }),
		metricShape("gauge point attribute", func(m pmetric.Metric) pcommon.Map { return m.SetEmptyGauge().DataPoints().AppendEmpty().Attributes() }),
		metricShape("sum exemplar attribute", func(m pmetric.Metric) pcommon.Map {
			return m.SetEmptySum().DataPoints().AppendEmpty().Exemplars().AppendEmpty().FilteredAttributes()
		}),
		metricShape("histogram point attribute", func(m pmetric.Metric) pcommon.Map {
			return m.SetEmptyHistogram().DataPoints().AppendEmpty().Attributes()
		}),
		metricShape("histogram exemplar attribute", func(m pmetric.Metric) pcommon.Map {
			return m.SetEmptyHistogram().DataPoints().AppendEmpty().Exemplars().AppendEmpty().FilteredAttributes()
		}),
		metricShape("exponential histogram point attribute", func(m pmetric.Metric) pcommon.Map {
			return m.SetEmptyExponentialHistogram().DataPoints().AppendEmpty().Attributes()
		}),
		metricShape("exponential histogram exemplar attribute", func(m pmetric.Metric) pcommon.Map {
			return m.SetEmptyExponentialHistogram().DataPoints().AppendEmpty().Exemplars().AppendEmpty().FilteredAttributes()
		}),
		metricShape("summary point attribute", func(m pmetric.Metric) pcommon.Map { return m.SetEmptySummary().DataPoints().AppendEmpty().Attributes() }),
		metricShape("metric metadata", func(m pmetric.Metric) pcommon.Map { return m.Metadata() }),
		{"profiles dictionary attribute", mProfilesRequest, func(t testing.TB, fill func(pcommon.Value)) ([]byte, []byte) {
			pd := pprofile.NewProfiles()
			pd.ResourceProfiles().AppendEmpty().ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
			kv := pd.Dictionary().AttributeTable().AppendEmpty()
			kv.SetKeyStrindex(0)
			fill(kv.Value())
			pb, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(pd)
			must(t, err)
			js, err := (&pprofile.JSONMarshaler{}).MarshalProfiles(pd)
			must(t, err)
			return pb, js
		}},
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// genaiBatch is a realistic export request of about 100 spans: the load
// generator's GenAI traces with message content.
func genaiBatch(t testing.TB) ptrace.Traces {
	b := loadgen.NewBuilder(loadgen.Config{Seed: 7, ContentBytes: [2]int{256, 4096}})
	td := ptrace.NewTraces()
	for td.SpanCount() < 100 {
		more, _ := b.Build(1)
		more.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	return td
}

// backWriter encodes protobuf from the innermost field outwards, so a
// message nested a million levels deep takes a loop and one buffer.
type backWriter struct {
	b   []byte
	pos int
}

func newBackWriter(capacity int) *backWriter {
	return &backWriter{b: make([]byte, capacity), pos: capacity}
}

func (w *backWriter) prepend(p ...byte) {
	w.pos -= len(p)
	copy(w.b[w.pos:], p)
}

func (w *backWriter) prependVarint(v uint64) {
	var tmp [10]byte
	n := 0
	for v >= 0x80 {
		tmp[n] = byte(v) | 0x80
		v >>= 7
		n++
	}
	tmp[n] = byte(v)
	w.prepend(tmp[:n+1]...)
}

// wrap makes everything written after mark the body of a length-delimited
// field with the given tag.
func (w *backWriter) wrap(tag uint64, mark int) {
	w.prependVarint(uint64(mark - w.pos))
	w.prependVarint(tag)
}

func (w *backWriter) bytes() []byte { return w.b[w.pos:] }

func lenTag(field int) uint64 { return uint64(field)<<3 | wireLen }

// deepTracesProto is an ExportTraceServiceRequest with one span whose
// attribute nests levels arrays around an int.
func deepTracesProto(levels int) []byte {
	w := newBackWriter(levels*10 + 256)
	end := w.pos
	w.prepend(0x18, 0x01) // AnyValue.int_value = 1
	for i := 0; i < levels; i++ {
		w.wrap(lenTag(1), end) // ArrayValue.values
		w.wrap(lenTag(5), end) // AnyValue.array_value
	}
	w.wrap(lenTag(2), end) // KeyValue.value
	w.prepend(0x0a, 0x01, 'k')
	w.wrap(lenTag(9), end) // Span.attributes
	w.prepend(0x2a, 0x04, 'd', 'e', 'e', 'p')
	w.wrap(lenTag(2), end) // ScopeSpans.spans
	w.wrap(lenTag(2), end) // ResourceSpans.scope_spans
	w.wrap(lenTag(1), end) // ExportTraceServiceRequest.resource_spans
	return w.bytes()
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, err := zw.Write(b)
	must(t, err)
	must(t, zw.Close())
	return buf.Bytes()
}
