package chstore

import (
	"context"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestClusterDDL(t *testing.T) {
	stmts, err := SchemaSQL(SchemaOptions{Database: "aiops", Cluster: "prod", TTLDays: 365, ContentTTLDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(stmts, ";\n")
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS aiops ON CLUSTER prod",
		"CREATE TABLE IF NOT EXISTS aiops.schema_migrations ON CLUSTER prod",
		"ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/schema_migrations', '{replica}')",
		"CREATE TABLE IF NOT EXISTS aiops.genai_spans_local ON CLUSTER prod (",
		"ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')",
		"CREATE TABLE IF NOT EXISTS aiops.genai_spans ON CLUSTER prod AS aiops.genai_spans_local ENGINE = Distributed(prod, aiops, genai_spans_local, cityHash64(trace_id))",
		"CREATE TABLE IF NOT EXISTS aiops.genai_events ON CLUSTER prod AS aiops.genai_events_local ENGINE = Distributed(prod, aiops, genai_events_local, cityHash64(trace_id))",
		"CREATE TABLE IF NOT EXISTS aiops.spans ON CLUSTER prod AS aiops.spans_local",
		"ENGINE = ReplicatedAggregatingMergeTree(",
		"ENGINE = ReplicatedSummingMergeTree(",
		"CREATE MATERIALIZED VIEW IF NOT EXISTS aiops.genai_usage_hourly_mv ON CLUSTER prod TO aiops.genai_usage_hourly_local AS",
		"FROM aiops.genai_spans_local",
		"TTL toDateTime(timestamp) + INTERVAL 365 DAY",
		"input_messages String CODEC(ZSTD(1)) TTL toDateTime(timestamp) + INTERVAL 30 DAY",
		"ALTER TABLE aiops.genai_spans_local ON CLUSTER prod MODIFY SETTING min_bytes_for_wide_part = 134217728",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("cluster DDL lacks %q", want)
		}
	}
	if strings.Contains(all, "non_replicated_deduplication_window") {
		t.Error("replicated tables must not carry the non-replicated dedup window")
	}
	// Every statement is valid ClickHouse: the real engine parses it.
	s := openStore(t)
	for _, stmt := range stmts {
		if _, err := s.Query(context.Background(), "SELECT formatQuery({q:String})", StringParam("q", stmt)); err != nil {
			t.Errorf("engine cannot parse:\n%s\n%v", stmt, err)
		}
	}
	if _, err := SchemaSQL(SchemaOptions{Database: "aiops", Cluster: "prod;DROP"}); err == nil {
		t.Error("bad cluster name accepted")
	}
}

func TestRollupsFollowDeduplicatedInserts(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "roll"}, "test"); err != nil {
		t.Fatal(err)
	}
	b := spanBatch("roll", []string{"a", "b", "c"})
	b.set("workload", []string{"chat", "chat", "rag"})
	b.set("tenant_id", []string{"acme", "acme", "acme"})
	b.set("user_id", []string{"u1", "", "u2"})
	b.set("input_tokens", []uint64{100, 200, 300})
	b.set("duration_ns", []uint64{1e9, 2e9, 3e9})
	b.set("cost_usd", []decimal.Decimal{decimal.RequireFromString("0.1"), decimal.RequireFromString("0.2"), decimal.RequireFromString("0.000000000001")})
	b.set("content_captured", []string{"full", "none", "redacted"})
	for i := 0; i < 2; i++ { // the retry must not reach the views either
		if err := s.Insert(ctx, b, "roll-1"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.Query(ctx, `SELECT workload, sum(requests), sum(input_tokens), sum(cost_usd), quantilesMerge(0.5, 0.9, 0.95, 0.99)(duration_quantiles)
		FROM roll.genai_usage_hourly GROUP BY workload ORDER BY workload`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 2 || rows.Data[0][1] != uint64(2) || rows.Data[0][2] != uint64(300) ||
		rows.Data[0][3].(decimal.Decimal).String() != "0.3" || rows.Data[1][3].(decimal.Decimal).String() != "0.000000000001" {
		t.Fatalf("hourly rollup: %v", rows.Data)
	}
	cov, err := s.Query(ctx, "SELECT sum(spans), sum(with_user), sum(with_content), sum(with_usage) FROM roll.genai_coverage_daily")
	if err != nil {
		t.Fatal(err)
	}
	if r := cov.Data[0]; r[0] != uint64(3) || r[1] != uint64(2) || r[2] != uint64(2) || r[3] != uint64(3) {
		t.Fatalf("coverage rollup: %v", r)
	}
}
