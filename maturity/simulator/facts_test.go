package simulator

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// noWrites refuses inserts as a readonly reader's store does.
type noWrites struct {
	chstore.Store
	refused int
}

func (n *noWrites) Exec(ctx context.Context, q string, ps ...chstore.Param) error {
	if strings.HasPrefix(strings.TrimSpace(q), "INSERT") {
		n.refused++
		return &clickhouse.Exception{Code: 164, Name: "READONLY", Message: "Cannot execute query in readonly mode"}
	}
	return n.Store.Exec(ctx, q, ps...)
}

// TestDayFactsKeptAndRefreshed: the first scoring computes the past days
// of the day-fact measures and keeps them; the next reads them and computes
// none; a late event on a kept day has that day, and only it, computed
// again; a store that refuses writes gets the same report from live
// queries. Every report equals the spans-only definitions'.
func TestDayFactsKeptAndRefreshed(t *testing.T) {
	apps := ReferenceApps()
	_, store := simulate(t, "facts", apps)
	ctx := context.Background()
	from, to := testEnd.AddDate(0, 0, -10), testEnd
	reg := Registry(apps, testEnd)
	builtin, err := maturity.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	oracle := rawRubrics(t)
	score := func(s chstore.Store) (*maturity.Report, []string) {
		t.Helper()
		var qs []string
		rep, err := maturity.Score(ctx, s, maturity.Options{Database: "facts", From: from, To: to, Registry: reg, RunID: "same", Rubrics: builtin,
			Observe: func(q string, _ time.Duration) { qs = append(qs, q) }})
		if err != nil {
			t.Fatal(err)
		}
		return rep, qs
	}
	fills := func(qs []string) int {
		n := 0
		for _, q := range qs {
			if _, rest, ok := strings.Cut(q, " facts fill "); ok {
				d, err := strconv.Atoi(strings.TrimSuffix(rest, " days"))
				if err != nil {
					t.Fatalf("observed %q", q)
				}
				n += d
			}
		}
		return n
	}
	want, err := maturity.Score(ctx, store, maturity.Options{Database: "facts", From: from, To: to, Registry: reg, RunID: "same", Rubrics: oracle})
	if err != nil {
		t.Fatal(err)
	}
	// The measures the signals use that keep day facts.
	measures := 0
	for _, m := range builtin.Measures {
		used := false
		for _, f := range builtin.Frameworks {
			for _, s := range f.Signals {
				used = used || s.Measure == m.ID
				for _, g := range s.Gaps {
					used = used || builtin.Gaps[g].Measure == m.ID
				}
			}
		}
		if m.Daily != "" && used {
			measures++
		}
	}
	if measures < 10 {
		t.Fatalf("%d measures keep day facts, want the 13 or so that read raw rows", measures)
	}
	kept := func() uint64 {
		r, err := store.Query(ctx, "SELECT count() FROM facts."+chstore.FactsDaily+" FINAL WHERE workload = ''")
		if err != nil {
			t.Fatal(err)
		}
		return r.Data[0][0].(uint64)
	}

	// simulate scored its own window: start from no kept facts.
	if err := store.Exec(ctx, "TRUNCATE TABLE facts."+chstore.FactsDaily); err != nil {
		t.Fatal(err)
	}
	first, qs := score(store)
	if got := fills(qs); got != 10*measures {
		t.Errorf("first run computed %d measure-days, want 10 days × %d measures", got, measures)
	}
	if got := kept(); got != uint64(10*measures) {
		t.Errorf("%d day markers kept, want %d", got, 10*measures)
	}
	sameReports(t, first, want)

	second, qs := score(store)
	if got := fills(qs); got != 0 {
		t.Errorf("second run computed %d measure-days, want none", got)
	}
	sameReports(t, second, want)

	// Days without a row are kept as such without running their queries.
	r, err := store.Query(ctx, "SELECT min(timestamp) FROM (SELECT timestamp FROM facts.genai_spans UNION ALL SELECT timestamp FROM facts.genai_events UNION ALL SELECT timestamp FROM facts.spans)")
	if err != nil {
		t.Fatal(err)
	}
	before := kept()
	emptyTo := r.Data[0][0].(time.Time).UTC().Truncate(24 * time.Hour)
	var eqs []string
	if _, err := maturity.Score(ctx, store, maturity.Options{Database: "facts", From: emptyTo.AddDate(0, 0, -7), To: emptyTo, Registry: reg, RunID: "empty", Rubrics: builtin,
		Observe: func(q string, _ time.Duration) { eqs = append(eqs, q) }}); err != nil {
		t.Fatal(err)
	}
	if got := fills(eqs); got != 0 {
		t.Errorf("a week without data computed %d measure-days, want none", got)
	}
	if got := kept() - before; got != uint64(7*measures) {
		t.Errorf("a week without data kept %d day markers, want %d", got, 7*measures)
	}

	// A late evaluation result on a kept day: that day is stale.
	late := testEnd.AddDate(0, 0, -4).Add(13 * time.Hour)
	if err := store.Exec(ctx, `INSERT INTO facts.genai_events SELECT * REPLACE (
    {late:DateTime64(9)} AS timestamp, concat(insert_token, '-late') AS insert_token)
FROM facts.genai_events WHERE event_name = 'gen_ai.evaluation.result' AND span_id != '' ORDER BY timestamp LIMIT 1`,
		chstore.Param{Name: "late", Value: late.Format("2006-01-02 15:04:05")}); err != nil {
		t.Fatal(err)
	}
	if want, err = maturity.Score(ctx, store, maturity.Options{Database: "facts", From: from, To: to, Registry: reg, RunID: "same", Rubrics: oracle}); err != nil {
		t.Fatal(err)
	}
	third, qs := score(store)
	if got := fills(qs); got != measures {
		t.Errorf("after a late event, %d measure-days computed, want the one day × %d measures", got, measures)
	}
	sameReports(t, third, want)

	// A store that refuses writes: one refused insert, then live queries.
	if err := store.Exec(ctx, "TRUNCATE TABLE facts."+chstore.FactsDaily); err != nil {
		t.Fatal(err)
	}
	ro := &noWrites{Store: store}
	fourth, _ := score(ro)
	if ro.refused != 1 {
		t.Errorf("%d inserts refused, want 1 (then no more tries)", ro.refused)
	}
	sameReports(t, fourth, want)
}
