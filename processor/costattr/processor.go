package costattr

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

// lookupKey is one place to read an attribution value from.
type lookupKey struct {
	span, resource bool
	key            string
}

type dimension struct {
	target string
	keys   []lookupKey
}

type costProcessor struct {
	logger       *zap.Logger
	catalog      *pricing.Catalog
	dims         []dimension
	spans        metric.Int64Counter
	cost         metric.Float64Counter
	unpriced     metric.Int64Counter
	unattributed metric.Int64Counter
	bySource     map[string]metric.MeasurementOption
}

func newCostProcessor(cfg *Config, set component.TelemetrySettings) (*costProcessor, error) {
	cat, err := loadCatalog(cfg)
	if err != nil {
		return nil, err
	}
	p := &costProcessor{logger: set.Logger, catalog: cat, bySource: map[string]metric.MeasurementOption{}}
	for _, d := range []struct {
		target string
		keys   []string
	}{
		{genai.AIOpsUserID, cfg.Attribution.User},
		{genai.AIOpsTenantID, cfg.Attribution.Tenant},
		{genai.AIOpsTeam, cfg.Attribution.Team},
		{genai.AIOpsWorkload, cfg.Attribution.Workload},
		{genai.AIOpsFeature, cfg.Attribution.Feature},
	} {
		dim := dimension{target: d.target}
		for _, k := range d.keys {
			scope, key := splitScope(k)
			dim.keys = append(dim.keys, lookupKey{span: scope != "resource", resource: scope != "span", key: key})
		}
		p.dims = append(p.dims, dim)
	}
	for _, s := range []string{genai.CostSourceProvider, genai.CostSourceComputed, genai.CostSourceUnpriced} {
		p.bySource[s] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", s)))
	}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	if p.spans, err = meter.Int64Counter("aiops_costattr_spans", metric.WithDescription("GenAI spans with usage, by cost source."), metric.WithUnit("{spans}")); err != nil {
		return nil, err
	}
	if p.cost, err = meter.Float64Counter("aiops_costattr_cost", metric.WithDescription("Cost attached to spans, by source."), metric.WithUnit("USD")); err != nil {
		return nil, err
	}
	if p.unpriced, err = meter.Int64Counter("aiops_costattr_unpriced", metric.WithDescription("Calls to models without a price, by provider and model."), metric.WithUnit("{spans}")); err != nil {
		return nil, err
	}
	if p.unattributed, err = meter.Int64Counter("aiops_costattr_unattributed", metric.WithDescription("GenAI spans without a resolvable user."), metric.WithUnit("{spans}")); err != nil {
		return nil, err
	}
	set.Logger.Info("price catalog loaded", zap.String("version", cat.Version()), zap.Int("prices", len(cat.Prices())))
	return p, nil
}

func loadCatalog(cfg *Config) (*pricing.Catalog, error) {
	var cat *pricing.Catalog
	if !cfg.DisableBuiltinPrices {
		var err error
		if cat, err = pricing.Builtin(); err != nil {
			return nil, fmt.Errorf("built-in price catalog: %w", err)
		}
	}
	for _, f := range cfg.PriceFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("price_files: %w", err)
		}
		user, err := pricing.Load(b)
		if err != nil {
			return nil, fmt.Errorf("price_files: %s: %w", f, err)
		}
		if cat == nil {
			cat = user
		} else {
			cat = cat.Merge(user)
		}
	}
	return cat, nil
}

func (p *costProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		res := rss.At(i).Resource().Attributes()
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !genai.IsGenAI(span.Attributes()) {
					continue
				}
				p.attribute(ctx, span.Attributes(), res)
				p.price(ctx, span)
			}
		}
	}
	return td, nil
}

func (p *costProcessor) attribute(ctx context.Context, attrs, res pcommon.Map) {
	for _, d := range p.dims {
		if _, ok := attrs.Get(d.target); ok {
			continue
		}
		for _, k := range d.keys {
			v, ok := pcommon.Value{}, false
			if k.span {
				v, ok = attrs.Get(k.key)
			}
			if !ok && k.resource {
				v, ok = res.Get(k.key)
			}
			if ok && v.AsString() != "" {
				attrs.PutStr(d.target, v.AsString())
				break
			}
		}
	}
	if _, ok := attrs.Get(genai.AIOpsUserID); !ok {
		attrs.PutBool(genai.AIOpsUnattributed, true)
		p.unattributed.Add(ctx, 1)
	}
}

func intAttr(m pcommon.Map, k string) (int64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	n, problem := genai.Count(v)
	return n, problem == ""
}

func (p *costProcessor) price(ctx context.Context, span ptrace.Span) {
	attrs := span.Attributes()
	in, hasIn := intAttr(attrs, genai.InputTokens)
	out, hasOut := intAttr(attrs, genai.OutputTokens)
	if !hasIn && !hasOut {
		return // no usage on this span (a wrapper, a tool call, a retrieval)
	}
	u := pricing.Usage{Input: in, Output: out}
	u.CacheRead, _ = intAttr(attrs, genai.CacheReadTokens)
	if u.CacheWrite5m, _ = intAttr(attrs, genai.CacheCreateTokens); u.CacheWrite5m == 0 {
		u.CacheWrite5m, _ = intAttr(attrs, genai.CacheWriteTokens)
	}
	u.Reasoning, _ = intAttr(attrs, genai.ReasoningTokens)
	if v, ok := attrs.Get("openai.response.service_tier"); ok {
		u.ServiceTier = v.Str()
	} else if v, ok := attrs.Get("openai.request.service_tier"); ok {
		u.ServiceTier = v.Str()
	}

	provider := ""
	if v, ok := attrs.Get(genai.ProviderName); ok {
		provider = v.Str()
	}
	var price *pricing.Price
	found := false
	at := span.StartTimestamp().AsTime()
	for _, k := range []string{genai.ResponseModel, genai.RequestModel} {
		if v, ok := attrs.Get(k); ok && v.Str() != "" {
			if price, found = p.catalog.Lookup(provider, v.Str(), at); found {
				break
			}
			// Built-in prices are dated when they were observed, not when
			// they began; a call older than the catalog (or without a start
			// time) gets the newest known price, flagged as such.
			if price, found = p.catalog.Lookup(provider, v.Str(), time.Time{}); found {
				attrs.PutBool("aiops.price.before_catalog", true)
				break
			}
		}
	}

	reported, hasReported := providerCost(attrs)
	switch {
	case hasReported:
		// The provider's or SDK's figure is kept; ours is recorded beside it.
		attrs.PutDouble(genai.UsageCost, reported)
		attrs.PutStr(genai.AIOpsCostSource, genai.CostSourceProvider)
		if found {
			c := price.Cost(u)
			attrs.PutDouble("aiops.cost.computed", c.Total.USD())
			attrs.PutDouble("aiops.cost.difference", reported-c.Total.USD())
			attrs.PutStr(genai.AIOpsPriceID, price.ID)
		}
		p.record(ctx, genai.CostSourceProvider, reported)
	case found:
		c := price.Cost(u)
		attrs.PutDouble(genai.UsageCost, c.Total.USD())
		attrs.PutDouble(genai.AIOpsCostInput, c.Input.USD())
		attrs.PutDouble(genai.AIOpsCostCached, c.CachedInput.USD())
		attrs.PutDouble(genai.AIOpsCostCacheWrite, c.CacheWrite.USD())
		attrs.PutDouble(genai.AIOpsCostOutput, c.Output.USD())
		attrs.PutDouble(genai.AIOpsCostReasoning, c.Reasoning.USD())
		attrs.PutStr(genai.AIOpsCostSource, genai.CostSourceComputed)
		attrs.PutStr(genai.AIOpsPriceID, price.ID)
		attrs.PutStr(genai.AIOpsPriceCatalog, p.catalog.Version())
		p.record(ctx, genai.CostSourceComputed, c.Total.USD())
	default:
		attrs.PutStr(genai.AIOpsCostSource, genai.CostSourceUnpriced)
		model := ""
		if v, ok := attrs.Get(genai.RequestModel); ok {
			model = v.Str()
		}
		p.unpriced.Add(ctx, 1, metric.WithAttributes(attribute.String("provider", provider), attribute.String("model", model)))
		p.record(ctx, genai.CostSourceUnpriced, 0)
	}
}

// providerCost finds a cost that the provider or an SDK already reported.
func providerCost(attrs pcommon.Map) (float64, bool) {
	for _, k := range []string{genai.UsageCost, "llm.cost.total"} {
		if v, ok := attrs.Get(k); ok {
			if f, ok := genai.Number(v); ok && f >= 0 {
				return f, true
			}
		}
	}
	return 0, false
}

func (p *costProcessor) record(ctx context.Context, source string, usd float64) {
	p.spans.Add(ctx, 1, p.bySource[source])
	if usd > 0 {
		p.cost.Add(ctx, usd, p.bySource[source])
	}
}
