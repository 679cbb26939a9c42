package chstore

import (
	"context"
	"fmt"
	"sync"

	chproto "github.com/ClickHouse/ch-go/proto"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// Embedded is a Store on the process's embedded engine.
type Embedded struct {
	eng       *chdb.Engine
	chunkSize int // tests only: smaller chunks than insertChunk
}

// OpenEmbedded opens (or shares) the embedded engine on dataDir.
func OpenEmbedded(dataDir, libraryPath string) (*Embedded, error) {
	eng, err := chdb.Open(chdb.Options{DataDir: dataDir, LibraryPath: libraryPath})
	if err != nil {
		return nil, err
	}
	return &Embedded{eng: eng}, nil
}

func (s *Embedded) Kind() string    { return "embedded" }
func (s *Embedded) Version() string { return s.eng.Version() }
func (s *Embedded) Close() error    { return s.eng.Close() }

// Engine exposes the engine for tools that need raw output formats.
func (s *Embedded) Engine() *chdb.Engine { return s.eng }

func (s *Embedded) Exec(ctx context.Context, query string, params ...Param) error {
	return s.eng.Exec(ctx, query, engineParams(params)...)
}

func (s *Embedded) Query(ctx context.Context, query string, params ...Param) (*Rows, error) {
	res, err := s.eng.Query(ctx, query, "Native", engineParams(params)...)
	if err != nil {
		return nil, err
	}
	return decodeNative(res.Data)
}

func (s *Embedded) Insert(ctx context.Context, b *Batch, dedupToken string) error {
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
	head := insertHead(b) + " SETTINGS "
	for i, kv := range settings {
		if i > 0 {
			head += ", "
		}
		// Values are "1" or a token checked against tokenRE: no quotes inside.
		head += kv[0] + " = '" + kv[1] + "'"
	}
	buf := chunkPool.Get().(*chproto.Buffer)
	defer func() {
		if cap(buf.Buf) <= 4*insertChunk { // one huge value should not stay pinned
			buf.Reset()
			chunkPool.Put(buf)
		}
	}()
	_, err = s.eng.InsertStream(ctx, head, func(emit func([]byte) error) error {
		return b.StreamNative(buf, s.chunk(), emit)
	})
	return err
}

// insertChunk is how much of an encoded block is built before the engine
// takes it: a batch with 10k prompts is tens of MiB as one block.
const insertChunk = 1 << 20

var chunkPool = sync.Pool{New: func() any { return &chproto.Buffer{Buf: make([]byte, 0, insertChunk+64<<10)} }}

func (s *Embedded) chunk() int {
	if s.chunkSize > 0 {
		return s.chunkSize
	}
	return insertChunk
}

// insertHead is "INSERT INTO db.t (columns)". Only validated identifiers
// reach the SQL text.
func insertHead(b *Batch) string {
	head := "INSERT INTO " + b.Database + "." + b.Table + " ("
	for i, c := range b.Columns {
		if i > 0 {
			head += ", "
		}
		head += c.Name
	}
	return head + ")"
}

// insertSettings make a retried batch a no-op in the table and in the
// materialized views fed by it. Both stores send exactly these.
func insertSettings(dedupToken string) ([][2]string, error) {
	out := [][2]string{{"deduplicate_blocks_in_dependent_materialized_views", "1"}}
	if dedupToken != "" {
		if !tokenRE.MatchString(dedupToken) {
			return nil, fmt.Errorf("deduplication token %q has characters outside [A-Za-z0-9_.:-]", dedupToken)
		}
		out = append(out, [2]string{"insert_deduplication_token", dedupToken})
	}
	return out, nil
}

func engineParams(ps []Param) []chdb.Param {
	if len(ps) == 0 {
		return nil
	}
	out := make([]chdb.Param, len(ps))
	for i, p := range ps {
		out[i] = chdb.Param{Name: p.Name, Value: p.Value}
	}
	return out
}
