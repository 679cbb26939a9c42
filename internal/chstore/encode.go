package chstore

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// KV is one Map column value as key, value, key, value, ... in arrival order.
type KV []string

// Put and Iterator make KV a clickhouse-go ordered map, for the generic path.
func (m *KV) Put(k, v any)                 { *m = append(*m, k.(string), v.(string)) }
func (m *KV) Iterator() column.MapIterator { return &kvIter{kv: *m, i: -2} }

type kvIter struct {
	kv KV
	i  int
}

func (it *kvIter) Next() bool { it.i += 2; return it.i < len(it.kv) }
func (it *kvIter) Key() any   { return it.kv[it.i] }
func (it *kvIter) Value() any { return it.kv[it.i+1] }

// EncodeNative encodes the batch as one block of ClickHouse's Native format
// (revision 0: no block info, no serialization kinds).
func (b *Batch) EncodeNative(buf *chproto.Buffer) error {
	return b.StreamNative(buf, 0, nil)
}

// StreamNative encodes the batch like EncodeNative but hands buf to flush
// whenever it holds chunk bytes or more, at a row or column boundary, and
// then reuses it: a block with megabytes of prompts passes through a buffer
// of about chunk bytes instead of being built whole. The last chunk is
// flushed too. A nil flush keeps everything in buf.
func (b *Batch) StreamNative(buf *chproto.Buffer, chunk int, flush func([]byte) error) error {
	w := &nativeWriter{buf: buf, chunk: chunk, flush: flush}
	buf.PutUVarInt(uint64(len(b.Columns)))
	buf.PutUVarInt(uint64(b.Rows()))
	for _, c := range b.Columns {
		buf.PutString(c.Name)
		buf.PutString(c.Type)
		if err := encodeColumn(w, c); err != nil {
			if w.err != nil {
				return w.err // the consumer's error, not the data's
			}
			return &BatchError{Err: fmt.Errorf("column %s %s: %w", c.Name, c.Type, err)}
		}
		if err := w.spill(); err != nil {
			return err
		}
	}
	if flush == nil || len(buf.Buf) == 0 {
		return nil
	}
	err := flush(buf.Buf)
	buf.Reset()
	return err
}

// nativeWriter is the encoder's output: buf, emptied into flush once it
// holds chunk bytes.
type nativeWriter struct {
	buf   *chproto.Buffer
	chunk int
	flush func([]byte) error
	err   error
}

// spill flushes a full buffer; an error sticks and is returned again.
func (w *nativeWriter) spill() error {
	if w.err == nil && w.flush != nil && len(w.buf.Buf) >= w.chunk {
		w.err = w.flush(w.buf.Buf)
		w.buf.Reset()
	}
	return w.err
}

// putStrings writes String values, spilling between them.
func (w *nativeWriter) putStrings(v []string) error {
	for _, s := range v {
		w.buf.PutString(s)
		if len(w.buf.Buf) >= w.chunk && w.spill() != nil {
			return w.err
		}
	}
	return nil
}

// encodeColumn writes one column's state prefix and data. The hot types are
// written directly, byte for byte what clickhouse-go writes for the same
// values (encode_test.go holds it to that); anything else goes through
// clickhouse-go's own column.
func encodeColumn(w *nativeWriter, c Column) error {
	if ok, err := encodeFast(w, c); ok || err != nil {
		return err
	}
	col, err := column.Type(c.Type).Column(c.Name, utc)
	if err != nil {
		return err
	}
	if err := appendValues(col, c); err != nil {
		return err
	}
	if cs, ok := col.(column.CustomSerialization); ok {
		if err := cs.WriteStatePrefix(w.buf); err != nil {
			return err
		}
	}
	col.Encode(w.buf)
	return nil
}

// lcVersion is LowCardinality's state prefix: shared dictionaries with
// additional keys.
const lcVersion = 1

func encodeFast(w *nativeWriter, c Column) (bool, error) {
	buf := w.buf
	switch v := c.Values.(type) {
	case []string:
		switch c.Type {
		case "String":
			return true, w.putStrings(v)
		case "LowCardinality(String)":
			buf.PutUInt64(lcVersion)
			putLowCardinality(buf, v)
			return true, nil
		}
	case [][]string:
		if c.Type == "Array(LowCardinality(String))" {
			buf.PutUInt64(lcVersion)
			var n uint64
			for _, a := range v {
				n += uint64(len(a))
				buf.PutUInt64(n)
			}
			flat := make([]string, 0, n)
			for _, a := range v {
				flat = append(flat, a...)
			}
			putLowCardinality(buf, flat)
			return true, nil
		}
	case []KV:
		if c.Type == "Map(LowCardinality(String), String)" {
			buf.PutUInt64(lcVersion)
			var n uint64
			for _, m := range v {
				if len(m)%2 != 0 {
					return false, fmt.Errorf("map value has %d strings, want key-value pairs", len(m))
				}
				n += uint64(len(m) / 2)
				buf.PutUInt64(n)
			}
			keys := make([]string, 0, n)
			for _, m := range v {
				for i := 0; i < len(m); i += 2 {
					keys = append(keys, m[i])
				}
			}
			putLowCardinality(buf, keys)
			for _, m := range v {
				for i := 1; i < len(m); i += 2 {
					buf.PutString(m[i])
				}
				if len(buf.Buf) >= w.chunk && w.spill() != nil {
					return true, w.err
				}
			}
			return true, nil
		}
	case []uint64:
		if c.Type == "UInt64" {
			for _, x := range v {
				buf.PutUInt64(x)
			}
			return true, nil
		}
	case []uint32:
		if c.Type == "UInt32" {
			for _, x := range v {
				buf.PutUInt32(x)
			}
			return true, nil
		}
	case []uint16:
		if c.Type == "UInt16" {
			for _, x := range v {
				buf.PutUInt16(x)
			}
			return true, nil
		}
	case []uint8:
		if c.Type == "UInt8" {
			buf.PutRaw(v)
			return true, nil
		}
	case []bool:
		if c.Type == "Bool" {
			for _, x := range v {
				buf.PutBool(x)
			}
			return true, nil
		}
	case []float64:
		if c.Type == "Float64" {
			for _, x := range v {
				buf.PutFloat64(x)
			}
			return true, nil
		}
	case []*float64:
		if c.Type == "Nullable(Float64)" {
			putNullable(buf, v, buf.PutFloat64)
			return true, nil
		}
	case []*float32:
		if c.Type == "Nullable(Float32)" {
			putNullable(buf, v, buf.PutFloat32)
			return true, nil
		}
	case []int64:
		// Decimal(P, S) is an Int32 (P <= 9) or Int64 (P <= 18) of units
		// of 10^-S; the values are those units already.
		if p, _, ok := decimal64Type(c.Type); ok {
			for _, x := range v {
				if p <= 9 {
					if x < math.MinInt32 || x > math.MaxInt32 {
						return false, fmt.Errorf("%d does not fit %s", x, c.Type)
					}
					buf.PutInt32(int32(x))
				} else {
					buf.PutInt64(x)
				}
			}
			return true, nil
		}
		if strings.HasPrefix(c.Type, "Decimal(") {
			return false, fmt.Errorf("int64 values need a Decimal of precision 18 or less")
		}
	case []time.Time:
		if p, ok := dateTime64Precision(c.Type); ok {
			for _, t := range v {
				buf.PutInt64(int64(chproto.ToDateTime64(t, p)))
			}
			return true, nil
		}
	}
	return false, nil
}

// putNullable writes the null map, then every value with zero for nulls.
func putNullable[T any](buf *chproto.Buffer, v []*T, put func(T)) {
	for _, x := range v {
		if x == nil {
			buf.PutUInt8(1)
		} else {
			buf.PutUInt8(0)
		}
	}
	var zero T
	for _, x := range v {
		if x == nil {
			put(zero)
		} else {
			put(*x)
		}
	}
}

// LowCardinality serialization flags.
const (
	lcHasAdditionalKeys    = 1 << 9
	lcNeedUpdateDictionary = 1 << 10
)

// putLowCardinality writes a dictionary and keys the way clickhouse-go
// does: position 0 holds the default value, every distinct value (the empty
// string included) gets its own position in first-seen order, and the key
// width follows the number of distinct values.
func putLowCardinality(buf *chproto.Buffer, v []string) {
	if len(v) == 0 {
		return
	}
	pos := make(map[string]uint64, 64)
	dict := make([]string, 1, 64)
	keys := make([]uint64, len(v))
	for i, s := range v {
		k, ok := pos[s]
		if !ok {
			k = uint64(len(dict))
			pos[s] = k
			dict = append(dict, s)
		}
		keys[i] = k
	}
	var width uint64
	switch n := len(pos); {
	case n < math.MaxUint8:
		width = 0
	case n < math.MaxUint16:
		width = 1
	case n < math.MaxUint32:
		width = 2
	default:
		width = 3
	}
	buf.PutUInt64(lcHasAdditionalKeys | lcNeedUpdateDictionary | width)
	buf.PutInt64(int64(len(dict)))
	for _, s := range dict {
		buf.PutString(s)
	}
	buf.PutInt64(int64(len(keys)))
	for _, k := range keys {
		switch width {
		case 0:
			buf.PutUInt8(uint8(k))
		case 1:
			buf.PutUInt16(uint16(k))
		case 2:
			buf.PutUInt32(uint32(k))
		default:
			buf.PutUInt64(k)
		}
	}
}

// decimal64Type parses "Decimal(P, S)" with P <= 18.
func decimal64Type(t string) (precision, scale int, ok bool) {
	inner, found := strings.CutPrefix(t, "Decimal(")
	if !found || !strings.HasSuffix(inner, ")") {
		return 0, 0, false
	}
	ps := strings.Split(strings.TrimSuffix(inner, ")"), ",")
	if len(ps) != 2 {
		return 0, 0, false
	}
	p, err1 := strconv.Atoi(strings.TrimSpace(ps[0]))
	s, err2 := strconv.Atoi(strings.TrimSpace(ps[1]))
	if err1 != nil || err2 != nil || p < 1 || p > 18 || s < 0 || s > p {
		return 0, 0, false
	}
	return p, s, true
}

// dateTime64Precision parses "DateTime64(p)"; a zone argument is not used
// by our tables and takes the generic path.
func dateTime64Precision(t string) (chproto.Precision, bool) {
	inner, found := strings.CutPrefix(t, "DateTime64(")
	if !found || !strings.HasSuffix(inner, ")") {
		return 0, false
	}
	p, err := strconv.Atoi(strings.TrimSuffix(inner, ")"))
	if err != nil || p < 0 || p > 9 {
		return 0, false
	}
	return chproto.Precision(p), true
}
