package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/klauspost/compress/s2"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// spanRows is one traces request turned into table rows as it arrives,
// before the sending queue: the queue keeps the rows (see rowcodec.go), so a
// span is flattened once and never decoded back into pdata to be stored.
type spanRows struct {
	res []resourceSeg // in arrival order; rows are in the same order
	// The rows: built from td, or, read back from the queue, the record's
	// encoded columns (see rowcodec.go), decoded when the batch is written.
	gen, evs, other *builder
	cols            []byte
	spans           int
	// The request as it arrived, for a dead-letter file: td until the queue
	// encodes it, then its OTLP bytes, s2-compressed.
	td   ptrace.Traces
	otlp []byte
	// A queue record that did not read, and why: it has no rows and goes
	// to the dead-letter directory as it is.
	record  []byte
	readErr error
}

// resourceSeg is one resource's share of the rows: its request token, the
// key that spots a repeat of it in a batch, and its row count per table.
type resourceSeg struct {
	token           string
	key             [16]byte
	gen, evs, other int
	spans           int
	notStored       int // spans not kept because spans_table is off
}

// tracesRequest is what the sending queue holds and batches: whole requests,
// never split, so every row keeps the token of the request it arrived in.
type tracesRequest struct {
	parts []*spanRows
	items int
	bytes int
}

var _ xexporterhelper.Request = (*tracesRequest)(nil)

func (r *tracesRequest) ItemsCount() int { return r.items }

// BytesSize is the encoded size, for the bytes sizer.
func (r *tracesRequest) BytesSize() int {
	if r.bytes == 0 {
		for _, p := range r.parts {
			if p.readErr != nil {
				r.bytes += len(p.record)
				continue
			}
			r.bytes += p.encodedSize()
		}
	}
	return r.bytes
}

// MergeSplit appends whole requests. Config.Validate refuses batch.max_size,
// so no split is ever asked for; one would break a request's token.
func (r *tracesRequest) MergeSplit(_ context.Context, _ int, _ exporterhelper.RequestSizerType, other xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	if other == nil {
		return []xexporterhelper.Request{r}, nil
	}
	o, ok := other.(*tracesRequest)
	if !ok {
		return nil, errors.New("aiops_clickhouse: cannot merge a traces request with another kind of request")
	}
	merged := &tracesRequest{parts: append(append(make([]*spanRows, 0, len(r.parts)+len(o.parts)), r.parts...), o.parts...), items: r.items + o.items}
	if r.bytes > 0 && o.bytes > 0 {
		merged.bytes = r.bytes + o.bytes
	}
	return []xexporterhelper.Request{merged}, nil
}

// convertTraces turns a stamped request into rows.
func (e *chExporter) convertTraces(_ context.Context, td ptrace.Traces) (xexporterhelper.Request, error) {
	p := e.spanRows(td)
	return &tracesRequest{parts: []*spanRows{p}, items: p.spans}, nil
}

func (e *chExporter) spanRows(td ptrace.Traces) *spanRows {
	n := td.SpanCount()
	p := &spanRows{td: td, spans: n,
		gen: newBuilder(genaiSpansSchema, n), evs: newBuilder(genaiEventsSchema, 0), other: newBuilder(spansSchema, n/8)}
	rss := td.ResourceSpans()
	p.res = make([]resourceSeg, rss.Len())
	var whole string // the request's own token, for a resource not stamped
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		tok := resourceToken(rs.Resource(), func() string {
			if whole == "" {
				whole = tracesToken(td)
			}
			return whole
		})
		seg := &p.res[i]
		seg.token = tok
		seg.key = repeatKey(tok, func(h hash.Hash) { hashResourceSpans(h, rs) })
		g0, e0, o0 := p.gen.n, p.evs.n, p.other.n
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			seg.spans += spans.Len()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !genai.IsGenAI(span.Attributes()) {
					if e.cfg.SpansTable {
						addSpan(p.other, rs.Resource(), span, tok)
					} else {
						seg.notStored++
					}
					continue
				}
				w := addGenAISpan(p.gen, rs.Resource(), span, tok)
				events := span.Events()
				for x := 0; x < events.Len(); x++ {
					ev := events.At(x)
					if genaiEventNames[ev.Name()] {
						addEvent(p.evs, eventRow{ts: ev.Timestamp(), traceID: span.TraceID(), spanID: span.SpanID(),
							who: w, name: ev.Name(), attrs: ev.Attributes()}, tok)
					}
				}
			}
		}
		seg.gen, seg.evs, seg.other = p.gen.n-g0, p.evs.n-e0, p.other.n-o0
	}
	return p
}

// repeatKey identifies a resource by its token and its spans, so a resource
// a batch carries twice (a client re-sent a request whose reply it lost)
// is stored once.
func repeatKey(token string, hashInto func(hash.Hash)) [16]byte {
	h := fnv.New128a()
	h.Write([]byte(token))
	hashInto(h)
	var k [16]byte
	copy(k[:], h.Sum(nil))
	return k
}

// traces is the request as it arrived, for a dead-letter file.
func (p *spanRows) traces() (ptrace.Traces, error) {
	if p.otlp == nil {
		return p.td, nil
	}
	raw, err := s2.Decode(nil, p.otlp)
	if err != nil {
		return ptrace.NewTraces(), err
	}
	return (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(raw)
}

// traces is the batch as it arrived, for a dead-letter file: the resources
// of the requests in only, or all when only is nil.
func (r *tracesRequest) traces(only map[string]bool) (ptrace.Traces, error) {
	out := ptrace.NewTraces()
	for _, p := range r.parts {
		td, err := p.traces()
		if err != nil {
			return out, fmt.Errorf("decode the queued request for the dead-letter file: %w", err)
		}
		rss := td.ResourceSpans()
		if rss.Len() != len(p.res) {
			return out, fmt.Errorf("queued request has %d resources, its rows %d", rss.Len(), len(p.res))
		}
		for i := 0; i < rss.Len(); i++ {
			if only == nil || only[p.res[i].token] {
				rss.At(i).CopyTo(out.ResourceSpans().AppendEmpty())
			}
		}
	}
	return out, nil
}

// batchRows gathers the parts' rows into one builder per table, leaving out
// resources already seen in the batch. It returns the resources' tokens in
// order and how many spans were left out as repeats.
func batchRows(parts []*spanRows) (out [3]*builder, toks []string, repeated, notStored int, err error) {
	rows := [3]int{}
	for _, p := range parts {
		for _, seg := range p.res {
			rows[0] += seg.gen
			rows[1] += seg.evs
			rows[2] += seg.other
		}
	}
	for i, s := range tableSchemas {
		out[i] = newBuilder(s, rows[i])
	}
	seen := map[[16]byte]bool{}
	for _, p := range parts {
		kept := make([]bool, len(p.res))
		all, some := true, false
		for i, seg := range p.res {
			toks = append(toks, seg.token)
			if seen[seg.key] {
				repeated += seg.spans
				all = false
				continue
			}
			seen[seg.key], kept[i], some = true, true, true
			notStored += seg.notStored
		}
		if !some {
			continue
		}
		if all && p.cols != nil {
			if err := p.decodeInto(out); err != nil {
				return out, toks, repeated, notStored, err
			}
			continue
		}
		src, err := p.builders()
		if err != nil {
			return out, toks, repeated, notStored, err
		}
		at := [3]int{}
		for i, seg := range p.res {
			if kept[i] {
				out[0].appendRows(src[0], at[0], at[0]+seg.gen)
				out[1].appendRows(src[1], at[1], at[1]+seg.evs)
				out[2].appendRows(src[2], at[2], at[2]+seg.other)
			}
			at[0] += seg.gen
			at[1] += seg.evs
			at[2] += seg.other
		}
		for t := range out {
			for kind, c := range src[t].repaired {
				out[t].repaired[kind] += c
			}
		}
	}
	return out, toks, repeated, notStored, nil
}
