package chstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var testDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chstore-test-")
	if err != nil {
		panic(err)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func openStore(t testing.TB) *Embedded {
	t.Helper()
	s, err := OpenEmbedded(testDir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func count(t testing.TB, s Store, q string, params ...Param) uint64 {
	t.Helper()
	rows, err := s.Query(context.Background(), q, params...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows.Data[0][0].(uint64)
}

func TestMigrateIsIdempotentAndRecorded(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	o := SchemaOptions{Database: "mig", TTLDays: 90, ContentTTLDays: 30}
	applied, err := Migrate(ctx, s, o, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(Migrations) {
		t.Fatalf("first run applied %v, want all %d", applied, len(Migrations))
	}
	again, err := Migrate(ctx, s, o, "test")
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v (%v), want none", again, err)
	}
	if n := count(t, s, "SELECT count() FROM mig.schema_migrations FINAL"); n != uint64(len(Migrations)) {
		t.Fatalf("schema_migrations has %d rows", n)
	}
	if err := Verify(ctx, s, "mig"); err != nil {
		t.Fatal(err)
	}
	// The content TTL is shorter than the row TTL.
	rows, err := s.Query(ctx, "SELECT create_table_query FROM system.tables WHERE database = 'mig' AND name = 'genai_spans'")
	if err != nil {
		t.Fatal(err)
	}
	ddl := rows.Data[0][0].(string)
	for _, want := range []string{"`input_messages` String CODEC(ZSTD(1)) TTL toDateTime(timestamp) + toIntervalDay(30)", "TTL toDateTime(timestamp) + toIntervalDay(90)", "non_replicated_deduplication_window = 10000", "min_bytes_for_wide_part = 134217728", "ORDER BY (tenant_id, workload, timestamp)"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
}

func TestVerifyNamesWhatIsMissing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	err := Verify(ctx, s, "never_created")
	if err == nil || !strings.Contains(err.Error(), "migration 1 (genai_spans) not applied") || !strings.Contains(err.Error(), "never_created.genai_spans.cost_usd") {
		t.Fatalf("got %v", err)
	}
	// A table created by hand without a contract column.
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS partial",
		"CREATE TABLE IF NOT EXISTS partial.genai_spans (timestamp DateTime64(9), trace_id String, cost_usd Float64) ENGINE = MergeTree ORDER BY timestamp",
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	err = Verify(ctx, s, "partial")
	if err == nil || !strings.Contains(err.Error(), "partial.genai_spans.cost_usd is Float64, want Decimal(18, 12)") || !strings.Contains(err.Error(), "partial.genai_spans.span_id String missing") {
		t.Fatalf("got %v", err)
	}
}

func TestSchemaOptionsRefuseBadIdentifiers(t *testing.T) {
	for _, db := range []string{"", "a-b", "x; DROP DATABASE system", "1abc", strings.Repeat("a", 64)} {
		if _, err := SchemaSQL(SchemaOptions{Database: db}); err == nil {
			t.Errorf("database %q accepted", db)
		}
	}
	if _, err := SchemaSQL(SchemaOptions{Database: "ok", TTLDays: 7, ContentTTLDays: 30}); err == nil {
		t.Error("content TTL longer than row TTL accepted")
	}
}

// spanBatch builds a genai_spans batch with n rows of edge values.
func spanBatch(db string, ids []string) *Batch {
	n := len(ids)
	cols := make([]Column, 0, len(GenAISpanColumns))
	ts := time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC)
	for _, c := range GenAISpanColumns {
		var v any
		switch c.Type {
		case "DateTime64(9)":
			v = fill(n, ts)
		case "String", "LowCardinality(String)":
			v = fill(n, "")
		case "UInt64":
			v = fill(n, uint64(0))
		case "UInt32":
			v = fill(n, uint32(0))
		case "Bool":
			v = fill(n, false)
		case "Nullable(Float32)":
			v = make([]*float32, n)
		case "Decimal(18, 12)":
			v = fill(n, decimal.Zero)
		case "Array(LowCardinality(String))":
			v = fill(n, []string{})
		case "Map(LowCardinality(String), String)":
			v = fill(n, map[string]string{})
		default:
			panic("no filler for " + c.Type)
		}
		cols = append(cols, Column{Name: c.Name, Type: c.Type, Values: v})
	}
	b := &Batch{Database: db, Table: "genai_spans", Columns: cols}
	b.set("span_id", ids)
	return b
}

func fill[T any](n int, v T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func (b *Batch) set(name string, values any) {
	for i := range b.Columns {
		if b.Columns[i].Name == name {
			b.Columns[i].Values = values
			return
		}
	}
	panic("no column " + name)
}

func TestGenAISpanRoundTrip(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "rt"}, "test"); err != nil {
		t.Fatal(err)
	}
	b := spanBatch("rt", []string{"s1", "s2"})
	score := float32(0.875)
	huge := map[string]string{}
	for i := 0; i < 2000; i++ {
		huge["k"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+strings.Repeat("y", i/26)] = "v"
	}
	b.set("user_id", []string{"", "ユーザー✓"})
	b.set("input_tokens", []uint64{0, ^uint64(0)})
	b.set("cost_usd", []decimal.Decimal{decimal.Zero, decimal.RequireFromString("123456.000000000001")})
	b.set("retrieval_top_score", []*float32{nil, &score})
	b.set("policy_flags", [][]string{{}, {"pii.email", "secret.aws"}})
	b.set("attributes", []map[string]string{{}, huge})
	b.set("input_messages", []string{"", "line1\n\nline2\x00end"})
	if err := s.Insert(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Query(ctx, "SELECT span_id, user_id, input_tokens, cost_usd, retrieval_top_score, policy_flags, length(attributes), input_messages FROM rt.genai_spans ORDER BY span_id")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 2 {
		t.Fatalf("%d rows", len(rows.Data))
	}
	r := rows.Data[1]
	if r[1] != "ユーザー✓" || r[2] != ^uint64(0) || r[3].(decimal.Decimal).String() != "123456.000000000001" ||
		r[4] == nil || *r[4].(*float32) != score || len(r[5].([]string)) != 2 || r[6].(uint64) != uint64(len(huge)) || r[7] != "line1\n\nline2\x00end" {
		t.Fatalf("row 2 came back as %#v", r)
	}
	if rows.Data[0][4] != nil {
		t.Fatal("NULL score came back non-NULL")
	}
}

// A block fed to the engine in many small pieces, each overwritten as soon as
// the engine has it, arrives intact: pieces end inside string and map
// columns, and some values are longer than a piece.
func TestChunkedInsertRoundTrip(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "chunked"}, "test"); err != nil {
		t.Fatal(err)
	}
	chunked := *s
	chunked.chunkSize = 97
	const n = 300
	ids, msgs, attrs := make([]string, n), make([]string, n), make([]map[string]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%03d", i)
		msgs[i] = strings.Repeat(fmt.Sprintf("msg %d;", i), i%40*i%7)
		attrs[i] = map[string]string{"a": ids[i], "long": strings.Repeat("z", i)}
	}
	b := spanBatch("chunked", ids)
	b.set("input_messages", msgs)
	b.set("attributes", attrs)
	if err := chunked.Insert(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Query(ctx, "SELECT span_id, input_messages, attributes['a'], length(attributes['long']) FROM chunked.genai_spans ORDER BY span_id")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != n {
		t.Fatalf("%d rows, want %d", len(rows.Data), n)
	}
	for i, r := range rows.Data {
		if r[0] != ids[i] || r[1] != msgs[i] || r[2] != ids[i] || r[3].(uint64) != uint64(i) {
			t.Fatalf("row %d came back as %v", i, r[:3])
		}
	}
}

func TestDedupTokenMakesRetriesIdempotent(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "dd"}, "test"); err != nil {
		t.Fatal(err)
	}
	b := spanBatch("dd", []string{"a", "b", "c"})
	for i := 0; i < 3; i++ { // a retry after an unknown outcome re-sends the same batch
		if err := s.Insert(ctx, b, "batch-0001"); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, s, "SELECT count() FROM dd.genai_spans"); n != 3 {
		t.Fatalf("%d rows after three sends of one batch, want 3", n)
	}
	if err := s.Insert(ctx, b, "batch-0002"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT count() FROM dd.genai_spans"); n != 6 {
		t.Fatalf("a new token must insert: %d rows", n)
	}
	if err := s.Insert(ctx, b, "bad'token"); err == nil {
		t.Fatal("a token with a quote reached SQL")
	}
}

func TestInsertErrors(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	b := spanBatch("nodb_here", []string{"a"})
	if err := s.Insert(ctx, b, ""); err == nil || !strings.Contains(err.Error(), "nodb_here") {
		t.Fatalf("insert into a missing database: %v", err)
	}
	b = spanBatch("x", []string{"a", "b"})
	b.set("user_id", []string{"only-one"})
	if err := s.Insert(ctx, b, ""); err == nil || !strings.Contains(err.Error(), "user_id has 1 rows") {
		t.Fatalf("ragged batch: %v", err)
	}
	// A bad column found after earlier ones were streamed abandons the
	// statement: nothing of the block is stored.
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "ierr"}, "test"); err != nil {
		t.Fatal(err)
	}
	chunked := *s
	chunked.chunkSize = 64
	b = spanBatch("ierr", []string{"a"})
	b.set("input_tokens", []string{"not a number"})
	var be *BatchError
	if err := chunked.Insert(ctx, b, ""); err == nil || !strings.Contains(err.Error(), "input_tokens") || !errors.As(err, &be) {
		t.Fatalf("wrong Go type: %v", err)
	}
	if n := count(t, s, "SELECT count() FROM ierr.genai_spans"); n != 0 {
		t.Fatalf("an abandoned insert stored %d rows", n)
	}
}

func TestQueryReadsEveryBlock(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS blocks",
		"CREATE TABLE IF NOT EXISTS blocks.t (n UInt32) ENGINE = MergeTree ORDER BY n",
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ { // five inserts, five parts, five result blocks
		if err := s.Exec(ctx, "INSERT INTO blocks.t SELECT {n:UInt32}", Param{"n", string(rune('0' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.Query(ctx, "SELECT n FROM blocks.t")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 5 {
		t.Fatalf("%d rows, want 5 (one per block)", len(rows.Data))
	}
	big, err := s.Query(ctx, "SELECT number FROM numbers(200000)")
	if err != nil || len(big.Data) != 200000 || big.Data[199999][0] != uint64(199999) {
		t.Fatalf("multi-block result: %d rows, %v", len(big.Data), err)
	}
}

func TestArrayParamIsBoundSafely(t *testing.T) {
	s := openStore(t)
	vals := []string{"plain", "it's", `back\slash`, "'] , ['x", "", "日本\n\t"}
	rows, err := s.Query(context.Background(), "SELECT {a:Array(String)}, {s:String}", ArrayParam("a", vals), StringParam("s", vals[5]+"\\"))
	if err != nil {
		t.Fatal(err)
	}
	if rows.Data[0][1] != vals[5]+"\\" {
		t.Errorf("string: %q", rows.Data[0][1])
	}
	got := rows.Data[0][0].([]string)
	if len(got) != len(vals) {
		t.Fatalf("got %q", got)
	}
	for i := range vals {
		if got[i] != vals[i] {
			t.Errorf("value %d: got %q want %q", i, got[i], vals[i])
		}
	}
}
