package chhttp

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
)

// compressBlock is the most data in one ClickHouse compressed block, as
// ClickHouse's max_compress_block_size.
const compressBlock = 1 << 20

// nativeCompress frames data as ClickHouse compressed blocks (compress=1):
// checksum, method, sizes, payload, as clickhouse-go reads with LZ4 or ZSTD.
func nativeCompress(data []byte, method string) ([]byte, error) {
	m := compress.LZ4
	switch method {
	case "zstd":
		m = compress.ZSTD
	case "none":
		m = compress.None
	}
	w := compress.NewWriter(compress.LevelZero, m)
	out := make([]byte, 0, len(data)/2+64)
	for len(data) > 0 {
		n := min(len(data), compressBlock)
		if err := w.Compress(data[:n]); err != nil {
			return nil, err
		}
		out = append(out, w.Data...)
		data = data[n:]
	}
	return out, nil
}

// nativeDecompress reads a body sent with decompress=1, up to limit bytes.
func nativeDecompress(body io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(compress.NewReader(body), limit))
}

// pickEncoding is the first encoding of Accept-Encoding this interface
// writes; ClickHouse's "deflate" is the zlib format.
func pickEncoding(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		name, _, _ := strings.Cut(part, ";")
		switch e := strings.ToLower(strings.TrimSpace(name)); e {
		case "gzip", "deflate", "br":
			return e
		}
	}
	return ""
}

// httpCompress encodes a response body for Content-Encoding enc.
func httpCompress(data []byte, enc string, level int) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch enc {
	case "gzip":
		w, err = gzip.NewWriterLevel(&buf, level)
	case "deflate":
		w, err = zlib.NewWriterLevel(&buf, level)
	case "br":
		w = brotli.NewWriterLevel(&buf, min(level, brotli.BestCompression))
	default:
		return data, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
