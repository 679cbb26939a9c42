package chstore

// GenAIMetricColumns is the contract of genai_metrics: one row per data
// point of a GenAI client or server metric (gen_ai.client.*, gen_ai.server.*),
// as it reached the exporter. The exporter encodes exactly these columns, in
// this order.
var GenAIMetricColumns = []ColumnDef{
	{Name: "timestamp", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "start_timestamp", Type: "DateTime64(9)", Codec: "CODEC(Delta, ZSTD(1))"},
	{Name: "metric_name", Type: "LowCardinality(String)"},
	// histogram, exponential_histogram (stored with explicit bounds), sum, gauge.
	{Name: "metric_type", Type: "LowCardinality(String)"},
	{Name: "unit", Type: "LowCardinality(String)"},
	// delta or cumulative as received; empty for gauges. Only delta rows add up.
	{Name: "temporality", Type: "LowCardinality(String)"},
	{Name: "monotonic", Type: "Bool"},
	{Name: "service_name", Type: "LowCardinality(String)"},
	{Name: "service_version", Type: "LowCardinality(String)"},
	{Name: "environment", Type: "LowCardinality(String)"},
	{Name: "workload", Type: "LowCardinality(String)"},
	{Name: "tenant_id", Type: "LowCardinality(String)"},
	{Name: "provider", Type: "LowCardinality(String)"},
	{Name: "request_model", Type: "LowCardinality(String)"},
	{Name: "response_model", Type: "LowCardinality(String)"},
	{Name: "operation", Type: "LowCardinality(String)"},
	{Name: "error_type", Type: "LowCardinality(String)"},
	{Name: "token_type", Type: "LowCardinality(String)"},
	{Name: "server_address", Type: "LowCardinality(String)"},
	{Name: "scope_name", Type: "LowCardinality(String)"},
	{Name: "scope_version", Type: "LowCardinality(String)"},
	// Histograms: measurements in the point. Sums and gauges: 0.
	{Name: "count", Type: "UInt64", Codec: "CODEC(T64, ZSTD(1))"},
	// Histograms: sum of the measurements; sums and gauges: the value. NULL
	// when the point has none or it was unusable (NaN, infinite, negative).
	{Name: "sum", Type: "Nullable(Float64)"},
	{Name: "min", Type: "Nullable(Float64)"},
	{Name: "max", Type: "Nullable(Float64)"},
	{Name: "bucket_bounds", Type: "Array(Float64)", Codec: "CODEC(ZSTD(1))"},
	{Name: "bucket_counts", Type: "Array(UInt64)", Codec: "CODEC(ZSTD(1))"},
	{Name: "attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	{Name: "resource_attributes", Type: "Map(LowCardinality(String), String)", Codec: "CODEC(ZSTD(1))"},
	insertTokenColumn,
}

var genaiMetricsTable = Table{
	Name: "genai_metrics", Columns: GenAIMetricColumns, Engine: "MergeTree",
	Indexes: []string{insertTokenIndex},
	// Like genai_spans: monthly partitions, tenant and workload first.
	PartitionBy: "toYYYYMM(timestamp)",
	OrderBy:     "(tenant_id, workload, metric_name, timestamp)",
	TTLOn:       "toDateTime(timestamp)", ShardBy: "cityHash64(tenant_id, workload)", Dedup: true,
}
