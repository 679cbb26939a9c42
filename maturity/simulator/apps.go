// Package simulator emits the GenAI telemetry of reference applications over
// simulated days, through the OpenTelemetry Go SDK, so that the maturity
// scoring can be checked against applications built to sit at a known stage.
//
// Each application is a set of behaviours (request logging, prompt versions,
// online evaluation, ...). The four reference applications switch them on
// stage by stage; tests switch one off at a time and check that the stage
// moves the way the rubric says.
//
// The simulator emits raw GenAI semantic-convention keys and lets the
// pipeline (aitrace, costattr, aiops_clickhouse) derive columns. Signals the
// pipeline does not derive from an application's spans are emitted the way
// an application or its tooling would:
//   - input/output filters: span events named guardrail.input /
//     guardrail.output (the application's own guardrail), which aitrace
//     raises as aiops.policy events with source application;
//   - budgets: budget.check span events from the application's budget gate,
//     raised as aiops.budget events (costattr emits the same events when
//     its budgets are configured);
//   - evaluations, red-team results and user feedback: OTLP log records
//     gen_ai.evaluation.result (red-team ones named red_team.*) and
//     aiops.feedback, linked to the spans they judge.
package simulator

// Behaviours are what an application's operation does. Each maps to one or
// more rubric signals.
type Behaviours struct {
	// Usage records token usage on model calls.
	Usage bool
	// EntrySpans traces each request's HTTP server span (status, latency).
	EntrySpans bool
	// AuthRejections rejects a few unauthenticated requests with 401.
	AuthRejections bool
	// Production runs in deployment.environment.name=production.
	Production bool
	// Releases sets service.version; a second release ships mid-window.
	Releases bool
	// StagingTests runs each release in staging before production.
	StagingTests bool
	// ErrorTypes sets error.type on failed model calls.
	ErrorTypes bool
	// PinnedModels requests dated model snapshots instead of aliases.
	PinnedModels bool
	// Users records user.id on model calls.
	Users bool
	// Content captures prompts and outputs.
	Content bool
	// PromptVersions records gen_ai.prompt.name/version (one per release).
	PromptVersions bool
	// OfflineEval evaluates staging runs: "every_release", "first_release",
	// "spot_check" (one check by a person) or "".
	OfflineEval string
	// Retrieval adds embeddings and retrieval spans.
	Retrieval bool
	// RetrievalDocs records the retrieved documents and scores.
	RetrievalDocs bool
	// Budgets emits budget.check events from a per-user budget gate.
	Budgets bool
	// Filters runs input and output guardrails (guardrail.* events).
	Filters bool
	// RedTeam is "" (none), "once" (four attacks of two kinds on one day),
	// "probe" (one attack) or "regular" (every three days).
	RedTeam string
	// OnlineEval evaluates a quarter of production calls every day.
	OnlineEval bool
	// Routing splits generation calls across two models and providers.
	Routing bool
	// Fallback retries a failed call on the other provider.
	Fallback bool
	// Caching reads part of the prompt from the provider cache.
	Caching bool
	// Tenants is "" (single tenant), "all" or "partial".
	Tenants string
	// Tools runs an agent that calls tools.
	Tools bool
	// ToolSpans traces the tool executions (when Tools).
	ToolSpans bool
	// Feedback sends user feedback events.
	Feedback bool
	// SLO is "" (none declared), "met" or "breached" (declared, too slow).
	SLO string

	// Behaviours of the adversarial workloads (adversarial.go).

	// AdminRejections answers 401 on an admin route that leads to no model
	// call, instead of on the chat route.
	AdminRejections bool
	// EvalBackfill writes the online evaluations of every production day on
	// the window's last day.
	EvalBackfill bool
	// RandomModels picks each call's model at random among this many.
	RandomModels int
	// StreamNoUsage streams the answers without asking for usage.
	StreamNoUsage bool
	// Dialect is "" (semconv) or "openinference": what the instrumentation
	// emits; guardrails then are GUARDRAIL spans around the call.
	Dialect string
}

// App is one simulated application.
type App struct {
	// Name is the service.name and so the workload.
	Name string
	// Stage is the stage it is designed to reach in both frameworks.
	Stage int
	// Registered lists the app in the workload registry.
	Registered     bool
	Owner          string
	Team           string
	RequestsPerDay int
	// Model is the primary model family (default gpt-4o).
	Model      string
	Behaviours Behaviours
}

// ReferenceApps are the four applications of the maturity acceptance test:
// each is designed to sit at its stage in both frameworks.
func ReferenceApps() []App {
	prototype := Behaviours{Usage: true}

	production := Behaviours{
		Usage: true, EntrySpans: true, AuthRejections: true, Production: true,
		Releases: true, StagingTests: true, ErrorTypes: true,
	}

	rag := production
	rag.PinnedModels, rag.Users, rag.Content = true, true, true
	rag.PromptVersions, rag.OfflineEval = true, "every_release"
	rag.Retrieval, rag.RetrievalDocs = true, true
	rag.Budgets, rag.Filters, rag.RedTeam = true, true, "once"

	agent := rag
	agent.OnlineEval, agent.Routing, agent.Fallback, agent.Caching = true, true, true, true
	agent.Tenants, agent.Tools, agent.ToolSpans = "all", true, true
	agent.Feedback, agent.SLO, agent.RedTeam = true, "met", "regular"

	return []App{
		{Name: "prototype-chatbot", Stage: 1, RequestsPerDay: 12, Model: "gpt-4o-mini", Behaviours: prototype},
		{Name: "production-app", Stage: 2, Registered: true, Owner: "support-eng@example.com", Team: "support", RequestsPerDay: 30, Behaviours: production},
		{Name: "rag-app", Stage: 3, Registered: true, Owner: "knowledge@example.com", Team: "knowledge", RequestsPerDay: 30, Behaviours: rag},
		{Name: "agent-platform", Stage: 4, Registered: true, Owner: "ai-platform@example.com", Team: "ai-platform", RequestsPerDay: 40, Behaviours: agent},
	}
}

// Reference returns the named reference app.
func Reference(name string) (App, bool) {
	for _, a := range ReferenceApps() {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}
