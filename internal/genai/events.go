package genai

// Event names of message content sent as span events or OTLP log records
// (older semconv, the official OpenAI instrumentations, Elastic's) and of
// the newer per-call details event.
const (
	EventSystemMessage    = "gen_ai.system.message"
	EventUserMessage      = "gen_ai.user.message"
	EventAssistantMessage = "gen_ai.assistant.message"
	EventToolMessage      = "gen_ai.tool.message"
	EventChoice           = "gen_ai.choice"
	EventOperationDetails = "gen_ai.client.inference.operation.details"
	EventContentPrompt    = "gen_ai.content.prompt"
	EventContentComplete  = "gen_ai.content.completion"
)

// ContentEvents are the event names that carry message content.
var ContentEvents = map[string]bool{
	EventSystemMessage: true, EventUserMessage: true, EventAssistantMessage: true, EventToolMessage: true,
	EventChoice: true, EventOperationDetails: true, EventContentPrompt: true, EventContentComplete: true,
}

// EventMessage reads one content event's body (as pcommon's AsRaw gives it)
// as a message, and tells whether it is model output. Bodies are the
// official instrumentations' {content, tool_calls, id} maps, gen_ai.choice's
// {index, finish_reason, message}, or a bare string.
func EventMessage(name string, body any) (msg Message, output, ok bool) {
	role := map[string]string{EventSystemMessage: "system", EventUserMessage: "user", EventAssistantMessage: "assistant",
		EventToolMessage: "tool", EventChoice: "assistant", EventContentPrompt: "user", EventContentComplete: "assistant"}[name]
	output = name == EventChoice || name == EventContentComplete
	m, isMap := body.(map[string]any)
	if !isMap {
		s, isStr := body.(string)
		if !isStr || s == "" {
			return Message{}, output, false
		}
		return Message{Role: role, Parts: []Part{TextPart(s)}}, output, true
	}
	fields := m
	if name == EventChoice {
		if inner, ok := m["message"].(map[string]any); ok {
			fields = make(map[string]any, len(inner)+1)
			for k, v := range inner {
				fields[k] = v
			}
			if fr, ok := m["finish_reason"]; ok {
				fields["finish_reason"] = fr
			}
		}
	}
	if _, ok := fields["role"].(string); !ok {
		fields = withRole(fields, role)
	}
	if name == EventToolMessage {
		if id, ok := fields["id"].(string); ok {
			if _, has := fields["tool_call_id"]; !has {
				fields = withKey(fields, "tool_call_id", id)
			}
		}
	}
	msg, ok = messageFrom(fields)
	return msg, output, ok && len(msg.Parts) > 0
}

func withRole(m map[string]any, role string) map[string]any { return withKey(m, "role", role) }

func withKey(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}
