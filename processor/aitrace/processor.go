package aitrace

import (
	"context"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

type conv uint8

const (
	asIs conv = iota
	toInt
	toProvider
	toOperation
)

// rename maps one dialect key to its current name.
type rename struct {
	from, to string
	conv     conv
	usage    bool // a token count; skipped on wrapper spans that sum their children
}

// dialectTables lists, per dialect, keys in priority order: when two keys map
// to one target, the first present wins and the later one is left alone.
var dialectTables = map[string][]rename{
	"semconv_legacy": {
		{from: genai.System, to: genai.ProviderName, conv: toProvider},
		{from: genai.PromptTokens, to: genai.InputTokens, conv: toInt, usage: true},
		{from: genai.CompletionTokens, to: genai.OutputTokens, conv: toInt, usage: true},
		{from: genai.CacheWriteTokens, to: genai.CacheCreateTokens, conv: toInt, usage: true},
		{from: "gen_ai.openai.request.service_tier", to: "openai.request.service_tier"},
		{from: "gen_ai.openai.response.service_tier", to: "openai.response.service_tier"},
		{from: "gen_ai.openai.response.system_fingerprint", to: "openai.response.system_fingerprint"},
	},
	"openllmetry": {
		{from: "gen_ai.usage.cache_read_input_tokens", to: genai.CacheReadTokens, conv: toInt, usage: true},
		{from: "gen_ai.usage.cache_creation_input_tokens", to: genai.CacheCreateTokens, conv: toInt, usage: true},
		{from: "llm.request.type", to: genai.OperationName, conv: toOperation},
	},
	"openinference": {
		{from: genai.OIModelName, to: genai.RequestModel},
		{from: genai.OIProvider, to: genai.ProviderName, conv: toProvider},
		{from: genai.OISystem, to: genai.ProviderName, conv: toProvider},
		{from: genai.OIPromptTokens, to: genai.InputTokens, conv: toInt, usage: true},
		{from: genai.OICompletionTok, to: genai.OutputTokens, conv: toInt, usage: true},
		{from: "llm.token_count.prompt_details.cache_read", to: genai.CacheReadTokens, conv: toInt, usage: true},
		{from: "llm.token_count.prompt_details.cache_write", to: genai.CacheCreateTokens, conv: toInt, usage: true},
		{from: "llm.token_count.completion_details.reasoning", to: genai.ReasoningTokens, conv: toInt, usage: true},
		{from: "session.id", to: genai.ConversationID},
		{from: "llm.prompt_template.version", to: genai.PromptVersion},
		{from: genai.OISpanKind, to: genai.OperationName, conv: toOperation},
	},
	"vercel_ai": {
		{from: "ai.model.id", to: genai.RequestModel},
		{from: "ai.model.provider", to: genai.ProviderName, conv: toProvider},
		{from: "ai.response.model", to: genai.ResponseModel},
		{from: "ai.usage.inputTokens", to: genai.InputTokens, conv: toInt, usage: true},
		{from: "ai.usage.promptTokens", to: genai.InputTokens, conv: toInt, usage: true},
		{from: "ai.usage.outputTokens", to: genai.OutputTokens, conv: toInt, usage: true},
		{from: "ai.usage.completionTokens", to: genai.OutputTokens, conv: toInt, usage: true},
		{from: "ai.usage.cachedInputTokens", to: genai.CacheReadTokens, conv: toInt, usage: true},
		{from: "ai.usage.reasoningTokens", to: genai.ReasoningTokens, conv: toInt, usage: true},
		{from: "ai.operationId", to: genai.OperationName, conv: toOperation},
	},
	"langfuse": {
		{from: "langfuse.session.id", to: genai.ConversationID},
		{from: "langfuse.observation.model.name", to: genai.RequestModel},
		{from: "langfuse.observation.prompt.name", to: genai.PromptName},
		{from: "langfuse.observation.prompt.version", to: genai.PromptVersion},
	},
}

// dialectOrder fixes the mapping order so results do not depend on map order.
var dialectOrder = []string{"semconv_legacy", "openllmetry", "openinference", "vercel_ai", "langfuse"}

var operations = map[string]bool{
	"chat": true, "generate_content": true, "text_completion": true, "embeddings": true, "retrieval": true,
	"create_agent": true, "invoke_agent": true, "execute_tool": true, "invoke_workflow": true,
}

// operationAliases maps dialect kinds and ids to gen_ai.operation.name.
var operationAliases = map[string]string{
	// OpenInference span kinds
	"LLM": "chat", "EMBEDDING": "embeddings", "RETRIEVER": "retrieval", "TOOL": "execute_tool",
	"AGENT": "invoke_agent", "CHAIN": "invoke_workflow",
	// Traceloop llm.request.type
	"completion": "text_completion", "embedding": "embeddings", "rerank": "retrieval",
	// Vercel AI SDK provider-call operation ids
	"ai.generateText.doGenerate": "chat", "ai.streamText.doStream": "chat",
	"ai.generateObject.doGenerate": "chat", "ai.streamObject.doStream": "chat",
	"ai.embed.doEmbed": "embeddings", "ai.embedMany.doEmbed": "embeddings", "ai.toolCall": "execute_tool",
}

type traceProcessor struct {
	cfg     *Config
	logger  *zap.Logger
	tables  [][]rename
	names   []string
	custom  []rename
	spans   metric.Int64Counter
	mapped  metric.Int64Counter
	badVals metric.Int64Counter
	attrs   struct{ genai, other metric.MeasurementOption }
	dialect map[string]metric.MeasurementOption
	logged  sync.Map // malformed kinds already logged
}

func newProcessor(cfg *Config, set component.TelemetrySettings) (*traceProcessor, error) {
	p := &traceProcessor{cfg: cfg, logger: set.Logger, dialect: map[string]metric.MeasurementOption{}}
	enabled := map[string]bool{}
	for _, d := range cfg.Dialects {
		enabled[d] = true
	}
	for _, d := range dialectOrder {
		if len(enabled) == 0 || enabled[d] {
			p.tables = append(p.tables, dialectTables[d])
			p.names = append(p.names, d)
			p.dialect[d] = metric.WithAttributeSet(attribute.NewSet(attribute.String("dialect", d)))
		}
	}
	for from, to := range cfg.CustomMappings {
		p.custom = append(p.custom, rename{from: from, to: to})
	}
	p.dialect["custom"] = metric.WithAttributeSet(attribute.NewSet(attribute.String("dialect", "custom")))
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var err error
	if p.spans, err = meter.Int64Counter("aiops_aitrace_spans", metric.WithDescription("Spans seen, by kind (genai or other)."), metric.WithUnit("{spans}")); err != nil {
		return nil, err
	}
	if p.mapped, err = meter.Int64Counter("aiops_aitrace_dialect_mapped", metric.WithDescription("GenAI spans on which a dialect's keys were mapped to current semconv."), metric.WithUnit("{spans}")); err != nil {
		return nil, err
	}
	if p.badVals, err = meter.Int64Counter("aiops_aitrace_malformed", metric.WithDescription("Attribute values that could not be used, by kind."), metric.WithUnit("{values}")); err != nil {
		return nil, err
	}
	p.attrs.genai = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "genai")))
	p.attrs.other = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "other")))
	return p, nil
}

func (p *traceProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var nGenAI, nOther int64
	mappedBy := make([]int64, len(p.names)+1)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !genai.IsGenAI(span.Attributes()) {
					nOther++
					continue
				}
				nGenAI++
				p.normalize(ctx, span, mappedBy)
			}
		}
	}
	p.spans.Add(ctx, nGenAI, p.attrs.genai)
	p.spans.Add(ctx, nOther, p.attrs.other)
	for i, n := range mappedBy {
		if n == 0 {
			continue
		}
		name := "custom"
		if i < len(p.names) {
			name = p.names[i]
		}
		p.mapped.Add(ctx, n, p.dialect[name])
	}
	return td, nil
}

func (p *traceProcessor) normalize(ctx context.Context, span ptrace.Span, mappedBy []int64) {
	attrs := span.Attributes()
	// Framework wrapper spans (the AI SDK's ai.generateText around its
	// ai.generateText.doGenerate) repeat their children's usage; counting
	// it again would double the cost.
	wrapper := false
	if op, ok := attrs.Get("ai.operationId"); ok {
		wrapper = !strings.Contains(op.Str(), ".do")
	}
	var applied []string
	for ti, table := range p.tables {
		if p.apply(ctx, attrs, table, wrapper) {
			mappedBy[ti]++
			applied = append(applied, p.names[ti])
		}
	}
	if p.apply(ctx, attrs, p.custom, false) {
		mappedBy[len(mappedBy)-1]++
		applied = append(applied, "custom")
	}
	if len(applied) > 0 {
		s := attrs.PutEmptySlice(genai.AIOpsNormalized)
		s.EnsureCapacity(len(applied))
		for _, a := range applied {
			s.AppendEmpty().SetStr(a)
		}
	}
	if _, ok := attrs.Get(genai.OperationName); !ok {
		if name, _, _ := strings.Cut(span.Name(), " "); operations[name] {
			attrs.PutStr(genai.OperationName, name)
		}
	}
	model := ""
	if v, ok := attrs.Get(genai.RequestModel); ok {
		model = v.AsString()
	} else if v, ok := attrs.Get(genai.ResponseModel); ok {
		model = v.AsString()
	}
	if model != "" {
		attrs.PutBool(genai.AIOpsModelPinned, genai.IsPinnedModel(model))
	}
}

// apply maps one table's keys and reports whether any was mapped.
func (p *traceProcessor) apply(ctx context.Context, attrs pcommon.Map, table []rename, wrapper bool) bool {
	mapped := false
	for _, r := range table {
		v, ok := attrs.Get(r.from)
		if !ok || (wrapper && r.usage) {
			continue
		}
		if _, exists := attrs.Get(r.to); exists {
			continue // never overwrite a value already under its current name
		}
		switch r.conv {
		case toInt:
			n, problem := genai.Count(v)
			if problem != "" {
				p.malformed(ctx, "token_"+problem, r.from)
				continue
			}
			attrs.PutInt(r.to, n)
		case toProvider:
			attrs.PutStr(r.to, providerName(v.AsString()))
		case toOperation:
			op, ok := operationAliases[v.AsString()]
			if !ok {
				if !operations[v.AsString()] {
					continue
				}
				op = v.AsString()
			}
			attrs.PutStr(r.to, op)
		default:
			v.CopyTo(attrs.PutEmpty(r.to))
		}
		if !p.cfg.KeepOriginalKeys {
			attrs.Remove(r.from)
		}
		mapped = true
	}
	return mapped
}

func (p *traceProcessor) malformed(ctx context.Context, kind, key string) {
	p.badVals.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", kind))))
	if _, seen := p.logged.LoadOrStore(kind, true); !seen {
		p.logger.Warn("unusable GenAI attribute value; left unmapped (logged once per kind)", zap.String("kind", kind), zap.String("key", key))
	}
}

// providerName turns dialect provider values into gen_ai.provider.name values.
func providerName(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if r, ok := genai.ProviderRenames[v]; ok {
		return r
	}
	// The AI SDK writes "<provider>.<api>", e.g. "openai.chat".
	head, _, _ := strings.Cut(v, ".")
	switch head {
	case "openai", "anthropic", "cohere", "groq", "deepseek", "perplexity", "mistral":
		if head == "mistral" {
			return "mistral_ai"
		}
		if head == v || strings.Count(v, ".") == 1 {
			return head
		}
	case "google", "google-generative-ai", "gemini":
		return "gcp.gemini"
	case "vertex", "google-vertex":
		return "gcp.vertex_ai"
	case "amazon-bedrock", "bedrock", "aws":
		return "aws.bedrock"
	case "azure", "azure-openai":
		return "azure.ai.openai"
	case "xai":
		return "x_ai"
	}
	return v
}
