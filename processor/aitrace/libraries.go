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
}

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
	{"com.anthropic.sdk.", libraryProfile{name: "anthropic_sdk", anthropicCache: cacheInside}},
	{"@arizeai/openinference-instrumentation-anthropic", libraryProfile{name: "openinference_anthropic", anthropicCache: cacheInside}},
	{"ai", libraryProfile{name: "vercel_ai", anthropicCache: cacheInside}}, // AI SDK 5+ adds Anthropic's cache counts to input
	{"@openlit/", libraryProfile{name: "openlit", anthropicCache: cacheOutside}},
	{"openlit.", libraryProfile{name: "openlit", anthropicCache: cacheOutside}},
	{"@traceloop/instrumentation-anthropic", libraryProfile{name: "traceloop_anthropic", anthropicCache: cacheOutside}},
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
