package maturity

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestReachedNeedsEveryRequiredSignalAndEveryLowerStage(t *testing.T) {
	f := &Framework{ID: "x", Levels: []Level{{1, "a", ""}, {2, "b", ""}, {3, "c", ""}}}
	rs := []SignalResult{
		{Stage: 1, Required: true, Met: true},
		{Stage: 2, Required: true, Met: false},
		{Stage: 2, Required: false, Met: false},
		{Stage: 3, Required: true, Met: true}, // met, but stage 2 is not reached
	}
	met := func(r *SignalResult) bool { return r.Met }
	if got := reached(f, rs, met); got != 1 {
		t.Fatalf("stage %d, want 1", got)
	}
	// Not measurable is never met; it only raises the possible stage.
	rs[1].Status = StatusNotMeasurable
	if got := reached(f, rs, met); got != 1 {
		t.Fatalf("stage %d with a not-measurable signal, want 1", got)
	}
	possible := func(r *SignalResult) bool { return r.Met || r.Status == StatusNotMeasurable }
	if got := reached(f, rs, possible); got != 3 {
		t.Fatalf("possible stage %d, want 3", got)
	}
	rs[1].Met = true
	if got := reached(f, rs, met); got != 3 {
		t.Fatalf("stage %d, want 3 (an unmet optional signal does not block)", got)
	}
	rs[0].Met = false
	if got := reached(f, rs, met); got != 0 {
		t.Fatalf("stage %d, want 0", got)
	}
}

func TestNextStageRanksRequiredThenImpact(t *testing.T) {
	f := &Framework{ID: "x", Levels: []Level{{1, "a", ""}, {2, "b", ""}}}
	low := 0.01
	ns := nextStage(f, 2, []SignalResult{
		{ID: "x.low", Stage: 2, Required: true, Impact: 2, Value: &low, Display: "1%", Target: "≥ 90%"},
		{ID: "x.opt", Stage: 2, Required: false, Impact: 10},
		{ID: "x.high", Stage: 2, Required: true, Impact: 9, Display: "—"},
		{ID: "x.done", Stage: 2, Required: true, Impact: 10, Met: true},
		{ID: "x.other", Stage: 1, Required: true, Impact: 10},
	})
	var ids []string
	for _, it := range ns.Items {
		ids = append(ids, it.Signal)
	}
	if strings.Join(ids, ",") != "x.high,x.low,x.opt" || ns.Items[1].Gap != "value 1%, target ≥ 90%" || ns.Items[0].Gap != "nothing measured yet, target " {
		t.Fatalf("next: %v %+v", ids, ns.Items)
	}
}

func TestDomainLevel(t *testing.T) {
	f := &Framework{ID: "x", Levels: []Level{{1, "a", ""}, {2, "b", ""}, {3, "c", ""}, {4, "d", ""}}}
	rs := []SignalResult{
		{Domain: "cost", Stage: 2, Required: true, Met: true},
		{Domain: "cost", Stage: 3, Required: true, Met: true},
		{Domain: "cost", Stage: 4, Required: true, Met: false},
		{Domain: "ops", Stage: 1, Required: true, Met: false},
		{Domain: "ops", Stage: 3, Required: true, Met: true},
	}
	if got := domainLevel(f, "cost", rs); got != 3 {
		t.Errorf("cost: %d, want 3", got)
	}
	if got := domainLevel(f, "ops", rs); got != 0 {
		t.Errorf("ops: %d, want 0", got)
	}
}

func TestFormatting(t *testing.T) {
	one, half := 1.0, 0.5
	for _, c := range []struct {
		v    any
		unit string
		want string
	}{
		{0.975, "ratio", "97.5%"}, {0.9, "ratio", "90%"}, {0.99999, "ratio", "99.9%"}, {uint64(1234567), "count", "1,234,567"},
		{12.345, "usd", "$12.35"}, {-0.0012, "usd", "-$0.0012"}, {&one, "bool", "yes"}, {&half, "days", "0.5 d"}, {nil, "ratio", "—"},
		{[]string{"b", "a"}, "", "a, b"},
	} {
		if got := fmtValue(c.v, c.unit); got != c.want {
			t.Errorf("fmtValue(%v, %s) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	if got := comparisonText(">=", 1, "bool"); got != "yes" {
		t.Errorf("bool target %q", got)
	}
}

func TestRubricValidationNamesTheProblem(t *testing.T) {
	base := `framework: {id: t, title: T, unit: stage, levels: [{level: 1, name: One}]}
measures:
  - {id: m, title: M, unit: count, from: genai_spans, value: "count()"}
signals:
`
	for sig, want := range map[string]string{
		`  - {id: t.a, stage: 1, item: I, title: T, measure: nope, comparison: ">=", threshold: 1, required: true}`:    `unknown measure "nope"`,
		`  - {id: t.a, stage: 1, item: I, title: T, measure: m, comparison: "=>", threshold: 1, required: true}`:       `comparison "=>"`,
		`  - {id: t.a, stage: 7, item: I, title: T, measure: m, comparison: ">=", threshold: 1, required: true}`:       `stage 7 is outside 1..1`,
		`  - {id: other.a, stage: 1, item: I, title: T, measure: m, comparison: ">=", threshold: 1, required: true}`:   `id must start with "t."`,
		`  - {id: t.a, stage: 1, item: I, title: T, declared: shoe_size, required: false}`:                             `declared field "shoe_size"`,
		`  - {id: t.a, stage: 1, item: I, title: T, measure: m, comparison: ">=", threshold: 1, evidence: "{{.Value"}`: `evidence`,
		`  - {id: t.a, stage: 1, item: I, title: T, measure: m, comparison: ">=", threshold: 1, absent: maybe}`:        `absent "maybe"`,
		`  - {id: t.a, stage: 1, item: I, title: T, measure: m, comparison: ">=", threshold: 1, required: true, x: 1}`: `field x not found`,
	} {
		_, err := Load(fstest.MapFS{"t.yaml": {Data: []byte(base + sig)}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\n  got %v, want an error containing %q", sig, err, want)
		}
	}
	for measure, want := range map[string]string{
		`  - {id: q, title: Q, unit: count, from: query, query: "SELECT {{nope}}"}`:        "unknown macro {{nope}}",
		`  - {id: q, title: Q, unit: count, from: query, query: "SELECT {secret:String}"}`: "unknown parameter {secret:...}",
		`  - {id: q, title: Q, unit: count, from: elsewhere, value: "1"}`:                  `from "elsewhere"`,
		`  - {id: q, title: Q, unit: count, from: genai_spans, query: "SELECT 1"}`:         "needs value",
	} {
		doc := strings.Replace(base, "measures:\n", "measures:\n"+measure+"\n", 1)
		_, err := Load(fstest.MapFS{"t.yaml": {Data: []byte(doc)}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\n  got %v, want an error containing %q", measure, err, want)
		}
	}
}

// A directory of rubric files replaces built-in files by name and adds new
// ones: here the LLMOps pinning threshold is lowered and a framework added.
func TestRubricOverrideDirectory(t *testing.T) {
	dir := t.TempDir()
	builtin, err := builtinFS.ReadFile("rubrics/llmops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mod := strings.Replace(string(builtin), "    measure: model_pinning\n    comparison: \">=\"\n    threshold: 0.95", "    measure: model_pinning\n    comparison: \">=\"\n    threshold: 0.5", 1)
	if mod == string(builtin) {
		t.Fatal("pinning threshold not found in llmops.yaml")
	}
	if err := os.WriteFile(filepath.Join(dir, "llmops.yaml"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := `framework: {id: house, title: House rules, unit: level, levels: [{level: 1, name: Basic}]}
signals:
  - {id: house.cache, stage: 1, domain: cost, item: We cache, title: Caching, measure: cache_read_share, comparison: ">=", threshold: 0.2, required: true}
`
	if err := os.WriteFile(filepath.Join(dir, "house.yaml"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Frameworks) != 3 || r.Frameworks[2].ID != "house" {
		t.Fatalf("frameworks %v", r.Frameworks)
	}
	for _, s := range r.Framework("llmops").Signals {
		if s.ID == "llmops.s3.model_pinning" && s.Threshold != 0.5 {
			t.Fatalf("override not applied: %v", s.Threshold)
		}
	}
	b, _ := Builtin()
	if r.Version == b.Version {
		t.Fatal("the rubric version does not change with the files")
	}
}

func TestRegistry(t *testing.T) {
	r, err := ParseRegistry([]byte(`
approved_models: [gpt-4o-2024-08-06]
workloads:
  - {name: a, owner: o@example.com, last_review: 2026-10-01, slo: {latency_p95_ms: 2000, error_rate: 0.01}}
  - {name: b}
`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if text, v := r.Lookup("a").declared("last_review", now); text != "2026-10-01" || *v != 31 {
		t.Fatalf("last_review: %q %v", text, *v)
	}
	if _, v := r.Lookup("b").declared("owner", now); v != nil {
		t.Fatal("b has no owner")
	}
	if names, p95, e := r.sloParams(); len(names) != 1 || p95[0] != 2000 || e[0] != 0.01 {
		t.Fatalf("slo params %v %v %v", names, p95, e)
	}
	for doc, want := range map[string]string{
		"workloads: [{name: a}, {name: a}]":                `"a" is listed twice`,
		"workloads: [{owner: x}]":                          "name is required",
		"workloads: [{name: a, slo: {latency_p95_ms: 0}}]": "slo needs latency_p95_ms > 0",
		"workloads: [{name: a, pager: x}]":                 "field pager not found",
	} {
		if _, err := ParseRegistry([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", doc, err, want)
		}
	}
	if r, err := ParseRegistry(nil); err != nil || len(r.Workloads) != 0 {
		t.Fatalf("empty registry: %v", err)
	}
}

// Values a user types (workload names, registry entries) are bound, never
// spliced: a hostile workload filter is just a name nobody has.
func TestWorkloadFilterIsBound(t *testing.T) {
	s := migrated(t, "bound")
	ctx := context.Background()
	if err := s.Exec(ctx, "INSERT INTO bound.genai_spans (timestamp, workload, operation, provider, request_model) VALUES (now64(9) - INTERVAL 1 HOUR, 'w1', 'chat', 'openai', 'gpt-4o')"); err != nil {
		t.Fatal(err)
	}
	reg := &Registry{Workloads: []RegisteredWorkload{{Name: "w1' OR 1=1 --", SLO: &SLO{LatencyP95Ms: 1, ErrorRate: 0}}}, ApprovedModels: []string{"x'); DROP TABLE bound.genai_spans; --"}}
	now := time.Now()
	rep, err := Score(ctx, s, Options{Database: "bound", From: now.Add(-24 * time.Hour), To: now, Workloads: []string{"w1' OR '1'='1"}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workloads) != 0 {
		t.Fatalf("the filter matched %d workloads", len(rep.Workloads))
	}
	rep, err = Score(ctx, s, Options{Database: "bound", From: now.Add(-24 * time.Hour), To: now, Registry: reg})
	if err != nil || len(rep.Workloads) != 1 || rep.Workloads[0].Score("llmops").Stage != 1 {
		t.Fatalf("unfiltered: %v %+v", err, rep)
	}
	if _, err := Score(ctx, s, Options{Database: "bound; DROP", From: now.Add(-time.Hour), To: now}); err == nil {
		t.Fatal("bad database accepted")
	}
	if _, err := Score(ctx, s, Options{Database: "bound", From: now, To: now}); err == nil {
		t.Fatal("empty window accepted")
	}
}

func TestRecordAndRegressions(t *testing.T) {
	s := migrated(t, "hist")
	ctx := context.Background()
	if err := s.Exec(ctx, "INSERT INTO hist.genai_spans (timestamp, workload, operation, provider, request_model, status_code) VALUES (now64(9) - INTERVAL 1 HOUR, 'w', 'chat', 'openai', 'gpt-4o', 'Unset')"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	opts := Options{Database: "hist", From: now.Add(-24 * time.Hour), To: now, History: true, RunID: "r1"}
	first, err := Score(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.PreviousRunAt != nil {
		t.Fatal("no previous run yet")
	}
	if err := Record(ctx, s, "hist", first); err != nil {
		t.Fatal(err)
	}
	if err := Record(ctx, s, "hist", first); err != nil { // same run again: deduplicated
		t.Fatal(err)
	}
	rows, err := s.Query(ctx, "SELECT count(), uniqExact(signal_id) FROM hist.maturity_scores")
	if err != nil || rows.Data[0][0] != rows.Data[0][1] {
		t.Fatalf("recorded twice: %v %v", err, rows.Data)
	}
	// The only call now fails: stage 1 is lost.
	if err := s.Exec(ctx, "ALTER TABLE hist.genai_spans UPDATE status_code = 'Error' WHERE 1 SETTINGS mutations_sync = 1"); err != nil {
		t.Fatal(err)
	}
	opts.RunID = "r2"
	second, err := Score(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	sc := second.Workload("w").Score("llmops")
	if sc.Previous == nil || sc.Previous.RunID != "r1" || sc.Stage != 0 || len(sc.Regressions) < 2 || sc.Regressions[0].Kind != "stage" {
		t.Fatalf("previous %+v, stage %d, regressions %+v", sc.Previous, sc.Stage, sc.Regressions)
	}
	found := false
	for _, r := range sc.Regressions {
		found = found || r.Signal == "llmops.s1.useful_output"
	}
	if !found {
		t.Fatalf("the lost signal is not named: %+v", sc.Regressions)
	}
	// The trend reads r1 (stage 1) then this run (stage 0), each with the
	// signals it met: r1 met one more (the call succeeded).
	tr := sc.Trend
	if len(tr) != 2 || tr[0].RunID != "r1" || tr[0].Stage != 1 || tr[1].RunID != "r2" || tr[1].Stage != 0 ||
		tr[0].Signals != len(sc.Signals) || tr[1].Signals != len(sc.Signals) || tr[0].Met <= tr[1].Met {
		t.Fatalf("trend %+v", tr)
	}
	if first.Workload("w").Score("llmops").Trend[0].RunID != "r1" || len(first.Workload("w").Score("llmops").Trend) != 1 {
		t.Fatalf("first run's trend %+v", first.Workload("w").Score("llmops").Trend)
	}
	if err := Record(ctx, s, "missing_db_x", second); err == nil {
		t.Fatal("recording into a database without maturity_scores succeeded")
	}
}
