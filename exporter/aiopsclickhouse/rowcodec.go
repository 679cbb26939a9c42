package aiopsclickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	// The OTLP copies first, so the record is allocated once at its size.
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
			otlp[i] = s2.Encode(nil, raw)
		}
		size += len(otlp[i]) + p.gen.sizeEstimate() + p.evs.sizeEstimate() + p.other.sizeEstimate()
	}
	out := append(make([]byte, 0, size), rowsMagic...)
	out = binary.AppendUvarint(out, uint64(r.items))
	out = binary.AppendUvarint(out, uint64(len(r.parts)))
	for i, p := range r.parts {
		out = p.encode(out, otlp[i])
	}
	return out, nil
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
	for _, b := range []*builder{p.gen, p.evs, p.other} {
		out = b.encode(out)
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
	for _, b := range []*builder{p.gen, p.evs, p.other} {
		n += b.sizeEstimate()
	}
	return n
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
	p.gen, p.evs, p.other = d.builder(genaiSpansSchema), d.builder(genaiEventsSchema), d.builder(spansSchema)
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

// each reads n values of a fixed-size column.
func each[T any](n int, read func() T) colData {
	c := make([]T, n)
	for i := range c {
		c[i] = read()
	}
	return &vals[T]{v: c}
}

// nullables reads n rows of a Nullable column: a flag byte, then the value
// when set, into one backing array.
func nullables[T any](d *decoder, n int, read func() T) colData {
	backing := make([]T, 0, n)
	return each(n, func() *T {
		if d.u8() != 1 {
			return nil
		}
		backing = append(backing, read())
		return &backing[len(backing)-1]
	})
}

// lists reads n rows of a slice column into one backing array, whose size
// the column states first.
func lists[L ~[]E, E any](d *decoder, n int, read func() E) colData {
	c, arena := make([]L, n), make([]E, 0, d.count())
	for i := range c {
		m := d.count()
		if len(arena)+m > cap(arena) {
			d.fail("array longer than its column said")
			break
		}
		start := len(arena)
		for j := 0; j < m; j++ {
			arena = append(arena, read())
		}
		c[i] = L(arena[start:len(arena):len(arena)])
	}
	return &vals[L]{v: c}
}

// builder reads rows into s's columns by name. Columns the record lacks are
// zero; columns s lacks, or of another type, are read and dropped.
func (d *decoder) builder(s *schema) *builder {
	ncols, n := d.count(), d.count()
	b := &builder{s: s, n: n, cols: make([]colData, len(s.cols)), repaired: map[string]int{}}
	for i := 0; i < ncols && d.err == nil; i++ {
		name, typ := d.str(), d.str()
		col := d.column(typ, n)
		if pos, ok := s.pos[name]; ok && s.cols[pos].Type == typ {
			b.cols[pos] = col
		}
	}
	for i, c := range b.cols {
		if c == nil {
			b.cols[i] = newColumn(s.cols[i].Type, n)
			b.cols[i].grow(n)
		}
	}
	kinds := d.count()
	for i := 0; i < kinds && d.err == nil; i++ {
		kind := d.str()
		b.repaired[kind] += d.count()
	}
	return b
}

func (d *decoder) column(typ string, n int) colData {
	if d.err != nil {
		return &vals[string]{}
	}
	switch typ {
	case "String", "LowCardinality(String)":
		return each(n, d.str)
	case "UInt64":
		return each(n, d.u64)
	case "Decimal(18, 12)":
		return each(n, func() int64 { return int64(d.u64()) })
	case "UInt32":
		return each(n, d.u32)
	case "UInt16":
		return each(n, d.u16)
	case "Bool":
		return each(n, func() bool { return d.u8() == 1 })
	case "DateTime64(9)":
		return each(n, func() time.Time {
			sec := int64(d.u64())
			return time.Unix(sec, int64(d.u32())).UTC()
		})
	case "Nullable(Float32)":
		return nullables(d, n, func() float32 { return math.Float32frombits(d.u32()) })
	case "Nullable(Float64)":
		return nullables(d, n, func() float64 { return math.Float64frombits(d.u64()) })
	case "Array(LowCardinality(String))":
		return lists[[]string](d, n, d.str)
	case "Map(LowCardinality(String), String)":
		return lists[chstore.KV](d, n, d.str)
	case "Array(Float64)":
		return lists[[]float64](d, n, func() float64 { return math.Float64frombits(d.u64()) })
	case "Array(UInt64)":
		return lists[[]uint64](d, n, d.u64)
	}
	d.fail("unknown column type " + typ)
	return newColumn("String", 0)
}
