package otlpguard

// The JSON pre-check is a validating scan: it follows the JSON grammar with
// a bounded stack of open brackets and refuses both nesting beyond the limit
// and anything that is not JSON.
//
// Counting brackets alone is not enough. pdata decodes OTLP/JSON with
// json-iterator, which accepts a comma where an object or array should
// open, and keeps reading after a syntax error: `,"arrayValue":,"values":,`
// repeated recurses one AnyValue level per repetition without a single
// bracket (870k repetitions fit in 20 MiB), and pdata even returns the
// result without an error. No OTLP exporter sends such input, and no
// valid JSON is refused for being invalid.

type jsonVerdict uint8

const (
	jsonOK jsonVerdict = iota
	jsonTooDeep
	jsonInvalid
)

// Grammar states.
const (
	jValue      = iota // a value must follow
	jFirstKey          // after '{': a key or '}'
	jKey               // after ',' in an object: a key
	jColon             // after a key
	jNext              // after a value in a container: ',' or the close
	jFirstValue        // after '[': a value or ']'
)

// jsonClass classifies bytes outside strings.
var jsonClass [256]byte

const (
	cOther = iota
	cSpace
	cNumber
	cLetter
)

func init() {
	for _, c := range " \t\n\r" {
		jsonClass[c] = cSpace
	}
	for _, c := range "-+.0123456789eE" {
		jsonClass[c] = cNumber
	}
	for c := 'a'; c <= 'z'; c++ {
		if jsonClass[c] == cOther {
			jsonClass[c] = cLetter
		}
	}
}

// scanJSON reports the deepest bracket nesting of an OTLP/JSON body,
// counting no further than limit+1, and whether the body is too deep or not
// JSON. Bytes after the top-level value are ignored, as the decoder does.
func scanJSON(b []byte, limit int) (depth int, v jsonVerdict) {
	var buf [512]byte
	stack := buf[:0] // the open brackets, '{' or '['
	state := jValue
	for i := 0; i < len(b); {
		c := b[i]
		if jsonClass[c] == cSpace {
			i++
			continue
		}
		closing := false
		switch state {
		case jValue, jFirstValue:
			switch {
			case c == ']' && state == jFirstValue:
				closing = true
			case c == '{' || c == '[':
				stack = append(stack, c)
				depth = max(depth, len(stack))
				if len(stack) > limit {
					return depth, jsonTooDeep
				}
				i++
				state = jFirstKey
				if c == '[' {
					state = jFirstValue
				}
				continue
			case c == '"':
				end, ok := stringEnd(b, i)
				if !ok {
					return depth, jsonInvalid
				}
				i = end
			case c == '-' || c >= '0' && c <= '9':
				for i++; i < len(b) && jsonClass[b[i]] == cNumber; i++ {
				}
			case c == 't' || c == 'f' || c == 'n':
				j := i + 1
				for j < len(b) && jsonClass[b[j]] >= cNumber {
					j++
				}
				if w := string(b[i:j]); w != "true" && w != "false" && w != "null" {
					return depth, jsonInvalid
				}
				i = j
			default:
				return depth, jsonInvalid
			}
			if !closing {
				if len(stack) == 0 {
					return depth, jsonOK // a scalar document
				}
				state = jNext
				continue
			}
		case jFirstKey, jKey:
			if c == '}' && state == jFirstKey {
				closing = true
				break
			}
			if c != '"' {
				return depth, jsonInvalid
			}
			end, ok := stringEnd(b, i)
			if !ok {
				return depth, jsonInvalid
			}
			i = end
			state = jColon
			continue
		case jColon:
			if c != ':' {
				return depth, jsonInvalid
			}
			i++
			state = jValue
			continue
		case jNext:
			switch c {
			case ',':
				i++
				state = jValue
				if stack[len(stack)-1] == '{' {
					state = jKey
				}
				continue
			case '}', ']':
				closing = true
			default:
				return depth, jsonInvalid
			}
		}
		// closing: c closes the innermost bracket.
		if open := stack[len(stack)-1]; c == '}' && open != '{' || c == ']' && open != '[' {
			return depth, jsonInvalid
		}
		stack = stack[:len(stack)-1]
		i++
		if len(stack) == 0 {
			return depth, jsonOK
		}
		state = jNext
	}
	// The body ended inside the top-level value, or before it.
	return depth, jsonInvalid
}

// stringEnd returns the index after the string that starts at b[i] == '"'.
// A backslash escapes the next byte, as it does for the decoder.
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, true
		case '\\':
			j++
		}
	}
	return 0, false
}
