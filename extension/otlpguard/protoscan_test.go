package otlpguard

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
)

const limit = 64

// At the limit passes, one more is refused, in every place a value can sit
// and for arrays, key-value lists and both mixed.
func TestProtoDepthAtAndOverLimit(t *testing.T) {
	for _, sh := range shapes() {
		for _, kind := range []byte{'a', 'm', 'x'} {
			for _, n := range []int{0, 1, limit, limit + 1} {
				t.Run(fmt.Sprintf("%s/%c/%d", sh.name, kind, n), func(t *testing.T) {
					pb, _ := sh.build(t, func(v pcommon.Value) { nest(v, n, kind) })
					depth, deep := scanProto(pb, sh.root, limit)
					if depth != n {
						t.Errorf("measured depth %d, built %d", depth, n)
					}
					if deep != (n > limit) {
						t.Errorf("refused = %v for depth %d, limit %d", deep, n, limit)
					}
				})
			}
		}
	}
}

// A small limit behaves the same way.
func TestProtoSmallLimit(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3} {
		pb, _ := shapes()[0].build(t, func(v pcommon.Value) { nest(v, n, 'x') })
		if _, deep := scanProto(pb, mTracesRequest, 2); deep != (n > 2) {
			t.Errorf("depth %d, limit 2: refused = %v", n, deep)
		}
	}
}

// The walk measures exactly what pdata decodes: the deepest value of a
// realistic GenAI batch, by internal/anyvalue's count over the decoded data.
func TestProtoRealBatchPasses(t *testing.T) {
	td := genaiBatch(t)
	// One deliberately nested but ordinary value, so the figure is not 0.
	nest(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutEmpty("app.tags"), 3, 'x')
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(t, err)
	want := maxDecodedDepth(td)
	depth, deep := scanProto(pb, mTracesRequest, limit)
	if deep || depth != want {
		t.Fatalf("batch of %d spans, %d bytes: depth %d (refused %v), decoded data nests %d", td.SpanCount(), len(pb), depth, deep, want)
	}
}

// decodeTraces decodes as the OTLP receiver does.
func decodeTraces(pb []byte) (ptrace.Traces, error) {
	req := ptraceotlp.NewExportRequest()
	err := req.UnmarshalProto(pb)
	return req.Traces(), err
}

// maxDecodedDepth is the deepest attribute value in td, measured with
// internal/anyvalue (arrays and maps, a scalar 0).
func maxDecodedDepth(td ptrace.Traces) int {
	most := 0
	visit := func(m pcommon.Map) {
		m.Range(func(_ string, v pcommon.Value) bool {
			most = max(most, anyvalue.Depth(v, 1<<20))
			return true
		})
	}
	for _, rs := range td.ResourceSpans().All() {
		visit(rs.Resource().Attributes())
		for _, ss := range rs.ScopeSpans().All() {
			visit(ss.Scope().Attributes())
			for _, s := range ss.Spans().All() {
				visit(s.Attributes())
				for _, e := range s.Events().All() {
					visit(e.Attributes())
				}
				for _, l := range s.Links().All() {
					visit(l.Attributes())
				}
			}
		}
	}
	return most
}

// The crash payload: 1.5 million levels, refused after reading at most
// limit+1 levels, whatever the size.
func TestProtoMillionLevels(t *testing.T) {
	pb := deepTracesProto(1_500_000)
	t.Logf("1.5M levels: %d bytes, %d gzipped", len(pb), len(gzipped(t, pb)))
	depth, deep := scanProto(pb, mTracesRequest, limit)
	if !deep || depth != limit+1 {
		t.Fatalf("depth %d, refused %v", depth, deep)
	}
	// The same bytes are a valid request at a depth pdata can take.
	small := deepTracesProto(limit)
	td, err := decodeTraces(small)
	must(t, err)
	if d := maxDecodedDepth(td); d != limit {
		t.Fatalf("the hand encoder's %d levels decode to %d", limit, d)
	}
	if depth, deep := scanProto(small, mTracesRequest, limit); deep || depth != limit {
		t.Fatalf("at the limit: depth %d, refused %v", depth, deep)
	}
}

// spanWith encodes a request whose one span holds prefix and then an
// attribute nesting n arrays under the raw tag, so the tests below can put
// wire-format tricks in front of the attribute or in its tag.
func spanWith(prefix, tag []byte, n int) []byte {
	w := newBackWriter(n*12 + len(prefix) + 256)
	end := w.pos
	w.prepend(0x0a, 0x01, 's') // AnyValue.string_value = "s"
	for i := 0; i < n; i++ {
		w.wrap(lenTag(1), end)
		w.wrap(lenTag(5), end)
	}
	w.wrap(lenTag(2), end)
	w.prepend(0x0a, 0x01, 'k')
	w.prependVarint(uint64(end - w.pos))
	w.prepend(tag...)
	w.prepend(prefix...)
	w.prepend(0x2a, 0x01, 'x') // name
	w.wrap(lenTag(2), end)
	w.wrap(lenTag(2), end)
	w.wrap(lenTag(1), end)
	return w.bytes()
}

func varintBytes(v uint64) []byte { return appendVarint(nil, v) }

// Each trick is first shown to reach pdata's decoder (it decodes the
// attribute), then the walk must see the same depth.
func TestProtoDecoderQuirks(t *testing.T) {
	attrs := varintBytes(lenTag(9))
	cases := []struct {
		name        string
		prefix, tag []byte
	}{
		{name: "plain", tag: attrs},
		// A field number past int32 wraps onto 9 in pdata's ConsumeTag.
		{name: "field number wrapping to 9", tag: varintBytes((1<<32+9)<<3 | wireLen)},
		// Non-minimal varints are accepted.
		{name: "padded tag", tag: []byte{0xca, 0x80, 0x00}},
		// An unknown group: pdata's ConsumeUnknown returns after the first
		// field inside it and reads the rest as fields of the span. A
		// walker that skipped the whole group would miss the attribute.
		{name: "unterminated group", prefix: []byte{0xa3, 0x01 /* field 20, start group */, 0x08, 0x01 /* field 1 varint */}, tag: attrs},
		{name: "nested groups", prefix: []byte{0xa3, 0x01, 0xab, 0x01 /* field 21 start */, 0xac, 0x01 /* field 21 end */, 0xa4, 0x01 /* field 20 end */}, tag: attrs},
		{name: "unknown fields before", prefix: []byte{0xf8, 0x07, 0x05 /* field 127 varint */, 0xf9, 0x07, 1, 2, 3, 4, 5, 6, 7, 8 /* i64 */, 0xfd, 0x07, 1, 2, 3, 4 /* i32 */}, tag: attrs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const n = 5
			pb := spanWith(c.prefix, c.tag, n)
			td, err := decodeTraces(pb)
			must(t, err)
			if d := maxDecodedDepth(td); d != n {
				t.Fatalf("pdata decodes depth %d, want %d", d, n)
			}
			if depth, deep := scanProto(pb, mTracesRequest, limit); depth != n || deep {
				t.Fatalf("walk: depth %d, refused %v; pdata decodes %d", depth, deep, n)
			}
			if _, deep := scanProto(pb, mTracesRequest, n-1); !deep {
				t.Fatalf("not refused at limit %d", n-1)
			}
		})
	}
}

// The deprecated instrumentation_library_spans field (1000) is decoded too.
func TestProtoDeprecatedScopeField(t *testing.T) {
	td := ptrace.NewTraces()
	nest(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutEmpty("k"), 7, 'm')
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(t, err)
	// resource_spans { scope_spans(2) {...} } → field 1000: tag 0x1f42 as varint c2 3e.
	if pb[0] != 0x0a || pb[2] != 0x12 {
		t.Fatalf("unexpected envelope % x", pb[:4])
	}
	moved := append([]byte{0x0a, pb[1] + 1, 0xc2, 0x3e}, pb[3:]...)
	back, err := decodeTraces(moved)
	must(t, err)
	if maxDecodedDepth(back) != 7 {
		t.Fatalf("pdata decoded depth %d from field 1000", maxDecodedDepth(back))
	}
	if depth, _ := scanProto(moved, mTracesRequest, limit); depth != 7 {
		t.Fatalf("walk saw depth %d in field 1000", depth)
	}
}

// Malformed input ends the walk without a verdict and without a panic;
// pdata refuses the same bytes with an ordinary error.
func TestProtoMalformed(t *testing.T) {
	good := deepTracesProto(10)
	cases := map[string][]byte{
		"empty":            {},
		"truncated":        good[:len(good)/2],
		"length past end":  {0x0a, 0x7f, 0x12, 0x00},
		"overlong varint":  {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"field zero":       {0x02, 0x00},
		"end group at top": {0x0c},
		"wire type 7":      {0x0f},
		"open group":       {0xa3, 0x01},
		"negative length":  {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range cases {
		if _, deep := scanProto(b, mTracesRequest, limit); deep {
			t.Errorf("%s: refused as deep", name)
		}
		if _, err := decodeTraces(b); err == nil && len(b) > 0 {
			t.Errorf("%s: pdata accepts it, so it is no malformed case", name)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.IntN(64))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		for root := mTracesRequest; root <= mProfilesRequest; root++ {
			scanProto(b, root, 3)
		}
	}
}
