package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// Render writes rows and their summary as "table", "json" or "markdown".
func Render(w io.Writer, format string, rows []Row, sum Summary) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			From    string  `json:"from"`
			To      string  `json:"to"`
			Summary Summary `json:"summary"`
			Rows    []Row   `json:"rows"`
		}{sum.From.UTC().Format("2006-01-02"), sum.To.UTC().Format("2006-01-02"), sum, rows})
	case "table", "markdown":
		md := format == "markdown"
		head := []string{"Day", "Provider", "Model", "Workload", "Invoiced", "Spans", "Estimated", "Unobserved", "Spans/invoice", "Metrics/invoice", "Spans/metrics", "Price drift", "Notes"}
		cells := make([][]string, 0, len(rows))
		for _, r := range rows {
			workload := r.Workload
			if r.Uninstrumented {
				workload = "(uninstrumented: " + strings.Join(r.Projects, ", ") + ")"
			}
			var notes []string
			if r.Sampled {
				notes = append(notes, "sampled: estimated cost")
			}
			if r.InvoicedTokens == 0 && r.InvoicedCost == 0 && (r.SpanTokens > 0 || r.MetricTokens > 0) {
				notes = append(notes, "no invoice for this account")
			}
			catalog := "n/a"
			if r.PriceDrift != nil {
				catalog = fmt.Sprintf("%+.1f%%", *r.PriceDrift*100)
			}
			cells = append(cells, []string{r.Day, r.Provider, r.Model, workload,
				usd(r.InvoicedCost), usd(r.SpanCost), usd(r.EstimatedCost), usd(r.UnobservedCost),
				pct(r.SpanInvoiceCoverage), pct(r.MetricInvoiceCoverage), pct(r.SpanMetricCoverage), catalog, strings.Join(notes, "; ")})
		}
		if rows == nil || rows[0].Day == "" { // not daily: drop the empty column
			head = head[1:]
			for i := range cells {
				cells[i] = cells[i][1:]
			}
		}
		fmt.Fprintf(w, "Spend reconciliation %s to %s\n\n", sum.From.UTC().Format("2006-01-02"), sum.To.UTC().Format("2006-01-02"))
		if md {
			writeMarkdown(w, head, cells)
		} else {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(head, "\t"))
			for _, c := range cells {
				fmt.Fprintln(tw, strings.Join(plain(c), "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "\nInvoiced %s; spans priced %s (estimated in full %s); unobserved %s, of which %s in provider accounts no workload claims; telemetry covers %s of invoiced spend.\n",
			usd(sum.InvoicedCost), usd(sum.SpanCost), usd(sum.EstimatedCost), usd(sum.UnobservedCost), usd(sum.UninstrumentedCost), pct(sum.TelemetryCoverage))
		return nil
	}
	return fmt.Errorf("unknown format %q: use table, json or markdown", format)
}

func usd(a pricing.Amount) string {
	// Cents for reading; the json output keeps every picodollar.
	return "$" + fmt.Sprintf("%.2f", a.USD())
}

func pct(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", *p*100)
}

// plain keeps tabs and line breaks in provider-given names from breaking
// the table.
func plain(c []string) []string {
	out := make([]string, len(c))
	r := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
	for i, s := range c {
		out[i] = r.Replace(s)
	}
	return out
}

// markdownEscape keeps provider- and client-given names (model ids, project
// ids, workloads) from breaking out of their table cell.
var markdownEscape = strings.NewReplacer(`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "\n", " ", "\r", " ")

func writeMarkdown(w io.Writer, head []string, cells [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, c := range cells {
		esc := make([]string, len(c))
		for i, s := range c {
			esc[i] = markdownEscape.Replace(s)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(esc, " | "))
	}
}
