package costattr

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/attrslab"
	"github.com/otelcol-aiops/otelcol-aiops/internal/budget"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// Keys read or written here that internal/genai does not define (yet).
const (
	keyDuplicateOf      = "aiops.usage.duplicate_of" // set by aitrace on a span repeating another's usage
	keyLLMCostTotal     = "llm.cost.total"           // OpenInference
	keyCostComputed     = "aiops.cost.computed"
	keyCostDifference   = "aiops.cost.difference"
	keyCostClamped      = "aiops.cost.clamped"
	keyCostInvalid      = "aiops.cost.invalid_usage"
	keyCostReportedBad  = "aiops.cost.reported_invalid"
	keyBeforeCatalog    = "aiops.price.before_catalog"
	keyInherited        = "aiops.attribution.inherited"
	keyAttrInvalid      = "aiops.attribution.invalid"
	keyBudgetState      = "aiops.budget.state"
	keyBudgetRule       = "aiops.budget.rule"
	budgetEventName     = "aiops.budget"
	maxUnpricedLabels   = 1000
	maxAncestorsVisited = 64
)

// Span fields the scan collects.
const (
	fIn = iota
	fOut
	fCacheRead
	fCacheCreate
	fCacheWrite
	fReasoning
	fCW1h
	fCW5m
	fTier
	fProvider
	fReqModel
	fRespModel
	fDup
	fCost
	fLLMCost
	fCostSource
	fTarget // + dimension: an aiops.* attribution value already on the span
	nFields = fTarget + nDims
)

var fieldKeys = map[string]int{
	genai.InputTokens: fIn, genai.OutputTokens: fOut, genai.CacheReadTokens: fCacheRead,
	genai.CacheCreateTokens: fCacheCreate, genai.CacheWriteTokens: fCacheWrite, genai.ReasoningTokens: fReasoning,
	genai.ProviderName: fProvider, genai.RequestModel: fReqModel, genai.ResponseModel: fRespModel,
	keyDuplicateOf: fDup, genai.UsageCost: fCost, keyLLMCostTotal: fLLMCost, genai.AIOpsCostSource: fCostSource,
}

// keyFilter answers "certainly not an interesting key" from a key's length
// and last byte, which rejects most other attribute keys without hashing.
type keyFilter [64]uint64

func (f *keyFilter) add(k string) {
	if k == "" {
		return
	}
	f[len(k)&63] |= 1 << (k[len(k)-1] & 63)
}

func (f *keyFilter) mayHave(k string) bool {
	return k != "" && f[len(k)&63]&(1<<(k[len(k)-1]&63)) != 0
}

// timeNow is the clock; tests replace it.
var timeNow = time.Now

// keyInfo says what an attribute key means to the scan.
type keyInfo struct {
	field   int // -1: none
	prio    int // for fTier, fCW1h, fCW5m: the key's place in its list
	attr    []slotRef
	baggage bool
}

type costProcessor struct {
	cfg     *Config
	set     processor.Settings
	logger  *zap.Logger
	catalog *pricing.Catalog
	version string
	res     *resolver
	keys    map[string]*keyInfo
	filter  keyFilter // cheap pre-check before the map lookup
	tel     *telemetry
	bud     *budgets // nil without rules
	now     func() time.Time

	pool   sync.Pool
	logged sync.Map // problem kinds already logged
}

func newCostProcessor(cfg *Config, set processor.Settings) (*costProcessor, error) {
	cat, err := loadCatalog(cfg)
	if err != nil {
		return nil, err
	}
	p := &costProcessor{cfg: cfg, set: set, logger: set.Logger, catalog: cat, version: cat.Version(), res: newResolver(&cfg.Attribution), now: timeNow}
	p.keys = map[string]*keyInfo{}
	info := func(k string) *keyInfo {
		ki := p.keys[k]
		if ki == nil {
			ki = &keyInfo{field: -1}
			p.keys[k] = ki
		}
		return ki
	}
	for k, f := range fieldKeys {
		info(k).field = f
	}
	for d, k := range dimTargets {
		info(k).field = fTarget + d
	}
	for list, f := range map[*[]string]int{&cfg.Usage.ServiceTier: fTier, &cfg.Usage.CacheWrite1h: fCW1h, &cfg.Usage.CacheWrite5m: fCW5m} {
		for i, k := range *list {
			ki := info(k)
			if ki.field < 0 {
				ki.field, ki.prio = f, i
			}
		}
	}
	for k, slots := range p.res.places[atSpan] {
		info(k).attr = slots
	}
	if p.res.hasBaggage && p.res.baggageAttr != "" {
		info(p.res.baggageAttr).baggage = true
	}
	for k := range p.keys {
		p.filter.add(k)
	}
	if p.tel, err = newTelemetry(set.TelemetrySettings); err != nil {
		return nil, err
	}
	rules, err := cfg.budgetRules()
	if err != nil {
		return nil, err
	}
	if len(rules) > 0 {
		if p.bud, err = newBudgets(cfg, set, rules, p.tel); err != nil {
			return nil, err
		}
	}
	p.pool.New = func() any { return newBatch() }
	set.Logger.Info("price catalog loaded", zap.String("version", cat.Version()), zap.Int("prices", len(cat.Prices())), zap.Int("budget_rules", len(rules)))
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
		cat = cat.Merge(user)
	}
	return cat, nil
}

// batch is per-call scratch, pooled so a steady stream allocates nothing.
type batch struct {
	places   []placeRef
	spans    []spanRef
	genai    []genaiInfo
	items    []budget.Item
	itemOf   []int32 // items[i] belongs to genai[itemOf[i]]
	cross    []budget.Crossing
	index    map[uint64]int32 // hash of trace and span id -> spans index (verified on use)
	roots    map[uint64]int32 // hash of trace id -> root span index
	resolved map[int32]*[nDims]string
	unpriced []unpricedRef
	stats    batchStats
	needy    bool
	// Bloom filters of the batch's span ids and trace roots: inheritance
	// builds its index only when a span lacking attribution may find a
	// parent or root here.
	spanBloom, rootBloom bloom
	// w writes the attributes costattr adds with O(1) allocations per batch
	// instead of one per value.
	w attrslab.Writer
}

// bloom is a 4096-bit filter with two probes per key.
type bloom [64]uint64

func (f *bloom) add(h uint64) {
	f[(h>>6)&63] |= 1 << (h & 63)
	f[(h>>38)&63] |= 1 << ((h >> 32) & 63)
}

func (f *bloom) mayHave(h uint64) bool {
	return f[(h>>6)&63]&(1<<(h&63)) != 0 && f[(h>>38)&63]&(1<<((h>>32)&63)) != 0
}

type placeRef struct {
	attrs    pcommon.Map
	c        cands // the place's own candidates merged with its parents'
	resource bool
}

type spanRef struct {
	span  ptrace.Span
	scope int32 // index in places of the span's scope (candidates include the resource)
	res   int32 // index in places of the resource
	genai int32 // index in genai, or -1
}

type genaiInfo struct {
	ref       int32
	vals      [nDims]string
	missing   uint8
	inherited bool
	amount    pricing.Amount
	at        int64
	counted   bool // priced (or provider cost), and not a duplicate
}

type unpricedRef struct{ provider, model string }

type batchStats struct {
	spans        [3]int64 // by source: provider, computed, unpriced
	cost         [3]pricing.Amount
	unattributed int64
	inherited    int64
	duplicates   int64
	clamped      int64
	invalid      map[string]int64
}

const (
	srcProvider = iota
	srcComputed
	srcUnpriced
)

var sourceNames = [3]string{genai.CostSourceProvider, genai.CostSourceComputed, genai.CostSourceUnpriced}

func newBatch() *batch {
	return &batch{index: map[uint64]int32{}, roots: map[uint64]int32{}, resolved: map[int32]*[nDims]string{}}
}

func (p *costProcessor) getBatch() *batch { return p.pool.Get().(*batch) }

func (p *costProcessor) putBatch(b *batch) {
	// Drop references into telemetry so it can be freed.
	clear(b.places)
	clear(b.spans)
	clear(b.genai)
	clear(b.items)
	clear(b.cross)
	clear(b.unpriced)
	b.places, b.spans, b.genai, b.items, b.itemOf, b.cross, b.unpriced = b.places[:0], b.spans[:0], b.genai[:0], b.items[:0], b.itemOf[:0], b.cross[:0], b.unpriced[:0]
	if len(b.index) > 0 {
		clear(b.index)
		clear(b.roots)
		clear(b.resolved)
	}
	b.stats = batchStats{invalid: b.stats.invalid}
	clear(b.stats.invalid)
	b.needy = false
	b.spanBloom, b.rootBloom = bloom{}, bloom{}
	p.pool.Put(b)
}

func (p *costProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	b := p.getBatch()
	defer p.putBatch(b)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resAttrs := rs.Resource().Attributes()
		resIdx := int32(len(b.places))
		resC, bad := p.res.scan(resAttrs, atResource)
		p.badAttribution(b, bad)
		b.places = append(b.places, placeRef{attrs: resAttrs, c: resC, resource: true})
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scopeAttrs := ss.Scope().Attributes()
			c, bad := p.res.scan(scopeAttrs, atScope)
			p.badAttribution(b, bad)
			c.merge(&b.places[resIdx].c)
			scopeIdx := int32(len(b.places))
			b.places = append(b.places, placeRef{attrs: scopeAttrs, c: c})
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				ref := spanRef{span: span, scope: scopeIdx, res: resIdx, genai: -1}
				if p.res.inherit {
					tid := span.TraceID()
					b.spanBloom.add(spanKey(tid, span.SpanID()))
					if span.ParentSpanID().IsEmpty() {
						b.rootBloom.add(traceKey(tid))
					}
				}
				if genai.IsGenAI(span.Attributes()) {
					ref.genai = int32(len(b.genai))
					p.processSpan(b, span, int32(len(b.spans)), &c)
				}
				b.spans = append(b.spans, ref)
			}
		}
	}
	if len(b.genai) > 0 {
		p.finishBatch(ctx, b)
	}
	return td, nil
}

// spanScan is what one pass over a GenAI span's attributes found.
type spanScan struct {
	vals     [nFields]pcommon.Value
	has      uint32
	tierPrio int
	cw1hPrio int
	cw5mPrio int
	c        cands
	bag      pcommon.Value
	hasBag   bool
	badAttr  string // an attribution key whose value cannot be an id
}

func (s *spanScan) get(f int) (pcommon.Value, bool) { return s.vals[f], s.has&(1<<f) != 0 }

func (s *spanScan) str(f int) string {
	if s.has&(1<<f) == 0 {
		return ""
	}
	return valueString(s.vals[f])
}

func (p *costProcessor) scanSpan(attrs pcommon.Map, s *spanScan) {
	s.tierPrio, s.cw1hPrio, s.cw5mPrio = math.MaxInt, math.MaxInt, math.MaxInt
	for k, v := range attrs.All() {
		if !p.filter.mayHave(k) {
			continue
		}
		ki := p.keys[k]
		if ki == nil {
			continue
		}
		for _, sl := range ki.attr {
			if !s.c.offer(sl, v) && s.badAttr == "" {
				s.badAttr = k
			}
		}
		if ki.baggage {
			s.bag, s.hasBag = v, true
		}
		f := ki.field
		switch f {
		case -1:
			continue
		case fTier:
			if ki.prio > s.tierPrio || valueString(v) == "" {
				continue
			}
			s.tierPrio = ki.prio
		case fCW1h:
			if ki.prio > s.cw1hPrio {
				continue
			}
			s.cw1hPrio = ki.prio
		case fCW5m:
			if ki.prio > s.cw5mPrio {
				continue
			}
			s.cw5mPrio = ki.prio
		}
		s.vals[f] = v
		s.has |= 1 << f
	}
}

func (p *costProcessor) processSpan(b *batch, span ptrace.Span, ref int32, scopeC *cands) {
	attrs := span.Attributes()
	var s spanScan
	p.scanSpan(attrs, &s)
	g := genaiInfo{ref: ref, at: int64(span.StartTimestamp())}

	// Attribution from the span, its scope and its resource.
	s.c.merge(scopeC)
	if s.hasBag {
		p.res.applyBaggage(&s.c, s.bag)
	}
	newAttrs := 0
	for d := 0; d < nDims; d++ {
		if _, ok := s.get(fTarget + d); !ok && s.c[d].found() {
			newAttrs++
		}
	}
	// One growth for everything written: attribution, then at most 9
	// pricing attributes (total, 5 parts, source, price id, catalog).
	attrs.EnsureCapacity(attrs.Len() + newAttrs + 9)
	for d := 0; d < nDims; d++ {
		if v := s.str(fTarget + d); v != "" {
			g.vals[d] = v // set upstream (the app, aitrace, an earlier collector): kept
			continue
		}
		if !s.c[d].found() {
			g.missing |= 1 << d
			continue
		}
		v := valueString(s.c[d].val)
		if d == dimUser && p.res.pseudo != nil {
			v = p.res.pseudo.pseudonym(v)
		}
		b.w.PutStr(attrs, dimTargets[d], v)
		g.vals[d] = v
	}
	if g.missing != 0 {
		b.needy = true
	}
	if s.badAttr != "" {
		var problems []string
		p.problem(b, "attribution_wrong_type", s.badAttr, &problems)
		b.w.PutStr(attrs, keyAttrInvalid, problems[0])
	}

	p.price(b, attrs, &s, &g)
	b.genai = append(b.genai, g)
}

// count reads a token count; a bad value is flagged, counted and logged once.
func (p *costProcessor) count(b *batch, s *spanScan, f int, key string, problems *[]string) int64 {
	v, ok := s.get(f)
	if !ok {
		return 0
	}
	n, problem := genai.Count(v)
	if problem != "" {
		p.problem(b, "token_"+problem, key, problems)
		return 0
	}
	return n
}

// badAttribution counts an attribution key on a resource or scope whose
// value cannot be an id.
func (p *costProcessor) badAttribution(b *batch, key string) {
	if key != "" {
		var problems []string
		p.problem(b, "attribution_wrong_type", key, &problems)
	}
}

func (p *costProcessor) problem(b *batch, kind, key string, problems *[]string) {
	if b.stats.invalid == nil {
		b.stats.invalid = map[string]int64{}
	}
	b.stats.invalid[kind]++
	*problems = append(*problems, key+":"+kind)
	if _, seen := p.logged.LoadOrStore(kind, true); !seen {
		p.logger.Warn("unusable usage, cost or attribution value; flagged on the span ("+keyCostInvalid+" or "+keyAttrInvalid+") and counted in aiops_costattr_invalid (logged once per kind)",
			zap.String("kind", kind), zap.String("key", key))
	}
}

var usageKeys = [...]string{fIn: genai.InputTokens, fOut: genai.OutputTokens, fCacheRead: genai.CacheReadTokens,
	fCacheCreate: genai.CacheCreateTokens, fCacheWrite: genai.CacheWriteTokens, fReasoning: genai.ReasoningTokens,
	fCW1h: "cache_write_1h", fCW5m: "cache_write_5m"}

func (p *costProcessor) price(b *batch, attrs pcommon.Map, s *spanScan, g *genaiInfo) {
	_, hasIn := s.get(fIn)
	_, hasOut := s.get(fOut)
	if !hasIn && !hasOut {
		return // no usage on this span (a wrapper, a tool call, a retrieval): nothing to price
	}
	if s.str(fDup) != "" {
		b.stats.duplicates++ // another span carries this call's usage; it is priced there
		return
	}
	var problems []string
	u := pricing.Usage{
		Input:     p.count(b, s, fIn, genai.InputTokens, &problems),
		Output:    p.count(b, s, fOut, genai.OutputTokens, &problems),
		CacheRead: p.count(b, s, fCacheRead, genai.CacheReadTokens, &problems),
		Reasoning: p.count(b, s, fReasoning, genai.ReasoningTokens, &problems),
	}
	write := p.count(b, s, fCacheCreate, genai.CacheCreateTokens, &problems)
	if _, ok := s.get(fCacheCreate); !ok {
		write = p.count(b, s, fCacheWrite, genai.CacheWriteTokens, &problems)
	}
	u.CacheWrite5m = write
	if _, ok := s.get(fCW1h); ok {
		u.CacheWrite1h = p.count(b, s, fCW1h, p.cfg.Usage.CacheWrite1h[s.cw1hPrio], &problems)
		if _, ok := s.get(fCW5m); ok {
			u.CacheWrite5m = p.count(b, s, fCW5m, p.cfg.Usage.CacheWrite5m[s.cw5mPrio], &problems)
		} else {
			u.CacheWrite5m = max(write-u.CacheWrite1h, 0) // the total includes the 1-hour writes
		}
	} else if _, ok := s.get(fCW5m); ok && write == 0 {
		u.CacheWrite5m = p.count(b, s, fCW5m, p.cfg.Usage.CacheWrite5m[s.cw5mPrio], &problems)
	}
	u.ServiceTier = s.str(fTier)

	provider := s.str(fProvider)
	var price *pricing.Price
	found := false
	var at time.Time // no start time: the newest price
	if g.at > 0 {
		at = time.Unix(0, g.at).UTC()
	}
	for _, f := range [2]int{fRespModel, fReqModel} {
		model := s.str(f)
		if model == "" {
			continue
		}
		if price, found = p.catalog.Lookup(provider, model, at); found || at.IsZero() {
			if found {
				break
			}
			continue
		}
		// Built-in prices are dated when they were observed, not when they
		// began: a call older than the catalog gets the newest known price,
		// flagged as such.
		if price, found = p.catalog.Lookup(provider, model, time.Time{}); found {
			b.w.PutBool(attrs, keyBeforeCatalog, true)
			break
		}
	}

	reported, from, badCost := p.providerCost(b, s, &problems)
	switch {
	case from >= 0:
		// The provider's or SDK's figure is kept; ours is recorded beside it.
		if from != fCost {
			b.w.PutDouble(attrs, genai.UsageCost, reported.USD())
		}
		b.w.PutStr(attrs, genai.AIOpsCostSource, genai.CostSourceProvider)
		if found {
			c := price.Cost(u)
			b.w.PutDouble(attrs, keyCostComputed, c.Total.USD())
			b.w.PutDouble(attrs, keyCostDifference, (reported - c.Total).USD())
			b.w.PutStr(attrs, genai.AIOpsPriceID, price.ID)
			b.w.PutStr(attrs, genai.AIOpsPriceCatalog, p.version)
			if c.Clamped {
				b.w.PutBool(attrs, keyCostClamped, true)
				b.stats.clamped++
			}
		}
		g.amount, g.counted = reported, true
		b.stats.spans[srcProvider]++
		b.stats.cost[srcProvider] += reported
	case found:
		c := price.Cost(u)
		b.w.PutDouble(attrs, genai.UsageCost, c.Total.USD())
		for _, part := range [...]struct {
			key string
			a   pricing.Amount
		}{{genai.AIOpsCostInput, c.Input}, {genai.AIOpsCostCached, c.CachedInput}, {genai.AIOpsCostCacheWrite, c.CacheWrite}, {genai.AIOpsCostOutput, c.Output}, {genai.AIOpsCostReasoning, c.Reasoning}} {
			if part.a != 0 {
				b.w.PutDouble(attrs, part.key, part.a.USD())
			}
		}
		b.w.PutStr(attrs, genai.AIOpsCostSource, genai.CostSourceComputed)
		b.w.PutStr(attrs, genai.AIOpsPriceID, price.ID)
		b.w.PutStr(attrs, genai.AIOpsPriceCatalog, p.version)
		if c.Clamped {
			// Usage inconsistent with semconv (e.g. Anthropic's raw API, which
			// reports cache tokens outside input_tokens): priced from clamped counts.
			b.w.PutBool(attrs, keyCostClamped, true)
			b.stats.clamped++
		}
		g.amount, g.counted = c.Total, true
		b.stats.spans[srcComputed]++
		b.stats.cost[srcComputed] += c.Total
	default:
		if badCost {
			// Not a cost: moved aside (never dropped) so sums downstream stay valid.
			v, _ := s.get(fCost)
			b.w.PutStr(attrs, keyCostReportedBad, v.AsString())
			attrs.Remove(genai.UsageCost)
		}
		b.w.PutStr(attrs, genai.AIOpsCostSource, genai.CostSourceUnpriced)
		model := s.str(fRespModel)
		if model == "" {
			model = s.str(fReqModel)
		}
		b.unpriced = append(b.unpriced, unpricedRef{provider, model})
		b.stats.spans[srcUnpriced]++
	}
	if len(problems) > 0 {
		b.w.PutStr(attrs, keyCostInvalid, strings.Join(problems, ","))
	}
}

// providerCost finds a cost that the provider or an SDK already reported,
// and the field it came from (-1: none). Our own earlier figure
// (aiops.cost.source computed) does not count. badCost reports a
// gen_ai.usage.cost that is not a cost.
func (p *costProcessor) providerCost(b *batch, s *spanScan, problems *[]string) (amount pricing.Amount, from int, badCost bool) {
	for _, f := range [2]int{fCost, fLLMCost} {
		v, ok := s.get(f)
		if !ok || (f == fCost && s.str(fCostSource) == genai.CostSourceComputed) {
			continue
		}
		key := genai.UsageCost
		if f == fLLMCost {
			key = keyLLMCostTotal
		}
		var x float64
		switch v.Type() {
		case pcommon.ValueTypeDouble, pcommon.ValueTypeInt:
			x, ok = genai.Number(v)
		case pcommon.ValueTypeStr:
			var err error
			x, err = strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
			ok = err == nil
		default:
			ok = false
		}
		if ok {
			if a, ok := pricing.FromUSD(x); ok {
				return a, f, badCost
			}
		}
		p.problem(b, "provider_cost_invalid", key, problems)
		badCost = badCost || f == fCost
	}
	return 0, -1, badCost
}

func (p *costProcessor) finishBatch(ctx context.Context, b *batch) {
	if b.needy && p.res.inherit && b.mayInherit() {
		p.inherit(b)
	}
	for i := range b.genai {
		g := &b.genai[i]
		if g.vals[dimUser] == "" {
			b.w.PutBool(b.spans[g.ref].span.Attributes(), genai.AIOpsUnattributed, true)
			b.stats.unattributed++
		}
	}
	if p.bud != nil {
		p.budget(ctx, b)
	}
	if p.res.pseudo != nil && p.res.pseudo.replace {
		p.replaceSources(b)
	}
	p.tel.record(ctx, p, b)
}

// mayInherit reports whether a GenAI span lacking attribution may have its
// parent or its trace's root in the batch.
func (b *batch) mayInherit() bool {
	for i := range b.genai {
		g := &b.genai[i]
		if g.missing == 0 {
			continue
		}
		sp := b.spans[g.ref].span
		tid := sp.TraceID()
		if p := sp.ParentSpanID(); !p.IsEmpty() && b.spanBloom.mayHave(spanKey(tid, p)) {
			return true
		}
		if b.rootBloom.mayHave(traceKey(tid)) {
			return true
		}
	}
	return false
}

// inherit fills missing dimensions of GenAI spans from their parents, then
// their trace's root, among the spans of this batch.
func (p *costProcessor) inherit(b *batch) {
	for i := range b.spans {
		sp := b.spans[i].span
		tid := sp.TraceID()
		if _, taken := b.index[spanKey(tid, sp.SpanID())]; !taken { // on a hash collision the first span wins
			b.index[spanKey(tid, sp.SpanID())] = int32(i)
		}
		if sp.ParentSpanID().IsEmpty() {
			b.roots[traceKey(tid)] = int32(i)
		}
	}
	for gi := range b.genai {
		g := &b.genai[gi]
		need := g.missing
		if need == 0 {
			continue
		}
		self := b.spans[g.ref].span
		tid := self.TraceID()
		visited := int32(-1)
		cur := self.ParentSpanID()
		for depth := 0; depth < maxAncestorsVisited && need != 0 && !cur.IsEmpty(); depth++ {
			idx, ok := b.index[spanKey(tid, cur)]
			if !ok || idx == g.ref {
				break
			}
			if anc := b.spans[idx].span; anc.SpanID() != cur || anc.TraceID() != tid {
				break // a hash collision, not the parent
			}
			need = p.fill(b, g, p.valuesOf(b, idx), need)
			visited = idx
			cur = b.spans[idx].span.ParentSpanID()
		}
		if need != 0 {
			if root, ok := b.roots[traceKey(tid)]; ok && root != g.ref && root != visited && b.spans[root].span.TraceID() == tid {
				need = p.fill(b, g, p.valuesOf(b, root), need)
			}
		}
		g.missing = need
	}
}

func traceKey(t pcommon.TraceID) uint64 {
	return binary.LittleEndian.Uint64(t[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(t[8:]), 29)
}

func spanKey(t pcommon.TraceID, s pcommon.SpanID) uint64 {
	return traceKey(t) ^ binary.LittleEndian.Uint64(s[:])*0x9E3779B97F4A7C15
}

// valuesOf returns a span's attribution: a GenAI span's final values, or
// what a non-GenAI span (an HTTP handler, a workflow) carries.
func (p *costProcessor) valuesOf(b *batch, idx int32) *[nDims]string {
	ref := &b.spans[idx]
	if ref.genai >= 0 {
		return &b.genai[ref.genai].vals
	}
	if v := b.resolved[idx]; v != nil {
		return v
	}
	attrs := ref.span.Attributes()
	c, _ := p.res.scan(attrs, atSpan)
	c.merge(&b.places[ref.scope].c)
	if p.res.hasBaggage && p.res.baggageAttr != "" {
		if h, ok := attrs.Get(p.res.baggageAttr); ok {
			p.res.applyBaggage(&c, h)
		}
	}
	v := new([nDims]string)
	for d := range v {
		if x, ok := attrs.Get(dimTargets[d]); ok && valueString(x) != "" {
			v[d] = valueString(x)
		} else if c[d].found() {
			v[d] = valueString(c[d].val)
		}
	}
	b.resolved[idx] = v
	return v
}

func (p *costProcessor) fill(b *batch, g *genaiInfo, from *[nDims]string, need uint8) uint8 {
	attrs := b.spans[g.ref].span.Attributes()
	for d := 0; d < nDims; d++ {
		if need&(1<<d) == 0 || from[d] == "" {
			continue
		}
		if d == dimWorkload && g.vals[dimWorkload] != "" {
			continue
		}
		v := from[d]
		if d == dimUser && p.res.pseudo != nil {
			v = p.res.pseudo.pseudonym(v) // a no-op on a value already pseudonymized
		}
		b.w.PutStr(attrs, dimTargets[d], v)
		g.vals[d] = v
		need &^= 1 << d
		if !g.inherited {
			g.inherited = true
			b.w.PutBool(attrs, keyInherited, true)
			b.stats.inherited++
		}
	}
	return need
}

// replaceSources overwrites raw user ids in the keys they are read from.
func (p *costProcessor) replaceSources(b *batch) {
	ps := p.res.pseudo
	replace := func(m pcommon.Map, keys []string) {
		for _, k := range keys {
			if v, ok := m.Get(k); ok {
				if raw := valueString(v); raw != "" {
					v.SetStr(ps.pseudonym(raw))
				}
			}
		}
	}
	for i := range b.spans {
		replace(b.spans[i].span.Attributes(), p.res.userKeys[atSpan])
	}
	for i := range b.places {
		keys := p.res.userKeys[atScope]
		if b.places[i].resource {
			keys = p.res.userKeys[atResource]
		}
		replace(b.places[i].attrs, keys)
	}
}
