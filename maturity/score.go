package maturity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Options say what to score.
type Options struct {
	// Database holds the otelcol-aiops tables; it must be a valid identifier.
	Database string
	// From and To bound the window, [From, To).
	From, To time.Time
	// Workloads limits the report to these workloads; empty scores all.
	// Platform-wide (global) signals still count every workload.
	Workloads []string
	// Registry holds declarations (owner, on-call, SLOs, model catalogue).
	Registry *Registry
	// Rubrics default to the built-in ones.
	Rubrics *Rubrics
	// Now dates declarations such as the last review; default To.
	Now time.Time
	// History compares with the previous run recorded in maturity_scores.
	History bool
	// RunID names this run; default derived from the time.
	RunID string
	// Observe, when set, hears how long each query took (table scans are
	// named after their table, query measures after the measure).
	Observe func(query string, took time.Duration)
}

// measureValue is one measure's result for one workload.
type measureValue struct {
	value *float64
	ctx   map[string]any
}

type scoring struct {
	store  chstore.Store
	o      Options
	r      *Rubrics
	params map[string]chstore.Param
	// values[measure][workload]; global measures use the key "".
	values    map[string]map[string]*measureValue
	workloads []string
	inventory map[string]*InventoryWorkload
	// clip bounds every string and list read from telemetry.
	clip clipper
	// spend and uninstrumented come from the reconciliation (spend.go).
	spend          map[string]*spendOf
	uninstrumented []UninstrumentedSpend
	// plain: the store refused scanSettings (a readonly user).
	plain bool
	// rollups: the store has the scoring rollups; facts: it has the day
	// facts table and has not refused a write to it (facts.go).
	rollups, facts bool
	stamps         map[string]uint64
	emptyDays      map[string]bool // days with no row in the tables day facts read
	paramSeq       int
}

// Score runs every measure the rubrics need, in one scan per table plus one
// query per query measure, and scores each workload in each framework.
func Score(ctx context.Context, store chstore.Store, o Options) (*Report, error) {
	start := time.Now()
	if err := chstore.ValidIdent(o.Database); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if !o.From.Before(o.To) {
		return nil, fmt.Errorf("window: from %s is not before to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.Rubrics == nil {
		r, err := Builtin()
		if err != nil {
			return nil, err
		}
		o.Rubrics = r
	}
	if o.Registry == nil {
		o.Registry = &Registry{}
	}
	if o.Now.IsZero() {
		o.Now = o.To
	}
	if o.RunID == "" {
		o.RunID = fmt.Sprintf("run-%s", time.Now().UTC().Format("20060102T150405.000000000"))
	}
	s := &scoring{store: store, o: o, r: o.Rubrics, values: map[string]map[string]*measureValue{}, inventory: map[string]*InventoryWorkload{}}
	s.bindParams()
	if err := s.useRollups(ctx); err != nil {
		return nil, err
	}
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	if err := s.loadSpend(ctx); err != nil {
		return nil, err
	}
	rep := s.report()
	if o.History {
		if err := applyHistory(ctx, store, o.Database, rep); err != nil {
			return nil, err
		}
	}
	addCurrentTrendPoint(rep)
	rep.DurationMs = float64(time.Since(start).Microseconds()) / 1000
	return rep, nil
}

func chTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000000") }

func floatArray(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (s *scoring) bindParams() {
	names, p95, errRate := s.o.Registry.sloParams()
	s.params = map[string]chstore.Param{
		"from":            {Name: "from", Value: chTime(s.o.From)},
		"to":              {Name: "to", Value: chTime(s.o.To)},
		"workloads":       chstore.ArrayParam("workloads", nonNil(s.o.Workloads)),
		"slo_workloads":   chstore.ArrayParam("slo_workloads", nonNil(names)),
		"slo_p95_ms":      {Name: "slo_p95_ms", Value: floatArray(p95)},
		"slo_error_rate":  {Name: "slo_error_rate", Value: floatArray(errRate)},
		"approved_models": chstore.ArrayParam("approved_models", nonNil(s.o.Registry.ApprovedModels)),
		// Placeholders of daily SQL; each live range binds its own (facts.go).
		"day_from": {Name: "day_from", Value: chTime(s.o.From)},
		"day_to":   {Name: "day_to", Value: chTime(s.o.To)},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sql expands macros and {db}, and returns the parameters the text uses.
func (s *scoring) sql(text string) (string, []chstore.Param, error) {
	x, err := s.r.expand(text)
	if err != nil {
		return "", nil, err
	}
	x = strings.ReplaceAll(x, "{db}", s.o.Database)
	var ps []chstore.Param
	seen := map[string]bool{}
	for _, m := range paramRE.FindAllStringSubmatch(x, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		p, ok := s.params[m[1]]
		if !ok {
			return "", nil, fmt.Errorf("unknown parameter {%s:...}", m[1])
		}
		ps = append(ps, p)
	}
	return x, ps, nil
}

// needed is every measure a signal references, sorted for stable SQL.
func (s *scoring) needed() []*Measure {
	set := map[string]bool{}
	for _, f := range s.r.Frameworks {
		for _, sig := range f.Signals {
			if sig.Measure != "" {
				set[sig.Measure] = true
			}
			for _, g := range sig.Gaps {
				set[s.r.Gaps[g].Measure] = true
			}
		}
	}
	out := make([]*Measure, 0, len(set))
	for id := range set {
		out = append(out, s.r.Measures[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// useRollups points the rollup measures' sources at the rollups when the
// store has them (migration 12), and drops the duplicate test from
// model_call when no span of the window's days repeats another: reading
// attributes is most of the cost of a scan of the spans.
func (s *scoring) useRollups(ctx context.Context) error {
	rows, err := s.store.Query(ctx, "SELECT countIf(name != {c:String}), countIf(name = {c:String}) FROM system.tables WHERE database = {db:String} AND name IN ({a:String}, {b:String}, {c:String})",
		chstore.StringParam("db", s.o.Database), chstore.StringParam("a", chstore.ScoringDaily), chstore.StringParam("b", chstore.UsersDaily),
		chstore.StringParam("c", chstore.FactsDaily))
	if err != nil {
		return fmt.Errorf("maturity: look for the rollups: %w", err)
	}
	rollups := len(rows.Data) == 1 && rows.Data[0][0] == uint64(2)
	s.rollups, s.facts = rollups, len(rows.Data) == 1 && rows.Data[0][1] == uint64(1)
	r := *s.r
	r.Macros = make(map[string]string, len(s.r.Macros)+5)
	for k, v := range s.r.Macros {
		r.Macros[k] = v
	}
	for k, v := range rollupMacros(rollups) {
		r.Macros[k] = v
	}
	s.r = &r
	if !rollups {
		return nil
	}
	text, ps, err := s.sql("SELECT count() FROM {db}." + chstore.ScoringDaily +
		" WHERE usage_duplicate AND day >= toDate({from:DateTime64(9)}) AND day <= toDate({to:DateTime64(9)})")
	if err != nil {
		return err
	}
	began := time.Now()
	if rows, err = s.store.Query(ctx, text, ps...); err != nil {
		return fmt.Errorf("maturity: look for repeated spans: %w", err)
	}
	s.observe("duplicates", began)
	if len(rows.Data) == 1 && rows.Data[0][0] == uint64(0) {
		r.Macros["not_duplicate"] = "1"
	}
	return nil
}

// inventoryColumns ride along the genai_scoring_daily scan; inv_users
// comes from genai_users_daily (inventoryUsers).
var inventoryColumns = []struct{ alias, expr string }{
	{"inv_spans", "sum(spans)"},
	{"inv_model_calls", "sumIf(spans, operation IN ('chat', 'generate_content', 'text_completion', 'embeddings') AND NOT usage_duplicate)"},
	{"inv_services", "arraySort(groupUniqArrayIf(20)(service_name, service_name != ''))"},
	{"inv_environments", "arraySort(groupUniqArrayIf(20)(environment, environment != ''))"},
	{"inv_providers", "arraySort(groupUniqArrayIf(20)(provider, provider != ''))"},
	{"inv_models", "arraySort(groupUniqArrayIf(40)(request_model, request_model != ''))"},
	{"inv_data_sources", "arraySort(groupUniqArrayIf(40)(data_source_id, data_source_id != ''))"},
	{"inv_tools", "arraySort(groupUniqArrayIf(60)(tool_name, tool_name != ''))"},
	{"inv_agents", "arraySort(groupUniqArrayIf(20)(agent_name, agent_name != ''))"},
	{"inv_teams", "arraySort(groupUniqArrayIf(20)(team, team != ''))"},
	{"inv_tenants", "uniqExactIf(tenant_id, tenant_id != '')"},
	{"inv_cost", "toFloat64(sum(cost_usd))"},
	{"inv_first", "min(first_seen)"},
	{"inv_last", "max(last_seen)"},
}

func (s *scoring) run(ctx context.Context) error {
	byTable := map[string][]*Measure{}
	var queries []*Measure
	for _, m := range s.needed() {
		if m.From == FromQuery {
			queries = append(queries, m)
			continue
		}
		key := m.From
		if m.Scope == "global" {
			key += "#global"
		}
		byTable[key] = append(byTable[key], m)
	}
	// genai_scoring_daily first: it names the workloads (and holds the
	// inventory), even when no measure reads it.
	keys := []string{FromScoringDaily}
	for k := range byTable {
		if k != FromScoringDaily {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys[1:])
	for _, k := range keys {
		if err := s.tableScan(ctx, k, byTable[k]); err != nil {
			return err
		}
	}
	if err := s.inventoryUsers(ctx); err != nil {
		return err
	}
	for _, m := range queries {
		if err := s.queryMeasure(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// scanSettings: measures test spans against sets of ids (trace_id IN
// (SELECT ...)) with up to millions of members. Preparing such a set for
// the bloom-filter indexes costs more than reading the column (17 s against
// 1.8 s on a 10M-row month), so only small sets go to the indexes.
const scanSettings = "\nSETTINGS use_index_for_in_with_subqueries_max_values = 10000"

// query runs a scoring query with scanSettings, or without them where the
// store's user may not change settings (a readonly reader).
func (s *scoring) query(ctx context.Context, text string, wrap bool, ps []chstore.Param) (*chstore.Rows, error) {
	if !s.plain {
		q := text + scanSettings
		if wrap { // a rubric's query may end in its own SETTINGS or a comment
			q = "SELECT * FROM (\n" + text + "\n)" + scanSettings
		}
		rows, err := s.store.Query(ctx, q, ps...)
		if err == nil || chstore.ClassifyError(err).Reason != chstore.ReasonReadOnly {
			return rows, err
		}
		s.plain = true
	}
	return s.store.Query(ctx, text, ps...)
}

func (s *scoring) tableScan(ctx context.Context, key string, ms []*Measure) error {
	table, global := strings.CutSuffix(key, "#global")
	var b strings.Builder
	if global {
		b.WriteString("SELECT '' AS workload")
	} else {
		b.WriteString("SELECT workload")
	}
	type ref struct {
		m   *Measure
		ctx string
	}
	var refs []ref
	alias := func(i int) string { return "m" + strconv.Itoa(i) }
	for _, m := range ms {
		fmt.Fprintf(&b, ",\n  CAST((%s) AS Nullable(Float64)) AS %s", m.Value, alias(len(refs)))
		refs = append(refs, ref{m: m})
		keys := make([]string, 0, len(m.Context))
		for k := range m.Context {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, ",\n  (%s) AS %s", m.Context[k], alias(len(refs)))
			refs = append(refs, ref{m: m, ctx: k})
		}
	}
	inventory := table == FromScoringDaily && !global
	if inventory {
		for _, c := range inventoryColumns {
			fmt.Fprintf(&b, ",\n  %s AS %s", c.expr, c.alias)
		}
	}
	switch {
	case table == FromScoringDaily && global:
		b.WriteString("\nFROM {{scoring_every_workload}}")
	case table == FromScoringDaily:
		b.WriteString("\nFROM {{scoring_window}}\nGROUP BY workload\nORDER BY workload")
	case global:
		fmt.Fprintf(&b, "\nFROM {db}.%s\nWHERE {{every_workload}}", table)
	default:
		fmt.Fprintf(&b, "\nFROM {db}.%s\nWHERE {{window}}\nGROUP BY workload\nORDER BY workload", table)
	}
	text, ps, err := s.sql(b.String())
	if err != nil {
		return err
	}
	began := time.Now()
	rows, err := s.query(ctx, text, false, ps)
	if err != nil {
		return fmt.Errorf("maturity: scan of %s: %w", table, err)
	}
	s.observe(key, began)
	for _, row := range rows.Data {
		w, _ := row[0].(string)
		w = s.clip.str(w)
		if inventory {
			s.workloads = append(s.workloads, w)
			s.addInventory(w, rows, row)
		}
		for i, rf := range refs {
			v := row[i+1]
			mv := s.value(rf.m.ID, w)
			if rf.ctx == "" {
				if f, ok := asFloat(v); ok && !math.IsInf(f, 0) {
					mv.value = &f
				}
			} else {
				mv.ctx[rf.ctx] = s.clip.value(v)
			}
		}
	}
	return nil
}

// inventoryUsers counts each workload's distinct users (uniq, as before
// the rollups) from genai_users_daily.
func (s *scoring) inventoryUsers(ctx context.Context) error {
	text, ps, err := s.sql("SELECT workload, uniqMerge(users) AS users FROM {{users_window}} GROUP BY workload")
	if err != nil {
		return err
	}
	began := time.Now()
	rows, err := s.store.Query(ctx, text, ps...)
	if err != nil {
		return fmt.Errorf("maturity: inventory users: %w", err)
	}
	s.observe("users", began)
	for _, row := range rows.Data {
		w, _ := row[0].(string)
		// Cut as the scan cut it; counted there.
		if inv := s.inventory[Truncate(w, MaxValueBytes)]; inv != nil {
			f, _ := asFloat(row[1])
			inv.Users = uint64(f)
		}
	}
	return nil
}

func (s *scoring) observe(name string, began time.Time) {
	if s.o.Observe != nil {
		s.o.Observe(name, time.Since(began))
	}
}

func (s *scoring) value(measure, workload string) *measureValue {
	byW := s.values[measure]
	if byW == nil {
		byW = map[string]*measureValue{}
		s.values[measure] = byW
	}
	mv := byW[workload]
	if mv == nil {
		mv = &measureValue{ctx: map[string]any{}}
		byW[workload] = mv
	}
	return mv
}

func (s *scoring) queryMeasure(ctx context.Context, m *Measure) error {
	if m.Daily != "" {
		src, err := s.dailySource(ctx, m)
		if err != nil {
			return fmt.Errorf("maturity: measure %s: %w", m.ID, err)
		}
		s.r.Macros["daily"] = src
	}
	text, ps, err := s.sql(m.Query)
	if err != nil {
		return fmt.Errorf("maturity: measure %s: %w", m.ID, err)
	}
	began := time.Now()
	rows, err := s.query(ctx, text, true, ps)
	if err != nil {
		return fmt.Errorf("maturity: measure %s: %w", m.ID, err)
	}
	s.observe(m.ID, began)
	if len(rows.Data) == 0 {
		return nil
	}
	wc, vc := rows.Col("workload"), rows.Col("value")
	if vc < 0 || (wc < 0 && m.Scope != "global") {
		return fmt.Errorf("maturity: measure %s: the query must return workload and value columns (got %v)", m.ID, rows.Columns)
	}
	for _, row := range rows.Data {
		w := ""
		if m.Scope != "global" {
			w, _ = row[wc].(string)
			w = s.clip.str(w)
		}
		mv := s.value(m.ID, w)
		if f, ok := asFloat(row[vc]); ok && !math.IsInf(f, 0) {
			mv.value = &f
		}
		for i, c := range rows.Columns {
			if i != wc && i != vc {
				mv.ctx[c] = s.clip.value(row[i])
			}
		}
		if m.Scope == "global" {
			break
		}
	}
	return nil
}

func strs(v any) []string {
	if l, ok := v.([]string); ok && l != nil {
		return l
	}
	return []string{}
}

func (s *scoring) addInventory(w string, rows *chstore.Rows, row []any) {
	get := func(c string) any { return row[rows.Col(c)] }
	u := func(c string) uint64 { f, _ := asFloat(get(c)); return uint64(f) }
	l := func(c string) []string { return s.clip.list(strs(get(c)), MaxListItems) }
	inv := &InventoryWorkload{
		Workload: w, Teams: l("inv_teams"), Services: l("inv_services"),
		Environments: l("inv_environments"), Providers: l("inv_providers"),
		Models: l("inv_models"), DataSources: l("inv_data_sources"),
		Tools: l("inv_tools"), Agents: l("inv_agents"),
		Spans: u("inv_spans"), ModelCalls: u("inv_model_calls"), Tenants: u("inv_tenants"),
	}
	inv.CostUSD, _ = asFloat(get("inv_cost"))
	inv.FirstSeen, _ = get("inv_first").(time.Time)
	inv.LastSeen, _ = get("inv_last").(time.Time)
	if reg := s.o.Registry.Lookup(w); reg != nil {
		inv.Registered, inv.Owner = true, reg.Owner
	}
	s.inventory[w] = inv
}

// lookup returns the measure's value for a workload (global measures apply
// to every workload).
func (s *scoring) lookup(m *Measure, w string) *measureValue {
	byW := s.values[m.ID]
	if m.Scope == "global" {
		w = ""
	}
	if mv := byW[w]; mv != nil {
		return mv
	}
	mv := &measureValue{ctx: map[string]any{}}
	if m.From != FromQuery && m.Unit == "count" {
		// A table scan without rows for the workload counted nothing.
		zero := 0.0
		mv.value = &zero
	}
	return mv
}

func (s *scoring) report() *Report {
	rep := &Report{
		Schema: ReportSchema, RunID: s.o.RunID, GeneratedAt: time.Now().UTC(), Database: s.o.Database,
		Window: Window{From: s.o.From.UTC(), To: s.o.To.UTC()}, WorkloadFilter: nonNil(s.o.Workloads),
		RubricVersion: s.r.Version, Workloads: []WorkloadReport{},
	}
	for _, f := range s.r.Frameworks {
		rep.Frameworks = append(rep.Frameworks, FrameworkInfo{ID: f.ID, Title: f.Title, Unit: f.Unit, Source: f.Source, Levels: f.Levels, Domains: f.Domains})
	}
	for _, w := range s.workloads {
		reg := s.o.Registry.Lookup(w)
		wr := WorkloadReport{Workload: w, Registered: reg != nil}
		if reg != nil {
			wr.Owner = reg.Owner
		}
		if inv := s.inventory[w]; inv != nil {
			wr.CostUSD, wr.ModelCalls = inv.CostUSD, inv.ModelCalls
		}
		wr.Spend = s.spendReport(w)
		for _, f := range s.r.Frameworks {
			wr.Scores = append(wr.Scores, s.scoreFramework(f, w, reg))
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	rep.Inventory = s.buildInventory()
	rep.Truncated = s.clip.truncation()
	return rep
}

func (s *scoring) scoreFramework(f *Framework, w string, reg *RegisteredWorkload) FrameworkScore {
	fs := FrameworkScore{Framework: f.ID, Signals: []SignalResult{}, Regressions: []Regression{}}
	for _, sig := range f.Signals {
		fs.Signals = append(fs.Signals, s.evalSignal(sig, w, reg))
	}
	fs.Stage = reached(f, fs.Signals, func(r *SignalResult) bool { return r.Met })
	fs.StageName = f.LevelName(fs.Stage)
	fs.PossibleStage = reached(f, fs.Signals, func(r *SignalResult) bool { return r.Met || r.Status == StatusNotMeasurable })
	fs.PossibleStageName = f.LevelName(fs.PossibleStage)
	fs.Gaps = s.gapResults(fs.Signals, w)
	if fs.Stage < f.Top() {
		fs.Next = nextStage(f, fs.Stage+1, fs.Signals)
	}
	for _, d := range f.Domains {
		lvl := domainLevel(f, d, fs.Signals)
		applicable := false
		for _, r := range fs.Signals {
			if r.Domain == d && r.Kind == "measured" && r.Status != StatusNA {
				applicable = true
			}
		}
		dl := DomainLevel{Domain: d, Level: lvl, Name: f.LevelName(lvl), Applicable: applicable}
		if !applicable {
			dl.Level, dl.Name = 0, "not applicable"
		}
		fs.Domains = append(fs.Domains, dl)
	}
	return fs
}

// reached is the highest stage whose required signals all count as met
// (by met), with every lower stage reached.
func reached(f *Framework, rs []SignalResult, met func(*SignalResult) bool) int {
	stage := 0
	for _, l := range f.Levels {
		for i := range rs {
			r := &rs[i]
			if r.Stage == l.Level && r.Required && !met(r) {
				return stage
			}
		}
		stage = l.Level
	}
	return stage
}

// gap returns the gap's result for a workload when it is present.
func (s *scoring) gap(id, w string) (GapResult, bool) {
	g := s.r.Gaps[id]
	mv := s.lookup(s.r.Measures[g.Measure], w)
	if mv.value == nil || !compare(*mv.value, g.Comparison, g.Threshold) {
		return GapResult{}, false
	}
	gr := GapResult{ID: g.ID, Title: g.Title, Fix: g.Fix, Signals: []string{}}
	gr.Evidence = g.Title
	if g.tmpl != nil {
		var b bytes.Buffer
		if err := g.tmpl.Execute(&b, map[string]any{"Value": *mv.value, "C": mv.ctx, "Workload": w, "Threshold": g.Threshold}); err == nil {
			gr.Evidence = strings.TrimSpace(b.String())
		}
	}
	return gr, true
}

// gapResults lists the gaps that made signals not measurable.
func (s *scoring) gapResults(rs []SignalResult, w string) []GapResult {
	out := []GapResult{}
	at := map[string]int{}
	for _, r := range rs {
		for _, id := range r.Gaps {
			i, ok := at[id]
			if !ok {
				gr, _ := s.gap(id, w)
				out = append(out, gr)
				i = len(out) - 1
				at[id] = i
			}
			out[i].Signals = append(out[i].Signals, r.ID)
		}
	}
	return out
}

// domainLevel is the highest level at which the domain has signals and every
// required one of them, at that level and below, is met.
func domainLevel(f *Framework, domain string, rs []SignalResult) int {
	level := 0
	for _, l := range f.Levels {
		has, ok := false, true
		for i := range rs {
			r := &rs[i]
			if r.Domain != domain || r.Stage != l.Level {
				continue
			}
			has = true
			if r.Required && !r.Met {
				ok = false
			}
		}
		if !ok {
			return level
		}
		if has {
			level = l.Level
		}
	}
	return level
}

func nextStage(f *Framework, stage int, rs []SignalResult) *NextStage {
	ns := &NextStage{Stage: stage, Name: f.LevelName(stage), Items: []NextItem{}}
	for _, r := range rs {
		if r.Stage != stage || r.Met {
			continue
		}
		gap := "value " + r.Display + ", target " + r.Target
		switch {
		case r.Kind == "declared" && r.Value == nil:
			gap = "not declared in the workload registry"
		case r.Value == nil:
			gap = "nothing measured yet, target " + r.Target
		}
		ns.Items = append(ns.Items, NextItem{Signal: r.ID, Title: r.Title, Item: r.Item, Domain: r.Domain, Required: r.Required,
			Impact: r.Impact, Status: r.Status, Gap: gap, Evidence: r.Evidence, Advice: r.Advice})
	}
	sort.SliceStable(ns.Items, func(i, j int) bool {
		a, b := ns.Items[i], ns.Items[j]
		if a.Required != b.Required {
			return a.Required
		}
		if a.Impact != b.Impact {
			return a.Impact > b.Impact
		}
		return a.Signal < b.Signal
	})
	return ns
}

func compare(v float64, cmp string, t float64) bool {
	const eps = 1e-9
	switch cmp {
	case ">=":
		return v >= t-eps
	case ">":
		return v > t+eps
	case "<=":
		return v <= t+eps
	case "<":
		return v < t-eps
	case "==":
		return math.Abs(v-t) <= eps
	case "!=":
		return math.Abs(v-t) > eps
	}
	return false
}

func (s *scoring) evalSignal(sig *Signal, w string, reg *RegisteredWorkload) SignalResult {
	r := SignalResult{ID: sig.ID, Stage: sig.Stage, Domain: sig.Domain, Item: sig.Item, Title: sig.Title,
		Required: sig.Required, Threshold: sig.Threshold, Comparison: sig.Comparison, Impact: sig.Impact, Advice: sig.Advice}
	data := map[string]any{"Workload": w, "Threshold": sig.Threshold}
	if sig.Declared != "" {
		r.Kind, r.Unit = "declared", "declared"
		text, v := reg.declared(sig.Declared, s.o.Now)
		r.Value = v
		r.Display = text
		if sig.Declared == "last_review" {
			r.Unit = "days"
		}
		if r.Comparison == "" {
			r.Comparison, r.Threshold = ">=", 1
		}
		if r.Advice == "" {
			r.Advice = "Declare " + sig.Declared + " for this workload in the workload registry (the --registry file)."
		}
		r.Target = "declared"
		if sig.Declared == "last_review" {
			r.Target = "reviewed within " + fmtValue(sig.Threshold, "days")
		}
		switch {
		case v == nil:
			r.Status = StatusNotDeclared
			r.Display = "not declared"
		case compare(*v, r.Comparison, r.Threshold):
			r.Status, r.Met = StatusDeclared, true
		default:
			r.Status = StatusUnmet
		}
		data["Value"], data["Declared"] = text, text
		if v != nil {
			data["Days"] = *v
		}
		r.Evidence = s.evidence(sig, data, func() string {
			if v == nil {
				return "not declared in the workload registry (" + sig.Declared + ")"
			}
			return "declared in the workload registry: " + sig.Declared + " = " + text
		})
		return r
	}
	m := s.r.Measures[sig.Measure]
	mv := s.lookup(m, w)
	r.Kind, r.Unit, r.Measure = "measured", m.Unit, m.ID
	if r.Advice == "" {
		r.Advice = m.Advice
	}
	r.Value = mv.value
	r.Target = comparisonText(sig.Comparison, sig.Threshold, m.Unit)
	if len(mv.ctx) > 0 {
		r.Context = map[string]any{}
		for k, v := range mv.ctx {
			r.Context[k] = jsonValue(v)
		}
	}
	switch {
	case mv.value == nil && sig.Absent == "na":
		r.Status, r.Met, r.Display = StatusNA, true, "n/a"
	case mv.value == nil:
		r.Status, r.Display = StatusUnmet, "—"
	case compare(*mv.value, sig.Comparison, sig.Threshold):
		r.Status, r.Met, r.Display = StatusMet, true, fmtValue(*mv.value, m.Unit)
	default:
		r.Status, r.Display = StatusUnmet, fmtValue(*mv.value, m.Unit)
	}
	if mv.value != nil {
		data["Value"] = *mv.value
	} else {
		data["Value"] = nil
	}
	data["C"] = mv.ctx
	r.Evidence = s.evidence(sig, data, func() string {
		if mv.value == nil {
			return m.Title + ": nothing to measure in the window"
		}
		return m.Title + ": " + r.Display
	})
	r.MinEvidence = sig.MinEvidence
	if r.Status == StatusUnmet {
		// What the instrumentation does not report is not measured, and
		// never met: the report tells it from a practice not in place.
		var why []string
		for _, id := range sig.Gaps {
			if gr, ok := s.gap(id, w); ok {
				r.Gaps = append(r.Gaps, id)
				why = append(why, gr.Evidence)
			}
		}
		if len(r.Gaps) > 0 {
			r.Status = StatusNotMeasurable
			r.Evidence += "; not measurable: " + strings.Join(why, "; ")
		}
	}
	return r
}

func (s *scoring) evidence(sig *Signal, data map[string]any, fallback func() string) string {
	if sig.tmpl == nil {
		return fallback()
	}
	var b bytes.Buffer
	if err := sig.tmpl.Execute(&b, data); err != nil {
		return fallback() + " (evidence template: " + err.Error() + ")"
	}
	return strings.TrimSpace(b.String())
}

func (s *scoring) buildInventory() Inventory {
	inv := Inventory{Workloads: []InventoryWorkload{}, Unregistered: []string{}, RegisteredWithoutTelemetry: []string{}}
	sets := map[string]map[string]bool{}
	add := func(kind string, vals ...string) {
		if sets[kind] == nil {
			sets[kind] = map[string]bool{}
		}
		for _, v := range vals {
			if v != "" {
				sets[kind][v] = true
			}
		}
	}
	for _, w := range s.workloads {
		iw := s.inventory[w]
		inv.Workloads = append(inv.Workloads, *iw)
		if !iw.Registered {
			inv.Unregistered = append(inv.Unregistered, w)
		}
		add("models", iw.Models...)
		add("providers", iw.Providers...)
		add("data_sources", iw.DataSources...)
		add("tools", iw.Tools...)
		add("agents", iw.Agents...)
		add("owners", iw.Owner)
		for _, t := range iw.Teams {
			add("owners", "team:"+t)
		}
	}
	filter := map[string]bool{}
	for _, w := range s.o.Workloads {
		filter[w] = true
	}
	for _, rw := range s.o.Registry.Workloads {
		if _, seen := s.inventory[rw.Name]; !seen && (len(filter) == 0 || filter[rw.Name]) {
			inv.RegisteredWithoutTelemetry = append(inv.RegisteredWithoutTelemetry, rw.Name)
		}
	}
	list := func(kind string) []string {
		out := []string{}
		for v := range sets[kind] {
			out = append(out, v)
		}
		sort.Strings(out)
		if len(out) > MaxInventoryItems {
			s.clip.cut.Lists++
			out = out[:MaxInventoryItems]
		}
		return out
	}
	inv.Models, inv.Providers, inv.DataSources = list("models"), list("providers"), list("data_sources")
	inv.Tools, inv.Agents, inv.Owners = list("tools"), list("agents"), list("owners")
	inv.UninstrumentedSpend = s.uninstrumented
	return inv
}

// errNoHistory means maturity_scores does not exist (migration 6 not applied).
var errNoHistory = errors.New("maturity_scores table not found")
