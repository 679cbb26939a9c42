package genai

import "regexp"

// pinnedRE matches model ids that name a fixed snapshot rather than an alias
// that the provider may move: dated suffixes (gpt-4o-2024-08-06,
// claude-3-5-sonnet-20241022, claude-3-5-sonnet@20241022), numbered Gemini
// releases (gemini-1.5-pro-002) and versioned Bedrock ids (...-v2:0).
var pinnedRE = regexp.MustCompile(`(?:[-@]20\d{2}-?\d{2}-?\d{2}|-\d{3}|-v\d+(?::\d+)?)$`)

// IsPinnedModel reports whether a model id names a dated or versioned snapshot.
func IsPinnedModel(model string) bool {
	if model == "" {
		return false
	}
	return pinnedRE.MatchString(model)
}
