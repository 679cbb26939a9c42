// Package genai holds the GenAI vocabulary the pipeline speaks: current
// OpenTelemetry GenAI semantic-convention keys, the older names and dialect
// keys they replace, and the aiops.* keys our processors add.
package genai

// Current semantic-convention keys.
const (
	OperationName      = "gen_ai.operation.name"
	ProviderName       = "gen_ai.provider.name"
	RequestModel       = "gen_ai.request.model"
	ResponseModel      = "gen_ai.response.model"
	ResponseID         = "gen_ai.response.id"
	FinishReasons      = "gen_ai.response.finish_reasons"
	RequestStream      = "gen_ai.request.stream"
	ConversationID     = "gen_ai.conversation.id"
	InputTokens        = "gen_ai.usage.input_tokens"
	OutputTokens       = "gen_ai.usage.output_tokens"
	CacheReadTokens    = "gen_ai.usage.cache_read.input_tokens"
	CacheCreateTokens  = "gen_ai.usage.cache_creation.input_tokens"
	CacheWriteTokens   = "gen_ai.usage.cache_write.input_tokens" // genai repo rename of cache_creation
	ReasoningTokens    = "gen_ai.usage.reasoning.output_tokens"
	InputMessages      = "gen_ai.input.messages"
	OutputMessages     = "gen_ai.output.messages"
	SystemInstructions = "gen_ai.system_instructions"
	ToolName           = "gen_ai.tool.name"
	AgentName          = "gen_ai.agent.name"
	DataSourceID       = "gen_ai.data_source.id"
	PromptName         = "gen_ai.prompt.name"
	PromptVersion      = "gen_ai.prompt.version"
	ErrorType          = "error.type"
	// UsageCost is the total call cost in USD, as some SDKs report it and as
	// costattr writes it.
	UsageCost = "gen_ai.usage.cost"
)

// Deprecated and dialect keys.
const (
	System           = "gen_ai.system"
	PromptTokens     = "gen_ai.usage.prompt_tokens"
	CompletionTokens = "gen_ai.usage.completion_tokens"
	OIModelName      = "llm.model_name"
	OIProvider       = "llm.provider"
	OISystem         = "llm.system"
	OIPromptTokens   = "llm.token_count.prompt"
	OICompletionTok  = "llm.token_count.completion"
	OISpanKind       = "openinference.span.kind"
	TraceloopKind    = "traceloop.span.kind"
)

// Keys our processors write.
const (
	AIOpsUserID         = "aiops.user.id"
	AIOpsTenantID       = "aiops.tenant.id"
	AIOpsTeam           = "aiops.team"
	AIOpsWorkload       = "aiops.workload"
	AIOpsFeature        = "aiops.feature"
	AIOpsUnattributed   = "aiops.unattributed"
	AIOpsModelPinned    = "aiops.model.pinned"
	AIOpsNormalized     = "aiops.normalized" // dialects mapped on this span
	AIOpsCostSource     = "aiops.cost.source"
	AIOpsPriceID        = "aiops.price.id"
	AIOpsPriceCatalog   = "aiops.price.catalog"
	AIOpsCostInput      = "aiops.cost.input"
	AIOpsCostCached     = "aiops.cost.cached_input"
	AIOpsCostCacheWrite = "aiops.cost.cache_write"
	AIOpsCostOutput     = "aiops.cost.output"
	AIOpsCostReasoning  = "aiops.cost.reasoning"
	AIOpsContentCapture = "aiops.content.captured"
	AIOpsContentSHA256  = "aiops.content.sha256"
	AIOpsPolicyFlags    = "aiops.policy.flags"
)

// Cost sources.
const (
	CostSourceProvider = "provider"
	CostSourceComputed = "computed"
	CostSourceUnpriced = "unpriced"
)

// ProviderRenames maps deprecated gen_ai.system values to gen_ai.provider.name.
var ProviderRenames = map[string]string{
	"az.ai.inference": "azure.ai.inference",
	"az.ai.openai":    "azure.ai.openai",
	"vertex_ai":       "gcp.vertex_ai",
	"gemini":          "gcp.gemini",
	"xai":             "x_ai",
}
