package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// openInferenceSink rewrites an application's spans into what Arize
// OpenInference instrumentations emit (as captured in
// test/conformance/testdata/openinference-*): llm.* and
// openinference.span.kind keys instead of gen_ai.*, flattened messages,
// retrieval documents as retrieval.documents.N.document.*, and guardrails as
// GUARDRAIL spans wrapping the model call instead of guardrail.* events.
type openInferenceSink struct{ Sink }

var oiKinds = map[string]string{
	"chat": "LLM", "embeddings": "EMBEDDING", "retrieval": "RETRIEVER", "execute_tool": "TOOL", "invoke_agent": "AGENT",
}

func (s openInferenceSink) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, 0, len(spans))
	for _, ro := range spans {
		stub := tracetest.SpanStubFromReadOnlySpan(ro)
		var guard *tracetest.SpanStub
		stub.Attributes, guard = openInference(&stub)
		if guard != nil {
			out = append(out, guard.Snapshot())
		}
		out = append(out, stub.Snapshot())
	}
	return s.Sink.ExportSpans(ctx, out)
}

// openInference maps one span's attributes, and returns the GUARDRAIL span
// that wraps it when the application checked the call.
func openInference(stub *tracetest.SpanStub) ([]attribute.KeyValue, *tracetest.SpanStub) {
	var out []attribute.KeyValue
	get := map[string]attribute.Value{}
	for _, kv := range stub.Attributes {
		get[string(kv.Key)] = kv.Value
	}
	op := get["gen_ai.operation.name"].AsString()
	kind, ok := oiKinds[op]
	if !ok {
		return stub.Attributes, nil // not a GenAI span
	}
	out = append(out, attribute.String("openinference.span.kind", kind))
	invocation := map[string]any{}
	for _, kv := range stub.Attributes {
		k, v := string(kv.Key), kv.Value
		switch k {
		case "gen_ai.operation.name", "gen_ai.response.id", "gen_ai.response.finish_reasons", "gen_ai.request.stream":
		case "gen_ai.provider.name":
			out = append(out, attribute.String("llm.provider", v.AsString()), attribute.String("llm.system", v.AsString()))
		case "gen_ai.request.model":
			invocation["model"] = v.AsString()
			if op == "embeddings" {
				out = append(out, attribute.String("embedding.model_name", v.AsString()))
			}
		case "gen_ai.response.model":
			if op == "chat" {
				out = append(out, attribute.String("llm.model_name", v.AsString())) // the response snapshot, as OpenInference records it
			}
		case "gen_ai.request.max_tokens", "gen_ai.request.temperature":
			invocation[k[len("gen_ai.request."):]] = v.AsInterface()
		case "gen_ai.usage.input_tokens":
			out = append(out, attribute.Int64("llm.token_count.prompt", v.AsInt64()))
		case "gen_ai.usage.output_tokens":
			out = append(out, attribute.Int64("llm.token_count.completion", v.AsInt64()))
		case "gen_ai.usage.cache_read.input_tokens":
			out = append(out, attribute.Int64("llm.token_count.prompt_details.cache_read", v.AsInt64()))
		case "gen_ai.prompt.version":
			out = append(out, attribute.String("llm.prompt_template.version", v.AsString()))
		case "gen_ai.input.messages":
			out = append(out, flatMessages("llm.input_messages", v.AsString())...)
		case "gen_ai.output.messages":
			out = append(out, flatMessages("llm.output_messages", v.AsString())...)
		case "gen_ai.tool.name":
			out = append(out, attribute.String("tool.name", v.AsString()))
		case "gen_ai.retrieval.query.text":
			out = append(out, attribute.String("input.value", v.AsString()))
		case "gen_ai.retrieval.documents":
			var docs []map[string]any
			if json.Unmarshal([]byte(v.AsString()), &docs) == nil {
				for i, d := range docs {
					p := fmt.Sprintf("retrieval.documents.%d.document.", i)
					meta, _ := json.Marshal(d["metadata"])
					out = append(out, attribute.String(p+"id", fmt.Sprint(d["id"])), attribute.Float64(p+"score", d["score"].(float64)),
						attribute.String(p+"metadata", string(meta)))
				}
			}
		case "user.id", "tenant.id", "feature", "gen_ai.prompt.name", "gen_ai.data_source.id":
			out = append(out, kv) // context attributes and names OpenInference has no key for
		}
	}
	if op == "chat" && len(invocation) > 0 {
		raw, _ := json.Marshal(invocation)
		out = append(out, attribute.String("llm.invocation_parameters", string(raw)))
	}
	// The application's guardrail becomes a GUARDRAIL span around the call.
	var events []sdktrace.Event
	checked := false
	for _, ev := range stub.Events {
		if strings.HasPrefix(ev.Name, "guardrail.") {
			checked = true
			continue
		}
		events = append(events, ev)
	}
	stub.Events = events
	if !checked {
		return out, nil
	}
	id := stub.SpanContext.SpanID()
	id[0] ^= 0xA5 // a stable id of its own
	guardCtx := trace.NewSpanContext(trace.SpanContextConfig{TraceID: stub.SpanContext.TraceID(), SpanID: id, TraceFlags: trace.FlagsSampled})
	guard := &tracetest.SpanStub{
		Name: "input-guardrail", SpanContext: guardCtx, Parent: stub.Parent, SpanKind: trace.SpanKindInternal,
		StartTime: stub.StartTime, EndTime: stub.EndTime, Resource: stub.Resource, InstrumentationScope: stub.InstrumentationScope,
		Attributes: append([]attribute.KeyValue{attribute.String("openinference.span.kind", "GUARDRAIL")}, contextAttrs(out)...),
	}
	stub.Parent = guardCtx
	return out, guard
}

func contextAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	var out []attribute.KeyValue
	for _, kv := range kvs {
		if kv.Key == "user.id" || kv.Key == "tenant.id" {
			out = append(out, kv)
		}
	}
	return out
}

// flatMessages writes semconv messages as OpenInference's flattened keys.
func flatMessages(prefix, raw string) []attribute.KeyValue {
	var msgs []struct {
		Role  string `json:"role"`
		Parts []struct {
			Type    string `json:"type"`
			Content string `json:"content"`
		} `json:"parts"`
	}
	if json.Unmarshal([]byte(raw), &msgs) != nil {
		return nil
	}
	var out []attribute.KeyValue
	for i, m := range msgs {
		p := fmt.Sprintf("%s.%d.message.", prefix, i)
		text := ""
		for _, part := range m.Parts {
			text += part.Content
		}
		out = append(out, attribute.String(p+"role", m.Role), attribute.String(p+"content", text))
	}
	return out
}
