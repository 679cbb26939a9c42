package costattr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/url"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// Attribution dimensions, in the order of dimTargets.
const (
	dimUser = iota
	dimTenant
	dimTeam
	dimWorkload
	dimFeature
	nDims
)

var dimTargets = [nDims]string{genai.AIOpsUserID, genai.AIOpsTenantID, genai.AIOpsTeam, genai.AIOpsWorkload, genai.AIOpsFeature}

// inheritable are the dimensions a child span takes from its parents. The
// workload is the span's own service unless it has none.
const inheritable = 1<<dimUser | 1<<dimTenant | 1<<dimTeam | 1<<dimFeature

// Where a key is read. The rank orders an unprefixed key's places.
const (
	atSpan = iota
	atScope
	atResource
	atBaggage
	nPlaces
)

type slotRef struct {
	dim  uint8
	prio int32 // key index * nPlaces + place rank: lower wins
}

// cand is the best value found so far for one dimension. rank is the
// slot's priority + 1, so that the zero value means "none".
type cand struct {
	rank int32
	val  pcommon.Value
}

func (c *cand) found() bool { return c.rank != 0 }

type cands [nDims]cand

// offer proposes v for a dimension; it reports false when v cannot be an
// id at all (a map, a list, bytes).
func (c *cands) offer(s slotRef, v pcommon.Value) bool {
	str := valueString(v)
	if str != "" && (c[s.dim].rank == 0 || s.prio+1 < c[s.dim].rank) {
		c[s.dim] = cand{rank: s.prio + 1, val: v}
	}
	return str != "" || !unusableID(v)
}

func unusableID(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice, pcommon.ValueTypeBytes:
		return true
	}
	return false
}

// merge keeps, per dimension, the candidate of lower priority.
func (c *cands) merge(o *cands) {
	for i := range c {
		if o[i].rank != 0 && (c[i].rank == 0 || o[i].rank < c[i].rank) {
			c[i] = o[i]
		}
	}
}

// valueString renders a value without allocating for strings.
func valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	switch v.Type() {
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return v.AsString()
	}
	return "" // maps, slices, bytes and empty values are not ids
}

// resolver finds attribution values.
type resolver struct {
	// keys per place (span, scope, resource): attribute key -> slots.
	places [atResource + 1]map[string][]slotRef
	// baggage members per dimension, in priority order.
	baggage     [nDims][]slotBaggage
	baggageAttr string
	hasBaggage  bool
	inherit     bool
	pseudo      *pseudonymizer
	// userKeys holds, per place, the keys user ids are read from, for
	// pseudonymizing the source values.
	userKeys [atResource + 1][]string
}

type slotBaggage struct {
	member string
	prio   int32
}

func newResolver(cfg *AttributionConfig) *resolver {
	r := &resolver{baggageAttr: cfg.BaggageAttribute, inherit: cfg.InheritFromParents}
	for i := range r.places {
		r.places[i] = map[string][]slotRef{}
	}
	lists := [nDims][]string{cfg.User, cfg.Tenant, cfg.Team, cfg.Workload, cfg.Feature}
	for d, keys := range lists {
		for i, k := range keys {
			scope, key, _ := splitScope(k)
			base := int32(i) * nPlaces
			add := func(place int) {
				r.places[place][key] = append(r.places[place][key], slotRef{dim: uint8(d), prio: base + int32(place)})
				if d == dimUser && !containsString(r.userKeys[place], key) {
					r.userKeys[place] = append(r.userKeys[place], key)
				}
			}
			switch scope {
			case "span":
				add(atSpan)
			case "scope":
				add(atScope)
			case "resource":
				add(atResource)
			case "baggage":
				r.baggage[d] = append(r.baggage[d], slotBaggage{member: key, prio: base + atBaggage})
				r.hasBaggage = true
			default:
				add(atSpan)
				add(atScope)
				add(atResource)
			}
		}
	}
	if cfg.Pseudonymize.Key != "" {
		r.pseudo = newPseudonymizer([]byte(cfg.Pseudonymize.Key), cfg.Pseudonymize.Prefix, cfg.Pseudonymize.ReplaceSource)
	}
	return r
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scan collects the candidates of one attribute map at a place, and the
// first attribution key whose value cannot be an id.
func (r *resolver) scan(m pcommon.Map, place int) (c cands, bad string) {
	keys := r.places[place]
	if len(keys) == 0 {
		return c, ""
	}
	m.Range(func(k string, v pcommon.Value) bool {
		for _, s := range keys[k] {
			if !c.offer(s, v) && bad == "" {
				bad = k
			}
		}
		return true
	})
	return c, bad
}

// applyBaggage offers baggage members that could beat the current candidates.
func (r *resolver) applyBaggage(c *cands, header pcommon.Value) {
	for d := range r.baggage {
		for _, b := range r.baggage[d] {
			if c[d].rank != 0 && b.prio+1 >= c[d].rank {
				break
			}
			if v, ok := baggageMember(header, b.member); ok {
				c[d] = cand{rank: b.prio + 1, val: pcommon.NewValueStr(v)}
				break
			}
		}
	}
}

// baggageMember reads one member of a W3C baggage header captured as a
// string or a list of strings: "userId=alice;prop=1,tenant=acme".
func baggageMember(header pcommon.Value, name string) (string, bool) {
	switch header.Type() {
	case pcommon.ValueTypeStr:
		return parseBaggage(header.Str(), name)
	case pcommon.ValueTypeSlice:
		s := header.Slice()
		for i := 0; i < s.Len(); i++ {
			if v, ok := parseBaggage(s.At(i).AsString(), name); ok {
				return v, true
			}
		}
	}
	return "", false
}

func parseBaggage(h, name string) (string, bool) {
	for len(h) > 0 {
		var member string
		member, h, _ = strings.Cut(h, ",")
		kv, _, _ := strings.Cut(member, ";")
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if dec, err := url.PathUnescape(v); err == nil {
			v = dec
		}
		return v, v != ""
	}
	return "", false
}

// pseudonymizer maps user ids to prefix + hex(HMAC-SHA256(key, id))[:32].
type pseudonymizer struct {
	prefix  string
	replace bool
	mu      sync.Mutex
	mac     hash.Hash
	cache   map[string]string
	buf     []byte
}

const pseudonymCacheMax = 1 << 16

func newPseudonymizer(key []byte, prefix string, replace bool) *pseudonymizer {
	return &pseudonymizer{prefix: prefix, replace: replace, mac: hmac.New(sha256.New, key), cache: map[string]string{}}
}

func (p *pseudonymizer) pseudonym(id string) string {
	if p.looksPseudonymized(id) {
		return id // already ours, e.g. from a collector tier upstream with the same key
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.cache[id]; ok {
		return v
	}
	p.mac.Reset()
	p.mac.Write([]byte(id))
	p.buf = p.mac.Sum(p.buf[:0])
	out := p.prefix + hex.EncodeToString(p.buf[:16])
	if len(p.cache) >= pseudonymCacheMax {
		clear(p.cache)
	}
	p.cache[strings.Clone(id)] = out
	return out
}

// looksPseudonymized reports whether s has the shape of a pseudonym: the
// (non-empty) prefix and 32 lower-case hex digits.
func (p *pseudonymizer) looksPseudonymized(s string) bool {
	if p.prefix == "" || len(s) != len(p.prefix)+32 || !strings.HasPrefix(s, p.prefix) {
		return false
	}
	for i := len(p.prefix); i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
