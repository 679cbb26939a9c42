// Package maturity measures how mature each AI workload's operations are from
// the telemetry otelcol-aiops stores in ClickHouse. Maturity models are
// usually questionnaires; here every "what you have" item of a model is one or
// more signals computed in SQL over a time window, with a threshold and
// evidence, and a workload reaches a stage when every required signal of that
// stage is met and every lower stage is reached.
//
// The rubrics are data: maturity/rubrics/*.yaml, embedded in the binary and
// replaceable by a directory of the same shape (see README.md).
package maturity

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

//go:embed rubrics/*.yaml
var builtinFS embed.FS

// Sources a measure can read. FromScoringDaily is genai_scoring_daily's
// rows over the window (see {{scoring_window}}).
const (
	FromGenAISpans   = "genai_spans"
	FromGenAIEvents  = "genai_events"
	FromSpans        = "spans"
	FromScoringDaily = "genai_scoring_daily"
	FromQuery        = "query"
)

// Measure is one value computed per workload over the window. Table measures
// (from genai_spans, genai_events or spans) are aggregate expressions that the
// scorer folds into one GROUP BY workload scan per table; query measures are
// full SELECTs returning a workload column, a value column and any context
// columns.
//
// SQL text may use {db} (the validated database name), the macros
// {{name}} (see Rubrics.Macros) and bound parameters {from:DateTime64(9)},
// {to:DateTime64(9)}, {workloads:Array(String)}, {slo_workloads:Array(String)},
// {slo_p95_ms:Array(Float64)}, {slo_error_rate:Array(Float64)} and
// {approved_models:Array(String)}. Nothing a user types reaches SQL text.
type Measure struct {
	ID          string `yaml:"id" json:"id"`
	Title       string `yaml:"title" json:"title"`
	Description string `yaml:"description" json:"description"`
	// Unit drives formatting: ratio, count, days, usd, bool, number.
	Unit string `yaml:"unit" json:"unit"`
	From string `yaml:"from" json:"from"`
	// Scope is "workload" (default) or "global": a global measure's first row
	// applies to every workload (platform breadth).
	Scope   string            `yaml:"scope" json:"scope,omitempty"`
	Value   string            `yaml:"value" json:"value,omitempty"`
	Context map[string]string `yaml:"context" json:"context,omitempty"`
	Query   string            `yaml:"query" json:"query,omitempty"`
	// Daily, on a query measure, is a per-day SELECT over raw rows returning
	// workload, day and the Facts columns (numbers), for the rows of
	// {{day_window}}; Query then reads them from {{daily}}. Whole past days'
	// facts are computed once and kept (facts.go), so the raw rows are read
	// only for days not seen before and the window's edges. Daily SQL must
	// be day-local: it may look past the day ({{lookup_from}}, {{lookup_to}},
	// {{judged_from}}, {{judged_to}}) but not use the window.
	Daily string   `yaml:"daily" json:"daily,omitempty"`
	Facts []string `yaml:"facts" json:"facts,omitempty"`
	// Advice says what to build when a signal on this measure is not met;
	// a signal's own advice wins.
	Advice string `yaml:"advice" json:"advice,omitempty"`
}

// Signal is one rubric item of one framework, measured against a threshold
// or declared in the workload registry.
type Signal struct {
	ID          string `yaml:"id" json:"id"`
	Stage       int    `yaml:"stage" json:"stage"`
	Domain      string `yaml:"domain" json:"domain"`
	Item        string `yaml:"item" json:"item"`
	Title       string `yaml:"title" json:"title"`
	Description string `yaml:"description" json:"description"`
	// Measure names the measure; Declared names a registry field instead.
	Measure  string `yaml:"measure" json:"measure,omitempty"`
	Declared string `yaml:"declared" json:"declared,omitempty"`
	// Comparison is one of >=, >, <=, <, ==, != against Threshold.
	Comparison string  `yaml:"comparison" json:"comparison"`
	Threshold  float64 `yaml:"threshold" json:"threshold"`
	// Absent says what a missing value (NULL: nothing to measure) means:
	// "unmet" (default) or "na", which counts as met and shows "n/a".
	Absent   string `yaml:"absent" json:"absent,omitempty"`
	Required bool   `yaml:"required" json:"required"`
	// Impact (1-10) ranks the unbuilt items of the next stage.
	Impact   float64 `yaml:"impact" json:"impact"`
	Evidence string  `yaml:"evidence" json:"evidence,omitempty"`
	// Advice says what to build when the signal is not met.
	Advice string `yaml:"advice" json:"advice,omitempty"`
	// MinEvidence states, from the article, the least telemetry that shows
	// the practice, so a single probe, a backfill or an unrelated trace does
	// not (see README.md).
	MinEvidence string `yaml:"min_evidence" json:"min_evidence,omitempty"`
	// Gaps name instrumentation gaps that hide this signal: when one is
	// present and the signal is not met, it is "not measurable", never met.
	Gaps []string `yaml:"gaps" json:"gaps,omitempty"`

	framework string
	tmpl      *template.Template
}

// Gap is an instrumentation gap: telemetry the workload's instrumentation
// does not report, which keeps some signals from being measured. It is
// present when its measure compares true against its threshold.
type Gap struct {
	ID         string  `yaml:"id" json:"id"`
	Title      string  `yaml:"title" json:"title"`
	Measure    string  `yaml:"measure" json:"measure"`
	Comparison string  `yaml:"comparison" json:"comparison"`
	Threshold  float64 `yaml:"threshold" json:"threshold"`
	Evidence   string  `yaml:"evidence" json:"evidence,omitempty"`
	// Fix says how to close the gap, for each instrumentation it names.
	Fix string `yaml:"fix" json:"fix"`

	tmpl *template.Template
}

// Level is one stage of a framework.
type Level struct {
	Level   int    `yaml:"level" json:"level"`
	Name    string `yaml:"name" json:"name"`
	Summary string `yaml:"summary" json:"summary,omitempty"`
}

// Framework is a maturity model and its signals.
type Framework struct {
	ID      string    `yaml:"id" json:"id"`
	Title   string    `yaml:"title" json:"title"`
	Source  string    `yaml:"source" json:"source,omitempty"`
	Unit    string    `yaml:"unit" json:"unit"` // "stage" or "level"
	Levels  []Level   `yaml:"levels" json:"levels"`
	Domains []string  `yaml:"domains" json:"domains,omitempty"`
	Signals []*Signal `yaml:"-" json:"-"`
}

// LevelName is the name of level n, "none" for 0.
func (f *Framework) LevelName(n int) string {
	for _, l := range f.Levels {
		if l.Level == n {
			return l.Name
		}
	}
	return "none"
}

// Top is the highest level.
func (f *Framework) Top() int { return f.Levels[len(f.Levels)-1].Level }

// Rubrics are the frameworks, measures and macros the scorer uses.
type Rubrics struct {
	Frameworks []*Framework
	Measures   map[string]*Measure
	Gaps       map[string]*Gap
	Macros     map[string]string
	// Version is a digest of the rubric files, recorded with every score.
	Version string
}

type rubricFile struct {
	Framework *Framework        `yaml:"framework"`
	Measures  []*Measure        `yaml:"measures"`
	Gaps      []*Gap            `yaml:"gaps"`
	Macros    map[string]string `yaml:"macros"`
	Signals   []*Signal         `yaml:"signals"`
}

// Builtin returns the embedded rubrics.
func Builtin() (*Rubrics, error) {
	sub, err := fs.Sub(builtinFS, "rubrics")
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

// MustBuiltin is Builtin for callers that ship the embedded files.
func MustBuiltin() *Rubrics {
	r, err := Builtin()
	if err != nil {
		panic(err)
	}
	return r
}

// LoadDir reads rubrics from dir, layered over the built-in ones: a file with
// the name of a built-in file replaces it, other *.yaml files are added.
func LoadDir(dir string) (*Rubrics, error) {
	if dir == "" {
		return Builtin()
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("rubrics: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("rubrics: %s is not a directory", dir)
	}
	sub, err := fs.Sub(builtinFS, "rubrics")
	if err != nil {
		return nil, err
	}
	return Load(overlayFS{top: os.DirFS(dir), base: sub})
}

// overlayFS lists the union of two flat directories; top wins by name.
type overlayFS struct{ top, base fs.FS }

func (o overlayFS) Open(name string) (fs.File, error) {
	if f, err := o.top.Open(name); err == nil {
		return f, nil
	}
	return o.base.Open(name)
}

func (o overlayFS) ReadDir(string) ([]fs.DirEntry, error) {
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, f := range []fs.FS{o.top, o.base} {
		ents, err := fs.ReadDir(f, ".")
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Load reads every *.yaml file at the top of fsys.
func Load(fsys fs.FS) (*Rubrics, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	r := &Rubrics{Measures: map[string]*Measure{}, Gaps: map[string]*Gap{}, Macros: map[string]string{}}
	for k, v := range builtinMacros {
		r.Macros[k] = v
	}
	h := sha256.New()
	var signals []*Signal
	frameworks := map[string]*Framework{}
	for _, e := range ents {
		if e.IsDir() || filepath.Ext(e.Name()) != ".yaml" {
			continue
		}
		raw, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		h.Write([]byte(e.Name()))
		h.Write(raw)
		var f rubricFile
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("rubric %s: %w", e.Name(), err)
		}
		for k, v := range f.Macros {
			r.Macros[k] = v
		}
		for _, g := range f.Gaps {
			if _, dup := r.Gaps[g.ID]; dup {
				return nil, fmt.Errorf("rubric %s: gap %q defined twice", e.Name(), g.ID)
			}
			r.Gaps[g.ID] = g
		}
		for _, m := range f.Measures {
			if _, dup := r.Measures[m.ID]; dup {
				return nil, fmt.Errorf("rubric %s: measure %q defined twice", e.Name(), m.ID)
			}
			r.Measures[m.ID] = m
		}
		if f.Framework != nil {
			if _, dup := frameworks[f.Framework.ID]; dup {
				return nil, fmt.Errorf("rubric %s: framework %q defined twice", e.Name(), f.Framework.ID)
			}
			frameworks[f.Framework.ID] = f.Framework
			r.Frameworks = append(r.Frameworks, f.Framework)
			for _, s := range f.Signals {
				s.framework = f.Framework.ID
				f.Framework.Signals = append(f.Framework.Signals, s)
			}
			signals = append(signals, f.Signals...)
		} else if len(f.Signals) > 0 {
			return nil, fmt.Errorf("rubric %s: signals without a framework", e.Name())
		}
	}
	sort.Slice(r.Frameworks, func(i, j int) bool { return frameworkOrder(r.Frameworks[i].ID) < frameworkOrder(r.Frameworks[j].ID) })
	r.Version = hex.EncodeToString(h.Sum(nil))[:12]
	return r, r.validate(signals)
}

func frameworkOrder(id string) string {
	switch id {
	case "llmops":
		return "0"
	case "aiops":
		return "1"
	}
	return "2" + id
}

var (
	idRE         = regexp.MustCompile(`^[a-z][a-z0-9_.]*$`)
	macroRE      = regexp.MustCompile(`\{\{([a-z_][a-z0-9_]*)\}\}`)
	paramRE      = regexp.MustCompile(`\{([a-z_][a-z0-9_]*):`)
	contextKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Parameters the scorer binds; a query naming any other fails validation.
var knownParams = map[string]bool{
	"from": true, "to": true, "workloads": true, "slo_workloads": true,
	"slo_p95_ms": true, "slo_error_rate": true, "approved_models": true,
	"day_from": true, "day_to": true,
}

// validateDaily checks a query measure's daily facts: day-local SQL (no
// window, workload filter or registry parameter, which its kept facts could
// not follow) returning numeric facts the query reads from {{daily}}.
func (r *Rubrics) validateDaily(m *Measure) []error {
	var errs []error
	usesDaily := strings.Contains(m.Query, "{{daily}}")
	if m.Daily == "" {
		if usesDaily || len(m.Facts) > 0 {
			errs = append(errs, fmt.Errorf("measure %s: {{daily}} and facts need a daily query", m.ID))
		}
		return errs
	}
	if !usesDaily {
		errs = append(errs, fmt.Errorf("measure %s: the query must read the daily facts from {{daily}}", m.ID))
	}
	if len(m.Facts) == 0 {
		errs = append(errs, fmt.Errorf("measure %s: a daily query needs facts (the numeric columns it returns besides workload and day)", m.ID))
	}
	for _, f := range m.Facts {
		if !contextKeyRE.MatchString(f) || f == "workload" || f == "day" {
			errs = append(errs, fmt.Errorf("measure %s: fact %q must match %s and not be workload or day", m.ID, f, contextKeyRE))
		}
	}
	x, err := r.expand(m.Daily)
	if err != nil {
		return append(errs, fmt.Errorf("measure %s: daily: %w", m.ID, err))
	}
	if !strings.Contains(x, "{day_from:") {
		errs = append(errs, fmt.Errorf("measure %s: daily must read its rows through {{day_window}}", m.ID))
	}
	for _, p := range paramRE.FindAllStringSubmatch(x, -1) {
		if p[1] != "day_from" && p[1] != "day_to" {
			errs = append(errs, fmt.Errorf("measure %s: daily may not use {%s:...}: kept facts must not depend on the window, filter or registry", m.ID, p[1]))
		}
	}
	return errs
}

var comparisons = map[string]bool{">=": true, ">": true, "<=": true, "<": true, "==": true, "!=": true}

// Declarable registry fields.
var declarable = map[string]bool{
	"owner": true, "team": true, "on_call": true, "risk_tier": true, "last_review": true,
	"runbook": true, "slo": true, "description": true, "data_classification": true,
}

func (r *Rubrics) validate(signals []*Signal) error {
	var errs []error
	if len(r.Frameworks) == 0 {
		errs = append(errs, errors.New("rubrics: no framework defined"))
	}
	for id, m := range r.Measures {
		if !idRE.MatchString(id) {
			errs = append(errs, fmt.Errorf("measure %q: id must match %s", id, idRE))
		}
		switch m.From {
		case FromGenAISpans, FromGenAIEvents, FromSpans, FromScoringDaily:
			if m.Value == "" || m.Query != "" {
				errs = append(errs, fmt.Errorf("measure %s: from %s needs value (an aggregate expression) and no query", id, m.From))
			}
		case FromQuery:
			if m.Query == "" || m.Value != "" || len(m.Context) > 0 {
				errs = append(errs, fmt.Errorf("measure %s: from query needs query and no value/context (return context as extra columns)", id))
			}
			errs = append(errs, r.validateDaily(m)...)
		default:
			errs = append(errs, fmt.Errorf("measure %s: from %q is not one of genai_spans, genai_events, spans, genai_scoring_daily, query", id, m.From))
		}
		if m.From != FromQuery && (m.Daily != "" || len(m.Facts) > 0) {
			errs = append(errs, fmt.Errorf("measure %s: daily and facts belong to a query measure", id))
		}
		switch m.Scope {
		case "", "workload", "global":
		default:
			errs = append(errs, fmt.Errorf("measure %s: scope %q is not workload or global", id, m.Scope))
		}
		for k := range m.Context {
			if !contextKeyRE.MatchString(k) {
				errs = append(errs, fmt.Errorf("measure %s: context key %q must match %s", id, k, contextKeyRE))
			}
		}
		for _, sql := range append([]string{m.Value, m.Query, m.Daily}, mapValues(m.Context)...) {
			x, err := r.expand(sql)
			if err != nil {
				errs = append(errs, fmt.Errorf("measure %s: %w", id, err))
				continue
			}
			for _, p := range paramRE.FindAllStringSubmatch(x, -1) {
				if !knownParams[p[1]] {
					errs = append(errs, fmt.Errorf("measure %s: unknown parameter {%s:...}", id, p[1]))
				}
			}
		}
	}
	for id, g := range r.Gaps {
		where := fmt.Sprintf("gap %q", id)
		if !idRE.MatchString(id) || g.Title == "" || g.Fix == "" {
			errs = append(errs, fmt.Errorf("%s: needs an id matching %s, a title and a fix", where, idRE))
		}
		if _, ok := r.Measures[g.Measure]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown measure %q", where, g.Measure))
		}
		if !comparisons[g.Comparison] {
			errs = append(errs, fmt.Errorf("%s: comparison %q is not one of >=, >, <=, <, ==, !=", where, g.Comparison))
		}
		if g.Evidence != "" {
			t, err := template.New(id).Funcs(evidenceFuncs).Option("missingkey=zero").Parse(g.Evidence)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: evidence: %w", where, err))
			}
			g.tmpl = t
		}
	}
	seen := map[string]bool{}
	for _, f := range r.Frameworks {
		if !idRE.MatchString(f.ID) || len(f.Levels) == 0 {
			errs = append(errs, fmt.Errorf("framework %q: needs an id and levels", f.ID))
			continue
		}
		for i, l := range f.Levels {
			if l.Level != i+1 {
				errs = append(errs, fmt.Errorf("framework %s: levels must be numbered 1..n in order", f.ID))
			}
		}
		domains := map[string]bool{}
		for _, d := range f.Domains {
			domains[d] = true
		}
		for _, s := range f.Signals {
			where := fmt.Sprintf("framework %s signal %q", f.ID, s.ID)
			if !idRE.MatchString(s.ID) || !strings.HasPrefix(s.ID, f.ID+".") {
				errs = append(errs, fmt.Errorf("%s: id must start with %q and match %s", where, f.ID+".", idRE))
			}
			if seen[s.ID] {
				errs = append(errs, fmt.Errorf("%s: defined twice", where))
			}
			seen[s.ID] = true
			if s.Stage < 1 || s.Stage > f.Top() {
				errs = append(errs, fmt.Errorf("%s: stage %d is outside 1..%d", where, s.Stage, f.Top()))
			}
			if len(domains) > 0 && !domains[s.Domain] {
				errs = append(errs, fmt.Errorf("%s: domain %q is not one of %v", where, s.Domain, f.Domains))
			}
			switch {
			case (s.Measure == "") == (s.Declared == ""):
				errs = append(errs, fmt.Errorf("%s: set exactly one of measure and declared", where))
			case s.Measure != "":
				if _, ok := r.Measures[s.Measure]; !ok {
					errs = append(errs, fmt.Errorf("%s: unknown measure %q", where, s.Measure))
				}
				if !comparisons[s.Comparison] {
					errs = append(errs, fmt.Errorf("%s: comparison %q is not one of >=, >, <=, <, ==, !=", where, s.Comparison))
				}
			case !declarable[s.Declared]:
				errs = append(errs, fmt.Errorf("%s: declared field %q is not a registry field", where, s.Declared))
			}
			switch s.Absent {
			case "", "unmet", "na":
			default:
				errs = append(errs, fmt.Errorf("%s: absent %q is not unmet or na", where, s.Absent))
			}
			if s.Title == "" || s.Item == "" {
				errs = append(errs, fmt.Errorf("%s: title and item are required", where))
			}
			for _, g := range s.Gaps {
				if _, ok := r.Gaps[g]; !ok {
					errs = append(errs, fmt.Errorf("%s: unknown gap %q", where, g))
				}
			}
			if s.Declared != "" && len(s.Gaps) > 0 {
				errs = append(errs, fmt.Errorf("%s: a declared signal has no instrumentation gaps", where))
			}
			if s.Evidence != "" {
				t, err := template.New(s.ID).Funcs(evidenceFuncs).Option("missingkey=zero").Parse(s.Evidence)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: evidence: %w", where, err))
				}
				s.tmpl = t
			}
		}
	}
	_ = signals
	return errors.Join(errs...)
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// builtinMacros are always defined; rubric files may add or replace macros.
// The scorer replaces those of rollupMacros for each run (score.go).
var builtinMacros = map[string]string{
	"window": "timestamp >= {from:DateTime64(9)} AND timestamp < {to:DateTime64(9)} AND {{workload_filter}}",
	// every_workload is the window without the workload filter.
	"every_workload":  "timestamp >= {from:DateTime64(9)} AND timestamp < {to:DateTime64(9)}",
	"workload_filter": "(empty({workloads:Array(String)}) OR has({workloads:Array(String)}, workload))",
	// The instants that split the window in thirds (cost_per_call_change).
	"first_third_end":  "{from:DateTime64(9)} + toIntervalSecond(intDiv(dateDiff('second', {from:DateTime64(9)}, {to:DateTime64(9)}), 3))",
	"last_third_start": "{to:DateTime64(9)} - toIntervalSecond(intDiv(dateDiff('second', {from:DateTime64(9)}, {to:DateTime64(9)}), 3))",
	// Daily SQL's rows: [day_from, day_to), bound per range by the scorer.
	"day_from":   "{day_from:DateTime64(9)}",
	"day_to":     "{day_to:DateTime64(9)}",
	"day_window": "timestamp >= {{day_from}} AND timestamp < {{day_to}}",
	// Lookups of daily SQL reach past the day's rows: the trace's other
	// spans an hour either side (traces that cross midnight), the call an
	// evaluation judged a day either side. They are relative to the day,
	// not the range a run computes, so a day's facts do not depend on it.
	"lookup_from": "toStartOfDay({{day_from}}) - INTERVAL 1 HOUR",
	"lookup_to":   "toStartOfDay({{day_from}}) + INTERVAL 25 HOUR",
	"judged_from": "toStartOfDay({{day_from}}) - INTERVAL 1 DAY",
	"judged_to":   "toStartOfDay({{day_from}}) + INTERVAL 2 DAY",
	// A query's daily facts; the scorer binds it per measure (facts.go).
	"daily": "SELECT '' AS workload, toDate(0) AS day LIMIT 0",
	// A span that is not the second report of a call (aitrace names the
	// span it repeats). Measures on genai_spans use it through model_call.
	"not_duplicate": "attributes['aiops.usage.duplicate_of'] = ''",
}

// rollupMacros are the sources of the rollup measures, read from the spans
// alone (rollups false: a store not migrated to them yet) or from whole days
// of the rollups and the spans of the days the window cuts. A day is cut
// when the window's start or end, or a third of it, falls inside it: a
// rollup row then always lies wholly on one side of every instant a
// measure compares times with.
func rollupMacros(rollups bool) map[string]string {
	if !rollups {
		return map[string]string{
			"scoring_window":         chstore.ScoringDailySource("{db}", "", "{{window}}", false),
			"scoring_every_workload": chstore.ScoringDailySource("{db}", "", "{{every_workload}}", false),
			"scoring_until_to":       chstore.ScoringDailySource("{db}", "", "timestamp < {to:DateTime64(9)} AND {{workload_filter}}", false),
			"users_window":           chstore.UsersDailySource("{db}", "", "{{window}}", false),
		}
	}
	instants := []string{"{from:DateTime64(9)}", "{to:DateTime64(9)}", "{{first_third_end}}", "{{last_third_start}}"}
	var cut []string
	for _, t := range instants {
		cut = append(cut, fmt.Sprintf("(%[1]s != toStartOfDay(%[1]s) AND timestamp >= toStartOfDay(%[1]s) AND timestamp < toStartOfDay(%[1]s) + INTERVAL 1 DAY)", t))
	}
	// Cut days: the raw part. Whole days: the rollup part.
	raw := "(" + strings.Join(cut, " OR ") + ")"
	cutDays := "arrayMap(t -> toDate(t), arrayFilter(t -> t != toStartOfDay(t), [" + strings.Join(instants, ", ") + "]))"
	days := "day >= toDate({from:DateTime64(9)}) AND day < toDate({to:DateTime64(9)}) AND NOT has(" + cutDays + ", day)"
	return map[string]string{
		"scoring_window":         chstore.ScoringDailySource("{db}", days+" AND {{workload_filter}}", "{{window}} AND "+raw, true),
		"scoring_every_workload": chstore.ScoringDailySource("{db}", days, "{{every_workload}} AND "+raw, true),
		"scoring_until_to": chstore.ScoringDailySource("{db}", "day < toDate({to:DateTime64(9)}) AND NOT has("+cutDays+", day) AND {{workload_filter}}",
			"timestamp < {to:DateTime64(9)} AND "+raw+" AND {{workload_filter}}", true),
		"users_window": chstore.UsersDailySource("{db}", days+" AND {{workload_filter}}", "{{window}} AND "+raw, true),
	}
}

func init() {
	for k, v := range rollupMacros(false) {
		builtinMacros[k] = v
	}
}

// expand replaces {{macro}} references, recursively, and then {db} is
// substituted by the scorer with a validated identifier.
func (r *Rubrics) expand(sql string) (string, error) {
	for depth := 0; depth < 8; depth++ {
		var missing string
		out := macroRE.ReplaceAllStringFunc(sql, func(m string) string {
			name := m[2 : len(m)-2]
			v, ok := r.Macros[name]
			if !ok {
				missing = name
				return m
			}
			return "(" + v + ")"
		})
		if missing != "" {
			return "", fmt.Errorf("unknown macro {{%s}}", missing)
		}
		if out == sql {
			return out, nil
		}
		sql = out
	}
	return "", errors.New("macros nest deeper than 8")
}

// Framework returns the framework with id, or nil.
func (r *Rubrics) Framework(id string) *Framework {
	for _, f := range r.Frameworks {
		if f.ID == id {
			return f
		}
	}
	return nil
}
