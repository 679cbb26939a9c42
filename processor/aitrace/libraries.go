package aitrace

import "strings"

// libraryProfile records how one instrumentation library's token counts
// depart from the convention, where its telemetry alone cannot tell. Each
// entry was read off a capture of the library against a provider mock
// (test/conformance) and its source.
type libraryProfile struct {
	name string
	// anthropicCache says whether input_tokens includes cache reads and
	// writes on Anthropic-family calls (Anthropic, and Claude on Bedrock or
	// Vertex): Anthropic's API reports them outside input.
	anthropicCache cacheRule
	// noCacheCounts: the library never reports cache counts, so input on
	// Anthropic-family calls is the uncached part only and cannot be fixed.
	noCacheCounts bool
	// contentInLogs: the library sends message content as OTLP log
	// records correlated with its spans, one or more per call.
	contentInLogs bool
	// innerLayer: a provider SDK's own span, which other instrumentations
	// wrap and which carries no attribution of its own.
	innerLayer bool
	// streamEstimates says when the library reports a tokenizer's estimate
	// instead of the provider's usage on streamed calls.
	streamEstimates estimateRule
}

type estimateRule uint8

const (
	estimatesNever      estimateRule = iota
	estimatesAlways                  // every streamed call
	estimatesWhenAbsent              // streamed calls the provider sent no usage for; it does not say which
)

type cacheRule uint8

const (
	cacheUnknown cacheRule = iota
	cacheInside
	cacheOutside
)

// libraryProfiles are matched by instrumentation scope name: an entry
// ending in "/" or "." is a prefix, any other must match exactly.
var libraryProfiles = []struct {
	scope string
	p     libraryProfile
}{
	{"com.anthropic.sdk.", libraryProfile{name: "anthropic_sdk", anthropicCache: cacheInside, innerLayer: true}},
	{"@arizeai/openinference-instrumentation-anthropic", libraryProfile{name: "openinference_anthropic", anthropicCache: cacheInside}},
	{"ai", libraryProfile{name: "vercel_ai", anthropicCache: cacheInside}}, // AI SDK 5+ adds Anthropic's cache counts to input
	{"@opentelemetry/instrumentation-openai", libraryProfile{name: "otel_openai", contentInLogs: true}},
	{"@elastic/opentelemetry-instrumentation-openai", libraryProfile{name: "elastic_openai", contentInLogs: true}},
	{"opentelemetry.instrumentation.openai_v2", libraryProfile{name: "otel_openai_python", contentInLogs: true}},
	{"opentelemetry.instrumentation.vertexai", libraryProfile{name: "otel_vertexai_python", contentInLogs: true}},
	{"opentelemetry.instrumentation.google_genai", libraryProfile{name: "otel_google_genai_python", contentInLogs: true}},
	{"@openlit/", libraryProfile{name: "openlit", anthropicCache: cacheOutside, streamEstimates: estimatesWhenAbsent}},
	{"openlit.", libraryProfile{name: "openlit", anthropicCache: cacheOutside, streamEstimates: estimatesWhenAbsent}},
	{"@traceloop/instrumentation-anthropic", libraryProfile{name: "traceloop_anthropic", anthropicCache: cacheOutside}},
	{"@traceloop/instrumentation-bedrock", libraryProfile{name: "traceloop_bedrock", anthropicCache: cacheOutside, noCacheCounts: true}},
	{"@traceloop/instrumentation-openai", libraryProfile{name: "traceloop_openai", streamEstimates: estimatesAlways}},
	{"@opentelemetry/instrumentation-aws-sdk", libraryProfile{name: "otel_aws_sdk", anthropicCache: cacheOutside, noCacheCounts: true}},
}

// profileFor returns the profile of a scope, or nil.
func profileFor(scope string) *libraryProfile {
	for i := range libraryProfiles {
		e := &libraryProfiles[i]
		last := e.scope[len(e.scope)-1]
		if scope == e.scope || (last == '/' || last == '.') && strings.HasPrefix(scope, e.scope) {
			return &e.p
		}
	}
	return nil
}
