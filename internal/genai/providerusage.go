package genai

// The record contract between the provider_usage receiver and the
// aiops_clickhouse exporter: one OTLP log record per provider × bucket ×
// group, named ProviderUsageEvent or ProviderCostEvent, timestamped at the
// bucket's start. Both sides use these keys and nothing else.
//
// Only our receiver may produce these events: aitrace renames any aiops.*
// event or attribute a client sends to client.aiops.*, so a forged record
// that went through it never matches these names.
const (
	ProviderUsageEvent = "aiops.provider_usage" // tokens and requests
	ProviderCostEvent  = "aiops.provider_cost"  // money, by line item

	// Identity of a row: which report, which bucket, which group.
	PUProvider    = "aiops.provider_usage.provider"     // "openai", "anthropic"
	PUSource      = "aiops.provider_usage.source"       // the endpoint: completions, embeddings, costs, messages, cost_report
	PUBucketStart = "aiops.provider_usage.bucket.start" // Int, unix seconds, inclusive
	PUBucketEnd   = "aiops.provider_usage.bucket.end"   // Int, unix seconds, exclusive
	PUModel       = "aiops.provider_usage.model"
	PUProjectID   = "aiops.provider_usage.project_id" // OpenAI project or Anthropic workspace; "" for none (Anthropic's default workspace)
	PUAPIKeyID    = "aiops.provider_usage.api_key_id"
	PUServiceTier = "aiops.provider_usage.service_tier"
	PUBatch       = "aiops.provider_usage.batch"     // "true", "false" or absent (not grouped by batch)
	PULineItem    = "aiops.provider_usage.line_item" // OpenAI line_item, Anthropic description
	PUCostType    = "aiops.provider_usage.cost_type"
	PUTokenType   = "aiops.provider_usage.token_type"
	PUContext     = "aiops.provider_usage.context_window"

	// Measures, Int unless noted.
	PUInputTokens         = "aiops.provider_usage.input_tokens" // uncached input
	PUCacheReadTokens     = "aiops.provider_usage.cache_read_tokens"
	PUCacheWrite5mTokens  = "aiops.provider_usage.cache_write_5m_tokens"  // Anthropic 5-minute cache writes
	PUCacheWrite1hTokens  = "aiops.provider_usage.cache_write_1h_tokens"  // Anthropic 1-hour cache writes
	PUCacheWrite30mTokens = "aiops.provider_usage.cache_write_30m_tokens" // OpenAI 30-minute cache writes
	PUCacheWrite12hTokens = "aiops.provider_usage.cache_write_12h_tokens" // OpenAI 12-hour cache writes
	PUOutputTokens        = "aiops.provider_usage.output_tokens"
	PUInputAudioTokens    = "aiops.provider_usage.input_audio_tokens"
	PUOutputAudioTokens   = "aiops.provider_usage.output_audio_tokens"
	PURequests            = "aiops.provider_usage.requests"
	PUWebSearchRequests   = "aiops.provider_usage.web_search_requests"
	PUCost                = "aiops.provider_usage.cost"     // Str, exact decimal in the currency's major unit (dollars, not cents)
	PUCurrency            = "aiops.provider_usage.currency" // Str, ISO 4217, upper case

	// PUPollTime is when the receiver read the row (Int, unix nanoseconds):
	// the version that makes a later read of a bucket replace an earlier one.
	PUPollTime = "aiops.provider_usage.poll_time"

	// The project/workspace mapping's attribution uses the house keys
	// AIOpsWorkload, AIOpsTenantID and AIOpsTeam; unmapped groups have none.
)

// IsProviderUsageEvent reports whether an event name is one of ours.
func IsProviderUsageEvent(name string) bool {
	return name == ProviderUsageEvent || name == ProviderCostEvent
}
