package chstore

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/shopspring/decimal"
)

// fastColumns are values for every type encodeFast writes itself, with the
// edge cases that change the encoding: empty strings next to the default
// dictionary slot, dictionaries past 255 and 65,535 distinct values (wider
// keys), nulls, empty arrays and maps, zero and pre-1970 times.
func fastColumns() []Column {
	f64, f32 := math.Inf(-1), float32(0.5)
	nan := math.NaN()
	distinct := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("v%d", i)
		}
		return out
	}
	return []Column{
		{"s", "String", []string{"", "a", "line1\n\nline2\x00", strings.Repeat("x", 70000), "ユーザー"}},
		{"lc", "LowCardinality(String)", []string{"b", "", "b", "a", ""}},
		{"lc_empty", "LowCardinality(String)", []string{}},
		{"lc_u16", "LowCardinality(String)", append(distinct(255), "v1", "")},
		{"lc_u32", "LowCardinality(String)", distinct(70000)},
		{"u64", "UInt64", []uint64{0, 1, math.MaxUint64}},
		{"u32", "UInt32", []uint32{0, math.MaxUint32}},
		{"u16", "UInt16", []uint16{7, math.MaxUint16}},
		{"u8", "UInt8", []uint8{0, 255}},
		{"b", "Bool", []bool{true, false, true}},
		{"f64", "Float64", []float64{0, -1.5, nan, f64}},
		{"nf64", "Nullable(Float64)", []*float64{nil, &f64, &nan}},
		{"nf32", "Nullable(Float32)", []*float32{&f32, nil}},
		{"dec", "Decimal(18, 12)", []int64{0, 1, -1, 999_999_999_999_999_999}},
		{"dec4", "Decimal(9,4)", []int64{12345, -5}},
		{"t9", "DateTime64(9)", []time.Time{{}, time.Date(2026, 11, 21, 1, 2, 3, 456789012, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC)}},
		{"t3", "DateTime64(3)", []time.Time{time.Date(2026, 11, 21, 1, 2, 3, 456789012, time.FixedZone("x", 3600))}},
		{"arr", "Array(LowCardinality(String))", [][]string{{}, {"stop", "length"}, nil, {"stop", ""}}},
		{"arr_empty", "Array(LowCardinality(String))", [][]string{{}, nil}},
		{"map", "Map(LowCardinality(String), String)", []KV{{}, {"k", "v", "", "", "k2", "ユ"}, nil, {"k", "other"}}},
		{"map_empty", "Map(LowCardinality(String), String)", []KV{nil}},
	}
}

// reference encodes c with clickhouse-go's own column, converting values
// to the types it accepts.
func reference(t *testing.T, c Column) []byte {
	t.Helper()
	values := c.Values
	switch v := values.(type) {
	case []int64:
		_, scale, _ := decimal64Type(c.Type)
		d := make([]decimal.Decimal, len(v))
		for i, x := range v {
			d[i] = decimal.New(x, -int32(scale))
		}
		values = d
	case []KV:
		m := make([]*KV, len(v))
		for i := range v {
			m[i] = &v[i]
		}
		values = m
	}
	col, err := column.Type(c.Type).Column(c.Name, utc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := col.Append(values); err != nil {
		t.Fatalf("%s: clickhouse-go append: %v", c.Name, err)
	}
	var buf chproto.Buffer
	if cs, ok := col.(column.CustomSerialization); ok {
		if err := cs.WriteStatePrefix(&buf); err != nil {
			t.Fatal(err)
		}
	}
	col.Encode(&buf)
	return buf.Buf
}

// Streaming a block in chunks yields exactly the bytes of the whole block,
// each chunk cut once it reaches the chunk size at a value boundary.
func TestStreamNativeMatchesWholeBlock(t *testing.T) {
	b := &Batch{Database: "db", Table: "t", Columns: fastColumns()}
	var whole chproto.Buffer
	if err := b.EncodeNative(&whole); err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 13, 4096, 1 << 30} {
		var got []byte
		pieces := 0
		var buf chproto.Buffer
		err := b.StreamNative(&buf, chunk, func(p []byte) error {
			got = append(got, p...)
			pieces++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, whole.Buf) {
			t.Fatalf("chunk %d: %d bytes streamed, differ from the %d-byte block", chunk, len(got), len(whole.Buf))
		}
		if chunk == 1 && pieces < len(b.Columns) {
			t.Fatalf("chunk 1: only %d pieces", pieces)
		}
		if chunk == 1<<30 && pieces != 1 {
			t.Fatalf("one piece expected when the block fits, got %d", pieces)
		}
		if cap(buf.Buf) > 2*len(whole.Buf) {
			t.Fatalf("chunk %d: buffer grew to %d", chunk, cap(buf.Buf))
		}
	}
	stop := errors.New("engine refused")
	var buf chproto.Buffer
	calls := 0
	err := b.StreamNative(&buf, 13, func([]byte) error { calls++; return stop })
	var be *BatchError
	if !errors.Is(err, stop) || errors.As(err, &be) || calls != 1 {
		t.Fatalf("a failing flush must stop the encoding: err %v after %d calls", err, calls)
	}
}

func TestFastEncodingMatchesClickhouseGo(t *testing.T) {
	for _, c := range fastColumns() {
		var buf chproto.Buffer
		ok, err := encodeFast(&nativeWriter{buf: &buf}, c)
		if err != nil || !ok {
			t.Fatalf("%s %s: fast path not taken (ok=%v, err=%v)", c.Name, c.Type, ok, err)
		}
		if want := reference(t, c); !bytes.Equal(buf.Buf, want) {
			t.Errorf("%s %s: %d bytes differ from clickhouse-go's %d (first difference at %d)",
				c.Name, c.Type, len(buf.Buf), len(want), firstDiff(buf.Buf, want))
		}
	}
}

// TestServerColumnsReencodeUnchanged is what the server writer relies on:
// clickhouse-go decodes our bytes into fresh columns, as PrepareBatch makes
// them, and encodes exactly the same bytes again.
func TestServerColumnsReencodeUnchanged(t *testing.T) {
	for _, c := range fastColumns() {
		var ours chproto.Buffer
		if err := encodeColumn(&nativeWriter{buf: &ours}, c); err != nil {
			t.Fatal(err)
		}
		b := &Batch{Columns: []Column{c}}
		col, err := column.Type(c.Type).Column(c.Name, utc)
		if err != nil {
			t.Fatal(err)
		}
		if err := fillBatchColumns([]column.Interface{col}, b); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		var again chproto.Buffer
		if cs, ok := col.(column.CustomSerialization); ok {
			if err := cs.WriteStatePrefix(&again); err != nil {
				t.Fatal(err)
			}
		}
		col.Encode(&again)
		if !bytes.Equal(ours.Buf, again.Buf) {
			t.Errorf("%s %s: re-encoded %d bytes differ from our %d (first difference at %d)",
				c.Name, c.Type, len(again.Buf), len(ours.Buf), firstDiff(ours.Buf, again.Buf))
		}
	}
}

func TestFillBatchColumnsRefusesMismatches(t *testing.T) {
	b := &Batch{Columns: []Column{{"a", "UInt64", []uint64{1}}}}
	other, _ := column.Type("UInt64").Column("b", utc)
	if err := fillBatchColumns([]column.Interface{other}, b); err == nil {
		t.Error("a column named differently on the server was accepted")
	}
	if err := fillBatchColumns(nil, b); err == nil {
		t.Error("a column count mismatch was accepted")
	}
	short := []byte{1, 0, 0, 0, 0, 0, 0, 0, 9}
	col, _ := column.Type("UInt64").Column("a", utc)
	if err := decodeColumn(col, short, 1); err == nil {
		t.Error("trailing bytes after the column were accepted")
	}
}

func TestEncodeRefusesBadValues(t *testing.T) {
	var buf chproto.Buffer
	bad := []Batch{
		{Columns: []Column{{"m", "Map(LowCardinality(String), String)", []KV{{"odd"}}}}},
		{Columns: []Column{{"d", "Decimal(38, 12)", []int64{1}}}},
		{Columns: []Column{{"d", "Decimal(9, 4)", []int64{1 << 40}}}},
		{Columns: []Column{{"u", "UInt64", []string{"x"}}}},
	}
	for _, b := range bad {
		buf.Reset()
		if err := b.EncodeNative(&buf); err == nil {
			t.Errorf("%s %s with %T encoded", b.Columns[0].Name, b.Columns[0].Type, b.Columns[0].Values)
		}
	}
}

// Types without a fast path still encode through clickhouse-go.
func TestGenericPathStillEncodes(t *testing.T) {
	c := Column{"d", "Decimal(18, 12)", []decimal.Decimal{decimal.RequireFromString("1.5")}}
	var buf chproto.Buffer
	if err := encodeColumn(&nativeWriter{buf: &buf}, c); err != nil {
		t.Fatal(err)
	}
	if want := reference(t, c); !bytes.Equal(buf.Buf, want) {
		t.Error("generic path differs from clickhouse-go")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
