package maturity

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats the report renders in.
var Formats = []string{"table", "json", "markdown", "html"}

// Render writes the report in format.
func Render(w io.Writer, rep *Report, format string) error {
	switch format {
	case "json":
		return WriteJSON(w, rep)
	case "table", "":
		return WriteTable(w, rep)
	case "markdown", "md":
		return WriteMarkdown(w, rep)
	case "html":
		return WriteHTML(w, rep)
	}
	return fmt.Errorf("format %q is not one of %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the report as indented JSON (schema in README.md).
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// truncationNote says what was cut from the telemetry's values.
func truncationNote(t *Truncation) string {
	return fmt.Sprintf("Some values from telemetry were too long and are shown cut: %d value(s) to %d bytes (ending in … and a hash), %d list(s) to %d items (%d in the inventory totals).",
		t.Values, t.MaxValueBytes, t.Lists, t.MaxListItems, t.MaxInventoryItems)
}

func windowText(rep *Report) string {
	d := rep.Window.To.Sub(rep.Window.From)
	span := fmt.Sprintf("%.0f d", d.Hours()/24)
	if d < 48*time.Hour {
		span = d.String()
	}
	return fmt.Sprintf("%s → %s UTC (%s)", rep.Window.From.UTC().Format("2006-01-02 15:04"), rep.Window.To.UTC().Format("2006-01-02 15:04"), span)
}

func stageLabel(sc *FrameworkScore) string {
	l := fmt.Sprintf("%d %s", sc.Stage, sc.StageName)
	if sc.PossibleStage > sc.Stage {
		l += fmt.Sprintf(" (possibly %d once the gaps are closed)", sc.PossibleStage)
	}
	return l
}

func mark(s SignalResult) string {
	switch s.Status {
	case StatusMet, StatusDeclared:
		return "✓"
	case StatusNA:
		return "–"
	case StatusNotMeasurable:
		return "?"
	}
	return "✗"
}

// WriteTable writes a terminal summary: stages per workload, what to invest
// in next, regressions and the inventory.
func WriteTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "otelcol-aiops maturity report · %s · database %s · rubric %s\n\n", windowText(rep), rep.Database, rep.RubricVersion)
	if rep.Truncated != nil {
		fmt.Fprintf(w, "%s\n\n", truncationNote(rep.Truncated))
	}
	if len(rep.Workloads) == 0 {
		fmt.Fprintln(w, "No GenAI telemetry in the window.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "WORKLOAD")
	for _, f := range rep.Frameworks {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(f.ID))
	}
	fmt.Fprint(tw, "\tSPEND\tREGISTERED\tCHANGE\n")
	for _, wl := range rep.Workloads {
		fmt.Fprint(tw, wl.Workload)
		var changes []string
		for _, f := range rep.Frameworks {
			sc := wl.Score(f.ID)
			fmt.Fprintf(tw, "\t%s", stageLabel(sc))
			if sc.Previous != nil && sc.Previous.Stage != sc.Stage {
				changes = append(changes, fmt.Sprintf("%s %d→%d", f.ID, sc.Previous.Stage, sc.Stage))
			}
		}
		reg := "no"
		if wl.Registered {
			reg = "yes"
		}
		ch := "—"
		if len(changes) > 0 {
			ch = strings.Join(changes, ", ")
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\n", fmtValue(wl.CostUSD, "usd"), reg, ch)
	}
	tw.Flush()
	for _, wl := range rep.Workloads {
		fmt.Fprintf(w, "\n%s\n", wl.Workload)
		if line := spendLine(wl.Spend); line != "" {
			fmt.Fprintf(w, "  %s\n", line)
		}
		for _, f := range rep.Frameworks {
			sc := wl.Score(f.ID)
			fmt.Fprintf(w, "  %s: %s %s\n", f.Title, f.Unit, stageLabel(sc))
			for _, g := range sc.Gaps {
				fmt.Fprintf(w, "    ? not measurable, %s: %s → %s\n", g.Title, g.Evidence, g.Fix)
			}
			for _, r := range sc.Regressions {
				fmt.Fprintf(w, "    ! regression: %s\n", r.Detail)
			}
			if sc.Next == nil {
				continue
			}
			fmt.Fprintf(w, "    next: %d %s, invest in:\n", sc.Next.Stage, sc.Next.Name)
			for i, it := range sc.Next.Items {
				if i == 5 {
					fmt.Fprintf(w, "      … and %d more\n", len(sc.Next.Items)-5)
					break
				}
				req := ""
				if !it.Required {
					req = " (optional)"
				}
				fmt.Fprintf(w, "      %d. %s%s: %s\n", i+1, it.Title, req, it.Gap)
				fmt.Fprintf(w, "         %s\n", it.Evidence)
				if it.Advice != "" {
					fmt.Fprintf(w, "         → %s\n", it.Advice)
				}
			}
		}
	}
	inv := rep.Inventory
	fmt.Fprintf(w, "\nInventory: %d workloads, %d models, %d providers, %d data sources, %d tools, %d agents\n",
		len(inv.Workloads), len(inv.Models), len(inv.Providers), len(inv.DataSources), len(inv.Tools), len(inv.Agents))
	if len(inv.Unregistered) > 0 {
		fmt.Fprintf(w, "  unregistered (not in the workload registry): %s\n", strings.Join(inv.Unregistered, ", "))
	}
	if len(inv.RegisteredWithoutTelemetry) > 0 {
		fmt.Fprintf(w, "  registered but silent in the window: %s\n", strings.Join(inv.RegisteredWithoutTelemetry, ", "))
	}
	for _, u := range inv.UninstrumentedSpend {
		fmt.Fprintf(w, "  uninstrumented spend: %s, %s invoiced, no span or metric (%s)\n", u.Project, fmtValue(u.CostUSD, "usd"), uninstrumentedWhat(u))
	}
	return nil
}

// mdText escapes text for Markdown: HTML is shown, never interpreted, and
// no name can start emphasis, code, a link or a table cell.
var mdText = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "\\", "\\\\", "`", "\\`", "*", "\\*", "_", "\\_",
	"[", "\\[", "]", "\\]", "#", "\\#", "!", "\\!", "~", "\\~", "\r", " ", "\n", " ")

func mdEscape(s string) string { return mdText.Replace(s) }

func mdJoin(l []string) string { return mdEscape(orDash(strings.Join(l, ", "))) }

// WriteMarkdown writes the full report: stages, domain levels, ranked next
// items, regressions, every signal with its evidence, and the inventory.
func WriteMarkdown(w io.Writer, rep *Report) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# AI workload maturity report\n\n")
	p("Window %s · database %s · rubric %s · generated %s", windowText(rep), mdEscape(rep.Database), mdEscape(rep.RubricVersion), rep.GeneratedAt.UTC().Format(time.RFC3339))
	if rep.PreviousRunAt != nil {
		p(" · compared with the run of %s", rep.PreviousRunAt.UTC().Format(time.RFC3339))
	}
	p("\n\nMeasured from telemetry, not from a questionnaire. *Declared* items come from the workload registry. " +
		"A stage is reached when every required signal of it and of the stages below is met; ? marks a signal an instrumentation gap hides, never counted as met.\n\n")
	if rep.Truncated != nil {
		p("⚠ %s\n\n", mdEscape(truncationNote(rep.Truncated)))
	}
	for _, f := range rep.Frameworks {
		p("**%s stages:** ", mdEscape(f.Title))
		for i, l := range f.Levels {
			if i > 0 {
				p(" · ")
			}
			p("%d %s: %s", l.Level, mdEscape(l.Name), mdEscape(l.Summary))
		}
		p("\n\n")
	}
	if len(rep.Workloads) == 0 {
		p("No GenAI telemetry in the window.\n")
		return nil
	}
	p("| Workload |")
	for _, f := range rep.Frameworks {
		p(" %s |", mdEscape(f.Title))
	}
	p(" Spend | Registered | Top next investment |\n|---|")
	for range rep.Frameworks {
		p("---|")
	}
	p("--:|---|---|\n")
	for _, wl := range rep.Workloads {
		p("| **%s** |", mdEscape(wl.Workload))
		next := "—"
		for i, f := range rep.Frameworks {
			sc := wl.Score(f.ID)
			p(" %s |", mdEscape(stageLabel(sc)))
			if i == 0 && sc.Next != nil && len(sc.Next.Items) > 0 {
				next = sc.Next.Items[0].Title
			}
		}
		reg := "no ⚠"
		if wl.Registered {
			reg = "yes"
		}
		p(" %s | %s | %s |\n", fmtValue(wl.CostUSD, "usd"), reg, mdEscape(next))
	}
	for _, wl := range rep.Workloads {
		p("\n## %s\n\n", mdEscape(wl.Workload))
		p("Spend %s over %s model calls.\n\n", fmtValue(wl.CostUSD, "usd"), fmtValue(wl.ModelCalls, "count"))
		if line := spendLine(wl.Spend); line != "" {
			p("%s\n\n", line)
		}
		if wl.Owner != "" {
			p("Owner: %s\n\n", mdEscape(wl.Owner))
		} else if !wl.Registered {
			p("⚠ Not in the workload registry: no owner, on-call or risk tier declared.\n\n")
		}
		for _, f := range rep.Frameworks {
			sc := wl.Score(f.ID)
			p("### %s: %s %s\n\n", mdEscape(f.Title), mdEscape(f.Unit), mdEscape(stageLabel(sc)))
			if len(sc.Gaps) > 0 {
				p("**Not measurable: instrumentation gaps**\n\n")
				for _, g := range sc.Gaps {
					p("- **%s**: %s → %s\n", mdEscape(g.Title), mdEscape(g.Evidence), mdEscape(g.Fix))
				}
				p("\n")
			}
			if len(sc.Trend) > 1 {
				var ts []string
				for _, t := range sc.Trend {
					ts = append(ts, fmt.Sprintf("%s %d (%d/%d)", t.RunAt.UTC().Format("01-02 15:04"), t.Stage, t.Met, t.Signals))
				}
				p("Trend (stage, signals met): %s.\n\n", strings.Join(ts, " → "))
			}
			if len(sc.Domains) > 0 {
				var ds []string
				for _, d := range sc.Domains {
					if d.Applicable {
						ds = append(ds, fmt.Sprintf("%s %d", domainLabel(d.Domain), d.Level))
					} else {
						ds = append(ds, domainLabel(d.Domain)+" n/a")
					}
				}
				p("Per domain: %s.\n\n", mdEscape(strings.Join(ds, " · ")))
			}
			if sc.Previous != nil {
				p("Previous run (%s): %s %d.\n\n", sc.Previous.RunAt.UTC().Format(time.RFC3339), mdEscape(f.Unit), sc.Previous.Stage)
			}
			if len(sc.Regressions) > 0 {
				p("**Regressions since the previous run**\n\n")
				for _, r := range sc.Regressions {
					p("- %s\n", mdEscape(r.Detail))
				}
				p("\n")
			}
			if sc.Next != nil && len(sc.Next.Items) > 0 {
				p("**What to invest in next** (toward %d %s, by impact):\n\n", sc.Next.Stage, mdEscape(sc.Next.Name))
				for i, it := range sc.Next.Items {
					opt := ""
					if !it.Required {
						opt = " *(optional)*"
					}
					p("%d. **%s**%s — %s. %s", i+1, mdEscape(it.Title), opt, mdEscape(it.Gap), mdEscape(it.Evidence))
					if it.Advice != "" {
						p(" → %s", mdEscape(it.Advice))
					}
					p("\n")
				}
				p("\n")
			}
			p("<details><summary>All %d signals</summary>\n\n| | %s | Signal | Value | Target | Evidence |\n|---|---|---|---|---|---|\n", len(sc.Signals), mdEscape(capitalize(f.Unit)))
			for _, s := range sc.Signals {
				name := s.Title
				if !s.Required {
					name += " (optional)"
				}
				if s.Kind == "declared" {
					name += " (declared)"
				}
				p("| %s | %d | %s<br>%s | %s | %s | %s |\n", mark(s), s.Stage, mdEscape(name), mdEscape(s.ID), mdEscape(s.Display), mdEscape(s.Target), mdEscape(s.Evidence))
			}
			p("\n</details>\n\n")
		}
	}
	inv := rep.Inventory
	p("## Inventory\n\n| Workload | Registered | Owner / teams | Environments | Providers | Models | Data sources | Tools | Agents | Calls | Spend |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, iw := range inv.Workloads {
		reg := "no ⚠"
		if iw.Registered {
			reg = "yes"
		}
		owner := iw.Owner
		if len(iw.Teams) > 0 {
			owner = strings.TrimPrefix(owner+" / "+strings.Join(iw.Teams, ", "), " / ")
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(iw.Workload), reg, mdEscape(orDash(owner)),
			mdJoin(iw.Environments), mdJoin(iw.Providers), mdJoin(iw.Models),
			mdJoin(iw.DataSources), mdJoin(iw.Tools), mdJoin(iw.Agents),
			fmtValue(iw.ModelCalls, "count"), fmtValue(iw.CostUSD, "usd"))
	}
	if len(inv.Unregistered) > 0 {
		p("\n⚠ Unregistered workloads: %s.\n", mdJoin(inv.Unregistered))
	}
	if len(inv.RegisteredWithoutTelemetry) > 0 {
		p("\nRegistered but without telemetry in the window: %s.\n", mdJoin(inv.RegisteredWithoutTelemetry))
	}
	if len(inv.UninstrumentedSpend) > 0 {
		p("\n### Uninstrumented spend\n\nInvoiced by the provider to accounts no span or metric accounts for.\n\n| Account | Provider | Mapped workload | Models | Tokens | Invoiced |\n|---|---|---|---|---|---|\n")
		for _, u := range inv.UninstrumentedSpend {
			p("| %s | %s | %s | %s | %s | %s |\n", mdEscape(u.Project), mdEscape(u.Provider), mdEscape(orDash(u.Workload)), mdJoin(u.Models),
				fmtValue(u.Tokens, "count"), fmtValue(u.CostUSD, "usd"))
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// sortedDomains returns domain levels in the framework's order.
func sortedDomains(ds []DomainLevel, order []string) []DomainLevel {
	idx := map[string]int{}
	for i, d := range order {
		idx[d] = i
	}
	out := append([]DomainLevel(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool { return idx[out[i].Domain] < idx[out[j].Domain] })
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var domainLabels = map[string]string{
	"observability": "observability", "llmops": "LLMOps", "cost": "cost",
	"governance_security": "governance & security", "agent_ops": "agent operations", "reliability": "reliability",
}

func domainLabel(d string) string {
	if l, ok := domainLabels[d]; ok {
		return l
	}
	return strings.ReplaceAll(d, "_", " ")
}

// spendLine says how the workload's spend compares with its invoice and
// metrics; "" when there is nothing to compare.
func spendLine(sp *Spend) string {
	if sp == nil {
		return ""
	}
	var parts []string
	if sp.Estimated && sp.SpanShareOfMetrics != nil {
		parts = append(parts, fmt.Sprintf("Traces are sampled: spans saw %s of the tokens the metrics counted; estimated full cost %s (estimated, from %s of sampled spans).",
			fmtValue(*sp.SpanShareOfMetrics, "ratio"), fmtValue(sp.EstimatedCostUSD, "usd"), fmtValue(sp.SpanCostUSD, "usd")))
	}
	if sp.InvoicedUSD > 0 && sp.InvoiceCoverage != nil {
		parts = append(parts, fmt.Sprintf("The provider invoiced %s to its accounts; telemetry saw %s of it.",
			fmtValue(sp.InvoicedUSD, "usd"), fmtValue(*sp.InvoiceCoverage, "ratio")))
	}
	return strings.Join(parts, " ")
}

func uninstrumentedWhat(u UninstrumentedSpend) string {
	what := "models " + orDash(strings.Join(u.Models, ", "))
	if u.Workload != "" {
		what = "mapped to " + u.Workload + ", " + what
	}
	return what
}
