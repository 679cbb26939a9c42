package aitrace

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai/policy"
)

// contentLog is one content log record of a logs request.
type contentLog struct {
	lr      plog.LogRecord
	key     spanKey
	held    *heldContent // the request's content for this span
	outcome string
}

// processLogs handles message content sent as OTLP log records. Records
// whose span passes through this processor are merged into it and removed
// from the logs; the request waits up to content_logs.max_wait for a span
// that has not arrived. Records that meet no span stay, their content in
// gen_ai.*.messages attributes under the content policy, flagged with the
// reason, so the exporter stores them as events.
func (p *traceProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	p.guardLogs(ctx, ld)
	var recs []contentLog
	var sources, services []string
	byKey := map[spanKey]*heldContent{}
	for _, rl := range ld.ResourceLogs().All() {
		service := strAttr(rl.Resource().Attributes(), "service.name")
		services = append(services, service)
		for _, sl := range rl.ScopeLogs().All() {
			learned := false
			for _, lr := range sl.LogRecords().All() {
				name := logEventName(lr)
				if !genai.ContentEvents[name] {
					continue
				}
				if !learned {
					sources = append(sources, sourceKey(service, sl.Scope().Name()))
					learned = true
				}
				key := spanKey{lr.TraceID(), lr.SpanID()}
				h := byKey[key]
				if h == nil {
					h = &heldContent{}
					byKey[key] = h
				}
				h.records++
				addRecordContent(h, name, lr)
				recs = append(recs, contentLog{lr: lr, key: key, held: h})
			}
		}
	}
	j := p.join
	now := clock().UnixNano()
	j.mu.Lock()
	for _, s := range services {
		j.learnService(s, now)
	}
	if len(recs) == 0 {
		j.mu.Unlock()
		return ld, nil
	}
	g := newWaitGroup()
	// Decide per span: every record of one span shares its fate.
	outcome := map[*heldContent]string{}
	for _, s := range sources {
		j.learnSource(s, now)
	}
	for key, h := range byKey {
		switch ws := j.spans[key]; {
		case key.t.IsEmpty() || key.s.IsEmpty():
			outcome[h] = "no_span_id"
		case j.cfg.LogsWait == 0:
			outcome[h] = "join_off"
		case ws != nil && !ws.settled:
			j.deliver(ws, h)
		default:
			if seen, content := p.recent.passed(key.t, key.s, now); seen {
				outcome[h] = "late"
				if content {
					outcome[h] = "already_on_span"
				}
			} else if j.held+h.records <= j.cfg.MaxHeld {
				j.logs[key] = append(j.logs[key], h)
				j.held += h.records
				h.group = g
				g.outstanding++
				g.wait = j.cfg.LogsWait
			} else {
				outcome[h] = "overflow"
			}
		}
	}
	need := g.outstanding > 0
	j.mu.Unlock()
	j.wait(ctx, g, need)
	j.mu.Lock()
	for key, h := range byKey {
		if h.group == nil {
			continue
		}
		j.held -= h.records
		if h.claimed {
			continue
		}
		list := j.logs[key]
		for i, x := range list {
			if x == h {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(j.logs, key)
		} else {
			j.logs[key] = list
		}
	}
	j.mu.Unlock()
	merged := map[plog.LogRecord]bool{}
	counts := map[string]int64{}
	for i := range recs {
		r := &recs[i]
		switch {
		case r.held.claimed:
			r.outcome = "merged"
			merged[r.lr] = true
		case outcome[r.held] != "":
			r.outcome = outcome[r.held]
		default:
			r.outcome = "orphaned"
		}
		counts[r.outcome]++
	}
	for outcome, n := range counts {
		p.tel.contentLogs(ctx, outcome, n)
	}
	for i := range recs {
		if r := &recs[i]; r.outcome != "merged" {
			p.policeRecord(ctx, r)
		}
	}
	if len(merged) > 0 {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool { return merged[lr] })
			}
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		}
		ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().Len() == 0 })
	}
	return ld, nil
}

// addRecordContent reads a content record into the span's held content.
func addRecordContent(h *heldContent, name string, lr plog.LogRecord) {
	if name == genai.EventOperationDetails {
		for _, k := range [...]string{genai.InputMessages, genai.OutputMessages, genai.SystemInstructions} {
			if v, ok := lr.Attributes().Get(k); ok {
				if h.attrs == nil {
					h.attrs = map[string]string{}
				}
				h.attrs[k] = contentText(v)
			}
		}
		return
	}
	msg, output, ok := genai.EventMessage(name, lr.Body().AsRaw())
	if !ok {
		return
	}
	if output {
		h.out = append(h.out, msg)
	} else {
		h.in = append(h.in, msg)
	}
}

// policeRecord prepares a content record that met no span for storage:
// its content moves to gen_ai.*.messages attributes, the body is emptied,
// and the content policy runs on it as on span content.
func (p *traceProcessor) policeRecord(ctx context.Context, r *contentLog) {
	attrs := r.lr.Attributes()
	attrs.PutStr(genai.AIOpsContentJoin, r.outcome)
	name := logEventName(r.lr)
	if name != genai.EventOperationDetails {
		msg, output, ok := genai.EventMessage(name, r.lr.Body().AsRaw())
		if ok {
			key := genai.InputMessages
			if output {
				key = genai.OutputMessages
			}
			attrs.PutStr(key, genai.EncodeMessages([]genai.Message{msg}))
		}
		r.lr.Body().SetStr("")
	}
	w := p.pool.Get().(*workspace)
	defer p.pool.Put(w)
	w.res.Reset()
	changed := false
	for _, k := range [...]string{genai.InputMessages, genai.OutputMessages, genai.SystemInstructions} {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		s := contentText(v)
		if p.digest || len(s) > p.maxScan {
			attrs.Remove(k)
			changed = true
			continue
		}
		if out, rewritten := p.policy.Apply(&w.pol, s, k != genai.OutputMessages, &w.res); rewritten {
			attrs.PutStr(k, out)
			changed = true
		} else if v.Type() != pcommon.ValueTypeStr {
			attrs.PutStr(k, s)
		}
	}
	if w.res.Drop {
		for _, k := range [...]string{genai.InputMessages, genai.OutputMessages, genai.SystemInstructions} {
			attrs.Remove(k)
		}
	}
	if w.res.Found != 0 {
		flags := attrs.PutEmptySlice(genai.AIOpsPolicyFlags)
		for d := policy.Detector(0); d < policy.NumDetectors; d++ {
			if w.res.Found.Has(d) {
				flags.AppendEmpty().SetStr(d.Name())
				p.tel.hits.Add(ctx, int64(w.res.Counts[d]), p.tel.hitOpts[d])
			}
		}
	}
	if changed || w.res.Drop {
		attrs.PutStr(genai.AIOpsContentCapture, "redacted")
	} else {
		attrs.PutStr(genai.AIOpsContentCapture, "full")
	}
}

// logEventName is a log record's event name: the EventName field, or the
// event.name attribute older SDKs write.
func logEventName(lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	return strAttr(lr.Attributes(), "event.name")
}
