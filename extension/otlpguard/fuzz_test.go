package otlpguard

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
)

// decodedDepth decodes b as the receiver would for root and returns the
// deepest value pdata produced; ok is false when pdata refuses b.
func decodedDepth(b []byte, root msg, isJSON bool) (int, bool) {
	var err error
	most := 0
	visit := func(v pcommon.Value) { most = max(most, anyvalue.Depth(v, 1<<20)) }
	visitMap := func(m pcommon.Map) {
		m.Range(func(_ string, v pcommon.Value) bool { visit(v); return true })
	}
	switch root {
	case mTracesRequest:
		req := ptraceotlp.NewExportRequest()
		if isJSON {
			err = req.UnmarshalJSON(b)
		} else {
			err = req.UnmarshalProto(b)
		}
		return maxDecodedDepth(req.Traces()), err == nil
	case mLogsRequest:
		req := plogotlp.NewExportRequest()
		if isJSON {
			err = req.UnmarshalJSON(b)
		} else {
			err = req.UnmarshalProto(b)
		}
		for _, rl := range req.Logs().ResourceLogs().All() {
			visitMap(rl.Resource().Attributes())
			for _, sl := range rl.ScopeLogs().All() {
				visitMap(sl.Scope().Attributes())
				for _, lr := range sl.LogRecords().All() {
					visit(lr.Body())
					visitMap(lr.Attributes())
				}
			}
		}
	case mMetricsRequest:
		req := pmetricotlp.NewExportRequest()
		if isJSON {
			err = req.UnmarshalJSON(b)
		} else {
			err = req.UnmarshalProto(b)
		}
		exemplars := func(es pmetric.ExemplarSlice) {
			for _, e := range es.All() {
				visitMap(e.FilteredAttributes())
			}
		}
		for _, rm := range req.Metrics().ResourceMetrics().All() {
			visitMap(rm.Resource().Attributes())
			for _, sm := range rm.ScopeMetrics().All() {
				visitMap(sm.Scope().Attributes())
				for _, m := range sm.Metrics().All() {
					visitMap(m.Metadata())
					switch m.Type() {
					case pmetric.MetricTypeGauge:
						for _, dp := range m.Gauge().DataPoints().All() {
							visitMap(dp.Attributes())
							exemplars(dp.Exemplars())
						}
					case pmetric.MetricTypeSum:
						for _, dp := range m.Sum().DataPoints().All() {
							visitMap(dp.Attributes())
							exemplars(dp.Exemplars())
						}
					case pmetric.MetricTypeHistogram:
						for _, dp := range m.Histogram().DataPoints().All() {
							visitMap(dp.Attributes())
							exemplars(dp.Exemplars())
						}
					case pmetric.MetricTypeExponentialHistogram:
						for _, dp := range m.ExponentialHistogram().DataPoints().All() {
							visitMap(dp.Attributes())
							exemplars(dp.Exemplars())
						}
					case pmetric.MetricTypeSummary:
						for _, dp := range m.Summary().DataPoints().All() {
							visitMap(dp.Attributes())
						}
					}
				}
			}
		}
	}
	return most, err == nil
}

var decodedRoots = []msg{mTracesRequest, mLogsRequest, mMetricsRequest}

// checkAgainstDecoder asserts the pre-checks never see less nesting than
// pdata decodes: protobuf exactly or more, JSON at least 3 brackets per
// level (an array's {"arrayValue":{"values":[ is the cheapest).
func checkAgainstDecoder(t *testing.T, b []byte) {
	for _, root := range decodedRoots {
		if d, ok := decodedDepth(b, root, false); ok {
			if got, _ := scanProto(b, root, 1<<20); got < d {
				t.Fatalf("protobuf %v: pdata decodes depth %d, the walk saw %d", root, d, got)
			}
		}
	}
	brackets, v := scanJSON(b, 1<<20)
	if v == jsonInvalid {
		return
	}
	for _, root := range decodedRoots {
		if d, ok := decodedDepth(b, root, true); ok && 3*d > brackets {
			t.Fatalf("JSON %v: pdata decodes depth %d from %d brackets", root, d, brackets)
		}
	}
}

// FuzzScan feeds arbitrary bytes to both pre-checks: no panic, no loop,
// verdicts consistent with the depth reported, whatever encoding/json
// accepts is accepted, and nothing pdata decodes is deeper than measured.
func FuzzScan(f *testing.F) {
	for _, sh := range shapes()[:8] {
		pb, js := sh.build(f, func(v pcommon.Value) { nest(v, 3, 'x') })
		f.Add(pb)
		f.Add(js)
	}
	f.Add(spanWith([]byte{0xa3, 0x01, 0x08, 0x01}, varintBytes(lenTag(9)), 4))
	f.Add(deepTracesProto(12))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"arrayValue":{"values":[` +
		`,"arrayValue":,"values":,,"arrayValue":,"values":,,"stringValue":"s"}]}}]}}]}}}]}]}]}]}`))
	f.Add([]byte(`{"a":"[[[\"\\"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		const lim = 8
		for root := mTracesRequest; root <= mProfilesRequest; root++ {
			depth, deep := scanProto(b, root, lim)
			if depth > lim+1 || deep != (depth > lim) {
				t.Fatalf("protobuf %v: depth %d, deep %v", root, depth, deep)
			}
		}
		depth, v := scanJSON(b, lim)
		if depth > lim+1 || (v == jsonTooDeep) != (depth > lim) {
			t.Fatalf("JSON: depth %d, verdict %d", depth, v)
		}
		if json.Valid(b) && v == jsonInvalid {
			t.Fatalf("valid JSON refused as invalid: %q", b)
		}
		checkAgainstDecoder(t, b)
	})
}

// FuzzNesting builds deep inputs from repeated units, the shape every
// depth attack has, which random bytes seldom reach: JSON as prefix +
// open×n + core + close×n + suffix, and protobuf as n levels of fields
// whose tags and leading bytes come from open, around core. Whatever pdata
// decodes must not be deeper than the pre-checks measured.
func FuzzNesting(f *testing.F) {
	const kv = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":`
	f.Add([]byte(kv), []byte(`{"arrayValue":{"values":[`), []byte(`{"intValue":"1"}`), []byte(`]}}`), []byte(`}]}]}]}]}`), uint8(30), uint8(0))
	f.Add([]byte(kv+`{"arrayValue":{"values":[`), []byte(`,"arrayValue":,"values":,`), []byte(`,"stringValue":"s"}`), []byte(`]}}`), []byte(`]}}}]}]}]}]}`), uint8(30), uint8(0))
	// Protobuf: open is (tag, prefix length, prefix) per wrapper.
	f.Add([]byte{}, []byte{0x0a, 0x00, 0x2a, 0x00}, []byte{0x18, 0x01}, []byte{}, []byte{}, uint8(30), uint8(1))
	f.Add([]byte{}, []byte{0x0a, 0x04, 0xa3, 0x01, 0x08, 0x01, 0x2a, 0x00}, []byte{0x18, 0x01}, []byte{}, []byte{}, uint8(30), uint8(1))
	f.Add([]byte{}, []byte{0x0a, 0x00, 0x32, 0x00, 0x0a, 0x00, 0x12, 0x03, 0x0a, 0x01, 'k'}, []byte{0x18, 0x01}, []byte{}, []byte{}, uint8(30), uint8(2))
	f.Fuzz(func(t *testing.T, prefix, open, core, closer, suffix []byte, n, env uint8) {
		if len(prefix)+len(core)+len(suffix) > 4096 || len(open) > 64 || len(closer) > 64 || len(open) == 0 {
			return
		}
		reps := int(n)
		var doc []byte
		doc = append(doc, prefix...)
		doc = append(doc, bytes.Repeat(open, reps)...)
		doc = append(doc, core...)
		doc = append(doc, bytes.Repeat(closer, reps)...)
		doc = append(doc, suffix...)
		checkAgainstDecoder(t, doc)
		if pb, ok := nestProto(open, core, reps, env); ok {
			checkAgainstDecoder(t, pb)
		}
	})
}

// nestProto wraps core in reps repetitions of unit's wrappers, then in an
// envelope that puts the result where a value, log body or exemplar
// attribute goes (env picks which).
func nestProto(unit, core []byte, reps int, env uint8) ([]byte, bool) {
	type wrapper struct {
		tag    uint64
		prefix []byte
	}
	var ws []wrapper
	for p := 0; p < len(unit); {
		tag, q, ok := consumeVarint(unit, p, len(unit))
		if !ok {
			return nil, false
		}
		n, q, ok := consumeVarint(unit, q, len(unit))
		if !ok || n > uint64(len(unit)-q) {
			return nil, false
		}
		ws = append(ws, wrapper{tag, unit[q : q+int(n)]})
		p = q + int(n)
	}
	if len(core) > 256 {
		return nil, false
	}
	w := newBackWriter(reps*(len(ws)*20+len(unit)) + len(core) + 512)
	end := w.pos
	w.prepend(core...)
	for i := 0; i < reps; i++ {
		for j := len(ws) - 1; j >= 0; j-- {
			w.wrap(ws[j].tag, end)
			w.prepend(ws[j].prefix...)
		}
	}
	switch env % 3 {
	case 0: // a span attribute's value
		w.wrap(lenTag(2), end)
		w.prepend(0x0a, 0x01, 'k')
		w.wrap(lenTag(9), end)
		w.wrap(lenTag(2), end)
		w.wrap(lenTag(2), end)
		w.wrap(lenTag(1), end)
	case 1: // a log body
		w.wrap(lenTag(5), end)
		w.wrap(lenTag(2), end)
		w.wrap(lenTag(2), end)
		w.wrap(lenTag(1), end)
	case 2: // a sum exemplar's filtered attributes
		w.wrap(lenTag(7), end)
		w.wrap(lenTag(5), end)
		w.wrap(lenTag(1), end)
		w.wrap(lenTag(7), end)
		w.wrap(lenTag(2), end)
		w.wrap(lenTag(2), end)
		w.wrap(lenTag(1), end)
	}
	return w.bytes(), true
}
