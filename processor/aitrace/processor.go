package aitrace

import (
	"context"
	"sort"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai/policy"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

// Key flags: what an attribute key tells the span pass.
const (
	fContent       uint16 = 1 << iota // message content: scanned by the policy
	fOutput                           // content produced by the model (no injection scan)
	fTotal                            // a total token count
	fMsgSource                        // JSON or text that can become structured messages
	fRetrieval                        // retrieval documents
	fSignal                           // a provider or framework policy signal
	fStream                           // a streaming marker
	fLangfuseUsage                    // Langfuse usage or cost details (JSON)
	fInvocation                       // OpenInference invocation parameters (JSON)
)

// keyInfo is what the span pass knows about one attribute key.
type keyInfo struct {
	rules  []ruleRef
	target int // bit in the present-targets set, or -1
	flags  uint16
}

type traceProcessor struct {
	cfg       *Config
	logger    *zap.Logger
	names     []string // enabled dialects, in table order
	index     map[string]*keyInfo
	table     keyTable
	bloom     [64]uint64
	targets   []string // keys whose presence the span pass records
	policy    *policy.Policy
	digest    bool
	maxScan   int
	loopMin   int
	tel       telemetry
	prints    fingerprints
	normNames sync.Map // bit set of tables → "dialect,dialect"
	pool      sync.Pool
	recent    *recentSpans
	join      *joiner
	// groupScratch is reused by dedupe under recent.mu.
	groupScratch traceGroup
	loggedMu     sync.Mutex
	logged       map[string]bool
}

type telemetry struct {
	spans, mapped, malformed, hits, dups metric.Int64Counter
	content, guarded                     metric.Int64Counter
	contentOpts                          sync.Map // outcome → option
	guardOpts                            sync.Map // guard kind → option
	genai, other                         metric.MeasurementOption
	dialect                              []metric.MeasurementOption // by table index; last is custom
	hitOpts                              [policy.NumDetectors]metric.MeasurementOption
	signalOpts                           sync.Map // signal name → option
	kindOpts                             sync.Map // malformed kind → option
	dupOpts                              sync.Map
}

func newProcessor(cfg *Config, set component.TelemetrySettings) (*traceProcessor, error) {
	actions, err := cfg.actions()
	if err != nil {
		return nil, err
	}
	pol, err := policy.New(actions, []byte(cfg.Policy.HashKey), cfg.Policy.MinBase64Length)
	if err != nil {
		return nil, err
	}
	p := &traceProcessor{
		cfg: cfg, logger: set.Logger, index: map[string]*keyInfo{}, policy: pol,
		digest: cfg.Content.Capture == captureDigest, maxScan: cfg.Content.MaxScanBytes,
		loopMin: cfg.Agent.LoopThreshold, logged: map[string]bool{},
		recent: newRecentSpans(cfg.SpanMemory.MaxSpans, cfg.SpanMemory.Window),
		join:   newJoiner(cfg.Join),
	}
	if p.maxScan == 0 {
		p.maxScan = 4 << 20
	}
	if p.loopMin == 0 {
		p.loopMin = 3
	}
	p.prints.seen = map[fpKey]string{}
	p.pool.New = func() any { return newWorkspace() }
	for _, k := range fixedTargets {
		p.track(k)
	}
	enabled := map[string]bool{}
	for _, d := range cfg.Dialects {
		enabled[d] = true
	}
	for _, d := range dialectOrder {
		if len(enabled) == 0 || enabled[d] {
			p.names = append(p.names, d)
		}
	}
	for ti, d := range p.names {
		for pi, r := range dialectTables[d] {
			p.addRule(ruleRef{table: ti, prio: pi, r: r})
		}
	}
	custom := make([]string, 0, len(cfg.CustomMappings))
	for from := range cfg.CustomMappings {
		custom = append(custom, from)
	}
	sort.Strings(custom)
	for pi, from := range custom {
		p.addRule(ruleRef{table: len(p.names), prio: pi, r: rename{from: from, to: cfg.CustomMappings[from]}})
	}
	p.buildKeyFlags()
	p.table = newKeyTable(p.index)
	for k := range p.index {
		if k != "" {
			p.bloom[len(k)&63] |= 1 << ((k[0] ^ k[len(k)-1]) & 63)
		}
	}
	if err := p.tel.init(set, p.names, pol); err != nil {
		return nil, err
	}
	return p, nil
}

// lookup finds a key's entry. A bloom filter on (length, first and last
// byte) answers most keys that are not in the index without hashing them.
func (p *traceProcessor) lookup(k string) (*keyInfo, bool) {
	if len(k) == 0 || p.bloom[len(k)&63]&(1<<((k[0]^k[len(k)-1])&63)) == 0 {
		return nil, false
	}
	return p.table.get(k)
}

func (p *traceProcessor) info(k string) *keyInfo {
	ki, ok := p.index[k]
	if !ok {
		ki = &keyInfo{target: -1}
		p.index[k] = ki
	}
	return ki
}

func (p *traceProcessor) addRule(ref ruleRef) {
	p.track(ref.r.to)
	ref.toIdx = p.index[ref.r.to].target
	ki := p.info(ref.r.from)
	ki.rules = append(ki.rules, ref)
}

// track records the presence of k during the span pass, so renames can
// honour the no-overwrite rule without a lookup per rename.
func (p *traceProcessor) track(k string) {
	ki := p.info(k)
	if ki.target < 0 && len(p.targets) < maxTargets {
		ki.target = len(p.targets)
		p.targets = append(p.targets, k)
	}
}

const maxTargets = 128

// Content keys: attributes that carry prompt, response or tool text.
var (
	inputContentKeys = []string{
		genai.InputMessages, genai.SystemInstructions, genai.ToolCallResult, genai.RetrievalQueryText, genai.RetrievalDocuments,
		"gen_ai.prompt", "input.value", "ai.prompt", "ai.prompt.messages", "ai.toolCall.result", "ai.toolCall.output",
		"langfuse.observation.input", "traceloop.entity.input", "llm.prompt_template.variables",
	}
	outputContentKeys = []string{
		genai.OutputMessages, genai.ToolCallArguments, "gen_ai.completion", "output.value", "ai.response.text",
		"ai.response.toolCalls", "ai.response.object", "ai.toolCall.args", "ai.toolCall.input",
		"langfuse.observation.output", "traceloop.entity.output", "tool_call.function.arguments", "gen_ai.tool.args",
	}
)

func (p *traceProcessor) buildKeyFlags() {
	for _, k := range inputContentKeys {
		p.info(k).flags |= fContent
	}
	for _, k := range outputContentKeys {
		p.info(k).flags |= fContent | fOutput
	}
	for _, k := range []string{genai.InputMessages, genai.OutputMessages, "gen_ai.prompt", "gen_ai.completion", "ai.prompt", "ai.prompt.messages",
		"ai.response.text", "ai.response.toolCalls", "langfuse.observation.input", "langfuse.observation.output", "input.value", "output.value"} {
		p.info(k).flags |= fMsgSource
		p.track(k)
	}
	for _, k := range totalKeys {
		p.info(k).flags |= fTotal
	}
	p.info(genai.RetrievalDocuments).flags |= fRetrieval
	for _, k := range []string{genai.BedrockGuardrailID, genai.FinishReasons} {
		p.info(k).flags |= fSignal
	}
	for _, k := range []string{"ai.response.msToFirstChunk", "ai.stream.msToFirstChunk", "gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"} {
		p.info(k).flags |= fStream
	}
	for _, k := range []string{"langfuse.observation.usage_details", "langfuse.observation.cost_details"} {
		p.info(k).flags |= fLangfuseUsage
	}
	p.info("llm.invocation_parameters").flags |= fInvocation
	for _, k := range []string{genai.OperationName, genai.ProviderName, genai.RequestModel, genai.ResponseModel, genai.RequestStream,
		genai.ErrorType, genai.InputTokens, genai.OutputTokens, genai.CacheReadTokens, genai.CacheCreateTokens, genai.CacheWriteTokens,
		genai.ReasoningTokens, genai.UsageCost, genai.FinishReasons, genai.SystemFingerprint, genai.DataSourceID, genai.ToolName,
		genai.ToolCallArguments, genai.AgentName, "input.mime_type", "output.mime_type", genai.OISpanKind, genai.TraceloopKind,
		"traceloop.entity.name", "ai.operationId", "langfuse.observation.type", genai.RequestMaxTokens, genai.RequestTemperature,
		"http.response.status_code", "http.status_code", genai.AIOpsRetrievalDocs} {
		p.track(k)
	}
}

func (t *telemetry) init(set component.TelemetrySettings, names []string, pol *policy.Policy) error {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var err error
	if t.spans, err = meter.Int64Counter("aiops_aitrace_spans", metric.WithDescription("Spans seen, by kind (genai or other)."), metric.WithUnit("{spans}")); err != nil {
		return err
	}
	if t.mapped, err = meter.Int64Counter("aiops_aitrace_dialect_mapped", metric.WithDescription("GenAI spans on which a dialect's keys were mapped to current semconv."), metric.WithUnit("{spans}")); err != nil {
		return err
	}
	if t.malformed, err = meter.Int64Counter("aiops_aitrace_malformed", metric.WithDescription("Unusable or impossible input found on GenAI spans, by kind."), metric.WithUnit("{values}")); err != nil {
		return err
	}
	if t.hits, err = meter.Int64Counter("aiops_aitrace_policy_hits", metric.WithDescription("Policy findings, by detector and the action taken."), metric.WithUnit("{findings}")); err != nil {
		return err
	}
	if t.dups, err = meter.Int64Counter("aiops_aitrace_usage_duplicates", metric.WithDescription("Spans whose usage repeats another span's and was moved out of gen_ai.usage.*, by reason."), metric.WithUnit("{spans}")); err != nil {
		return err
	}
	if t.content, err = meter.Int64Counter("aiops_aitrace_content_logs", metric.WithDescription("Message content log records, by what became of them: merged into their span, or stored apart as late, orphaned, already_on_span, overflow, no_span_id or join_off."), metric.WithUnit("{records}")); err != nil {
		return err
	}
	if t.guarded, err = meter.Int64Counter("aiops_aitrace_input_guarded", metric.WithDescription("Client input changed before processing, by kind: reserved_attribute and reserved_event (aiops.* renamed to client.*), too_deep (nested values replaced by their digest), too_large (non-content text cut)."), metric.WithUnit("{values}")); err != nil {
		return err
	}
	t.genai = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "genai")))
	t.other = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "other")))
	for _, n := range append(append([]string{}, names...), "custom") {
		t.dialect = append(t.dialect, metric.WithAttributeSet(attribute.NewSet(attribute.String("dialect", n))))
	}
	for d := policy.Detector(0); d < policy.NumDetectors; d++ {
		t.hitOpts[d] = metric.WithAttributeSet(attribute.NewSet(attribute.String("detector", d.Name()), attribute.String("action", pol.Action(d).String())))
	}
	return nil
}

func (t *telemetry) contentLogs(ctx context.Context, outcome string, n int64) {
	t.content.Add(ctx, n, cachedOpt(&t.contentOpts, func() metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
	}, outcome))
}

func cachedOpt(m *sync.Map, build func() metric.MeasurementOption, key string) metric.MeasurementOption {
	if v, ok := m.Load(key); ok {
		return v.(metric.MeasurementOption)
	}
	v, _ := m.LoadOrStore(key, build())
	return v.(metric.MeasurementOption)
}

func (p *traceProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	p.guardTraces(ctx, td)
	if p.cfg.Join.LogsWait > 0 || p.cfg.Join.ParentWait > 0 {
		p.joinTraces(ctx, td)
	}
	var nOther int64
	var w *workspace
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			scope := uint32(0)
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !isGenAISpan(span) {
					nOther++
					continue
				}
				if w == nil {
					w = p.pool.Get().(*workspace)
					w.reset(len(p.names) + 1)
				}
				if scope == 0 {
					name := sss.At(j).Scope().Name()
					scope = hash32(name) | 1
					w.profile = profileFor(name)
				}
				w.scope = scope
				p.normalize(ctx, w, span)
			}
		}
	}
	if nOther > 0 {
		p.tel.spans.Add(ctx, nOther, p.tel.other)
	}
	if w == nil {
		return td, nil
	}
	p.batch(ctx, w)
	p.tel.spans.Add(ctx, int64(len(w.spans)), p.tel.genai)
	for i, n := range w.mappedBy {
		if n > 0 {
			p.tel.mapped.Add(ctx, n, p.tel.dialect[i])
		}
	}
	w.release()
	p.pool.Put(w)
	return td, nil
}

// malformed counts one unusable input, records it on the span's summary and
// logs the first of each kind.
func (p *traceProcessor) malformed(ctx context.Context, w *workspace, kind, key string) {
	w.addMalformed(kind)
	p.tel.malformed.Add(ctx, 1, cachedOpt(&p.tel.kindOpts, func() metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", kind)))
	}, kind))
	p.loggedMu.Lock()
	first := !p.logged[kind]
	p.logged[kind] = true
	p.loggedMu.Unlock()
	if first {
		p.logger.Warn("malformed GenAI input; counted in aiops_aitrace_malformed and flagged in aiops.malformed (logged once per kind)",
			zap.String("kind", kind), zap.String("key", key))
	}
}

func init() {
	// The fixed slots must be the first tracked keys.
	p := &traceProcessor{index: map[string]*keyInfo{}}
	for i, k := range fixedTargets {
		p.track(k)
		if p.index[k].target != i {
			panic("aitrace: fixed presence slot out of order: " + k)
		}
	}
}
