package dashboards

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Issue 20: the panels that count, sum or take quantiles of spans read
// hourly rollups (internal/chstore/panels.go) instead of every span of
// their range, so they stay fast as genai_spans grows.
//
//   - Panels that read the spans before read genai_calls_hourly for the
//     whole hours inside the range and genai_spans only for the parts of
//     the two edge hours the range cuts: their answer is the spans' own,
//     not rounded to hours. A timeseries reads the rollup only when the
//     interval is a whole number of hours ($__interval_s % 3600 = 0), so
//     its min interval is 1h; at a finer interval it would read the spans.
//   - Panels that read genai_usage_hourly (whole hours, as before) read
//     genai_calls_hourly, which holds the same sums without the split by
//     user; only Top users still needs genai_usage_hourly.
//   - The latency panels merge t-digests from genai_latency_tenant_hourly
//     (all workloads together) when the workload variable is All, and from
//     genai_latency_hourly (per workload) when workloads are picked.
//
// testdata/raw_panels.yaml holds each of these panels' queries from
// before. TestRollupPanelsMatchSpans runs both on the reference workloads
// and wants the same rows.

// rawPanel is a panel's query from before it read the rollups.
type rawPanel struct {
	File  string `yaml:"file"`
	Title string `yaml:"title"`
	SQL   string `yaml:"sql"`
	// Approx: the panel estimates quantiles (t-digests merged from the
	// rollups; the reference samples), so its float cells are estimates.
	// The rows and their other cells must match; each estimate must lie
	// within its bounds.
	Approx bool `yaml:"approx"`
	// Bounds: for an approx panel, a row per row of the panel with the
	// same cells but for the estimates, and in their place two cells
	// each: the exact quantiles of the spans at the estimate's level
	// minus and plus 0.05 (quantilesExactLow, quantilesExactHigh).
	Bounds string `yaml:"bounds"`
}

const rawPanelsFile = "raw_panels.yaml"

func rawPanels(t testing.TB) []rawPanel {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", rawPanelsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []rawPanel
	if err := yaml.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %v", rawPanelsFile, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no panels", rawPanelsFile)
	}
	return out
}

// The whole hours inside [from, to]; the spans outside them.
const (
	hoursFrom = "toStartOfHour($__fromTime - INTERVAL 1 SECOND) + INTERVAL 1 HOUR"
	hoursTo   = "toStartOfHour($__toTime)"
	// Every read of genai_spans in a panel is the cut edge hours'.
	edgeSpans = "FROM aiops.genai_spans WHERE $__timeFilter(timestamp) AND (timestamp < " + hoursFrom + " OR timestamp >= " + hoursTo
	// A timeseries reads a rollup's whole hours only at whole-hour intervals.
	hourlyOnly = "$__interval_s % 3600 = 0"
)

var hourlyRollups = []string{"aiops.genai_calls_hourly", "aiops.genai_usage_hourly", "aiops." + chstore.LatencyHourly, "aiops." + chstore.LatencyTenantHourly}

func readsHourlyRollup(sql string) bool {
	for _, r := range hourlyRollups {
		if strings.Contains(sql, r+" ") {
			return true
		}
	}
	return false
}

// findPanel is the panel of file titled title.
func findPanel(ds []*dashboard, file, title string) (panel, bool) {
	for _, d := range ds {
		if d.file != file {
			continue
		}
		for _, p := range d.Panels {
			if p.Title == title && len(p.Targets) > 0 {
				return p, true
			}
		}
	}
	return panel{}, false
}

// minIntervalS is a panel's min interval in seconds (Grafana's "interval":
// 30s, 5m, 1h, 1d...); 0 when unset.
func minIntervalS(p panel) (int, error) {
	if p.Interval == "" {
		return 0, nil
	}
	s := p.Interval
	mult := time.Duration(1)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		s, mult = n+"h", 24
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d%time.Second != 0 {
		return 0, fmt.Errorf("panel %q: interval %q is not a whole number of seconds", p.Title, p.Interval)
	}
	return int((d * mult) / time.Second), nil
}

// TestPanelsReadRollups: what issue 20 asks of every panel's source, and
// that every panel on the rollups has its reference query.
func TestPanelsReadRollups(t *testing.T) {
	ds := loadDashboards(t)
	refs := map[[2]string]bool{}
	for _, rp := range rawPanels(t) {
		k := [2]string{rp.File, rp.Title}
		if refs[k] {
			t.Errorf("%s %q: twice in %s", rp.File, rp.Title, rawPanelsFile)
		}
		refs[k] = true
		p, ok := findPanel(ds, rp.File, rp.Title)
		switch {
		case !ok:
			t.Errorf("%s: %s %q names no panel", rawPanelsFile, rp.File, rp.Title)
		case strings.TrimSpace(rp.SQL) == p.Targets[0].RawSQL:
			t.Errorf("%s %q: the panel still runs its reference query", rp.File, rp.Title)
		}
	}
	for _, d := range ds {
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				continue
			}
			sql, where := p.Targets[0].RawSQL, fmt.Sprintf("%s %q", d.file, p.Title)
			if n, edges := strings.Count(sql, "aiops.genai_spans"), strings.Count(sql, edgeSpans); n != edges {
				t.Errorf("%s: reads genai_spans %d times, %d of them for the cut edge hours only: read the rollups for whole hours", where, n, edges)
			}
			iv, err := minIntervalS(p)
			if err != nil {
				t.Error(err)
			}
			if p.Type == "timeseries" && readsHourlyRollup(sql) && iv%3600 != 0 {
				t.Errorf("%s: a timeseries over hourly rollups wants a min interval of whole hours (\"interval\": \"1h\"), has %q", where, p.Interval)
			}
			if strings.Contains(sql, hourlyOnly) && (iv == 0 || iv%3600 != 0) {
				t.Errorf("%s: reads the rollup only at whole-hour intervals; set its min interval to 1h, not %q", where, p.Interval)
			}
			if readsHourlyRollup(strings.ReplaceAll(sql, "aiops.genai_usage_hourly", "")) && !refs[[2]string{d.file, p.Title}] {
				t.Errorf("%s: reads a panel rollup but has no reference query in %s", where, rawPanelsFile)
			}
		}
	}
}

// rollupRanges are on and off hour boundaries, across days and within an
// hour; rollupIntervals a minute, an hour and 6 hours (raised to the
// panel's min interval, as Grafana does).
var (
	rollupCut    = 3*time.Hour + 17*time.Minute + 29*time.Second
	rollupRanges = []struct {
		name     string
		from, to time.Time
	}{
		{"whole hours", simStart, simEnd},
		{"cut hours", simStart.Add(rollupCut), simEnd.Add(-rollupCut)},
		{"a cut day", simEnd.Add(-30*time.Hour - rollupCut), simEnd.Add(-6*time.Hour - rollupCut)},
		{"under an hour", simEnd.Add(-50*time.Hour + 7*time.Minute), simEnd.Add(-49*time.Hour - 3*time.Minute)},
	}
	rollupIntervals = []int{60, 3600, 21600}
	rollupPicked    = map[string][]string{"tenant": {"acme"}, "workload": {"agent-platform"}}
)

// TestRollupPanelsMatchSpans runs every panel of testdata/raw_panels.yaml
// and its reference query in each range, interval and selection (every
// variable at All; one tenant and workload; for the latency panels also
// one tenant at All workloads) and wants the same rows. The
// time to first token panel runs on a copy of the workloads whose chat
// calls stream (the reference apps do not).
func TestRollupPanelsMatchSpans(t *testing.T) {
	needStore(t)
	ds := loadDashboards(t)
	opts := map[string]map[string][]string{}
	for _, d := range ds {
		opts[d.file] = variableOptions(t, d)
	}
	for _, rp := range rawPanels(t) {
		p, ok := findPanel(ds, rp.File, rp.Title)
		if !ok {
			t.Errorf("%s %q: no such panel", rp.File, rp.Title)
			continue
		}
		minIv, err := minIntervalS(p)
		if err != nil {
			t.Fatal(err)
		}
		sels := []map[string][]string{nil, rollupPicked}
		if strings.Contains(p.Targets[0].RawSQL, chstore.LatencyTenantHourly) {
			// The all-workloads rollup for one tenant.
			sels = append(sels, map[string][]string{"tenant": {"acme"}})
		}
		dbs := []string{database}
		if strings.Contains(rp.SQL, "streaming") {
			streamingCopy(t)
			dbs = append(dbs, streamingDB)
		}
		for _, db := range dbs {
			for _, rg := range rollupRanges {
				seen := map[int]bool{}
				for _, iv := range rollupIntervals {
					if iv = max(iv, minIv); seen[iv] {
						continue
					}
					seen[iv] = true
					for _, sel := range sels {
						sc := scope{from: rg.from, to: rg.to, intervalS: iv, sel: sel, options: opts[rp.File]}
						name := fmt.Sprintf("%s/%s/%s/%s/%ds/picked=%v", db, rp.File, rp.Title, rg.name, iv, pickedNames(sel))
						t.Run(name, func(t *testing.T) {
							if diff := compareQueries(t, rp.onDB(db), onDB(p.Targets[0].RawSQL, db), sc); diff != "" {
								t.Error(diff)
							}
						})
					}
				}
			}
		}
	}
}

func pickedNames(sel map[string][]string) string {
	if sel == nil {
		return "none"
	}
	var ks []string
	for k := range sel {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, "+")
}

// TestRollupComparisonFails: the comparison catches a panel that drops
// the edge hours' spans, counts them twice, reads the wrong quantile or
// loses the streamed calls' edges.
func TestRollupComparisonFails(t *testing.T) {
	needStore(t)
	ds := loadDashboards(t)
	refs := map[[2]string]rawPanel{}
	for _, rp := range rawPanels(t) {
		refs[[2]string{rp.File, rp.Title}] = rp
	}
	cut := rollupRanges[1]
	for _, c := range []struct {
		file, title, old, new string
		db                    string
		sel                   map[string][]string
	}{
		// The edge hours' spans left out, or read twice.
		{"governance.json", "Suspected injections", edgeSpans, "FROM aiops.genai_spans WHERE 0 AND (1", database, nil},
		{"rag-agents.json", "Tool error rates", "OR timestamp >= " + hoursTo + ")", "OR 1)", database, nil},
		// The rollup's first hour is also an edge hour.
		{"governance.json", "Suspected injections by workload", "hour >= " + hoursFrom, "hour >= " + hoursFrom + " - INTERVAL 1 HOUR", database, nil},
		// A filter lost on the rollup.
		{"cost.json", "Spend by model", " AND $__conditionalAll(request_model IN (${model:singlequote}), $model)", "", database, map[string][]string{"model": {"gpt-4o-2024-08-06"}}},
		// The median for the 95th percentile, and the 99th in seconds.
		{"quality.json", "Latency by model", "q[3] / 1e6 AS p95_ms", "q[1] / 1e6 AS p95_ms", database, nil},
		{"quality.json", "Latency p50 / p95 / p99 by model", "q[4] / 1e6 AS p99_ms", "q[4] / 1e9 AS p99_ms", database, rollupPicked},
		// The all-workloads rollup with a workload picked.
		{"quality.json", "Latency by model", "$__conditionalAll(false, $workload)", "true", database, rollupPicked},
		// The streamed calls of the edge hours left out.
		{"quality.json", "Time to first token", edgeSpans, "FROM aiops.genai_spans WHERE 0 AND (1", streamingDB, nil},
	} {
		t.Run(c.file+"/"+c.title, func(t *testing.T) {
			rp := refs[[2]string{c.file, c.title}]
			p, ok := findPanel(ds, c.file, c.title)
			if !ok || rp.SQL == "" {
				t.Fatalf("no panel or reference")
			}
			broken := strings.Replace(p.Targets[0].RawSQL, c.old, c.new, 1)
			if broken == p.Targets[0].RawSQL {
				t.Fatalf("%q not in the panel's query", c.old)
			}
			if c.db == streamingDB {
				streamingCopy(t)
			}
			sc := scope{from: cut.from, to: cut.to, intervalS: 3600, sel: c.sel, options: variableOptions(t, dashboardOf(t, ds, c.file))}
			if diff := compareQueries(t, rp.onDB(c.db), onDB(p.Targets[0].RawSQL, c.db), sc); diff != "" {
				t.Fatalf("the panel itself does not match: %s", diff)
			}
			if diff := compareQueries(t, rp.onDB(c.db), onDB(broken, c.db), sc); diff == "" {
				t.Errorf("a broken panel matches its reference:\n%s", broken)
			} else {
				t.Logf("caught: %.300s", diff)
			}
		})
	}
}

func dashboardOf(t *testing.T, ds []*dashboard, file string) *dashboard {
	t.Helper()
	for _, d := range ds {
		if d.file == file {
			return d
		}
	}
	t.Fatalf("no dashboard %s", file)
	return nil
}

// compareQueries expands and runs both queries; "" when they return the
// same columns and rows, else what differs. For an approx panel each
// estimate must also lie within the bounds query's bounds.
func compareQueries(t *testing.T, rp rawPanel, panelSQL string, sc scope) string {
	t.Helper()
	run := func(sql string) *chstore.Rows {
		t.Helper()
		x, err := expand(sql, sc)
		if err != nil {
			t.Fatal(err)
		}
		return query(t, x)
	}
	want, got := run(rp.SQL), run(panelSQL)
	if strings.Join(want.Columns, ",") != strings.Join(got.Columns, ",") {
		return fmt.Sprintf("columns %v, want %v", got.Columns, want.Columns)
	}
	w, g := rowKeys(want.Data, rp.Approx), rowKeys(got.Data, rp.Approx)
	if len(w) != len(g) {
		return fmt.Sprintf("%d rows, want %d\n got %.800s\nwant %.800s", len(g), len(w), keysOf(g), keysOf(w))
	}
	for i := range w {
		if w[i].key != g[i].key {
			return fmt.Sprintf("row %d differs\n got %s\nwant %s\n(all: got %.600s\nwant %.600s)", i, g[i].key, w[i].key, keysOf(g), keysOf(w))
		}
	}
	if !rp.Approx {
		return ""
	}
	if rp.Bounds == "" {
		t.Fatalf("%s %q: approx without bounds", rp.File, rp.Title)
	}
	bounds := map[string][]float64{}
	for _, b := range rowKeys(run(rp.Bounds).Data, true) {
		bounds[b.key] = b.floats
	}
	for _, r := range g {
		b, ok := bounds[r.key]
		if !ok || len(b) != 2*len(r.floats) {
			return fmt.Sprintf("row %s: bounds %v for %d estimates", r.key, b, len(r.floats))
		}
		for j, x := range r.floats {
			// t-digests keep Float32 means.
			if lo, hi := b[2*j], b[2*j+1]; !(x >= lo-1e-6*math.Abs(lo) && x <= hi+1e-6*math.Abs(hi)) {
				return fmt.Sprintf("row %s: estimate %d is %v, outside the exact quantiles [%v, %v] at its level ± 0.05", r.key, j, x, lo, hi)
			}
		}
	}
	return ""
}

type rowKey struct {
	key    string
	floats []float64 // an approx row's estimates
}

func keysOf(rs []rowKey) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.key
	}
	return strings.Join(s, " | ")
}

// rowKeys renders rows for comparison, sorted (ties in ORDER BY may come
// in either order); floats to 9 significant digits, as sums over hours
// add in another order than sums over spans. An approx row's key leaves
// its floats out, which it keeps apart.
func rowKeys(rows [][]any, approx bool) []rowKey {
	out := make([]rowKey, 0, len(rows))
	for _, r := range rows {
		var k rowKey
		var cells []string
		for _, v := range r {
			f, isFloat := floatCell(v)
			switch x := v.(type) {
			case string:
				cells = append(cells, x)
			case time.Time:
				cells = append(cells, x.UTC().String())
			default:
				switch {
				case isFloat && approx:
					k.floats = append(k.floats, f)
				case isFloat:
					cells = append(cells, roundSig(f))
				default:
					cells = append(cells, fmt.Sprint(num(v))) // integers and decimals: exact sums
				}
			}
		}
		k.key = strings.Join(cells, ",")
		out = append(out, k)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// floatCell reads a Float32 or Float64 cell, NULL as NaN.
func floatCell(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case *float64:
		if x == nil {
			return math.NaN(), true
		}
		return *x, true
	case *float32:
		if x == nil {
			return math.NaN(), true
		}
		return float64(*x), true
	}
	return 0, false
}

func roundSig(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("%.9g", x)
}

// streamingDB is a copy of the reference workloads whose model calls
// stream and report a time to first token, under each of the keys the
// panel reads (and some under none). It has the whole schema, so its
// rollups are filled by the same views as aiops's.
const streamingDB = "aiops_streaming"

var streamingReady bool

func streamingCopy(t *testing.T) {
	t.Helper()
	if streamingReady {
		return
	}
	ctx := context.Background()
	if err := store.Exec(ctx, "DROP DATABASE IF EXISTS "+streamingDB); err != nil {
		t.Fatal(err)
	}
	if _, err := chstore.Migrate(ctx, store, chstore.SchemaOptions{Database: streamingDB}, "dashboards test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		streamingReady = false
		store.Exec(ctx, "DROP DATABASE IF EXISTS "+streamingDB)
	})
	// TTFT: a fifth of the call's duration, in seconds or milliseconds.
	err := store.Exec(ctx, `INSERT INTO `+streamingDB+`.genai_spans
SELECT * REPLACE (operation IN ('chat', 'text_completion', 'generate_content') AS streaming,
  mapUpdate(attributes, CAST(multiIf(
    cityHash64(span_id) % 4 = 0, map('gen_ai.server.time_to_first_token', toString(duration_ns / 5e9)),
    cityHash64(span_id) % 4 = 1, map('gen_ai.response.time_to_first_chunk', toString(duration_ns / 5e9)),
    cityHash64(span_id) % 4 = 2, map('ai.response.msToFirstChunk', toString(duration_ns / 5e6)),
    map('aiops.no_ttft', '1')) AS Map(LowCardinality(String), String))) AS attributes)
FROM `+database+`.genai_spans`)
	if err != nil {
		t.Fatal(err)
	}
	n := query(t, "SELECT countIf(streaming), sum(ttft_calls) FROM (SELECT streaming, 0 AS ttft_calls FROM "+streamingDB+".genai_spans UNION ALL SELECT false, ttft_calls FROM "+streamingDB+"."+chstore.LatencyHourly+")")
	if num(n.Data[0][0]) == 0 || num(n.Data[0][1]) == 0 {
		t.Fatalf("no streamed calls in the copy: %v", n.Data)
	}
	streamingReady = true
}

func (rp rawPanel) onDB(db string) rawPanel {
	rp.SQL, rp.Bounds = onDB(rp.SQL, db), onDB(rp.Bounds, db)
	return rp
}

// onDB points a query's tables at db.
func onDB(sql, db string) string {
	if db == database {
		return sql
	}
	return strings.ReplaceAll(sql, database+".", db+".")
}
