package aiopsclickhouse

import (
	"context"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// providerUsageSchema holds the provider_usage receiver's records: one row
// per provider × report × bucket × group, versioned by poll_time. Each
// request's rows carry its token, so the same read re-sent (a retry, a
// queue replay after a crash) is stored once; a later read has a later
// poll_time, hence another token, and replaces the earlier one in
// provider_usage_latest.
var providerUsageSchema = newSchema("provider_usage", chstore.ProviderUsageColumns)

// puCounts are the measures, in column order, with their record keys.
var puCounts = []struct{ col, key string }{
	{"input_tokens", genai.PUInputTokens},
	{"cache_read_tokens", genai.PUCacheReadTokens},
	{"cache_write_5m_tokens", genai.PUCacheWrite5mTokens},
	{"cache_write_1h_tokens", genai.PUCacheWrite1hTokens},
	{"cache_write_30m_tokens", genai.PUCacheWrite30mTokens},
	{"cache_write_12h_tokens", genai.PUCacheWrite12hTokens},
	{"output_tokens", genai.PUOutputTokens},
	{"input_audio_tokens", genai.PUInputAudioTokens},
	{"output_audio_tokens", genai.PUOutputAudioTokens},
	{"requests", genai.PURequests},
	{"web_search_requests", genai.PUWebSearchRequests},
}

// puGroup are the group columns, in column order, with their record keys.
var puGroup = []struct{ col, key string }{
	{"project_id", genai.PUProjectID},
	{"api_key_id", genai.PUAPIKeyID},
	{"model", genai.PUModel},
	{"service_tier", genai.PUServiceTier},
	{"batch", genai.PUBatch},
	{"line_item", genai.PULineItem},
	{"cost_type", genai.PUCostType},
	{"token_type", genai.PUTokenType},
	{"context_window", genai.PUContext},
}

// puPromoted have columns of their own; the attributes map keeps the rest.
var puPromoted, puPromotedButCost = func() (map[string]bool, map[string]bool) {
	keys := []string{genai.PUProvider, genai.PUSource, genai.PUBucketStart, genai.PUBucketEnd, genai.PUCost, genai.PUCurrency,
		genai.PUPollTime, genai.AIOpsWorkload, genai.AIOpsTenantID, genai.AIOpsTeam}
	for _, c := range puCounts {
		keys = append(keys, c.key)
	}
	for _, g := range puGroup {
		keys = append(keys, g.key)
	}
	all, butCost := setOf(keys...), setOf(keys...)
	delete(butCost, genai.PUCost) // an unreadable cost is kept as sent
	return all, butCost
}()

// maxUnixSeconds keeps times inside DateTime64(9), which ends in 2262.
const maxUnixSeconds = 9_000_000_000

// addProviderUsage appends the record's row, or names why it has none: a
// row needs its provider, report, bucket and poll time to be placed.
func addProviderUsage(b *builder, name string, lr plog.LogRecord, token string) (skipped string) {
	a := lr.Attributes()
	provider, source := get(b, a, genai.PUProvider), get(b, a, genai.PUSource)
	start, okStart := unixOf(a, genai.PUBucketStart)
	poll, okPoll := unixOf(a, genai.PUPollTime)
	switch {
	case provider == "" || source == "":
		return "provider_usage_no_report"
	case !okStart || start <= 0 || start > maxUnixSeconds:
		return "provider_usage_no_bucket"
	case !okPoll || poll <= 0:
		return "provider_usage_no_poll_time"
	}
	end, okEnd := unixOf(a, genai.PUBucketEnd)
	if !okEnd || end <= start || end > maxUnixSeconds {
		b.repair("bad_bucket_end")
		end = start
	}
	c := b.idx
	b.timev(c("bucket_start"), time.Unix(start, 0).UTC())
	b.timev(c("bucket_end"), time.Unix(end, 0).UTC())
	b.str(c("provider"), provider)
	kind := "usage"
	if name == genai.ProviderCostEvent {
		kind = "cost"
	}
	b.str(c("kind"), kind)
	b.str(c("source"), source)
	for _, g := range puGroup {
		b.str(c(g.col), get(b, a, g.key))
	}
	for _, m := range puCounts {
		b.u64v(c(m.col), count(b, a, m.key))
	}
	amount, costOK := puCost(b, a)
	currency := strings.ToUpper(get(b, a, genai.PUCurrency))
	usd := int64(0)
	if currency == "USD" {
		usd = amount
	}
	b.dec(c("cost_usd"), usd)
	b.dec(c("cost_amount"), amount)
	b.str(c("currency"), currency)
	b.str(c("workload"), get(b, a, genai.AIOpsWorkload))
	b.str(c("tenant_id"), get(b, a, genai.AIOpsTenantID))
	b.str(c("team"), get(b, a, genai.AIOpsTeam))
	b.timev(c("poll_time"), time.Unix(0, poll).UTC())
	skip := puPromoted
	if !costOK {
		skip = puPromotedButCost
	}
	b.mapv(c("attributes"), flatten(b, a, skip))
	b.str(c("insert_token"), token)
	b.endRow()
	return ""
}

// unixOf reads a non-negative integer attribute.
func unixOf(m pcommon.Map, k string) (int64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	n, problem := genai.Count(v)
	return n, problem == ""
}

// puCost reads the cost, an exact decimal string, as picodollars. Credits
// may be negative. Absent is 0; unreadable or out of the column's range is
// 0, counted, and kept as sent in the attributes.
func puCost(b *builder, a pcommon.Map) (int64, bool) {
	v, ok := a.Get(genai.PUCost)
	if !ok {
		return 0, true
	}
	d, err := decimal.NewFromString(strings.TrimSpace(b.text(v)))
	if err != nil || d.Abs().GreaterThan(usdMax) {
		b.repair("bad_cost")
		return 0, false
	}
	return d.Shift(12).Round(0).IntPart(), true
}

// skipProviderUsage counts and logs (once per reason) a record with no row.
func (e *chExporter) skipProviderUsage(ctx context.Context, reason string) {
	e.skipped.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
	if _, seen := e.logged.LoadOrStore("skip:"+reason, true); !seen {
		e.logger.Warn("provider usage record not stored: it lacks what places its row (logged once per reason; see aiops_exporter_records_skipped)",
			zap.String("reason", reason))
	}
}
