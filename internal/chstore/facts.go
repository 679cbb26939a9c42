package chstore

// FactsDaily caches the maturity scoring's day facts: for a measure that
// must read raw spans or events (trace-level and event-joined measures), the
// numbers its per-day query gave for one whole past day and workload. A
// scoring run computes each past day once and reads it back afterwards, so
// scoring a month costs the days it has not seen plus the window's edges.
//
// stamp identifies the data the facts were computed from (the day's row
// counts of the tables the measures read): a late span or event changes it
// and the day is computed again. version is a hash of the measure's per-day
// SQL: a changed rubric never reads another definition's facts. A day on
// which no workload had facts is recorded with workload ” so it is not
// recomputed. Rows are replaced by the latest computed_at; readers use FINAL.
const FactsDaily = "maturity_facts_daily"

var factsDailyTable = Table{
	Name: FactsDaily, Engine: "ReplacingMergeTree(computed_at)",
	Columns: []ColumnDef{
		{Name: "measure", Type: "LowCardinality(String)"},
		{Name: "version", Type: "String"},
		{Name: "day", Type: "Date"},
		{Name: "workload", Type: "String"},
		{Name: "facts", Type: "Map(LowCardinality(String), Float64)"},
		{Name: "stamp", Type: "UInt64"},
		{Name: "computed_at", Type: "DateTime64(3)"},
	},
	PartitionBy: "toYYYYMM(day)",
	OrderBy:     "(measure, version, day, workload)",
	TTLOn:       "toDateTime(day)",
	// Every version of a row on one shard, so FINAL sees them together.
	ShardBy: "cityHash64(measure, day)",
}

func factsDailyDDL(o SchemaOptions) []string { return tableDDL(o, factsDailyTable) }
