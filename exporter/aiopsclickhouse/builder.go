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
	maps  [][]*attrMap
	times [][]time.Time
	// repaired counts values stored in repaired form, by kind.
	repaired map[string]int
}

// newBuilder sizes every column for capacity rows, so appends do not
// regrow (and re-copy) fifty slices per batch.
func newBuilder(s *schema, capacity int) *builder {
	n := len(s.cols)
	b := &builder{
		s: s, strs: make([][]string, n), u64: make([][]uint64, n), u32: make([][]uint32, n), u16: make([][]uint16, n),
		bools: make([][]bool, n), f32: make([][]*float32, n), f64: make([][]*float64, n), decs: make([][]decimal.Decimal, n),
		arrs: make([][][]string, n), maps: make([][]*attrMap, n), times: make([][]time.Time, n),
		repaired: map[string]int{},
	}
	for i, k := range s.kinds {
		switch k {
		case kStr:
			b.strs[i] = make([]string, 0, capacity)
		case kU64:
			b.u64[i] = make([]uint64, 0, capacity)
		case kU32:
			b.u32[i] = make([]uint32, 0, capacity)
		case kU16:
			b.u16[i] = make([]uint16, 0, capacity)
		case kBool:
			b.bools[i] = make([]bool, 0, capacity)
		case kF32:
			b.f32[i] = make([]*float32, 0, capacity)
		case kF64:
			b.f64[i] = make([]*float64, 0, capacity)
		case kDec:
			b.decs[i] = make([]decimal.Decimal, 0, capacity)
		case kArr:
			b.arrs[i] = make([][]string, 0, capacity)
		case kMap:
			b.maps[i] = make([]*attrMap, 0, capacity)
		case kTime:
			b.times[i] = make([]time.Time, 0, capacity)
		}
	}
	return b
}

// keepRows returns a builder with only the rows marked in keep.
func (b *builder) keepRows(keep []bool) *builder {
	out := newBuilder(b.s, b.n)
	for r, ok := range keep {
		if !ok {
			continue
		}
		for i, k := range b.s.kinds {
			switch k {
			case kStr:
				out.strs[i] = append(out.strs[i], b.strs[i][r])
			case kU64:
				out.u64[i] = append(out.u64[i], b.u64[i][r])
			case kU32:
				out.u32[i] = append(out.u32[i], b.u32[i][r])
			case kU16:
				out.u16[i] = append(out.u16[i], b.u16[i][r])
			case kBool:
				out.bools[i] = append(out.bools[i], b.bools[i][r])
			case kF32:
				out.f32[i] = append(out.f32[i], b.f32[i][r])
			case kF64:
				out.f64[i] = append(out.f64[i], b.f64[i][r])
			case kDec:
				out.decs[i] = append(out.decs[i], b.decs[i][r])
			case kArr:
				out.arrs[i] = append(out.arrs[i], b.arrs[i][r])
			case kMap:
				out.maps[i] = append(out.maps[i], b.maps[i][r])
			case kTime:
				out.times[i] = append(out.times[i], b.times[i][r])
			}
		}
		out.n++
	}
	return out
}

func (b *builder) str(i int, v string)          { b.strs[i] = append(b.strs[i], b.valid(v)) }
func (b *builder) u64v(i int, v uint64)         { b.u64[i] = append(b.u64[i], v) }
func (b *builder) u32v(i int, v uint32)         { b.u32[i] = append(b.u32[i], v) }
func (b *builder) u16v(i int, v uint16)         { b.u16[i] = append(b.u16[i], v) }
func (b *builder) boolv(i int, v bool)          { b.bools[i] = append(b.bools[i], v) }
func (b *builder) f32v(i int, v *float32)       { b.f32[i] = append(b.f32[i], v) }
func (b *builder) f64v(i int, v *float64)       { b.f64[i] = append(b.f64[i], v) }
func (b *builder) dec(i int, v decimal.Decimal) { b.decs[i] = append(b.decs[i], v) }
func (b *builder) arr(i int, v []string)        { b.arrs[i] = append(b.arrs[i], v) }
func (b *builder) mapv(i int, v *attrMap)       { b.maps[i] = append(b.maps[i], v) }
func (b *builder) timev(i int, v time.Time)     { b.times[i] = append(b.times[i], v) }
func (b *builder) repair(kind string)           { b.repaired[kind]++ }

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
