// Package chstore is the storage layer: apply schema, insert a columnar batch,
// run a query. One implementation runs the embedded engine; the ClickHouse
// server implementation shares the column encoding, so what the tests run on
// the embedded engine is what a server receives.
package chstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// Store is a ClickHouse to write to and read from.
type Store interface {
	// Exec runs a statement. Values go in params, bound to {name:Type}
	// placeholders; they never become SQL text.
	Exec(ctx context.Context, query string, params ...Param) error
	// Query runs a SELECT and returns its rows with ClickHouse-typed Go values.
	Query(ctx context.Context, query string, params ...Param) (*Rows, error)
	// Insert writes one batch. A non-empty dedupToken makes a retry of the
	// same batch idempotent on tables created for deduplication.
	Insert(ctx context.Context, b *Batch, dedupToken string) error
	// Kind is "embedded" or "server"; Version is the engine's version().
	Kind() string
	Version() string
	Close() error
}

// Param binds a value to a {name:Type} placeholder. Value is the text
// ClickHouse parses for the placeholder's type (Escaped format): use
// StringParam and ArrayParam for strings; numbers and identifiers as is.
type Param struct{ Name, Value string }

// Rows is a query result.
type Rows struct {
	Columns []string
	Types   []string
	Data    [][]any // Data[row][col]
}

// Col returns the index of the named column, or -1.
func (r *Rows) Col(name string) int {
	for i, c := range r.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// ValidIdent reports whether s may be used unquoted as a database, table or
// cluster name. Identifiers are the only configurable text that reaches SQL.
func ValidIdent(s string) error {
	if !identRE.MatchString(s) {
		return fmt.Errorf("%q is not a valid identifier: use letters, digits and underscores, starting with a letter or underscore, at most 63 characters", s)
	}
	return nil
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// StringParam binds a String value; the text is escaped as the engine reads it.
func StringParam(name, value string) Param { return Param{Name: name, Value: chdb.EscapeParam(value)} }

// ArrayParam binds an Array(String) value. Its text is an array literal whose
// elements are quoted strings; quotes and backslashes are escaped so no value
// can end its string early.
func ArrayParam(name string, values []string) Param {
	return Param{Name: name, Value: arrayLiteral(values)}
}

func arrayLiteral(values []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		for j := 0; j < len(v); j++ {
			if v[j] == '\'' || v[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[j])
		}
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}
