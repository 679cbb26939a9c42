package simulator

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// Registry declares the registered apps: owner, team, on-call, risk tier,
// last review (30 days before end), runbook and, for apps with an SLO, the
// SLO targets; and the approved model catalogue (the pinned snapshots).
func Registry(apps []App, end time.Time) *maturity.Registry {
	reg := &maturity.Registry{ApprovedModels: []string{"gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022", "text-embedding-3-small"}}
	for _, a := range apps {
		if !a.Registered {
			continue
		}
		w := maturity.RegisteredWorkload{
			Name: a.Name, Owner: a.Owner, Team: a.Team, OnCall: "pagerduty:" + a.Team,
			RiskTier: "medium", LastReview: end.AddDate(0, 0, -30).Format("2006-01-02"),
			Description: "reference application designed for maturity stage " + string(rune('0'+a.Stage)),
		}
		if a.Behaviours.Tools {
			w.RiskTier, w.Runbook = "high", "https://runbooks.example.com/"+a.Name
		}
		if a.Behaviours.SLO != "" {
			w.SLO = &maturity.SLO{LatencyP95Ms: 4000, ErrorRate: 0.1}
		}
		reg.Workloads = append(reg.Workloads, w)
	}
	return reg
}

// RegistryYAML is Registry as a registry file.
func RegistryYAML(apps []App, end time.Time) ([]byte, error) {
	return yaml.Marshal(Registry(apps, end))
}
