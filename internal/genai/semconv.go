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

// Further current keys the aitrace processor reads or writes.
const (
	RequestMaxTokens     = "gen_ai.request.max_tokens"
	RequestTemperature   = "gen_ai.request.temperature"
	RequestTopP          = "gen_ai.request.top_p"
	ToolCallID           = "gen_ai.tool.call.id"
	ToolCallArguments    = "gen_ai.tool.call.arguments"
	ToolCallResult       = "gen_ai.tool.call.result"
	ToolType             = "gen_ai.tool.type"
	ToolDefinitions      = "gen_ai.tool.definitions"
	AgentID              = "gen_ai.agent.id"
	WorkflowName         = "gen_ai.workflow.name"
	RetrievalDocuments   = "gen_ai.retrieval.documents"
	RetrievalQueryText   = "gen_ai.retrieval.query.text"
	SystemFingerprint    = "openai.response.system_fingerprint"
	BedrockGuardrailID   = "aws.bedrock.guardrail.id"
	BedrockKnowledgeBase = "aws.bedrock.knowledge_base.id"
	UserID               = "user.id"
	ServerAddress        = "server.address"
	URLFull              = "url.full"
)

// OpenInference keys read beyond the dialect table.
const (
	OIRequestModel  = "llm.request.model_name"
	OIResponseModel = "llm.response.model_name"
	OIMetadata      = "metadata"     // JSON; LangChain puts ls_provider here
	OIOutputValue   = "output.value" // JSON of the provider's response on LLM spans
	OIOutputMime    = "output.mime_type"
)

// aiops.* keys written by aitrace (documented in processor/aitrace/README.md).
const (
	AIOpsModelFamily        = "aiops.model.family"
	AIOpsModelDrift         = "aiops.model.drift"
	AIOpsContentLength      = "aiops.content.length"
	AIOpsContentRedaction   = "aiops.content.redaction"
	AIOpsPolicyAction       = "aiops.policy.action"
	AIOpsPolicySeverity     = "aiops.policy.severity"
	AIOpsPolicyHits         = "aiops.policy.hits"
	AIOpsPolicyEvent        = "aiops.policy"
	AIOpsPolicyName         = "aiops.policy.name"
	AIOpsPolicyEventAction  = "aiops.policy.action"
	AIOpsPolicyCount        = "aiops.policy.count"
	AIOpsRetrievalDocs      = "aiops.retrieval.docs"
	AIOpsRetrievalTopScore  = "aiops.retrieval.top_score"
	AIOpsRetrievalMinScore  = "aiops.retrieval.min_score"
	AIOpsRetrievalMeanScore = "aiops.retrieval.mean_score"
	AIOpsRetrievalEmpty     = "aiops.retrieval.empty"
	AIOpsRetrievalSources   = "aiops.retrieval.sources"
	AIOpsRetrievalDocAgeMax = "aiops.retrieval.doc_age_max_s"
	AIOpsRetrievalFrom      = "aiops.retrieval.from_spans"
	AIOpsAgentToolCalls     = "aiops.agent.tool_calls"
	AIOpsAgentLoop          = "aiops.agent.loop_suspected"
	AIOpsAgentRepeats       = "aiops.agent.max_repeated_tool_calls"
	AIOpsAgentDepth         = "aiops.agent.depth"
	AIOpsAgentApproval      = "aiops.agent.human_approval"
	AIOpsTokensNormalized   = "aiops.tokens.normalized"
	AIOpsTokensBasis        = "aiops.tokens.basis"
	AIOpsUsageDuplicateOf   = "aiops.usage.duplicate_of"
	AIOpsUsageDuplicateWhy  = "aiops.usage.duplicate_reason"
	AIOpsUsageRepeated      = "aiops.usage.repeated." // + the gen_ai.usage.* suffix
	AIOpsUsageInvalid       = "aiops.usage.invalid."  // + the gen_ai.usage.* suffix
	AIOpsMalformed          = "aiops.malformed"
	AIOpsErrorCategory      = "aiops.error.category"
	AIOpsStreaming          = "aiops.streaming"
	AIOpsProviderInferred   = "aiops.provider.inferred"  // how a missing provider was worked out
	AIOpsProviderReported   = "aiops.provider.reported"  // the provider the instrumentation named, when corrected
	AIOpsOperationInferred  = "aiops.operation.inferred" // a model call's operation read from its model id
	AIOpsModelFrom          = "aiops.model.source"       // where the request/response models were found, when not in plain keys
	AIOpsUsageIncomplete    = "aiops.usage.incomplete"   // the library leaves part of the usage out (cache_not_reported)
	AIOpsUsageMissing       = "aiops.usage.missing"      // a model call without usage, and why (stream_without_usage, not_reported)
	AIOpsUsageEstimated     = "aiops.usage.estimated"    // the usage is an estimate, not the provider's count (library_tokenizer)
	AIOpsGuardrailTargets   = "aiops.guardrail.targets"  // on a guardrail or evaluator: the span ids of the model calls it checked
	AIOpsContentSource      = "aiops.content.source"     // log_records: the content came from OTLP log records
	AIOpsContentJoin        = "aiops.content.join"       // on a content log record stored apart: late, orphaned, already_on_span, overflow, no_span_id
	AIOpsReservedRenamed    = "aiops.reserved.renamed"   // how many client-sent aiops.* keys and events were renamed to client.*
	AIOpsPolicySource       = "aiops.policy.source"      // on an aiops.policy event: application, when raised from the app's own guardrail event
)
