// Package litellm converts LiteLLM's model_prices_and_context_window.json
// into the catalog YAML of internal/pricing. Every entry is validated; an
// inconsistent one is reported with its reasons instead of being imported.
package litellm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// Options shape an import.
type Options struct {
	// EffectiveFrom dates every imported price. Zero takes the date of the
	// file's "last_updated" field; Import fails when neither is available.
	EffectiveFrom time.Time
	// Version is the catalog version; default "litellm-YYYY-MM-DD".
	Version string
	// Source names the input in the report and the YAML header.
	Source string
}

// Result is the outcome of an import.
type Result struct {
	Source        string
	LastUpdated   string
	EffectiveFrom time.Time
	Version       string
	// YAML is the catalog, loadable by pricing.Load.
	YAML []byte
	// Catalog is YAML loaded, proof that the output is valid.
	Catalog *pricing.Catalog

	Entries  int        // model entries read (metadata keys excluded)
	Imported []Imported // sorted by key
	Rejected []Rejected // inconsistent entries, not imported
	Skipped  []Skipped  // entries outside what the catalog prices
	Rounded  []Rounded  // values finer than a picodollar per 1M tokens
	Notes    []Note     // imported, with a caveat
}

// Imported is one entry written to the catalog.
type Imported struct {
	Key      string // LiteLLM key
	Provider string // gen_ai.provider.name
	Model    string
	ID       string // catalog entry id
}

// Rejected is an inconsistent entry with every reason found.
type Rejected struct {
	Key      string
	Provider string
	Reasons  []string
}

// Skipped is an entry the catalog cannot or need not price.
type Skipped struct {
	Key    string
	Reason string
}

// Rounded records a source value rounded to the picodollar per 1M tokens.
type Rounded struct {
	Key, Field  string
	Source, Out string
}

// Note is a caveat on an imported entry.
type Note struct {
	Key, Text string
}

// Bounds used by validation.
var (
	maxPriorityRatio  = decimal.NewFromInt(4) // priority costs at most 4x standard (seen: 1.7x-2.5x)
	maxCacheWrite1hX  = decimal.NewFromInt(4) // a 1-hour cache write costs at most 4x input (Anthropic: 2x)
	picoPerMillion    = int32(12)             // decimal places kept per 1M tokens: one picodollar
	acceptedModes     = map[string]bool{"chat": true, "completion": true, "responses": true, "embedding": true, "rerank": true}
	chatModes         = map[string]bool{"chat": true, "completion": true, "responses": true}
	tierSuffixes      = []string{"batches", "flex", "priority"}
	tierNames         = map[string]string{"batches": "batch", "flex": "flex", "priority": "priority"}
	metadataKeys      = map[string]string{"sample_spec": "documentation of the file format", "last_updated": "file metadata"}
	rateField         = regexp.MustCompile(`^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost|output_cost_per_reasoning_token)(?:_above_(\d+)k_tokens)?(?:_(batches|flex|priority))?$`)
	otherCostField    = regexp.MustCompile(`cost`)
	rateOrder         = []string{"input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning"}
	sourceToRate      = map[string]string{"input_cost_per_token": "input", "output_cost_per_token": "output", "cache_read_input_token_cost": "cache_read", "cache_creation_input_token_cost": "cache_write_5m", "cache_creation_input_token_cost_above_1hr": "cache_write_1h", "output_cost_per_reasoning_token": "reasoning"}
	requestFeeFields  = []string{"input_cost_per_request", "input_cost_per_query"}
	cacheHitAliasName = "input_cost_per_token_cache_hit"
)

// rates holds per-1M decimals by our field name ("input", "cache_read", ...).
type rates map[string]decimal.Decimal

type entry struct {
	key, provider, model, mode string
	std                        rates
	request                    *decimal.Decimal
	ctx                        map[int64]rates            // above (tokens) -> rates
	svc                        map[string]rates           // tier -> rates (standard context)
	svcCtx                     map[string]map[int64]rates // tier -> above -> rates
	reasons                    []string
	notes                      []string
	rounded                    []Rounded
}

// Import converts a LiteLLM price file.
func Import(data []byte, opts Options) (*Result, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("litellm: not a JSON object: %w", err)
	}
	res := &Result{Source: opts.Source, EffectiveFrom: opts.EffectiveFrom, Version: opts.Version}
	if lu, ok := raw["last_updated"]; ok {
		var s string
		if json.Unmarshal(lu, &s) == nil {
			res.LastUpdated = s
		}
	}
	if res.EffectiveFrom.IsZero() {
		if res.LastUpdated == "" {
			return nil, errors.New("litellm: the file has no last_updated date; give the effective date explicitly")
		}
		t, err := time.Parse(time.RFC3339Nano, res.LastUpdated)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, res.LastUpdated); err != nil {
				return nil, fmt.Errorf("litellm: last_updated %q is not a date; give the effective date explicitly", res.LastUpdated)
			}
		}
		res.EffectiveFrom = t.UTC().Truncate(24 * time.Hour)
	}
	if res.Version == "" {
		res.Version = "litellm-" + res.EffectiveFrom.Format(time.DateOnly)
	}

	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	type ident struct{ provider, model string }
	first := map[ident]*entry{}
	var out []*entry
	for _, k := range keys {
		if why, ok := metadataKeys[k]; ok {
			res.Skipped = append(res.Skipped, Skipped{k, why})
			continue
		}
		res.Entries++
		var fields map[string]any
		d := json.NewDecoder(bytes.NewReader(raw[k]))
		d.UseNumber()
		if err := d.Decode(&fields); err != nil {
			res.Rejected = append(res.Rejected, Rejected{Key: k, Reasons: []string{"not a JSON object"}})
			continue
		}
		e, skip := parseEntry(k, fields)
		if skip != "" {
			res.Skipped = append(res.Skipped, Skipped{k, skip})
			continue
		}
		if len(e.reasons) == 0 {
			e.validate()
		}
		if len(e.reasons) == 0 {
			if err := e.checkLoads(res.EffectiveFrom); err != nil {
				e.reasons = append(e.reasons, "rejected by the catalog loader: "+err.Error())
			}
		}
		if len(e.reasons) > 0 {
			res.Rejected = append(res.Rejected, Rejected{Key: k, Provider: e.provider, Reasons: e.reasons})
			continue
		}
		id := ident{e.provider, strings.ToLower(e.model)}
		if prev := first[id]; prev != nil {
			if prev.yamlEntry(res.EffectiveFrom) == e.yamlEntry(res.EffectiveFrom) {
				res.Skipped = append(res.Skipped, Skipped{k, "same provider, model and prices as " + prev.key})
			} else {
				res.Rejected = append(res.Rejected, Rejected{Key: k, Provider: e.provider, Reasons: []string{
					fmt.Sprintf("conflicts with %s (imported): same provider %s and model %s, different prices", prev.key, e.provider, e.model)}})
			}
			continue
		}
		first[id] = e
		out = append(out, e)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Imported by `otelcol-aiops pricing import` from %s\n", nonEmpty(res.Source, "a LiteLLM price file"))
	if res.LastUpdated != "" {
		fmt.Fprintf(&b, "# LiteLLM last_updated: %s\n", res.LastUpdated)
	}
	fmt.Fprintf(&b, "# Prices are USD per 1M tokens (request: USD per request); %d entries imported, %d rejected (see the report).\n", len(out), len(res.Rejected))
	fmt.Fprintf(&b, "version: %s\nprices:\n", yamlString(res.Version))
	for _, e := range out {
		b.WriteString(e.yamlEntry(res.EffectiveFrom))
		res.Imported = append(res.Imported, Imported{Key: e.key, Provider: e.provider, Model: e.model, ID: idOf(e, res.EffectiveFrom)})
		res.Rounded = append(res.Rounded, e.rounded...)
		for _, n := range e.notes {
			res.Notes = append(res.Notes, Note{e.key, n})
		}
	}
	res.YAML = []byte(b.String())
	cat, err := pricing.Load(res.YAML)
	if err != nil {
		// Every entry was loaded on its own; a failure here is a bug.
		return nil, fmt.Errorf("litellm: the generated catalog does not load: %w", err)
	}
	res.Catalog = cat
	return res, nil
}

func parseEntry(key string, f map[string]any) (*entry, string) {
	mode, _ := f["mode"].(string)
	if mode == "" {
		return nil, "no mode: a LiteLLM pricing bucket, not a model"
	}
	if !acceptedModes[mode] {
		return nil, "mode " + mode + " is not priced per token by this catalog"
	}
	e := &entry{key: key, mode: mode, ctx: map[int64]rates{}, svc: map[string]rates{}, svcCtx: map[string]map[int64]rates{}, std: rates{}}
	lp, _ := f["litellm_provider"].(string)
	if lp == "" {
		e.reasons = append(e.reasons, "litellm_provider: missing")
		return e, ""
	}
	e.provider = pricing.NormalizeProvider(lp)
	e.model = key
	if i := strings.IndexByte(key, '/'); i > 0 {
		if seg := key[:i]; seg == lp || pricing.NormalizeProvider(seg) == e.provider {
			e.model = key[i+1:]
		}
	}

	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	var unpriced []string
	for _, name := range names {
		m := rateField.FindStringSubmatch(name)
		if m == nil {
			if name == cacheHitAliasName || containsStr(requestFeeFields, name) {
				continue // handled below
			}
			if otherCostField.MatchString(name) && nonZero(f[name]) {
				unpriced = append(unpriced, name)
			}
			continue
		}
		v, ok := e.number(name, f[name], true)
		if !ok {
			continue
		}
		field := sourceToRate[m[1]]
		var above int64
		if m[2] != "" {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			above = n * 1000
		}
		switch tier := m[3]; {
		case tier == "" && above == 0:
			e.std[field] = v
		case tier == "":
			if e.ctx[above] == nil {
				e.ctx[above] = rates{}
			}
			e.ctx[above][field] = v
		case above == 0:
			t := tierNames[tier]
			if e.svc[t] == nil {
				e.svc[t] = rates{}
			}
			e.svc[t][field] = v
		default:
			t := tierNames[tier]
			if e.svcCtx[t] == nil {
				e.svcCtx[t] = map[int64]rates{}
			}
			if e.svcCtx[t][above] == nil {
				e.svcCtx[t][above] = rates{}
			}
			e.svcCtx[t][above][field] = v
		}
	}
	if _, ok := e.std["cache_read"]; !ok {
		if v, ok := e.number(cacheHitAliasName, f[cacheHitAliasName], true); ok && f[cacheHitAliasName] != nil {
			e.std["cache_read"] = v
		}
	}
	for _, name := range requestFeeFields {
		if f[name] == nil {
			continue
		}
		if v, ok := e.number(name, f[name], false); ok && (e.request == nil || v.GreaterThan(*e.request)) {
			e.request = &v
		}
	}
	if len(e.reasons) > 0 {
		return e, ""
	}
	if _, ok := e.std["input"]; !ok && e.request == nil {
		return nil, "no token or request price"
	}
	if _, ok := e.std["input"]; !ok {
		e.std["input"] = decimal.Zero // priced per request only
	}
	if len(unpriced) > 0 {
		e.notes = append(e.notes, "also priced by "+strings.Join(unpriced, ", ")+": not imported (the catalog prices tokens and requests)")
	}
	return e, ""
}

// number reads a JSON number exactly. perToken values are shifted to per 1M
// tokens and rounded (and recorded) when finer than a picodollar.
func (e *entry) number(name string, v any, perToken bool) (decimal.Decimal, bool) {
	if v == nil {
		return decimal.Zero, false
	}
	n, ok := v.(json.Number)
	if !ok {
		e.reasons = append(e.reasons, fmt.Sprintf("%s: %v is not a number", name, v))
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(n.String())
	if err != nil {
		e.reasons = append(e.reasons, fmt.Sprintf("%s: %s is not a number", name, n))
		return decimal.Zero, false
	}
	if d.IsNegative() {
		e.reasons = append(e.reasons, fmt.Sprintf("%s: %s is negative", name, n))
		return decimal.Zero, false
	}
	if perToken {
		d = d.Shift(6)
	}
	if d.Exponent() < -picoPerMillion {
		r := d.Round(picoPerMillion)
		if !r.Equal(d) {
			e.rounded = append(e.rounded, Rounded{Key: e.key, Field: name, Source: n.String(), Out: r.String()})
		}
		d = r
	}
	return d, true
}

func (e *entry) validate() {
	add := func(format string, a ...any) { e.reasons = append(e.reasons, fmt.Sprintf(format, a...)) }
	checkRates := func(where string, r, base rates) {
		get := func(f string) (decimal.Decimal, bool) {
			if v, ok := r[f]; ok {
				return v, true
			}
			v, ok := base[f]
			return v, ok
		}
		in, _ := get("input")
		if cr, ok := r["cache_read"]; ok && cr.GreaterThan(in) {
			add("%scache read %s is above input %s", where, cr, in)
		}
		// Checked where both prices are set together: the standard rates,
		// or a tier that names both.
		_, ownIn := r["input"]
		out, ownOut := r["output"]
		if ownIn && ownOut && chatModes[e.mode] && out.IsPositive() && in.GreaterThan(out) {
			add("%soutput %s is below input %s: swapped?", where, out, in)
		}
		if w1, ok := r["cache_write_1h"]; ok {
			w5, has5 := get("cache_write_5m")
			switch {
			case has5 && w1.LessThan(w5):
				add("%s1-hour cache write %s is below the 5-minute cache write %s", where, w1, w5)
			case in.IsPositive() && w1.GreaterThan(in.Mul(maxCacheWrite1hX)):
				add("%s1-hour cache write %s is %sx input %s (expected about 2x)", where, w1, w1.Div(in).StringFixed(1), in)
			}
		}
	}
	checkRates("", e.std, e.std)

	if e.mode == "embedding" {
		if len(e.ctx) > 0 {
			add("mode embedding, but priced with a context tier above %dk tokens, which only chat models have: mislabelled?", smallestKey(e.ctx)/1000)
		}
		for _, f := range []string{"cache_read", "cache_write_5m", "reasoning"} {
			if v, ok := e.std[f]; ok && v.IsPositive() {
				add("mode embedding, but has a %s price: mislabelled?", f)
			}
		}
		if v, ok := e.std["output"]; ok && v.IsPositive() {
			add("mode embedding, but output tokens are priced %s: mislabelled?", v)
		}
	}

	for _, above := range sortedKeys(e.ctx) {
		where := fmt.Sprintf("above %dk tokens: ", above/1000)
		for _, f := range rateOrder {
			v, ok := e.ctx[above][f]
			if base, has := e.std[f]; ok && has && v.LessThan(base) {
				add("%s%s %s is below the standard %s", where, f, v, base)
			}
		}
		checkRates(where, e.ctx[above], e.std)
	}

	for _, tier := range []string{"batch", "flex", "priority"} {
		check := func(where string, tr, base rates) {
			for _, f := range rateOrder {
				v, ok := tr[f]
				b, has := base[f]
				if !ok || !has {
					continue
				}
				switch tier {
				case "batch", "flex":
					if v.GreaterThan(b) {
						add("%s%s %s is above the standard %s", where, f, v, b)
					}
				case "priority":
					if v.LessThan(b) {
						add("%s%s %s is below the standard %s", where, f, v, b)
					} else if b.IsPositive() && v.GreaterThan(b.Mul(maxPriorityRatio)) {
						add("%s%s %s is %sx the standard %s (priority is normally 1.5x-2.5x)", where, f, v, v.Div(b).StringFixed(1), b)
					}
				}
			}
		}
		if tr := e.svc[tier]; tr != nil {
			check(tier+" tier: ", tr, e.std)
			checkRates(tier+" tier: ", tr, e.std)
		}
		for above, tr := range e.svcCtx[tier] {
			base := e.ctx[above]
			if base == nil {
				add("%s tier above %dk tokens: priced without a standard tier above %dk", tier, above/1000, above/1000)
				continue
			}
			check(fmt.Sprintf("%s tier above %dk tokens: ", tier, above/1000), tr, mergeRates(e.std, base))
		}
	}
}

func mergeRates(base, over rates) rates {
	m := rates{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// checkLoads runs the entry alone through the catalog loader.
func (e *entry) checkLoads(from time.Time) error {
	_, err := pricing.Load([]byte("version: check\nprices:\n" + e.yamlEntry(from)))
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, "): "); i >= 0 {
			msg = msg[i+3:]
		}
		return errors.New(msg)
	}
	return nil
}

func idOf(e *entry, from time.Time) string {
	return e.provider + "/" + e.model + "@" + from.Format(time.DateOnly)
}

// yamlEntry renders the entry in the catalog schema. Service tiers become a
// multiplier when every price LiteLLM gives for the tier is the same multiple
// of the standard one; otherwise explicit rates.
func (e *entry) yamlEntry(from time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - provider: %s\n    model: %s\n    effective_from: %s\n", yamlString(e.provider), yamlString(e.model), from.Format(time.DateOnly))
	if e.mode != "chat" {
		fmt.Fprintf(&b, "    mode: %s\n", e.mode)
	}
	for _, f := range rateOrder {
		if v, ok := e.std[f]; ok {
			fmt.Fprintf(&b, "    %s: %s\n", f, v.String())
		}
	}
	if e.request != nil {
		fmt.Fprintf(&b, "    request: %s\n", e.request.String())
	}
	if len(e.ctx) > 0 {
		b.WriteString("    context_tiers:\n")
		for _, above := range sortedKeys(e.ctx) {
			fmt.Fprintf(&b, "      - {above: %d%s}\n", above, flowRates(e.ctx[above]))
		}
	}
	var tiers []string
	for _, suffix := range tierSuffixes {
		t := tierNames[suffix]
		if e.svc[t] == nil && e.svcCtx[t] == nil {
			continue
		}
		if m, ok := e.uniformRatio(t); ok {
			tiers = append(tiers, fmt.Sprintf("      %s: {multiplier: %s}\n", t, m.String()))
			continue
		}
		if e.svc[t] == nil {
			e.addNote(fmt.Sprintf("%s tier: priced only above a context threshold, not as a multiple of the standard tier; not imported", t))
			continue
		}
		if len(e.svcCtx[t]) > 0 || len(e.ctx) > 0 {
			e.addNote(fmt.Sprintf("%s tier: above-threshold prices are not a uniform multiple; requests above %dk tokens bill at the %s tier's base rates", t, smallestKey(e.ctx)/1000, t))
		}
		tiers = append(tiers, fmt.Sprintf("      %s: {%s}\n", t, strings.TrimPrefix(flowRates(e.svc[t]), ", ")))
	}
	if len(tiers) > 0 {
		b.WriteString("    service_tiers:\n")
		for _, t := range tiers {
			b.WriteString(t)
		}
	}
	return b.String()
}

func (e *entry) addNote(n string) {
	if !containsStr(e.notes, n) {
		e.notes = append(e.notes, n)
	}
}

// uniformRatio reports whether every price of the tier is the same multiple
// of its standard counterpart, with at most 6 decimal places.
func (e *entry) uniformRatio(tier string) (decimal.Decimal, bool) {
	var ratio decimal.Decimal
	set := false
	check := func(tr, base rates) bool {
		for f, v := range tr {
			b, ok := base[f]
			if !ok || b.IsZero() {
				if v.IsZero() {
					continue
				}
				return false
			}
			r := v.DivRound(b, 12)
			if !r.Mul(b).Equal(v) || !r.Shift(6).IsInteger() || !r.IsPositive() {
				return false
			}
			if set && !r.Equal(ratio) {
				return false
			}
			ratio, set = r, true
		}
		return true
	}
	if !check(e.svc[tier], e.std) {
		return decimal.Zero, false
	}
	for above, tr := range e.svcCtx[tier] {
		if !check(tr, mergeRates(e.std, e.ctx[above])) {
			return decimal.Zero, false
		}
	}
	// When LiteLLM gives no above-threshold prices for the tier, the
	// multiplier extends the tier's ratio to the context-tier rates.
	return ratio, set
}

func flowRates(r rates) string {
	var b strings.Builder
	for _, f := range rateOrder {
		if v, ok := r[f]; ok {
			fmt.Fprintf(&b, ", %s: %s", f, v.String())
		}
	}
	return b.String()
}

func sortedKeys(m map[int64]rates) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func smallestKey(m map[int64]rates) int64 {
	ks := sortedKeys(m)
	if len(ks) == 0 {
		return 0
	}
	return ks[0]
}

func nonZero(v any) bool {
	switch x := v.(type) {
	case json.Number:
		d, err := decimal.NewFromString(x.String())
		return err != nil || !d.IsZero()
	case nil:
		return false
	case map[string]any:
		for _, y := range x {
			if nonZero(y) {
				return true
			}
		}
		return false
	}
	return true
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// yamlString quotes s as a YAML double-quoted scalar (JSON escaping is valid YAML).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Report renders the result for people: a summary, then every rejected
// entry with its reasons, rounded values, notes and skipped entries by reason.
func (r *Result) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "LiteLLM import of %s\n", nonEmpty(r.Source, "(input)"))
	if r.LastUpdated != "" {
		fmt.Fprintf(&b, "last_updated %s; effective_from %s; catalog version %s\n", r.LastUpdated, r.EffectiveFrom.Format(time.DateOnly), r.Version)
	} else {
		fmt.Fprintf(&b, "effective_from %s; catalog version %s\n", r.EffectiveFrom.Format(time.DateOnly), r.Version)
	}
	skippedModels := 0
	for _, s := range r.Skipped {
		if _, meta := metadataKeys[s.Key]; !meta {
			skippedModels++
		}
	}
	fmt.Fprintf(&b, "%d entries: %d imported, %d rejected as inconsistent, %d skipped; %d values rounded to a picodollar per 1M tokens; %d notes\n",
		r.Entries, len(r.Imported), len(r.Rejected), skippedModels, len(r.Rounded), len(r.Notes))

	fmt.Fprintf(&b, "\nREJECTED (inconsistent, not imported): %d\n", len(r.Rejected))
	for _, x := range r.Rejected {
		fmt.Fprintf(&b, "  %s (%s)\n", x.Key, nonEmpty(x.Provider, "?"))
		for _, why := range x.Reasons {
			fmt.Fprintf(&b, "      - %s\n", why)
		}
	}
	if len(r.Rounded) > 0 {
		fmt.Fprintf(&b, "\nROUNDED (source value finer than a picodollar per 1M tokens): %d\n", len(r.Rounded))
		for _, x := range r.Rounded {
			fmt.Fprintf(&b, "  %s %s: %s per token -> %s per 1M\n", x.Key, x.Field, x.Source, x.Out)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(&b, "\nNOTES (imported with a caveat): %d\n", len(r.Notes))
		for _, x := range r.Notes {
			fmt.Fprintf(&b, "  %s: %s\n", x.Key, x.Text)
		}
	}
	byReason := map[string][]string{}
	for _, s := range r.Skipped {
		reason := s.Reason
		if strings.HasPrefix(reason, "same provider, model and prices as ") {
			reason = "duplicate of an imported entry (same provider, model and prices)"
		}
		byReason[reason] = append(byReason[reason], s.Key)
	}
	reasons := make([]string, 0, len(byReason))
	for k := range byReason {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	fmt.Fprintf(&b, "\nSKIPPED: %d\n", len(r.Skipped))
	for _, reason := range reasons {
		keys := byReason[reason]
		fmt.Fprintf(&b, "  %s: %d\n", reason, len(keys))
		const show = 8
		shown := keys
		if len(shown) > show {
			shown = shown[:show]
		}
		fmt.Fprintf(&b, "      %s", strings.Join(shown, ", "))
		if len(keys) > show {
			fmt.Fprintf(&b, ", … (%d more)", len(keys)-show)
		}
		b.WriteString("\n")
	}
	return b.String()
}
