package chstore

import "fmt"

// ProviderUsageColumns is the contract of provider_usage: what the
// providers' own usage and cost reports say, one row per provider × kind ×
// bucket × group. A bucket still filling is read again on every poll; the
// later read replaces the earlier one (see providerUsageTable).
var ProviderUsageColumns = []ColumnDef{
	{Name: "bucket_start", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "bucket_end", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "provider", Type: "LowCardinality(String)"},
	{Name: "kind", Type: "LowCardinality(String)"},   // usage | cost
	{Name: "source", Type: "LowCardinality(String)"}, // the report: completions, embeddings, costs, messages, cost_report
	// The group. Empty means the provider reported none (null), which is a
	// group of its own: Anthropic's default workspace, playground usage
	// without an API key.
	{Name: "project_id", Type: "LowCardinality(String)"}, // OpenAI project, Anthropic workspace
	{Name: "api_key_id", Type: "LowCardinality(String)"},
	{Name: "model", Type: "LowCardinality(String)"},
	{Name: "service_tier", Type: "LowCardinality(String)"},
	{Name: "batch", Type: "LowCardinality(String)"},     // 'true', 'false', '' when not grouped by it
	{Name: "line_item", Type: "LowCardinality(String)"}, // OpenAI line_item, Anthropic description
	{Name: "cost_type", Type: "LowCardinality(String)"},
	{Name: "token_type", Type: "LowCardinality(String)"},
	{Name: "context_window", Type: "LowCardinality(String)"},
	// Tokens by kind, as the provider counts them.
	{Name: "input_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"}, // uncached input
	{Name: "cache_read_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "cache_write_5m_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "cache_write_1h_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "cache_write_30m_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "cache_write_12h_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "output_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "input_audio_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "output_audio_tokens", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "requests", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	{Name: "web_search_requests", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	// cost_amount is in currency; cost_usd repeats it when currency is USD
	// (both providers report USD only today) and is 0 otherwise.
	{Name: "cost_usd", Type: "Decimal(18, 12)"},
	{Name: "cost_amount", Type: "Decimal(18, 12)"},
	{Name: "currency", Type: "LowCardinality(String)"},
	// Our attribution, from the receiver's project/workspace mapping; empty
	// workload is spend no instrumented workload claims.
	{Name: "workload", Type: "LowCardinality(String)"},
	{Name: "tenant_id", Type: "LowCardinality(String)"},
	{Name: "team", Type: "LowCardinality(String)"},
	{Name: "poll_time", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	insertTokenColumn,
}

// providerUsageKey is the identity of a row: everything the provider
// grouped by, plus the report and the bucket. Two reads of one bucket and
// group collapse to the one with the latest poll_time.
const providerUsageKey = "(provider, kind, source, bucket_start, project_id, api_key_id, model, service_tier, batch, line_item, cost_type, token_type, context_window)"

var providerUsageTable = Table{
	Name: "provider_usage", Columns: ProviderUsageColumns,
	// Replacing, versioned by poll time: re-polling a bucket that is still
	// filling replaces it, never adds to it. Replacement happens at merge
	// time, so readers use FINAL (provider_usage_latest does).
	Engine:      "ReplacingMergeTree(poll_time)",
	Indexes:     []string{insertTokenIndex},
	PartitionBy: "toYYYYMM(bucket_start)", // one identity, one bucket_start: one partition, so it can merge
	OrderBy:     providerUsageKey,
	TTLOn:       "toDateTime(bucket_start)",
	// Every row of an identity on one shard, so FINAL sees them together.
	ShardBy: "cityHash64(provider, project_id)", Dedup: true,
}

// ProviderUsageLatestView is what readers use: each row's latest read.
const ProviderUsageLatestView = "provider_usage_latest"

func providerUsageDDL(o SchemaOptions) []string {
	cols := ""
	for i, c := range ProviderUsageColumns {
		if c.Name == insertTokenColumn.Name {
			continue
		}
		if i > 0 {
			cols += ", "
		}
		cols += c.Name
	}
	// On a cluster the view reads the Distributed table; the sharding key
	// keeps an identity on one shard, where FINAL collapses it.
	view := fmt.Sprintf("CREATE VIEW IF NOT EXISTS %s.%s%s AS\nSELECT %s\nFROM %s.%s FINAL",
		o.Database, ProviderUsageLatestView, o.onCluster(), cols, o.Database, providerUsageTable.Name)
	return append(tableDDL(o, providerUsageTable), view)
}
