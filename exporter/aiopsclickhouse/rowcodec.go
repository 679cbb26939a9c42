package aiopsclickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	pdatareq "go.opentelemetry.io/collector/pdata/xpdata/request"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// The sending queue's traces records are rows, column by column, each
// column named and typed, so a record written before a schema change still
// reads: a column it lacks is filled with zero values, one the schema no
// longer has is skipped. Records of releases that queued OTLP (no magic)
// are converted as they are read.
var rowsMagic = []byte("aiq\x01")

// tracesEncoding is the persistent queue's codec for tracesRequest.
type tracesEncoding struct{ e *chExporter }

func (c tracesEncoding) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r, ok := req.(*tracesRequest)
	if !ok {
		return nil, fmt.Errorf("aiops_clickhouse: cannot queue a %T", req)
	}
	// A record that did not read is re-queued as it is (the queue re-offers
	// the records it had not dispatched when it starts).
	for _, p := range r.parts {
		if p.readErr != nil {
			if len(r.parts) != 1 {
				return nil, errors.New("aiops_clickhouse: a merged batch is never queued again")
			}
			return p.record, nil
		}
	}
	// The OTLP copies first, so the record is allocated once at its size;
	// they are compressed into reused buffers, copied into the record.
	otlp := make([][]byte, len(r.parts))
	size := 64
	for i, p := range r.parts {
		otlp[i] = p.otlp
		if otlp[i] == nil {
			raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(p.td)
			if err != nil {
				return nil, err
			}
			// Read back only for a dead-letter file: kept small, at the
			// cheapest compression there is.
			buf := s2Scratch.Get().(*[]byte)
			defer putScratch(buf)
			if n := s2.MaxEncodedLen(len(raw)); cap(*buf) < n {
				*buf = make([]byte, n)
			}
			otlp[i] = s2.Encode((*buf)[:cap(*buf)], raw)
		}
		size += len(otlp[i]) + p.rowsSize()
	}
	out := append(make([]byte, 0, size), rowsMagic...)
	out = binary.AppendUvarint(out, uint64(r.items))
	out = binary.AppendUvarint(out, uint64(len(r.parts)))
	for i, p := range r.parts {
		out = p.encode(out, otlp[i])
	}
	return out, nil
}

var s2Scratch = sync.Pool{New: func() any { return new([]byte) }}

func putScratch(b *[]byte) {
	if cap(*b) <= 8<<20 { // one huge request should not stay pinned
		s2Scratch.Put(b)
	}
}

// Unmarshal reads a record. Strings point into b, which the queue hands
// over and does not reuse, so a row costs no allocation of its own.
//
// It never fails: the queue would drop a record it cannot unmarshal, with
// a debug log. A record that does not read (damaged, or written by a newer
// release) becomes a request that the push keeps in the dead-letter
// directory as it is.
func (c tracesEncoding) Unmarshal(b []byte) (context.Context, xexporterhelper.Request, error) {
	if !bytes.HasPrefix(b, rowsMagic) {
		ctx, td, err := pdatareq.UnmarshalTraces(b)
		if err != nil {
			return context.Background(), unreadable(b, 0, fmt.Errorf("queued record is neither rows nor OTLP traces: %w", err)), nil
		}
		req, err := c.e.convertTraces(ctx, td)
		return ctx, req, err
	}
	d := &decoder{b: b, pos: len(rowsMagic)}
	r := &tracesRequest{items: d.number()}
	parts := d.count()
	for i := 0; i < parts && d.err == nil; i++ {
		r.parts = append(r.parts, d.spanRows())
	}
	if d.err == nil && d.pos != len(d.b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return context.Background(), unreadable(b, r.items, fmt.Errorf("queued traces record: %w", d.err)), nil
	}
	return context.Background(), r, nil
}

// unreadable is a request for a record that does not read; items is what
// its header says, so the queue's size accounting stays right.
func unreadable(record []byte, items int, err error) *tracesRequest {
	return &tracesRequest{items: items, parts: []*spanRows{{record: record, readErr: err, spans: items}}}
}

func (p *spanRows) encode(out, otlp []byte) []byte {
	out = binary.AppendUvarint(out, uint64(p.spans))
	out = binary.AppendUvarint(out, uint64(len(p.res)))
	for _, s := range p.res {
		out = appendString(out, s.token)
		out = append(out, s.key[:]...)
		for _, n := range []int{s.gen, s.evs, s.other, s.spans, s.notStored} {
			out = binary.AppendUvarint(out, uint64(n))
		}
	}
	if p.cols != nil {
		out = append(out, p.cols...)
	} else {
		for _, b := range []*builder{p.gen, p.evs, p.other} {
			out = b.encode(out)
		}
	}
	out = binary.AppendUvarint(out, uint64(len(otlp)))
	return append(out, otlp...)
}

func (p *spanRows) encodedSize() int {
	n := 64 + len(p.otlp)
	if p.otlp == nil {
		n += (&ptrace.ProtoMarshaler{}).TracesSize(p.td) / 3 // compressed
	}
	for _, s := range p.res {
		n += len(s.token) + 32
	}
	return n + p.rowsSize()
}

// rowsSize is about the encoded size of the rows.
func (p *spanRows) rowsSize() int {
	if p.cols != nil {
		return len(p.cols)
	}
	return p.gen.sizeEstimate() + p.evs.sizeEstimate() + p.other.sizeEstimate()
}

func (d *decoder) spanRows() *spanRows {
	p := &spanRows{spans: d.number()}
	p.res = make([]resourceSeg, d.count())
	for i := range p.res {
		s := &p.res[i]
		s.token = d.str()
		copy(s.key[:], d.take(16))
		s.gen, s.evs, s.other, s.spans, s.notStored = d.count(), d.count(), d.count(), d.number(), d.number()
	}
	// The columns are only checked here, and decoded straight into the
	// batch's builders when it is written: a batch waiting in memory holds
	// its records and nothing decoded from them.
	start := d.pos
	for _, s := range tableSchemas {
		d.rows(s, nil)
	}
	p.cols = d.b[start:d.pos:d.pos]
	p.otlp = d.take(d.count())
	if p.otlp == nil {
		p.otlp = []byte{}
	}
	return p
}

func appendString(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

func appendStrings(out []byte, ss []string) []byte {
	out = binary.AppendUvarint(out, uint64(len(ss)))
	for _, s := range ss {
		out = appendString(out, s)
	}
	return out
}

// encode writes the rows column by column: name, type, values. Slice
// columns start with their element count, so a decoder sizes one backing
// array per column.
func (b *builder) encode(out []byte) []byte {
	out = binary.AppendUvarint(out, uint64(len(b.cols)))
	out = binary.AppendUvarint(out, uint64(b.n))
	for i, c := range b.cols {
		out = appendString(out, b.s.cols[i].Name)
		out = appendString(out, b.s.cols[i].Type)
		switch c := c.(type) {
		case *vals[string]:
			for _, v := range c.v {
				out = appendString(out, v)
			}
		case *vals[uint64]:
			for _, v := range c.v {
				out = binary.LittleEndian.AppendUint64(out, v)
			}
		case *vals[int64]:
			for _, v := range c.v {
				out = binary.LittleEndian.AppendUint64(out, uint64(v))
			}
		case *vals[uint32]:
			for _, v := range c.v {
				out = binary.LittleEndian.AppendUint32(out, v)
			}
		case *vals[uint16]:
			for _, v := range c.v {
				out = binary.LittleEndian.AppendUint16(out, v)
			}
		case *vals[bool]:
			for _, v := range c.v {
				out = append(out, boolByte(v))
			}
		case *vals[*float32]:
			for _, v := range c.v {
				if out = append(out, boolByte(v != nil)); v != nil {
					out = binary.LittleEndian.AppendUint32(out, math.Float32bits(*v))
				}
			}
		case *vals[*float64]:
			for _, v := range c.v {
				if out = append(out, boolByte(v != nil)); v != nil {
					out = binary.LittleEndian.AppendUint64(out, math.Float64bits(*v))
				}
			}
		case *vals[[]string]:
			out = binary.AppendUvarint(out, uint64(elements(c.v)))
			for _, v := range c.v {
				out = appendStrings(out, v)
			}
		case *vals[chstore.KV]:
			n := 0
			for _, v := range c.v {
				n += len(v)
			}
			out = binary.AppendUvarint(out, uint64(n))
			for _, v := range c.v {
				out = appendStrings(out, v)
			}
		case *vals[[]float64]:
			out = binary.AppendUvarint(out, uint64(elements(c.v)))
			for _, v := range c.v {
				out = binary.AppendUvarint(out, uint64(len(v)))
				for _, x := range v {
					out = binary.LittleEndian.AppendUint64(out, math.Float64bits(x))
				}
			}
		case *vals[[]uint64]:
			out = binary.AppendUvarint(out, uint64(elements(c.v)))
			for _, v := range c.v {
				out = binary.AppendUvarint(out, uint64(len(v)))
				for _, x := range v {
					out = binary.LittleEndian.AppendUint64(out, x)
				}
			}
		case *vals[time.Time]:
			for _, v := range c.v {
				out = binary.LittleEndian.AppendUint64(out, uint64(v.Unix()))
				out = binary.LittleEndian.AppendUint32(out, uint32(v.Nanosecond()))
			}
		default:
			panic(fmt.Sprintf("aiops_clickhouse: no queue encoding for %T", c))
		}
	}
	out = binary.AppendUvarint(out, uint64(len(b.repaired)))
	for kind, n := range b.repaired {
		out = appendString(out, kind)
		out = binary.AppendUvarint(out, uint64(n))
	}
	return out
}

// sizeEstimate is about the encoded size, a little more, without encoding.
func (b *builder) sizeEstimate() int {
	n := 64*len(b.cols) + 10*len(b.cols)*b.n
	for _, c := range b.cols {
		if s, ok := c.(*vals[string]); ok {
			for _, v := range s.v {
				n += len(v)
			}
		}
		if kv, ok := c.(*vals[chstore.KV]); ok {
			for _, v := range kv.v {
				for _, x := range v {
					n += len(x) + 1
				}
			}
		}
	}
	return n
}

func elements[T any](v [][]T) int {
	n := 0
	for _, x := range v {
		n += len(x)
	}
	return n
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// decoder reads a record; the first problem sticks, and every read after it
// returns zero values.
type decoder struct {
	b   []byte
	pos int
	err error
}

var errShort = errors.New("record ends early")

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at byte %d", msg, d.pos)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.pos += n
	return v
}

// count is a length or row count; it can never exceed the bytes left, as
// every counted thing takes at least one byte.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)-d.pos) {
		d.fail("count larger than the record")
		return 0
	}
	return int(v)
}

// number is a count of things the record does not hold (spans not stored,
// the request's items), bounded to stay an int.
func (d *decoder) number() int { return int(min(d.uvarint(), math.MaxInt32)) }

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.pos {
		d.err = errShort
		return nil
	}
	out := d.b[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return out
}

func (d *decoder) str() string {
	b := d.take(d.count())
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (d *decoder) u64() uint64 { return binary.LittleEndian.Uint64(d.fixed(8)) }
func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.fixed(4)) }
func (d *decoder) u16() uint16 { return binary.LittleEndian.Uint16(d.fixed(2)) }
func (d *decoder) u8() byte    { return d.fixed(1)[0] }

var zeros [8]byte

func (d *decoder) fixed(n int) []byte {
	if b := d.take(n); b != nil {
		return b
	}
	return zeros[:n]
}

// each reads n values of a fixed-size column and appends them to dst, a
// *vals[T], or drops them when dst is nil.
func each[T any](n int, dst colData, read func() T) {
	if dst == nil {
		for range n {
			read()
		}
		return
	}
	c := dst.(*vals[T])
	c.v = slices.Grow(c.v, n)
	for range n {
		c.v = append(c.v, read())
	}
}

// nullables reads n rows of a Nullable column: a flag byte, then the value
// when set, into one backing array.
func nullables[T any](d *decoder, n int, dst colData, read func() T) {
	var backing []T
	if dst != nil {
		backing = make([]T, 0, n)
	}
	each(n, dst, func() *T {
		if d.u8() != 1 {
			return nil
		}
		v := read()
		if dst == nil {
			return nil
		}
		backing = append(backing, v)
		return &backing[len(backing)-1]
	})
}

// lists reads n rows of a slice column into one backing array, whose size
// the column states first.
func lists[L ~[]E, E any](d *decoder, n int, dst colData, read func() E) {
	total := d.count()
	var c *vals[L]
	var arena []E
	if dst != nil {
		c, arena = dst.(*vals[L]), make([]E, 0, total)
		c.v = slices.Grow(c.v, n)
	}
	for used := 0; n > 0; n-- {
		m := d.count()
		if used+m > total {
			d.fail("array longer than its column said")
			return
		}
		used += m
		if c == nil {
			for range m {
				read()
			}
			continue
		}
		start := len(arena)
		for range m {
			arena = append(arena, read())
		}
		c.v = append(c.v, L(arena[start:len(arena):len(arena)]))
	}
}

// rows reads one table's rows into dst (of schema s) by column name, or
// only checks them when dst is nil. Columns the record lacks are zero;
// columns s lacks, of another type, or named twice are read and dropped.
func (d *decoder) rows(s *schema, dst *builder) {
	ncols, n := d.count(), d.count()
	filled := make([]bool, len(s.cols))
	for i := 0; i < ncols && d.err == nil; i++ {
		name, typ := d.str(), d.str()
		var col colData
		if pos, ok := s.pos[name]; ok && s.cols[pos].Type == typ && !filled[pos] && dst != nil {
			col, filled[pos] = dst.cols[pos], true
		}
		d.column(typ, n, col)
	}
	kinds := d.count()
	for i := 0; i < kinds && d.err == nil; i++ {
		kind, c := d.str(), d.count()
		if dst != nil {
			dst.repaired[kind] += c
		}
	}
	if dst == nil || d.err != nil {
		return
	}
	for i, ok := range filled {
		if !ok {
			dst.cols[i].grow(n)
		}
	}
	dst.n += n
}

// column reads n values of a column of type typ into dst, or drops them
// when dst is nil.
func (d *decoder) column(typ string, n int, dst colData) {
	if d.err != nil {
		return
	}
	switch typ {
	case "String", "LowCardinality(String)":
		each(n, dst, d.str)
	case "UInt64":
		each(n, dst, d.u64)
	case "Decimal(18, 12)":
		each(n, dst, func() int64 { return int64(d.u64()) })
	case "UInt32":
		each(n, dst, d.u32)
	case "UInt16":
		each(n, dst, d.u16)
	case "Bool":
		each(n, dst, func() bool { return d.u8() == 1 })
	case "DateTime64(9)":
		each(n, dst, func() time.Time {
			sec := int64(d.u64())
			return time.Unix(sec, int64(d.u32())).UTC()
		})
	case "Nullable(Float32)":
		nullables(d, n, dst, func() float32 { return math.Float32frombits(d.u32()) })
	case "Nullable(Float64)":
		nullables(d, n, dst, func() float64 { return math.Float64frombits(d.u64()) })
	case "Array(LowCardinality(String))":
		lists[[]string](d, n, dst, d.str)
	case "Map(LowCardinality(String), String)":
		lists[chstore.KV](d, n, dst, d.str)
	case "Array(Float64)":
		lists[[]float64](d, n, dst, func() float64 { return math.Float64frombits(d.u64()) })
	case "Array(UInt64)":
		lists[[]uint64](d, n, dst, d.u64)
	default:
		d.fail("unknown column type " + typ)
	}
}

// tableSchemas are the tables a part's rows are for, in record order.
var tableSchemas = [3]*schema{genaiSpansSchema, genaiEventsSchema, spansSchema}

// decodeInto appends a queued part's rows to the batch's builders (one per
// table, in tableSchemas order).
func (p *spanRows) decodeInto(dst [3]*builder) error {
	d := &decoder{b: p.cols}
	for i, s := range tableSchemas {
		d.rows(s, dst[i])
	}
	if d.err == nil && d.pos != len(d.b) {
		d.fail("trailing bytes")
	}
	return d.err
}

// builders are the part's rows, one builder per table; a queued part's are
// decoded anew.
func (p *spanRows) builders() ([3]*builder, error) {
	if p.cols == nil {
		return [3]*builder{p.gen, p.evs, p.other}, nil
	}
	var out [3]*builder
	for i, s := range tableSchemas {
		out[i] = newBuilder(s, 0)
	}
	return out, p.decodeInto(out)
}
