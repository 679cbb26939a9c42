package genai

import "testing"

func TestProviderFromHostAndModel(t *testing.T) {
	for host, want := range map[string]string{
		"api.openai.com": "openai", "API.OPENAI.COM:443": "openai", "contoso.openai.azure.com": "azure.ai.openai",
		"x.cognitiveservices.azure.com": "azure.ai.openai", "proj.services.ai.azure.com": "azure.ai.inference",
		"api.anthropic.com": "anthropic", "bedrock-runtime.eu-west-1.amazonaws.com": "aws.bedrock", "s3.amazonaws.com": "",
		"generativelanguage.googleapis.com": "gcp.gemini", "us-central1-aiplatform.googleapis.com": "gcp.vertex_ai",
		"127.0.0.1": "", "evil-api.openai.com.attacker.net": "", "notapi.openai.com": "",
	} {
		if got := ProviderFromHost(host); got != want {
			t.Errorf("ProviderFromHost(%q) = %q, want %q", host, got, want)
		}
	}
	for model, want := range map[string]string{
		"gpt-4o-mini": "openai", "o3-mini": "openai", "o1": "openai", "text-embedding-3-small": "openai", "omni-moderation": "",
		"claude-3-5-haiku-latest": "anthropic", "us.anthropic.claude-3-5-sonnet-20241022-v2:0": "aws.bedrock",
		"anthropic.claude-3-haiku-20240307-v1:0": "aws.bedrock", "amazon.titan-embed-text-v2:0": "aws.bedrock",
		"arn:aws:bedrock:us-east-1:1:inference-profile/us.meta.llama3-1-8b-instruct-v1:0": "aws.bedrock",
		"gemini-2.5-pro": "gcp.gemini", "mistral-large-2407": "mistral_ai", "grok-4": "x_ai", "openai/gpt-4o": "openai", "llama3": "",
	} {
		if got := ProviderFromModel(model); got != want {
			t.Errorf("ProviderFromModel(%q) = %q, want %q", model, got, want)
		}
	}
	if HostOf("https://user@api.openai.com:443/v1/chat?x=1") != "api.openai.com:443" {
		t.Error("HostOf")
	}
}
