package chstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"reflect"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// MinServerVersion is the oldest ClickHouse server the schema is built for
// (24.8 LTS: Map, JSON-free DDL, dedup tokens on MergeTree, query parameters).
var MinServerVersion = [2]uint64{24, 8}

// ServerOptions reach a ClickHouse server over the native protocol.
type ServerOptions struct {
	// DSN is a clickhouse-go DSN: clickhouse://host1:9000,host2:9000/db?dial_timeout=5s.
	DSN         string
	Username    string
	Password    string
	TLS         *tls.Config
	Compression string // "lz4" (default), "zstd" or "none"
}

// Server is a Store on a ClickHouse server through clickhouse-go/v2. Batches
// are appended to clickhouse-go's own columns, the same column types the
// embedded writer encodes with.
type Server struct {
	conn    driver.Conn
	version string
}

// OpenServer connects, pings and checks the server version.
func OpenServer(ctx context.Context, o ServerOptions) (*Server, error) {
	opts, err := clickhouse.ParseDSN(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if o.Username != "" {
		opts.Auth.Username = o.Username
	}
	if o.Password != "" {
		opts.Auth.Password = o.Password
	}
	if o.TLS != nil {
		opts.TLS = o.TLS
	}
	switch o.Compression {
	case "", "lz4":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "zstd":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	case "none":
		opts.Compression = nil
	default:
		return nil, fmt.Errorf("compression: %q is not one of lz4, zstd, none", o.Compression)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping %v: %w", opts.Addr, err)
	}
	v, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if v.Version.Major < MinServerVersion[0] || (v.Version.Major == MinServerVersion[0] && v.Version.Minor < MinServerVersion[1]) {
		conn.Close()
		return nil, fmt.Errorf("ClickHouse server %d.%d.%d is too old; otelcol-aiops needs %d.%d or newer",
			v.Version.Major, v.Version.Minor, v.Version.Patch, MinServerVersion[0], MinServerVersion[1])
	}
	return &Server{conn: conn, version: fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch)}, nil
}

// ErrorCode returns the ClickHouse error code carried by err from either
// store, or 0.
func ErrorCode(err error) int {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return int(ex.Code)
	}
	return chdb.ErrorCode(err)
}

func (s *Server) Kind() string    { return "server" }
func (s *Server) Version() string { return s.version }
func (s *Server) Close() error    { return s.conn.Close() }

func withParams(ctx context.Context, params []Param) context.Context {
	if len(params) == 0 {
		return ctx
	}
	p := clickhouse.Parameters{}
	for _, x := range params {
		p[x.Name] = x.Value
	}
	return clickhouse.Context(ctx, clickhouse.WithParameters(p))
}

func (s *Server) Exec(ctx context.Context, query string, params ...Param) error {
	return s.conn.Exec(withParams(ctx, params), query)
}

func (s *Server) Query(ctx context.Context, query string, params ...Param) (*Rows, error) {
	rows, err := s.conn.Query(withParams(ctx, params), query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &Rows{Columns: rows.Columns()}
	types := rows.ColumnTypes()
	for _, t := range types {
		out.Types = append(out.Types, t.DatabaseTypeName())
	}
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, t := range types {
			ptrs[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			v := reflect.ValueOf(p).Elem()
			if v.Kind() == reflect.Pointer && v.IsNil() {
				continue // NULL is an untyped nil, as the embedded store returns it
			}
			row[i] = v.Interface()
		}
		out.Data = append(out.Data, row)
	}
	return out, rows.Err()
}

func (s *Server) Insert(ctx context.Context, b *Batch, dedupToken string) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if b.Rows() == 0 {
		return nil
	}
	settings, err := insertSettings(dedupToken)
	if err != nil {
		return err
	}
	// clickhouse-go keeps only "INSERT INTO t (columns)" of the query text, so
	// settings travel in the query context.
	cs := clickhouse.Settings{}
	for _, kv := range settings {
		cs[kv[0]] = kv[1]
	}
	batch, err := s.conn.PrepareBatch(clickhouse.Context(ctx, clickhouse.WithSettings(cs)), insertHead(b))
	if err != nil {
		return err
	}
	if err := fillBatchColumns(batch.Columns(), b); err != nil {
		batch.Abort()
		return err
	}
	return batch.Send()
}

// fillBatchColumns loads the batch's columns from our Native encoding of b,
// so the server receives exactly the bytes the embedded engine does:
// clickhouse-go decodes them into its columns and re-encodes them unchanged
// (encode_test.go checks the round trip).
func fillBatchColumns(cols []column.Interface, b *Batch) error {
	if len(cols) != len(b.Columns) {
		return &BatchError{Err: fmt.Errorf("server expects %d columns, batch has %d", len(cols), len(b.Columns))}
	}
	rows := b.Rows()
	var buf chproto.Buffer
	for i, c := range b.Columns {
		if cols[i].Name() != c.Name {
			return &BatchError{Err: fmt.Errorf("server column %d is %s, batch has %s", i, cols[i].Name(), c.Name)}
		}
		buf.Reset()
		if err := encodeColumn(&nativeWriter{buf: &buf}, c); err != nil {
			return &BatchError{Err: fmt.Errorf("column %s %s: %w", c.Name, c.Type, err)}
		}
		if err := decodeColumn(cols[i], buf.Buf, rows); err != nil {
			return &BatchError{Err: fmt.Errorf("column %s %s: %w", c.Name, c.Type, err)}
		}
	}
	return nil
}

// decodeColumn reads one column's prefix and data into col and checks that
// nothing is left over.
func decodeColumn(col column.Interface, data []byte, rows int) error {
	rd := chproto.NewReader(bytes.NewReader(data))
	if cs, ok := col.(column.CustomSerialization); ok {
		if err := cs.ReadStatePrefix(rd); err != nil {
			return err
		}
	}
	if err := col.Decode(rd, rows); err != nil {
		return err
	}
	if _, err := rd.ReadByte(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("bytes left after decoding %d rows", rows)
	}
	if col.Rows() != rows {
		return fmt.Errorf("decoded %d rows, want %d", col.Rows(), rows)
	}
	return nil
}
