package aiopsclickhouse

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// kind is the Go slice type a column's values are collected in.
type kind uint8

const (
	kStr kind = iota
	kU64
	kU32
	kU16
	kBool
	kF32
	kF64
	kDec
	kArr
	kMap
	kTime
)

func kindOf(typ string) kind {
	switch typ {
	case "String", "LowCardinality(String)":
		return kStr
	case "UInt64":
		return kU64
	case "UInt32":
		return kU32
	case "UInt16":
		return kU16
	case "Bool":
		return kBool
	case "Nullable(Float32)":
		return kF32
	case "Nullable(Float64)":
		return kF64
	case "Decimal(18, 12)":
		return kDec
	case "Array(LowCardinality(String))":
		return kArr
	case "Map(LowCardinality(String), String)":
		return kMap
	case "DateTime64(9)":
		return kTime
	}
	panic("aiops_clickhouse: no Go type for column type " + typ)
}

// schema maps a table's column names to positions once.
type schema struct {
	table string
	cols  []chstore.ColumnDef
	kinds []kind
	pos   map[string]int
}

func newSchema(table string, cols []chstore.ColumnDef) *schema {
	s := &schema{table: table, cols: cols, pos: map[string]int{}}
	for i, c := range cols {
		s.kinds = append(s.kinds, kindOf(c.Type))
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

// builder collects rows column by column in typed slices, so appending a
// value never boxes it.
type builder struct {
	s     *schema
	n     int
	strs  [][]string
	u64   [][]uint64
	u32   [][]uint32
	u16   [][]uint16
	bools [][]bool
	f32   [][]*float32
	f64   [][]*float64
	decs  [][]decimal.Decimal
	arrs  [][][]string
	maps  [][]map[string]string
	times [][]time.Time
	// repaired counts values stored in repaired form, by kind.
	repaired map[string]int
}

func newBuilder(s *schema) *builder {
	n := len(s.cols)
	return &builder{
		s: s, strs: make([][]string, n), u64: make([][]uint64, n), u32: make([][]uint32, n), u16: make([][]uint16, n),
		bools: make([][]bool, n), f32: make([][]*float32, n), f64: make([][]*float64, n), decs: make([][]decimal.Decimal, n),
		arrs: make([][][]string, n), maps: make([][]map[string]string, n), times: make([][]time.Time, n),
		repaired: map[string]int{},
	}
}

func (b *builder) str(i int, v string)             { b.strs[i] = append(b.strs[i], b.valid(v)) }
func (b *builder) u64v(i int, v uint64)            { b.u64[i] = append(b.u64[i], v) }
func (b *builder) u32v(i int, v uint32)            { b.u32[i] = append(b.u32[i], v) }
func (b *builder) u16v(i int, v uint16)            { b.u16[i] = append(b.u16[i], v) }
func (b *builder) boolv(i int, v bool)             { b.bools[i] = append(b.bools[i], v) }
func (b *builder) f32v(i int, v *float32)          { b.f32[i] = append(b.f32[i], v) }
func (b *builder) f64v(i int, v *float64)          { b.f64[i] = append(b.f64[i], v) }
func (b *builder) dec(i int, v decimal.Decimal)    { b.decs[i] = append(b.decs[i], v) }
func (b *builder) arr(i int, v []string)           { b.arrs[i] = append(b.arrs[i], v) }
func (b *builder) mapv(i int, v map[string]string) { b.maps[i] = append(b.maps[i], v) }
func (b *builder) timev(i int, v time.Time)        { b.times[i] = append(b.times[i], v) }
func (b *builder) repair(kind string)              { b.repaired[kind]++ }

// endRow closes a row and checks that every column got exactly one value.
func (b *builder) endRow() {
	b.n++
	for i, k := range b.s.kinds {
		if got := b.len(i, k); got != b.n {
			panic(fmt.Sprintf("aiops_clickhouse: %s.%s has %d values after row %d", b.s.table, b.s.cols[i].Name, got, b.n))
		}
	}
}

func (b *builder) len(i int, k kind) int {
	switch k {
	case kStr:
		return len(b.strs[i])
	case kU64:
		return len(b.u64[i])
	case kU32:
		return len(b.u32[i])
	case kU16:
		return len(b.u16[i])
	case kBool:
		return len(b.bools[i])
	case kF32:
		return len(b.f32[i])
	case kF64:
		return len(b.f64[i])
	case kDec:
		return len(b.decs[i])
	case kArr:
		return len(b.arrs[i])
	case kMap:
		return len(b.maps[i])
	default:
		return len(b.times[i])
	}
}

// appendFrom adds all of o's rows (same schema) to b.
func (b *builder) appendFrom(o *builder) {
	for i, k := range b.s.kinds {
		switch k {
		case kStr:
			b.strs[i] = append(b.strs[i], o.strs[i]...)
		case kU64:
			b.u64[i] = append(b.u64[i], o.u64[i]...)
		case kU32:
			b.u32[i] = append(b.u32[i], o.u32[i]...)
		case kU16:
			b.u16[i] = append(b.u16[i], o.u16[i]...)
		case kBool:
			b.bools[i] = append(b.bools[i], o.bools[i]...)
		case kF32:
			b.f32[i] = append(b.f32[i], o.f32[i]...)
		case kF64:
			b.f64[i] = append(b.f64[i], o.f64[i]...)
		case kDec:
			b.decs[i] = append(b.decs[i], o.decs[i]...)
		case kArr:
			b.arrs[i] = append(b.arrs[i], o.arrs[i]...)
		case kMap:
			b.maps[i] = append(b.maps[i], o.maps[i]...)
		case kTime:
			b.times[i] = append(b.times[i], o.times[i]...)
		}
	}
	b.n += o.n
	for k, v := range o.repaired {
		b.repaired[k] += v
	}
}

// batch hands the columns to the store in contract order.
func (b *builder) batch(db string) *chstore.Batch {
	out := &chstore.Batch{Database: db, Table: b.s.table, Columns: make([]chstore.Column, len(b.s.cols))}
	for i, c := range b.s.cols {
		var v any
		switch b.s.kinds[i] {
		case kStr:
			v = nonNil(b.strs[i])
		case kU64:
			v = nonNil(b.u64[i])
		case kU32:
			v = nonNil(b.u32[i])
		case kU16:
			v = nonNil(b.u16[i])
		case kBool:
			v = nonNil(b.bools[i])
		case kF32:
			v = nonNil(b.f32[i])
		case kF64:
			v = nonNil(b.f64[i])
		case kDec:
			v = nonNil(b.decs[i])
		case kArr:
			v = nonNil(b.arrs[i])
		case kMap:
			v = nonNil(b.maps[i])
		case kTime:
			v = nonNil(b.times[i])
		}
		out.Columns[i] = chstore.Column{Name: c.Name, Type: c.Type, Values: v}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
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
