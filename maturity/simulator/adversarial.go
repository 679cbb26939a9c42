package simulator

// Adversarial is a workload built to test the scoring the way an auditor
// would: it games a signal, reports through degraded or non-official
// telemetry, or does real work sparsely. Stage is what an auditor reading
// the two articles gives it, in both frameworks, and Why says so.
type Adversarial struct {
	App
	// Possible is the stage once its instrumentation gaps are closed (the
	// report's possible stage); 0 means the same as Stage.
	Possible int
	Why      string
}

// AdversarialApps are the workloads of the auditor tests.
func AdversarialApps() []Adversarial {
	ref := map[string]Behaviours{}
	for _, a := range ReferenceApps() {
		ref[a.Name] = a.Behaviours
	}
	faq := ref["production-app"]
	faq.AuthRejections, faq.AdminRejections = false, true

	probe := ref["rag-app"]
	probe.RedTeam = "probe"

	spot := ref["rag-app"]
	spot.OfflineEval = "spot_check"

	backfill := ref["agent-platform"]
	backfill.OnlineEval, backfill.EvalBackfill = false, true

	random := ref["agent-platform"]
	random.Routing, random.RandomModels = false, 6

	streaming := ref["production-app"]
	streaming.StreamNoUsage = true

	oi := ref["rag-app"]
	oi.Dialect = "openinference"

	sparse := ref["rag-app"]

	return []Adversarial{
		{App: App{Name: "faq-bot-admin-401", Registered: true, Owner: "faq@example.com", Team: "support", RequestsPerDay: 30, Behaviours: faq, Stage: 1},
			Why: `Stage 2 "Authentication and authorisation": its only rejections are on /admin/reindex, a route with no model call behind it; the chat route is anonymous.`},
		{App: App{Name: "rag-red-team-probe", Registered: true, Owner: "kb@example.com", Team: "knowledge", RequestsPerDay: 30, Behaviours: probe, Stage: 2},
			Why: `Stage 3 "Basic red teaming, even if informal": one prompt-injection probe on one day is a probe, not red teaming.`},
		{App: App{Name: "rag-human-spot-check", Registered: true, Owner: "kb@example.com", Team: "knowledge", RequestsPerDay: 30, Behaviours: spot, Stage: 2},
			Why: `Stage 3 "A curated evaluation set with automated scoring" and "Evaluation runs on every prompt change": one check by a person of one release is neither a set, nor automated, nor every change.`},
		{App: App{Name: "agent-backfilled-evals", Registered: true, Owner: "ai@example.com", Team: "ai-platform", RequestsPerDay: 40, Behaviours: backfill, Stage: 3},
			Why: `Stage 4 "Continuous evaluation in production with anomaly detection": three weeks of calls judged by one batch on the last day is not continuous.`},
		{App: App{Name: "agent-random-models", Registered: true, Owner: "ai@example.com", Team: "ai-platform", RequestsPerDay: 40, Behaviours: random, Stage: 3},
			Why: `Stage 4 "Model routing across multiple models based on workload": six models drawn at random serve the calls; nothing in the request decides which.`},
		{App: App{Name: "streaming-app-no-usage", Registered: true, Owner: "support-eng@example.com", Team: "support", RequestsPerDay: 30, Behaviours: streaming, Stage: 1}, Possible: 2,
			Why: `Stage 2 "Cost monitoring at the provider account level" cannot be seen: its streamed calls carry no usage. What cannot be seen is not met, so stage 1, possibly 2 once streaming usage is reported.`},
		{App: App{Name: "rag-openinference", Registered: true, Owner: "kb@example.com", Team: "knowledge", RequestsPerDay: 30, Behaviours: oi, Stage: 3},
			Why: `The stage-3 practices of the RAG reference app, seen only through OpenInference keys and GUARDRAIL spans: the dialect changes nothing an auditor would credit.`},
		{App: App{Name: "rag-sparse", Registered: true, Owner: "kb@example.com", Team: "knowledge", RequestsPerDay: 4, Behaviours: sparse, Stage: 3},
			Why: `The stage-3 practices of the RAG reference app at four requests a day: real practices do not need volume to count.`},
	}
}
