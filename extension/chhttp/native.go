package chhttp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// ClickHouse's HTTP interface writes Native for the client_protocol_version
// a request names, and clickhouse-go (so Grafana's plugin) reads it at the
// revision `SELECT revision()` reported. The embedded engine writes Native
// for revision 0 only: from revision 1 every block starts with its block
// info, and from 54454 every column header ends with a custom-serialization
// flag. upgradeNative adds both around the engine's bytes, which it copies
// unchanged; it decodes columns only to find where each one ends.
const revisionWithCustomSerialization = 54454

// blockInfo is BlockInfo as ClickHouse writes it for a result block:
// field 1 is_overflows = false, field 2 bucket_num = -1, end.
var blockInfo = []byte{1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// upgradeNative rewrites a revision-0 Native result for revision, and
// counts its rows.
func upgradeNative(data []byte, revision uint64) (out []byte, rows uint64, err error) {
	// clickhouse-go's column decoders panic on some malformed input.
	defer func() {
		if r := recover(); r != nil {
			out, rows, err = nil, 0, fmt.Errorf("malformed Native data: %v", r)
		}
	}()
	cr := &countingReader{r: bytes.NewReader(data)}
	// At least ch-go's reader size, so that chproto.NewReader reads through
	// this bufio.Reader and pos can account for what it buffered.
	br := bufio.NewReaderSize(cr, 1<<20)
	rd := chproto.NewReader(br)
	pos := func() int { return cr.n - br.Buffered() }
	sc := &column.ServerContext{Timezone: time.UTC}
	out = make([]byte, 0, len(data)+len(data)/64+16)
	for pos() < len(data) {
		if revision > 0 {
			out = append(out, blockInfo...)
		}
		start := pos()
		cols, err := rd.UVarInt()
		if err != nil {
			return nil, 0, fmt.Errorf("block header: %w", err)
		}
		n, err := rd.UVarInt()
		if err != nil {
			return nil, 0, fmt.Errorf("block header: %w", err)
		}
		if n > uint64(len(data)) && cols > 0 {
			return nil, 0, fmt.Errorf("block of %d rows in %d bytes", n, len(data))
		}
		out = append(out, data[start:pos()]...)
		for i := uint64(0); i < cols; i++ {
			head := pos()
			name, err := rd.Str()
			if err != nil {
				return nil, 0, fmt.Errorf("column %d name: %w", i, err)
			}
			typ, err := rd.Str()
			if err != nil {
				return nil, 0, fmt.Errorf("column %s type: %w", name, err)
			}
			out = append(out, data[head:pos()]...)
			if revision >= revisionWithCustomSerialization {
				out = append(out, 0)
			}
			if n == 0 {
				continue
			}
			body := pos()
			c, err := column.Type(typ).Column(name, sc)
			if err != nil {
				return nil, 0, fmt.Errorf("column %s: %w", name, err)
			}
			if cs, ok := c.(column.CustomSerialization); ok {
				if err := cs.ReadStatePrefix(rd); err != nil {
					return nil, 0, fmt.Errorf("column %s %s: %w", name, typ, err)
				}
			}
			if err := c.Decode(rd, int(n)); err != nil {
				return nil, 0, fmt.Errorf("column %s %s: %w", name, typ, err)
			}
			out = append(out, data[body:pos()]...)
		}
		rows += n
	}
	return out, rows, nil
}
