// Package metadata holds the component's identity, in the shape mdatagen
// generates (mdatagen v0.161.0 cannot be built from the module proxy here).
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("aiops_clickhouse")

const (
	ScopeName       = "github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse"
	TracesStability = component.StabilityLevelDevelopment
	LogsStability   = component.StabilityLevelDevelopment
	// Metrics: GenAI client and server metrics only (genai_metrics).
	MetricsStability = component.StabilityLevelDevelopment
)
