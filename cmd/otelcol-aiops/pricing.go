package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing/litellm"
)

// pricingCommand is `otelcol-aiops pricing`: import LiteLLM's catalog into
// ours, and look up what a call costs.
func pricingCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pricing",
		Short: "Work with price catalogs: import LiteLLM's, look up a model's price",
	}
	cmd.AddCommand(pricingImportCommand(), pricingLookupCommand())
	return cmd
}

func pricingImportCommand() *cobra.Command {
	var from, out, report, effective, version string
	var strict bool
	cmd := &cobra.Command{
		Use:   "import --from model_prices_and_context_window.json --out prices.yaml",
		Short: "Convert LiteLLM's price file to a catalog for costattr's price_files, reporting inconsistent entries",
		Long: `Reads LiteLLM's model_prices_and_context_window.json and writes a catalog in
the costattr price-file schema. Every entry is validated (cache read <= input,
output >= input for chat models, a 1-hour cache write between the 5-minute
write and 4x input, batch/flex at or below standard, priority between 1x and
4x standard, no chat-only prices on embedding models, context tiers at or above
standard, one price per model). Inconsistent entries are listed in the report
and left out of the catalog.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || out == "" {
				return errors.New("--from and --out are required")
			}
			data, err := os.ReadFile(from)
			if err != nil {
				return err
			}
			opts := litellm.Options{Source: filepath.Base(from), Version: version}
			if effective != "" {
				if opts.EffectiveFrom, err = time.Parse(time.DateOnly, effective); err != nil {
					return fmt.Errorf("--effective-from: want YYYY-MM-DD: %w", err)
				}
			}
			res, err := litellm.Import(data, opts)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(out, res.YAML); err != nil {
				return err
			}
			text := res.Report()
			if report != "" {
				if err := writeFileAtomic(report, []byte(text)); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s: %d prices (catalog version %s, effective %s)\n", out, len(res.Imported), res.Version, res.EffectiveFrom.Format(time.DateOnly))
			fmt.Fprintf(w, "%d entries read: %d imported, %d rejected as inconsistent, %d skipped, %d values rounded\n",
				res.Entries, len(res.Imported), len(res.Rejected), len(res.Skipped)-metaSkips(res), len(res.Rounded))
			for _, x := range res.Rejected {
				fmt.Fprintf(w, "  rejected %s: %s\n", x.Key, strings.Join(x.Reasons, "; "))
			}
			if report != "" {
				fmt.Fprintf(w, "full report in %s\n", report)
			}
			if strict && len(res.Rejected) > 0 {
				return fmt.Errorf("%d inconsistent entries (--strict)", len(res.Rejected))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "LiteLLM model_prices_and_context_window.json")
	cmd.Flags().StringVar(&out, "out", "", "catalog YAML to write")
	cmd.Flags().StringVar(&report, "report", "", "write the full report (rejected, rounded, notes, skipped) to this file")
	cmd.Flags().StringVar(&effective, "effective-from", "", "date the prices apply from, YYYY-MM-DD (default: the file's last_updated date)")
	cmd.Flags().StringVar(&version, "version", "", "catalog version (default litellm-<effective date>)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit with an error when any entry is rejected (the catalog is still written)")
	return cmd
}

func metaSkips(r *litellm.Result) int {
	n := 0
	for _, s := range r.Skipped {
		if s.Key == "sample_spec" || s.Key == "last_updated" {
			n++
		}
	}
	return n
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func pricingLookupCommand() *cobra.Command {
	var files []string
	var noBuiltin bool
	var at, tier string
	var u pricing.Usage
	cmd := &cobra.Command{
		Use:   "lookup PROVIDER MODEL",
		Short: "Show the price a model resolves to, and the cost of a call",
		Long: `Resolves MODEL under PROVIDER ("" for any) the way costattr does: built-in
catalog, then --price-file catalogs merged over it. Token flags follow the
semantic conventions: --input includes cached and cache-write tokens,
--output includes reasoning tokens.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := lookupCatalog(files, noBuiltin)
			if err != nil {
				return err
			}
			var when time.Time
			if at != "" {
				if when, err = time.Parse(time.DateOnly, at); err != nil {
					if when, err = time.Parse(time.RFC3339, at); err != nil {
						return fmt.Errorf("--at: want YYYY-MM-DD or RFC 3339: %w", err)
					}
				}
			}
			p, ok := cat.Lookup(args[0], args[1], when)
			if !ok {
				return fmt.Errorf("no price for model %q of provider %q in catalog %s", args[1], args[0], cat.Version())
			}
			u.ServiceTier = tier
			printPrice(cmd.OutOrStdout(), cat, p, u)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&files, "price-file", nil, "catalog YAML merged over the built-in one (repeatable)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "use only --price-file catalogs")
	cmd.Flags().StringVar(&at, "at", "", "price in effect at this date (default: the newest)")
	cmd.Flags().StringVar(&tier, "tier", "", "service tier: batch, flex or priority")
	cmd.Flags().Int64Var(&u.Input, "input", 0, "input tokens (including cached and cache-write tokens)")
	cmd.Flags().Int64Var(&u.CacheRead, "cache-read", 0, "cache-read input tokens")
	cmd.Flags().Int64Var(&u.CacheWrite5m, "cache-write", 0, "tokens written to a 5-minute (or the only) cache")
	cmd.Flags().Int64Var(&u.CacheWrite1h, "cache-write-1h", 0, "tokens written to a 1-hour cache")
	cmd.Flags().Int64Var(&u.Output, "output", 0, "output tokens (including reasoning tokens)")
	cmd.Flags().Int64Var(&u.Reasoning, "reasoning", 0, "reasoning tokens")
	return cmd
}

func lookupCatalog(files []string, noBuiltin bool) (*pricing.Catalog, error) {
	var cat *pricing.Catalog
	if !noBuiltin {
		var err error
		if cat, err = pricing.Builtin(); err != nil {
			return nil, err
		}
	} else if len(files) == 0 {
		return nil, errors.New("--no-builtin needs at least one --price-file")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c, err := pricing.Load(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		cat = cat.Merge(c)
	}
	return cat, nil
}

func printPrice(w io.Writer, cat *pricing.Catalog, p *pricing.Price, u pricing.Usage) {
	rate := func(a pricing.Amount) string {
		if a == pricing.Unset {
			return "-"
		}
		return a.String()
	}
	fmt.Fprintf(w, "price    %s (catalog %s, mode %s)\n", p.ID, cat.Version(), p.Mode)
	r := p.Rates
	fmt.Fprintf(w, "per 1M   input %s  cache_read %s  cache_write_5m %s  cache_write_1h %s  output %s  reasoning %s  request %s\n",
		rate(r.Input), rate(r.CacheRead), rate(r.CacheWrite5m), rate(r.CacheWrite1h), rate(r.Output), rate(r.Reasoning), rate(r.Request))
	for _, t := range p.ContextTiers {
		fmt.Fprintf(w, "above %d: input %s  cache_read %s  output %s\n", t.Above, rate(t.Rates.Input), rate(t.Rates.CacheRead), rate(t.Rates.Output))
	}
	for _, st := range []struct {
		name string
		t    *pricing.TierRates
	}{{"batch", p.Batch}, {"flex", p.Flex}, {"priority", p.Priority}} {
		if name, t := st.name, st.t; t != nil {
			fmt.Fprintf(w, "%-8s multiplier %s  input %s  cache_read %s  output %s\n", name, t.Multiplier, rate(t.Rates.Input), rate(t.Rates.CacheRead), rate(t.Rates.Output))
		}
	}
	if p.Discount != 0 {
		fmt.Fprintf(w, "discount %s\n", p.Discount)
	}
	if u.Input == 0 && u.Output == 0 && u.Reasoning == 0 && u.CacheRead == 0 {
		return
	}
	c := p.Cost(u)
	fmt.Fprintf(w, "cost     %s USD = input %s + cached %s + cache write %s + output %s + reasoning %s + request %s\n",
		c.Total, c.Input, c.CachedInput, c.CacheWrite, c.Output, c.Reasoning, c.Request)
	if c.Clamped {
		fmt.Fprintln(w, "warning  usage was inconsistent (cache tokens above input or reasoning above output); counts were clamped")
	}
}
