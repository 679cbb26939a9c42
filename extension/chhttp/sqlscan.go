package chhttp

import "strings"

// The engine decides what a query is (its parser classifies every
// statement); this scanner only reads the two things the HTTP layer needs
// to label a reply, never to decide what runs: the leading keyword and a
// trailing FORMAT clause.

type token struct {
	word  string // upper-cased keyword or identifier; "" for anything else
	text  string // the word as written
	punct byte   // ';' for a semicolon, 0 otherwise
	depth int    // parenthesis depth the token is at
}

// scan splits q into tokens, skipping comments, literals and quoted names.
// It stops after max tokens (0 = no limit).
func scan(q string, max int) []token {
	var out []token
	depth := 0
	for i := 0; i < len(q) && (max == 0 || len(out) < max); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			i = skipLine(q, i)
		case c == '#' && i+1 < len(q) && (q[i+1] == ' ' || q[i+1] == '!'):
			i = skipLine(q, i)
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipBlockComment(q, i)
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(q, i)
			out = append(out, token{depth: depth})
		case c == '(' || c == '[' || c == '{':
			depth++
			i++
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			i++
		case isWordStart(c):
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			out = append(out, token{word: strings.ToUpper(q[i:j]), text: q[i:j], depth: depth})
			i = j
		case c == ';':
			out = append(out, token{punct: ';', depth: depth})
			i++
		default:
			out = append(out, token{depth: depth})
			i++
		}
	}
	return out
}

func isWordStart(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isWordByte(c byte) bool  { return isWordStart(c) || c >= '0' && c <= '9' }

func skipLine(q string, i int) int {
	if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(q)
}

// skipBlockComment skips a /* */ comment; they nest in ClickHouse.
func skipBlockComment(q string, i int) int {
	level := 0
	for i < len(q) {
		switch {
		case strings.HasPrefix(q[i:], "/*"):
			level++
			i += 2
		case strings.HasPrefix(q[i:], "*/"):
			level--
			i += 2
			if level == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(q)
}

// skipQuoted skips a literal or quoted name: backslash escapes, and the
// quote doubled.
func skipQuoted(q string, i int) int {
	quote := q[i]
	for i++; i < len(q); i++ {
		switch q[i] {
		case '\\':
			i++
		case quote:
			if i+1 < len(q) && q[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(q)
}

// firstKeyword is the statement's leading keyword, upper-cased.
func firstKeyword(q string) string {
	if t := scan(q, 1); len(t) == 1 {
		return t[0].word
	}
	return ""
}

// formatClause is the output format a trailing "FORMAT name" names, as
// written: at the top level, followed by nothing but a SETTINGS clause or a
// semicolon.
func formatClause(q string) string {
	toks := scan(q, 0)
	for i := len(toks) - 2; i >= 0; i-- {
		if toks[i].depth != 0 || toks[i].word != "FORMAT" || toks[i+1].word == "" {
			continue
		}
		rest := toks[i+2:]
		if len(rest) == 0 || rest[0].punct == ';' || rest[0].word == "SETTINGS" && rest[0].depth == 0 {
			return toks[i+1].text
		}
	}
	return ""
}
