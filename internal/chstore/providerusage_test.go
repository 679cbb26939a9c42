package chstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// usageBatch is a provider_usage batch: one row per (api key, output
// tokens, poll time), everything else the same group.
func usageBatch(db string, keys []string, outputs []uint64, polls []time.Time) *Batch {
	n := len(keys)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	b := &Batch{Database: db, Table: "provider_usage"}
	for _, c := range ProviderUsageColumns {
		var v any
		switch c.Type {
		case "DateTime64(9)":
			v = fill(n, day)
		case "LowCardinality(String)", "String":
			v = fill(n, "")
		case "UInt64":
			v = fill(n, uint64(0))
		case "Decimal(18, 12)":
			v = fill(n, decimal.Zero)
		case "Map(LowCardinality(String), String)":
			v = fill(n, map[string]string{})
		default:
			panic("no filler for " + c.Type)
		}
		b.Columns = append(b.Columns, Column{Name: c.Name, Type: c.Type, Values: v})
	}
	b.set("bucket_end", fill(n, day.Add(24*time.Hour)))
	b.set("provider", fill(n, "openai"))
	b.set("kind", fill(n, "usage"))
	b.set("source", fill(n, "completions"))
	b.set("model", fill(n, "gpt-4o"))
	b.set("api_key_id", keys)
	b.set("output_tokens", outputs)
	b.set("poll_time", polls)
	return b
}

// A bucket read again with a larger value replaces the earlier read, on
// the real engine, through the view readers use; the raw table still holds
// both until a merge. An empty group field is a group of its own.
func TestProviderUsageReplacesEarlierReads(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "pu"}, "test"); err != nil {
		t.Fatal(err)
	}
	// No background merge may collapse versions while the raw table is counted.
	if err := s.Exec(ctx, "SYSTEM STOP MERGES pu.provider_usage"); err != nil {
		t.Fatal(err)
	}
	t1 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	// First poll: key_a 100, no key (playground) 5.
	if err := s.Insert(ctx, usageBatch("pu", []string{"key_a", ""}, []uint64{100, 5}, []time.Time{t1, t1}), "poll-1"); err != nil {
		t.Fatal(err)
	}
	// Second poll: key_a grew to 250; the keyless group is unchanged.
	if err := s.Insert(ctx, usageBatch("pu", []string{"key_a", ""}, []uint64{250, 5}, []time.Time{t2, t2}), "poll-2"); err != nil {
		t.Fatal(err)
	}
	// A late, stale copy of the first poll (an older version) loses.
	if err := s.Insert(ctx, usageBatch("pu", []string{"key_a"}, []uint64{100}, []time.Time{t1}), "poll-1-late"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT count() FROM pu.provider_usage"); n != 5 {
		t.Fatalf("raw table holds %d rows before any merge, want all 5 inserted", n)
	}
	rows, err := s.Query(ctx, "SELECT api_key_id, output_tokens, poll_time FROM pu.provider_usage_latest ORDER BY api_key_id")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 2 {
		t.Fatalf("view holds %d rows, want one per group (2): %v", len(rows.Data), rows.Data)
	}
	if r := rows.Data[0]; r[0] != "" || r[1] != uint64(5) {
		t.Errorf("keyless group: %v, want 5 tokens", r)
	}
	if r := rows.Data[1]; r[0] != "key_a" || r[1] != uint64(250) || !r[2].(time.Time).Equal(t2) {
		t.Errorf("key_a: %v, want 250 tokens from the second poll", r)
	}
	// After a merge the table itself holds one row per group.
	if err := s.Exec(ctx, "SYSTEM START MERGES pu.provider_usage"); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, "OPTIMIZE TABLE pu.provider_usage FINAL"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT count() FROM pu.provider_usage"); n != 2 {
		t.Fatalf("after a merge the table holds %d rows, want 2", n)
	}
	if n := count(t, s, "SELECT sum(output_tokens) FROM pu.provider_usage_latest"); n != 255 {
		t.Fatalf("sum through the view %d, want 255", n)
	}
}

func TestProviderUsageClusterDDL(t *testing.T) {
	stmts, err := SchemaSQL(SchemaOptions{Database: "aiops", Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(stmts, ";\n")
	for _, want := range []string{
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', poll_time)",
		"CREATE TABLE IF NOT EXISTS aiops.provider_usage ON CLUSTER prod AS aiops.provider_usage_local ENGINE = Distributed(prod, aiops, provider_usage_local, cityHash64(provider, project_id))",
		"CREATE VIEW IF NOT EXISTS aiops.provider_usage_latest ON CLUSTER prod AS",
		"FROM aiops.provider_usage FINAL",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("cluster DDL lacks %q", want)
		}
	}
	local, err := SchemaSQL(SchemaOptions{Database: "aiops"})
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(local, ";\n"); !strings.Contains(all, "ENGINE = ReplacingMergeTree(poll_time)\n") {
		t.Error("single-node DDL lacks ReplacingMergeTree(poll_time)")
	}
}

// The insert token drops the same read sent twice, and only that: a later
// read with the same values comes with another token and is stored.
func TestProviderUsageInsertTokens(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "pu_tok"}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, "SYSTEM STOP MERGES pu_tok.provider_usage"); err != nil {
		t.Fatal(err)
	}
	t1 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	for _, ins := range []struct {
		poll time.Time
		tok  string
	}{{t1, "read-1"}, {t1, "read-1"}, {t2, "read-2"}} {
		if err := s.Insert(ctx, usageBatch("pu_tok", []string{"key_a"}, []uint64{100}, []time.Time{ins.poll}), ins.tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, s, "SELECT count() FROM pu_tok.provider_usage"); n != 2 {
		t.Fatalf("raw table holds %d rows, want the two distinct reads", n)
	}
	if n := count(t, s, "SELECT sum(output_tokens) FROM pu_tok.provider_usage_latest"); n != 100 {
		t.Fatalf("sum through the view %d, want 100", n)
	}
}
