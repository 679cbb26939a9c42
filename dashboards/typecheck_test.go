package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// typecheckDir pins @grafana/schema at the version of the Grafana in
// deploy/compose, and TypeScript, in package-lock.json.
const typecheckDir = "typecheck"

// TestSchemaPinMatchesComposeGrafana: the types checked are those of the
// Grafana that deploy/compose runs.
func TestSchemaPinMatchesComposeGrafana(t *testing.T) {
	compose, err := os.ReadFile("../deploy/compose/docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*image:\s*grafana/grafana:(\S+)\s*$`).FindSubmatch(compose)
	if m == nil {
		t.Fatal("deploy/compose/docker-compose.yaml runs no grafana/grafana image")
	}
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(typecheckDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	if got := pkg.DevDependencies["@grafana/schema"]; got != string(m[1]) {
		t.Errorf("@grafana/schema %s in %s/package.json, but compose runs Grafana %s", got, typecheckDir, m[1])
	}
}

// typecheckTools returns node and the typecheck directory's absolute path,
// running `npm ci` there when its node_modules do not match the lock. npm is
// a test dependency (make libchdb needs it too): without it the test fails.
func typecheckTools(t *testing.T) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(typecheckDir)
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the dashboards are type-checked with tsc against @grafana/schema (apt-get install -y npm)")
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	installed := func() bool {
		for _, p := range []string{"node_modules/@grafana/schema", "node_modules/typescript"} {
			var pkg struct{ Version string }
			raw, err := os.ReadFile(filepath.Join(dir, p, "package.json"))
			if err != nil || json.Unmarshal(raw, &pkg) != nil || pkg.Version != lock.Packages[p].Version || pkg.Version == "" {
				return false
			}
		}
		return true
	}
	if !installed() {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("npm is not installed: it installs the pinned @grafana/schema and typescript for the dashboards' type check (apt-get install -y npm)")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
		if !installed() {
			t.Fatalf("npm ci in %s did not install the versions in package-lock.json", dir)
		}
	}
	return node, dir
}

// tsWriter builds a TypeScript file and remembers which JSON object each
// line range types, so that tsc's errors can be reported by dashboard,
// panel or variable.
type tsWriter struct {
	buf    bytes.Buffer
	labels []tsLabel
}

type tsLabel struct {
	line  int
	label string
}

func (w *tsWriter) line() int { return bytes.Count(w.buf.Bytes(), []byte("\n")) + 1 }

func (w *tsWriter) printf(format string, args ...any) { fmt.Fprintf(&w.buf, format, args...) }

// typed declares `const name: typ = value;` for the JSON value.
func (w *tsWriter) typed(label, typ string, value json.RawMessage) {
	w.labels = append(w.labels, tsLabel{w.line(), label})
	w.printf("// %s\nexport const v%d: %s = %s;\n\n", label, len(w.labels), typ, value)
}

// labelAt names the object declared around line.
func (w *tsWriter) labelAt(line int) string {
	i := sort.Search(len(w.labels), func(i int) bool { return w.labels[i].line > line }) - 1
	if i < 0 {
		return "(preamble)"
	}
	return w.labels[i].label
}

// tsPreamble imports the published types. Wire<T> is T as JSON spells it: a
// string enum member is its value (JSON has "palette-classic", never
// FieldColorModeId.PaletteClassic), everything else stays as published.
// Panel<O, F> is the published Panel with the plugin's Options and custom
// FieldConfig in place of its untyped options and custom maps. Options and
// custom field config are Partial, as the package's own defaultOptions are:
// Grafana fills in the plugin defaults for the keys a dashboard leaves out.
// Targets are DataQuery: the ClickHouse plugin's query fields are not part
// of @grafana/schema.
const tsPreamble = `import type { Dashboard, Panel as GrafanaPanel, RowPanel, VariableModel, FieldConfig, FieldConfigSource, DataQuery } from '@grafana/schema';
%s
type Wire<T> =
  T extends string ? (string extends T ? string : ` + "`${T}`" + `) :
  T extends number | boolean | null | undefined ? T :
  T extends ReadonlyArray<infer U> ? Array<Wire<U>> :
  T extends object ? { [K in keyof T]: Wire<T[K]> } :
  T;

type Panel<O, F> = Wire<Omit<GrafanaPanel, 'options' | 'fieldConfig' | 'targets'> & {
  options: Partial<O>;
  fieldConfig: Omit<FieldConfigSource, 'defaults'> & { defaults: Omit<FieldConfig, 'custom'> & { custom?: Partial<F> } };
  targets?: Array<DataQuery & Record<string, unknown>>;
}>;

`

// publishedPanelTypes finds, for each panel type, its published options module
// (raw/composable/<type>/panelcfg) and whether it declares a custom
// FieldConfig.
func publishedPanelTypes(t *testing.T, dir string) map[string]struct {
	module      string
	fieldConfig bool
} {
	t.Helper()
	root := filepath.Join(dir, "node_modules/@grafana/schema/dist/esm/raw/composable")
	files, err := filepath.Glob(filepath.Join(root, "*/panelcfg/x/*PanelCfg_types.gen.d.ts"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no panel options types under %s (%v)", root, err)
	}
	out := map[string]struct {
		module      string
		fieldConfig bool
	}{}
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join(dir, "node_modules"), f)
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		typ := strings.Split(strings.TrimPrefix(f, root+"/"), "/")[0]
		out[typ] = struct {
			module      string
			fieldConfig bool
		}{strings.TrimSuffix(filepath.ToSlash(rel), ".d.ts"), bytes.Contains(src, []byte("interface FieldConfig "))}
	}
	return out
}

// tsDashboards declares each dashboard as a Dashboard, each of its panels as
// the Panel of its type, and each variable as a VariableModel.
func tsDashboards(t *testing.T, dir string, files map[string]json.RawMessage) *tsWriter {
	t.Helper()
	types := publishedPanelTypes(t, dir)
	w := &tsWriter{}
	var imports []string
	used := map[string]bool{}
	var body tsWriter
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var d struct {
			Panels     []json.RawMessage `json:"panels"`
			Templating struct {
				List []json.RawMessage `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(files[name], &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body.typed(name, "Wire<Dashboard>", files[name])
		for _, v := range d.Templating.List {
			var head struct{ Name string }
			json.Unmarshal(v, &head)
			body.typed(fmt.Sprintf("%s variable %s", name, head.Name), "Wire<VariableModel>", v)
		}
		for _, p := range d.Panels {
			var head struct {
				ID          int
				Type, Title string
			}
			json.Unmarshal(p, &head)
			label := fmt.Sprintf("%s panel %d %q (%s)", name, head.ID, head.Title, head.Type)
			if head.Type == "row" {
				body.typed(label, "Wire<RowPanel>", p)
				continue
			}
			pt, ok := types[head.Type]
			if !ok {
				t.Errorf("%s: @grafana/schema publishes no options for panel type %q", label, head.Type)
				continue
			}
			alias := "cfg_" + regexp.MustCompile(`\W`).ReplaceAllString(head.Type, "_")
			if !used[alias] {
				used[alias] = true
				imports = append(imports, fmt.Sprintf("import type * as %s from '%s';", alias, pt.module))
			}
			custom := "Record<string, never>" // the plugin has no custom field config
			if pt.fieldConfig {
				custom = alias + ".FieldConfig"
			}
			body.typed(label, fmt.Sprintf("Panel<%s.Options, %s>", alias, custom), p)
		}
	}
	sort.Strings(imports)
	w.printf(tsPreamble, strings.Join(imports, "\n"))
	offset := w.line() - 1
	w.buf.Write(body.buf.Bytes())
	for _, l := range body.labels {
		w.labels = append(w.labels, tsLabel{l.line + offset, l.label})
	}
	return w
}

var tscError = regexp.MustCompile(`(?m)^([\w.-]+\.ts)\((\d+),\d+\): error (TS\d+: .*)$`)

// tsc type-checks the files with --strict and returns its errors by file and
// label.
func tsc(t *testing.T, node, dir string, files map[string]*tsWriter) map[string]map[string][]string {
	t.Helper()
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, w := range files {
		if err := os.WriteFile(filepath.Join(work, name), w.buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	// types: [] keeps any @types package out; nothing but the generated
	// files and what they import is checked.
	cfg, _ := json.Marshal(map[string]any{
		"compilerOptions": map[string]any{"strict": true, "noEmit": true, "pretty": false, "target": "es2020",
			"module": "commonjs", "moduleResolution": "node", "types": []string{}},
		"files": names,
	})
	if err := os.WriteFile(filepath.Join(work, "tsconfig.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit", "--strict")
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	got := map[string]map[string][]string{}
	for _, m := range tscError.FindAllStringSubmatch(string(out), -1) {
		w, ok := files[m[1]]
		if !ok {
			t.Fatalf("tsc: an error outside the generated files: %s", m[0])
		}
		line, _ := strconv.Atoi(m[2])
		if got[m[1]] == nil {
			got[m[1]] = map[string][]string{}
		}
		label := w.labelAt(line)
		got[m[1]][label] = append(got[m[1]][label], m[3])
	}
	if err != nil && len(got) == 0 {
		t.Fatalf("tsc failed without type errors: %v\n%s", err, out)
	}
	if err == nil && len(got) > 0 {
		t.Fatalf("tsc exited 0 with errors:\n%s", out)
	}
	return got
}

// TestDashboardsTypeCheckAgainstGrafanaSchema: every dashboard, variable,
// panel, panel options and custom field config object passes tsc --strict
// against @grafana/schema's published types. The same check on copies of a
// dashboard with one known deviation each must fail, on that object.
func TestDashboardsTypeCheckAgainstGrafanaSchema(t *testing.T) {
	node, dir := typecheckTools(t)
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	real := map[string]json.RawMessage{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		real[f] = raw
	}

	// Each mutant is cost.json with one deviation Grafana's types refuse.
	var base map[string]any
	if err := json.Unmarshal(real["cost.json"], &base); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(d map[string]any)) json.RawMessage {
		var d map[string]any
		raw, _ := json.Marshal(base)
		json.Unmarshal(raw, &d)
		f(d)
		out, _ := json.Marshal(d)
		return out
	}
	vars := func(d map[string]any) []any { return d["templating"].(map[string]any)["list"].([]any) }
	panelOf := func(d map[string]any, typ string) map[string]any {
		for _, p := range d["panels"].([]any) {
			if p := p.(map[string]any); p["type"] == typ {
				return p
			}
		}
		t.Fatalf("cost.json has no %s panel", typ)
		return nil
	}
	mutants := map[string]struct {
		json json.RawMessage
		on   []string // the labels tsc must report, and only these
	}{
		"requires.json": {mutate(func(d map[string]any) {
			d["__requires"] = []any{map[string]any{"type": "datasource", "id": "grafana-clickhouse-datasource"}}
		}), []string{"requires.json"}},
		"definition.json": {mutate(func(d map[string]any) {
			vars(d)[1].(map[string]any)["definition"] = "SELECT 1"
		}), []string{"definition.json", "definition.json variable tenant"}},
		"current.json": {mutate(func(d map[string]any) {
			vars(d)[0].(map[string]any)["current"] = map[string]any{}
		}), []string{"current.json", "current.json variable datasource"}},
		"legend.json": {mutate(func(d map[string]any) {
			panelOf(d, "timeseries")["options"] = map[string]any{"legend": map[string]any{"displayMode": "sideways", "placement": "bottom", "showLegend": true, "calcs": []any{}}}
		}), []string{`legend.json panel 5 "Spend by workload" (timeseries)`}},
		"align.json": {mutate(func(d map[string]any) {
			panelOf(d, "table")["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"] = map[string]any{"align": "middle"}
		}), []string{`align.json panel 8 "Cost per request by workload and model" (table)`}},
		"statcustom.json": {mutate(func(d map[string]any) {
			panelOf(d, "stat")["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"] = map[string]any{"drawStyle": "line"}
		}), []string{`statcustom.json panel 1 "Total spend" (stat)`}},
	}
	bad := map[string]json.RawMessage{}
	for name, m := range mutants {
		bad[name] = m.json
	}
	errs := tsc(t, node, dir, map[string]*tsWriter{
		"dashboards.ts": tsDashboards(t, dir, real),
		"mutants.ts":    tsDashboards(t, dir, bad),
	})
	for label, msgs := range errs["dashboards.ts"] {
		t.Errorf("%s does not type-check against @grafana/schema:\n  %s", label, strings.Join(msgs, "\n  "))
	}
	want := map[string]bool{}
	for name, m := range mutants {
		for _, on := range m.on {
			want[on] = true
			if len(errs["mutants.ts"][on]) == 0 {
				t.Errorf("mutant %s: tsc found no error on %s (errors: %v)", name, on, errs["mutants.ts"])
			}
		}
	}
	for label := range errs["mutants.ts"] {
		if !want[label] {
			t.Errorf("mutants: an error on %s, which is unchanged from cost.json", label)
		}
	}
}
