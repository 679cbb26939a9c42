// Package reconcile reads the three sources of spend (the providers'
// invoices, spans and unsampled token metrics) from the reconciliation view
// and sums them over a window, for the CLI, the maturity scorer and the
// report.
package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// Row is one provider × model × workload (× day when asked) in the window.
// An empty Workload is spend no telemetry claims: a provider project or
// workspace the receiver's mapping does not name.
type Row struct {
	Day      string   `json:"day,omitempty"`
	Provider string   `json:"provider"`
	Model    string   `json:"model"`
	Workload string   `json:"workload"`
	Projects []string `json:"provider_projects,omitempty"`

	InvoicedTokens   uint64 `json:"invoiced_tokens"`
	InvoicedRequests uint64 `json:"invoiced_requests"`
	SpanTokens       uint64 `json:"span_tokens"`
	SpanCalls        uint64 `json:"span_calls"`
	MetricTokens     uint64 `json:"metric_tokens"`
	MetricCalls      uint64 `json:"metric_calls"`

	InvoicedCost   pricing.Amount `json:"invoiced_cost_usd"`
	SpanCost       pricing.Amount `json:"span_cost_usd"`
	EstimatedCost  pricing.Amount `json:"estimated_cost_usd"`
	UnobservedCost pricing.Amount `json:"unobserved_cost_usd"`
	// CatalogCost is our catalog's price of the invoiced tokens; nil when
	// no priced span of the model tells the catalog's unit prices.
	CatalogCost *pricing.Amount `json:"catalog_cost_usd"`

	// Ratios; nil when the denominator is zero.
	SpanInvoiceCoverage   *float64 `json:"span_invoice_coverage"`
	MetricInvoiceCoverage *float64 `json:"metric_invoice_coverage"`
	SpanMetricCoverage    *float64 `json:"span_metric_coverage"`
	PriceDrift            *float64 `json:"price_drift"`

	// Sampled: the spans saw fewer tokens than the metrics; EstimatedCost
	// is then the spans' cost scaled up to the metrics, an estimate.
	Sampled        bool `json:"sampled"`
	Uninstrumented bool `json:"uninstrumented"`
}

// Coverage is the share of the invoiced tokens that telemetry (spans or
// metrics, whichever saw more) accounts for; nil without an invoice.
func (r Row) Coverage() *float64 {
	if r.InvoicedTokens == 0 {
		return nil
	}
	c := float64(max(r.SpanTokens, r.MetricTokens)) / float64(r.InvoicedTokens)
	c = min(c, 1)
	return &c
}

// Summary totals a window.
type Summary struct {
	From, To       time.Time      `json:"-"`
	InvoicedCost   pricing.Amount `json:"invoiced_cost_usd"`
	SpanCost       pricing.Amount `json:"span_cost_usd"`
	EstimatedCost  pricing.Amount `json:"estimated_cost_usd"`
	UnobservedCost pricing.Amount `json:"unobserved_cost_usd"`
	// UninstrumentedCost is the part of UnobservedCost no workload claims.
	UninstrumentedCost pricing.Amount `json:"uninstrumented_cost_usd"`
	// TelemetryCoverage is the share of invoiced spend telemetry saw:
	// 1 - unobserved/invoiced; nil without invoiced spend.
	TelemetryCoverage *float64 `json:"telemetry_coverage"`
}

// Options choose the window and the grain.
type Options struct {
	Database string
	From, To time.Time // the days that overlap [From, To)
	Daily    bool
}

// Load reads the view over the window, summed per provider × model ×
// workload (and day when Options.Daily).
func Load(ctx context.Context, st chstore.Store, o Options) ([]Row, Summary, error) {
	if err := chstore.ValidIdent(o.Database); err != nil {
		return nil, Summary{}, fmt.Errorf("database: %w", err)
	}
	day, group := "''", ""
	if o.Daily {
		day, group = "toString(day)", "day, "
	}
	// Every ratio is recomputed from the summed counts, never averaged.
	q := fmt.Sprintf(`SELECT %[2]s AS d, provider, model, workload,
    arraySort(groupUniqArrayArray(20)(provider_projects)),
    sum(invoiced_tokens), sum(invoiced_requests), sum(span_tokens), sum(span_calls), sum(metric_tokens), sum(metric_calls),
    toString(sum(invoiced_cost_usd)), toString(sum(span_cost_usd)), toString(sum(estimated_cost_usd)), toString(sum(unobserved_cost_usd)),
    if(countIf(catalog_cost_usd IS NOT NULL) = 0, '', toString(sum(ifNull(catalog_cost_usd, 0)))),
    toString(sumIf(invoiced_cost_usd, catalog_cost_usd IS NOT NULL)),
    max(sampled)
FROM %[1]s.%[4]s
WHERE toDateTime(day) + 86400 > {from:DateTime64(9)} AND toDateTime(day) < {to:DateTime64(9)}
GROUP BY %[3]sprovider, model, workload
ORDER BY %[3]sprovider, workload = '', workload, model`, o.Database, day, group, chstore.ReconciliationView)
	res, err := st.Query(ctx, q,
		chstore.Param{Name: "from", Value: o.From.UTC().Format("2006-01-02 15:04:05.000000000")},
		chstore.Param{Name: "to", Value: o.To.UTC().Format("2006-01-02 15:04:05.000000000")})
	if err != nil {
		return nil, Summary{}, err
	}
	sum := Summary{From: o.From, To: o.To}
	rows := make([]Row, 0, len(res.Data))
	for _, d := range res.Data {
		r := Row{
			Day: d[0].(string), Provider: d[1].(string), Model: d[2].(string), Workload: d[3].(string), Projects: d[4].([]string),
			InvoicedTokens: d[5].(uint64), InvoicedRequests: d[6].(uint64), SpanTokens: d[7].(uint64), SpanCalls: d[8].(uint64),
			MetricTokens: d[9].(uint64), MetricCalls: d[10].(uint64),
		}
		for i, dst := range []*pricing.Amount{&r.InvoicedCost, &r.SpanCost, &r.EstimatedCost, &r.UnobservedCost} {
			if *dst, err = amount(d[11+i]); err != nil {
				return nil, Summary{}, err
			}
		}
		if s := d[15].(string); s != "" {
			c, err := amount(s)
			if err != nil {
				return nil, Summary{}, err
			}
			r.CatalogCost = &c
			if billed, err := amount(d[16]); err == nil && c > 0 && billed > 0 {
				drift := float64(billed)/float64(c) - 1
				r.PriceDrift = &drift
			}
		}
		r.SpanInvoiceCoverage = ratio(r.SpanTokens, r.InvoicedTokens)
		r.MetricInvoiceCoverage = ratio(r.MetricTokens, r.InvoicedTokens)
		r.SpanMetricCoverage = ratio(r.SpanTokens, r.MetricTokens)
		r.Sampled = r.SpanTokens > 0 && r.MetricTokens > r.SpanTokens
		r.Uninstrumented = r.Workload == ""
		rows = append(rows, r)

		sum.InvoicedCost += r.InvoicedCost
		sum.SpanCost += r.SpanCost
		sum.EstimatedCost += r.EstimatedCost
		sum.UnobservedCost += r.UnobservedCost
		if r.Uninstrumented {
			sum.UninstrumentedCost += r.UnobservedCost
		}
	}
	if sum.InvoicedCost > 0 {
		c := 1 - float64(sum.UnobservedCost)/float64(sum.InvoicedCost)
		sum.TelemetryCoverage = &c
	}
	return rows, sum, nil
}

func ratio(a, b uint64) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

// amount reads an exact decimal the engine rendered as text.
func amount(v any) (pricing.Amount, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case decimal.Decimal:
		s = x.String()
	default:
		return 0, fmt.Errorf("reconcile: unexpected money value %T", v)
	}
	// Decimal128 sums keep 12 places; the money type holds exactly those.
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	return pricing.ParseUSD(d.Round(12).String())
}
