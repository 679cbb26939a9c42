package aitrace

import (
	"strings"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

type conv uint8

const (
	asIs conv = iota
	toInt
	toProvider
	toOperation
	toFinish // a finish reason string or list → gen_ai.response.finish_reasons
	toBool
	toNumber
)

// rename maps one dialect key to its current name.
type rename struct {
	from, to string
	conv     conv
	usage    bool // a token count: on framework wrapper spans it repeats the children's
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
		{from: "gen_ai.openai.response.system_fingerprint", to: genai.SystemFingerprint},
		{from: "gen_ai.openai.request.seed", to: "gen_ai.request.seed"},
	},
	"openllmetry": {
		{from: "gen_ai.usage.cache_read_input_tokens", to: genai.CacheReadTokens, conv: toInt, usage: true},
		{from: "gen_ai.usage.cache_creation_input_tokens", to: genai.CacheCreateTokens, conv: toInt, usage: true},
		{from: "gen_ai.usage.reasoning_tokens", to: genai.ReasoningTokens, conv: toInt, usage: true},
		{from: "llm.request.type", to: genai.OperationName, conv: toOperation},
		{from: genai.TraceloopKind, to: genai.OperationName, conv: toOperation},
		{from: "llm.is_streaming", to: genai.RequestStream, conv: toBool},
		{from: "llm.user", to: genai.UserID},
		{from: "traceloop.association.properties.user_id", to: genai.UserID},
		{from: "traceloop.association.properties.session_id", to: genai.ConversationID},
		{from: "traceloop.association.properties.conversation_id", to: genai.ConversationID},
		{from: "traceloop.workflow.name", to: genai.WorkflowName},
		{from: "traceloop.prompt.key", to: genai.PromptName},
		{from: "traceloop.prompt.version", to: genai.PromptVersion},
	},
	"openinference": {
		{from: genai.OIRequestModel, to: genai.RequestModel},
		{from: genai.OIResponseModel, to: genai.ResponseModel},
		{from: genai.OIModelName, to: genai.RequestModel},
		{from: "embedding.model_name", to: genai.RequestModel},
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
		{from: "llm.finish_reason", to: genai.FinishReasons, conv: toFinish},
		{from: "tool.name", to: genai.ToolName},
		{from: "tool_call.id", to: genai.ToolCallID},
		{from: "tool_call.function.arguments", to: genai.ToolCallArguments},
		{from: "agent.name", to: genai.AgentName},
	},
	"vercel_ai": {
		{from: "ai.model.id", to: genai.RequestModel},
		{from: "ai.model.provider", to: genai.ProviderName, conv: toProvider},
		{from: "ai.response.model", to: genai.ResponseModel},
		{from: "ai.response.id", to: genai.ResponseID},
		{from: "ai.response.finishReason", to: genai.FinishReasons, conv: toFinish},
		{from: "ai.usage.inputTokens", to: genai.InputTokens, conv: toInt, usage: true},
		{from: "ai.usage.promptTokens", to: genai.InputTokens, conv: toInt, usage: true},
		{from: "ai.usage.outputTokens", to: genai.OutputTokens, conv: toInt, usage: true},
		{from: "ai.usage.completionTokens", to: genai.OutputTokens, conv: toInt, usage: true},
		{from: "ai.usage.cachedInputTokens", to: genai.CacheReadTokens, conv: toInt, usage: true},
		{from: "ai.usage.inputTokenDetails.cacheReadTokens", to: genai.CacheReadTokens, conv: toInt, usage: true},
		{from: "ai.usage.inputTokenDetails.cacheWriteTokens", to: genai.CacheCreateTokens, conv: toInt, usage: true},
		{from: "ai.usage.reasoningTokens", to: genai.ReasoningTokens, conv: toInt, usage: true},
		{from: "ai.usage.tokens", to: genai.InputTokens, conv: toInt, usage: true}, // embed and embedMany
		{from: "ai.usage.outputTokenDetails.reasoningTokens", to: genai.ReasoningTokens, conv: toInt, usage: true},
		{from: "ai.operationId", to: genai.OperationName, conv: toOperation},
		{from: "ai.toolCall.name", to: genai.ToolName},
		{from: "ai.toolCall.id", to: genai.ToolCallID},
		{from: "ai.toolCall.args", to: genai.ToolCallArguments},
		{from: "ai.toolCall.input", to: genai.ToolCallArguments},
		{from: "ai.toolCall.result", to: genai.ToolCallResult},
		{from: "ai.toolCall.output", to: genai.ToolCallResult},
		{from: "ai.telemetry.metadata.userId", to: genai.UserID},
		{from: "ai.telemetry.metadata.sessionId", to: genai.ConversationID},
		{from: "ai.telemetry.metadata.conversationId", to: genai.ConversationID},
		{from: "ai.settings.maxOutputTokens", to: genai.RequestMaxTokens, conv: toInt},
		{from: "ai.settings.maxTokens", to: genai.RequestMaxTokens, conv: toInt},
		{from: "ai.settings.temperature", to: genai.RequestTemperature, conv: toNumber},
		{from: "ai.settings.topP", to: genai.RequestTopP, conv: toNumber},
	},
	"openlit": {
		{from: "gen_ai.request.is_stream", to: genai.RequestStream, conv: toBool},
		{from: "gen_ai.request.user", to: genai.UserID},
		{from: "gen_ai.tool.args", to: genai.ToolCallArguments},
	},
	"langfuse": {
		{from: "langfuse.session.id", to: genai.ConversationID},
		{from: "langfuse.user.id", to: genai.UserID},
		{from: "langfuse.observation.model.name", to: genai.RequestModel},
		{from: "langfuse.observation.prompt.name", to: genai.PromptName},
		{from: "langfuse.observation.prompt.version", to: genai.PromptVersion},
		{from: "langfuse.observation.type", to: genai.OperationName, conv: toOperation},
	},
}

// dialectOrder fixes the mapping order so results do not depend on map order.
var dialectOrder = []string{"semconv_legacy", "openllmetry", "openinference", "vercel_ai", "langfuse", "openlit"}

// totalKeys report a total token count, which tells whether cached or
// reasoning tokens were counted inside input and output.
var totalKeys = []string{"gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total", "ai.usage.totalTokens"}

var operations = map[string]bool{
	"chat": true, "generate_content": true, "text_completion": true, "embeddings": true, "retrieval": true,
	"create_agent": true, "invoke_agent": true, "execute_tool": true, "invoke_workflow": true,
}

// operationAliases maps dialect kinds and ids to gen_ai.operation.name.
var operationAliases = map[string]string{
	// OpenInference span kinds
	"LLM": "chat", "EMBEDDING": "embeddings", "RETRIEVER": "retrieval", "RERANKER": "retrieval", "TOOL": "execute_tool",
	"AGENT": "invoke_agent", "CHAIN": "invoke_workflow",
	// Traceloop llm.request.type and traceloop.span.kind
	"completion": "text_completion", "embedding": "embeddings", "rerank": "retrieval",
	"workflow": "invoke_workflow", "agent": "invoke_agent", "tool": "execute_tool",
	// Langfuse observation types
	"generation": "chat", "retriever": "retrieval", "chain": "invoke_workflow",
	// Vercel AI SDK provider-call operation ids
	"ai.generateText.doGenerate": "chat", "ai.streamText.doStream": "chat",
	"ai.generateObject.doGenerate": "chat", "ai.streamObject.doStream": "chat",
	"ai.embed.doEmbed": "embeddings", "ai.embedMany.doEmbed": "embeddings", "ai.toolCall": "execute_tool",
}

// finishRenames maps dialect finish reasons to the OpenAI-style values
// semconv examples use.
var finishRenames = map[string]string{
	"tool-calls": "tool_calls", "content-filter": "content_filter", "max_tokens": "length",
	"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "STOP": "stop",
	"MAX_TOKENS": "length", "SAFETY": "content_filter", "guardrail_intervened": "content_filter",
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
	case "openai", "anthropic", "cohere", "groq", "deepseek", "perplexity":
		if head == v || strings.Count(v, ".") == 1 {
			return head
		}
	case "mistral", "mistralai":
		return "mistral_ai"
	case "google", "google-generative-ai", "gemini":
		return "gcp.gemini"
	case "vertex", "vertexai", "google-vertex":
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

// ruleRef points at one rename of one enabled table.
type ruleRef struct {
	table int // index into traceProcessor.names; len(names) is the custom table
	prio  int // place in its table
	toIdx int // presence slot of the target, or -1
	r     rename
}
