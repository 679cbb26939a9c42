package pricing

import (
	"math"
	"math/bits"
	"strings"
	"time"
)

// Usage is the token usage of one call (or of Requests calls summed).
type Usage struct {
	Input, Output, CacheRead, CacheWrite5m, CacheWrite1h, Reasoning int64 // tokens
	// Semconv rule: Input INCLUDES CacheRead and cache writes; Output INCLUDES Reasoning.
	ServiceTier string // "", "default", "batch", "flex", "priority"
	Requests    int64  // for per-request fees; treat 0 as 1
}

// Cost is the priced breakdown of a Usage. Total is the sum of the parts.
type Cost struct {
	Total, Input, CachedInput, CacheWrite, Output, Reasoning, Request Amount
	// Clamped reports that the usage was inconsistent (cache tokens above
	// input, reasoning above output, negative counts) or that an amount
	// saturated; the cost was still computed from the clamped counts.
	Clamped bool
}

// Unset marks a rate that is not given and inherits (see Rates).
const Unset Amount = -1

// Rates holds prices in USD per 1M tokens, stored exactly as picodollars per
// 1M tokens (so ParseUSD("2.5") means $2.50 per 1M tokens). Request is USD
// per request. Unset fields inherit: CacheRead and CacheWrite5m from Input,
// CacheWrite1h from CacheWrite5m, Reasoning from Output; others become 0.
type Rates struct {
	Input, CacheRead, CacheWrite5m, CacheWrite1h, Output, Reasoning, Request Amount
}

// UnsetRates returns Rates with every field Unset, a base for overrides.
func UnsetRates() Rates {
	return Rates{Unset, Unset, Unset, Unset, Unset, Unset, Unset}
}

const (
	rInput = iota
	rCacheRead
	rWrite5m
	rWrite1h
	rOutput
	rReasoning
	rRequest
	nRates
)

func (r *Rates) vec() [nRates]Amount {
	return [nRates]Amount{r.Input, r.CacheRead, r.CacheWrite5m, r.CacheWrite1h, r.Output, r.Reasoning, r.Request}
}

// ContextTier re-prices the whole request when its input tokens exceed Above.
type ContextTier struct {
	Above int64 // input tokens; the tier applies when Usage.Input > Above
	Rates Rates // Unset fields keep the standard rate
}

// TierRates prices a service tier (batch, flex, priority). Explicit Rates win;
// every other rate is the standard (context-tier-resolved) rate × Multiplier.
type TierRates struct {
	Multiplier Ratio
	Rates      Rates
}

// Price is one effective-dated price entry.
type Price struct {
	ID            string    // stable id, e.g. "openai/gpt-4o@2024-08-06" (provider/model@effective_from)
	Provider      string    // semconv provider name: openai, anthropic, gcp.gemini, ...
	Model         string    // canonical model name
	Match         []string  // aliases, "glob:" and "re:" patterns (see README)
	EffectiveFrom time.Time // date the price starts to apply; zero = always
	Mode          string    // "chat" or "embedding" (informational)

	Rates        Rates         // standard tier
	ContextTiers []ContextTier // ascending by Above
	Batch        *TierRates
	Flex         *TierRates
	Priority     *TierRates

	// Discount is the catalog's multiplier for this provider (zero value = 1).
	Discount Ratio

	matchers []matcher
}

func (p *Price) serviceTier(name string) *TierRates {
	switch name {
	case "", "default", "auto", "standard":
		return nil
	case "batch":
		return p.Batch
	case "flex":
		return p.Flex
	case "priority":
		return p.Priority
	}
	switch {
	case strings.EqualFold(name, "batch"):
		return p.Batch
	case strings.EqualFold(name, "flex"):
		return p.Flex
	case strings.EqualFold(name, "priority"):
		return p.Priority
	}
	return nil // unknown tiers bill at standard rates
}

// Cost prices u. Non-cached input = Input - CacheRead - cache writes, and
// non-reasoning output = Output - Reasoning; both are clamped at zero with
// Cost.Clamped set. Each component is rounded half up to the picodollar once,
// from the exact product tokens × rate × multipliers; Total sums the components.
func (p *Price) Cost(u Usage) Cost {
	var c Cost
	if p == nil {
		return c
	}
	r := p.Rates.vec()
	var m [nRates]uint64
	for i := range m {
		m[i] = ppmOne
	}
	if u.Input > 0 {
		for i := len(p.ContextTiers) - 1; i >= 0; i-- {
			t := &p.ContextTiers[i]
			if u.Input > t.Above {
				v := t.Rates.vec()
				for j := range r {
					if v[j] >= 0 {
						r[j] = v[j]
					}
				}
				break
			}
		}
	}
	if t := p.serviceTier(u.ServiceTier); t != nil {
		mult := t.Multiplier.ppm()
		v := t.Rates.vec()
		for j := range r {
			if v[j] >= 0 {
				r[j] = v[j]
			} else {
				m[j] = mult
			}
		}
	}
	inherit := func(dst, src int) {
		if r[dst] < 0 {
			r[dst], m[dst] = r[src], m[src]
		}
	}
	inherit(rCacheRead, rInput)
	inherit(rWrite5m, rInput)
	inherit(rWrite1h, rWrite5m)
	inherit(rReasoning, rOutput)
	for j := range r {
		if r[j] < 0 {
			r[j] = 0
		}
	}

	clamp := func(v int64) int64 {
		if v < 0 {
			c.Clamped = true
			return 0
		}
		return v
	}
	in, cr, w5, w1 := clamp(u.Input), clamp(u.CacheRead), clamp(u.CacheWrite5m), clamp(u.CacheWrite1h)
	plainIn := in
	for _, x := range [3]int64{cr, w5, w1} {
		if x > plainIn {
			c.Clamped = true
			plainIn = 0
		} else {
			plainIn -= x
		}
	}
	out, rs := clamp(u.Output), clamp(u.Reasoning)
	plainOut := out - rs
	if plainOut < 0 {
		c.Clamped = true
		plainOut = 0
	}
	req := u.Requests
	if req <= 0 {
		req = 1
	}

	d := p.Discount.ppm()
	line := func(tokens int64, j int, perUnit uint64) Amount {
		a, ok := lineCost(uint64(tokens), uint64(r[j]), m[j], d, perUnit)
		if !ok {
			c.Clamped = true
		}
		return a
	}
	c.Input = line(plainIn, rInput, perMillion)
	c.CachedInput = line(cr, rCacheRead, perMillion)
	c.CacheWrite = addSat(line(w5, rWrite5m, perMillion), line(w1, rWrite1h, perMillion), &c.Clamped)
	c.Output = line(plainOut, rOutput, perMillion)
	c.Reasoning = line(rs, rReasoning, perMillion)
	if r[rRequest] != 0 {
		c.Request = line(req, rRequest, 1)
	}
	t := addSat(c.Input, c.CachedInput, &c.Clamped)
	t = addSat(t, c.CacheWrite, &c.Clamped)
	t = addSat(t, c.Output, &c.Clamped)
	t = addSat(t, c.Reasoning, &c.Clamped)
	c.Total = addSat(t, c.Request, &c.Clamped)
	return c
}

const perMillion = 1_000_000

// lineCost returns round_half_up(n × rate × tierPPM × discPPM / (perUnit × 1e12)).
// ok is false when the result saturated at MaxInt64.
func lineCost(n, rate, tierPPM, discPPM, perUnit uint64) (Amount, bool) {
	if n == 0 || rate == 0 {
		return 0, true
	}
	if tierPPM == ppmOne && discPPM == ppmOne {
		hi, lo := bits.Mul64(n, rate)
		if hi == 0 && lo <= math.MaxUint64-perUnit/2 {
			var q uint64
			if perUnit == perMillion {
				q = (lo + perMillion/2) / perMillion // constant divisor: no DIV instruction
			} else {
				q = (lo + perUnit/2) / perUnit
			}
			if q > math.MaxInt64 {
				return math.MaxInt64, false
			}
			return Amount(q), true
		}
		return mulDivRound(n, rate, 1, perUnit)
	}
	return mulDivRound(n, rate, tierPPM*discPPM, perUnit*ppmOne*ppmOne)
}

// mulDivRound computes round_half_up(a×b×c / d) through a 192-bit product,
// so no intermediate can overflow. d must be non-zero.
func mulDivRound(a, b, c, d uint64) (Amount, bool) {
	h1, l1 := bits.Mul64(a, b)
	hA, w0 := bits.Mul64(l1, c)
	hB, lB := bits.Mul64(h1, c)
	w1, carry := bits.Add64(hA, lB, 0)
	w2 := hB + carry
	w0, carry = bits.Add64(w0, d/2, 0)
	w1, carry = bits.Add64(w1, 0, carry)
	w2 += carry
	if w2 >= d {
		return math.MaxInt64, false
	}
	q1, rem := bits.Div64(w2, w1, d)
	if q1 != 0 {
		return math.MaxInt64, false
	}
	q0, _ := bits.Div64(rem, w0, d)
	if q0 > math.MaxInt64 {
		return math.MaxInt64, false
	}
	return Amount(q0), true
}

func addSat(a, b Amount, flag *bool) Amount {
	s := a + b
	if (s < a) != (b < 0) {
		*flag = true
		if b < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return s
}
