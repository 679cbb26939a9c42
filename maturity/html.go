package maturity

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// StageColors are the badge colours of stages 0-5 in the HTML report.
var StageColors = []string{"#6e7781", "#cf222e", "#bf8700", "#0969da", "#1a7f37", "#8250df"}

var htmlFuncs = template.FuncMap{
	"stageColor": func(n int) string {
		if n < 0 || n >= len(StageColors) {
			return StageColors[0]
		}
		return StageColors[n]
	},
	"window": windowText,
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"join":   func(l []string) string { return orDash(strings.Join(l, ", ")) },
	"usd":    func(f float64) string { return fmtValue(f, "usd") },
	"count":  func(n uint64) string { return fmtValue(n, "count") },
	"mark":   mark,
	"domain": domainLabel,
	"title":  capitalize,
	"statusClass": func(s string) string {
		switch s {
		case StatusMet, StatusDeclared:
			return "ok"
		case StatusNA:
			return "na"
		}
		return "bad"
	},
	"score":         func(w WorkloadReport, f string) *FrameworkScore { return w.Score(f) },
	"sortedDomains": sortedDomains,
}

var htmlTemplate = template.Must(template.New("report").Funcs(htmlFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AI workload maturity · otelcol-aiops</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#1f3a5f;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}
main{padding:20px 28px;max-width:1400px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}
.badge{display:inline-block;min-width:180px;padding:3px 10px;border-radius:12px;color:#fff;font-weight:600}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 18px;margin:18px 0}
.card h2{margin:0 0 8px}
.fw{margin:10px 0 16px}
.fw h3{margin:6px 0;font-size:16px}
.ok{color:#1a7f37;font-weight:700}.bad{color:#cf222e;font-weight:700}.na{color:#6e7781}
.reg{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px}
.regress{background:#ffebe9;border:1px solid #cf222e;padding:6px 10px;border-radius:6px}
ol li{margin:3px 0}
.small{color:#57606a;font-size:12px}
details{margin-top:6px}
.domains span{display:inline-block;margin:2px 6px 2px 0;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
</style></head>
<body>
<header>
<h1>AI workload maturity</h1>
<p>Measured from telemetry · window {{window .}} · database {{.Database}} · rubric {{.RubricVersion}} · generated {{time .GeneratedAt}}</p>
</header>
<main>
{{if not .Workloads}}<p>No GenAI telemetry in the window.</p>{{else}}
<table id="summary">
<tr><th>Workload</th>{{range .Frameworks}}<th>{{.Title}}</th>{{end}}<th>Registered</th></tr>
{{$fws := .Frameworks}}
{{range .Workloads}}{{$w := .}}<tr><td><a href="#w-{{.Workload}}">{{.Workload}}</a></td>
{{range $fws}}{{$s := score $w .ID}}<td><span class="badge" style="background:{{stageColor $s.Stage}}">{{$s.Stage}} · {{$s.StageName}}</span></td>{{end}}
<td>{{if .Registered}}yes{{else}}<span class="bad">no</span>{{end}}</td></tr>
{{end}}
</table>
{{range .Workloads}}{{$w := .}}
<section class="card" id="w-{{.Workload}}">
<h2>{{.Workload}}</h2>
{{if .Owner}}<p>Owner: {{.Owner}}</p>{{else if not .Registered}}<p class="reg">Not in the workload registry: no owner, on-call or risk tier declared.</p>{{end}}
{{range $fws}}{{$f := .}}{{$s := score $w .ID}}
<div class="fw">
<h3>{{.Title}}: <span class="badge" style="background:{{stageColor $s.Stage}}">{{title .Unit}} {{$s.Stage}} · {{$s.StageName}}</span>
{{if $s.Previous}}<span class="small">previous run {{time $s.Previous.RunAt}}: {{$s.Previous.Stage}}</span>{{end}}</h3>
{{if $s.Domains}}<p class="domains">{{range sortedDomains $s.Domains $f.Domains}}<span style="background:{{stageColor .Level}}">{{domain .Domain}} {{if .Applicable}}{{.Level}}{{else}}n/a{{end}}</span>{{end}}</p>{{end}}
{{if $s.Regressions}}<div class="regress"><strong>Regressions since the previous run</strong><ul>{{range $s.Regressions}}<li>{{.Detail}}</li>{{end}}</ul></div>{{end}}
{{if $s.Next}}{{if $s.Next.Items}}<p><strong>What to invest in next</strong> (toward {{$s.Next.Stage}} · {{$s.Next.Name}}, by impact):</p>
<ol>{{range $s.Next.Items}}<li><strong>{{.Title}}</strong>{{if not .Required}} <em>(optional)</em>{{end}}: {{.Gap}}. <span class="small">{{.Evidence}}</span>{{if .Advice}} <span class="small">→ {{.Advice}}</span>{{end}}</li>{{end}}</ol>{{end}}{{end}}
<details><summary>All {{len $s.Signals}} signals</summary>
<table><tr><th></th><th>{{title $f.Unit}}</th><th>Signal</th><th>Value</th><th>Target</th><th>Evidence</th></tr>
{{range $s.Signals}}<tr><td class="{{statusClass .Status}}">{{mark .}}</td><td>{{.Stage}}</td><td>{{.Title}}{{if eq .Kind "declared"}} <em>(declared)</em>{{end}}{{if not .Required}} <em>(optional)</em>{{end}}<br><span class="small">{{.ID}}</span></td><td>{{.Display}}</td><td>{{.Target}}</td><td>{{.Evidence}}</td></tr>
{{end}}</table></details>
</div>
{{end}}
</section>
{{end}}
<section class="card" id="inventory">
<h2>Inventory</h2>
<table><tr><th>Workload</th><th>Registered</th><th>Owner</th><th>Environments</th><th>Providers</th><th>Models</th><th>Data sources</th><th>Tools</th><th>Agents</th><th>Calls</th><th>Cost</th></tr>
{{range .Inventory.Workloads}}<tr><td>{{.Workload}}</td><td>{{if .Registered}}yes{{else}}<span class="bad">no</span>{{end}}</td><td>{{if .Owner}}{{.Owner}}{{else}}—{{end}}</td><td>{{join .Environments}}</td><td>{{join .Providers}}</td><td>{{join .Models}}</td><td>{{join .DataSources}}</td><td>{{join .Tools}}</td><td>{{join .Agents}}</td><td>{{count .ModelCalls}}</td><td>{{usd .CostUSD}}</td></tr>
{{end}}</table>
{{if .Inventory.Unregistered}}<p class="reg">Unregistered workloads: {{join .Inventory.Unregistered}}</p>{{end}}
{{if .Inventory.RegisteredWithoutTelemetry}}<p>Registered but silent in the window: {{join .Inventory.RegisteredWithoutTelemetry}}</p>{{end}}
</section>
{{end}}
<p class="small">otelcol-aiops · report schema {{.Schema}} · run {{.RunID}} · JSON at <a href="report.json">report.json</a></p>
</main></body></html>
`))

// WriteHTML writes the report as a self-contained HTML page.
func WriteHTML(w io.Writer, rep *Report) error {
	if err := htmlTemplate.Execute(w, rep); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}
