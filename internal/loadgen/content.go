package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
)

// Message shapes follow the GenAI semconv input/output messages JSON schema.
type msgPart struct {
	Type      string          `json:"type"`
	Content   string          `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Response  json.RawMessage `json:"response,omitempty"`
}

type message struct {
	Role         string    `json:"role"`
	Parts        []msgPart `json:"parts"`
	FinishReason string    `json:"finish_reason,omitempty"`
}

func textMsg(role, text string) message {
	return message{Role: role, Parts: []msgPart{{Type: "text", Content: text}}}
}

// corpus is deterministic ASCII prose without characters JSON would escape,
// so byte lengths add up exactly when it is embedded in a JSON string.
// sentenceStarts lets filler begin at a sentence boundary.
var corpus, sentenceStarts = func() (string, []int) {
	r := rand.New(rand.NewPCG(0x5eed, 0xc0ffee))
	var sb strings.Builder
	var starts []int
	for sb.Len() < 64<<10 {
		starts = append(starts, sb.Len())
		n := 6 + r.IntN(12)
		for i := range n {
			w := fillerWords[r.IntN(len(fillerWords))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			sb.WriteString(w)
			if i < n-1 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(". ")
	}
	return sb.String(), starts
}()

// filler returns n bytes of prose starting at a random corpus offset.
func filler(r *rand.Rand, n int) string {
	if n <= 0 {
		return ""
	}
	off := sentenceStarts[r.IntN(len(sentenceStarts))]
	if off+n <= len(corpus) {
		return corpus[off : off+n]
	}
	var sb strings.Builder
	sb.Grow(n)
	for sb.Len() < n {
		chunk := corpus[off:]
		if rest := n - sb.Len(); len(chunk) > rest {
			chunk = chunk[:rest]
		}
		sb.WriteString(chunk)
		off = 0
	}
	return sb.String()
}

// sizedJSON marshals msgs so the result is exactly target bytes by padding
// the text part msgs[mi].Parts[pi] (which must be non-empty) with filler.
// It returns false if the messages without padding are already too large.
func sizedJSON(r *rand.Rand, msgs []message, mi, pi, target int) (string, bool) {
	p := &msgs[mi].Parts[pi]
	prefix := p.Content
	base, err := json.Marshal(msgs)
	if err != nil {
		return "", false
	}
	pad := target - len(base) - 1 // one separating space
	if pad < 0 {
		return "", false
	}
	p.Content = prefix + " " + filler(r, pad)
	out, err := json.Marshal(msgs)
	p.Content = prefix
	if err != nil || len(out) != target {
		return "", false
	}
	return string(out), true
}

// contentSize picks a target size within the configured bounds.
func (b *Builder) contentSize() int {
	lo, hi := b.content[0], b.content[1]
	if hi <= lo {
		return lo
	}
	return lo + b.r.IntN(hi-lo+1)
}

// messagesJSON renders msgs sized within the content bounds, padding the
// part at (mi, pi). If the structure does not fit it falls back to a single
// message made of the fallback role and text.
func (b *Builder) messagesJSON(msgs []message, mi, pi int, fbRole, fbText string) string {
	target := b.contentSize()
	if s, ok := sizedJSON(b.r, msgs, mi, pi, target); ok {
		return s
	}
	one := []message{textMsg(fbRole, fbText)}
	if s, ok := sizedJSON(b.r, one, 0, 0, target); ok {
		return s
	}
	// Only reachable with tiny bounds: emit bare filler text.
	one[0].Parts[0].Content = "x"
	s, _ := sizedJSON(b.r, one, 0, 0, target)
	return s
}
