package pricing

import (
	_ "embed"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed catalog/builtin.yaml
var builtinYAML []byte

var builtin struct {
	once sync.Once
	cat  *Catalog
	err  error
}

// Builtin returns the embedded catalog, parsed once and shared (read-only).
func Builtin() (*Catalog, error) {
	builtin.once.Do(func() {
		builtin.cat, builtin.err = Load(builtinYAML)
	})
	return builtin.cat, builtin.err
}

// Catalog is an immutable, indexed set of prices, safe for concurrent use.
type Catalog struct {
	version   string
	prices    []*Price              // priority order: earlier wins ties
	byModel   map[string][]*Price   // lower(model) -> newest EffectiveFrom first
	aliases   map[string][]modelKey // lower(alias) -> models, priority order
	patterns  []patternRef
	discounts map[string]Ratio    // provider ("*" = any) -> multiplier
	fallbacks map[string][]string // provider -> providers to try next
	cache     patternCache
}

type modelKey struct{ provider, model string }

type patternRef struct {
	key modelKey
	m   *matcher
}

// matcher is one compiled "glob:" or "re:" pattern.
type matcher struct {
	src  string
	glob string
	re   *regexp.Regexp
}

func (m *matcher) match(s string) bool {
	if m.re != nil {
		return m.re.MatchString(s)
	}
	return globMatch(m.glob, s)
}

// Version identifies the catalog content, e.g. "builtin-2026-07-24".
func (c *Catalog) Version() string {
	if c == nil {
		return ""
	}
	return c.version
}

// Prices returns the entries in priority order. Callers must not modify them.
func (c *Catalog) Prices() []*Price {
	if c == nil {
		return nil
	}
	return append([]*Price(nil), c.prices...)
}

// Lookup finds the price for model under provider ("" = any provider) in
// effect at time at; a zero at means the newest entry. Resolution order:
// exact model, provider-qualified name ("openai/gpt-4o"), aliases, patterns,
// then the provider's fallbacks. Among a model's entries it picks the latest
// EffectiveFrom <= at.
func (c *Catalog) Lookup(provider, model string, at time.Time) (*Price, bool) {
	if c == nil || model == "" {
		return nil, false
	}
	p := NormalizeProvider(provider)
	// Fast path, the common case: an exact, already lower-case model name.
	// It is step 1 of resolve, so the result is the same.
	if pr := pick(c.byModel[model], p, at); pr != nil {
		return pr, true
	}
	if hasUpper(model) {
		model = strings.ToLower(model)
	}
	pr := c.resolveFallback(p, model, at, 0)
	return pr, pr != nil
}

func (c *Catalog) resolveFallback(p, m string, at time.Time, depth int) *Price {
	if pr := c.resolve(p, m, at, depth); pr != nil {
		return pr
	}
	if p == "aws.bedrock" && depth < 3 {
		// Some instrumentations strip Bedrock ids to the bare model
		// ("claude-3-5-sonnet-20241022-v2:0"); the family names the vendor.
		if v := bedrockVendor(m); v != "" {
			if pr := c.resolve(p, v+"."+m, at, depth+1); pr != nil {
				return pr
			}
		}
	}
	for _, fb := range c.fallbacks[p] {
		if pr := c.resolve(fb, m, at, depth); pr != nil {
			return pr
		}
	}
	return nil
}

func (c *Catalog) resolve(p, m string, at time.Time, depth int) *Price {
	if pr := pick(c.byModel[m], p, at); pr != nil {
		return pr
	}
	if depth < 3 {
		if i := strings.IndexByte(m, '/'); i > 0 {
			if pp, ok := knownProvider(m[:i]); ok && (p == "" || p == pp) {
				if pr := c.resolveFallback(pp, m[i+1:], at, depth+1); pr != nil {
					return pr
				}
			}
			// Google SDKs report "models/x" or ".../publishers/google/models/x".
			if j := strings.LastIndex(m, "models/"); j >= 0 && (j == 0 || m[j-1] == '/') {
				if pr := c.resolve(p, m[j+len("models/"):], at, depth+1); pr != nil {
					return pr
				}
			}
		}
	}
	for _, k := range c.aliases[m] {
		if p != "" && k.provider != p {
			continue
		}
		if pr := pick(c.byModel[k.model], k.provider, at); pr != nil {
			return pr
		}
	}
	if len(c.patterns) > 0 {
		if i := c.patternIndex(p, m); i >= 0 {
			k := c.patterns[i].key
			return pick(c.byModel[k.model], k.provider, at)
		}
	}
	return nil
}

// bedrockVendor names the Bedrock vendor of a model id without one.
func bedrockVendor(m string) string {
	if strings.ContainsAny(m, "./") {
		return ""
	}
	for _, f := range [...]struct{ prefix, vendor string }{
		{"claude", "anthropic"}, {"titan", "amazon"}, {"nova", "amazon"}, {"llama", "meta"}, {"mistral", "mistral"},
		{"mixtral", "mistral"}, {"pixtral", "mistral"}, {"command", "cohere"}, {"embed-", "cohere"}, {"jamba", "ai21"}, {"deepseek", "deepseek"},
	} {
		if strings.HasPrefix(m, f.prefix) {
			return f.vendor
		}
	}
	return ""
}

// pick returns the first entry (newest first) of provider p effective at at.
func pick(list []*Price, p string, at time.Time) *Price {
	for _, e := range list {
		if p != "" && e.Provider != p {
			continue
		}
		if at.IsZero() || !e.EffectiveFrom.After(at) {
			return e
		}
	}
	return nil
}

// patternCache memoizes pattern resolution per (provider, model), including
// misses. It is bounded because model names come from untrusted telemetry.
type patternCache struct {
	m atomic.Pointer[sync.Map]
	n atomic.Int64
}

const patternCacheMax = 8192

func (c *Catalog) patternIndex(p, m string) int {
	key := modelKey{p, m}
	cm := c.cache.m.Load()
	if cm != nil {
		if v, ok := cm.Load(key); ok {
			return v.(int)
		}
	}
	idx := -1
	for i := range c.patterns {
		pt := &c.patterns[i]
		if p != "" && pt.key.provider != p {
			continue
		}
		if pt.m.match(m) {
			idx = i
			break
		}
	}
	if cm == nil || c.cache.n.Load() >= patternCacheMax {
		cm = new(sync.Map)
		c.cache.m.Store(cm)
		c.cache.n.Store(0)
	}
	if _, loaded := cm.LoadOrStore(key, idx); !loaded {
		c.cache.n.Add(1)
	}
	return idx
}

// globMatch reports whether s matches pattern, where '*' matches any run of
// bytes (including '/') and '?' exactly one byte.
func globMatch(pattern, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			pi++
			si++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// NormalizeProvider maps deprecated gen_ai.system values and LiteLLM provider
// names to gen_ai.provider.name values; unknown names pass through unchanged.
func NormalizeProvider(s string) string {
	if p, ok := knownProvider(s); ok {
		return p
	}
	return s
}

func knownProvider(s string) (string, bool) {
	switch s {
	case "openai", "anthropic", "cohere", "deepseek", "groq", "perplexity", "x_ai", "mistral_ai",
		"gcp.gemini", "gcp.vertex_ai", "gcp.gen_ai", "aws.bedrock", "azure.ai.openai", "azure.ai.inference",
		"ibm.watsonx.ai":
		return s, true
	case "gemini":
		return "gcp.gemini", true
	case "vertex_ai", "vertex_ai-language-models", "vertex_ai-anthropic_models":
		return "gcp.vertex_ai", true
	case "bedrock", "bedrock_converse":
		return "aws.bedrock", true
	case "azure", "az.ai.openai":
		return "azure.ai.openai", true
	case "azure_ai", "az.ai.inference":
		return "azure.ai.inference", true
	case "mistral":
		return "mistral_ai", true
	case "cohere_chat":
		return "cohere", true
	case "xai":
		return "x_ai", true
	case "watsonx":
		return "ibm.watsonx.ai", true
	}
	return "", false
}

// Merge returns a catalog where entries of over replace entries of c with the
// same provider, model and EffectiveFrom (keeping the replaced entry's Match
// when the new one has none), and all other entries of both are kept (over's
// first, so its aliases and patterns win). Discounts and fallbacks of over
// replace c's per provider. Neither input is modified.
func (c *Catalog) Merge(over *Catalog) *Catalog {
	if over == nil {
		return c
	}
	if c == nil {
		return over
	}
	type ident struct {
		provider, model string
		from            time.Time
	}
	replaced := make(map[ident]*Price, len(c.prices))
	for _, p := range c.prices {
		replaced[ident{p.Provider, strings.ToLower(p.Model), p.EffectiveFrom}] = p
	}
	seen := make(map[ident]bool, len(over.prices))
	list := make([]*Price, 0, len(c.prices)+len(over.prices))
	for _, p := range over.prices {
		id := ident{p.Provider, strings.ToLower(p.Model), p.EffectiveFrom}
		seen[id] = true
		// Re-pricing a model should not silently drop its aliases and patterns.
		if old := replaced[id]; old != nil && len(p.Match) == 0 {
			cp := *p
			cp.Match, cp.matchers = old.Match, old.matchers
			p = &cp
		}
		list = append(list, p)
	}
	for _, p := range c.prices {
		if !seen[ident{p.Provider, strings.ToLower(p.Model), p.EffectiveFrom}] {
			list = append(list, p)
		}
	}
	disc := make(map[string]Ratio, len(c.discounts)+len(over.discounts))
	for k, v := range c.discounts {
		disc[k] = v
	}
	for k, v := range over.discounts {
		disc[k] = v
	}
	fb := make(map[string][]string, len(c.fallbacks)+len(over.fallbacks))
	for k, v := range c.fallbacks {
		fb[k] = v
	}
	for k, v := range over.fallbacks {
		fb[k] = v
	}
	return build(c.version+"+"+over.version, list, disc, fb)
}

// build indexes prices; each is copied so the catalog's discount can be set.
func build(version string, prices []*Price, discounts map[string]Ratio, fallbacks map[string][]string) *Catalog {
	c := &Catalog{
		version:   version,
		prices:    make([]*Price, len(prices)),
		byModel:   make(map[string][]*Price, len(prices)),
		aliases:   make(map[string][]modelKey),
		discounts: discounts,
		fallbacks: fallbacks,
	}
	for i, src := range prices {
		p := *src
		p.Discount = discounts["*"]
		if d, ok := discounts[p.Provider]; ok {
			p.Discount = d
		}
		c.prices[i] = &p
		lm := strings.ToLower(p.Model)
		c.byModel[lm] = append(c.byModel[lm], &p)
	}
	for _, list := range c.byModel {
		sort.SliceStable(list, func(i, j int) bool {
			return list[i].EffectiveFrom.After(list[j].EffectiveFrom)
		})
	}
	addedAlias := make(map[string]map[modelKey]bool)
	addedPattern := make(map[modelKey]map[string]bool)
	for _, p := range c.prices {
		k := modelKey{p.Provider, strings.ToLower(p.Model)}
		for i := range p.matchers {
			m := &p.matchers[i]
			if m.glob == "" && m.re == nil {
				a := m.src
				if addedAlias[a] == nil {
					addedAlias[a] = make(map[modelKey]bool)
				}
				if !addedAlias[a][k] {
					addedAlias[a][k] = true
					c.aliases[a] = append(c.aliases[a], k)
				}
				continue
			}
			if addedPattern[k] == nil {
				addedPattern[k] = make(map[string]bool)
			}
			if !addedPattern[k][m.src] {
				addedPattern[k][m.src] = true
				c.patterns = append(c.patterns, patternRef{key: k, m: m})
			}
		}
	}
	return c
}
