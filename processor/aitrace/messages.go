package aitrace

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// maxFlatMessages bounds how many turn-indexed messages one span may build;
// past it the rest are left as they were and the span is flagged.
const maxFlatMessages = 4096

func (p *traceProcessor) tableIndex(name string) int {
	for i, n := range p.names {
		if n == name {
			return i
		}
	}
	return -1
}

func (w *workspace) markTable(t int) {
	if t >= 0 && !containsInt(w.tableMapped, t) {
		w.tableMapped = append(w.tableMapped, t)
	}
}

// buildMessages fills gen_ai.input.messages and gen_ai.output.messages from
// the first dialect form present, when they are missing.
func (p *traceProcessor) buildMessages(ctx context.Context, w *workspace, span ptrace.Span, prefixFlags uint16) {
	attrs := span.Attributes()
	needIn, needOut := !w.hasT(tInputMsgs), !w.hasT(tOutputMsgs)
	oi, ol, vercel, lf, legacy := p.tableIndex("openinference"), p.tableIndex("openllmetry"), p.tableIndex("vercel_ai"), p.tableIndex("langfuse"), p.tableIndex("semconv_legacy")
	var removeKeys []string
	var removePrefixes []string
	put := func(key string, msgs []genai.Message, table int, sources ...string) {
		attrs.PutStr(key, genai.EncodeMessages(msgs))
		w.setPresent(p, key)
		w.nContent++
		w.markTable(table)
		removeKeys = append(removeKeys, sources...)
	}
	fromJSON := func(key string, table int) ([]genai.Message, bool) {
		if table < 0 {
			return nil, false
		}
		v, ok := attrs.Get(key)
		if !ok || v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
			return nil, false
		}
		msgs, err := genai.ParseMessages(v.Str())
		if err != nil {
			if table == lf && !looksJSON(v.Str()) {
				// Langfuse keeps a plain string as it is: one text message.
				return []genai.Message{{Role: "user", Parts: []genai.Part{genai.TextPart(v.Str())}}}, true
			}
			p.malformed(ctx, w, "messages_unparseable", key)
			return nil, false
		}
		return msgs, true
	}
	if needIn {
		switch {
		case prefixFlags&sFlatOIIn != 0 && oi >= 0:
			if msgs := p.flatMessages(ctx, w, attrs, oiInPrefix, true); len(msgs) > 0 {
				put(genai.InputMessages, msgs, oi)
				removePrefixes = append(removePrefixes, oiInPrefix)
			}
		case prefixFlags&sFlatOLIn != 0 && ol >= 0:
			if msgs := p.flatMessages(ctx, w, attrs, olInPrefix, false); len(msgs) > 0 {
				put(genai.InputMessages, msgs, ol)
				removePrefixes = append(removePrefixes, olInPrefix)
			}
		default:
			for _, src := range []struct {
				key   string
				table int
			}{{"ai.prompt.messages", vercel}, {"ai.prompt", vercel}, {"gen_ai.prompt", legacy}, {"langfuse.observation.input", lf}} {
				if msgs, ok := fromJSON(src.key, src.table); ok {
					put(genai.InputMessages, msgs, src.table, src.key)
					break
				}
			}
			if !w.hasT(tInputMsgs) && oi >= 0 && strings.Contains(strAttr(attrs, "input.mime_type"), "json") {
				if msgs, ok := fromJSON("input.value", oi); ok {
					put(genai.InputMessages, msgs, oi)
				}
			}
		}
	}
	if needOut {
		switch {
		case prefixFlags&sFlatOIOut != 0 && oi >= 0:
			if msgs := p.flatMessages(ctx, w, attrs, oiOutPrefix, true); len(msgs) > 0 {
				put(genai.OutputMessages, msgs, oi)
				removePrefixes = append(removePrefixes, oiOutPrefix)
			}
		case prefixFlags&sFlatOLOut != 0 && ol >= 0:
			if msgs := p.flatMessages(ctx, w, attrs, olOutPrefix, false); len(msgs) > 0 {
				put(genai.OutputMessages, msgs, ol)
				removePrefixes = append(removePrefixes, olOutPrefix)
			}
		default:
			if vercel >= 0 && (w.has(p, "ai.response.text") || w.has(p, "ai.response.toolCalls")) {
				msg := genai.Message{Role: "assistant"}
				if t := strAttr(attrs, "ai.response.text"); t != "" {
					msg.Parts = append(msg.Parts, genai.TextPart(t))
				}
				if tc := strAttr(attrs, "ai.response.toolCalls"); tc != "" {
					if calls, err := genai.ParseMessages(`{"role":"assistant","tool_calls":` + tc + `}`); err == nil && len(calls) == 1 {
						msg.Parts = append(msg.Parts, calls[0].Parts...)
					} else {
						p.malformed(ctx, w, "messages_unparseable", "ai.response.toolCalls")
					}
				}
				msg.FinishReason = finishReason(strAttr(attrs, "ai.response.finishReason"))
				put(genai.OutputMessages, []genai.Message{msg}, vercel, "ai.response.text", "ai.response.toolCalls")
				break
			}
			for _, src := range []struct {
				key   string
				table int
			}{{"gen_ai.completion", legacy}, {"langfuse.observation.output", lf}} {
				if msgs, ok := fromJSON(src.key, src.table); ok {
					for i := range msgs {
						if msgs[i].Role == "user" {
							msgs[i].Role = "assistant" // a bare string is the model's answer here
						}
					}
					put(genai.OutputMessages, msgs, src.table, src.key)
					break
				}
			}
			if !w.hasT(tOutputMsgs) && oi >= 0 && w.has(p, "output.value") {
				mime := strAttr(attrs, "output.mime_type")
				if strings.Contains(mime, "json") {
					if msgs, ok := fromJSON("output.value", oi); ok {
						put(genai.OutputMessages, msgs, oi)
					}
				} else if t := strAttr(attrs, "output.value"); t != "" && strAttr(attrs, genai.OISpanKind) == "LLM" {
					put(genai.OutputMessages, []genai.Message{{Role: "assistant", Parts: []genai.Part{genai.TextPart(t)}}}, oi)
				}
			}
		}
	}
	if (needIn && !w.hasT(tInputMsgs)) || (needOut && !w.hasT(tOutputMsgs)) {
		p.eventMessages(ctx, w, span, needIn && !w.hasT(tInputMsgs), needOut && !w.hasT(tOutputMsgs), legacy)
	}
	if !p.cfg.KeepOriginalKeys && (len(removeKeys) > 0 || len(removePrefixes) > 0) {
		w.valsOK = false
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool {
			for _, r := range removeKeys {
				if k == r {
					return true
				}
			}
			for _, pre := range removePrefixes {
				if strings.HasPrefix(k, pre) {
					return true
				}
			}
			return false
		})
	}
}

type flatPart struct {
	typ, text, id, name, args, url string
}

type flatMsg struct {
	role, content, name, toolCallID, finish string
	parts                                   map[int]*flatPart // contents.M
	calls                                   map[int]*flatPart // tool_calls.M
	fnName, fnArgs                          string            // legacy function_call
}

// flatMessages reads turn-indexed keys: OpenInference's
// llm.input_messages.N.message.role (oi) or OpenLLMetry's gen_ai.prompt.N.role.
func (p *traceProcessor) flatMessages(ctx context.Context, w *workspace, attrs pcommon.Map, prefix string, oi bool) []genai.Message {
	byIdx := map[int]*flatMsg{}
	truncated := false
	for k, v := range attrs.All() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		num, sub, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			continue
		}
		m := byIdx[n]
		if m == nil {
			if len(byIdx) >= maxFlatMessages {
				truncated = true
				continue
			}
			m = &flatMsg{}
			byIdx[n] = m
		}
		if oi {
			sub = strings.TrimPrefix(sub, "message.")
		}
		val := v.AsString()
		switch sub {
		case "role":
			m.role = val
		case "content":
			m.content = val
		case "name":
			m.name = val
		case "tool_call_id":
			m.toolCallID = val
		case "finish_reason":
			m.finish = finishReason(val)
		case "function_call.name":
			m.fnName = val
		case "function_call.arguments":
			m.fnArgs = val
		default:
			switch {
			case strings.HasPrefix(sub, "contents."):
				idx, field := indexed(sub[len("contents."):])
				if idx < 0 {
					continue
				}
				field = strings.TrimPrefix(field, "message_content.")
				part := getPart(&m.parts, idx)
				switch field {
				case "type":
					part.typ = val
				case "text":
					part.text = val
				case "image.image.url", "image.url":
					part.url = val
				}
			case strings.HasPrefix(sub, "tool_calls."):
				idx, field := indexed(sub[len("tool_calls."):])
				if idx < 0 {
					continue
				}
				field = strings.TrimPrefix(field, "tool_call.")
				call := getPart(&m.calls, idx)
				switch field {
				case "id":
					call.id = val
				case "name", "function.name":
					call.name = val
				case "arguments", "function.arguments":
					call.args = val
				}
			}
		}
	}
	if truncated {
		p.malformed(ctx, w, "messages_truncated", prefix)
	}
	idxs := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	out := make([]genai.Message, 0, len(idxs))
	for _, i := range idxs {
		m := byIdx[i]
		msg := genai.Message{Role: m.role, Name: m.name, FinishReason: m.finish}
		if m.toolCallID != "" && (m.role == "tool" || m.role == "function") {
			msg.Parts = append(msg.Parts, genai.Part{Type: genai.PartToolResponse, ID: m.toolCallID, Response: genai.RawJSON(m.content)})
		} else if m.content != "" {
			msg.Parts = append(msg.Parts, genai.TextPart(m.content))
		}
		for _, j := range sortedKeys(m.parts) {
			pt := m.parts[j]
			switch {
			case pt.url != "":
				msg.Parts = append(msg.Parts, genai.Part{Type: genai.PartURI, URI: pt.url})
			case pt.text != "" || pt.typ == "text":
				msg.Parts = append(msg.Parts, genai.TextPart(pt.text))
			}
		}
		for _, j := range sortedKeys(m.calls) {
			c := m.calls[j]
			var args []byte
			if c.args != "" {
				args = genai.RawJSON(c.args)
			}
			msg.Parts = append(msg.Parts, genai.Part{Type: genai.PartToolCall, ID: c.id, Name: c.name, Arguments: args})
		}
		if m.fnName != "" {
			msg.Parts = append(msg.Parts, genai.Part{Type: genai.PartToolCall, Name: m.fnName, Arguments: genai.RawJSON(m.fnArgs)})
		}
		if msg.Role == "" && len(msg.Parts) == 0 {
			continue
		}
		out = append(out, msg)
	}
	return out
}

func indexed(s string) (int, string) {
	num, field, ok := strings.Cut(s, ".")
	if !ok {
		return -1, ""
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > maxFlatMessages {
		return -1, ""
	}
	return n, field
}

func getPart(m *map[int]*flatPart, i int) *flatPart {
	if *m == nil {
		*m = map[int]*flatPart{}
	}
	p := (*m)[i]
	if p == nil {
		p = &flatPart{}
		(*m)[i] = p
	}
	return p
}

func sortedKeys(m map[int]*flatPart) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// eventMessages reads content that older semconv put in span events:
// gen_ai.content.prompt / gen_ai.content.completion, the per-message events
// gen_ai.{system,user,assistant,tool}.message and gen_ai.choice, and the
// newer gen_ai.client.inference.operation.details.
func (p *traceProcessor) eventMessages(ctx context.Context, w *workspace, span ptrace.Span, needIn, needOut bool, legacy int) {
	if legacy < 0 {
		return
	}
	var in, out []genai.Message
	inFound, outFound := false, false
	for _, ev := range span.Events().All() {
		name := ev.Name()
		if !strings.HasPrefix(name, "gen_ai.") {
			continue
		}
		ea := ev.Attributes()
		switch name {
		case "gen_ai.content.prompt":
			if msgs, err := genai.ParseMessages(strAttr(ea, "gen_ai.prompt")); err == nil {
				in, inFound = append(in, msgs...), true
			} else {
				p.malformed(ctx, w, "messages_unparseable", name)
			}
		case "gen_ai.content.completion":
			if msgs, err := genai.ParseMessages(strAttr(ea, "gen_ai.completion")); err == nil {
				for i := range msgs {
					if msgs[i].Role == "user" {
						msgs[i].Role = "assistant"
					}
				}
				out, outFound = append(out, msgs...), true
			} else {
				p.malformed(ctx, w, "messages_unparseable", name)
			}
		case "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message":
			role := strings.TrimSuffix(strings.TrimPrefix(name, "gen_ai."), ".message")
			if r := strAttr(ea, "role"); r != "" {
				role = r
			}
			msg := genai.Message{Role: role}
			content, _ := ea.Get("content")
			if id := strAttr(ea, "id"); id != "" && role == "tool" {
				msg.Parts = []genai.Part{{Type: genai.PartToolResponse, ID: id, Response: genai.RawJSON(content.AsString())}}
			} else if content.Type() != pcommon.ValueTypeEmpty {
				msg.Parts = []genai.Part{genai.TextPart(content.AsString())}
			}
			in, inFound = append(in, msg), true
		case "gen_ai.choice":
			msg := genai.Message{Role: "assistant", FinishReason: finishReason(strAttr(ea, "finish_reason"))}
			if m, ok := ea.Get("message"); ok {
				body := m.AsString()
				if parsed, err := genai.ParseMessages(body); err == nil && len(parsed) == 1 {
					msg.Parts = parsed[0].Parts
				} else if m.Type() == pcommon.ValueTypeStr {
					msg.Parts = []genai.Part{genai.TextPart(body)}
				}
			} else if c := strAttr(ea, "content"); c != "" {
				msg.Parts = []genai.Part{genai.TextPart(c)}
			}
			out, outFound = append(out, msg), true
		case "gen_ai.client.inference.operation.details":
			if v := strAttr(ea, genai.InputMessages); v != "" && needIn && !inFound {
				span.Attributes().PutStr(genai.InputMessages, v)
				w.setT(tInputMsgs)
				w.nContent++
				needIn = false
			}
			if v := strAttr(ea, genai.OutputMessages); v != "" && needOut && !outFound {
				span.Attributes().PutStr(genai.OutputMessages, v)
				w.setT(tOutputMsgs)
				w.nContent++
				needOut = false
			}
		}
	}
	attrs := span.Attributes()
	if needIn && inFound {
		attrs.PutStr(genai.InputMessages, genai.EncodeMessages(in))
		w.setT(tInputMsgs)
		w.nContent++
		w.markTable(legacy)
	}
	if needOut && outFound {
		attrs.PutStr(genai.OutputMessages, genai.EncodeMessages(out))
		w.setT(tOutputMsgs)
		w.nContent++
		w.markTable(legacy)
	}
}

// looksJSON reports whether s starts like a JSON object, array or string.
func looksJSON(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	return s != "" && (s[0] == '{' || s[0] == '[' || s[0] == '"')
}
