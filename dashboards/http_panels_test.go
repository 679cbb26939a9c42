package dashboards

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/maturity/simulator"
)

// Every panel of every dashboard, run as Grafana's ClickHouse plugin runs
// it (clickhouse-go's HTTP protocol, the data source of
// deploy/grafana/provisioning) against a live collector on the embedded
// config with its clickhouse_http extension, fed by aiops-simulator over
// OTLP; checked as TestEveryPanelRunsOnTheReferenceWorkloads checks the
// engine-level results.

const (
	httpReader   = "grafana"
	httpPassword = "panels-test-password"
	httpToken    = "panels-test-report-token"
)

func TestEveryPanelOverTheHTTPInterface(t *testing.T) {
	bin := os.Getenv("AIOPS_BIN")
	if bin == "" {
		t.Skip("AIOPS_BIN is unset: this test runs the built collector (make build; AIOPS_BIN=$PWD/bin/otelcol-aiops)")
	}
	dir := t.TempDir()
	end := time.Now().UTC().Truncate(time.Hour)
	apps := simulator.ReferenceApps()
	c := startPanelsCollector(t, bin, dir, apps, end)

	// Fed as `make demo` feeds it: the simulator over OTLP, waiting until
	// the exporter reports every span and log record written.
	sim := exec.Command(simulatorBinary(t, bin), "-endpoint", fmt.Sprintf("127.0.0.1:%d", c.grpc), "-days", fmt.Sprint(simDays),
		"-end", end.Format(time.RFC3339), "-seed", "42", "-wait-metrics", fmt.Sprintf("http://127.0.0.1:%d/metrics", c.metrics),
		"-wait-timeout", "600s")
	if out, err := sim.CombinedOutput(); err != nil {
		t.Fatalf("aiops-simulator: %v\n%s\ncollector log: %s", err, out, tail(filepath.Join(dir, "collector.log")))
	}
	// Two scoring runs, as the engine-level test records.
	for i := 0; i < 2; i++ {
		c.scoreNow(t)
	}

	db := c.openDB(t)
	q := func(t *testing.T, sql string) *chstore.Rows {
		t.Helper()
		r, err := httpRows(db, sql)
		if err != nil {
			t.Fatalf("query failed: %v\n%s", err, sql)
		}
		return r
	}
	from, to := end.Add(-time.Duration(simDays)*24*time.Hour), time.Now().UTC().Add(time.Hour) // the scoring runs are now
	panels := 0
	for _, d := range loadDashboards(t) {
		opts := map[string][]string{}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var vq string
			json.Unmarshal(v.Query, &vq)
			r := q(t, vq)
			if len(r.Columns) != 1 || len(r.Data) == 0 {
				t.Fatalf("%s: variable %s: %d columns, %d rows", d.UID, v.Name, len(r.Columns), len(r.Data))
			}
			opts[v.Name] = column(r, r.Columns[0])
		}
		for _, want := range []string{"acme", "globex", "initech", "umbrella"} {
			if !contains(opts["tenant"], want) {
				t.Errorf("%s: tenant options %v lack %s", d.UID, opts["tenant"], want)
			}
		}
		base := scope{from: from, to: to, intervalS: 6 * 3600, options: opts}
		picked := base
		top := q(t, `SELECT request_model FROM aiops.genai_usage_hourly WHERE tenant_id = 'acme' AND workload = 'agent-platform' AND request_model != '' GROUP BY request_model ORDER BY sum(cost_usd) DESC LIMIT 1`)
		if len(top.Data) == 0 {
			t.Fatal("no model for acme / agent-platform")
		}
		picked.sel = map[string][]string{"tenant": {"acme"}, "workload": {"agent-platform"}, "model": {fmt.Sprint(top.Data[0][0])}}
		none := base
		none.sel = map[string][]string{"tenant": {"no-such-tenant"}}
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				continue
			}
			key := d.UID + "/" + p.Title
			exp, ok := expectations[key]
			if !ok {
				t.Errorf("%s: no expectation declared", key)
				continue
			}
			panels++
			for name, sc := range map[string]scope{"all": base, "picked": picked, "other-tenant": none} {
				t.Run(key+"/"+name, func(t *testing.T) {
					sql, err := expand(p.Targets[0].RawSQL, sc)
					if err != nil {
						t.Fatal(err)
					}
					desc := q(t, "DESCRIBE TABLE ("+sql+")")
					if names := column(desc, "name"); strings.Join(names, ",") != strings.Join(exp.cols, ",") {
						t.Fatalf("columns %v, want %v", names, exp.cols)
					}
					r := q(t, sql)
					if len(r.Data) > 0 && strings.Join(r.Columns, ",") != strings.Join(exp.cols, ",") {
						t.Fatalf("result columns %v, want %v", r.Columns, exp.cols)
					}
					if p.Type == "timeseries" && len(r.Data) > 0 && !strings.HasPrefix(r.Types[0], "DateTime") {
						t.Errorf("first column %s, want a DateTime", r.Types[0])
					}
					checkValues(t, r, exp)
					switch name {
					case "all":
						if exp.data && !hasContent(r) && !notFedHere[key] {
							t.Errorf("no data over the simulated workloads")
						}
						if exp.check != nil && len(r.Data) > 0 && !timeBound[key] && !notFedHere[key] {
							exp.check(t, r)
						}
						if timeBound[key] && len(r.Data) > 0 && num(r.Data[0][2]) < num(r.Data[0][0]) {
							t.Errorf("forecast %v below month to date %v", r.Data[0][2], r.Data[0][0])
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
	if panels < len(expectations) {
		t.Errorf("%d panels ran, %d expectations", panels, len(expectations))
	}
	t.Logf("%d panels, each in 3 variable scenarios, through clickhouse-go's HTTP protocol", panels)
}

// timeBound checks assume the engine-level test's range, which ends on a
// fixed date; here the range ends now, so only their shape is checked.
var timeBound = map[string]bool{"aiops-cost/Forecast to the end of the month": true}

// notFedHere panels read provider invoices, which the provider_usage
// receiver stores and the simulator does not send: here they must run and
// name their columns; the engine-level test checks their values.
var notFedHere = map[string]bool{
	"aiops-cost/Invoiced spend and what telemetry saw":          true,
	"aiops-cost/Reconciliation by provider, model and workload": true,
}

// httpRows runs sql with database/sql and returns it as the engine-level
// helpers take it, values scanned into the types clickhouse-go chooses.
func httpRows(db *sql.DB, query string) (*chstore.Rows, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	out := &chstore.Rows{}
	for _, ct := range cts {
		out.Columns = append(out.Columns, ct.Name())
		out.Types = append(out.Types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = reflect.ValueOf(d).Elem().Interface()
		}
		out.Data = append(out.Data, row)
	}
	return out, rows.Err()
}

type panelsCollector struct {
	grpc, metrics, http, report int
	cmd                         *exec.Cmd
	exited                      chan struct{}
}

// startPanelsCollector runs the shipped embedded config on ports of its
// own, with the clickhouse_http extension as the Grafana provisioning
// describes it, and the maturity extension scoring only when asked.
func startPanelsCollector(t *testing.T, bin, dir string, apps []simulator.App, end time.Time) *panelsCollector {
	t.Helper()
	c := &panelsCollector{grpc: freeTCPPort(t), metrics: freeTCPPort(t), http: freeTCPPort(t), report: freeTCPPort(t)}
	raw, err := os.ReadFile(filepath.Join("..", "config", "embedded.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"127.0.0.1:4317", fmt.Sprintf("127.0.0.1:%d", c.grpc),
		"127.0.0.1:4318", fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)),
		"127.0.0.1:13133", fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)),
		"127.0.0.1:4320", fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)),
		"127.0.0.1:8890", fmt.Sprintf("127.0.0.1:%d", c.report),
		"port: 8888", fmt.Sprintf("port: %d", c.metrics),
	).Replace(string(raw))
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	reg, err := simulator.RegistryYAML(apps, end)
	if err != nil {
		t.Fatal(err)
	}
	regFile := filepath.Join(dir, "registry.yaml")
	if err := os.WriteFile(regFile, reg, 0o644); err != nil {
		t.Fatal(err)
	}
	exts := cfg["extensions"].(map[string]any)
	exts["clickhouse_http"] = map[string]any{
		"endpoint": fmt.Sprintf("127.0.0.1:%d", c.http),
		"users":    []any{map[string]any{"name": httpReader, "password": "${env:PANELS_READER_PASSWORD}"}},
		"embedded": map[string]any{"path": filepath.Join(dir, "clickhouse")},
		"database": "aiops",
	}
	m := exts["maturity"].(map[string]any)
	m["registry"], m["initial_delay"], m["interval"], m["window"] = regFile, "24h", "24h", "360h"
	svc := cfg["service"].(map[string]any)
	list := svc["extensions"].([]any)
	if !contains(anyStrings(list), "clickhouse_http") {
		svc["extensions"] = append(list, "clickhouse_http")
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "collector.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config", cfgFile)
	c.cmd.Env = append(os.Environ(), "AIOPS_DATA_DIR="+dir, "AIOPS_REPORT_TOKEN="+httpToken, "PANELS_READER_PASSWORD="+httpPassword)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.exited:
		case <-time.After(60 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
		log.Close()
	})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.grpc)); err == nil {
			conn.Close()
			break
		}
		exited := false
		select {
		case <-c.exited:
			exited = true
		default:
		}
		if time.Now().After(deadline) || exited {
			t.Fatalf("the collector did not listen within 90s; its log: %s", tail(log.Name()))
		}
	}
	return c
}

// openDB connects as Grafana's plugin does with the provisioned data
// source: protocol http, the port, the user, the default database.
func (c *panelsCollector) openDB(t *testing.T) *sql.DB {
	t.Helper()
	var ds struct {
		Datasources []struct {
			Type     string         `yaml:"type"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "provisioning", "datasources", "clickhouse-embedded.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &ds); err != nil || len(ds.Datasources) != 1 {
		t.Fatalf("embedded data source provisioning: %v %+v", err, ds)
	}
	j := ds.Datasources[0].JSONData
	if ds.Datasources[0].Type != "grafana-clickhouse-datasource" || j["protocol"] != "http" || j["port"] != 8123 || j["secure"] != false {
		t.Fatalf("provisioned data source %+v: want the ClickHouse plugin over http on 8123", ds.Datasources[0])
	}
	db := clickhouse.OpenDB(&clickhouse.Options{
		Addr:     []string{fmt.Sprintf("127.0.0.1:%d", c.http)},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Username: httpReader, Password: httpPassword, Database: fmt.Sprint(j["defaultDatabase"])},
		Settings: clickhouse.Settings{"max_execution_time": 60}, // the plugin's default query timeout
	})
	t.Cleanup(func() { db.Close() })
	for deadline := time.Now().Add(60 * time.Second); db.Ping() != nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the HTTP interface did not answer within 60s: %v", db.Ping())
		}
	}
	return db
}

// scoreNow asks the maturity extension for a scoring run.
func (c *panelsCollector) scoreNow(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/run", c.report), strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+httpToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST /run: %v %v", err, resp)
		}
	}
}

// simulatorBinary is aiops-simulator beside the collector (make build puts
// it there), else built for this test.
func simulatorBinary(t *testing.T, bin string) string {
	t.Helper()
	if p := filepath.Join(filepath.Dir(bin), "aiops-simulator"); fileExists(p) {
		return p
	}
	p := filepath.Join(t.TempDir(), "aiops-simulator")
	cmd := exec.Command("go", "build", "-o", p, "../cmd/aiops-simulator")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building aiops-simulator: %v\n%s", err, out)
	}
	return p
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func anyStrings(l []any) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = fmt.Sprint(v)
	}
	return out
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
