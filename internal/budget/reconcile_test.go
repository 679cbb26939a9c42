package budget

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

type fakeSource struct {
	rows    map[string][]SpendRow // by rule key string
	queries []SpendQuery
	err     error
}

func (f *fakeSource) Spend(_ context.Context, q SpendQuery) ([]SpendRow, error) {
	f.queries = append(f.queries, q)
	if f.err != nil {
		return nil, f.err
	}
	k := q.Dim.String()
	if q.Each {
		k += ":*"
	}
	return f.rows[k], nil
}

func TestReconcileTakesTheLargerSpend(t *testing.T) {
	now := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	tr, _ := NewTracker([]Rule{
		{Name: "daily", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "5"), Hard: usd(t, "10")},
		{Name: "rolling", Dim: User, Each: true, Window: mustWindow(t, "1h", nil), Hard: usd(t, "3")},
	}, 0)
	// This replica saw alice 4 and bob 1.
	tr.AddBatch([]Item{userItem("alice", usd(t, "4"), now), userItem("bob", usd(t, "1"), now)}, now, nil)

	// All replicas, from ClickHouse: alice 7 (another replica saw 3 more),
	// bob 0.5 (this replica's latest call is not exported yet), carol 12
	// (never seen here); rows without a user are ignored by a user rule.
	// For the rolling rule alice has 3.5 in the newest bucket.
	srcByRule := &perRuleSource{byWindow: map[WindowKind][]SpendRow{
		Day:     {{Key: "alice", Amount: usd(t, "7")}, {Key: "bob", Amount: usd(t, "0.5")}, {Key: "carol", Amount: usd(t, "12")}, {Key: "", Amount: usd(t, "99")}},
		Rolling: {{Key: "alice", Bucket: RollingBuckets - 1, Amount: usd(t, "3.5")}},
	}}
	crossings, err := tr.Reconcile(context.Background(), srcByRule, now)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"alice": "7", "bob": "1", "carol": "12"} {
		if got, _, _ := tr.Spent("daily", user, now); got != usd(t, want) {
			t.Errorf("daily %s: %s, want %s (max of local and shared)", user, got, want)
		}
	}
	// Rolling: alice's newest bucket had 4 locally, 3.5 shared: stays 4.
	if got, _, _ := tr.Spent("rolling", "alice", now); got != usd(t, "4") {
		t.Errorf("rolling alice %s", got)
	}
	var got []string
	for _, c := range crossings {
		got = append(got, c.Rule.Name+"/"+c.Key+"/"+c.Threshold.String())
		if c.Item != -1 {
			t.Errorf("reconcile crossing with item %d", c.Item)
		}
	}
	// alice reaches soft (7 >= 5); carol soft and hard (12). Rolling hard for
	// alice (4 >= 3) fired at AddBatch already.
	want := map[string]bool{"daily/alice/soft": true, "daily/carol/soft": true, "daily/carol/hard": true}
	if len(got) != len(want) {
		t.Errorf("crossings %v", got)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected crossing %s", g)
		}
	}
	// The queries cover the current windows.
	q := srcByRule.queries
	if len(q) != 2 || !q[0].From.Equal(time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)) || q[0].Bucket != 0 || !q[0].Each || q[0].Dim != User {
		t.Errorf("day query %+v", q[0])
	}
	if q[1].Bucket != time.Minute || q[1].To.Sub(q[1].From) > time.Hour+time.Minute {
		t.Errorf("rolling query %+v", q[1])
	}

	// A failing source leaves the state as it is and says which rule failed.
	if _, err := tr.Reconcile(context.Background(), &fakeSource{err: errors.New("down")}, now); err == nil || !strings.Contains(err.Error(), "rule daily: down") {
		t.Errorf("error %v", err)
	}
}

type perRuleSource struct {
	byWindow map[WindowKind][]SpendRow
	queries  []SpendQuery
}

func (p *perRuleSource) Spend(_ context.Context, q SpendQuery) ([]SpendRow, error) {
	p.queries = append(p.queries, q)
	if q.Bucket > 0 {
		return p.byWindow[Rolling], nil
	}
	return p.byWindow[Day], nil
}

// insertSpend inserts one genai_spans row with the columns the spend query reads.
func insertSpend(t *testing.T, s chstore.Store, db string, ts time.Time, user, tenant, cost, source string, dupOf string) {
	t.Helper()
	err := s.Exec(context.Background(),
		"INSERT INTO "+db+".genai_spans (timestamp, user_id, tenant_id, cost_usd, cost_source, attributes) "+
			"SELECT fromUnixTimestamp64Nano({ts:Int64}), {u:String}, {tn:String}, toDecimal64({c:String}, 12), {src:String}, "+
			"if({dup:String} = '', map(), map('aiops.usage.duplicate_of', {dup:String}))",
		chstore.Param{Name: "ts", Value: itoa(ts.UnixNano())}, chstore.Param{Name: "u", Value: user}, chstore.Param{Name: "tn", Value: tenant},
		chstore.Param{Name: "c", Value: cost}, chstore.Param{Name: "src", Value: source}, chstore.Param{Name: "dup", Value: dupOf})
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// checkClickHouseSource runs the same assertions on any store.
func checkClickHouseSource(t *testing.T, s chstore.Store, db string) {
	ctx := context.Background()
	if _, err := chstore.Migrate(ctx, s, chstore.SchemaOptions{Database: db}, "budget test"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	insertSpend(t, s, db, now.Add(-2*time.Hour), "alice", "acme", "1.25", "computed", "")
	insertSpend(t, s, db, now.Add(-90*time.Minute), "alice", "acme", "0.000000000001", "provider", "")
	insertSpend(t, s, db, now.Add(-30*time.Minute), "bob", "acme", "2.5", "computed", "")
	insertSpend(t, s, db, now.Add(-20*time.Minute), "alice", "acme", "9", "computed", "abc123") // a duplicate: not counted
	insertSpend(t, s, db, now.Add(-10*time.Minute), "alice", "acme", "0", "unpriced", "")       // unpriced: not counted
	insertSpend(t, s, db, now.Add(-26*time.Hour), "alice", "acme", "100", "computed", "")       // yesterday
	insertSpend(t, s, db, now.Add(-5*time.Minute), "", "globex", "0.75", "computed", "")        // no user
	insertSpend(t, s, db, now.Add(time.Hour), "alice", "acme", "50", "computed", "")            // after now

	src, err := NewClickHouseSource(s, db)
	if err != nil {
		t.Fatal(err)
	}
	day := SpendQuery{Dim: User, Each: true, From: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), To: now}
	rows, err := src.Spend(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]pricing.Amount{}
	for _, r := range rows {
		if r.Bucket != 0 {
			t.Errorf("one bucket expected, got %+v", r)
		}
		got[r.Key] = r.Amount
	}
	// alice: 1.25 + 0.000000000001 = 1.250000000001 (exact to the picodollar); bob 2.5.
	if len(got) != 2 || got["alice"] != usd(t, "1.250000000001") || got["bob"] != usd(t, "2.5") {
		t.Errorf("day spend per user %v", got)
	}
	rows, err = src.Spend(ctx, SpendQuery{Dim: Tenant, Value: "globex", From: day.From, To: now})
	if err != nil || len(rows) != 1 || rows[0].Key != "globex" || rows[0].Amount != usd(t, "0.75") {
		t.Errorf("tenant globex %+v %v", rows, err)
	}
	rows, err = src.Spend(ctx, SpendQuery{Dim: All, From: day.From, To: now})
	if err != nil || len(rows) != 1 || rows[0].Amount != usd(t, "4.500000000001") {
		t.Errorf("all %+v %v", rows, err)
	}
	// Hourly buckets from 09:00: alice's 10:00 and 10:30 calls fall in bucket 1, bob's 11:30 in bucket 2.
	rows, err = src.Spend(ctx, SpendQuery{Dim: User, Each: true, From: now.Add(-3 * time.Hour), To: now, Bucket: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	buckets := map[string]int64{}
	for _, r := range rows {
		buckets[r.Key+"@"+itoa(r.Bucket)] = int64(r.Amount)
	}
	if len(buckets) != 2 || buckets["alice@1"] != int64(usd(t, "1.250000000001")) || buckets["bob@2"] != int64(usd(t, "2.5")) {
		t.Errorf("buckets %v", buckets)
	}

	// Reconcile a tracker that saw nothing itself.
	tr, _ := NewTracker([]Rule{{Name: "daily", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "2")}}, 0)
	crossings, err := tr.Reconcile(ctx, src, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(crossings) != 1 || crossings[0].Key != "bob" || crossings[0].Spent != usd(t, "2.5") || crossings[0].Item != -1 {
		t.Errorf("crossings %+v", crossings)
	}
	if a, _, _ := tr.Spent("daily", "alice", now); a != usd(t, "1.250000000001") {
		t.Errorf("alice %s", a)
	}
	if _, err := NewClickHouseSource(s, "bad-db; DROP"); err == nil {
		t.Error("bad database accepted")
	}
}

func TestClickHouseSourceEmbedded(t *testing.T) {
	dir := t.TempDir()
	s, err := chstore.OpenEmbedded(dir, "")
	if err != nil {
		t.Fatalf("embedded engine (run `make libchdb` or set AIOPS_LIBCHDB): %v", err)
	}
	defer s.Close()
	checkClickHouseSource(t, s, "budget_test")
}

func TestClickHouseSourceServer(t *testing.T) {
	dsn := os.Getenv("AIOPS_TEST_CLICKHOUSE_DSN")
	if dsn == "" {
		t.Skip("AIOPS_TEST_CLICKHOUSE_DSN is not set: skipping the budget reconcile test on a ClickHouse server (set it to a clickhouse:// DSN of a server >= 24.8 to run it)")
	}
	s, err := chstore.OpenServer(context.Background(), chstore.ServerOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := "budget_test_" + itoa(time.Now().UnixNano()%1_000_000)
	defer s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	checkClickHouseSource(t, s, db)
}
