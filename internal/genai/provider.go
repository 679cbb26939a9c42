package genai

import "strings"

// How a missing gen_ai.provider.name was worked out, in aiops.provider.inferred.
const (
	InferredFromFramework = "framework_metadata" // LangChain's ls_provider and the like
	InferredFromServer    = "server_address"     // the API host the call went to
	InferredFromModel     = "model_name"         // the model id's family
)

// hostProviders maps API hosts to gen_ai.provider.name values; a host
// matches itself and its subdomains. A leading dot marks a domain whose
// subdomains are the API hosts; a leading * a plain suffix.
var hostProviders = []struct{ suffix, provider string }{
	{"api.openai.com", "openai"},
	{".openai.azure.com", "azure.ai.openai"},
	{".cognitiveservices.azure.com", "azure.ai.openai"},
	{".services.ai.azure.com", "azure.ai.inference"},
	{"models.inference.ai.azure.com", "azure.ai.inference"},
	{".models.ai.azure.com", "azure.ai.inference"},
	{"api.anthropic.com", "anthropic"},
	{".amazonaws.com", "aws.bedrock"}, // checked for bedrock in the name below
	{"generativelanguage.googleapis.com", "gcp.gemini"},
	{"aiplatform.googleapis.com", "gcp.vertex_ai"},
	{"*-aiplatform.googleapis.com", "gcp.vertex_ai"}, // regional: us-central1-aiplatform…
	{"api.mistral.ai", "mistral_ai"},
	{"api.cohere.com", "cohere"},
	{"api.cohere.ai", "cohere"},
	{"api.groq.com", "groq"},
	{"api.deepseek.com", "deepseek"},
	{"api.x.ai", "x_ai"},
	{"api.perplexity.ai", "perplexity"},
	{"api.together.xyz", "together_ai"},
	{"openrouter.ai", "openrouter"},
	{"api.fireworks.ai", "fireworks_ai"},
}

// ProviderFromHost names the provider behind an API host, or "".
func ProviderFromHost(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	for _, hp := range hostProviders {
		bare := strings.TrimPrefix(hp.suffix, ".")
		raw, isRaw := strings.CutPrefix(hp.suffix, "*")
		if host == bare || strings.HasSuffix(host, "."+bare) || isRaw && strings.HasSuffix(host, raw) {
			if hp.provider == "aws.bedrock" && !strings.Contains(host, "bedrock") {
				return ""
			}
			return hp.provider
		}
	}
	return ""
}

// HostOf returns the host of a URL, or the input when it has no scheme.
func HostOf(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// ProviderFromModel guesses the provider from a model id: the vendor of
// the model family, or Bedrock for Bedrock's vendor-dotted ids. It is a
// guess (a Claude model may be served by Bedrock or Vertex), so it is used
// only when nothing better names the provider.
func ProviderFromModel(model string) string {
	m := strings.ToLower(model)
	if strings.HasPrefix(m, "arn:aws:bedrock:") {
		return "aws.bedrock"
	}
	if _, rest, ok := strings.Cut(m, "/"); ok && !strings.Contains(rest, "/") {
		m = rest // "openai/gpt-4o"
	}
	// Bedrock ids: [geo.]vendor.model, e.g. us.anthropic.claude-… or amazon.titan-….
	parts := strings.SplitN(m, ".", 3)
	if len(parts) >= 2 {
		head := parts[0]
		if bedrockGeo[head] && len(parts) == 3 {
			head = parts[1]
		}
		if bedrockVendors[head] {
			return "aws.bedrock"
		}
	}
	switch {
	case strings.HasPrefix(m, "gpt-"), strings.HasPrefix(m, "chatgpt-"), strings.HasPrefix(m, "text-embedding-"),
		strings.HasPrefix(m, "davinci"), strings.HasPrefix(m, "babbage"), strings.HasPrefix(m, "whisper"), strings.HasPrefix(m, "dall-e"),
		len(m) >= 2 && m[0] == 'o' && m[1] >= '1' && m[1] <= '9' && (len(m) == 2 || m[2] == '-'):
		return "openai"
	case strings.HasPrefix(m, "claude"):
		return "anthropic"
	case strings.HasPrefix(m, "gemini"), strings.HasPrefix(m, "text-embedding-004"), strings.HasPrefix(m, "gemma"):
		return "gcp.gemini"
	case strings.HasPrefix(m, "mistral"), strings.HasPrefix(m, "mixtral"), strings.HasPrefix(m, "codestral"),
		strings.HasPrefix(m, "ministral"), strings.HasPrefix(m, "pixtral"), strings.HasPrefix(m, "magistral"):
		return "mistral_ai"
	case strings.HasPrefix(m, "command"), strings.HasPrefix(m, "embed-english"), strings.HasPrefix(m, "embed-multilingual"):
		return "cohere"
	case strings.HasPrefix(m, "grok"):
		return "x_ai"
	case strings.HasPrefix(m, "deepseek"):
		return "deepseek"
	case strings.HasPrefix(m, "sonar"):
		return "perplexity"
	}
	return ""
}

var bedrockGeo = map[string]bool{"us": true, "eu": true, "apac": true, "global": true, "us-gov": true, "jp": true, "au": true, "ca": true}

var bedrockVendors = map[string]bool{
	"anthropic": true, "amazon": true, "meta": true, "mistral": true, "cohere": true, "ai21": true,
	"stability": true, "deepseek": true, "writer": true, "qwen": true, "openai": true, "twelvelabs": true, "luma": true,
}

// EmbeddingModel reports whether a model id names an embedding model.
func EmbeddingModel(model string) bool {
	return strings.Contains(strings.ToLower(model), "embed")
}
