// Package metadata holds the component's identity, in the shape mdatagen
// generates (mdatagen v0.161.0 cannot be built from the module proxy here).
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("clickhouse_http")

const (
	ScopeName          = "github.com/otelcol-aiops/otelcol-aiops/extension/chhttp"
	ExtensionStability = component.StabilityLevelDevelopment
)
