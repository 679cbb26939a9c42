package aitrace

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

func usage(in, out int64, extra map[string]any) map[string]any {
	m := map[string]any{"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": out}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestUsageCountedOncePerCall(t *testing.T) {
	t.Run("Traceloop workflow and task around the call", func(t *testing.T) {
		h := newHarness(t, nil)
		spans := spansOf(h.run(batchOf(t,
			spanSpec{name: "openai.chat", id: 3, parent: 2, attrs: usage(100, 20, map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "llm.request.type": "chat"})},
			spanSpec{name: "answer.task", id: 2, parent: 1, attrs: map[string]any{"traceloop.span.kind": "task", "traceloop.entity.name": "answer", "gen_ai.usage.prompt_tokens": int64(100), "gen_ai.usage.completion_tokens": int64(20)}},
			spanSpec{name: "support.workflow", id: 1, attrs: map[string]any{"traceloop.span.kind": "workflow", "traceloop.entity.name": "support", "gen_ai.usage.prompt_tokens": int64(100), "gen_ai.usage.completion_tokens": int64(20), "gen_ai.usage.cost": 0.01}},
		)))
		expectAttrs(t, "call", spans[0].Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(100)}, "aiops.usage.duplicate_of")
		for _, w := range spans[1:] {
			expectAttrs(t, w.Name(), w.Attributes(), map[string]any{
				"aiops.usage.duplicate_of": sid(3).String(), "aiops.usage.duplicate_reason": "wrapper_same",
				"aiops.usage.repeated.input_tokens": int64(100), "aiops.usage.repeated.output_tokens": int64(20),
			}, "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cost")
		}
		expectAttrs(t, "workflow", spans[2].Attributes(), map[string]any{"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "support", "aiops.usage.repeated.cost": 0.01})
		if n := h.counter("aiops_aitrace_usage_duplicates", map[string]string{"reason": "wrapper_same"}); n != 2 {
			t.Fatalf("duplicates counted %d", n)
		}
	})
	t.Run("OpenInference chain summing two calls", func(t *testing.T) {
		spans := spansOf(newHarness(t, nil).run(batchOf(t,
			spanSpec{name: "RunnableSequence", id: 1, attrs: map[string]any{"openinference.span.kind": "CHAIN", "llm.token_count.prompt": int64(300), "llm.token_count.completion": int64(50)}},
			spanSpec{name: "ChatOpenAI", id: 2, parent: 1, attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": int64(100), "llm.token_count.completion": int64(20)}},
			spanSpec{name: "ChatOpenAI", id: 3, parent: 1, attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": int64(200), "llm.token_count.completion": int64(30)}},
		)))
		expectAttrs(t, "chain", spans[0].Attributes(), map[string]any{"aiops.usage.duplicate_reason": "wrapper_aggregate", "aiops.usage.repeated.input_tokens": int64(300)}, "gen_ai.usage.input_tokens")
		expectAttrs(t, "llm1", spans[1].Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(100)})
		expectAttrs(t, "llm2", spans[2].Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(200)})
	})
	t.Run("two instrumentation layers on one HTTP call", func(t *testing.T) {
		spans := spansOf(newHarness(t, nil).run(batchOf(t,
			spanSpec{name: "OpenAI Chat Completions", id: 1, attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini-2024-07-18", "llm.token_count.prompt": int64(1201), "llm.token_count.completion": int64(40)}},
			spanSpec{name: "chat gpt-4o-mini", id: 2, parent: 1, attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": int64(1201), "gen_ai.usage.output_tokens": int64(40)}},
		)))
		expectAttrs(t, "outer", spans[0].Attributes(), map[string]any{"aiops.usage.duplicate_of": sid(2).String(), "aiops.usage.duplicate_reason": "double_instrumentation"}, "gen_ai.usage.input_tokens")
		expectAttrs(t, "inner", spans[1].Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(1201)}, "aiops.usage.duplicate_of")
	})
	t.Run("near misses: siblings with equal usage, parent with other usage, other model", func(t *testing.T) {
		spans := spansOf(newHarness(t, nil).run(batchOf(t,
			spanSpec{name: "chat a", id: 1, attrs: usage(50, 5, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})},
			spanSpec{name: "chat b", id: 2, parent: 1, attrs: usage(10, 5, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})},
			spanSpec{name: "chat c", id: 3, parent: 1, attrs: usage(10, 5, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})},
			spanSpec{name: "chat d", id: 4, parent: 3, attrs: usage(10, 5, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-3-5-haiku-20241022"})},
		)))
		for _, sp := range spans {
			expectAttrs(t, sp.Name(), sp.Attributes(), nil, "aiops.usage.duplicate_of", "aiops.usage.repeated.input_tokens")
		}
	})
	t.Run("dedupe_usage off leaves usage", func(t *testing.T) {
		cfg := createDefaultConfig().(*Config)
		cfg.DedupeUsage = false
		spans := spansOf(newHarness(t, cfg).run(batchOf(t,
			spanSpec{name: "outer", id: 1, attrs: usage(10, 5, map[string]any{"gen_ai.operation.name": "chat"})},
			spanSpec{name: "inner", id: 2, parent: 1, attrs: usage(10, 5, map[string]any{"gen_ai.operation.name": "chat"})},
		)))
		expectAttrs(t, "outer", spans[0].Attributes(), map[string]any{"gen_ai.usage.input_tokens": int64(10)})
	})
}

func TestRetrieval(t *testing.T) {
	h := newHarness(t, nil)
	spans := spansOf(h.run(batchOf(t,
		spanSpec{name: "rag", id: 1, start: 0, end: 10, attrs: map[string]any{"openinference.span.kind": "CHAIN"}},
		spanSpec{name: "retrieve", id: 2, parent: 1, start: 1, end: 2, attrs: map[string]any{
			"openinference.span.kind":                 "RETRIEVER",
			"retrieval.documents.0.document.id":       "d1",
			"retrieval.documents.0.document.score":    0.91,
			"retrieval.documents.0.document.content":  "Refund policy: write to refunds@example.com",
			"retrieval.documents.0.document.metadata": `{"source":"kb/refunds.md","updated_at":"` + ageISO(3600) + `"}`,
			"retrieval.documents.1.document.id":       "d2",
			"retrieval.documents.1.document.score":    0.42,
			"retrieval.documents.1.document.metadata": `{"source":"kb/faq.md"}`,
			"retrieval.documents.2.document.id":       "d3",
			"retrieval.documents.2.document.score":    int64(1),
			"retrieval.documents.2.document.metadata": `{"source":"kb/refunds.md"}`,
		}},
		spanSpec{name: "llm", id: 3, parent: 1, start: 3, end: 5, attrs: map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": int64(10), "llm.token_count.completion": int64(2)}},
		spanSpec{name: "search", id: 4, start: 6, end: 7, attrs: map[string]any{"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "vec-1", "gen_ai.retrieval.documents": `[]`}},
	)))
	mean := 0.91
	mean += 0.42
	mean += 1.0
	want := map[string]any{
		"aiops.retrieval.docs": int64(3), "aiops.retrieval.top_score": 1.0, "aiops.retrieval.min_score": 0.42,
		"aiops.retrieval.mean_score": mean / 3, "aiops.retrieval.empty": false,
		"aiops.retrieval.sources": []any{"kb/refunds.md", "kb/faq.md"}, "aiops.retrieval.doc_age_max_s": int64(3601),
	}
	expectAttrs(t, "retriever", spans[1].Attributes(), want)
	// Rolled onto the LLM call that used it.
	llmWant := map[string]any{"aiops.retrieval.from_spans": []any{sid(2).String()}}
	for k, v := range want {
		if k != "aiops.retrieval.doc_age_max_s" {
			llmWant[k] = v
		}
	}
	expectAttrs(t, "llm", spans[2].Attributes(), llmWant)
	expectAttrs(t, "empty", spans[3].Attributes(), map[string]any{"aiops.retrieval.docs": int64(0), "aiops.retrieval.empty": true, "aiops.retrieval.sources": []any{"vec-1"}}, "aiops.retrieval.top_score")
	noRaw(t, ptraceOf(spans), "refunds@example.com")
}

func TestAgents(t *testing.T) {
	tool := func(id, parent byte, args string) spanSpec {
		return spanSpec{name: "execute_tool search", id: id, parent: parent, attrs: map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search", "gen_ai.tool.call.arguments": args}}
	}
	spans := spansOf(newHarness(t, nil).run(batchOf(t,
		spanSpec{name: "invoke_agent planner", id: 1, attrs: map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}},
		tool(2, 1, `{"q":"x"}`), tool(3, 1, `{"q":"x"}`), tool(4, 1, `{"q":"x"}`), tool(5, 1, `{"q":"y"}`),
		spanSpec{name: "invoke_agent researcher", id: 6, parent: 1, attrs: map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher"}},
		tool(7, 6, `{"q":"z"}`),
		spanSpec{name: "execute_tool request_human_approval", id: 8, parent: 6, attrs: map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "request_human_approval"}},
	)))
	expectAttrs(t, "planner", spans[0].Attributes(), map[string]any{"aiops.agent.tool_calls": int64(4), "aiops.agent.depth": int64(1), "aiops.agent.loop_suspected": true, "aiops.agent.max_repeated_tool_calls": int64(3)}, "aiops.agent.human_approval")
	expectAttrs(t, "researcher", spans[5].Attributes(), map[string]any{"aiops.agent.tool_calls": int64(2), "aiops.agent.depth": int64(2), "aiops.agent.human_approval": true}, "aiops.agent.loop_suspected")
	expectAttrs(t, "approval tool", spans[7].Attributes(), map[string]any{"aiops.agent.human_approval": true})
}

// Batches are processed concurrently in a collector; run under -race.
func TestConcurrentBatches(t *testing.T) {
	p, err := newProcessor(createDefaultConfig().(*Config), processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				td := batchOf(t,
					spanSpec{name: "chat", id: 1, attrs: map[string]any{"gen_ai.system": "openai", "gen_ai.response.model": "gpt-4o-2024-08-06", "openai.response.system_fingerprint": fmt.Sprint("fp", i%3), "gen_ai.usage.prompt_tokens": int64(5), "gen_ai.usage.completion_tokens": int64(1), "gen_ai.input.messages": msgsWithPII}},
					spanSpec{name: "chat", id: 2, parent: 1, attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": int64(5), "gen_ai.usage.output_tokens": int64(1)}},
				)
				if _, err := p.processTraces(context.Background(), td); err != nil {
					t.Error(err)
				}
				if v, ok := spansOf(td)[0].Attributes().Get("aiops.usage.duplicate_of"); !ok || v.Str() != sid(2).String() {
					t.Error("duplicate not marked")
				}
			}
		}()
	}
	wg.Wait()
}
