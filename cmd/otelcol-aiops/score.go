package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// scoreCommand scores every workload's operational maturity from the stored
// telemetry and prints the report.
func scoreCommand() *cobra.Command {
	var (
		sf                   storeFlags
		from, to, window     string
		workloads            []string
		format, registryPath string
		rubricsDir           string
		record, noHistory    bool
		minStages            []string
	)
	cmd := &cobra.Command{
		Use:   "score",
		Short: "Score each AI workload's operational maturity (LLMOps stages, AI-operations levels) from its telemetry",
		Long: `score measures every workload in the window against the maturity rubrics
(built in, or --rubrics DIR) and prints, per workload, the stage reached in each
framework, every signal with its value, threshold and evidence, the unbuilt
items of the next stage ranked by impact, regressions against the previous
recorded run, and an inventory of the AI systems found.

The window ends at --to (default now) and starts at --from or --window before it.

It reads --data-dir while the collector is stopped, or a running collector
through its ClickHouse HTTP interface: --endpoint http://127.0.0.1:8123.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			end := time.Now().UTC()
			if to != "" {
				t, err := parseWhen(to)
				if err != nil {
					return fmt.Errorf("--to: %w", err)
				}
				end = t
			}
			var start time.Time
			if from != "" {
				t, err := parseWhen(from)
				if err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				start = t
			} else {
				d, err := parseWindow(window)
				if err != nil {
					return fmt.Errorf("--window: %w", err)
				}
				start = end.Add(-d)
			}
			if !start.Before(end) {
				return fmt.Errorf("the window is empty: from %s is not before to %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
			}
			switch format {
			case "table", "json", "markdown", "md", "html":
			default:
				return fmt.Errorf("--format %q is not one of %s", format, strings.Join(maturity.Formats, ", "))
			}
			gates, err := parseGates(minStages)
			if err != nil {
				return err
			}
			rubrics, err := maturity.LoadDir(rubricsDir)
			if err != nil {
				return err
			}
			reg, err := maturity.LoadRegistry(registryPath)
			if err != nil {
				return err
			}
			store, err := sf.open()
			if err != nil {
				return err
			}
			defer store.Close()
			ctx := context.Background()
			rep, err := maturity.Score(ctx, store, maturity.Options{
				Database: sf.database, From: start, To: end, Workloads: workloads,
				Registry: reg, Rubrics: rubrics, History: !noHistory,
			})
			if err != nil {
				return err
			}
			if record {
				if err := maturity.Record(ctx, store, sf.database, rep); err != nil {
					return fmt.Errorf("--record: %w", err)
				}
			}
			if err := maturity.Render(cmd.OutOrStdout(), rep, format); err != nil {
				return err
			}
			return checkGates(rep, gates)
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "window start (RFC 3339 or YYYY-MM-DD, UTC); default --window before --to")
	cmd.Flags().StringVar(&to, "to", "", "window end, exclusive (RFC 3339 or YYYY-MM-DD, UTC); default now")
	cmd.Flags().StringVar(&window, "window", "30d", "window length when --from is not set (e.g. 30d, 72h)")
	cmd.Flags().StringSliceVar(&workloads, "workload", nil, "score only these workloads (repeat or comma-separate); platform-wide signals still count all")
	cmd.Flags().StringVar(&format, "format", "table", "output: table, json, markdown or html")
	cmd.Flags().StringVar(&registryPath, "registry", "", "workload registry YAML (owners, on-call, risk tiers, SLOs, approved models)")
	cmd.Flags().StringVar(&rubricsDir, "rubrics", "", "directory of rubric YAML files layered over the built-in ones")
	cmd.Flags().BoolVar(&record, "record", false, "also write this run to <database>.maturity_scores (trends and regressions)")
	cmd.Flags().BoolVar(&noHistory, "no-history", false, "do not compare with the previous recorded run")
	cmd.Flags().StringSliceVar(&minStages, "min-stage", nil, "fail (exit 1) when a workload is below FRAMEWORK=N, e.g. llmops=3 (for CI gates)")
	return cmd
}

// parseWhen reads RFC 3339 or a UTC date.
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-01T00:00:00Z) nor a date (2026-11-01)", s)
}

// parseWindow reads a Go duration or a number of days ("30d").
func parseWindow(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a positive number of days", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (30d, 72h)", s)
	}
	return d, nil
}

func parseGates(specs []string) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range specs {
		fw, n, ok := strings.Cut(s, "=")
		stage, err := strconv.Atoi(n)
		if !ok || err != nil || stage < 0 {
			return nil, fmt.Errorf("--min-stage %q: want FRAMEWORK=N, e.g. llmops=3", s)
		}
		out[fw] = stage
	}
	return out, nil
}

// errBelowGate makes the process exit 1 after printing the report.
var errBelowGate = errors.New("maturity gate failed")

func checkGates(rep *maturity.Report, gates map[string]int) error {
	var below []string
	for fw, min := range gates {
		found := false
		for _, f := range rep.Frameworks {
			found = found || f.ID == fw
		}
		if !found {
			return fmt.Errorf("--min-stage: unknown framework %q", fw)
		}
		for _, w := range rep.Workloads {
			if sc := w.Score(fw); sc != nil && sc.Stage < min {
				below = append(below, fmt.Sprintf("%s is at %s %d, below %d", w.Workload, fw, sc.Stage, min))
			}
		}
	}
	if len(below) > 0 {
		fmt.Fprintln(os.Stderr, strings.Join(below, "\n"))
		return fmt.Errorf("%w: %s", errBelowGate, strings.Join(below, "; "))
	}
	return nil
}
