package loadgen

import (
	"fmt"
	"hash/fnv"
)

type scopeInfo struct{ name, version string }

var (
	scopeHTTP      = scopeInfo{"opentelemetry.instrumentation.fastapi", "0.54b1"}
	scopeFramework = scopeInfo{"opentelemetry.instrumentation.langchain", "0.40.14"}
	scopeOpenAI    = scopeInfo{"opentelemetry.instrumentation.openai_v2", "2.1b0"}
	scopeAnthropic = scopeInfo{"opentelemetry.instrumentation.anthropic", "0.40.14"}
	scopeGemini    = scopeInfo{"opentelemetry.instrumentation.google_genai", "0.3b0"}
	scopeBedrock   = scopeInfo{"opentelemetry.instrumentation.botocore", "0.54b1"}
)

// model is one provider/model pair with its typical behaviour.
type model struct {
	provider  string
	request   string
	response  string
	server    string
	scope     scopeInfo
	weight    int
	msPerTok  float64 // decode latency per output token
	reasoning float64 // probability of reporting reasoning tokens
	cache     float64 // probability of a cache read
	dims      int     // embedding dimensions (embedding models only)
}

var chatModels = []model{
	{provider: "openai", request: "gpt-4o-mini", response: "gpt-4o-mini-2024-07-18", server: "api.openai.com", scope: scopeOpenAI, weight: 28, msPerTok: 3, cache: 0.35},
	{provider: "openai", request: "gpt-4o", response: "gpt-4o-2024-08-06", server: "api.openai.com", scope: scopeOpenAI, weight: 18, msPerTok: 7, cache: 0.35},
	{provider: "openai", request: "o3-mini", response: "o3-mini-2025-01-31", server: "api.openai.com", scope: scopeOpenAI, weight: 7, msPerTok: 4, reasoning: 1, cache: 0.2},
	{provider: "anthropic", request: "claude-3-5-sonnet-20241022", response: "claude-3-5-sonnet-20241022", server: "api.anthropic.com", scope: scopeAnthropic, weight: 12, msPerTok: 8, cache: 0.3},
	{provider: "anthropic", request: "claude-sonnet-4-20250514", response: "claude-sonnet-4-20250514", server: "api.anthropic.com", scope: scopeAnthropic, weight: 12, msPerTok: 7, reasoning: 0.3, cache: 0.3},
	{provider: "gcp.gemini", request: "gemini-2.5-pro", response: "gemini-2.5-pro", server: "generativelanguage.googleapis.com", scope: scopeGemini, weight: 7, msPerTok: 6, reasoning: 1, cache: 0.25},
	{provider: "gcp.gemini", request: "gemini-2.0-flash", response: "gemini-2.0-flash-001", server: "generativelanguage.googleapis.com", scope: scopeGemini, weight: 10, msPerTok: 2, cache: 0.15},
	{provider: "aws.bedrock", request: "anthropic.claude-3-5-sonnet-20241022-v2:0", response: "anthropic.claude-3-5-sonnet-20241022-v2:0", server: "bedrock-runtime.us-east-1.amazonaws.com", scope: scopeBedrock, weight: 6, msPerTok: 9},
}

var embeddingModels = []model{
	{provider: "openai", request: "text-embedding-3-small", response: "text-embedding-3-small", server: "api.openai.com", scope: scopeOpenAI, weight: 80, dims: 1536},
	{provider: "aws.bedrock", request: "amazon.titan-embed-text-v2:0", response: "amazon.titan-embed-text-v2:0", server: "bedrock-runtime.us-east-1.amazonaws.com", scope: scopeBedrock, weight: 12, dims: 1024},
	{provider: "gcp.gemini", request: "text-embedding-004", response: "text-embedding-004", server: "generativelanguage.googleapis.com", scope: scopeGemini, weight: 8, dims: 768},
}

// finish reasons as reported by each provider's instrumentation: normal, truncated, tool call.
var finishReasons = map[string][3]string{
	"openai":      {"stop", "length", "tool_calls"},
	"anthropic":   {"end_turn", "max_tokens", "tool_use"},
	"gcp.gemini":  {"stop", "max_tokens", "stop"},
	"aws.bedrock": {"end_turn", "max_tokens", "tool_use"},
}

type tool struct {
	name, description, argsJSON, result string
}

var tools = []tool{
	{"get_order_status", "Look up the status of a customer order", `{"order_id":"A-10293"}`, `{"status":"shipped","eta":"2 days"}`},
	{"search_knowledge_base", "Search internal help center articles", `{"query":"reset password","top_k":5}`, `{"hits":3}`},
	{"create_support_ticket", "Open a ticket for the support team", `{"priority":"high","summary":"billing issue"}`, `{"ticket_id":"T-58812"}`},
	{"lookup_customer", "Fetch customer profile and plan", `{"customer_id":"c-7781"}`, `{"plan":"enterprise","seats":120}`},
	{"run_sql_query", "Run a read-only analytics query", `{"sql":"select count(*) from orders"}`, `{"rows":1,"value":48211}`},
	{"get_weather", "Get the current weather for a city", `{"location":"Paris"}`, `{"forecast":"rainy","temp_c":14}`},
}

type agent struct{ name, id, description string }

var agents = []agent{
	{"support-triage-agent", "asst_5Tq2bN8xWc1rLm0kPz7vHd3e", "Routes and resolves customer support requests"},
	{"research-agent", "asst_J8fK2mQ9sT4vX1yB6nC3pL0a", "Answers product questions from documentation"},
	{"billing-agent", "asst_R3wE7uY2iO9pA5sD1fG8hJ4k", "Handles invoices, refunds and plan changes"},
}

var dataSources = []string{"kb-support-articles", "kb-product-docs", "vs_68a1f3c2b7e54d09", "kb-billing-faq"}

var tenants = []string{"acme-corp", "globex", "initech", "umbrella", "stark-industries"}

// tenantWeights skews traffic towards a few big tenants.
var tenantWeights = []int{40, 25, 15, 12, 8}

const numUsers = 50

// flow is a kind of trace shape.
type flow int

const (
	flowChat flow = iota
	flowEmbeddings
	flowRAG
	flowTool
	flowAgent
	numFlows
)

// expected GenAI spans per flow (agent: 1 + 2*avg(1..3) + 1).
var flowSpans = [numFlows]float64{1, 1, 3, 3, 6}

type profile struct {
	weights [numFlows]int
	tenant  bool
	version string
	route   string
}

var knownProfiles = map[string]profile{
	"support-chatbot": {weights: [numFlows]int{60, 0, 10, 30, 0}, tenant: true, version: "2.14.1", route: "/api/chat"},
	"rag-search":      {weights: [numFlows]int{10, 20, 70, 0, 0}, tenant: false, version: "1.8.0", route: "/api/search"},
	"ops-agent":       {weights: [numFlows]int{15, 0, 0, 0, 85}, tenant: true, version: "0.9.3", route: "/api/agent"},
}

// service is a resolved service with its instances and traffic profile.
type service struct {
	name      string
	profile   profile
	instances []string
	httpProb  float64 // probability of wrapping a trace in an HTTP server span
}

func newService(name string, idx int) service {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	sum := h.Sum32()
	p, ok := knownProfiles[name]
	if !ok {
		p = profile{
			weights: [numFlows]int{35, 10, 25, 10, 20},
			tenant:  idx%3 != 1,
			version: fmt.Sprintf("1.%d.%d", sum%20, (sum>>8)%10),
			route:   "/api/chat",
		}
	}
	var total, spans float64
	for f, w := range p.weights {
		total += float64(w)
		spans += float64(w) * flowSpans[f]
	}
	avg := spans / total
	// One HTTP span per wrapped trace: p/(avg+p) = 10% => p = avg/9.
	httpProb := min(1, avg/9)
	s := service{name: name, profile: p, httpProb: httpProb}
	for i := range 3 {
		hi := fnv.New32a()
		_, _ = fmt.Fprintf(hi, "%s#%d", name, i)
		s.instances = append(s.instances, fmt.Sprintf("%s-%06x-%05x", name, sum&0xffffff, hi.Sum32()&0xfffff))
	}
	return s
}

var userQuestions = []string{
	"How do I reset my password for the admin console?",
	"Why was I charged twice on my last invoice?",
	"Can you summarize the differences between the Pro and Enterprise plans?",
	"My order has not arrived yet, can you check the status?",
	"What is the rate limit for the public API?",
	"How do I configure SSO with Okta?",
	"Draft a reply to this customer complaint about late delivery.",
	"Explain how to rotate API keys without downtime.",
}

var assistantOpeners = []string{
	"Sure. Here is what I found.",
	"Thanks for reaching out. Let me explain.",
	"Based on the documentation, here are the steps.",
	"I checked your account and here is a summary.",
}

var systemPrompts = []string{
	"You are a helpful customer support assistant. Answer concisely and cite help center articles when relevant.",
	"You are a retrieval augmented assistant. Only answer from the provided context.",
	"You are an autonomous agent. Use the available tools to complete the task, then report the result.",
}

var fillerWords = []string{
	"the", "account", "settings", "invoice", "customer", "request", "policy", "update", "service", "access",
	"token", "model", "latency", "region", "billing", "support", "document", "section", "configure", "enable",
	"report", "usage", "limit", "team", "project", "deployment", "error", "retry", "response", "summary",
	"data", "plan", "feature", "workspace", "admin", "console", "order", "shipping", "refund", "status",
	"please", "check", "review", "details", "within", "before", "after", "every", "daily", "monthly",
}
