package maturity

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// fixture builds rows for the three tables the signals read, one workload
// per scenario, in one database, scored in one run.
type fixture struct {
	start                time.Time
	n                    int
	spans, events, entry []map[string]any
	invoices             []map[string]any // provider_usage rows
}

// invoice adds a provider's usage and cost report rows for workload w's
// account on day d.
func (f *fixture) invoice(w string, d int, tokensIn, tokensOut int, cost string) {
	day := f.start.Truncate(24 * time.Hour).Add(time.Duration(d) * 24 * time.Hour)
	base := func(kind string) map[string]any {
		return map[string]any{"bucket_start": day.Format("2006-01-02 15:04:05"), "bucket_end": day.Add(24 * time.Hour).Format("2006-01-02 15:04:05"),
			"provider": "openai", "kind": kind, "source": "completions", "project_id": "proj-" + w, "model": "gpt-4o-2024-08-06",
			"workload": w, "poll_time": f.at(d, 1000)}
	}
	u := base("usage")
	u["input_tokens"], u["output_tokens"], u["requests"] = tokensIn, tokensOut, 1
	c := base("cost")
	c["source"], c["cost_usd"] = "costs", cost
	f.invoices = append(f.invoices, u, c)
}

func (f *fixture) id(prefix string) string { f.n++; return fmt.Sprintf("%s%014x", prefix, f.n) }

func (f *fixture) at(day, minute int) string {
	return f.start.Add(time.Duration(day)*24*time.Hour + time.Duration(minute)*time.Minute).Format("2006-01-02 15:04:05.000000000")
}

// call adds a complete production chat call of workload w on day d: priced,
// pinned, with a user, content, prompt version and response id. Scenarios
// take away what they test.
func (f *fixture) call(w string, d int, set map[string]any) map[string]any {
	row := map[string]any{
		"timestamp": f.at(d, 10+f.n%600), "trace_id": f.id("t"), "span_id": f.id("s"), "workload": w, "service_name": w,
		"environment": "production", "service_version": "1.0.0", "team": "team-a", "operation": "chat", "provider": "openai",
		"request_model": "gpt-4o-2024-08-06", "response_model": "gpt-4o-2024-08-06", "model_pinned": true, "status_code": "Unset",
		"user_id": "u1", "response_id": f.id("r"), "input_tokens": 100, "output_tokens": 20, "cost_usd": "0.0005",
		"cost_source": "computed", "content_captured": "full", "input_messages": `[{"role":"user","parts":[]}]`,
		"prompt_name": "answer", "prompt_version": "v1", "duration_ns": 500_000_000,
	}
	for k, v := range set {
		if v == nil {
			delete(row, k)
		} else {
			row[k] = v
		}
	}
	f.spans = append(f.spans, row)
	return row
}

// calls adds one call per day on days [from, to).
func (f *fixture) calls(w string, from, to int, set map[string]any) {
	for d := from; d < to; d++ {
		f.call(w, d, set)
	}
}

func (f *fixture) event(w string, d int, set map[string]any) {
	row := map[string]any{"timestamp": f.at(d, 700+f.n%300), "workload": w, "event_name": "gen_ai.evaluation.result", "name": "relevance", "score_value": 0.9}
	f.n++
	for k, v := range set {
		row[k] = v
	}
	f.events = append(f.events, row)
}

func (f *fixture) server(w string, d int, set map[string]any) {
	row := map[string]any{"timestamp": f.at(d, 5+f.n%600), "trace_id": f.id("t"), "span_id": f.id("e"), "workload": w, "service_name": w,
		"span_name": "POST /chat", "span_kind": "Server", "status_code": "Unset", "http_status_code": 200, "http_route": "/chat"}
	for k, v := range set {
		row[k] = v
	}
	f.entry = append(f.entry, row)
}

// entered adds a call with its server span in the same trace.
func (f *fixture) entered(w string, d int, set map[string]any) {
	c := f.call(w, d, set)
	f.server(w, d, map[string]any{"trace_id": c["trace_id"]})
}

func (f *fixture) insert(t *testing.T, s chstore.Store, db string) {
	t.Helper()
	for table, rows := range map[string][]map[string]any{"genai_spans": f.spans, "genai_events": f.events, "spans": f.entry, "provider_usage": f.invoices} {
		if len(rows) == 0 {
			continue
		}
		var b strings.Builder
		for _, r := range rows {
			raw, _ := json.Marshal(r)
			b.Write(raw)
			b.WriteByte('\n')
		}
		if err := s.Exec(context.Background(), "INSERT INTO "+db+"."+table+" FORMAT JSONEachRow\n"+b.String()); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
}

// scenario pairs genuine evidence of a practice with what a workload gaming
// the signal produces: a single probe, a backfill, or evidence in an
// unrelated trace or workload. The genuine one meets the signals (so the
// test can fail), the gamed one must not.
type scenario struct {
	name    string
	signals []string
	kind    string // probe, backfill or unrelated
	genuine func(f *fixture, w string)
	gamed   func(f *fixture, w string)
}

const days = 20

func scenarios() []scenario {
	all := func(f *fixture, w string, set map[string]any) { f.calls(w, 0, days, set) }
	return []scenario{
		{name: "identified calls", kind: "unrelated", signals: []string{"llmops.s1.provider_integration", "aiops.l1.model_calls_visible"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"provider": "", "request_model": "", "response_model": ""})
				f.call(w+"-other", 0, nil) // another workload's identified call
			}},
		{name: "successful calls", kind: "probe", signals: []string{"llmops.s1.useful_output"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"status_code": "Error", "error_type": "server_error"})
				f.call(w, 1, nil)
			}},
		{name: "authentication at the model's entry", kind: "unrelated", signals: []string{"llmops.s2.authentication", "aiops.l2.authenticated_entry"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					f.entered(w, d, map[string]any{"user_id": ""})
				}
				f.server(w, 3, map[string]any{"http_status_code": 401})
			},
			gamed: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					f.entered(w, d, map[string]any{"user_id": ""})
				}
				f.server(w, 3, map[string]any{"http_status_code": 401, "http_route": "/admin/reindex", "span_name": "POST /admin/reindex"})
			}},
		{name: "request logging", kind: "unrelated", signals: []string{"llmops.s2.request_logging", "aiops.l2.request_logging"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					f.entered(w, d, nil)
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				for d := 0; d < days; d++ {
					f.server(w, d, nil) // requests traced, but not the ones that call the model
				}
			}},
		{name: "errors classified", kind: "probe", signals: []string{"llmops.s2.errors_classified", "aiops.l2.errors_classified"},
			genuine: func(f *fixture, w string) {
				all(f, w, map[string]any{"status_code": "Error", "error_type": "rate_limit"})
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"status_code": "Error"})
				f.call(w, 2, map[string]any{"status_code": "Error", "error_type": "rate_limit"})
			}},
		{name: "production traffic", kind: "probe", signals: []string{"llmops.s2.production_traffic", "aiops.l2.production_traffic"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"environment": "staging"})
				f.call(w, 5, nil) // one call in production
			}},
		{name: "usage and prices", kind: "probe", signals: []string{"llmops.s2.usage_coverage", "aiops.l2.telemetry_coverage", "llmops.s2.cost_monitoring", "aiops.l2.cost_visible"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"input_tokens": 0, "output_tokens": 0, "cost_usd": "0", "cost_source": "unpriced"})
				f.call(w, 4, nil)
			}},
		// Each call is 100 + 20 tokens for $0.0005: the genuine invoice is
		// what the spans saw; the gamed one is ten times that, spent on the
		// same account by code nobody instrumented.
		{name: "invoiced spend seen", kind: "unrelated", signals: []string{"llmops.s3.spend_reconciled"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					f.call(w, d, nil)
					f.invoice(w, d, 100, 20, "0.0005")
				}
			},
			gamed: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					f.call(w, d, nil)
					f.invoice(w, d, 1000, 200, "0.005")
				}
			}},
		{name: "tests before deployment", kind: "backfill", signals: []string{"llmops.s2.pre_deploy_tests", "aiops.l2.pre_deploy_tests"},
			genuine: func(f *fixture, w string) {
				f.call(w, 0, map[string]any{"environment": "staging"})
				f.calls(w, 1, days, nil)
			},
			gamed: func(f *fixture, w string) {
				f.calls(w, 0, days, nil)
				f.call(w, days-1, map[string]any{"environment": "staging"}) // the test ran after the release was live
			}},
		{name: "releases tagged", kind: "probe", signals: []string{"llmops.s2.releases_tracked", "aiops.l2.releases"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"service_version": ""})
				f.call(w, 1, nil)
			}},
		{name: "content captured", kind: "probe", signals: []string{"llmops.s3.detailed_traces", "aiops.l3.detailed_traces"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"content_captured": "none", "input_messages": ""})
				f.call(w, 3, nil)
			}},
		{name: "function calls traced", kind: "unrelated", signals: []string{"llmops.s3.tool_calls_traced", "aiops.l3.tool_calls_traced"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					c := f.call(w, d, map[string]any{"finish_reasons": []string{"tool_calls"}})
					f.call(w, d, map[string]any{"trace_id": c["trace_id"], "operation": "execute_tool", "tool_name": "search"})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"finish_reasons": []string{"tool_calls"}})
				all(f, w, map[string]any{"operation": "execute_tool", "tool_name": "search"}) // tool spans in other traces
			}},
		{name: "retrieval documents", kind: "probe", signals: []string{"llmops.s3.retrieval_traced", "aiops.l3.retrieval_traced"},
			genuine: func(f *fixture, w string) { all(f, w, map[string]any{"operation": "retrieval", "retrieval_docs": 3}) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"operation": "retrieval", "retrieval_docs": 0, "attributes": map[string]string{"aiops.retrieval.empty": "false"}})
				f.call(w, 2, map[string]any{"operation": "retrieval", "retrieval_docs": 3})
			}},
		{name: "automated evaluation", kind: "probe", signals: []string{"llmops.s3.automated_evaluation", "aiops.l3.automated_evaluation"},
			genuine: func(f *fixture, w string) {
				all(f, w, nil)
				for i := 0; i < 12; i++ {
					f.event(w, i%3, map[string]any{"attributes": map[string]string{"aiops.evaluator.type": "llm"}})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				f.event(w, 1, nil) // one automated check
				for i := 0; i < 12; i++ {
					f.event(w, 2, map[string]any{"attributes": map[string]string{"aiops.evaluator.type": "human"}})
				}
			}},
		{name: "every prompt version evaluated", kind: "unrelated", signals: []string{"llmops.s3.eval_on_prompt_change", "aiops.l3.eval_on_prompt_change"},
			genuine: func(f *fixture, w string) {
				for d, v := range map[int]string{1: "v1", 11: "v2"} {
					c := f.call(w, d, map[string]any{"prompt_version": v})
					f.event(w, d, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
				}
			},
			gamed: func(f *fixture, w string) {
				c := f.call(w, 1, map[string]any{"prompt_version": "v1"})
				f.call(w, 11, map[string]any{"prompt_version": "v2"})
				for i := 0; i < 3; i++ { // v1 evaluated again and again; v2 never
					f.event(w, 12+i, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
				}
			}},
		{name: "cost attribution", kind: "probe", signals: []string{"llmops.s3.user_cost_attribution", "aiops.l3.cost_per_user"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"user_id": ""})
				f.call(w, 1, map[string]any{"cost_usd": "0.0005"})
			}},
		{name: "budgets", kind: "unrelated", signals: []string{"llmops.s3.budgets", "aiops.l3.budgets"},
			genuine: func(f *fixture, w string) {
				all(f, w, nil)
				f.event(w, 3, map[string]any{"event_name": "aiops.budget", "name": "per-user"})
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				f.event(w+"-other", 3, map[string]any{"event_name": "aiops.budget", "name": "per-user"})
			}},
		{name: "pinned models", kind: "probe", signals: []string{"llmops.s3.model_pinning", "aiops.l3.model_versions"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"request_model": "gpt-4o", "model_pinned": false})
				f.call(w, 2, nil)
			}},
		{name: "prompt library", kind: "probe", signals: []string{"llmops.s3.prompt_library", "aiops.l3.prompt_versions"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"prompt_version": "", "prompt_name": ""})
				f.call(w, 2, nil)
			}},
		{name: "red teaming", kind: "probe", signals: []string{"llmops.s3.red_teaming", "aiops.l3.red_teaming"},
			genuine: func(f *fixture, w string) {
				all(f, w, nil)
				for i, a := range []string{"red_team.prompt_injection", "red_team.jailbreak", "red_team.prompt_injection", "red_team.pii_leak"} {
					f.event(w, 4, map[string]any{"name": a, "score_value": float64(i % 2)})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				for i := 0; i < 5; i++ { // one probe, repeated
					f.event(w, 4, map[string]any{"name": "red_team.prompt_injection"})
				}
			}},
		{name: "filters on the call", kind: "unrelated", signals: []string{"llmops.s3.io_filtering", "aiops.l3.policy_enforcement"},
			genuine: func(f *fixture, w string) {
				all(f, w, map[string]any{"policy_flags": []string{"provider.content_filter"}})
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				// Guardrail spans in traces of their own, crediting no call.
				all(f, w, map[string]any{"operation": "", "policy_flags": []string{"framework.guardrail"}})
			}},
		{name: "online evaluation", kind: "backfill", signals: []string{"llmops.s4.online_evaluation", "aiops.l4.online_evaluation"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					c := f.call(w, d, nil)
					f.event(w, d, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
				}
			},
			gamed: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					c := f.call(w, d, nil)
					f.event(w, days-1, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]}) // judged in one batch at the end
				}
			}},
		{name: "evaluation series", kind: "backfill", signals: []string{"llmops.s4.eval_anomaly_detection", "aiops.l4.quality_alerting"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					for i := 0; i < 5; i++ {
						c := f.call(w, d, nil)
						f.event(w, d, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
					}
				}
			},
			gamed: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					for i := 0; i < 5; i++ {
						c := f.call(w, d, nil)
						f.event(w, days-1, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
					}
				}
			}},
		{name: "model routing", kind: "probe", signals: []string{"llmops.s4.model_routing", "aiops.l4.model_routing"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					for i := 0; i < 5; i++ {
						f.call(w, d, map[string]any{"feature": "answer"})
					}
					f.call(w, d, map[string]any{"feature": "summarize", "request_model": "claude-3-5-sonnet-20241022", "provider": "anthropic"})
					f.call(w, d, map[string]any{"feature": "summarize", "request_model": "claude-3-5-sonnet-20241022", "provider": "anthropic"})
				}
			},
			gamed: func(f *fixture, w string) {
				models := []string{"gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "gpt-4o-mini-2024-07-18"}
				for d := 0; d < days; d++ {
					for i := 0; i < 6; i++ {
						f.call(w, d, map[string]any{"request_model": models[(d*7+i*5)%3]})
					}
				}
			}},
		{name: "prompt caching", kind: "probe", signals: []string{"llmops.s4.caching", "aiops.l4.caching"},
			genuine: func(f *fixture, w string) { all(f, w, map[string]any{"cache_read_tokens": 60}) },
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				f.call(w, 3, map[string]any{"cache_read_tokens": 90})
			}},
		{name: "cost history", kind: "probe", signals: []string{"llmops.s4.cost_forecasting", "aiops.l4.cost_forecast"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"cost_source": "unpriced", "cost_usd": "0"})
				f.call(w, 3, nil)
			}},
		{name: "audit trail", kind: "probe", signals: []string{"llmops.s4.audit_trail", "aiops.l4.audit_trail"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"response_id": ""})
				f.call(w, 3, nil)
			}},
		{name: "red-team cadence", kind: "backfill", signals: []string{"llmops.s4.red_team_cadence", "aiops.l4.red_team_cadence"},
			genuine: func(f *fixture, w string) {
				all(f, w, nil)
				for d := 2; d < days; d += 5 {
					f.event(w, d, map[string]any{"name": "red_team.jailbreak"})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				for i := 0; i < 10; i++ { // a month's attacks, all on one day
					f.event(w, 10, map[string]any{"name": []string{"red_team.jailbreak", "red_team.prompt_injection"}[i%2]})
				}
			}},
		{name: "tenant isolation", kind: "probe", signals: []string{"llmops.s4.multi_tenant", "aiops.l4.tenant_isolation"},
			genuine: func(f *fixture, w string) { all(f, w, map[string]any{"tenant_id": "acme"}) },
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				f.call(w, 3, map[string]any{"tenant_id": "acme"})
			}},
		{name: "fallback", kind: "probe", signals: []string{"llmops.s4.provider_outage_recovery", "aiops.l4.fallback"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < 5; d++ {
					c := f.call(w, d, map[string]any{"status_code": "Error"})
					f.call(w, d, map[string]any{"trace_id": c["trace_id"], "provider": "anthropic", "request_model": "claude-3-5-sonnet-20241022"})
				}
			},
			gamed: func(f *fixture, w string) {
				c := f.call(w, 0, map[string]any{"status_code": "Error"})
				f.call(w, 0, map[string]any{"trace_id": c["trace_id"], "provider": "anthropic", "request_model": "claude-3-5-sonnet-20241022"})
			}},
		{name: "A/B prompts", kind: "probe", signals: []string{"llmops.s5.ab_testing", "aiops.l5.experimentation"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < 5; d++ {
					f.call(w, d, map[string]any{"prompt_version": "a"})
					f.call(w, d, map[string]any{"prompt_version": "b"})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"prompt_version": "a"})
				f.call(w, 4, map[string]any{"prompt_version": "b"})
			}},
		{name: "fine-tuned models", kind: "unrelated", signals: []string{"llmops.s5.fine_tuning"},
			genuine: func(f *fixture, w string) { f.call(w, 2, map[string]any{"request_model": "ft:gpt-4o-mini:acme::abc"}) },
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				f.call(w+"-other", 2, map[string]any{"request_model": "ft:gpt-4o-mini:acme::abc"})
			}},
		{name: "cost per call falling", kind: "unrelated", signals: []string{"llmops.s5.cost_optimisation", "aiops.l5.cost_optimisation"},
			genuine: func(f *fixture, w string) {
				f.calls(w, 0, days/2, map[string]any{"cost_usd": "0.0010"})
				f.calls(w, days/2, days, map[string]any{"cost_usd": "0.0005"})
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"cost_usd": "0.0010"})
				f.calls(w+"-other", days/2, days, map[string]any{"cost_usd": "0.0001"})
			}},
		{name: "team ownership", kind: "probe", signals: []string{"llmops.s5.team_ownership"},
			genuine: func(f *fixture, w string) { all(f, w, nil) },
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"team": ""})
				f.call(w, 2, nil)
			}},
		{name: "tool actions named", kind: "probe", signals: []string{"aiops.l3.agent_actions_auditable"},
			genuine: func(f *fixture, w string) {
				all(f, w, map[string]any{"operation": "execute_tool", "tool_name": "search"})
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"operation": "execute_tool", "tool_name": ""})
				f.call(w, 2, map[string]any{"operation": "execute_tool", "tool_name": "search"})
			}},
		{name: "agent runs traced", kind: "unrelated", signals: []string{"aiops.l4.agent_runs_traced"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					a := f.call(w, d, map[string]any{"operation": "invoke_agent"})
					f.call(w, d, map[string]any{"trace_id": a["trace_id"], "parent_span_id": a["span_id"], "operation": "execute_tool", "tool_name": "search"})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"operation": "invoke_agent"})
				all(f, w, map[string]any{"operation": "execute_tool", "tool_name": "search"}) // outside any run
			}},
		{name: "feedback", kind: "unrelated", signals: []string{"aiops.l4.feedback_loop"},
			genuine: func(f *fixture, w string) {
				all(f, w, nil)
				for i := 0; i < 12; i++ {
					f.event(w, i, map[string]any{"event_name": "aiops.feedback", "name": "thumbs"})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, nil)
				for i := 0; i < 12; i++ {
					f.event(w+"-other", i, map[string]any{"event_name": "aiops.feedback", "name": "thumbs"})
				}
			}},
		{name: "retrieval scored", kind: "probe", signals: []string{"aiops.l4.retrieval_validation"},
			genuine: func(f *fixture, w string) {
				all(f, w, map[string]any{"operation": "retrieval", "retrieval_docs": 3, "retrieval_top_score": 0.9})
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"operation": "retrieval", "retrieval_docs": 3})
				f.call(w, 2, map[string]any{"operation": "retrieval", "retrieval_docs": 3, "retrieval_top_score": 0.9})
			}},
		{name: "providers in service", kind: "probe", signals: []string{"aiops.l5.multi_provider"},
			genuine: func(f *fixture, w string) {
				all(f, w, nil)
				all(f, w, map[string]any{"provider": "anthropic", "request_model": "claude-3-5-sonnet-20241022"})
			},
			gamed: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					for i := 0; i < 3; i++ {
						f.call(w, d, nil)
					}
				}
				f.call(w, 1, map[string]any{"provider": "anthropic", "request_model": "claude-3-5-sonnet-20241022"})
			}},
		{name: "flagged calls evaluated", kind: "unrelated", signals: []string{"aiops.l5.risk_based_evaluation"},
			genuine: func(f *fixture, w string) {
				for d := 0; d < days; d++ {
					c := f.call(w, d, map[string]any{"policy_flags": []string{"pii.email"}})
					f.event(w, d, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
				}
			},
			gamed: func(f *fixture, w string) {
				all(f, w, map[string]any{"policy_flags": []string{"pii.email"}})
				for d := 0; d < days; d++ { // the clean calls are the ones evaluated
					c := f.call(w, d, nil)
					f.event(w, d, map[string]any{"span_id": c["span_id"], "trace_id": c["trace_id"]})
				}
			}},
	}
}

// Every measured signal resists a single probe, a backfill, or evidence in
// an unrelated trace or workload, while genuine evidence meets it. Where
// the article asks for a cadence, the cadence is read from the evidence's
// own timestamps (the backfill scenarios).
func TestEverySignalResistsProbesBackfillsAndUnrelatedEvidence(t *testing.T) {
	s := migrated(t, "evidence")
	f := &fixture{start: time.Now().UTC().Truncate(24 * time.Hour).Add(-days * 24 * time.Hour)}
	scs := scenarios()
	for _, sc := range scs {
		sc.genuine(f, sc.name+"/genuine")
		sc.gamed(f, sc.name+"/gamed")
	}
	f.insert(t, s, "evidence")
	reg := &Registry{}
	rep, err := Score(context.Background(), s, Options{Database: "evidence", From: f.start, To: f.start.Add((days + 1) * 24 * time.Hour), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, sc := range scs {
		for variant, wantMet := range map[string]bool{"genuine": true, "gamed": false} {
			w := rep.Workload(sc.name + "/" + variant)
			if w == nil {
				t.Errorf("%s/%s: no such workload in the report", sc.name, variant)
				continue
			}
			for _, id := range sc.signals {
				covered[id] = true
				fw := strings.SplitN(id, ".", 2)[0]
				r := w.Score(fw).Signal(id)
				if r == nil {
					t.Errorf("%s: unknown signal %s", sc.name, id)
					continue
				}
				if r.Met != wantMet {
					t.Errorf("%s (%s) %s: %s met=%v, want %v: %s", sc.name, sc.kind, variant, id, r.Met, wantMet, r.Evidence)
				}
			}
		}
	}
	// Every measured signal is covered, except these, which no probe,
	// backfill or unrelated evidence can move, and the declared signals,
	// which read the registry.
	exempt := map[string]string{
		"retrieval_traced/1":     "llmops.s1.retrieval_logic is met by any retrieval (target ≥ 0%): the item asks only that retrieval exists where needed",
		"workload_cost_share/3":  "the workload's own name decides, on all its spans at once",
		"platform_breadth/5":     "global: TestPlatformBreadthIgnoresProbeWorkloads",
		"approved_model_share/5": "needs the registry's catalogue: TestCatalogueAndSLOResistProbes",
		"slo_days/4":             "needs the registry's SLO: TestCatalogueAndSLOResistProbes",
	}
	for _, fw := range MustBuiltin().Frameworks {
		for _, sig := range fw.Signals {
			if sig.Declared != "" || covered[sig.ID] {
				continue
			}
			if _, ok := exempt[fmt.Sprintf("%s/%d", sig.Measure, sig.Stage)]; !ok {
				t.Errorf("%s has no probe, backfill or unrelated-evidence scenario", sig.ID)
			}
		}
	}
}

func TestPlatformBreadthIgnoresProbeWorkloads(t *testing.T) {
	for _, c := range []struct {
		real int
		met  bool
	}{{5, true}, {4, false}} {
		db := fmt.Sprintf("breadth%d", c.real)
		s := migrated(t, db)
		f := &fixture{start: time.Now().UTC().Truncate(24 * time.Hour).Add(-days * 24 * time.Hour)}
		for i := 0; i < c.real; i++ {
			f.calls(fmt.Sprintf("real-%d", i), 0, 5, nil)
		}
		for i := 0; i < 10; i++ { // ten workloads that each made one call
			f.call(fmt.Sprintf("probe-%d", i), 3, nil)
		}
		f.insert(t, s, db)
		rep, err := Score(context.Background(), s, Options{Database: db, From: f.start, To: f.start.Add((days + 1) * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Workload("real-0").Score("llmops").Signal("llmops.s5.platform_breadth")
		if r.Met != c.met {
			t.Errorf("%d real workloads and 10 probes: met=%v, want %v (%s)", c.real, r.Met, c.met, r.Evidence)
		}
	}
}

func TestCatalogueAndSLOResistProbes(t *testing.T) {
	s := migrated(t, "registry_probes")
	f := &fixture{start: time.Now().UTC().Truncate(24 * time.Hour).Add(-days * 24 * time.Hour)}
	f.calls("catalogue/genuine", 0, days, nil)
	f.calls("catalogue/gamed", 0, days, map[string]any{"request_model": "gpt-4.1", "response_model": "gpt-4.1-2025-04-14"})
	f.call("catalogue/gamed", 3, nil) // one call on an approved model
	f.calls("slo/genuine", 0, days, map[string]any{"duration_ns": 500_000_000})
	f.calls("slo/gamed", 0, days, map[string]any{"duration_ns": 5_000_000_000})
	f.call("slo/gamed", 2, map[string]any{"duration_ns": 100_000_000}) // the one fast day is still slow at p95
	f.insert(t, s, "registry_probes")
	slo := &SLO{LatencyP95Ms: 1000, ErrorRate: 0.05}
	reg := &Registry{ApprovedModels: []string{"gpt-4o-2024-08-06"}, Workloads: []RegisteredWorkload{{Name: "slo/genuine", SLO: slo}, {Name: "slo/gamed", SLO: slo}}}
	rep, err := Score(context.Background(), s, Options{Database: "registry_probes", From: f.start, To: f.start.Add((days + 1) * 24 * time.Hour), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	for w, want := range map[string]map[string]bool{
		"catalogue/genuine": {"llmops.s5.model_catalogue": true, "aiops.l5.model_catalogue": true},
		"catalogue/gamed":   {"llmops.s5.model_catalogue": false, "aiops.l5.model_catalogue": false},
		"slo/genuine":       {"llmops.s4.slo": true, "aiops.l4.slo": true},
		"slo/gamed":         {"llmops.s4.slo": false, "aiops.l4.slo": false},
	} {
		for id, met := range want {
			r := rep.Workload(w).Score(strings.SplitN(id, ".", 2)[0]).Signal(id)
			if r.Met != met {
				t.Errorf("%s %s: met=%v, want %v (%s)", w, id, r.Met, met, r.Evidence)
			}
		}
	}
}
