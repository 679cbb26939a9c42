package mockprovider

import (
	"encoding/json"
	"time"
)

// Row builders in the documented field names. Fields a report did not
// group by are JSON null, as the providers send them.

// OpenAIUsage is a completions (or embeddings) result row.
type OpenAIUsage struct {
	Model, Project, APIKey, ServiceTier string
	Batch                               *bool
	Input, Cached, Output, Requests     int64
	InputAudio, OutputAudio             int64
}

// Row is the result object. Object names the report:
// "organization.usage.completions.result" or "...embeddings.result".
func (u OpenAIUsage) Row(object string) map[string]any {
	row := map[string]any{
		"object": object, "input_tokens": u.Input, "num_model_requests": u.Requests,
		"project_id": null(u.Project), "user_id": nil, "api_key_id": null(u.APIKey), "model": null(u.Model),
	}
	if object == "organization.usage.completions.result" {
		row["output_tokens"] = u.Output
		row["input_cached_tokens"] = u.Cached
		row["input_audio_tokens"] = u.InputAudio
		row["output_audio_tokens"] = u.OutputAudio
		row["service_tier"] = null(u.ServiceTier)
		if u.Batch != nil {
			row["batch"] = *u.Batch
		} else {
			row["batch"] = nil
		}
	}
	return row
}

// OpenAICost is a costs result row; Value is in dollars, a JSON number.
func OpenAICost(project, lineItem string, value float64) map[string]any {
	return map[string]any{
		"object": "organization.costs.result", "amount": map[string]any{"value": value, "currency": "usd"},
		"line_item": null(lineItem), "project_id": null(project),
	}
}

// OpenAICostText is a costs result row whose value is written as the
// given JSON number text ("0.0225", "1e-7"), as the API may spell it.
func OpenAICostText(project, lineItem, value string) map[string]any {
	row := OpenAICost(project, lineItem, 0)
	row["amount"] = map[string]any{"value": json.Number(value), "currency": "usd"}
	return row
}

// AnthropicUsage is a messages usage report result row.
type AnthropicUsage struct {
	Model, Workspace, APIKey, ServiceTier              string
	Uncached, CacheRead, Write5m, Write1h, Output, Web int64
}

func (u AnthropicUsage) Row() map[string]any {
	return map[string]any{
		"uncached_input_tokens":   u.Uncached,
		"cache_creation":          map[string]any{"ephemeral_1h_input_tokens": u.Write1h, "ephemeral_5m_input_tokens": u.Write5m},
		"cache_read_input_tokens": u.CacheRead,
		"output_tokens":           u.Output,
		"server_tool_use":         map[string]any{"web_search_requests": u.Web},
		"api_key_id":              null(u.APIKey), "workspace_id": null(u.Workspace), "model": null(u.Model),
		"service_tier": null(u.ServiceTier), "context_window": nil,
	}
}

// AnthropicCost is a cost report result row; cents is the documented
// decimal string in the currency's lowest unit ("123.45" is $1.2345).
func AnthropicCost(workspace, description, model, tokenType, cents string) map[string]any {
	return map[string]any{
		"currency": "USD", "amount": cents, "workspace_id": null(workspace), "description": null(description),
		"cost_type": "tokens", "context_window": "0-200k", "model": null(model), "service_tier": "standard",
		"token_type": null(tokenType),
	}
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Demo fills both servers with a week of plausible traffic ending today:
// two OpenAI projects (proj_support, proj_unmapped) and two Anthropic
// workspaces (wrkspc_kb and the default one).
func Demo(openai, anthropic *Server, now time.Time) {
	const week = 7
	if openai != nil {
		openai.SetReport(OpenAICompletions, Days(now, week, func(i int, _ time.Time) []map[string]any {
			n := int64(i + 1)
			return []map[string]any{
				OpenAIUsage{Model: "gpt-4o-2024-08-06", Project: "proj_support", APIKey: "key_support", ServiceTier: "default",
					Input: 120_000 * n, Cached: 40_000 * n, Output: 30_000 * n, Requests: 400 * n}.Row("organization.usage.completions.result"),
				OpenAIUsage{Model: "gpt-4o-mini-2024-07-18", Project: "proj_unmapped", APIKey: "key_batch", ServiceTier: "default",
					Input: 50_000 * n, Output: 9_000 * n, Requests: 90 * n}.Row("organization.usage.completions.result"),
			}
		}))
		openai.SetReport(OpenAIEmbeddings, Days(now, week, func(i int, _ time.Time) []map[string]any {
			return []map[string]any{OpenAIUsage{Model: "text-embedding-3-small", Project: "proj_support", APIKey: "key_support",
				Input: 800_000, Requests: 1_000}.Row("organization.usage.embeddings.result")}
		}))
		openai.SetReport(OpenAICosts, Days(now, week, func(i int, _ time.Time) []map[string]any {
			n := float64(i + 1)
			return []map[string]any{
				OpenAICost("proj_support", "gpt-4o-2024-08-06, input", 0.25*n),
				OpenAICost("proj_support", "gpt-4o-2024-08-06, output", 0.30*n),
				OpenAICost("proj_unmapped", "gpt-4o-mini-2024-07-18, input", 0.0075*n),
			}
		}))
	}
	if anthropic != nil {
		anthropic.SetReport(AnthropicMessages, Days(now, week, func(i int, _ time.Time) []map[string]any {
			n := int64(i + 1)
			return []map[string]any{
				AnthropicUsage{Model: "claude-sonnet-4-20250514", Workspace: "wrkspc_kb", APIKey: "apikey_kb", ServiceTier: "standard",
					Uncached: 90_000 * n, CacheRead: 300_000 * n, Write5m: 20_000 * n, Write1h: 5_000 * n, Output: 25_000 * n, Web: 3 * n}.Row(),
				AnthropicUsage{Model: "claude-3-5-haiku-20241022", APIKey: "apikey_default", ServiceTier: "batch",
					Uncached: 10_000 * n, Output: 2_000 * n}.Row(),
			}
		}))
		anthropic.SetReport(AnthropicCosts, Days(now, week, func(i int, _ time.Time) []map[string]any {
			return []map[string]any{
				AnthropicCost("wrkspc_kb", "Claude Sonnet 4 Usage - Input Tokens", "claude-sonnet-4-20250514", "uncached_input_tokens", "27.00"),
				AnthropicCost("wrkspc_kb", "Claude Sonnet 4 Usage - Output Tokens", "claude-sonnet-4-20250514", "output_tokens", "37.50"),
				AnthropicCost("", "Claude Haiku 3.5 Usage - Input Tokens", "claude-3-5-haiku-20241022", "uncached_input_tokens", "0.40"),
			}
		}))
	}
}
