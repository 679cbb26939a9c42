package maturity

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"
	"time"
)

// StageColors are the badge colours of stages 0-5 in the HTML report.
var StageColors = []string{"#6e7781", "#cf222e", "#bf8700", "#0969da", "#1a7f37", "#8250df"}

var htmlFuncs = template.FuncMap{
	"stageColor":     stageColor,
	"window":         windowText,
	"truncationNote": truncationNote,
	"spendLine":      spendLine,
	"time":           func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"join":           func(l []string) string { return orDash(strings.Join(l, ", ")) },
	"usd":            func(f float64) string { return fmtValue(f, "usd") },
	"count":          func(n uint64) string { return fmtValue(n, "count") },
	"mark":           mark,
	"domain":         domainLabel,
	"title":          capitalize,
	"statusClass": func(s string) string {
		switch s {
		case StatusMet, StatusDeclared:
			return "ok"
		case StatusNA:
			return "na"
		case StatusNotMeasurable:
			return "nm"
		}
		return "bad"
	},
	"score":         func(w WorkloadReport, f string) *FrameworkScore { return w.Score(f) },
	"sortedDomains": sortedDomains,
	"trend":         trendSVG,
	"totalUSD": func(ws []WorkloadReport) string {
		t := 0.0
		for _, w := range ws {
			t += w.CostUSD
		}
		return fmtValue(t, "usd")
	},
}

func stageColor(n int) string {
	if n < 0 || n >= len(StageColors) {
		return StageColors[0]
	}
	return StageColors[n]
}

// trendSVG draws a workload's stage over the recorded runs (solid line,
// coloured dots) and the share of signals met (dashed line). Only numbers
// and escaped text reach the markup.
func trendSVG(pts []TrendPoint, top int) template.HTML {
	const w, h, pad = 220.0, 54.0, 6.0
	if len(pts) == 0 || top <= 0 {
		return ""
	}
	x := func(i int) float64 {
		if len(pts) == 1 {
			return w / 2
		}
		return pad + float64(i)*(w-2*pad)/float64(len(pts)-1)
	}
	y := func(f float64) float64 { return h - pad - f*(h-2*pad) }
	var stage, share, dots strings.Builder
	for i, p := range pts {
		sy := y(float64(p.Stage) / float64(top))
		fmt.Fprintf(&stage, "%.1f,%.1f ", x(i), sy)
		if p.Signals > 0 {
			fmt.Fprintf(&share, "%.1f,%.1f ", x(i), y(float64(p.Met)/float64(p.Signals)))
		}
		fmt.Fprintf(&dots, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: stage %d, %d of %d signals met</title></circle>`,
			x(i), sy, stageColor(p.Stage), html.EscapeString(p.RunAt.UTC().Format("2006-01-02 15:04")), p.Stage, p.Met, p.Signals)
	}
	last := pts[len(pts)-1]
	return template.HTML(fmt.Sprintf(`<svg class="trend" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="stage over %d runs, now %d">`+
		`<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#d0d7de"/>`+
		`<polyline points="%s" fill="none" stroke="#8c959f" stroke-dasharray="3 2"/>`+
		`<polyline points="%s" fill="none" stroke="#1f3a5f" stroke-width="1.5"/>%s</svg>`,
		w, h, w, h, len(pts), last.Stage, h-pad, w, h-pad, share.String(), stage.String(), dots.String()))
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
table{border-collapse:collapse;width:100%;background:#fff;table-layout:fixed}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{background:#eaeef2}
h2,h3,p,li{overflow-wrap:anywhere}
.badge{display:inline-block;max-width:100%;padding:3px 10px;border-radius:12px;color:#fff;font-weight:600}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 18px;margin:18px 0;overflow:hidden}
.card h2{margin:0 0 8px}
.fw{margin:10px 0 16px}
.fw h3{margin:6px 0;font-size:16px}
.ok{color:#1a7f37;font-weight:700}.bad{color:#cf222e;font-weight:700}.na{color:#6e7781}.nm{color:#bf8700;font-weight:700}
.reg{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px}
.gaps{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px;margin:6px 0}
.regress{background:#ffebe9;border:1px solid #cf222e;padding:6px 10px;border-radius:6px}
ol li{margin:3px 0}
.small{color:#57606a;font-size:12px}
.num{text-align:right}
details{margin-top:6px}
.domains span{display:inline-block;margin:2px 6px 2px 0;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.legend{display:flex;gap:24px;flex-wrap:wrap}
.legend>div{flex:1 1 420px;min-width:0}
.legend td:first-child{width:190px}
.trendbox{float:right;margin:0 0 6px 12px;text-align:center}
svg.trend{display:block;background:#f6f8fa;border-radius:4px}
col.mark{width:34px}col.stage{width:64px}col.sig{width:26%}col.val{width:11%}col.tgt{width:13%}
</style></head>
<body>
<header>
<h1>AI workload maturity</h1>
<p>Measured from telemetry · window {{window .}} · database {{.Database}} · rubric {{.RubricVersion}} · generated {{time .GeneratedAt}}</p>
</header>
<main>
{{$fws := .Frameworks}}
{{with .Truncated}}<p class="reg">{{truncationNote .}}</p>{{end}}
<section class="card" id="legend">
<h2>What the stages mean</h2>
<p class="small">A stage is reached when every required signal of it and of the stages below is met from telemetry. A signal that an instrumentation gap hides is shown as <span class="nm">?</span> (not measurable): never counted as met, and the stage it could reach once the gap is closed is shown beside the stage.</p>
<div class="legend">{{range $fws}}<div><h3>{{.Title}}</h3><table>
{{range .Levels}}<tr><td><span class="badge" style="background:{{stageColor .Level}}">{{.Level}} · {{.Name}}</span></td><td>{{.Summary}}</td></tr>{{end}}
</table>{{if .Source}}<p class="small">After {{.Source}}</p>{{end}}</div>{{end}}</div>
</section>
{{if not .Workloads}}<p>No GenAI telemetry in the window.</p>{{else}}
<table id="summary">
<tr><th>Workload</th>{{range $fws}}<th>{{.Title}}</th>{{end}}<th class="num">Spend</th><th class="num">Model calls</th><th>Registered</th></tr>
{{range .Workloads}}{{$w := .}}<tr><td><a href="#w-{{.Workload}}">{{.Workload}}</a></td>
{{range $fws}}{{$s := score $w .ID}}<td><span class="badge" style="background:{{stageColor $s.Stage}}">{{$s.Stage}} · {{$s.StageName}}</span>{{if gt $s.PossibleStage $s.Stage}}<br><span class="small">possibly {{$s.PossibleStage}} · {{$s.PossibleStageName}} once the gaps are closed</span>{{end}}</td>{{end}}
<td class="num">{{usd .CostUSD}}</td><td class="num">{{count .ModelCalls}}</td>
<td>{{if .Registered}}yes{{else}}<span class="bad">no</span>{{end}}</td></tr>
{{end}}
<tr><th>Total</th>{{range $fws}}<th></th>{{end}}<th class="num">{{totalUSD .Workloads}}</th><th></th><th></th></tr>
</table>
{{range .Workloads}}{{$w := .}}
<section class="card" id="w-{{.Workload}}">
<h2>{{.Workload}}</h2>
<p>Spend {{usd .CostUSD}} over {{count .ModelCalls}} model calls.{{if .Owner}} Owner: {{.Owner}}.{{end}}</p>
{{with spendLine .Spend}}<p class="small">{{.}}</p>{{end}}
{{if and (not .Owner) (not .Registered)}}<p class="reg">Not in the workload registry: no owner, on-call or risk tier declared.</p>{{end}}
{{range $fws}}{{$f := .}}{{$s := score $w .ID}}
<div class="fw">
{{if $s.Trend}}<div class="trendbox">{{trend $s.Trend (len $f.Levels)}}<span class="small">{{title $f.Unit}} over {{len $s.Trend}} run{{if gt (len $s.Trend) 1}}s{{end}} · dashed: share of signals met</span></div>{{end}}
<h3>{{.Title}}: <span class="badge" style="background:{{stageColor $s.Stage}}">{{title .Unit}} {{$s.Stage}} · {{$s.StageName}}</span>
{{if gt $s.PossibleStage $s.Stage}}<span class="nm">possibly {{$s.PossibleStage}} · {{$s.PossibleStageName}} once the gaps below are closed</span>{{end}}
{{if $s.Previous}}<span class="small">previous run {{time $s.Previous.RunAt}}: {{$s.Previous.Stage}}</span>{{end}}</h3>
{{if $s.Domains}}<p class="domains">{{range sortedDomains $s.Domains $f.Domains}}<span style="background:{{stageColor .Level}}">{{domain .Domain}} {{if .Applicable}}{{.Level}}{{else}}n/a{{end}}</span>{{end}}</p>{{end}}
{{if $s.Gaps}}<div class="gaps"><strong>Not measurable: instrumentation gaps</strong><ul>{{range $s.Gaps}}<li><strong>{{.Title}}</strong>: {{.Evidence}} <span class="small">→ {{.Fix}}</span></li>{{end}}</ul></div>{{end}}
{{if $s.Regressions}}<div class="regress"><strong>Regressions since the previous run</strong><ul>{{range $s.Regressions}}<li>{{.Detail}}</li>{{end}}</ul></div>{{end}}
{{if $s.Next}}{{if $s.Next.Items}}<p><strong>What to invest in next</strong> (toward {{$s.Next.Stage}} · {{$s.Next.Name}}, by impact):</p>
<ol class="next">{{range $s.Next.Items}}<li><strong>{{.Title}}</strong>{{if not .Required}} <em>(optional)</em>{{end}}: {{.Gap}}. <span class="small">{{.Evidence}}</span>{{if .Advice}}<br><span class="fix">→ {{.Advice}}</span>{{end}}</li>{{end}}</ol>{{end}}{{end}}
<details><summary>All {{len $s.Signals}} signals</summary>
<table><colgroup><col class="mark"><col class="stage"><col class="sig"><col class="val"><col class="tgt"><col></colgroup>
<tr><th></th><th>{{title $f.Unit}}</th><th>Signal</th><th>Value</th><th>Target</th><th>Evidence</th></tr>
{{range $s.Signals}}<tr><td class="{{statusClass .Status}}" title="{{.Status}}">{{mark .}}</td><td>{{.Stage}}</td><td>{{.Title}}{{if eq .Kind "declared"}} <em>(declared)</em>{{end}}{{if not .Required}} <em>(optional)</em>{{end}}<br><span class="small">{{.ID}}</span></td><td>{{.Display}}</td><td>{{.Target}}</td><td>{{.Evidence}}</td></tr>
{{end}}</table></details>
</div>
{{end}}
</section>
{{end}}
<section class="card" id="inventory">
<h2>Inventory</h2>
<table><tr><th>Workload</th><th>Registered</th><th>Owner</th><th>Environments</th><th>Providers</th><th>Models</th><th>Data sources</th><th>Tools</th><th>Agents</th><th class="num">Calls</th><th class="num">Spend</th></tr>
{{range .Inventory.Workloads}}<tr><td>{{.Workload}}</td><td>{{if .Registered}}yes{{else}}<span class="bad">no</span>{{end}}</td><td>{{if .Owner}}{{.Owner}}{{else}}—{{end}}</td><td>{{join .Environments}}</td><td>{{join .Providers}}</td><td>{{join .Models}}</td><td>{{join .DataSources}}</td><td>{{join .Tools}}</td><td>{{join .Agents}}</td><td class="num">{{count .ModelCalls}}</td><td class="num">{{usd .CostUSD}}</td></tr>
{{end}}</table>
{{if .Inventory.Unregistered}}<p class="reg">Unregistered workloads: {{join .Inventory.Unregistered}}</p>{{end}}
{{if .Inventory.RegisteredWithoutTelemetry}}<p>Registered but silent in the window: {{join .Inventory.RegisteredWithoutTelemetry}}</p>{{end}}
{{if .Inventory.UninstrumentedSpend}}<h3>Uninstrumented spend</h3><p>Invoiced by the provider to accounts no span or metric accounts for.</p>
<table><tr><th>Account</th><th>Provider</th><th>Mapped workload</th><th>Models</th><th class="num">Tokens</th><th class="num">Invoiced</th></tr>
{{range .Inventory.UninstrumentedSpend}}<tr><td>{{.Project}}</td><td>{{.Provider}}</td><td>{{if .Workload}}{{.Workload}}{{else}}—{{end}}</td><td>{{join .Models}}</td><td class="num">{{count .Tokens}}</td><td class="num">{{usd .CostUSD}}</td></tr>
{{end}}</table>{{end}}
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
