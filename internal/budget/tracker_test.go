package budget

import (
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

func usd(t testing.TB, s string) pricing.Amount {
	t.Helper()
	a, err := pricing.ParseUSD(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustWindow(t testing.TB, s string, loc *time.Location) Window {
	t.Helper()
	w, err := ParseWindow(s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func userItem(user string, amount pricing.Amount, at time.Time) Item {
	var v Values
	v[User] = user
	return Item{Values: v, Amount: amount, At: at.UnixNano()}
}

type step struct {
	user   string
	amount string
	at     time.Time
	want   []string // "threshold:key:spent" per crossing, in order
	level  Threshold
}

func runSteps(t *testing.T, tr *Tracker, steps []step) []Crossing {
	t.Helper()
	var all []Crossing
	for i, s := range steps {
		items := []Item{userItem(s.user, usd(t, s.amount), s.at)}
		got := tr.AddBatch(items, s.at, nil)
		var gotS []string
		for _, c := range got {
			gotS = append(gotS, c.Threshold.String()+":"+c.Key+":"+c.Spent.String())
		}
		if strings.Join(gotS, ",") != strings.Join(s.want, ",") {
			t.Errorf("step %d (%s +%s at %s): crossings %v, want %v", i, s.user, s.amount, s.at.Format(time.RFC3339), gotS, s.want)
		}
		if items[0].Level != s.level {
			t.Errorf("step %d: level %s, want %s", i, items[0].Level, s.level)
		}
		all = append(all, got...)
	}
	return all
}

func TestDayWindowSoftAndHard(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	tr, err := NewTracker([]Rule{{Name: "daily-user", Dim: User, Each: true, Window: mustWindow(t, "day", berlin), Soft: usd(t, "5"), Hard: usd(t, "10")}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 10, d, h, m, 0, 0, berlin) }
	crossings := runSteps(t, tr, []step{
		{"alice", "3", at(5, 9, 0), nil, OK},                         // alice 3
		{"bob", "4.99", at(5, 9, 5), nil, OK},                        // bob 4.99: below soft
		{"alice", "2", at(5, 10, 0), []string{"soft:alice:5"}, Soft}, // alice 5 = soft exactly
		{"alice", "4.5", at(5, 11, 0), nil, Soft},                    // 9.5: soft already fired
		{"alice", "0.5", at(5, 12, 0), []string{"hard:alice:10"}, Hard},
		{"alice", "1", at(5, 13, 0), nil, Hard}, // 11: nothing new
		{"bob", "10", at(5, 23, 59), []string{"soft:bob:14.99", "hard:bob:14.99"}, Hard},
		// 2026-10-06 00:00 in Berlin is 2026-10-05 22:00 UTC: a new window.
		{"alice", "6", at(6, 0, 0), []string{"soft:alice:6"}, Soft},
	})
	if len(crossings) != 5 {
		t.Fatalf("%d crossings", len(crossings))
	}
	c := crossings[0]
	if c.Rule.Name != "daily-user" || c.Limit != usd(t, "5") || !c.WindowStart.Equal(at(5, 0, 0)) || !c.WindowEnd.Equal(at(6, 0, 0)) || c.KeyLabel() != "user:alice" || c.Item != 0 {
		t.Errorf("crossing %+v", c)
	}
	if crossings[4].ID == crossings[0].ID || crossings[4].WindowStart.Format(time.DateOnly) != "2026-10-06" {
		t.Errorf("the next day's soft crossing must be a new notification: %+v", crossings[4])
	}
	if got, lvl, _ := tr.Spent("daily-user", "alice", at(6, 1, 0)); got != usd(t, "6") || lvl != Soft {
		t.Errorf("alice spent %s (%s) on day 2", got, lvl)
	}
	// A call from yesterday arriving now is not counted in today's window.
	tr.AddBatch([]Item{userItem("alice", usd(t, "100"), at(5, 23, 0))}, at(6, 2, 0), nil)
	if got, _, _ := tr.Spent("daily-user", "alice", at(6, 2, 0)); got != usd(t, "6") || tr.Late() != 1 {
		t.Errorf("late spend counted: %s, late %d", got, tr.Late())
	}
}

func TestDayWindowFollowsTheTimeZone(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	w := mustWindow(t, "day", ny)
	// 2026-11-01 is the DST change in New York: that day has 25 hours.
	s, e := w.Bounds(time.Date(2026, 11, 1, 12, 0, 0, 0, ny))
	if e.Sub(s) != 25*time.Hour || s.Hour() != 0 {
		t.Errorf("day of the DST change: %s .. %s", s, e)
	}
	// 03:30 UTC on 2026-03-10 is still 2026-03-09 in New York.
	s, _ = w.Bounds(time.Date(2026, 3, 10, 3, 30, 0, 0, time.UTC))
	if s.Format(time.DateOnly) != "2026-03-09" {
		t.Errorf("window start %s", s)
	}
	m := mustWindow(t, "month", ny)
	s, e = m.Bounds(time.Date(2026, 2, 14, 0, 0, 0, 0, ny))
	if s.Format(time.DateOnly) != "2026-02-01" || e.Format(time.DateOnly) != "2026-03-01" {
		t.Errorf("month %s .. %s", s, e)
	}
}

func TestMonthWindow(t *testing.T) {
	tr, _ := NewTracker([]Rule{{Name: "tenant-month", Dim: Tenant, Value: "acme", Window: mustWindow(t, "month", nil), Hard: usd(t, "100")}}, 0)
	tenant := func(name, amount string, at time.Time) []Item {
		var v Values
		v[Tenant] = name
		return []Item{{Values: v, Amount: usd(t, amount), At: at.UnixNano()}}
	}
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 12, 0, 0, 0, time.UTC) }
	if c := tr.AddBatch(tenant("acme", "60", d(1, 3)), d(1, 3), nil); len(c) != 0 {
		t.Fatal(c)
	}
	if c := tr.AddBatch(tenant("other", "500", d(1, 4)), d(1, 4), nil); len(c) != 0 {
		t.Fatalf("a tenant the rule does not name crossed: %v", c)
	}
	if c := tr.AddBatch(tenant("acme", "40", d(1, 31)), d(1, 31), nil); len(c) != 1 || c[0].Threshold != Hard || c[0].Spent != usd(t, "100") {
		t.Fatalf("hard at 100: %v", c)
	}
	if c := tr.AddBatch(tenant("acme", "99.99", d(2, 1)), d(2, 1), nil); len(c) != 0 {
		t.Fatalf("new month: %v", c)
	}
}

func TestRollingWindowSoftAndHard(t *testing.T) {
	// Rolling 6h: buckets of 6 minutes.
	tr, err := NewTracker([]Rule{{Name: "burst", Dim: User, Each: true, Window: mustWindow(t, "6h", nil), Soft: usd(t, "1"), Hard: usd(t, "2")}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC)
	h := func(hours float64) time.Time { return t0.Add(time.Duration(hours * float64(time.Hour))) }
	crossings := runSteps(t, tr, []step{
		{"u1", "0.6", h(0), nil, OK},                       // 0.6
		{"u1", "0.5", h(1), []string{"soft:u1:1.1"}, Soft}, // 1.1
		{"u1", "0.5", h(5), nil, Soft},                     // 1.6
		{"u1", "0.4", h(5.5), []string{"hard:u1:2"}, Hard}, // 2.0 = hard exactly
	})
	// 6.2h later: the 0.6 spent at 08:00 has left the window: 1.4 + 0.1 = 1.5.
	items := []Item{userItem("u1", usd(t, "0.1"), h(6.2))}
	if c := tr.AddBatch(items, h(6.2), nil); len(c) != 0 || items[0].Level != Soft {
		t.Fatalf("after expiry: crossings %v level %s", c, items[0].Level)
	}
	if got, _, _ := tr.Spent("burst", "u1", h(6.2)); got != usd(t, "1.5") {
		t.Fatalf("rolling spend %s, want 1.5", got)
	}
	// Hard re-arms once spend fell below it; crossing it again is a new episode.
	items = []Item{userItem("u1", usd(t, "0.5"), h(6.3))}
	c := tr.AddBatch(items, h(6.3), nil)
	if len(c) != 1 || c[0].Threshold != Hard || c[0].Spent != usd(t, "2") || c[0].ID == crossings[1].ID {
		t.Fatalf("second hard episode: %+v", c)
	}
	// 20h after the first call every spend is more than 6h old: the window is empty.
	if got, lvl, _ := tr.Spent("burst", "u1", h(20)); got != 0 || lvl != OK {
		t.Errorf("after 20h: %s %s", got, lvl)
	}
	// A call older than the rolling window is late.
	tr.AddBatch([]Item{userItem("u1", usd(t, "5"), h(1))}, h(20), nil)
	if tr.Late() != 1 {
		t.Errorf("late %d", tr.Late())
	}
}

func TestAllAndCapAndGC(t *testing.T) {
	tr, _ := NewTracker([]Rule{
		{Name: "everything", Dim: All, Window: mustWindow(t, "day", nil), Hard: usd(t, "3")},
		{Name: "users", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "1")},
	}, 2)
	now := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	items := []Item{userItem("a", usd(t, "1"), now), userItem("b", usd(t, "1"), now), userItem("c", usd(t, "1"), now), userItem("", usd(t, "0.5"), now)}
	c := tr.AddBatch(items, now, nil)
	var got []string
	for _, x := range c {
		got = append(got, x.Rule.Name+"/"+x.KeyLabel()+"/"+x.Threshold.String())
	}
	// users a and b hit soft; c is beyond the 2-key cap; the unattributed call
	// counts only for "everything", which reaches 3 with c's call.
	if strings.Join(got, ",") != "users/user:a/soft,users/user:b/soft,everything/all/hard" {
		t.Errorf("crossings %v", got)
	}
	if tr.Dropped() != 1 {
		t.Errorf("dropped %d", tr.Dropped())
	}
	if n := tr.GC(now.Add(24 * time.Hour)); n != 3 {
		t.Errorf("GC removed %d keys, want 3", n)
	}
}

func TestRestartRestoresState(t *testing.T) {
	rules := []Rule{
		{Name: "daily", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "5"), Hard: usd(t, "10")},
		{Name: "rolling", Dim: User, Each: true, Window: mustWindow(t, "2h", nil), Soft: usd(t, "1"), Hard: usd(t, "8")},
	}
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	tr, _ := NewTracker(rules, 0)
	c := tr.AddBatch([]Item{userItem("alice", usd(t, "6"), t0)}, t0, nil)
	if len(c) != 2 { // daily soft and rolling soft
		t.Fatalf("crossings %v", c)
	}
	if !tr.Dirty() {
		t.Fatal("not dirty after spend")
	}
	state, err := tr.MarshalState(t0)
	if err != nil || tr.Dirty() {
		t.Fatal(err)
	}

	// "Restart" 30 minutes later, mid-window.
	t1 := t0.Add(30 * time.Minute)
	tr2, _ := NewTracker(rules, 0)
	keys, discarded, err := tr2.RestoreState(state, t1)
	if err != nil || keys != 2 || len(discarded) != 0 {
		t.Fatalf("restore: %d keys, discarded %v, %v", keys, discarded, err)
	}
	if got, lvl, _ := tr2.Spent("daily", "alice", t1); got != usd(t, "6") || lvl != Soft {
		t.Fatalf("restored daily spend %s %s", got, lvl)
	}
	// Soft does not fire again; hard fires when reached.
	c = tr2.AddBatch([]Item{userItem("alice", usd(t, "3.5"), t1)}, t1, nil)
	if len(c) != 1 || c[0].Rule.Name != "rolling" || c[0].Threshold != Hard || c[0].Spent != usd(t, "9.5") {
		t.Fatalf("after restore: %+v", c)
	}
	c = tr2.AddBatch([]Item{userItem("alice", usd(t, "0.5"), t1)}, t1, nil)
	if len(c) != 1 || c[0].Rule.Name != "daily" || c[0].Threshold != Hard || c[0].Spent != usd(t, "10") {
		t.Fatalf("daily hard: %+v", c)
	}

	// A restart after the window ended starts the new window empty.
	tr3, _ := NewTracker(rules, 0)
	if _, _, err := tr3.RestoreState(state, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, lvl, _ := tr3.Spent("daily", "alice", t0.Add(24*time.Hour)); got != 0 || lvl != OK {
		t.Errorf("next day: %s %s", got, lvl)
	}

	// A rule whose key or window changed starts empty; a changed threshold re-arms.
	changed := []Rule{rules[0], rules[1]}
	changed[0].Window = mustWindow(t, "month", nil)
	changed[1].Soft = usd(t, "2")
	tr4, _ := NewTracker(changed, 0)
	_, discarded, _ = tr4.RestoreState(state, t1)
	if len(discarded) != 1 || !strings.HasPrefix(discarded[0], "daily (was user:*|day|UTC, now user:*|month|UTC)") {
		t.Errorf("discarded %v", discarded)
	}
	// daily restarts from 0 (0.01 is below its soft 5); rolling keeps its 6 and,
	// with soft now 2, is re-armed: the next call fires soft at the new limit.
	c = tr4.AddBatch([]Item{userItem("alice", usd(t, "0.01"), t1)}, t1, nil)
	if len(c) != 1 || c[0].Rule.Name != "rolling" || c[0].Threshold != Soft || c[0].Limit != usd(t, "2") || c[0].Spent != usd(t, "6.01") {
		t.Errorf("after rule change: %+v", c)
	}

	if _, _, err := tr4.RestoreState([]byte("{"), t1); err == nil {
		t.Error("corrupt state accepted")
	}
	if _, _, err := tr4.RestoreState([]byte(`{"version": 9}`), t1); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("future version: %v", err)
	}
}

func TestRuleParsingAndValidation(t *testing.T) {
	for _, tc := range []struct {
		in    string
		dim   Dimension
		value string
		each  bool
		err   string
	}{
		{"user:*", User, "", true, ""},
		{"tenant:acme", Tenant, "acme", false, ""},
		{"workload:support-bot", Workload, "support-bot", false, ""},
		{"all", All, "", false, ""},
		{"team", 0, "", false, "want all"},
		{"org:x", 0, "", false, "unknown dimension"},
	} {
		d, v, each, err := ParseKey(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v", tc.in, err)
			}
			continue
		}
		if err != nil || d != tc.dim || v != tc.value || each != tc.each {
			t.Errorf("%s: %v %q %v %v", tc.in, d, v, each, err)
		}
	}
	for in, want := range map[string]string{"day": "day", "month": "month", "6h": "rolling 6h", "90m": "rolling 90m"} {
		w, err := ParseWindow(in, nil)
		if err != nil || w.String() != want {
			t.Errorf("%s: %v %v", in, w, err)
		}
	}
	for _, bad := range []string{"week", "30s", "1h30s", ""} {
		if _, err := ParseWindow(bad, nil); err == nil {
			t.Errorf("window %q accepted", bad)
		}
	}
	w := mustWindow(t, "day", nil)
	for _, tc := range []struct {
		r   Rule
		err string
	}{
		{Rule{Dim: User, Each: true, Window: w, Soft: 1}, "name: required"},
		{Rule{Name: "x", Window: w}, "set soft_usd, hard_usd or both"},
		{Rule{Name: "x", Window: w, Soft: 5, Hard: 5}, "must be below hard_usd"},
	} {
		if _, err := NewTracker([]Rule{tc.r}, 0); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: %v", tc.r, err)
		}
	}
	if _, err := NewTracker([]Rule{{Name: "x", Window: w, Soft: 1}, {Name: "x", Window: w, Soft: 1}}, 0); err == nil {
		t.Error("duplicate names accepted")
	}
}

func TestObserve(t *testing.T) {
	tr, _ := NewTracker([]Rule{{Name: "u", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "1"), Hard: usd(t, "2")}}, 0)
	now := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	tr.AddBatch([]Item{userItem("a", usd(t, "0.5"), now), userItem("b", usd(t, "1.5"), now), userItem("c", usd(t, "3"), now)}, now, nil)
	levels := map[string]string{}
	var counts [3]int
	tr.Observe(now, func(k KeyState) { levels[k.Key] = k.Level.String() + " " + k.Spent.String() }, func(_ *Rule, ok, soft, hard int) { counts = [3]int{ok, soft, hard} })
	if levels["b"] != "soft 1.5" || levels["c"] != "hard 3" || len(levels) != 2 || counts != [3]int{1, 1, 1} {
		t.Errorf("levels %v counts %v", levels, counts)
	}
}

func TestLongKeysAreCapped(t *testing.T) {
	tr, _ := NewTracker([]Rule{{Name: "u", Dim: User, Each: true, Window: mustWindow(t, "day", nil), Soft: usd(t, "1")}}, 0)
	now := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 10_000)
	c := tr.AddBatch([]Item{userItem(long, usd(t, "0.6"), now), userItem(long, usd(t, "0.6"), now)}, now, nil)
	if len(c) != 1 || len(c[0].Key) > MaxKeyLen || !strings.HasPrefix(c[0].Key, strings.Repeat("x", 64)+"…sha256:") {
		t.Fatalf("crossing key %q (%d bytes)", c[0].Key[:80], len(c[0].Key))
	}
	if got, _, _ := tr.Spent("u", c[0].Key, now); got != usd(t, "1.2") {
		t.Errorf("spent %s under the capped key", got)
	}
}
