package genai

import "strings"

// PinnedModel reports whether a model id names a fixed snapshot rather than
// an alias the provider may move. It knows each provider's snapshot style
// without a regexp, since it runs on every GenAI span:
//   - OpenAI: gpt-4o-2024-08-06, gpt-4-0613, gpt-4-1106-preview, ft:...
//   - Anthropic: claude-3-5-sonnet-20241022, claude-...@20241022 (Vertex)
//   - Google: gemini-1.5-pro-002, gemini-2.5-pro-preview-05-06
//   - Bedrock: anthropic.claude-...-v2:0, amazon.titan-text-express-v1, ARNs
//     of provisioned or custom models
//   - Mistral: mistral-large-2407; Cohere: command-r-08-2024; xAI: grok-2-1212
//
// Bare names and "-latest" are aliases.
func PinnedModel(model string) bool {
	m := strings.ToLower(strings.TrimSpace(model))
	switch {
	case m == "":
		return false
	case strings.HasPrefix(m, "ft:"):
		return true
	case strings.HasPrefix(m, "arn:"):
		return strings.Contains(m, "provisioned-model/") || strings.Contains(m, "custom-model/")
	}
	if at := strings.LastIndexByte(m, '@'); at >= 0 {
		v := m[at+1:]
		return v != "latest" && v != "" && allDigitsStr(v)
	}
	if strings.HasSuffix(m, "latest") {
		return false
	}
	m = lastPathSegment(m)
	var buf [24]string
	toks := splitDash(m, buf[:0])
	last := toks[len(toks)-1]
	// Bedrock versions: -v1, -v2:0.
	if v, _, _ := strings.Cut(last, ":"); len(v) >= 2 && v[0] == 'v' && allDigitsStr(v[1:]) {
		return true
	}
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		if !allDigitsStr(t) {
			continue
		}
		switch {
		case len(t) == 8 && strings.HasPrefix(t, "20"): // 20241022
			return true
		case len(t) == 4 && strings.HasPrefix(t, "20") && i+2 < len(toks) && len(toks[i+1]) == 2 && len(toks[i+2]) == 2: // 2024-08-06
			return true
		case len(t) == 4 && strings.HasPrefix(t, "20") && i > 1 && len(toks[i-1]) == 2 && allDigitsStr(toks[i-1]): // 08-2024
			return true
		case len(t) == 4 || len(t) == 3: // 0613, 2407, 1212, 002
			return true
		case len(t) == 2 && i+1 < len(toks) && len(toks[i+1]) == 2 && allDigitsStr(toks[i+1]) && (toks[i-1] == "preview" || toks[i-1] == "exp"): // preview-05-06
			return true
		}
	}
	return false
}

// ModelFamily strips provider prefixes and snapshot suffixes from a model
// id: gpt-4o-2024-08-06 → gpt-4o, anthropic.claude-3-5-sonnet-20241022-v2:0
// → claude-3-5-sonnet, gemini-2.5-pro-preview-05-06 → gemini-2.5-pro.
func ModelFamily(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	if m == "" {
		return ""
	}
	if strings.HasPrefix(m, "ft:") {
		m = strings.TrimPrefix(m, "ft:")
		m, _, _ = strings.Cut(m, ":")
	}
	if strings.HasPrefix(m, "arn:") {
		return ""
	}
	m = lastPathSegment(m)
	if at := strings.IndexByte(m, '@'); at >= 0 {
		m = m[:at]
	}
	if c := strings.IndexByte(m, ':'); c >= 0 {
		m = m[:c]
	}
	// Bedrock ids: [region.]vendor.model
	if dot := strings.IndexByte(m, '.'); dot >= 0 {
		head := m[:dot]
		switch head {
		case "us", "eu", "apac", "global", "jp", "au", "ca":
			m = m[dot+1:]
		}
		if dot := strings.IndexByte(m, '.'); dot >= 0 {
			switch m[:dot] {
			case "anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek", "openai", "writer", "qwen":
				m = m[dot+1:]
			}
		}
	}
	var buf [24]string
	toks := splitDash(m, buf[:0])
	n := len(toks)
	date := false
	for n > 1 {
		t := toks[n-1]
		switch {
		case t == "latest" || t == "preview" || t == "exp" || t == "experimental":
		case len(t) >= 2 && t[0] == 'v' && allDigitsStr(t[1:]):
		case allDigitsStr(t) && len(t) >= 3:
			date = true
		case allDigitsStr(t) && len(t) == 2 && (date || (n >= 3 && len(toks[n-2]) == 2 && allDigitsStr(toks[n-2])) || (n >= 2 && (toks[n-2] == "preview" || toks[n-2] == "exp"))):
			date = true
		default:
			return joined(m, toks, n)
		}
		n--
	}
	return joined(m, toks, n)
}

// splitDash splits on '-' into dst without allocating for short ids; the
// tokens are substrings of s, so joined can slice s back together.
func splitDash(s string, dst []string) []string {
	for len(dst) < cap(dst)-1 {
		i := strings.IndexByte(s, '-')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
	return append(dst, s)
}

// joined returns the prefix of s made of its first n tokens.
func joined(s string, toks []string, n int) string {
	l := n - 1
	for _, t := range toks[:n] {
		l += len(t)
	}
	return s[:l]
}

func lastPathSegment(m string) string {
	if s := strings.LastIndexByte(m, '/'); s >= 0 && s+1 < len(m) {
		return m[s+1:]
	}
	return m
}

func allDigitsStr(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
