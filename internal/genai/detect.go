package genai

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// IsGenAI reports whether a span's attributes mark it as a GenAI operation in
// any known dialect. It is one pass over the keys with byte-prefix checks, so
// a non-GenAI span costs a few nanoseconds per attribute.
func IsGenAI(attrs pcommon.Map) bool {
	found := false
	attrs.Range(func(k string, _ pcommon.Value) bool {
		if isGenAIKey(k) {
			found = true
			return false
		}
		return true
	})
	return found
}

func isGenAIKey(k string) bool {
	if len(k) < 4 {
		return false
	}
	switch k[0] {
	case 'g':
		return strings.HasPrefix(k, "gen_ai.")
	case 'l':
		return strings.HasPrefix(k, "llm.") || strings.HasPrefix(k, "langfuse.observation.")
	case 'o':
		return k == OISpanKind
	case 'a':
		// Vercel AI SDK: ai.model.id, ai.usage.*, ai.operationId.
		return strings.HasPrefix(k, "ai.model.") || strings.HasPrefix(k, "ai.usage.") || k == "ai.operationId"
	}
	return false
}
