package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-aiops/otelcol-aiops/internal/reconcile"
)

func reconcileCommand() *cobra.Command {
	var (
		sf               storeFlags
		from, to, window string
		format           string
		daily, invoiced  bool
		minCoverage      float64
	)
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Hold the providers' invoiced usage against span- and metric-derived spend, per provider, model and workload",
		Long: `reconcile reads genai_reconciliation_daily over whole UTC days and prints, per
provider × model × workload: invoiced, span-priced and estimated cost; the
share of invoiced tokens the spans and the unsampled metrics saw; spend no
telemetry saw (in accounts no workload claims: uninstrumented); and the drift
between what the provider billed and our catalog's price of the same tokens.

With --min-coverage it exits 1 when telemetry saw less than that share of
the invoiced spend, for CI gates.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			end := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour) // today included
			if to != "" {
				t, err := parseWhen(to)
				if err != nil {
					return fmt.Errorf("--to: %w", err)
				}
				end = t
			}
			start := end.Add(-7 * 24 * time.Hour)
			if from != "" {
				t, err := parseWhen(from)
				if err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				start = t
			} else if window != "" {
				d, err := parseWindow(window)
				if err != nil {
					return fmt.Errorf("--window: %w", err)
				}
				start = end.Add(-d)
			}
			if !start.Before(end) {
				return fmt.Errorf("the window is empty: from %s is not before to %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
			}
			if minCoverage < 0 || minCoverage > 1 {
				return fmt.Errorf("--min-coverage %v: give a share between 0 and 1, e.g. 0.9", minCoverage)
			}
			switch format {
			case "table", "json", "markdown":
			default:
				return fmt.Errorf("--format %q: use table, json or markdown", format)
			}
			store, err := sf.open()
			if err != nil {
				return err
			}
			defer store.Close()
			rows, sum, err := reconcile.Load(context.Background(), store, reconcile.Options{Database: sf.database, From: start, To: end, Daily: daily})
			if err != nil {
				return err
			}
			if invoiced {
				kept := rows[:0]
				for _, r := range rows {
					if r.InvoicedTokens > 0 || r.InvoicedCost != 0 {
						kept = append(kept, r)
					}
				}
				rows = kept
			}
			if err := reconcile.Render(cmd.OutOrStdout(), format, rows, sum); err != nil {
				return err
			}
			if cmd.Flags().Changed("min-coverage") {
				if sum.TelemetryCoverage == nil {
					return fmt.Errorf("--min-coverage: no invoiced spend in the window to cover (is the provider_usage receiver configured?)")
				}
				if *sum.TelemetryCoverage < minCoverage {
					return fmt.Errorf("telemetry covers %.1f%% of invoiced spend, below --min-coverage %.1f%%", *sum.TelemetryCoverage*100, minCoverage*100)
				}
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "first day (YYYY-MM-DD or RFC 3339, UTC); default --window before --to")
	cmd.Flags().StringVar(&to, "to", "", "end, exclusive (YYYY-MM-DD or RFC 3339, UTC); default the end of today")
	cmd.Flags().StringVar(&window, "window", "7d", "window length when --from is not set")
	cmd.Flags().StringVar(&format, "format", "table", "output: table, json or markdown")
	cmd.Flags().BoolVar(&daily, "daily", false, "one row per day instead of the window's sum")
	cmd.Flags().BoolVar(&invoiced, "only-invoiced", false, "leave out rows no provider report covers (the summary still counts every row)")
	cmd.Flags().Float64Var(&minCoverage, "min-coverage", 0, "fail (exit 1) when telemetry saw less than this share of invoiced spend, e.g. 0.9")
	return cmd
}
