package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/maturity"
	"github.com/otelcol-aiops/otelcol-aiops/maturity/simulator"
)

// The reference workloads are simulated over [simStart, simEnd) into one
// embedded data directory per test process (one engine per process).
var (
	simEnd   = time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
	simDays  = 14
	simStart = simEnd.Add(-time.Duration(simDays) * 24 * time.Hour)
	store    chstore.Store
	setupErr error
)

const database = "aiops" // the dashboards query aiops.<table>

func TestMain(m *testing.M) {
	// AIOPS_SCALE_DIR keeps the scale benchmark's store for the next run:
	// a filled month is reused, not rebuilt.
	keep := os.Getenv("AIOPS_SCALE") != "" && os.Getenv("AIOPS_SCALE_DIR") != ""
	dir, err := os.MkdirTemp("", "aiops-dashboards-test-")
	if keep {
		dir, err = os.Getenv("AIOPS_SCALE_DIR"), os.MkdirAll(os.Getenv("AIOPS_SCALE_DIR"), 0o755)
	}
	if err != nil {
		panic(err)
	}
	marker := filepath.Join(dir, ".reference-apps")
	if _, statErr := os.Stat(marker); keep && statErr == nil {
		store, setupErr = chstore.OpenEmbedded(dir, "")
	} else if setupErr = setup(dir); setupErr == nil && keep {
		setupErr = os.WriteFile(marker, nil, 0o644)
	}
	code := m.Run()
	if store != nil {
		store.Close()
	}
	if !keep {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// setup writes the four reference apps through aitrace → costattr →
// aiops_clickhouse and records two maturity scoring runs (after the first
// week and at the end) into maturity_scores.
func setup(dir string) error {
	ctx := context.Background()
	p, err := simulator.NewPipeline(ctx, simulator.PipelineOptions{DataDir: dir, Database: database})
	if err != nil {
		return err
	}
	apps := simulator.ReferenceApps()
	if _, err := simulator.Run(ctx, simulator.Config{End: simEnd, Days: simDays, Seed: 42, Apps: apps}, p); err != nil {
		p.Close(ctx)
		return err
	}
	if err := p.Close(ctx); err != nil {
		return err
	}
	if store, err = chstore.OpenEmbedded(dir, ""); err != nil {
		return err
	}
	if err := invoices(ctx); err != nil {
		return fmt.Errorf("provider usage: %w", err)
	}
	for i, to := range []time.Time{simStart.Add(7 * 24 * time.Hour), simEnd} {
		rep, err := maturity.Score(ctx, store, maturity.Options{
			Database: database, From: simStart, To: to, Registry: simulator.Registry(apps, to),
			RunID: fmt.Sprintf("dashboards-test-%d", i+1),
		})
		if err != nil {
			return fmt.Errorf("score: %w", err)
		}
		rep.GeneratedAt = to.Add(-time.Hour) // a run inside the dashboards' time range
		if err := maturity.Record(ctx, store, database, rep); err != nil {
			return fmt.Errorf("record: %w", err)
		}
	}
	return nil
}

// invoices adds what the provider_usage receiver would store: production-app's
// project invoiced for exactly the tokens its spans saw, at 10% above our
// catalog's price, and a project no workload claims ($0.21 a day).
func invoices(ctx context.Context) error {
	for _, q := range []string{
		`INSERT INTO aiops.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, input_tokens, cache_read_tokens, output_tokens, requests, workload, poll_time)
		 SELECT toDateTime(day), toDateTime(day) + 86400, provider, 'usage', 'completions', 'proj_prod', model,
		        sum(span_input) - sum(pr_read) - sum(pr_write), sum(pr_read), sum(span_output), sum(span_calls), workload, now64()
		 FROM aiops.genai_spend_daily WHERE workload = 'production-app' AND provider = 'openai' GROUP BY day, provider, model, workload`,
		`INSERT INTO aiops.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, cost_usd, cost_amount, currency, workload, poll_time)
		 SELECT toDateTime(day), toDateTime(day) + 86400, provider, 'cost', 'costs', 'proj_prod', model,
		        sum(span_cost) * 1.1, sum(span_cost) * 1.1, 'USD', workload, now64()
		 FROM aiops.genai_spend_daily WHERE workload = 'production-app' AND provider = 'openai' GROUP BY day, provider, model, workload`,
		`INSERT INTO aiops.provider_usage (bucket_start, bucket_end, provider, kind, source, project_id, model, input_tokens, output_tokens, requests, cost_usd, poll_time)
		 SELECT toDateTime(d), toDateTime(d) + 86400, 'openai', k, if(k = 'usage', 'completions', 'costs'), 'proj_shadow', 'gpt-4o-mini',
		        if(k = 'usage', 1000000, 0), if(k = 'usage', 100000, 0), if(k = 'usage', 50, 0), if(k = 'usage', 0, 0.21), now64()
		 FROM (SELECT DISTINCT day AS d FROM aiops.genai_spend_daily) ARRAY JOIN ['usage', 'cost'] AS k`,
	} {
		if err := store.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func needStore(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("setup (simulated reference workloads, scoring): %v", setupErr)
	}
}

// ---------------------------------------------------------------- dashboard model

type dashboard struct {
	file          string
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
	raw    map[string]json.RawMessage
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *dsRef          `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   *string         `json:"allValue"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *dsRef          `json:"datasource"`
	GridPos    *gridPos        `json:"gridPos"`
	Interval   string          `json:"interval"` // the min interval
	Targets    []target        `json:"targets"`
	Panels     json.RawMessage `json:"panels"` // rows must not nest panels here
}

type gridPos struct {
	H, W, X, Y *int
}

type target struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	RawSQL     string `json:"rawSql"`
	Format     *int   `json:"format"`
	QueryType  string `json:"queryType"`
	EditorType string `json:"editorType"`
}

var wantDS = dsRef{Type: "grafana-clickhouse-datasource", UID: "${datasource}"}

// stableUIDs are the dashboards' uids: links and provisioning depend on them.
var stableUIDs = map[string]string{
	"cost.json":       "aiops-cost",
	"quality.json":    "aiops-quality",
	"governance.json": "aiops-governance",
	"rag-agents.json": "aiops-rag-agents",
	"maturity.json":   "aiops-maturity",
}

func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(stableUIDs) {
		t.Fatalf("dashboards %v, want the %d of stableUIDs", files, len(stableUIDs))
	}
	var out []*dashboard
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: f}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := json.Unmarshal(raw, &d.raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

// ---------------------------------------------------------------- conventions

// The schema is Grafana's own (typecheck_test.go). These are what its types
// cannot say: uids that links depend on, every query on the ${datasource}
// variable, variables that $__conditionalAll can test for All, panels that
// fit the 24-column grid, and the query format each panel type reads.
func TestDashboardConventions(t *testing.T) {
	seenUID := map[string]string{}
	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			if want := stableUIDs[d.file]; d.UID != want {
				t.Errorf("uid %q, want the stable %q", d.UID, want)
			}
			if !regexp.MustCompile(`^[a-z0-9-]{1,40}$`).MatchString(d.UID) {
				t.Errorf("uid %q: Grafana allows at most 40 characters", d.UID)
			}
			if prev, ok := seenUID[d.UID]; ok {
				t.Errorf("uid %q also in %s", d.UID, prev)
			}
			seenUID[d.UID] = d.file

			vars := map[string]variable{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v
			}
			if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || string(v.Query) != `"grafana-clickhouse-datasource"` {
				t.Errorf("no datasource variable of the ClickHouse plugin: %+v", v)
			}
			for _, name := range []string{"tenant", "workload", "model"} {
				v, ok := vars[name]
				switch {
				case !ok:
					t.Errorf("no %s variable", name)
				case v.Type != "query" || !v.Multi || !v.IncludeAll:
					t.Errorf("%s: want a multi-value query variable with All: %+v", name, v)
				case v.AllValue != nil && *v.AllValue != "":
					t.Errorf("%s: a custom allValue breaks $__conditionalAll", name)
				case v.Datasource == nil || *v.Datasource != wantDS:
					t.Errorf("%s: datasource %+v, want %+v", name, v.Datasource, wantDS)
				}
			}

			ids := map[int]bool{}
			for _, p := range d.Panels {
				where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if p.ID <= 0 || ids[p.ID] {
					t.Errorf("%s: id missing or not unique", where)
				}
				ids[p.ID] = true
				if p.Title == "" {
					t.Errorf("%s: no title", where)
				}
				if p.Panels != nil {
					t.Errorf("%s: nested panels (collapsed rows) are not used here", where)
				}
				g := p.GridPos
				if g == nil || g.H == nil || g.W == nil || g.X == nil || g.Y == nil || *g.W < 1 || *g.H < 1 || *g.X < 0 || *g.Y < 0 || *g.X+*g.W > 24 {
					t.Errorf("%s: gridPos %+v", where, g)
				}
				if p.Type == "row" || p.Type == "text" {
					continue
				}
				if p.Datasource == nil || *p.Datasource != wantDS {
					t.Errorf("%s: datasource %+v, want %+v", where, p.Datasource, wantDS)
				}
				if len(p.Targets) != 1 {
					t.Errorf("%s: %d targets, want 1", where, len(p.Targets))
					continue
				}
				tg := p.Targets[0]
				if tg.Datasource == nil || *tg.Datasource != wantDS || tg.RefID == "" || tg.EditorType != "sql" || tg.RawSQL == "" || tg.Format == nil {
					t.Errorf("%s: target %+v", where, tg)
					continue
				}
				wantFmt, wantQT := 1, "table"
				if p.Type == "timeseries" {
					wantFmt, wantQT = 0, "timeseries"
				}
				if *tg.Format != wantFmt || tg.QueryType != wantQT {
					t.Errorf("%s: format %d queryType %q, want %d %q", where, *tg.Format, tg.QueryType, wantFmt, wantQT)
				}
			}
		})
	}
}

// ---------------------------------------------------------------- query safety

var (
	dollarRE = regexp.MustCompile(`\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)`)
	allowed  = map[string]bool{
		"$__conditionalAll": true, "$__timeFilter": true, "$__timeInterval": true, "$__fromTime": true, "$__toTime": true, "$__interval_s": true,
		"${tenant:singlequote}": true, "${workload:singlequote}": true, "${model:singlequote}": true,
		"$tenant": true, "$workload": true, "$model": true, // only as $__conditionalAll's second argument; expand rejects them elsewhere
	}
	tenantFilters = []string{
		"$__conditionalAll(tenant_id IN (${tenant:singlequote}), $tenant)",
		"$__conditionalAll(workload IN (SELECT workload FROM aiops.genai_coverage_daily WHERE tenant_id IN (${tenant:singlequote})), $tenant)",
	}
)

// TestQueriesUseOnlyBoundVariables: every $ in a query is a plugin macro or a
// variable in the quoting format; no variable sits inside a string literal,
// and every query carries a tenant filter.
func TestQueriesUseOnlyBoundVariables(t *testing.T) {
	for _, d := range loadDashboards(t) {
		queries := map[string]string{}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				var q string
				json.Unmarshal(v.Query, &q)
				queries["variable "+v.Name] = q
			}
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				queries[fmt.Sprintf("panel %d %q", p.ID, p.Title)] = tg.RawSQL
				hasTenant := false
				for _, f := range tenantFilters {
					hasTenant = hasTenant || strings.Contains(tg.RawSQL, f)
				}
				if !hasTenant {
					t.Errorf("%s panel %q: no tenant filter", d.UID, p.Title)
				}
			}
		}
		for where, q := range queries {
			for _, m := range dollarRE.FindAllString(q, -1) {
				if !allowed[m] {
					t.Errorf("%s %s: %s is not a plugin macro or a bound variable", d.UID, where, m)
				}
			}
			if dollarInLiteral(q) {
				t.Errorf("%s %s: a variable inside a string literal", d.UID, where)
			}
			if strings.Contains(q, ";") {
				t.Errorf("%s %s: more than one statement", d.UID, where)
			}
		}
	}
}

// dollarInLiteral reports a $ inside a quoted string or identifier: text
// spliced into a literal instead of a bound, quoting variable format.
func dollarInLiteral(q string) bool {
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0 && c == '$':
			return true
		case quote == 0 && (c == '\'' || c == '"' || c == '`'):
			quote = c
		}
	}
	return false
}

// ---------------------------------------------------------------- expander

// scope is what Grafana and the plugin substitute: the time range, the
// interval, and the template variables. A variable missing from sel has All
// selected.
type scope struct {
	from, to  time.Time
	intervalS int
	sel       map[string][]string
	options   map[string][]string
}

// expand mimics the plugin and Grafana, in their order:
//  1. $__conditionalAll(cond, $var) (plugin frontend): 1=1 when $var has All
//     selected, else cond;
//  2. template variables (Grafana): ${var:singlequote} is 'v1','v2' (see
//     singlequote); All without allValue is every option;
//  3. the plugin's backend macros: $__timeFilter(c) is
//     c >= toDateTime(from) AND c <= toDateTime(to), $__timeInterval(c) is
//     toStartOfInterval(toDateTime(c), INTERVAL n second), $__fromTime and
//     $__toTime are toDateTime(unix seconds), $__interval_s is n.
func expand(sql string, sc scope) (string, error) {
	const ca = "$__conditionalAll("
	for {
		i := strings.Index(sql, ca)
		if i < 0 {
			break
		}
		args, end, err := macroArgs(sql, i+len(ca))
		if err != nil {
			return "", err
		}
		if len(args) != 2 || !regexp.MustCompile(`^\$[a-z]+$`).MatchString(args[1]) {
			return "", fmt.Errorf("$__conditionalAll wants (condition, $variable): %q", sql[i:end])
		}
		repl := args[0]
		if _, picked := sc.sel[args[1][1:]]; !picked {
			repl = "1=1"
		}
		sql = sql[:i] + repl + sql[end:]
	}
	var verr error
	sql = regexp.MustCompile(`\$\{([a-z]+):singlequote\}`).ReplaceAllStringFunc(sql, func(m string) string {
		name := m[2 : len(m)-len(":singlequote}")]
		vals, ok := sc.sel[name]
		if !ok {
			vals = sc.options[name]
		}
		if len(vals) == 0 {
			verr = fmt.Errorf("variable %s has no value", name)
		}
		return singlequote(vals)
	})
	if verr != nil {
		return "", verr
	}
	for _, name := range []string{"$__timeFilter(", "$__timeInterval("} {
		for {
			i := strings.Index(sql, name)
			if i < 0 {
				break
			}
			args, end, err := macroArgs(sql, i+len(name))
			if err != nil {
				return "", err
			}
			if len(args) != 1 || args[0] == "" {
				return "", fmt.Errorf("%s) wants one column", name)
			}
			var repl string
			if name == "$__timeFilter(" {
				repl = fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", args[0], sc.from.Unix(), args[0], sc.to.Unix())
			} else {
				repl = fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", args[0], sc.intervalS)
			}
			sql = sql[:i] + repl + sql[end:]
		}
	}
	sql = strings.NewReplacer(
		"$__fromTime", fmt.Sprintf("toDateTime(%d)", sc.from.Unix()),
		"$__toTime", fmt.Sprintf("toDateTime(%d)", sc.to.Unix()),
		"$__interval_s", strconv.Itoa(sc.intervalS),
	).Replace(sql)
	if strings.Contains(sql, "$") {
		return "", fmt.Errorf("unexpanded %q left in %s", dollarRE.FindString(sql), sql)
	}
	return sql, nil
}

// singlequote is Grafana's singlequote format: each value in single quotes
// with ' escaped as \', joined by commas. Grafana escapes nothing else, not
// even a backslash, so neither may we: the panels must see what Grafana sends.
func singlequote(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
	}
	return strings.Join(q, ",")
}

// macroArgs splits a macro's arguments at top-level commas, from just after
// its "(" to its matching ")"; end is just after the ")".
func macroArgs(s string, start int) (args []string, end int, err error) {
	depth, last, quoted := 0, start, false
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '\'' {
				quoted = false
			}
		case c == '\'':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ')':
			return append(args, strings.TrimSpace(s[last:i])), i + 1, nil
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[last:i]))
			last = i + 1
		}
	}
	return nil, 0, fmt.Errorf("unbalanced macro at %q", s[start:])
}

// TestSinglequoteIsGrafanas: the expected strings are Grafana's. From its
// documentation (Advanced variable format options, Singlequote): servers =
// ['test1', 'test2'] gives 'test1','test2', and ' is escaped as \'. From its
// formatter (@grafana/scenes formatRegistry, VariableFormatID.SingleQuote:
// replace(v, /'/g, "\\'")): nothing else is escaped, backslashes included.
func TestSinglequoteIsGrafanas(t *testing.T) {
	for _, c := range []struct {
		vals []string
		want string
	}{
		{[]string{"test1", "test2"}, `'test1','test2'`},
		{[]string{"it's"}, `'it\'s'`},
		{[]string{`C:\temp`}, `'C:\temp'`},
		{[]string{`a\'b`, "c"}, `'a\\'b','c'`},
		{[]string{`trailing\`}, `'trailing\'`},
	} {
		if got := singlequote(c.vals); got != c.want {
			t.Errorf("singlequote(%q) = %s, want %s", c.vals, got, c.want)
		}
		sc := scope{sel: map[string][]string{"v": c.vals}}
		if got, err := expand("x IN (${v:singlequote})", sc); err != nil || got != "x IN ("+c.want+")" {
			t.Errorf("expand with %q: %s (%v)", c.vals, got, err)
		}
	}
}

func TestExpander(t *testing.T) {
	sc := scope{from: time.Unix(100, 0), to: time.Unix(200, 0), intervalS: 60,
		sel: map[string][]string{"tenant": {"a'b", "c"}}, options: map[string][]string{"workload": {"w1", "w2"}}}
	got, err := expand(`SELECT $__timeInterval(ts) AS t FROM x WHERE $__timeFilter(ts) AND $__conditionalAll(tenant_id IN (${tenant:singlequote}), $tenant) AND $__conditionalAll(workload IN (${workload:singlequote}), $workload) AND f(${workload:singlequote}) AND d < $__toTime - $__interval_s`, sc)
	want := `SELECT toStartOfInterval(toDateTime(ts), INTERVAL 60 second) AS t FROM x WHERE ts >= toDateTime(100) AND ts <= toDateTime(200) AND tenant_id IN ('a\'b','c') AND 1=1 AND f('w1','w2') AND d < toDateTime(200) - 60`
	if err != nil || got != want {
		t.Fatalf("expand:\n got %s (%v)\nwant %s", got, err, want)
	}
	if !dollarInLiteral("a = 'x$tenant'") || dollarInLiteral("a = 'x' AND b IN (${tenant:singlequote})") {
		t.Error("dollarInLiteral")
	}
	for _, bad := range []string{"WHERE tenant_id = '$tenant'", "WHERE $__conditionalAll(a = 1, tenant)", "WHERE $__timeFilter(ts"} {
		if out, err := expand(bad, sc); err == nil {
			t.Errorf("expand(%q) = %q, want an error", bad, out)
		}
	}
}

// ---------------------------------------------------------------- expectations

// expect declares what each panel must return. Every panel has one, and
// every entry names a panel.
type expect struct {
	cols []string
	// data: the panel must have rows with a non-zero value over the
	// reference workloads with every variable at All.
	data bool
	// pct columns lie in [0, 100].
	pct []string
	// signed columns may be negative (every other number is ≥ 0).
	signed []string
	// check, when set, is run on the All scenario's result.
	check func(t *testing.T, r *chstore.Rows)
}

var expectations = map[string]expect{
	// Cost & usage
	"aiops-cost/Invoiced spend and what telemetry saw": {cols: []string{"invoiced_usd", "uninstrumented_usd", "telemetry_coverage_pct"}, data: true,
		pct: []string{"telemetry_coverage_pct"}},
	"aiops-cost/Tokens: invoiced, in spans, in metrics": {cols: []string{"time", "invoiced", "spans", "metrics"}, data: true},
	"aiops-cost/Reconciliation by provider, model and workload": {cols: []string{"provider", "model", "workload_or_account", "invoiced_usd", "spans_usd",
		"estimated_usd", "unobserved_usd", "span_coverage_pct", "metric_coverage_pct", "price_drift_pct"}, data: true, signed: []string{"price_drift_pct"},
		check: func(t *testing.T, r *chstore.Rows) {
			// The fixture bills production-app 10% above the catalog, for
			// exactly the tokens its spans saw; proj_shadow has no telemetry.
			prod, shadow := false, false
			for _, row := range r.Data {
				switch w := fmt.Sprint(row[2]); {
				case w == "production-app":
					prod = true
					if c, d := num(row[7]), num(row[9]); math.Abs(c-100) > 1e-6 || math.Abs(d-10) > 1e-6 {
						t.Errorf("production-app: span coverage %v%%, drift %v%%; want 100 and +10", c, d)
					}
				case strings.Contains(w, "openai:proj_shadow"):
					shadow = true
					if num(row[3]) <= 0 || num(row[6]) != num(row[3]) {
						t.Errorf("uninstrumented: invoiced %v, unobserved %v; want all of it unobserved", row[3], row[6])
					}
				}
			}
			if !prod || !shadow {
				t.Errorf("rows %v: want production-app and the uninstrumented proj_shadow", r.Data)
			}
		}},
	"aiops-cost/Total spend":                            {cols: []string{"spend_usd"}, data: true},
	"aiops-cost/Requests":                               {cols: []string{"requests"}, data: true},
	"aiops-cost/Cost per request":                       {cols: []string{"cost_per_request_usd"}, data: true},
	"aiops-cost/Unpriced calls":                         {cols: []string{"unpriced_pct", "unpriced_calls"}, pct: []string{"unpriced_pct"}},
	"aiops-cost/Spend by workload":                      {cols: []string{"time", "workload", "spend_usd"}, data: true},
	"aiops-cost/Spend by model":                         {cols: []string{"time", "request_model", "spend_usd"}, data: true},
	"aiops-cost/Spend by provider":                      {cols: []string{"time", "provider", "spend_usd"}, data: true},
	"aiops-cost/Cost per request by workload and model": {cols: []string{"workload", "request_model", "requests", "spend_usd", "cost_per_request_usd"}, data: true},
	"aiops-cost/Top users":                              {cols: []string{"user_id", "requests", "tokens", "spend_usd"}, data: true},
	"aiops-cost/Top tenants":                            {cols: []string{"tenant_id", "requests", "tokens", "spend_usd"}, data: true},
	"aiops-cost/Savings from caching": {cols: []string{"workload", "cached_tokens", "cached_input_cost_usd", "savings_usd"}, data: true,
		check: func(t *testing.T, r *chstore.Rows) {
			// Only the agent platform uses prompt caching.
			for _, row := range r.Data {
				w, saved := fmt.Sprint(row[0]), num(row[3])
				if (w == "agent-platform") != (saved > 0) {
					t.Errorf("savings %s = %v: only agent-platform caches", w, saved)
				}
			}
		}},
	"aiops-cost/Budget status": {cols: []string{"rule", "budget_key", "state", "spent_usd", "limit_usd", "events", "last_event"}, data: true,
		check: func(t *testing.T, r *chstore.Rows) {
			for _, row := range r.Data {
				if fmt.Sprint(row[0]) != "per-user-daily" || !strings.HasPrefix(fmt.Sprint(row[1]), "user:") || num(row[3]) > num(row[4]) {
					t.Errorf("budget row %v", row)
				}
			}
		}},
	"aiops-cost/Forecast to the end of the month": {cols: []string{"month_to_date_usd", "daily_rate_usd", "forecast_month_end_usd", "month"}, data: true,
		check: func(t *testing.T, r *chstore.Rows) {
			mtd, rate, fc := num(r.Data[0][0]), num(r.Data[0][1]), num(r.Data[0][2])
			// The range ends 2026-10-30 00:00: two days are left.
			if rate <= 0 || math.Abs(fc-(mtd+2*rate)) > 1e-9 {
				t.Errorf("forecast %v, want month to date %v + 2 days × %v", fc, mtd, rate)
			}
		}},
	// Quality & reliability
	"aiops-quality/Latency p50 / p95 / p99 by model": {cols: []string{"time", "request_model", "p50_ms", "p95_ms", "p99_ms"}, data: true, check: ordered(2, 3, 4)},
	"aiops-quality/Latency by model":                 {cols: []string{"request_model", "requests", "p50_ms", "p95_ms", "p99_ms"}, data: true, check: ordered(2, 3, 4)},
	"aiops-quality/Error rate by workload":           {cols: []string{"time", "workload", "error_pct"}, data: true, pct: []string{"error_pct"}},
	"aiops-quality/Error types":                      {cols: []string{"error_type", "errors", "share_pct"}, data: true, pct: []string{"share_pct"}, check: sumsTo(2, 100)},
	"aiops-quality/Rate limits":                      {cols: []string{"time", "provider", "rate_limited"}, data: true},
	// The reference apps do not stream: the panel runs and is empty.
	"aiops-quality/Time to first token":  {cols: []string{"time", "request_model", "ttft_p50_ms", "ttft_p95_ms"}},
	"aiops-quality/Evaluation scores":    {cols: []string{"time", "evaluator", "avg_score"}, data: true},
	"aiops-quality/Evaluation pass rate": {cols: []string{"evaluator", "results", "avg_score", "pass_pct"}, data: true, pct: []string{"pass_pct"}},
	"aiops-quality/User feedback":        {cols: []string{"time", "feedback_events", "avg_rating"}, data: true},
	// Governance & policy
	"aiops-governance/Policy events by detector":        {cols: []string{"time", "detector", "events"}, data: true},
	"aiops-governance/Policy events by action":          {cols: []string{"detector", "action", "events"}, data: true},
	"aiops-governance/Redaction coverage":               {cols: []string{"redaction_pct", "calls_with_findings"}, data: true, pct: []string{"redaction_pct"}},
	"aiops-governance/Suspected injections":             {cols: []string{"suspected_injections", "injection_pct"}, data: true, pct: []string{"injection_pct"}},
	"aiops-governance/Unpinned model calls":             {cols: []string{"unpinned_pct", "unpinned_calls"}, data: true, pct: []string{"unpinned_pct"}},
	"aiops-governance/Suspected injections by workload": {cols: []string{"time", "workload", "suspected_injections"}, data: true},
	"aiops-governance/Content-filter hits":              {cols: []string{"filter", "checks", "hits", "hit_pct"}, data: true, pct: []string{"hit_pct"}},
	"aiops-governance/Unpinned models":                  {cols: []string{"workload", "request_model", "calls", "unpinned_calls", "unpinned_pct"}, data: true, pct: []string{"unpinned_pct"}},
	"aiops-governance/Unregistered workloads": {cols: []string{"workload", "last_scored", "owner_status"}, data: true,
		check: func(t *testing.T, r *chstore.Rows) {
			if got := column(r, "workload"); strings.Join(got, ",") != "prototype-chatbot" {
				t.Errorf("unregistered %v, want the prototype only", got)
			}
		}},
	// RAG & agents
	"aiops-rag-agents/Empty-retrieval rate": {cols: []string{"time", "workload", "empty_retrieval_pct"}, data: true, pct: []string{"empty_retrieval_pct"}},
	"aiops-rag-agents/Retrieval scores":     {cols: []string{"time", "data_source_id", "avg_top_score", "avg_min_score"}, data: true},
	"aiops-rag-agents/Retrieval sources": {cols: []string{"data_source_id", "retrievals", "avg_docs", "avg_top_score", "empty_pct"}, data: true, pct: []string{"empty_pct"},
		check: func(t *testing.T, r *chstore.Rows) {
			if got := column(r, "data_source_id"); !contains(got, "kb-support-docs") {
				t.Errorf("sources %v lack kb-support-docs", got)
			}
		}},
	"aiops-rag-agents/Tool error rates": {cols: []string{"tool_name", "calls", "errors", "error_pct"}, data: true, pct: []string{"error_pct"},
		check: func(t *testing.T, r *chstore.Rows) {
			if got := column(r, "tool_name"); !contains(got, "refund_order") {
				t.Errorf("tools %v lack refund_order", got)
			}
		}},
	"aiops-rag-agents/Tool error rate over time": {cols: []string{"time", "tool_name", "error_pct"}, data: true, pct: []string{"error_pct"}},
	"aiops-rag-agents/Suspected loops": {cols: []string{"agent_name", "runs", "suspected_loops", "loop_pct", "max_repeated_tool_calls", "avg_tool_calls"}, data: true, pct: []string{"loop_pct"},
		check: func(t *testing.T, r *chstore.Rows) {
			if got := column(r, "agent_name"); strings.Join(got, ",") != "support-agent" {
				t.Errorf("agents %v", got)
			}
		}},
	// Maturity
	"aiops-maturity/Stage per workload": {cols: []string{"time", "series", "stage"}, data: true,
		check: func(t *testing.T, r *chstore.Rows) {
			if len(r.Data) != 2*4*2 { // two runs × four workloads × two frameworks
				t.Errorf("%d points, want 16", len(r.Data))
			}
		}},
	"aiops-maturity/Current stage": {cols: []string{"workload", "framework", "stage", "stage_name", "scored_at"}, data: true,
		check: func(t *testing.T, r *chstore.Rows) {
			// The latest run puts each reference app at its designed stage.
			for _, row := range r.Data {
				a, _ := simulator.Reference(fmt.Sprint(row[0]))
				if int(num(row[2])) != a.Stage {
					t.Errorf("%s %s: stage %v, designed %d", row[0], row[1], row[2], a.Stage)
				}
			}
			if len(r.Data) != 8 {
				t.Errorf("%d rows, want 8", len(r.Data))
			}
		}},
	"aiops-maturity/Signal coverage heatmap": {cols: []string{"workload", "model_pct", "provider_pct", "usage_pct", "content_pct", "user_pct", "tenant_pct", "prompt_version_pct", "pinned_pct", "priced_pct"}, data: true,
		pct: []string{"model_pct", "provider_pct", "usage_pct", "content_pct", "user_pct", "tenant_pct", "prompt_version_pct", "pinned_pct", "priced_pct"}},
	"aiops-maturity/Signals met by domain": {cols: []string{"workload", "domain", "met_pct", "signals"}, data: true, pct: []string{"met_pct"}},
	"aiops-maturity/Next steps": {cols: []string{"workload", "framework", "stage", "next_stage", "signal_id", "domain", "required", "value", "threshold", "evidence"}, data: true, signed: []string{"value", "threshold"},
		check: func(t *testing.T, r *chstore.Rows) {
			seen := map[string]bool{}
			for _, row := range r.Data {
				seen[fmt.Sprint(row[0])] = true
				if num(row[3]) != num(row[2])+1 {
					t.Errorf("next step %v is not of the next stage", row)
				}
			}
			if len(seen) != 4 {
				t.Errorf("next steps for %v, want all four workloads", seen)
			}
		}},
}

func ordered(cols ...int) func(*testing.T, *chstore.Rows) {
	return func(t *testing.T, r *chstore.Rows) {
		for _, row := range r.Data {
			for i := 1; i < len(cols); i++ {
				if num(row[cols[i-1]]) > num(row[cols[i]])+1e-9 {
					t.Errorf("%s > %s in %v", r.Columns[cols[i-1]], r.Columns[cols[i]], row)
				}
			}
		}
	}
}

func sumsTo(col int, want float64) func(*testing.T, *chstore.Rows) {
	return func(t *testing.T, r *chstore.Rows) {
		s := 0.0
		for _, row := range r.Data {
			s += num(row[col])
		}
		if math.Abs(s-want) > 1e-6 {
			t.Errorf("%s sums to %v, want %v", r.Columns[col], s, want)
		}
	}
}

// ---------------------------------------------------------------- running panels

// num reads any numeric value (ints, floats, decimals); NaN for NULL or text.
func num(v any) float64 {
	switch x := v.(type) {
	case nil:
		return math.NaN()
	case bool:
		if x {
			return 1
		}
		return 0
	case time.Time, string:
		return math.NaN()
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return math.NaN()
		}
		return num(rv.Elem().Interface())
	}
	f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// rat reads an exact value: decimals stay exact.
func rat(t *testing.T, v any) *big.Rat {
	t.Helper()
	s := fmt.Sprint(v)
	if p, ok := v.(interface{ String() string }); ok {
		s = p.String()
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("not a number: %v (%T)", v, v)
	}
	return r
}

func column(r *chstore.Rows, name string) []string {
	i := r.Col(name)
	var out []string
	for _, row := range r.Data {
		out = append(out, fmt.Sprint(row[i]))
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func query(t *testing.T, sql string) *chstore.Rows {
	t.Helper()
	r, err := store.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("query failed: %v\n%s", err, sql)
	}
	return r
}

// variableOptions runs each variable's query, as Grafana does to list its values.
func variableOptions(t *testing.T, d *dashboard) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		json.Unmarshal(v.Query, &q)
		r := query(t, q)
		if len(r.Columns) != 1 || len(r.Data) == 0 {
			t.Fatalf("variable %s: %d columns, %d rows", v.Name, len(r.Columns), len(r.Data))
		}
		out[v.Name] = column(r, r.Columns[0])
	}
	return out
}

// scenarios: every variable at All; one tenant, workload and model picked;
// and a tenant with no data, which every panel must show as empty or zero
// (what a user restricted to another tenant by a row policy sees).
func scenarios(t *testing.T, opts map[string][]string) map[string]scope {
	base := scope{from: simStart, to: simEnd, intervalS: 6 * 3600, options: opts}
	all := base
	picked := base
	r := query(t, `SELECT request_model FROM aiops.genai_usage_hourly WHERE tenant_id = 'acme' AND workload = 'agent-platform' AND request_model != '' GROUP BY request_model ORDER BY sum(cost_usd) DESC LIMIT 1`)
	picked.sel = map[string][]string{"tenant": {"acme"}, "workload": {"agent-platform"}, "model": {fmt.Sprint(r.Data[0][0])}}
	none := base
	none.sel = map[string][]string{"tenant": {"no-such-tenant"}}
	return map[string]scope{"all": all, "picked": picked, "other-tenant": none}
}

func TestEveryPanelRunsOnTheReferenceWorkloads(t *testing.T) {
	needStore(t)
	panels, seen := 0, map[string]bool{}
	for _, d := range loadDashboards(t) {
		opts := variableOptions(t, d)
		for _, want := range []string{"acme", "globex", "initech", "umbrella"} {
			if !contains(opts["tenant"], want) {
				t.Errorf("%s: tenant options %v lack %s", d.UID, opts["tenant"], want)
			}
		}
		scs := scenarios(t, opts)
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				continue
			}
			key := d.UID + "/" + p.Title
			seen[key] = true
			panels++
			exp, ok := expectations[key]
			if !ok {
				t.Errorf("%s: no expectation declared", key)
				continue
			}
			for name, sc := range scs {
				t.Run(key+"/"+name, func(t *testing.T) {
					sql, err := expand(p.Targets[0].RawSQL, sc)
					if err != nil {
						t.Fatal(err)
					}
					// DESCRIBE names the columns even when there are no rows,
					// and fails on any column a table does not have.
					desc := query(t, "DESCRIBE TABLE ("+sql+")")
					names, types := column(desc, "name"), column(desc, "type")
					if strings.Join(names, ",") != strings.Join(exp.cols, ",") {
						t.Fatalf("columns %v, want %v", names, exp.cols)
					}
					if p.Type == "timeseries" && (names[0] != "time" || !strings.HasPrefix(types[0], "DateTime")) {
						t.Errorf("first column %s %s, want time DateTime", names[0], types[0])
					}
					r := query(t, sql)
					if len(r.Data) > 0 && strings.Join(r.Columns, ",") != strings.Join(exp.cols, ",") {
						t.Fatalf("result columns %v, want %v", r.Columns, exp.cols)
					}
					checkValues(t, r, exp)
					switch name {
					case "all":
						if exp.data && !hasContent(r) {
							t.Errorf("no data over the reference workloads")
						}
						if exp.check != nil && len(r.Data) > 0 {
							exp.check(t, r)
						}
					case "other-tenant":
						if hasContent(r) {
							t.Errorf("data leaks across tenants: %v", r.Data)
						}
					}
				})
			}
		}
	}
	for key := range expectations {
		if !seen[key] {
			t.Errorf("expectation %q names no panel", key)
		}
	}
	t.Logf("%d panels, each run in 3 variable scenarios", panels)
}

func checkValues(t *testing.T, r *chstore.Rows, exp expect) {
	t.Helper()
	pct, signed := map[int]bool{}, map[int]bool{}
	for _, c := range exp.pct {
		pct[r.Col(c)] = true
	}
	for _, c := range exp.signed {
		signed[r.Col(c)] = true
	}
	for _, row := range r.Data {
		for i, v := range row {
			f := num(v)
			if math.IsNaN(f) {
				continue
			}
			if math.IsInf(f, 0) || (f < -1e-9 && !signed[i]) {
				t.Errorf("%s = %v: want a finite value ≥ 0", r.Columns[i], v)
			}
			if pct[i] && f > 100+1e-9 {
				t.Errorf("%s = %v: a percentage above 100", r.Columns[i], v)
			}
		}
	}
}

// hasContent: some cell other than a time is a non-zero number or a
// non-empty label. An aggregate over no rows (zeros, NULLs) has none.
func hasContent(r *chstore.Rows) bool {
	for _, row := range r.Data {
		for i, v := range row {
			if strings.HasPrefix(r.Types[i], "Date") {
				continue
			}
			if s, ok := v.(string); ok {
				if s != "" {
					return true
				}
				continue
			}
			if f := num(v); !math.IsNaN(f) && f != 0 {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------- cross-checks

// panelResult expands and runs one panel's query.
func panelResult(t *testing.T, ds []*dashboard, uid, title string, sc scope) *chstore.Rows {
	t.Helper()
	for _, d := range ds {
		if d.UID != uid {
			continue
		}
		for _, p := range d.Panels {
			if p.Title == title {
				sql, err := expand(p.Targets[0].RawSQL, sc)
				if err != nil {
					t.Fatal(err)
				}
				return query(t, sql)
			}
		}
	}
	t.Fatalf("no panel %s/%s", uid, title)
	return nil
}

func sumCol(t *testing.T, r *chstore.Rows, col string) *big.Rat {
	t.Helper()
	i := r.Col(col)
	s := new(big.Rat)
	for _, row := range r.Data {
		s.Add(s, rat(t, row[i]))
	}
	return s
}

// TestSpendAddsUp: spend by workload, by model, by provider and by tenant
// each sum exactly to the total, which equals the raw genai_spans cost; also
// with one tenant, workload and model selected.
func TestSpendAddsUp(t *testing.T) {
	needStore(t)
	ds := loadDashboards(t)
	var cost *dashboard
	for _, d := range ds {
		if d.UID == "aiops-cost" {
			cost = d
		}
	}
	scs := scenarios(t, variableOptions(t, cost))
	for _, name := range []string{"all", "picked"} {
		sc := scs[name]
		t.Run(name, func(t *testing.T) {
			raw := fmt.Sprintf("SELECT sum(cost_usd) FROM aiops.genai_spans WHERE timestamp >= toDateTime(%d) AND timestamp <= toDateTime(%d)", sc.from.Unix(), sc.to.Unix())
			if v, ok := sc.sel["tenant"]; ok {
				raw += fmt.Sprintf(" AND tenant_id = '%s' AND workload = '%s' AND request_model = '%s'", v[0], sc.sel["workload"][0], sc.sel["model"][0])
			}
			want := rat(t, query(t, raw).Data[0][0])
			if want.Sign() <= 0 {
				t.Fatalf("no spend in the raw rows")
			}
			total := sumCol(t, panelResult(t, ds, "aiops-cost", "Total spend", sc), "spend_usd")
			if total.Cmp(want) != 0 {
				t.Errorf("total spend %s, raw genai_spans %s", total.FloatString(12), want.FloatString(12))
			}
			for _, title := range []string{"Spend by workload", "Spend by model", "Spend by provider", "Top tenants", "Cost per request by workload and model"} {
				got := sumCol(t, panelResult(t, ds, "aiops-cost", title, sc), "spend_usd")
				if got.Cmp(want) != 0 {
					t.Errorf("%s sums to %s, total %s", title, got.FloatString(12), want.FloatString(12))
				}
			}
			reqs := sumCol(t, panelResult(t, ds, "aiops-cost", "Requests", sc), "requests")
			cpr := num(panelResult(t, ds, "aiops-cost", "Cost per request", sc).Data[0][0])
			exact, _ := new(big.Rat).Quo(want, reqs).Float64()
			if math.Abs(cpr-exact) > 1e-9 {
				t.Errorf("cost per request %v, want %v", cpr, exact)
			}
			// Top users: the 20 biggest spenders, each at most the total.
			users := panelResult(t, ds, "aiops-cost", "Top users", sc)
			if got := sumCol(t, users, "spend_usd"); got.Cmp(want) > 0 {
				t.Errorf("top users spend %s exceeds the total %s", got.FloatString(12), want.FloatString(12))
			}
			spends := make([]float64, len(users.Data))
			for i, row := range users.Data {
				spends[i] = num(row[3])
			}
			if !sort.IsSorted(sort.Reverse(sort.Float64Slice(spends))) {
				t.Errorf("top users not ordered by spend: %v", spends)
			}
		})
	}
}

// TestRowPolicySQLParses: every statement of row-policies.sql parses on the
// engine (EXPLAIN AST; the embedded engine has no access storage to run
// them), every table the dashboards read has a tenant policy, and the
// all-rows policy keeps the writer and the scoring working.
func TestRowPolicySQLParses(t *testing.T) {
	needStore(t)
	raw, err := os.ReadFile("row-policies.sql")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	n := 0
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if stmt = strings.TrimSpace(stmt); stmt == "" {
			continue
		}
		n++
		if _, err := store.Query(context.Background(), "EXPLAIN AST "+stmt); err != nil {
			t.Errorf("%v\n%s", err, stmt)
		}
	}
	policies := strings.Join(lines, "\n")
	for _, table := range []string{"genai_spans", "genai_events", "genai_usage_hourly", "genai_calls_hourly", "genai_latency_hourly", "genai_latency_tenant_hourly",
		"genai_coverage_daily", "maturity_scores", "spans"} {
		re := regexp.MustCompile(`(?s)CREATE ROW POLICY IF NOT EXISTS tenant_acme\w*\s+ON [^;]*\baiops\.` + table + `\b[^;]*USING [^;]*'acme'`)
		if !re.MatchString(policies) {
			t.Errorf("no tenant row policy on aiops.%s", table)
		}
		if !regexp.MustCompile(`(?s)aiops_all_rows\s+ON [^;]*\baiops\.` + table + `\b[^;]*USING 1 TO aiops_all_rows\b`).MatchString(policies) {
			t.Errorf("aiops.%s: no all-rows policy for the writer", table)
		}
	}
	if n < 10 {
		t.Errorf("%d statements", n)
	}
}
