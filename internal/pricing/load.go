package pricing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// scalar keeps a YAML scalar's literal text so numbers like 0.01875 are parsed
// exactly by ParseUSD instead of going through float64.
type scalar struct {
	set  bool
	text string
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number or string", n.Line)
	}
	if n.Tag == "!!null" {
		*s = scalar{}
		return nil
	}
	*s = scalar{set: true, text: n.Value}
	return nil
}

type fileYAML struct {
	Version   string              `yaml:"version"`
	Discounts map[string]scalar   `yaml:"discounts"`
	Fallbacks map[string][]string `yaml:"fallbacks"`
	Prices    []entryYAML         `yaml:"prices"`
}

type ratesYAML struct {
	Input        scalar `yaml:"input"`
	CacheRead    scalar `yaml:"cache_read"`
	CacheWrite5m scalar `yaml:"cache_write_5m"`
	CacheWrite1h scalar `yaml:"cache_write_1h"`
	Output       scalar `yaml:"output"`
	Reasoning    scalar `yaml:"reasoning"`
	Request      scalar `yaml:"request"`
}

type entryYAML struct {
	Provider      string                     `yaml:"provider"`
	Model         string                     `yaml:"model"`
	EffectiveFrom scalar                     `yaml:"effective_from"`
	Mode          string                     `yaml:"mode"`
	Match         []string                   `yaml:"match"`
	Rates         ratesYAML                  `yaml:",inline"`
	ContextTiers  []contextTierYAML          `yaml:"context_tiers"`
	ServiceTiers  map[string]serviceTierYAML `yaml:"service_tiers"`
}

type contextTierYAML struct {
	Above int64     `yaml:"above"`
	Rates ratesYAML `yaml:",inline"`
}

type serviceTierYAML struct {
	Multiplier scalar    `yaml:"multiplier"`
	Rates      ratesYAML `yaml:",inline"`
}

// Load parses a catalog in the YAML schema described in README.md. Errors
// name the entry (index and id) and the field.
func Load(yamlBytes []byte) (*Catalog, error) {
	var f fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(yamlBytes))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("pricing: empty catalog")
		}
		return nil, fmt.Errorf("pricing: %w", err)
	}

	var errs []error
	discounts := make(map[string]Ratio, len(f.Discounts))
	for prov, s := range f.Discounts {
		r, err := ParseRatio(s.text)
		if err != nil {
			errs = append(errs, fmt.Errorf("discounts.%s: %w", prov, err))
			continue
		}
		discounts[NormalizeProvider(prov)] = r
	}
	fallbacks := make(map[string][]string, len(f.Fallbacks))
	for prov, list := range f.Fallbacks {
		n := make([]string, 0, len(list))
		for _, x := range list {
			n = append(n, NormalizeProvider(x))
		}
		fallbacks[NormalizeProvider(prov)] = n
	}

	prices := make([]*Price, 0, len(f.Prices))
	firstIdx := make(map[string]int, len(f.Prices))
	for i := range f.Prices {
		p, err := convertEntry(&f.Prices[i])
		name := fmt.Sprintf("prices[%d]", i)
		if p != nil && p.ID != "" {
			name += " (" + p.ID + ")"
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		dupKey := p.Provider + "\x00" + strings.ToLower(p.Model) + "\x00" + p.EffectiveFrom.String()
		if j, ok := firstIdx[dupKey]; ok {
			errs = append(errs, fmt.Errorf("%s: duplicates prices[%d] (same provider, model and effective_from)", name, j))
			continue
		}
		firstIdx[dupKey] = i
		prices = append(prices, p)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pricing: invalid catalog: %w", errors.Join(errs...))
	}

	version := f.Version
	if version == "" {
		sum := sha256.Sum256(yamlBytes)
		version = "sha256-" + hex.EncodeToString(sum[:8])
	}
	return build(version, prices, discounts, fallbacks), nil
}

func convertEntry(e *entryYAML) (*Price, error) {
	p := &Price{
		Provider: NormalizeProvider(strings.TrimSpace(e.Provider)),
		Model:    strings.TrimSpace(e.Model),
		Mode:     e.Mode,
		Match:    e.Match,
	}
	if e.EffectiveFrom.set {
		t, err := parseDate(e.EffectiveFrom.text)
		if err != nil {
			p.ID = idOf(p)
			return p, fmt.Errorf("effective_from: %w", err)
		}
		p.EffectiveFrom = t
	}
	p.ID = idOf(p)
	if p.Provider == "" {
		return p, errors.New("provider: required")
	}
	if p.Model == "" {
		return p, errors.New("model: required")
	}
	switch p.Mode {
	case "":
		p.Mode = "chat"
	case "chat", "embedding", "completion", "responses", "rerank":
	default:
		return p, fmt.Errorf("mode: unknown %q (chat, embedding, completion, responses, rerank)", p.Mode)
	}

	var err error
	if p.Rates, err = convertRates(&e.Rates, ""); err != nil {
		return p, err
	}
	if p.Rates.Input == Unset && p.Rates.Request == Unset {
		return p, errors.New("input: required (or request for per-request pricing)")
	}
	if err := checkOrder(&p.Rates, &p.Rates, ""); err != nil {
		return p, err
	}

	for i := range e.ContextTiers {
		t := &e.ContextTiers[i]
		where := fmt.Sprintf("context_tiers[%d].", i)
		if t.Above <= 0 {
			return p, fmt.Errorf("%sabove: must be a positive token count", where)
		}
		if i > 0 && t.Above <= e.ContextTiers[i-1].Above {
			return p, fmt.Errorf("%sabove: tiers must be in ascending order", where)
		}
		r, err := convertRates(&t.Rates, where)
		if err != nil {
			return p, err
		}
		if err := checkOrder(&r, &p.Rates, where); err != nil {
			return p, err
		}
		p.ContextTiers = append(p.ContextTiers, ContextTier{Above: t.Above, Rates: r})
	}

	names := make([]string, 0, len(e.ServiceTiers))
	for name := range e.ServiceTiers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		st := e.ServiceTiers[name]
		where := "service_tiers." + name + "."
		tr := &TierRates{}
		if st.Multiplier.set {
			if tr.Multiplier, err = ParseRatio(st.Multiplier.text); err != nil {
				return p, fmt.Errorf("%smultiplier: %w", where, err)
			}
		}
		if tr.Rates, err = convertRates(&st.Rates, where); err != nil {
			return p, err
		}
		switch name {
		case "batch":
			p.Batch = tr
		case "flex":
			p.Flex = tr
		case "priority":
			p.Priority = tr
		default:
			return p, fmt.Errorf("service_tiers: unknown tier %q (batch, flex, priority)", name)
		}
	}

	for i, s := range e.Match {
		m, err := compileMatch(s)
		if err != nil {
			return p, fmt.Errorf("match[%d]: %w", i, err)
		}
		p.matchers = append(p.matchers, m)
	}
	return p, nil
}

func idOf(p *Price) string {
	id := p.Provider + "/" + p.Model
	if !p.EffectiveFrom.IsZero() {
		id += "@" + p.EffectiveFrom.Format(time.DateOnly)
	}
	return id
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DD or RFC 3339, got %q", s)
	}
	return t.UTC(), nil
}

func convertRates(y *ratesYAML, where string) (Rates, error) {
	r := UnsetRates()
	fields := []struct {
		name string
		src  *scalar
		dst  *Amount
	}{
		{"input", &y.Input, &r.Input},
		{"cache_read", &y.CacheRead, &r.CacheRead},
		{"cache_write_5m", &y.CacheWrite5m, &r.CacheWrite5m},
		{"cache_write_1h", &y.CacheWrite1h, &r.CacheWrite1h},
		{"output", &y.Output, &r.Output},
		{"reasoning", &y.Reasoning, &r.Reasoning},
		{"request", &y.Request, &r.Request},
	}
	for _, f := range fields {
		if !f.src.set {
			continue
		}
		a, err := ParseUSD(f.src.text)
		if err != nil {
			return r, fmt.Errorf("%s%s: %w", where, f.name, err)
		}
		if a < 0 {
			return r, fmt.Errorf("%s%s: must not be negative", where, f.name)
		}
		*f.dst = a
	}
	return r, nil
}

// checkOrder rejects a cache read priced above input, a typical import error.
func checkOrder(r, base *Rates, where string) error {
	in := r.Input
	if in == Unset {
		in = base.Input
	}
	if r.CacheRead != Unset && in != Unset && r.CacheRead > in {
		return fmt.Errorf("%scache_read: %s exceeds input %s", where, r.CacheRead, in)
	}
	return nil
}

func compileMatch(s string) (matcher, error) {
	switch {
	case strings.HasPrefix(s, "re:"):
		expr := s[len("re:"):]
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return matcher{}, err
		}
		return matcher{src: s, re: re}, nil
	case strings.HasPrefix(s, "glob:"):
		g := strings.ToLower(s[len("glob:"):])
		if g == "" {
			return matcher{}, errors.New("empty glob")
		}
		return matcher{src: s, glob: g}, nil
	case strings.ContainsAny(s, "*?"):
		return matcher{src: s, glob: strings.ToLower(s)}, nil
	case strings.TrimSpace(s) == "":
		return matcher{}, errors.New("empty alias")
	}
	return matcher{src: strings.ToLower(strings.TrimSpace(s))}, nil
}
