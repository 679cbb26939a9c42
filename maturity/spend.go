package maturity

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/otelcol-aiops/otelcol-aiops/internal/reconcile"
)

// spendOf is one workload's sums over the reconciliation rows.
type spendOf struct {
	invoiced, span, estimated, unobserved float64
	invoicedTokens, spanTokens, metric    uint64
}

// loadSpend reads the reconciliation over the window: each workload's
// spend against its invoice and metrics, and the invoiced spend no
// telemetry saw.
func (s *scoring) loadSpend(ctx context.Context) error {
	rows, _, err := reconcile.Load(ctx, s.store, reconcile.Options{Database: s.o.Database, From: s.o.From, To: s.o.To})
	if err != nil {
		return fmt.Errorf("maturity: reconciliation: %w", err)
	}
	s.spend = map[string]*spendOf{}
	silent := map[string]*UninstrumentedSpend{}
	for _, r := range rows {
		if r.Workload != "" {
			sp := s.spend[r.Workload]
			if sp == nil {
				sp = &spendOf{}
				s.spend[r.Workload] = sp
			}
			sp.invoiced += r.InvoicedCost.USD()
			sp.span += r.SpanCost.USD()
			sp.estimated += r.EstimatedCost.USD()
			sp.unobserved += r.UnobservedCost.USD()
			sp.invoicedTokens += r.InvoicedTokens
			sp.spanTokens += r.SpanTokens
			sp.metric += r.MetricTokens
		}
		// Invoiced, and neither a span nor a metric of it anywhere.
		if (r.InvoicedCost > 0 || r.InvoicedTokens > 0) && r.SpanTokens == 0 && r.MetricTokens == 0 {
			key := r.Provider + "\x00" + strings.Join(r.Projects, ",") + "\x00" + r.Workload
			u := silent[key]
			if u == nil {
				u = &UninstrumentedSpend{Provider: s.clip.str(r.Provider), Project: s.clip.str(strings.Join(r.Projects, ", ")), Workload: s.clip.str(r.Workload), Models: []string{}}
				silent[key] = u
			}
			u.CostUSD += r.InvoicedCost.USD()
			u.Tokens += r.InvoicedTokens
			if r.Model != "" && len(u.Models) < MaxListItems {
				u.Models = append(u.Models, s.clip.str(r.Model))
			}
		}
	}
	s.uninstrumented = make([]UninstrumentedSpend, 0, len(silent))
	for _, u := range silent {
		s.uninstrumented = append(s.uninstrumented, *u)
	}
	// Largest spend first: the account to look into first.
	sort.Slice(s.uninstrumented, func(i, j int) bool {
		a, b := s.uninstrumented[i], s.uninstrumented[j]
		if a.CostUSD != b.CostUSD {
			return a.CostUSD > b.CostUSD
		}
		return a.Project < b.Project
	})
	if len(s.uninstrumented) > MaxInventoryItems {
		s.clip.cut.Lists++
		s.uninstrumented = s.uninstrumented[:MaxInventoryItems]
	}
	return nil
}

// spendReport is the workload's Spend, or nil when there is no invoice and
// no metric to hold its spans against.
func (s *scoring) spendReport(w string) *Spend {
	sp := s.spend[w]
	if sp == nil || sp.invoicedTokens == 0 && sp.invoiced == 0 && sp.metric == 0 {
		return nil
	}
	out := &Spend{InvoicedUSD: sp.invoiced, SpanCostUSD: sp.span, EstimatedCostUSD: sp.span}
	if sp.metric > 0 {
		r := float64(sp.spanTokens) / float64(sp.metric)
		out.SpanShareOfMetrics = &r
		if sp.spanTokens > 0 && sp.metric > sp.spanTokens {
			out.Estimated, out.EstimatedCostUSD = true, sp.estimated
		}
	}
	if sp.invoiced > 0 {
		c := 1 - sp.unobserved/sp.invoiced
		out.InvoiceCoverage = &c
	}
	return out
}
