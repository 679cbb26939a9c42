package genai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Message is one chat message in the semconv structured form used by
// gen_ai.input.messages and gen_ai.output.messages.
type Message struct {
	Role         string `json:"role"`
	Parts        []Part `json:"parts"`
	Name         string `json:"name,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// Part is one piece of a message: text, a tool call, a tool result, a
// reference to media, or reasoning.
type Part struct {
	Type      string          `json:"type"`
	Content   string          `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Response  json.RawMessage `json:"response,omitempty"`
	URI       string          `json:"uri,omitempty"`
}

// Part types.
const (
	PartText         = "text"
	PartToolCall     = "tool_call"
	PartToolResponse = "tool_call_response"
	PartURI          = "uri"
	PartReasoning    = "reasoning"
)

// TextPart is a text part.
func TextPart(s string) Part { return Part{Type: PartText, Content: s} }

// RawJSON keeps s as JSON when it is a valid JSON document and as a JSON
// string otherwise: tool arguments arrive both ways.
func RawJSON(s string) json.RawMessage {
	t := strings.TrimSpace(s)
	if t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(s)
	return b
}

// EncodeMessages writes messages as the JSON text semconv puts on spans.
func EncodeMessages(msgs []Message) string {
	if len(msgs) == 0 {
		return "[]"
	}
	for i := range msgs {
		if msgs[i].Parts == nil {
			msgs[i].Parts = []Part{}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msgs); err != nil {
		return "[]"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ErrNotMessages is returned for JSON that holds no recognizable messages.
var ErrNotMessages = errors.New("no chat messages in value")

// ParseMessages reads chat messages written in any of the shapes seen in
// the wild and returns them in semconv form:
//   - a list of messages whose content is a string, a list of parts
//     (OpenAI, Anthropic, AI SDK or semconv parts) or absent;
//   - a request body with "messages" (and Anthropic's "system"), or the AI
//     SDK's {"system", "prompt", "messages"};
//   - a chat completion response with "choices";
//   - a bare JSON string, read as one user message.
func ParseMessages(s string) ([]Message, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	msgs, ok := messagesFrom(v, 0)
	if !ok {
		return nil, ErrNotMessages
	}
	return msgs, nil
}

func messagesFrom(v any, depth int) ([]Message, bool) {
	if depth > 4 {
		return nil, false
	}
	switch t := v.(type) {
	case string:
		return []Message{{Role: "user", Parts: []Part{TextPart(t)}}}, true
	case []any:
		out := make([]Message, 0, len(t))
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			msg, ok := messageFrom(m)
			if !ok {
				return nil, false
			}
			out = append(out, msg)
		}
		return out, true
	case map[string]any:
		if ch, ok := t["choices"].([]any); ok {
			var out []Message
			for _, c := range ch {
				cm, ok := c.(map[string]any)
				if !ok {
					continue
				}
				m, _ := cm["message"].(map[string]any)
				if m == nil {
					m, _ = cm["delta"].(map[string]any)
				}
				msg := Message{Role: "assistant"}
				if m != nil {
					msg, _ = messageFrom(m)
					if msg.Role == "" {
						msg.Role = "assistant"
					}
				} else if txt, ok := cm["text"].(string); ok {
					msg.Parts = []Part{TextPart(txt)}
				}
				msg.FinishReason, _ = cm["finish_reason"].(string)
				out = append(out, msg)
			}
			return out, true
		}
		var out []Message
		found := false
		if sys, ok := t["system"]; ok {
			if parts := partsFrom(sys); len(parts) > 0 {
				out = append(out, Message{Role: "system", Parts: parts})
				found = true
			}
		}
		if ms, ok := t["messages"]; ok {
			inner, ok := messagesFrom(ms, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, inner...)
			found = true
		}
		if p, ok := t["prompt"]; ok {
			if parts := partsFrom(p); len(parts) > 0 {
				out = append(out, Message{Role: "user", Parts: parts})
				found = true
			}
		}
		if !found {
			// A single message object.
			if _, ok := t["role"].(string); ok {
				msg, ok := messageFrom(t)
				return []Message{msg}, ok
			}
			return nil, false
		}
		return out, true
	}
	return nil, false
}

func messageFrom(m map[string]any) (Message, bool) {
	role, _ := m["role"].(string)
	msg := Message{Role: role}
	msg.Name, _ = m["name"].(string)
	msg.FinishReason, _ = m["finish_reason"].(string)
	if parts, ok := m["parts"]; ok {
		msg.Parts = partsFrom(parts)
	} else {
		msg.Parts = partsFrom(m["content"])
	}
	// OpenAI tool calls and tool results.
	if tcs, ok := m["tool_calls"].([]any); ok {
		for _, tc := range tcs {
			if p, ok := toolCallFrom(tc); ok {
				msg.Parts = append(msg.Parts, p)
			}
		}
	}
	if fc, ok := m["function_call"].(map[string]any); ok {
		name, _ := fc["name"].(string)
		msg.Parts = append(msg.Parts, Part{Type: PartToolCall, Name: name, Arguments: argsFrom(fc["arguments"])})
	}
	if id, ok := m["tool_call_id"].(string); ok && role == "tool" {
		// The content is the tool's answer.
		resp := joinText(msg.Parts)
		msg.Parts = []Part{{Type: PartToolResponse, ID: id, Response: RawJSON(resp)}}
	}
	return msg, role != "" || len(msg.Parts) > 0
}

func joinText(parts []Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Content)
	}
	return b.String()
}

func toolCallFrom(v any) (Part, bool) {
	tc, ok := v.(map[string]any)
	if !ok {
		return Part{}, false
	}
	p := Part{Type: PartToolCall}
	p.ID, _ = tc["id"].(string)
	if p.ID == "" {
		p.ID, _ = tc["toolCallId"].(string)
	}
	if fn, ok := tc["function"].(map[string]any); ok {
		p.Name, _ = fn["name"].(string)
		p.Arguments = argsFrom(fn["arguments"])
	} else {
		p.Name, _ = tc["name"].(string)
		if p.Name == "" {
			p.Name, _ = tc["toolName"].(string)
		}
		for _, k := range []string{"arguments", "input", "args"} {
			if a, ok := tc[k]; ok {
				p.Arguments = argsFrom(a)
				break
			}
		}
	}
	return p, p.Name != "" || p.ID != ""
}

func argsFrom(v any) json.RawMessage {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		return RawJSON(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil
		}
		return b
	}
}

// partsFrom reads message content: a string or a list of typed parts.
func partsFrom(v any) []Part {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		return []Part{TextPart(t)}
	case []any:
		var out []Part
		for _, e := range t {
			switch p := e.(type) {
			case string:
				out = append(out, TextPart(p))
			case map[string]any:
				if part, ok := partFrom(p); ok {
					out = append(out, part)
				}
			}
		}
		return out
	case map[string]any:
		if part, ok := partFrom(t); ok {
			return []Part{part}
		}
	}
	return nil
}

func partFrom(p map[string]any) (Part, bool) {
	typ, _ := p["type"].(string)
	str := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := p[k].(string); ok {
				return s
			}
		}
		return ""
	}
	switch typ {
	case "text", "input_text", "output_text", "":
		txt := str("text", "content")
		if txt == "" && typ == "" {
			return Part{}, false
		}
		return TextPart(txt), true
	case "reasoning", "thinking":
		return Part{Type: PartReasoning, Content: str("text", "content", "thinking")}, true
	case "tool_call", "tool-call", "tool_use", "function_call":
		part := Part{Type: PartToolCall, ID: str("id", "toolCallId", "call_id"), Name: str("name", "toolName")}
		for _, k := range []string{"arguments", "input", "args"} {
			if a, ok := p[k]; ok {
				part.Arguments = argsFrom(a)
				break
			}
		}
		return part, true
	case "tool_call_response", "tool-result", "tool_result", "function_call_output":
		part := Part{Type: PartToolResponse, ID: str("id", "toolCallId", "tool_use_id", "call_id")}
		for _, k := range []string{"response", "output", "result", "content"} {
			if a, ok := p[k]; ok {
				part.Response = argsFrom(a)
				break
			}
		}
		return part, true
	case "image_url":
		if iu, ok := p["image_url"].(map[string]any); ok {
			u, _ := iu["url"].(string)
			return Part{Type: PartURI, URI: mediaRef(u)}, true
		}
		return Part{Type: PartURI, URI: mediaRef(str("image_url"))}, true
	case "image", "file", "uri", "input_image", "audio":
		return Part{Type: PartURI, URI: mediaRef(str("uri", "url", "image_url", "file_id"))}, true
	}
	return Part{Type: typ, Content: str("text", "content")}, typ != ""
}

// mediaRef keeps links and drops inline data: a base64 image is not text
// anyone reads, and it would dwarf the rest of the row.
func mediaRef(u string) string {
	if strings.HasPrefix(u, "data:") {
		head, _, _ := strings.Cut(u, ",")
		return head + ",<omitted>"
	}
	return u
}
