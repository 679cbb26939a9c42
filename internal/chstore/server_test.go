package chstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The server path runs against a real ClickHouse >= 24.8 when
// AIOPS_TEST_CLICKHOUSE_DSN is set, e.g. clickhouse://default:@127.0.0.1:9000.
func openServer(t *testing.T) *Server {
	t.Helper()
	dsn := os.Getenv("AIOPS_TEST_CLICKHOUSE_DSN")
	if dsn == "" {
		t.Skip("AIOPS_TEST_CLICKHOUSE_DSN is not set: skipping the ClickHouse server tests (set it to a clickhouse:// DSN of a server >= 24.8 to run them)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenServer(ctx, ServerOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestServerRoundTripAndDedup(t *testing.T) {
	s := openServer(t)
	ctx := context.Background()
	db := fmt.Sprintf("aiops_test_%d", time.Now().UnixNano())
	t.Cleanup(func() { s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	if _, err := Migrate(ctx, s, SchemaOptions{Database: db, TTLDays: 30, ContentTTLDays: 7}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, s, db); err != nil {
		t.Fatal(err)
	}
	b := spanBatch(db, []string{"a", "b"})
	b.set("user_id", []string{"", "ユーザー✓"})
	for i := 0; i < 2; i++ {
		if err := s.Insert(ctx, b, "server-batch-1"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.Query(ctx, "SELECT count(), groupArray(user_id) FROM "+db+".genai_spans WHERE span_id IN {ids:Array(String)}", ArrayParam("ids", []string{"a", "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := rows.Data[0][0].(uint64); n != 2 {
		t.Fatalf("%d rows after a retried batch, want 2", n)
	}
	if !strings.Contains(fmt.Sprint(rows.Data[0][1]), "ユーザー✓") {
		t.Fatalf("row values: %v", rows.Data[0][1])
	}
}

func TestServerRefusesBadDSN(t *testing.T) {
	_, err := OpenServer(context.Background(), ServerOptions{DSN: "::not a dsn::"})
	if err == nil || !strings.Contains(err.Error(), "endpoint:") {
		t.Fatalf("got %v", err)
	}
	_, err = OpenServer(context.Background(), ServerOptions{DSN: "clickhouse://127.0.0.1:9000", Compression: "brotli"})
	if err == nil || !strings.Contains(err.Error(), "compression:") {
		t.Fatalf("got %v", err)
	}
}
