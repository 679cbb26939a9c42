package maturity

import "time"

// ReportSchema names the JSON report's schema; it changes only when a field
// changes meaning or is removed (see README.md).
const ReportSchema = "otelcol-aiops/maturity-report/v1"

// Signal statuses.
const (
	StatusMet         = "met"
	StatusUnmet       = "unmet"
	StatusNA          = "n/a"
	StatusDeclared    = "declared"
	StatusNotDeclared = "not_declared"
	// StatusNotMeasurable: not met, and an instrumentation gap hides the
	// evidence; it never counts as met.
	StatusNotMeasurable = "not_measurable"
)

// Report is one scoring run over every workload in the window.
type Report struct {
	Schema         string           `json:"schema"`
	RunID          string           `json:"run_id"`
	GeneratedAt    time.Time        `json:"generated_at"`
	Database       string           `json:"database"`
	Window         Window           `json:"window"`
	WorkloadFilter []string         `json:"workload_filter"`
	RubricVersion  string           `json:"rubric_version"`
	DurationMs     float64          `json:"duration_ms"`
	PreviousRunAt  *time.Time       `json:"previous_run_at"`
	Frameworks     []FrameworkInfo  `json:"frameworks"`
	Workloads      []WorkloadReport `json:"workloads"`
	Inventory      Inventory        `json:"inventory"`
	// Truncated is set when values from telemetry were cut to keep the
	// report bounded (see MaxValueBytes).
	Truncated *Truncation `json:"truncated,omitempty"`
}

// Truncation counts what was cut. Clients choose every workload, model,
// tool, agent and data source name, and each is repeated across the
// report: without a bound one long name makes every format huge.
type Truncation struct {
	// Values longer than MaxValueBytes, shortened to it.
	Values int `json:"values"`
	// Lists longer than MaxListItems (MaxInventoryItems for the
	// inventory's totals), shortened to it.
	Lists             int `json:"lists"`
	MaxValueBytes     int `json:"max_value_bytes"`
	MaxListItems      int `json:"max_list_items"`
	MaxInventoryItems int `json:"max_inventory_items"`
}

// Window is the scored time range, [from, to).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// FrameworkInfo describes a framework's levels.
type FrameworkInfo struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Unit    string   `json:"unit"`
	Source  string   `json:"source,omitempty"`
	Levels  []Level  `json:"levels"`
	Domains []string `json:"domains,omitempty"`
}

// WorkloadReport is one workload's scores in every framework.
type WorkloadReport struct {
	Workload   string `json:"workload"`
	Registered bool   `json:"registered"`
	Owner      string `json:"owner,omitempty"`
	// CostUSD and ModelCalls are the workload's spend and model calls in
	// the window, each call counted once.
	CostUSD    float64 `json:"cost_usd"`
	ModelCalls uint64  `json:"model_calls"`
	// Spend holds the workload's spend against its provider invoice and its
	// unsampled metrics; nil when neither is there to compare.
	Spend  *Spend           `json:"spend"`
	Scores []FrameworkScore `json:"scores"`
}

// Spend is a workload's spend from the three sources (see
// internal/reconcile): what the provider invoiced to the accounts mapped
// to it, what its spans were priced, and, when its metrics show the traces
// are sampled, the spans' cost scaled to the metrics.
type Spend struct {
	InvoicedUSD float64 `json:"invoiced_usd"`
	SpanCostUSD float64 `json:"span_cost_usd"`
	// EstimatedCostUSD is the full cost; Estimated says it was scaled up
	// from sampled spans rather than priced call by call.
	EstimatedCostUSD float64 `json:"estimated_cost_usd"`
	Estimated        bool    `json:"estimated"`
	// SpanShareOfMetrics is the share of the metrics' tokens the spans
	// saw (the sampling rate); InvoiceCoverage the share of the invoiced
	// spend telemetry saw. Nil without metrics or invoice.
	SpanShareOfMetrics *float64 `json:"span_share_of_metrics"`
	InvoiceCoverage    *float64 `json:"invoice_coverage"`
}

// Score returns the workload's score in a framework, or nil.
func (w *WorkloadReport) Score(framework string) *FrameworkScore {
	for i := range w.Scores {
		if w.Scores[i].Framework == framework {
			return &w.Scores[i]
		}
	}
	return nil
}

// FrameworkScore is the stage reached in one framework and why.
type FrameworkScore struct {
	Framework string `json:"framework"`
	Stage     int    `json:"stage"`
	StageName string `json:"stage_name"`
	// PossibleStage is the stage reached if every not-measurable signal
	// were met: what closing the instrumentation gaps could show. It
	// equals Stage when no gap holds the workload back.
	PossibleStage     int            `json:"possible_stage"`
	PossibleStageName string         `json:"possible_stage_name"`
	Gaps              []GapResult    `json:"gaps"`
	Signals           []SignalResult `json:"signals"`
	Next              *NextStage     `json:"next"`
	Domains           []DomainLevel  `json:"domains,omitempty"`
	Previous          *PreviousScore `json:"previous"`
	Regressions       []Regression   `json:"regressions"`
	// Trend is the stage over the last recorded runs, oldest first, ending
	// with this run.
	Trend []TrendPoint `json:"trend"`
}

// TrendPoint is one run's stage and how many signals it met.
type TrendPoint struct {
	RunAt   time.Time `json:"run_at"`
	RunID   string    `json:"run_id"`
	Stage   int       `json:"stage"`
	Met     int       `json:"met"`
	Signals int       `json:"signals"`
}

// Signal returns the result of a signal, or nil.
func (s *FrameworkScore) Signal(id string) *SignalResult {
	for i := range s.Signals {
		if s.Signals[i].ID == id {
			return &s.Signals[i]
		}
	}
	return nil
}

// SignalResult is one signal's value against its threshold.
type SignalResult struct {
	ID     string `json:"id"`
	Stage  int    `json:"stage"`
	Domain string `json:"domain"`
	Item   string `json:"item"`
	Title  string `json:"title"`
	// Kind is "measured" (from telemetry) or "declared" (from the registry).
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Met      bool   `json:"met"`
	Required bool   `json:"required"`
	// Value is null when there was nothing to measure.
	Value      *float64       `json:"value"`
	Display    string         `json:"display"`
	Threshold  float64        `json:"threshold"`
	Comparison string         `json:"comparison"`
	Target     string         `json:"target"`
	Unit       string         `json:"unit"`
	Evidence   string         `json:"evidence"`
	Impact     float64        `json:"impact"`
	Advice     string         `json:"advice,omitempty"`
	Measure    string         `json:"measure,omitempty"`
	Context    map[string]any `json:"context,omitempty"`
	// Gaps are the instrumentation gaps that make it not measurable.
	Gaps []string `json:"gaps,omitempty"`
	// MinEvidence is the least telemetry that shows the practice.
	MinEvidence string `json:"min_evidence,omitempty"`
}

// GapResult is an instrumentation gap present in the workload and the
// signals it keeps from being measured.
type GapResult struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Evidence string   `json:"evidence"`
	Fix      string   `json:"fix"`
	Signals  []string `json:"signals"`
}

// NextStage lists the unbuilt items of the stage after the one reached,
// ranked by impact: what to invest in next.
type NextStage struct {
	Stage int        `json:"stage"`
	Name  string     `json:"name"`
	Items []NextItem `json:"items"`
}

// NextItem is one unbuilt item.
type NextItem struct {
	Signal   string  `json:"signal"`
	Title    string  `json:"title"`
	Item     string  `json:"item"`
	Domain   string  `json:"domain"`
	Required bool    `json:"required"`
	Impact   float64 `json:"impact"`
	Status   string  `json:"status"`
	Gap      string  `json:"gap"`
	Evidence string  `json:"evidence"`
	Advice   string  `json:"advice,omitempty"`
}

// DomainLevel is the level reached within one domain (frameworks with domains).
type DomainLevel struct {
	Domain string `json:"domain"`
	Level  int    `json:"level"`
	Name   string `json:"name"`
	// Applicable is false when every signal of the domain was n/a (an app
	// without agents has no agent operations to assess).
	Applicable bool `json:"applicable"`
}

// PreviousScore is the workload's score in the previous recorded run.
type PreviousScore struct {
	RunAt time.Time `json:"run_at"`
	RunID string    `json:"run_id"`
	Stage int       `json:"stage"`
}

// Regression is a drop since the previous run: the stage, or a signal that
// was met and no longer is.
type Regression struct {
	Kind   string `json:"kind"` // "stage" or "signal"
	Signal string `json:"signal,omitempty"`
	Was    string `json:"was"`
	Now    string `json:"now"`
	Detail string `json:"detail"`
}

// Inventory is every AI system discovered from telemetry.
type Inventory struct {
	Workloads                  []InventoryWorkload `json:"workloads"`
	Unregistered               []string            `json:"unregistered"`
	RegisteredWithoutTelemetry []string            `json:"registered_without_telemetry"`
	Models                     []string            `json:"models"`
	Providers                  []string            `json:"providers"`
	DataSources                []string            `json:"data_sources"`
	Tools                      []string            `json:"tools"`
	Agents                     []string            `json:"agents"`
	Owners                     []string            `json:"owners"`
	// UninstrumentedSpend is spend the providers invoiced to projects,
	// workspaces or keys that no telemetry accounts for: the AI an
	// organization runs without knowing it.
	UninstrumentedSpend []UninstrumentedSpend `json:"uninstrumented_spend"`
}

// UninstrumentedSpend is one provider account's invoiced spend that no
// span or metric saw.
type UninstrumentedSpend struct {
	Provider string `json:"provider"`
	// Project is "provider:project-or-workspace" as the invoice names it.
	Project string `json:"project"`
	// Workload is the one the receiver's mapping names, "" when unmapped.
	Workload string   `json:"workload"`
	Models   []string `json:"models"`
	CostUSD  float64  `json:"cost_usd"`
	Tokens   uint64   `json:"tokens"`
}

// InventoryWorkload is what one workload's telemetry shows about it.
type InventoryWorkload struct {
	Workload     string    `json:"workload"`
	Registered   bool      `json:"registered"`
	Owner        string    `json:"owner,omitempty"`
	Teams        []string  `json:"teams"`
	Services     []string  `json:"services"`
	Environments []string  `json:"environments"`
	Providers    []string  `json:"providers"`
	Models       []string  `json:"models"`
	DataSources  []string  `json:"data_sources"`
	Tools        []string  `json:"tools"`
	Agents       []string  `json:"agents"`
	Spans        uint64    `json:"spans"`
	ModelCalls   uint64    `json:"model_calls"`
	Users        uint64    `json:"users"`
	Tenants      uint64    `json:"tenants"`
	CostUSD      float64   `json:"cost_usd"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
}

// Workload returns the named workload's report, or nil.
func (r *Report) Workload(name string) *WorkloadReport {
	for i := range r.Workloads {
		if r.Workloads[i].Workload == name {
			return &r.Workloads[i]
		}
	}
	return nil
}
