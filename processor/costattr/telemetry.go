package costattr

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-aiops/otelcol-aiops/internal/budget"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

// maxBudgetKeysReported bounds the per-key budget gauges per rule.
const maxBudgetKeysReported = 1000

// telemetry holds the processor's own metrics. Per-span counts are summed
// per batch and recorded once per batch.
type telemetry struct {
	meter        metric.Meter
	spans        metric.Int64Counter
	cost         metric.Float64Counter
	unpriced     metric.Int64Counter
	unattributed metric.Int64Counter
	inherited    metric.Int64Counter
	skipped      metric.Int64Counter
	invalid      metric.Int64Counter
	clamped      metric.Int64Counter
	crossings    metric.Int64Counter
	webhooks     metric.Int64Counter
	reconciles   metric.Int64Counter

	bySource  [3]metric.AddOption
	duplicate metric.AddOption

	unpricedMu     sync.Mutex
	unpricedLabels map[unpricedRef]metric.AddOption
	unpricedOther  atomic.Bool

	reg metric.Registration
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	t := &telemetry{meter: set.MeterProvider.Meter(metadata.ScopeName), unpricedLabels: map[unpricedRef]metric.AddOption{}}
	var err error
	c := func(name, desc, unit string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var ctr metric.Int64Counter
		ctr, err = t.meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		return ctr
	}
	t.spans = c("aiops_costattr_spans", "GenAI spans with usage, by cost source (provider, computed, unpriced).", "{spans}")
	t.unpriced = c("aiops_costattr_unpriced", `Calls to models without a price, by provider and model (at most 1000 pairs, then model "other").`, "{spans}")
	t.unattributed = c("aiops_costattr_unattributed", "GenAI spans without a resolvable user.", "{spans}")
	t.inherited = c("aiops_costattr_inherited", "GenAI spans whose attribution was completed from a parent or root span in the batch.", "{spans}")
	t.skipped = c("aiops_costattr_skipped", "GenAI spans with usage left unpriced on purpose, by reason (duplicate: aitrace marked the usage as another span's).", "{spans}")
	t.invalid = c("aiops_costattr_invalid", "Unusable usage, cost or attribution values, by kind (token_not_integer, token_negative, token_wrong_type, provider_cost_invalid, attribution_wrong_type); the span carries "+keyCostInvalid+" or "+keyAttrInvalid+".", "{values}")
	t.clamped = c("aiops_costattr_clamped", "Priced calls whose usage broke the semconv rules (cache tokens above input, reasoning above output) and was clamped; the span carries "+keyCostClamped+".", "{spans}")
	t.crossings = c("aiops_costattr_budget_crossings", "Budget thresholds crossed, by rule and threshold.", "{crossings}")
	t.webhooks = c("aiops_costattr_budget_webhooks", "Budget webhook attempts, by outcome (sent, retry, rejected, expired, duplicate).", "{requests}")
	t.reconciles = c("aiops_costattr_budget_reconciles", "Budget reconciliations from ClickHouse, by outcome (ok, error).", "{runs}")
	if err != nil {
		return nil, err
	}
	if t.cost, err = t.meter.Float64Counter("aiops_costattr_cost", metric.WithDescription("Cost attached to spans, by source (USD)."), metric.WithUnit("USD")); err != nil {
		return nil, err
	}
	for i, s := range sourceNames {
		t.bySource[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", s)))
	}
	t.duplicate = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "duplicate")))
	return t, nil
}

// record adds one batch's counts.
func (t *telemetry) record(ctx context.Context, p *costProcessor, b *batch) {
	st := &b.stats
	for i := range st.spans {
		if st.spans[i] > 0 {
			t.spans.Add(ctx, st.spans[i], t.bySource[i])
		}
		if st.cost[i] > 0 {
			t.cost.Add(ctx, st.cost[i].USD(), t.bySource[i])
		}
	}
	if st.unattributed > 0 {
		t.unattributed.Add(ctx, st.unattributed)
	}
	if st.inherited > 0 {
		t.inherited.Add(ctx, st.inherited)
	}
	if st.duplicates > 0 {
		t.skipped.Add(ctx, st.duplicates, t.duplicate)
	}
	if st.clamped > 0 {
		t.clamped.Add(ctx, st.clamped)
	}
	for kind, n := range st.invalid {
		t.invalid.Add(ctx, n, metric.WithAttributes(attribute.String("kind", kind)))
	}
	for _, u := range b.unpriced {
		t.unpriced.Add(ctx, 1, t.unpricedLabel(p, u))
	}
}

// unpricedLabel bounds the provider/model label pairs: model names come from
// untrusted telemetry.
func (t *telemetry) unpricedLabel(p *costProcessor, u unpricedRef) metric.AddOption {
	u = unpricedRef{provider: labelValue(u.provider, 64), model: labelValue(u.model, 128)}
	t.unpricedMu.Lock()
	defer t.unpricedMu.Unlock()
	if o, ok := t.unpricedLabels[u]; ok {
		return o
	}
	if len(t.unpricedLabels) >= maxUnpricedLabels {
		if !t.unpricedOther.Swap(true) {
			p.logger.Warn("more than 1000 distinct unpriced models; further ones are counted as model \"other\"")
		}
		u = unpricedRef{provider: u.provider, model: "other"}
		if o, ok := t.unpricedLabels[u]; ok {
			return o
		}
	}
	u = unpricedRef{provider: clone(u.provider), model: clone(u.model)}
	o := metric.WithAttributeSet(attribute.NewSet(attribute.String("provider", u.provider), attribute.String("model", u.model)))
	t.unpricedLabels[u] = o
	return o
}

// labelValue makes untrusted text safe as a metric label value: at most n
// bytes and valid UTF-8. The Prometheus endpoint refuses the whole scrape over
// one invalid value, so a hostile model name would blind every metric.
func labelValue(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func clone(s string) string { return string(append([]byte(nil), s...)) }

func (t *telemetry) crossing(ctx context.Context, c *budget.Crossing) {
	t.crossings.Add(ctx, 1, metric.WithAttributes(attribute.String("rule", c.Rule.Name), attribute.String("threshold", c.Threshold.String())))
}

func (t *telemetry) webhook(outcome string) {
	t.webhooks.Add(context.Background(), 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}

func (t *telemetry) reconcile(outcome string) {
	t.reconciles.Add(context.Background(), 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}

// observeBudgets registers the budget gauges, read from the tracker at
// collection time.
func (t *telemetry) observeBudgets(tr *budget.Tracker, now func() time.Time) error {
	spend, err := t.meter.Float64ObservableGauge("aiops_costattr_budget_spend",
		metric.WithDescription("Spend in the current window of budget keys at or above their soft threshold (at most 1000 keys per rule), by rule and key."), metric.WithUnit("USD"))
	if err != nil {
		return err
	}
	state, err := t.meter.Int64ObservableGauge("aiops_costattr_budget_state",
		metric.WithDescription("Budget state of keys at or above their soft threshold: 1 soft, 2 hard (at most 1000 keys per rule), by rule and key."), metric.WithUnit("{state}"))
	if err != nil {
		return err
	}
	keys, err := t.meter.Int64ObservableGauge("aiops_costattr_budget_keys",
		metric.WithDescription("Keys tracked per budget rule, by state (ok, soft, hard)."), metric.WithUnit("{keys}"))
	if err != nil {
		return err
	}
	uncounted, err := t.meter.Int64ObservableCounter("aiops_costattr_budget_uncounted",
		metric.WithDescription("Priced calls left out of a budget, by reason: late (older than the rule's current window) or key_limit (beyond max_keys_per_rule)."), metric.WithUnit("{calls}"))
	if err != nil {
		return err
	}
	t.reg, err = t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		perRule := map[*budget.Rule]int{}
		tr.Observe(now(), func(k budget.KeyState) {
			if perRule[k.Rule] >= maxBudgetKeysReported {
				return
			}
			perRule[k.Rule]++
			label := k.Rule.Dim.String() + ":" + labelValue(k.Key, 128)
			if k.Rule.Dim == budget.All {
				label = "all"
			}
			attrs := metric.WithAttributes(attribute.String("rule", k.Rule.Name), attribute.String("key", label))
			o.ObserveFloat64(spend, k.Spent.USD(), attrs)
			o.ObserveInt64(state, int64(k.Level), attrs)
		}, func(r *budget.Rule, ok, soft, hard int) {
			for _, x := range [...]struct {
				state string
				n     int
			}{{"ok", ok}, {"soft", soft}, {"hard", hard}} {
				o.ObserveInt64(keys, int64(x.n), metric.WithAttributes(attribute.String("rule", r.Name), attribute.String("state", x.state)))
			}
		})
		o.ObserveInt64(uncounted, tr.Late(), metric.WithAttributes(attribute.String("reason", "late")))
		o.ObserveInt64(uncounted, tr.Dropped(), metric.WithAttributes(attribute.String("reason", "key_limit")))
		return nil
	}, spend, state, keys, uncounted)
	return err
}

func (t *telemetry) shutdown() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
