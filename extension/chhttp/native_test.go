package chhttp

import (
	"bytes"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

func encodeBlock(t *testing.T, revision uint64, rows int) []byte {
	t.Helper()
	b := proto.NewBlock()
	for _, c := range [][2]string{
		{"n", "UInt64"}, {"s", "String"}, {"lc", "LowCardinality(String)"}, {"m", "Map(LowCardinality(String), String)"},
		{"a", "Array(Nullable(Int32))"}, {"t", "DateTime64(3, 'UTC')"}, {"d", "Decimal(18, 6)"}, {"tu", "Tuple(String, UInt8)"},
	} {
		must(t, b.AddColumn(c[0], column.Type(c[1])))
	}
	for i := 0; i < rows; i++ {
		v := int32(i)
		must(t, b.Append(uint64(i), "row", []string{"x", "y"}[i%2], map[string]string{"k": "v"}, []*int32{&v, nil},
			time.UnixMilli(int64(i)).UTC(), "1.5", []any{"z", uint8(i)}))
	}
	var buf chproto.Buffer
	must(t, b.Encode(&buf, revision))
	return buf.Buf
}

// The engine writes revision 0; upgradeNative must produce exactly what a
// server writes for the client's revision: block info, and the custom
// serialization flag from 54454.
func TestUpgradeNativeMatchesTheProtocol(t *testing.T) {
	rev0 := append(encodeBlock(t, 0, 3), encodeBlock(t, 0, 5)...)
	for _, rev := range []uint64{1, 54453, 54454, 54460} {
		want := append(encodeBlock(t, rev, 3), encodeBlock(t, rev, 5)...)
		got, rows, err := upgradeNative(rev0, rev)
		if err != nil {
			t.Fatalf("revision %d: %v", rev, err)
		}
		if !bytes.Equal(got, want) || rows != 8 {
			t.Errorf("revision %d: %d bytes, %d rows; want %d bytes, 8 rows", rev, len(got), rows, len(want))
		}
	}
	// A header-only block (an empty result): no column data.
	hdr := []byte{1, 0, 1, 'x', 6, 'U', 'I', 'n', 't', '6', '4'}
	got, rows, err := upgradeNative(hdr, 54460)
	want := append(append(append([]byte{}, blockInfo...), hdr...), 0)
	if err != nil || rows != 0 || !bytes.Equal(got, want) {
		t.Errorf("header block: %x %d %v, want %x", got, rows, err, want)
	}
}

// A result cut short (the engine's output is the only input, so lengths
// are its own) is an error, never a panic.
func TestUpgradeNativeOnTruncatedInput(t *testing.T) {
	first := encodeBlock(t, 0, 4)
	good := append(first, encodeBlock(t, 0, 2)...)
	for n := 1; n < len(good); n++ {
		if _, _, err := upgradeNative(good[:n], 54460); err == nil && n != len(first) {
			t.Errorf("cut at %d of %d bytes: no error", n, len(good))
		}
	}
}
