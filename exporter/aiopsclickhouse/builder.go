package aiopsclickhouse

import (
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// colData is one column's values in a typed slice, so appending a value never
// boxes it.
type colData interface {
	rows() int
	keep(keep []bool) colData
	values() any
	// appendFrom appends rows [from, to) of src, a column of the same type.
	appendFrom(src colData, from, to int)
	// grow appends n zero values.
	grow(n int)
}

type vals[T any] struct{ v []T }

func (c *vals[T]) rows() int { return len(c.v) }

func (c *vals[T]) values() any {
	if c.v == nil {
		return []T{}
	}
	return c.v
}

func (c *vals[T]) keep(keep []bool) colData {
	out := &vals[T]{v: make([]T, 0, len(c.v))}
	for i, ok := range keep {
		if ok {
			out.v = append(out.v, c.v[i])
		}
	}
	return out
}

func (c *vals[T]) appendFrom(src colData, from, to int) {
	c.v = append(c.v, src.(*vals[T]).v[from:to]...)
}

func (c *vals[T]) grow(n int) { c.v = append(c.v, make([]T, n)...) }

func sized[T any](capacity int) colData { return &vals[T]{v: make([]T, 0, capacity)} }

// newColumn returns the Go slice a column type's values are collected in,
// sized for capacity rows so appends do not regrow fifty slices per batch.
func newColumn(typ string, capacity int) colData {
	switch typ {
	case "String", "LowCardinality(String)":
		return sized[string](capacity)
	case "UInt64":
		return sized[uint64](capacity)
	case "UInt32":
		return sized[uint32](capacity)
	case "UInt16":
		return sized[uint16](capacity)
	case "Bool":
		return sized[bool](capacity)
	case "Nullable(Float32)":
		return sized[*float32](capacity)
	case "Nullable(Float64)":
		return sized[*float64](capacity)
	case "Decimal(18, 12)":
		return sized[int64](capacity) // picodollars
	case "Array(LowCardinality(String))":
		return sized[[]string](capacity)
	case "Array(Float64)":
		return sized[[]float64](capacity)
	case "Array(UInt64)":
		return sized[[]uint64](capacity)
	case "Map(LowCardinality(String), String)":
		return sized[chstore.KV](capacity)
	case "DateTime64(9)":
		return sized[time.Time](capacity)
	}
	panic("aiops_clickhouse: no Go type for column type " + typ)
}

// schema maps a table's column names to positions once.
type schema struct {
	table string
	cols  []chstore.ColumnDef
	pos   map[string]int
}

func newSchema(table string, cols []chstore.ColumnDef) *schema {
	s := &schema{table: table, cols: cols, pos: map[string]int{}}
	for i, c := range cols {
		newColumn(c.Type, 0) // fail at start-up on a type the builder cannot hold
		s.pos[c.Name] = i
	}
	return s
}

func (s *schema) col(name string) int {
	i, ok := s.pos[name]
	if !ok {
		panic("aiops_clickhouse: table " + s.table + " has no column " + name)
	}
	return i
}

// builder collects rows column by column.
type builder struct {
	s    *schema
	n    int
	cols []colData
	// next is the column after the last one written; rows are written
	// mostly in schema order, so idx rarely needs the name map.
	next int
	// arena backs every row's map values and lists, chars the text the
	// builder derives (hex ids, numbers), f32s its nullable floats: chunks
	// carved row after row instead of an allocation per value. Rows keep
	// pointing into a chunk when the next one starts.
	arena []string
	chars []byte
	f32s  []float32
	view  *spanView
	res   *resourceRow
	// repaired counts values stored in repaired form, by kind.
	repaired map[string]int
}

func newBuilder(s *schema, capacity int) *builder {
	b := &builder{s: s, cols: make([]colData, len(s.cols)), repaired: map[string]int{}}
	for i, c := range s.cols {
		b.cols[i] = newColumn(c.Type, capacity)
	}
	return b
}

// add appends v to column i; the column's Go type is fixed by its schema.
func add[T any](b *builder, i int, v T) {
	c := b.cols[i].(*vals[T])
	c.v = append(c.v, v)
}

func (b *builder) str(i int, v string)      { add(b, i, b.valid(v)) }
func (b *builder) u64v(i int, v uint64)     { add(b, i, v) }
func (b *builder) u32v(i int, v uint32)     { add(b, i, v) }
func (b *builder) u16v(i int, v uint16)     { add(b, i, v) }
func (b *builder) boolv(i int, v bool)      { add(b, i, v) }
func (b *builder) f32v(i int, v *float32)   { add(b, i, v) }
func (b *builder) f64v(i int, v *float64)   { add(b, i, v) }
func (b *builder) dec(i int, v int64)       { add(b, i, v) }
func (b *builder) arr(i int, v []string)    { add(b, i, v) }
func (b *builder) mapv(i int, v chstore.KV) { add(b, i, v) }
func (b *builder) timev(i int, v time.Time) { add(b, i, v) }
func (b *builder) repair(kind string)       { b.repaired[kind]++ }

// strings is a String column's values, for reading or fixing them in place.
func (b *builder) strings(i int) []string { return b.cols[i].(*vals[string]).v }

// idx is the position of a column by name.
func (b *builder) idx(name string) int {
	if b.next < len(b.s.cols) && b.s.cols[b.next].Name == name {
		b.next++
		return b.next - 1
	}
	i := b.s.col(name)
	b.next = i + 1
	return i
}

const (
	arenaChunk = 8 << 10
	charsChunk = 64 << 10
)

// reserve makes room for n more strings in the arena and returns where the
// next value starts.
func (b *builder) reserve(n int) int {
	if cap(b.arena)-len(b.arena) < n {
		b.arena = make([]string, 0, max(arenaChunk, n))
	}
	return len(b.arena)
}

// list carves a []string of n values from the arena.
func (b *builder) list(n int, at func(i int) string) []string {
	start := b.reserve(n)
	for i := 0; i < n; i++ {
		b.arena = append(b.arena, at(i))
	}
	return b.arena[start:len(b.arena):len(b.arena)]
}

// derive returns as a string the bytes fill appends, written into the
// chars chunk; fill may append at most limit bytes.
func (b *builder) derive(limit int, fill func([]byte) []byte) string {
	if cap(b.chars)-len(b.chars) < limit {
		b.chars = make([]byte, 0, charsChunk)
	}
	room := b.chars[len(b.chars):len(b.chars):cap(b.chars)]
	out := fill(room)
	if len(out) == 0 {
		return ""
	}
	if cap(out) != cap(room) { // went past limit: fill allocated
		return string(out)
	}
	b.chars = b.chars[:len(b.chars)+len(out)]
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// f32 is a pointer to v that costs no allocation of its own.
func (b *builder) f32(v float32) *float32 {
	if len(b.f32s) == cap(b.f32s) {
		b.f32s = make([]float32, 0, 1024)
	}
	b.f32s = append(b.f32s, v)
	return &b.f32s[len(b.f32s)-1]
}

// kv closes the map value appended to the arena since start.
func (b *builder) kv(start int) chstore.KV {
	return chstore.KV(b.arena[start:len(b.arena):len(b.arena)])
}

// endRow closes a row. A column that missed a value makes the batch ragged,
// which Batch.Validate refuses.
func (b *builder) endRow() {
	b.n++
	b.next = 0
}

// keepRows returns a builder with only the rows marked in keep.
func (b *builder) keepRows(keep []bool) *builder {
	out := &builder{s: b.s, cols: make([]colData, len(b.cols)), repaired: map[string]int{}}
	for i, c := range b.cols {
		out.cols[i] = c.keep(keep)
	}
	for _, ok := range keep {
		if ok {
			out.n++
		}
	}
	return out
}

// appendRows appends rows [from, to) of src, a builder of the same schema.
// Values are shared, not copied: rows are never changed once built.
func (b *builder) appendRows(src *builder, from, to int) {
	if from == to {
		return
	}
	for i, c := range b.cols {
		c.appendFrom(src.cols[i], from, to)
	}
	b.n += to - from
}

// batch hands the columns to the store in contract order.
func (b *builder) batch(db string) *chstore.Batch {
	out := &chstore.Batch{Database: db, Table: b.s.table, Columns: make([]chstore.Column, len(b.s.cols))}
	for i, c := range b.s.cols {
		out.Columns[i] = chstore.Column{Name: c.Name, Type: c.Type, Values: b.cols[i].values()}
	}
	return out
}

func (b *builder) valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b.repaired["invalid_utf8"]++
	out := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[:size]...)
		}
		s = s[size:]
	}
	return string(out)
}
