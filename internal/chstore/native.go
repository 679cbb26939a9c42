package chstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Batch is rows for one table in columnar form.
type Batch struct {
	Database string
	Table    string
	Columns  []Column
}

// Column holds one column's values as a typed Go slice that clickhouse-go's
// column of Type accepts in bulk: []string, []uint64, []time.Time,
// []map[string]string, [][]string, []decimal.Decimal, and so on.
type Column struct {
	Name   string
	Type   string
	Values any
}

// BatchError means the batch itself is wrong (ragged columns, values the
// column type cannot hold): retrying cannot help.
type BatchError struct{ Err error }

func (e *BatchError) Error() string { return "invalid batch: " + e.Err.Error() }
func (e *BatchError) Unwrap() error { return e.Err }

// Rows is the number of rows in the batch; Validate checks that every
// column agrees.
func (b *Batch) Rows() int {
	if len(b.Columns) == 0 {
		return 0
	}
	return reflect.ValueOf(b.Columns[0].Values).Len()
}

// Validate checks identifiers and column lengths before anything is sent.
func (b *Batch) Validate() error {
	if err := b.validate(); err != nil {
		return &BatchError{Err: err}
	}
	return nil
}

func (b *Batch) validate() error {
	if err := ValidIdent(b.Database); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := ValidIdent(b.Table); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	if len(b.Columns) == 0 {
		return fmt.Errorf("batch for %s has no columns", b.Table)
	}
	n := b.Rows()
	for _, c := range b.Columns {
		if err := ValidIdent(c.Name); err != nil {
			return fmt.Errorf("column: %w", err)
		}
		v := reflect.ValueOf(c.Values)
		if v.Kind() != reflect.Slice {
			return fmt.Errorf("column %s: values must be a slice, got %T", c.Name, c.Values)
		}
		if v.Len() != n {
			return fmt.Errorf("column %s has %d rows, column %s has %d", c.Name, v.Len(), b.Columns[0].Name, n)
		}
	}
	return nil
}

// Times are sent and read as UTC; DateTime64 columns carry no zone.
var utc = &column.ServerContext{Timezone: time.UTC}

// appendValues fills a clickhouse-go column with a column's values in bulk,
// for the types encodeFast does not write itself.
func appendValues(col column.Interface, c Column) error {
	_, err := col.Append(c.Values)
	return err
}

// decodeNative reads every block of a Native-format result; each data part
// usually arrives as a block of its own.
func decodeNative(data []byte) (*Rows, error) {
	rows := &Rows{}
	rd := chproto.NewReader(bytes.NewReader(data))
	for {
		blk := proto.Block{ServerContext: utc}
		if err := blk.Decode(rd, 0); err != nil {
			if errors.Is(err, io.EOF) {
				return rows, nil
			}
			return nil, fmt.Errorf("decode result: %w", err)
		}
		if rows.Columns == nil {
			rows.Columns = blk.ColumnsNames()
			for _, c := range blk.Columns {
				rows.Types = append(rows.Types, string(c.Type()))
			}
		}
		for r := 0; r < blk.Rows(); r++ {
			row := make([]any, len(blk.Columns))
			for i, c := range blk.Columns {
				row[i] = c.Row(r, false)
			}
			rows.Data = append(rows.Data, row)
		}
	}
}
