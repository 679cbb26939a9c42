package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// TestRollupMeasuresMatchSpans proves the measures that read the scoring
// rollups (genai_scoring_daily, genai_users_daily) answer exactly what their
// spans-only definitions (testdata/raw_measures.yaml) answer: every signal's
// value, context, status and evidence, on the reference and adversarial
// workloads, for windows on day boundaries and windows that cut days, its
// thirds and a workload filter; with spans that repeat another's usage in
// some windows and none in others; and once more without the rollups.
func TestRollupMeasuresMatchSpans(t *testing.T) {
	apps := ReferenceApps()
	for _, a := range AdversarialApps() {
		apps = append(apps, a.App)
	}
	_, store := simulate(t, "rollups", apps)
	ctx := context.Background()
	start := testEnd.AddDate(0, 0, -14)
	// A few calls reported twice (two instrumentation layers) on one day:
	// windows over that day must read the duplicate marker.
	dupDay := start.AddDate(0, 0, 9)
	if err := store.Exec(ctx, fmt.Sprintf(`INSERT INTO rollups.genai_spans SELECT * REPLACE (
    concat(span_id, 'd') AS span_id, mapUpdate(attributes, map('aiops.usage.duplicate_of', span_id)) AS attributes, concat(insert_token, 'd') AS insert_token)
FROM rollups.genai_spans WHERE operation = 'chat' AND toDate(timestamp) = '%s' ORDER BY span_id LIMIT 7`, dupDay.Format("2006-01-02"))); err != nil {
		t.Fatal(err)
	}
	oracle := rawRubrics(t)
	builtin, err := maturity.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	reg := Registry(apps, testEnd)
	windows := []struct {
		name      string
		from, to  time.Time
		workloads []string
	}{
		{"whole days", start, testEnd, nil},
		{"cut days", start.Add(5*time.Hour + 17*time.Minute + 3*time.Second), testEnd.Add(-3*time.Hour - 41*time.Minute), nil},
		{"36 hours across midnight", dupDay.Add(-20 * time.Hour), dupDay.Add(16 * time.Hour), nil},
		{"before the repeats", start, dupDay, nil},
		{"one cut day", dupDay.Add(2 * time.Hour), dupDay.Add(9 * time.Hour), nil},
		{"filtered", start.Add(11 * time.Hour), testEnd, []string{"agent-platform", "rag-app", "streaming-app-no-usage"}},
	}
	check := func(t *testing.T, wantRollups bool) {
		for _, w := range windows {
			t.Run(w.name, func(t *testing.T) {
				var queries []string
				o := maturity.Options{Database: "rollups", From: w.from, To: w.to, Workloads: w.workloads, Registry: reg, RunID: "same",
					Observe: func(q string, _ time.Duration) { queries = append(queries, q) }}
				o.Rubrics = builtin
				got, err := maturity.Score(ctx, store, o)
				if err != nil {
					t.Fatal(err)
				}
				if used := contains(queries, "duplicates"); used != wantRollups {
					t.Fatalf("rollups read: %v, want %v (queries %v)", used, wantRollups, queries)
				}
				o.Rubrics, o.Observe = oracle, nil
				want, err := maturity.Score(ctx, store, o)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Workloads) == 0 {
					t.Fatal("no workload scored")
				}
				sameReports(t, got, want)
				checkInventory(t, store, o, got.Inventory)
			})
		}
	}
	t.Run("rollups", func(t *testing.T) { check(t, true) })
	// A store not migrated to the rollups yet: the same from the spans.
	for _, q := range []string{"DROP VIEW rollups.genai_scoring_daily_mv", "DROP VIEW rollups.genai_users_daily_mv",
		"DROP TABLE rollups.genai_scoring_daily", "DROP TABLE rollups.genai_users_daily"} {
		if err := store.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("spans only", func(t *testing.T) { check(t, false) })
}

// rawRubrics are the built-in rubrics with testdata/raw_measures.yaml's
// definitions in place of the built-in ones.
func rawRubrics(t *testing.T) *maturity.Rubrics {
	t.Helper()
	type file struct {
		Macros   map[string]string `yaml:"macros"`
		Gaps     []map[string]any  `yaml:"gaps,omitempty"`
		Measures []map[string]any  `yaml:"measures"`
	}
	read := func(path string) file {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f file
		if err := yaml.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	base, over := read("../rubrics/measures.yaml"), read("testdata/raw_measures.yaml")
	for k, v := range over.Macros {
		base.Macros[k] = v
	}
	byID := map[string]map[string]any{}
	for _, m := range over.Measures {
		byID[m["id"].(string)] = m
	}
	for i, m := range base.Measures {
		id := m["id"].(string)
		if r, ok := byID[id]; ok {
			base.Measures[i] = r
			delete(byID, id)
			continue
		}
		// Every measure that reads a rollup has a spans-only definition.
		text := fmt.Sprint(m)
		if m["from"] == maturity.FromScoringDaily || strings.Contains(text, "scoring_") || strings.Contains(text, "users_window") || m["daily"] != nil {
			t.Errorf("measure %s reads a rollup or day facts and has no definition in testdata/raw_measures.yaml", id)
		}
	}
	for id := range byID {
		t.Errorf("testdata/raw_measures.yaml: measure %s is not built in", id)
	}
	out, err := yaml.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "measures.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := maturity.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameReports compares every workload's scores: signals with their values,
// context, status and evidence, gaps, next steps, spend.
func sameReports(t *testing.T, got, want *maturity.Report) {
	t.Helper()
	index := func(r *maturity.Report) map[string]string {
		out := map[string]string{}
		for _, w := range r.Workloads {
			for _, fs := range w.Scores {
				for _, s := range fs.Signals {
					b, _ := json.Marshal(s)
					out[w.Workload+" "+s.ID] = string(b)
				}
				// The trend's point is dated by the run.
				fs.Signals, fs.Trend = nil, nil
				b, _ := json.Marshal(fs)
				out[w.Workload+" "+fs.Framework] = string(b)
			}
			w.Scores = nil
			b, _ := json.Marshal(w)
			out[w.Workload] = string(b)
		}
		return out
	}
	g, w := index(got), index(want)
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	diffs := 0
	for _, k := range keys {
		if g[k] != w[k] && diffs < 10 {
			diffs++
			t.Errorf("%s:\n rollups %.600s\n spans   %.600s", k, g[k], w[k])
		}
	}
	if len(g) != len(w) {
		t.Errorf("%d items, want %d", len(g), len(w))
	}
}

// checkInventory compares the inventory with its definition over the spans.
func checkInventory(t *testing.T, store chstore.Store, o maturity.Options, inv maturity.Inventory) {
	t.Helper()
	rows, err := store.Query(context.Background(), `SELECT workload, count(), countIf(operation IN ('chat', 'generate_content', 'text_completion', 'embeddings') AND attributes['aiops.usage.duplicate_of'] = ''),
    arraySort(groupUniqArrayIf(20)(service_name, service_name != '')), arraySort(groupUniqArrayIf(40)(request_model, request_model != '')),
    arraySort(groupUniqArrayIf(60)(tool_name, tool_name != '')), uniqIf(user_id, user_id != ''), uniqExactIf(tenant_id, tenant_id != ''),
    toFloat64(sum(cost_usd)), min(timestamp), max(timestamp)
FROM rollups.genai_spans
WHERE timestamp >= {from:DateTime64(9)} AND timestamp < {to:DateTime64(9)} AND (empty({w:Array(String)}) OR has({w:Array(String)}, workload))
GROUP BY workload ORDER BY workload`,
		chstore.Param{Name: "from", Value: o.From.UTC().Format("2006-01-02 15:04:05.000000000")},
		chstore.Param{Name: "to", Value: o.To.UTC().Format("2006-01-02 15:04:05.000000000")},
		chstore.ArrayParam("w", append([]string{}, o.Workloads...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != len(inv.Workloads) {
		t.Fatalf("inventory has %d workloads, the spans %d", len(inv.Workloads), len(rows.Data))
	}
	for i, r := range rows.Data {
		iw := inv.Workloads[i]
		want := []any{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]}
		got := []any{iw.Workload, iw.Spans, iw.ModelCalls, iw.Services, iw.Models, iw.Tools, iw.Users, iw.Tenants, iw.CostUSD, iw.FirstSeen, iw.LastSeen}
		for j := range want {
			if fmt.Sprint(got[j]) != fmt.Sprint(want[j]) && !reflect.DeepEqual(got[j], want[j]) {
				t.Errorf("inventory %s column %d: %v, spans say %v", iw.Workload, j, got[j], want[j])
			}
		}
	}
}
