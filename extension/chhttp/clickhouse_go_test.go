package chhttp

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"
)

// clickhouse-go's HTTP protocol is what Grafana's ClickHouse plugin uses;
// these run it unchanged against the interface.
func openDB(h *harness, comp *clickhouse.Compression, settings clickhouse.Settings) clickhouse.Options {
	return clickhouse.Options{
		Addr:        []string{h.srv.listener.Addr().String()},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Username: readerUser, Password: readerPass, Database: "chhttp"},
		Compression: comp,
		Settings:    settings,
		DialTimeout: 10 * time.Second,
	}
}

func TestClickHouseGoDatabaseSQL(t *testing.T) {
	h := newHarness(t, nil)
	fixture(t)
	// Grafana's plugin sends its query timeout as max_execution_time.
	opts := openDB(h, nil, clickhouse.Settings{"max_execution_time": 60})
	db := clickhouse.OpenDB(&opts)
	defer db.Close()
	must(t, db.Ping())
	ctx := context.Background()
	var (
		n        uint64
		tenant   string
		ts       time.Time
		arr      []string
		m        map[string]uint64
		nullable *string
		dec      decimal.Decimal
		tup      []any
		u        string
		day      time.Time
		big128   big.Int
		enum     string
	)
	row := db.QueryRowContext(ctx, `SELECT count(), any(tenant), toDateTime64('2026-10-30 12:34:56.789', 3, 'UTC'),
		['a', 'b'], map('k', toUInt64(7)), CAST(NULL AS Nullable(String)), toDecimal64(12.345, 6), tuple(1, 'x'),
		toString(generateUUIDv4()), toDate('2026-01-02'), toInt128(-5), CAST('on' AS Enum8('off' = 0, 'on' = 1))
		FROM t WHERE tenant = {tenant:String}`, clickhouse.Named("tenant", "acme"))
	if err := row.Scan(&n, &tenant, &ts, &arr, &m, &nullable, &dec, &tup, &u, &day, &big128, &enum); err != nil {
		t.Fatal(err)
	}
	if n != 5 || tenant != "acme" || !ts.Equal(time.Date(2026, 10, 30, 12, 34, 56, 789e6, time.UTC)) || len(arr) != 2 || m["k"] != 7 ||
		nullable != nil || !dec.Equal(decimal.RequireFromString("12.345")) || len(tup) != 2 || len(u) != 36 ||
		day.Format("2006-01-02") != "2026-01-02" || big128.Int64() != -5 || enum != "on" {
		t.Errorf("values: %v %v %v %v %v %v %v %v %v %v %v %v", n, tenant, ts, arr, m, nullable, dec, tup, u, day, &big128, enum)
	}
	// Many rows over several blocks, and an empty result.
	var count int
	rows, err := db.QueryContext(ctx, "SELECT number, toString(number) FROM numbers(200000)")
	must(t, err)
	for rows.Next() {
		var a uint64
		var b string
		must(t, rows.Scan(&a, &b))
		if a != uint64(count) {
			t.Fatalf("row %d is %d", count, a)
		}
		count++
	}
	must(t, rows.Err())
	rows.Close()
	if count != 200000 {
		t.Errorf("%d rows, want 200000", count)
	}
	rows, err = db.QueryContext(ctx, "SELECT id, tenant FROM t WHERE id > 1000")
	must(t, err)
	if rows.Next() {
		t.Error("rows from an empty result")
	}
	cols, _ := rows.Columns()
	rows.Close()
	if len(cols) != 0 && len(cols) != 2 {
		t.Errorf("columns %v", cols)
	}
	// Writes come back as the engine's READONLY exception.
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (99, 'x')")
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 164 {
		t.Errorf("INSERT: %v", err)
	}
}

func TestClickHouseGoNativeAPIAndCompression(t *testing.T) {
	h := newHarness(t, nil)
	fixture(t)
	for name, comp := range map[string]*clickhouse.Compression{
		"none": nil,
		"gzip": {Method: clickhouse.CompressionGZIP},
		"lz4":  {Method: clickhouse.CompressionLZ4},
		"zstd": {Method: clickhouse.CompressionZSTD},
		"br":   {Method: clickhouse.CompressionBrotli},
	} {
		t.Run(name, func(t *testing.T) {
			opts := openDB(h, comp, clickhouse.Settings{"wait_end_of_query": 1, "session_id": "grafana-" + name, "enable_http_compression": 1})
			conn, err := clickhouse.Open(&opts)
			must(t, err)
			defer conn.Close()
			ctx := clickhouse.Context(context.Background(), clickhouse.WithQueryID("q-"+name), clickhouse.WithSettings(clickhouse.Settings{"max_result_rows": 100000}))
			must(t, conn.Ping(ctx))
			v, err := conn.ServerVersion()
			must(t, err)
			if v.Version.Major < 24 {
				t.Errorf("server version %v", v)
			}
			var ids []uint64
			rows, err := conn.Query(ctx, "SELECT id FROM t WHERE tenant = ? ORDER BY id", "globex")
			must(t, err)
			for rows.Next() {
				var id uint64
				must(t, rows.Scan(&id))
				ids = append(ids, id)
			}
			must(t, rows.Err())
			if len(ids) != 5 || ids[0] != 1 || ids[4] != 9 {
				t.Errorf("ids %v", ids)
			}
			var s string
			must(t, conn.QueryRow(ctx, "SELECT repeat('abc', 100000)").Scan(&s))
			if len(s) != 300000 {
				t.Errorf("%d bytes", len(s))
			}
			err = conn.Exec(ctx, "DROP TABLE t")
			var ex *clickhouse.Exception
			if !errors.As(err, &ex) || ex.Code != 164 {
				t.Errorf("DROP: %v", err)
			}
		})
	}
}
