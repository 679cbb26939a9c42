package simulator

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

func TestReferenceAppsScoreAtTheirDesignedStage(t *testing.T) {
	apps := ReferenceApps()
	rep, _ := simulate(t, "reference", apps)
	for _, a := range apps {
		w := rep.Workload(a.Name)
		if w == nil {
			t.Fatalf("%s: not in the report", a.Name)
		}
		for _, fw := range []string{"llmops", "aiops"} {
			sc := w.Score(fw)
			if sc.Stage != a.Stage {
				t.Errorf("%s: %s stage %d, designed %d; %s", a.Name, fw, sc.Stage, a.Stage, unmetRequired(sc, a.Stage+1))
			}
			// What keeps it from the next stage is named, with evidence.
			if sc.Next == nil || len(sc.Next.Items) == 0 || sc.Next.Items[0].Evidence == "" {
				t.Errorf("%s: %s: no next-stage items", a.Name, fw)
			}
		}
	}
	inv := rep.Inventory
	if strings.Join(inv.Unregistered, ",") != "prototype-chatbot" {
		t.Errorf("unregistered = %v, want the prototype only", inv.Unregistered)
	}
	for _, want := range []string{"gpt-4o-mini", "claude-3-5-sonnet-20241022", "text-embedding-3-small"} {
		if !contains(inv.Models, want) {
			t.Errorf("inventory models %v lack %s", inv.Models, want)
		}
	}
	if !contains(inv.DataSources, "kb-support-docs") || !contains(inv.Tools, "refund_order") || !contains(inv.Providers, "anthropic") ||
		!contains(inv.Owners, "ai-platform@example.com") || !contains(inv.Agents, "support-agent") {
		t.Errorf("inventory: %+v", inv)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func unmetRequired(sc *maturity.FrameworkScore, upTo int) string {
	var out []string
	for _, s := range sc.Signals {
		if s.Required && !s.Met && s.Stage <= upTo {
			out = append(out, fmt.Sprintf("%s=%s (%s)", s.ID, s.Display, s.Evidence))
		}
	}
	return "unmet: " + strings.Join(out, "; ")
}

// TestRemovingOneBehaviourMovesTheStage takes a reference app, removes one
// behaviour, and checks the stage in both frameworks lands where the rubric
// says: the stage whose item that behaviour provides, minus one; or no change
// where the rubric treats the behaviour as not applicable.
func TestRemovingOneBehaviourMovesTheStage(t *testing.T) {
	cases := []struct {
		app, name     string
		change        func(*Behaviours)
		llmops, aiops int
		why           string
	}{
		// production-app (2) → 1: the operational basics.
		{"production-app", "no request logging", func(b *Behaviours) { b.EntrySpans, b.AuthRejections = false, false }, 1, 1,
			"llmops.s2.request_logging / aiops.l2.request_logging"},
		{"production-app", "no authentication", func(b *Behaviours) { b.AuthRejections = false }, 1, 1, "s2.authentication / l2.authenticated_entry"},
		{"production-app", "no tests before deployment", func(b *Behaviours) { b.StagingTests = false }, 1, 1, "s2.pre_deploy_tests"},
		{"production-app", "no release versions", func(b *Behaviours) { b.Releases = false }, 1, 1, "s2.releases_tracked"},
		{"production-app", "not in production", func(b *Behaviours) { b.Production = false }, 1, 1, "s2.production_traffic"},
		{"production-app", "no token usage", func(b *Behaviours) { b.Usage = false }, 1, 1, "s2.usage_coverage, s2.cost_monitoring"},
		// rag-app (3) → 2: the disciplines.
		{"rag-app", "no content capture", func(b *Behaviours) { b.Content = false }, 2, 2, "s3.detailed_traces"},
		{"rag-app", "no retrieval documents", func(b *Behaviours) { b.RetrievalDocs = false }, 2, 2, "s3.retrieval_traced"},
		{"rag-app", "no prompt versions", func(b *Behaviours) { b.PromptVersions = false }, 2, 2, "s3.prompt_library, s3.eval_on_prompt_change"},
		{"rag-app", "evaluation of the first prompt version only", func(b *Behaviours) { b.OfflineEval = "first_release" }, 2, 2, "s3.eval_on_prompt_change"},
		{"rag-app", "no evaluations", func(b *Behaviours) { b.OfflineEval = "" }, 2, 2, "s3.automated_evaluation"},
		{"rag-app", "no users", func(b *Behaviours) { b.Users = false }, 2, 2, "s3.user_cost_attribution"},
		{"rag-app", "model aliases", func(b *Behaviours) { b.PinnedModels = false }, 2, 2, "s3.model_pinning"},
		{"rag-app", "no budgets", func(b *Behaviours) { b.Budgets = false }, 2, 2, "s3.budgets"},
		{"rag-app", "no filters", func(b *Behaviours) { b.Filters = false }, 2, 2, "s3.io_filtering"},
		{"rag-app", "no red teaming", func(b *Behaviours) { b.RedTeam = "" }, 2, 2, "s3.red_teaming"},
		// agent-platform (4) → 3: breadth and rigour.
		{"agent-platform", "no online evaluation", func(b *Behaviours) { b.OnlineEval = false }, 3, 3, "s4.online_evaluation"},
		{"agent-platform", "no routing", func(b *Behaviours) { b.Routing = false }, 3, 3, "s4.model_routing"},
		{"agent-platform", "no fallback", func(b *Behaviours) { b.Fallback = false }, 3, 3, "s4.provider_outage_recovery"},
		{"agent-platform", "no caching", func(b *Behaviours) { b.Caching = false }, 3, 3, "s4.caching"},
		{"agent-platform", "no SLO declared", func(b *Behaviours) { b.SLO = "" }, 3, 3, "s4.slo"},
		{"agent-platform", "SLO breached", func(b *Behaviours) { b.SLO = "breached" }, 3, 3, "s4.slo"},
		{"agent-platform", "red teaming once", func(b *Behaviours) { b.RedTeam = "once" }, 3, 3, "s4.red_team_cadence"},
		{"agent-platform", "tenant on half the calls", func(b *Behaviours) { b.Tenants = "partial" }, 3, 3, "s4.multi_tenant"},
		{"agent-platform", "single tenant", func(b *Behaviours) { b.Tenants = "" }, 4, 4, "multi-tenant isolation only where the architecture requires it: n/a"},
		{"agent-platform", "no user feedback", func(b *Behaviours) { b.Feedback = false }, 4, 3, "aiops.l4.feedback_loop (an AI-operations item only)"},
		{"agent-platform", "tool calls not traced", func(b *Behaviours) { b.ToolSpans = false }, 2, 2, "s3.tool_calls_traced: detailed traces lack function calls"},
	}
	for i, c := range cases {
		t.Run(c.app+"/"+strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			app, _ := Reference(c.app)
			c.change(&app.Behaviours)
			rep, _ := simulate(t, fmt.Sprintf("removal_%02d", i), []App{app})
			w := rep.Workload(app.Name)
			if w == nil {
				t.Fatal("not in the report")
			}
			for fw, want := range map[string]int{"llmops": c.llmops, "aiops": c.aiops} {
				sc := w.Score(fw)
				if sc.Stage != want {
					t.Errorf("%s: stage %d, want %d (%s); %s", fw, sc.Stage, want, c.why, unmetRequired(sc, want+1))
				}
			}
		})
	}
}

// TestReferenceReportRenders renders the reference report in every format;
// with AIOPS_MATURITY_DUMP=dir set it also writes them there to look at.
func TestReferenceReportRenders(t *testing.T) {
	rep, _ := simulate(t, "reference_render", ReferenceApps())
	dir := os.Getenv("AIOPS_MATURITY_DUMP")
	for _, f := range maturity.Formats {
		var b bytes.Buffer
		if err := maturity.Render(&b, rep, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, want := range []string{"agent-platform", "Operational excellence", "Optimized", "prototype-chatbot"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s output lacks %q", f, want)
			}
		}
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "report."+f), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The adversarial workloads score at the stage an auditor reading the
// articles gives them, in both frameworks: never above it.
func TestAdversarialAppsScoreAtTheirAuditorStage(t *testing.T) {
	advs := AdversarialApps()
	apps := make([]App, len(advs))
	for i, a := range advs {
		apps[i] = a.App
	}
	rep, _ := simulate(t, "adversarial", apps)
	for _, a := range advs {
		w := rep.Workload(a.Name)
		if w == nil {
			t.Fatalf("%s: not in the report", a.Name)
		}
		possible := a.Possible
		if possible == 0 {
			possible = a.Stage
		}
		for _, fw := range []string{"llmops", "aiops"} {
			sc := w.Score(fw)
			if sc.Stage != a.Stage {
				t.Errorf("%s: %s stage %d, auditor %d (%s); %s", a.Name, fw, sc.Stage, a.Stage, a.Why, unmetRequired(sc, a.Stage+1))
			}
			if sc.PossibleStage != possible {
				t.Errorf("%s: %s possible stage %d, want %d; gaps %+v", a.Name, fw, sc.PossibleStage, possible, sc.Gaps)
			}
		}
	}
}

// A workload whose streamed calls carry no usage is reported "not
// measurable" on the signals that need usage, with the gap and its fix
// named; never met.
func TestInstrumentationGapIsNotMeasurableNeverMet(t *testing.T) {
	var app App
	for _, a := range AdversarialApps() {
		if a.Name == "streaming-app-no-usage" {
			app = a.App
		}
	}
	rep, _ := simulate(t, "gap", []App{app})
	sc := rep.Workload(app.Name).Score("llmops")
	for _, id := range []string{"llmops.s2.usage_coverage", "llmops.s2.cost_monitoring"} {
		s := sc.Signal(id)
		if s.Status != maturity.StatusNotMeasurable || s.Met || len(s.Gaps) != 1 || s.Gaps[0] != "usage_not_reported" {
			t.Errorf("%s: status %s met %v gaps %v; want not_measurable by usage_not_reported", id, s.Status, s.Met, s.Gaps)
		}
		if !strings.Contains(s.Evidence, "not measurable") {
			t.Errorf("%s: evidence %q does not say it is not measurable", id, s.Evidence)
		}
	}
	// The app sends no provider reports either (invoice_not_reported);
	// usage_not_reported is the gap this test is about.
	var usage *maturity.GapResult
	for i := range sc.Gaps {
		if sc.Gaps[i].ID == "usage_not_reported" {
			usage = &sc.Gaps[i]
		}
	}
	if usage == nil || !strings.Contains(usage.Fix, "include_usage") || len(usage.Signals) < 2 {
		t.Errorf("gaps %+v: want usage_not_reported with its fix and signals", sc.Gaps)
	}
	if sc.Stage != 1 || sc.PossibleStage != 2 {
		t.Errorf("stage %d possibly %d, want 1 possibly 2", sc.Stage, sc.PossibleStage)
	}
}
