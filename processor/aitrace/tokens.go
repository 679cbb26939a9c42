package aitrace

import (
	"context"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// usageKeys are the keys costattr and the exporter read as usage.
var usageKeys = []string{
	genai.InputTokens, genai.OutputTokens, genai.CacheReadTokens, genai.CacheCreateTokens,
	genai.CacheWriteTokens, genai.ReasoningTokens,
}

// What the token accounting did, in aiops.tokens.normalized.
const (
	tokAsReported     = "as_reported"
	tokCacheAdded     = "cache_added_to_input"
	tokReasoningAdded = "reasoning_added_to_output"
)

// tokens validates the usage under current keys and applies the semconv
// rule: cache reads and writes are part of input_tokens, reasoning is part
// of output_tokens. Where a dialect or provider reports them separately
// (Anthropic's raw usage, Gemini's thoughts), they are added, and the
// numbers as reported are kept in aiops.usage.reported.*.
func (p *traceProcessor) tokens(ctx context.Context, w *workspace, attrs pcommon.Map, provider string, keyFlags uint16, info *spanInfo) {
	var vals [6]int64
	var have [6]bool
	found := false
	for i, k := range usageKeys {
		v, ok := w.get(attrs, tInput+i)
		if !ok {
			continue
		}
		n, problem := genai.Count(v)
		if problem == "" && n > maxTokens {
			problem = "absurd"
		}
		if problem != "" {
			// Unusable usage is moved where costattr will not price it and
			// an analyst still sees it.
			p.malformed(ctx, w, "token_"+problem, k)
			v.CopyTo(attrs.PutEmpty(genai.AIOpsUsageInvalid + strings.TrimPrefix(k, "gen_ai.usage.")))
			attrs.Remove(k)
			w.valsOK = false
			continue
		}
		if v.Type() != pcommon.ValueTypeInt {
			attrs.PutInt(k, n) // "12" or 12.0 becomes 12
		}
		vals[i], have[i] = n, true
		found = true
	}
	if !found || (!have[0] && !have[1]) {
		return
	}
	in, out, cr, cw, rs := vals[0], vals[1], vals[2], vals[3], vals[5]
	if !have[3] {
		cw = vals[4] // the newer name of the same count
	}
	cache := cr + cw
	total, haveTotal := int64(0), false
	if keyFlags&fTotal != 0 {
		for _, k := range totalKeys {
			if v, ok := attrs.Get(k); ok {
				if n, problem := genai.Count(v); problem == "" {
					total, haveTotal = n, true
					break
				}
			}
		}
	}
	model := w.getStr(attrs, tRequestModel)
	anthropic := anthropicLike(provider, model)
	rule := cacheUnknown
	if prof := w.profile; prof != nil && anthropic {
		rule = prof.anthropicCache
	}
	addCache, addReasoning, basis := false, false, ""
	switch {
	case haveTotal && in+out == total && cache > 0 && rule == cacheOutside:
		// A total of the uncached counts: it cannot tell, the library can.
		addCache, basis = true, "library_rule"
	case haveTotal && in+out == total:
		basis = "total"
	case haveTotal && cache > 0 && in+cache+out == total:
		addCache, basis = true, "total"
	case haveTotal && rs > 0 && in+out+rs == total:
		addReasoning, basis = true, "total"
	case haveTotal && cache > 0 && rs > 0 && in+cache+out+rs == total:
		addCache, addReasoning, basis = true, true, "total"
	default:
		switch {
		case rule == cacheOutside && cache > 0:
			addCache, basis = true, "library_rule"
		case rule == cacheInside:
			if cache > in {
				p.malformed(ctx, w, "token_cache_exceeds_input", genai.CacheReadTokens)
			}
		case cache > 0 && cacheSeparate(provider, model, w.usageDialect):
			addCache, basis = true, "provider_rule"
		case cache > in:
			if anthropic {
				addCache, basis = true, "cache_exceeds_input"
			} else {
				p.malformed(ctx, w, "token_cache_exceeds_input", genai.CacheReadTokens)
			}
		}
		if rs > 0 && (reasoningSeparate(provider, model) || rs > out) {
			addReasoning = true
			if basis == "" {
				basis = "provider_rule"
			}
		}
	}
	done := tokAsReported
	if addCache {
		attrs.PutInt("aiops.usage.reported.input_tokens", in)
		in += cache
		attrs.PutInt(genai.InputTokens, in)
		done = tokCacheAdded
	}
	if addReasoning {
		attrs.PutInt("aiops.usage.reported.output_tokens", out)
		out += rs
		attrs.PutInt(genai.OutputTokens, out)
		if addCache {
			done = tokCacheAdded + "," + tokReasoningAdded
		} else {
			done = tokReasoningAdded
		}
	}
	attrs.PutStr(genai.AIOpsTokensNormalized, done)
	if addCache || addReasoning {
		attrs.PutStr(genai.AIOpsTokensBasis, basis)
	}
	if haveTotal && basis == "" {
		p.malformed(ctx, w, "token_total_mismatch", "total_tokens")
	}
	info.in, info.out, info.hasUsage = in, out, true
	// Fidelity ranks the layers of one call for pricing: a total that fixes
	// the reading or a known library beats plain semconv keys, which beat a
	// dialect's.
	switch prof := w.profile; {
	case prof != nil && prof.noCacheCounts && anthropic:
		info.fidelity = 0
		attrs.PutStr(genai.AIOpsUsageIncomplete, "cache_not_reported")
	case prof != nil && prof.streamEstimates != estimatesNever && !notStreamed(w, attrs):
		// The library may have replaced streamed usage by an estimate;
		// without a stream flag no call of it can be vouched for.
		info.fidelity, info.estimated = 0, true
		how := "possible"
		if prof.streamEstimates == estimatesAlways && streamed(w, attrs) {
			how = "library_tokenizer"
		}
		attrs.PutStr(genai.AIOpsUsageEstimated, how)
	case basis == "total", rule != cacheUnknown:
		info.fidelity = 3
	case w.usageDialect == "":
		info.fidelity = 2
	default:
		info.fidelity = 1
	}
}

func streamed(w *workspace, attrs pcommon.Map) bool {
	v, ok := w.get(attrs, tStream)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}

func notStreamed(w *workspace, attrs pcommon.Map) bool {
	v, ok := w.get(attrs, tStream)
	return ok && v.Type() == pcommon.ValueTypeBool && !v.Bool()
}

// cacheSeparate is the per-dialect rule, for libraries without a profile,
// of whether cache tokens are outside input_tokens. Anthropic's API
// reports input_tokens without cache reads and writes, and an app's own
// keys (custom mappings) usually copy it. OpenAI, Gemini and the rest count
// cached tokens inside the prompt; Langfuse's usage details are read apart.
func cacheSeparate(provider, model, dialect string) bool {
	return dialect == "custom" && anthropicLike(provider, model)
}

func anthropicLike(provider, model string) bool {
	if provider == "anthropic" {
		return true
	}
	return strings.Contains(strings.ToLower(model), "claude")
}

// reasoningSeparate: Gemini reports thoughts outside candidate tokens.
func reasoningSeparate(provider, model string) bool {
	switch provider {
	case "gcp.gemini", "gcp.vertex_ai", "gcp.gen_ai":
		return strings.Contains(strings.ToLower(model), "gemini") || model == ""
	}
	return false
}

// modelMeta writes aiops.model.pinned, aiops.model.family and drift signals.
func (p *traceProcessor) modelMeta(w *workspace, attrs pcommon.Map, info *spanInfo, provider string) {
	req, resp := w.getStr(attrs, tRequestModel), w.getStr(attrs, tResponseModel)
	model := req
	if model == "" {
		model = resp
	}
	if model == "" {
		return
	}
	pinned := genai.PinnedModel(model)
	attrs.PutBool(genai.AIOpsModelPinned, pinned)
	fam := genai.ModelFamily(model)
	if fam != "" {
		attrs.PutStr(genai.AIOpsModelFamily, fam)
	}
	info.family = fam
	// An alias resolving to its current snapshot (gpt-4o → gpt-4o-2024-08-06)
	// is the expected case, and Azure request models are deployment names:
	// neither is drift.
	var drift [2]string
	n := 0
	if req != "" && resp != "" && !strings.EqualFold(req, resp) && !strings.HasPrefix(provider, "azure") {
		rf := genai.ModelFamily(resp)
		switch {
		case rf == fam && pinned && model == req:
			drift[n] = "snapshot_changed"
			n++
		case rf != fam:
			drift[n] = "model_substituted"
			n++
		}
	}
	if fp := w.getStr(attrs, tFingerprint); fp != "" && resp != "" {
		if prev, changed := p.prints.observe(fpKey{provider, resp}, fp); changed {
			drift[n] = "fingerprint_changed"
			n++
			attrs.PutStr("aiops.model.fingerprint_previous", prev)
		}
	}
	if n > 0 {
		s := attrs.PutEmptySlice(genai.AIOpsModelDrift)
		for _, d := range drift[:n] {
			s.AppendEmpty().SetStr(d)
		}
	}
}

// fingerprints remembers the last system fingerprint per provider and
// response model, in this process. Bounded: when full it starts over.
type fingerprints struct {
	mu   sync.Mutex
	seen map[fpKey]string
}

type fpKey struct{ provider, model string }

const maxFingerprints = 10000

func (f *fingerprints) observe(key fpKey, fp string) (prev string, changed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev, ok := f.seen[key]
	if ok && prev == fp {
		return prev, false
	}
	if len(f.seen) >= maxFingerprints {
		clear(f.seen)
	}
	f.seen[key] = fp
	return prev, ok
}
