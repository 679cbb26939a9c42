package chstore

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// migrateOnly applies the first n migrations, as an older collector did.
func migrateOnly(t *testing.T, s Store, db string, n int) {
	t.Helper()
	all := Migrations
	Migrations = all[:n]
	_, err := Migrate(context.Background(), s, SchemaOptions{Database: db}, fmt.Sprintf("collector at %d", n))
	Migrations = all
	if err != nil {
		t.Fatal(err)
	}
}

// An older collector created only the first migrations; a newer one adds the
// rest at start and leaves the old rows alone.
func TestNewerCollectorMigratesAnOlderSchema(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	all := Migrations
	migrateOnly(t, s, "evolve", 1)
	if err := s.Insert(ctx, spanBatch("evolve", []string{"old-1", "old-2"}), "old"); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, s, "evolve"); err == nil || !strings.Contains(err.Error(), "migration 2 (genai_events) not applied") {
		t.Fatalf("verify on the old schema: %v", err)
	}
	applied, err := Migrate(ctx, s, SchemaOptions{Database: "evolve"}, "new collector")
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(all)-1 || applied[0] != 2 {
		t.Fatalf("applied %v", applied)
	}
	if err := Verify(ctx, s, "evolve"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT count() FROM evolve.genai_spans"); n != 2 {
		t.Fatalf("old rows: %d", n)
	}
}

// fillValue is a distinctive non-zero value of a column type.
func fillValue(typ string, row int) any {
	switch typ {
	case "String", "LowCardinality(String)":
		return []string{"héllo ✓ " + strings.Repeat("x", row), ""}[row]
	case "UInt64":
		return []uint64{math.MaxUint64, 0}[row]
	case "UInt32":
		return []uint32{math.MaxUint32, 0}[row]
	case "UInt16":
		return []uint16{math.MaxUint16, 0}[row]
	case "Bool":
		return []bool{true, false}[row]
	case "Nullable(Float32)":
		f := float32(0.125)
		return []*float32{&f, nil}[row]
	case "Nullable(Float64)":
		f := -2.5
		return []*float64{&f, nil}[row]
	case "Decimal(18, 12)":
		return []decimal.Decimal{decimal.RequireFromString("999999.999999999999"), decimal.Zero}[row]
	case "Array(LowCardinality(String))":
		return [][]string{{"a", "ü", ""}, {}}[row]
	case "Map(LowCardinality(String), String)":
		return []map[string]string{{"k": "v", "ключ": "значение", "": "empty key"}, {}}[row]
	case "DateTime64(9)":
		return []time.Time{time.Date(2026, 11, 21, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 1).UTC()}[row]
	}
	panic("no value for " + typ)
}

func TestEveryColumnOfEveryTableRoundTrips(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "everycol"}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []Table{genaiSpansTable, genaiEventsTable, spansTable} {
		b := &Batch{Database: "everycol", Table: tbl.Name}
		for _, c := range tbl.Columns {
			// Two rows: distinctive values, then zero and empty ones.
			v0, v1 := reflect.ValueOf(fillValue(c.Type, 0)), reflect.ValueOf(fillValue(c.Type, 1))
			sl := reflect.MakeSlice(reflect.SliceOf(v0.Type()), 0, 2)
			sl = reflect.Append(sl, v0, v1)
			b.Columns = append(b.Columns, Column{Name: c.Name, Type: c.Type, Values: sl.Interface()})
		}
		if err := s.Insert(ctx, b, ""); err != nil {
			t.Fatalf("%s: %v", tbl.Name, err)
		}
		rows, err := s.Query(ctx, "SELECT * FROM everycol."+tbl.Name+" ORDER BY timestamp DESC")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows.Data) != 2 {
			t.Fatalf("%s: %d rows", tbl.Name, len(rows.Data))
		}
		for r := 0; r < 2; r++ {
			for _, c := range tbl.Columns {
				got, want := rows.Data[r][rows.Col(c.Name)], fillValue(c.Type, r)
				if !sameValue(got, want) {
					t.Errorf("%s.%s row %d: got %#v, want %#v", tbl.Name, c.Name, r, got, want)
				}
			}
		}
	}
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case decimal.Decimal:
		g, ok := got.(decimal.Decimal)
		return ok && g.Equal(w)
	case *float32:
		if w == nil {
			return got == nil
		}
		g, ok := got.(*float32)
		return ok && *g == *w
	case *float64:
		if w == nil {
			return got == nil
		}
		g, ok := got.(*float64)
		return ok && *g == *w
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	case []string:
		g, ok := got.([]string)
		return ok && (len(g) == 0 && len(w) == 0 || reflect.DeepEqual(g, w))
	}
	return reflect.DeepEqual(got, want)
}

// Migration 16 takes genai_calls_hourly's quantile states away from a store
// that has them, while its view keeps counting every span.
func TestCallsHourlyLosesItsQuantileStates(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	migrateOnly(t, s, "calls16", 15)
	columns := func() string {
		r, err := s.Query(ctx, "SELECT arrayStringConcat(groupArray(name), ',') FROM system.columns WHERE database = 'calls16' AND table = 'genai_calls_hourly'")
		if err != nil {
			t.Fatal(err)
		}
		return r.Data[0][0].(string)
	}
	if c := columns(); !strings.Contains(c, "duration_quantiles") || !strings.Contains(c, "ttft_quantiles") {
		t.Fatalf("migration 13 made %s", c)
	}
	if err := s.Insert(ctx, spanBatch("calls16", []string{"a", "b", "c"}), "before"); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, s, SchemaOptions{Database: "calls16"}, "collector at 16"); err != nil {
		t.Fatal(err)
	}
	if c := columns(); strings.Contains(c, "quantiles") || !strings.Contains(c, "requests") {
		t.Fatalf("after migration 16: %s", c)
	}
	if err := s.Insert(ctx, spanBatch("calls16", []string{"d", "e"}), "after"); err != nil {
		t.Fatal(err)
	}
	r, err := s.Query(ctx, "SELECT sum(requests) FROM calls16.genai_calls_hourly")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Data[0][0].(uint64); got != 5 {
		t.Errorf("genai_calls_hourly counts %d spans, want the 3 before and 2 after the migration", got)
	}
	r, err = s.Query(ctx, "SELECT create_table_query FROM system.tables WHERE database = 'calls16' AND name = 'genai_calls_hourly_mv'")
	if err != nil {
		t.Fatal(err)
	}
	if q := r.Data[0][0].(string); strings.Contains(q, "quantilesState") {
		t.Errorf("the view still computes quantile states: %s", q)
	}
}
