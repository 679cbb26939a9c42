package aitrace

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// joiner brings together what belongs to one span but arrives apart:
//   - message content that an instrumentation sends as OTLP log records
//     (the official OpenAI instrumentations, Elastic's), and
//   - the attribution of a provider SDK's own span, which an outer
//     instrumentation layer carries on the parent span.
//
// Either side may arrive first and in another request. The request that
// arrives first waits, up to maxWait, for the other; it is acknowledged
// only after that, so nothing is held in memory that the client believes
// stored. What never meets is passed on as it is and counted.
type joiner struct {
	mu       sync.Mutex
	cfg      JoinConfig
	held     int
	logs     map[spanKey][]*heldContent // content waiting for its span
	spans    map[spanKey]*waitingSpan   // spans waiting for their content
	parents  map[spanKey][]*waitingSpan // spans waiting for their parent, by (trace, parent id)
	sources  map[string]*sourceState    // by service and scope
	services map[string]int64           // service → when it last exported any logs
	closed   chan struct{}
	once     sync.Once
}

// heldContent is the content of one log request's records for one span.
type heldContent struct {
	in, out []genai.Message
	attrs   map[string]string // gen_ai.*.messages already in semconv form (operation details)
	records int
	group   *waitGroup
	claimed bool
}

// complete reports whether content got so far is a whole call's: the
// per-call details event, or input and (unless the call failed) output.
// One call's records may come in several requests.
func complete(got []*heldContent, failed bool) bool {
	in, out := false, failed
	for _, h := range got {
		if h.attrs != nil {
			return true
		}
		in = in || len(h.in) > 0
		out = out || len(h.out) > 0
	}
	return in && out
}

// deliver hands content to a waiting span, releasing it once complete.
// The caller holds mu.
func (j *joiner) deliver(ws *waitingSpan, h *heldContent) {
	ws.got = append(ws.got, h)
	h.claimed = true
	if complete(ws.got, ws.span.Status().Code() == ptrace.StatusCodeError) {
		ws.settled = true
		ws.group.settle()
		delete(j.spans, spanKey{ws.span.TraceID(), ws.span.SpanID()})
	}
}

type waitingSpan struct {
	span       ptrace.Span
	got        []*heldContent
	group      *waitGroup
	needLogs   bool
	needParent bool
	source     string // its service and scope, for a wait in vain
	settled    bool   // released by a delivery or the deadline
}

// waitGroup is one request's wait: it ends when nothing it waits for is
// outstanding, or at the deadline.
type waitGroup struct {
	outstanding int
	wait        time.Duration // the longest wait among its waiters
	done        chan struct{}
}

func newWaitGroup() *waitGroup { return &waitGroup{done: make(chan struct{})} }

func (g *waitGroup) settle() {
	g.outstanding--
	if g.outstanding == 0 {
		close(g.done)
	}
}

// sourceState is what a service and scope were seen to do.
type sourceState struct {
	lastLogs    int64 // when content logs last came from it (unix ns)
	vain        int   // waits in a row that got no content
	noLogsUntil int64 // its spans waited in vain too often: do not wait before this
}

const (
	maxSources    = 4096
	sourceMemory  = int64(time.Hour)
	noLogsBackoff = int64(10 * time.Minute)
	vainWaits     = 3 // waits in a row without content before the backoff
)

func newJoiner(cfg JoinConfig) *joiner {
	return &joiner{cfg: cfg, logs: map[spanKey][]*heldContent{}, spans: map[spanKey]*waitingSpan{},
		parents: map[spanKey][]*waitingSpan{}, sources: map[string]*sourceState{}, services: map[string]int64{}, closed: make(chan struct{})}
}

func (j *joiner) close() { j.once.Do(func() { close(j.closed) }) }

// wait blocks until g has nothing outstanding, the deadline, shutdown, or
// the client gave up on its request. need is whether g had anything
// outstanding when mu was released.
func (j *joiner) wait(ctx context.Context, g *waitGroup, need bool) {
	if !need {
		return
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case <-g.done:
	case <-t.C:
	case <-j.closed:
	case <-ctx.Done():
	}
}

func sourceKey(service, scope string) string { return service + "\x00" + scope }

func (j *joiner) source(key string) *sourceState {
	st := j.sources[key]
	if st == nil {
		if len(j.sources) >= maxSources {
			clear(j.sources)
		}
		st = &sourceState{}
		j.sources[key] = st
	}
	return st
}

// learnSource records that a service and scope send content as logs. The
// caller holds mu.
func (j *joiner) learnSource(key string, now int64) {
	st := j.source(key)
	st.lastLogs, st.vain, st.noLogsUntil = now, 0, 0
}

// learnService records that a service exports logs at all. The caller
// holds mu.
func (j *joiner) learnService(service string, now int64) {
	if _, ok := j.services[service]; !ok && len(j.services) >= maxSources {
		clear(j.services)
	}
	j.services[service] = now
}

// expectsLogs reports whether spans of this source should wait for content
// logs: it sent some within the hour, or its library always does and the
// service exports logs, unless its spans waited in vain too often. An app
// that exports no logs never waits. The caller holds mu.
func (j *joiner) expectsLogs(service, key string, prof *libraryProfile, now int64) bool {
	st := j.sources[key]
	if st != nil && now < st.noLogsUntil {
		return false
	}
	if st != nil && now-st.lastLogs < sourceMemory {
		return true
	}
	t, ok := j.services[service]
	return prof != nil && prof.contentInLogs && ok && now-t < sourceMemory
}

// waitedInVain counts a wait that got no content, and stops waiting on the
// source after several in a row. The caller holds mu.
func (j *joiner) waitedInVain(key string, now int64) {
	st := j.source(key)
	if st.vain++; st.vain >= vainWaits {
		st.vain, st.noLogsUntil = 0, now+noLogsBackoff
	}
}

// attributionKeys are copied from a parent span onto a provider SDK's
// span that arrived alone, so costattr can attribute the call.
func isAttributionKey(k string) bool {
	switch k {
	case genai.UserID, "enduser.id", "tenant.id", "team", "feature", "session.id", genai.ConversationID, "llm.user", "langfuse.user.id", "langfuse.session.id":
		return true
	}
	return strings.HasPrefix(k, "traceloop.association.properties.") || strings.HasPrefix(k, "ai.telemetry.metadata.") ||
		strings.HasPrefix(k, "langfuse.trace.metadata.")
}

func hasAttribution(m pcommon.Map) bool {
	for k := range m.All() {
		if isAttributionKey(k) {
			return true
		}
	}
	return false
}

func copyAttribution(from, to pcommon.Map) {
	for k, v := range from.All() {
		if isAttributionKey(k) {
			if _, ok := to.Get(k); !ok {
				v.CopyTo(to.PutEmpty(k))
			}
		}
	}
}

// attach puts content delivered from log records on the span, where the
// span has none of its own: the policy then scans it with the rest.
func attach(span ptrace.Span, got []*heldContent) {
	attrs := span.Attributes()
	var in, out []genai.Message
	for _, h := range got {
		in = append(in, h.in...)
		out = append(out, h.out...)
		for k, v := range h.attrs {
			if _, ok := attrs.Get(k); !ok {
				attrs.PutStr(k, v)
			}
		}
	}
	if _, ok := attrs.Get(genai.InputMessages); !ok && len(in) > 0 {
		attrs.PutStr(genai.InputMessages, genai.EncodeMessages(in))
	}
	if _, ok := attrs.Get(genai.OutputMessages); !ok && len(out) > 0 {
		attrs.PutStr(genai.OutputMessages, genai.EncodeMessages(out))
	}
	attrs.PutStr(genai.AIOpsContentSource, "log_records")
}

// joinTraces runs before normalization. It gives spans the content that
// log records brought, waits for content a span's source is known to send
// as logs, and copies a parent's attribution onto a provider SDK span that
// arrived without its parent. It returns at once when nothing can join.
func (p *traceProcessor) joinTraces(ctx context.Context, td ptrace.Traces) {
	j := p.join
	rss := td.ResourceSpans()
	now := clock().UnixNano()
	j.mu.Lock()
	active := len(j.logs) > 0 || len(j.parents) > 0
	if !active && (j.cfg.LogsWait > 0 || j.cfg.ParentWait > 0) {
		for _, rs := range rss.All() {
			service := strAttr(rs.Resource().Attributes(), "service.name")
			for _, ss := range rs.ScopeSpans().All() {
				name := ss.Scope().Name()
				prof := profileFor(name)
				if j.cfg.LogsWait > 0 && j.expectsLogs(service, sourceKey(service, name), prof, now) || j.cfg.ParentWait > 0 && prof != nil && prof.innerLayer {
					active = true
					break
				}
			}
		}
	}
	if !active {
		j.mu.Unlock()
		return
	}
	g := newWaitGroup()
	var waiting []*waitingSpan
	var inRequest map[pcommon.SpanID]bool
	for _, rs := range rss.All() {
		service := strAttr(rs.Resource().Attributes(), "service.name")
		for _, ss := range rs.ScopeSpans().All() {
			scope := ss.Scope().Name()
			prof := profileFor(scope)
			src := sourceKey(service, scope)
			learned := j.cfg.LogsWait > 0 && j.expectsLogs(service, src, prof, now)
			for _, span := range ss.Spans().All() {
				key := spanKey{span.TraceID(), span.SpanID()}
				if ws := j.parents[key]; len(ws) > 0 {
					for _, w := range ws {
						if !w.settled {
							copyAttribution(span.Attributes(), w.span.Attributes())
							w.settled = true
							w.group.settle()
						}
					}
					delete(j.parents, key)
				}
				if !isGenAISpan(span) {
					continue
				}
				hs := j.logs[key]
				for _, h := range hs {
					h.claimed = true
					h.group.settle()
				}
				delete(j.logs, key)
				if len(hs) > 0 && complete(hs, span.Status().Code() == ptrace.StatusCodeError) {
					attach(span, hs)
				} else if len(hs) > 0 || learned && !hasContentAttr(span.Attributes()) {
					// Wait for the rest of its content, or all of it.
					ws := &waitingSpan{span: span, group: g, needLogs: true, source: src, got: hs}
					j.spans[key] = ws
					g.outstanding++
					g.wait = max(g.wait, j.cfg.LogsWait)
					waiting = append(waiting, ws)
				}
				if j.cfg.ParentWait > 0 && prof != nil && prof.innerLayer && !span.ParentSpanID().IsEmpty() && !hasAttribution(span.Attributes()) {
					if inRequest == nil {
						inRequest = spanIDs(td)
					}
					if !inRequest[span.ParentSpanID()] && !p.recent.knows(span.TraceID(), span.ParentSpanID(), now) {
						pk := spanKey{span.TraceID(), span.ParentSpanID()}
						ws := &waitingSpan{span: span, group: g, needParent: true}
						j.parents[pk] = append(j.parents[pk], ws)
						g.outstanding++
						g.wait = max(g.wait, j.cfg.ParentWait)
						waiting = append(waiting, ws)
					}
				}
			}
		}
	}
	need := g.outstanding > 0
	j.mu.Unlock()
	j.wait(ctx, g, need)
	j.mu.Lock()
	for _, ws := range waiting {
		if ws.settled {
			continue
		}
		ws.settled = true
		key := spanKey{ws.span.TraceID(), ws.span.SpanID()}
		if ws.needLogs && j.spans[key] == ws {
			delete(j.spans, key)
			if len(ws.got) == 0 {
				j.waitedInVain(ws.source, now)
			}
		}
		if ws.needParent {
			pk := spanKey{ws.span.TraceID(), ws.span.ParentSpanID()}
			list := j.parents[pk]
			for i, w := range list {
				if w == ws {
					list = append(list[:i], list[i+1:]...)
					break
				}
			}
			if len(list) == 0 {
				delete(j.parents, pk)
			} else {
				j.parents[pk] = list
			}
		}
	}
	j.mu.Unlock()
	for _, ws := range waiting {
		if len(ws.got) > 0 {
			attach(ws.span, ws.got)
		}
	}
}

func spanIDs(td ptrace.Traces) map[pcommon.SpanID]bool {
	ids := map[pcommon.SpanID]bool{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				ids[sp.SpanID()] = true
			}
		}
	}
	return ids
}

// hasContentAttr reports whether a span carries message content of its own.
func hasContentAttr(m pcommon.Map) bool {
	for _, k := range [...]string{genai.InputMessages, genai.OutputMessages, "gen_ai.prompt", "gen_ai.prompt.0.content", "input.value", "llm.input_messages.0.message.content"} {
		if _, ok := m.Get(k); ok {
			return true
		}
	}
	return false
}
