package aitrace

import (
	"context"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// The aiops.* namespace belongs to our processors: a client that sends
// aiops.usage.duplicate_of could zero a call's price, and a client's
// aiops.policy event would read as our own finding. Everything a client
// sends there is renamed under client.* before any of our code reads it,
// except the inputs our documentation invites.
const (
	reservedPrefix = "aiops."
	clientPrefix   = "client."
)

// Client inputs in the aiops.* namespace, by where they may appear.
var (
	// Workload attribution (costattr's span:/resource:aiops.workload).
	clientSpanKeys = map[string]bool{genai.AIOpsWorkload: true}
	// A dead-letter file re-sent keeps its insert token, so the replay is
	// idempotent.
	clientResourceKeys = map[string]bool{genai.AIOpsWorkload: true, "aiops.insert_token": true}
	// The evaluation and feedback records of the genai_feedback receiver,
	// which OTLP log clients may send the same way.
	clientLogKeys     = map[string]bool{genai.AIOpsWorkload: true, genai.AIOpsTenantID: true, genai.AIOpsUserID: true, "aiops.idempotency_key": true}
	clientLogPrefixes = []string{"aiops.feedback.", "aiops.evaluator."}
	// Log events our pipeline accepts from clients; other aiops.* names
	// (aiops.policy, aiops.budget) are ours alone.
	clientLogEvents = map[string]bool{"aiops.feedback": true}
)

// Application evidence: guardrail checks and budget gates that the
// application itself runs, as span events of its own names. aitrace
// raises them as our events with source=application, after checking them.
const (
	appGuardrailPrefix = "guardrail."
	appBudgetPrefix    = "budget."
	sourceApplication  = "application"
)

// Guard kinds, counted in aiops_aitrace_input_guarded.
const (
	guardReservedAttr  = "reserved_attribute"
	guardReservedEvent = "reserved_event"
	guardTooDeep       = "too_deep"
	guardTooLarge      = "too_large"
)

// guard is one request's tally.
type guard struct {
	counts map[string]int64
}

func (g *guard) add(kind string, n int) {
	if n == 0 {
		return
	}
	if g.counts == nil {
		g.counts = map[string]int64{}
	}
	g.counts[kind] += int64(n)
}

// guardMap renames reserved keys and bounds every value of m; it returns
// how many keys it renamed.
func (p *traceProcessor) guardMap(g *guard, m pcommon.Map, allowed func(string) bool) int {
	renamed := 0
	var move []string
	for k, v := range m.All() {
		if strings.HasPrefix(k, reservedPrefix) && !allowed(k) {
			move = append(move, k)
		}
		p.boundValue(g, k, v)
	}
	for _, k := range move {
		v, _ := m.Get(k)
		v.CopyTo(m.PutEmpty(clientPrefix + k))
		m.Remove(k)
		renamed++
	}
	g.add(guardReservedAttr, renamed)
	return renamed
}

// boundValue replaces what nests too deep and cuts long non-content text.
func (p *traceProcessor) boundValue(g *guard, k string, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
		g.add(guardTooDeep, anyvalue.Bound(v, p.cfg.Limits.MaxValueDepth))
	case pcommon.ValueTypeStr:
		if len(v.Str()) > p.cfg.Limits.MaxAttributeBytes {
			if c, _ := p.contentSide(k); !c {
				v.SetStr(anyvalue.Cut(v.Str(), p.cfg.Limits.MaxAttributeBytes))
				g.add(guardTooLarge, 1)
			}
		}
	}
}

func allowedSpanKey(k string) bool     { return clientSpanKeys[k] }
func allowedResourceKey(k string) bool { return clientResourceKeys[k] }
func allowedNone(string) bool          { return false }

func allowedLogKey(k string) bool {
	if clientLogKeys[k] {
		return true
	}
	for _, p := range clientLogPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// guardTraces runs before anything else reads the request.
func (p *traceProcessor) guardTraces(ctx context.Context, td ptrace.Traces) {
	var g guard
	for _, rs := range td.ResourceSpans().All() {
		p.guardMap(&g, rs.Resource().Attributes(), allowedResourceKey)
		for _, ss := range rs.ScopeSpans().All() {
			p.guardMap(&g, ss.Scope().Attributes(), allowedNone)
			for _, span := range ss.Spans().All() {
				n := p.guardMap(&g, span.Attributes(), allowedSpanKey)
				events := span.Events()
				// Events raised below are ours: the loop ends before them.
				for i, end := 0, events.Len(); i < end; i++ {
					ev := events.At(i)
					p.guardMap(&g, ev.Attributes(), allowedNone)
					name := ev.Name()
					switch {
					case strings.HasPrefix(name, reservedPrefix):
						ev.SetName(clientPrefix + name)
						g.add(guardReservedEvent, 1)
						n++
					case strings.HasPrefix(name, appGuardrailPrefix):
						appGuardrail(span, ev)
					case strings.HasPrefix(name, appBudgetPrefix):
						appBudget(span, ev)
					}
				}
				for _, l := range span.Links().All() {
					p.guardMap(&g, l.Attributes(), allowedNone)
				}
				if n > 0 {
					span.Attributes().PutInt(genai.AIOpsReservedRenamed, int64(n))
				}
			}
		}
	}
	p.reportGuard(ctx, &g)
}

// guardLogs is guardTraces for log records.
func (p *traceProcessor) guardLogs(ctx context.Context, ld plog.Logs) {
	var g guard
	for _, rl := range ld.ResourceLogs().All() {
		p.guardMap(&g, rl.Resource().Attributes(), allowedResourceKey)
		for _, sl := range rl.ScopeLogs().All() {
			p.guardMap(&g, sl.Scope().Attributes(), allowedNone)
			for _, lr := range sl.LogRecords().All() {
				n := p.guardMap(&g, lr.Attributes(), allowedLogKey)
				switch b := lr.Body(); b.Type() {
				case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
					g.add(guardTooDeep, anyvalue.Bound(b, p.cfg.Limits.MaxValueDepth))
				}
				if name := lr.EventName(); strings.HasPrefix(name, reservedPrefix) && !clientLogEvents[name] {
					lr.SetEventName(clientPrefix + name)
					g.add(guardReservedEvent, 1)
					n++
				}
				// Older SDKs name the event in an attribute.
				if v, ok := lr.Attributes().Get("event.name"); ok && v.Type() == pcommon.ValueTypeStr &&
					strings.HasPrefix(v.Str(), reservedPrefix) && !clientLogEvents[v.Str()] {
					v.SetStr(clientPrefix + v.Str())
					g.add(guardReservedEvent, 1)
					n++
				}
				if n > 0 {
					lr.Attributes().PutInt(genai.AIOpsReservedRenamed, int64(n))
				}
			}
		}
	}
	p.reportGuard(ctx, &g)
}

func (p *traceProcessor) reportGuard(ctx context.Context, g *guard) {
	for kind, n := range g.counts {
		p.tel.guarded.Add(ctx, n, cachedOpt(&p.tel.guardOpts, func() metric.MeasurementOption {
			return metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", kind)))
		}, kind))
		p.loggedMu.Lock()
		first := !p.logged["guard:"+kind]
		p.logged["guard:"+kind] = true
		p.loggedMu.Unlock()
		if first {
			p.logger.Warn("input bounded or renamed before processing; counted in aiops_aitrace_input_guarded and flagged on the record (logged once per kind)",
				zap.String("kind", kind))
		}
	}
}

// guardrailActions are the outcomes an application's guardrail may report.
var guardrailActions = map[string]bool{"allow": true, "block": true, "flag": true, "mask": true, "redact": true, "detect": true}

// appGuardrail raises an application's guardrail.* span event as our
// aiops.policy event, so checks run by the application count as filtering.
func appGuardrail(span ptrace.Span, ev ptrace.SpanEvent) {
	action := "detect"
	if v, ok := ev.Attributes().Get("guardrail.action"); ok && guardrailActions[strings.ToLower(v.AsString())] {
		action = strings.ToLower(v.AsString())
	}
	out := span.Events().AppendEmpty()
	out.SetName(genai.AIOpsPolicyEvent)
	out.SetTimestamp(ev.Timestamp())
	a := out.Attributes()
	a.PutStr(genai.AIOpsPolicyName, anyvalue.Cut(ev.Name(), 128))
	a.PutStr(genai.AIOpsPolicyEventAction, action)
	a.PutStr("aiops.policy.severity", "info")
	a.PutStr(genai.AIOpsPolicySource, sourceApplication)
}

// appBudget raises an application's budget.* span event (its own budget
// gate) as our aiops.budget event.
func appBudget(span ptrace.Span, ev ptrace.SpanEvent) {
	in := ev.Attributes()
	str := func(k string) string {
		if v, ok := in.Get(k); ok {
			return anyvalue.Cut(v.AsString(), 256)
		}
		return ""
	}
	rule := str("budget.rule")
	if rule == "" {
		rule = anyvalue.Cut(ev.Name(), 128)
	}
	out := span.Events().AppendEmpty()
	out.SetName("aiops.budget")
	out.SetTimestamp(ev.Timestamp())
	a := out.Attributes()
	a.PutStr("aiops.budget.name", rule)
	a.PutStr("aiops.budget.rule", rule)
	a.PutStr("aiops.budget.source", sourceApplication)
	for _, k := range [...]string{"key", "state", "action"} {
		if s := str("budget." + k); s != "" {
			a.PutStr("aiops.budget."+k, s)
		}
	}
	for _, k := range [...]string{"spent_usd", "limit_usd"} {
		if f, err := strconv.ParseFloat(str("budget."+k), 64); err == nil && f >= 0 && f < 1e12 {
			a.PutDouble("aiops.budget."+k, f)
		}
	}
}
