package maturity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// Registry is the optional workload registry: what telemetry cannot show
// (owner, on-call, risk tier, last review, SLO targets) and the approved model
// catalogue. Its items are reported as "declared", never as "measured".
type Registry struct {
	Workloads []RegisteredWorkload `yaml:"workloads" json:"workloads"`
	// ApprovedModels is the model catalogue: request or response model ids.
	ApprovedModels []string `yaml:"approved_models,omitempty" json:"approved_models,omitempty"`
}

// RegisteredWorkload is one workload's declarations.
type RegisteredWorkload struct {
	Name               string `yaml:"name" json:"name"`
	Description        string `yaml:"description,omitempty" json:"description,omitempty"`
	Owner              string `yaml:"owner,omitempty" json:"owner,omitempty"`
	Team               string `yaml:"team,omitempty" json:"team,omitempty"`
	OnCall             string `yaml:"on_call,omitempty" json:"on_call,omitempty"`
	RiskTier           string `yaml:"risk_tier,omitempty" json:"risk_tier,omitempty"`
	DataClassification string `yaml:"data_classification,omitempty" json:"data_classification,omitempty"`
	// LastReview is the date (YYYY-MM-DD) of the last production-readiness
	// or governance review.
	LastReview string `yaml:"last_review,omitempty" json:"last_review,omitempty"`
	Runbook    string `yaml:"runbook,omitempty" json:"runbook,omitempty"`
	SLO        *SLO   `yaml:"slo,omitempty" json:"slo,omitempty"`
}

// SLO targets for a workload's model calls, checked per day.
type SLO struct {
	// LatencyP95Ms is the daily p95 of model-call duration, in milliseconds.
	LatencyP95Ms float64 `yaml:"latency_p95_ms" json:"latency_p95_ms"`
	// ErrorRate is the highest daily share of failed model calls.
	ErrorRate float64 `yaml:"error_rate" json:"error_rate"`
}

// LoadRegistry reads a registry file; an empty path is an empty registry.
func LoadRegistry(path string) (*Registry, error) {
	if path == "" {
		return &Registry{}, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r, err := ParseRegistry(raw)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	return r, nil
}

// ParseRegistry parses and validates registry YAML.
func ParseRegistry(raw []byte) (*Registry, error) {
	var r Registry
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	// An empty document is an empty registry.
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &r, r.Validate()
}

// Validate checks names, dates and SLO targets.
func (r *Registry) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range r.Workloads {
		if w.Name == "" {
			errs = append(errs, fmt.Errorf("workloads[%d]: name is required", i))
			continue
		}
		if seen[w.Name] {
			errs = append(errs, fmt.Errorf("workloads[%d]: %q is listed twice", i, w.Name))
		}
		seen[w.Name] = true
		if w.LastReview != "" {
			if _, err := time.Parse("2006-01-02", w.LastReview); err != nil {
				errs = append(errs, fmt.Errorf("workloads[%d] (%s): last_review %q is not a YYYY-MM-DD date", i, w.Name, w.LastReview))
			}
		}
		if s := w.SLO; s != nil {
			if s.LatencyP95Ms <= 0 || s.ErrorRate < 0 || s.ErrorRate > 1 {
				errs = append(errs, fmt.Errorf("workloads[%d] (%s): slo needs latency_p95_ms > 0 and error_rate in [0, 1]", i, w.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// Lookup returns the workload's registration, or nil.
func (r *Registry) Lookup(name string) *RegisteredWorkload {
	if r == nil {
		return nil
	}
	for i := range r.Workloads {
		if r.Workloads[i].Name == name {
			return &r.Workloads[i]
		}
	}
	return nil
}

// declared returns a registry field's value for a declared signal: the text
// shown, and a number to compare (days since, for dates; 1 when present).
func (w *RegisteredWorkload) declared(field string, now time.Time) (text string, value *float64) {
	if w == nil {
		return "", nil
	}
	one := 1.0
	var s string
	switch field {
	case "owner":
		s = w.Owner
	case "team":
		s = w.Team
	case "on_call":
		s = w.OnCall
	case "risk_tier":
		s = w.RiskTier
	case "runbook":
		s = w.Runbook
	case "description":
		s = w.Description
	case "data_classification":
		s = w.DataClassification
	case "slo":
		if w.SLO != nil {
			return fmt.Sprintf("p95 ≤ %g ms, error rate ≤ %g%%", w.SLO.LatencyP95Ms, w.SLO.ErrorRate*100), &one
		}
	case "last_review":
		if t, err := time.Parse("2006-01-02", w.LastReview); err == nil {
			days := now.Sub(t).Hours() / 24
			return w.LastReview, &days
		}
	}
	if s == "" {
		return "", nil
	}
	return s, &one
}

// sloParams are the registry's SLO targets as bound array parameters.
func (r *Registry) sloParams() (names []string, p95 []float64, errRate []float64) {
	if r == nil {
		return nil, nil, nil
	}
	ws := append([]RegisteredWorkload(nil), r.Workloads...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Name < ws[j].Name })
	for _, w := range ws {
		if w.SLO != nil {
			names = append(names, w.Name)
			p95 = append(p95, w.SLO.LatencyP95Ms)
			errRate = append(errRate, w.SLO.ErrorRate)
		}
	}
	return names, p95, errRate
}
