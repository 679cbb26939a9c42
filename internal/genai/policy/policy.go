package policy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Action is what happens to a finding.
type Action uint8

const (
	Off         Action = iota // the detector does not run
	Detect                    // flag only
	Mask                      // replace with [LABEL]
	Hash                      // replace with [LABEL:<HMAC-SHA256 prefix>]
	DropContent               // remove all content of the span, keep its digest
)

var actionNames = [...]string{"off", "detect", "mask", "hash", "drop_content"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// ParseAction reads a configured action name.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return Off, fmt.Errorf("unknown action %q (known: %s)", s, strings.Join(actionNames[:], ", "))
}

// Policy holds an action per detector and the HMAC key for Hash.
type Policy struct {
	actions   [NumDetectors]Action
	on        Set // detectors whose action is not Off
	rewrite   Set // detectors whose action rewrites text
	key       []byte
	minBase64 int
}

// New builds a policy. A Hash action without a key is refused: an unsalted
// hash of an email or card number is reversible by enumeration.
func New(actions [NumDetectors]Action, hmacKey []byte, minBase64 int) (*Policy, error) {
	p := &Policy{actions: actions, key: append([]byte(nil), hmacKey...), minBase64: minBase64}
	if p.minBase64 <= 0 {
		p.minBase64 = 200
	}
	for d, a := range actions {
		if a == Hash && len(hmacKey) == 0 {
			return nil, fmt.Errorf("%s: action hash needs a hash key", Detector(d).Name())
		}
		if a != Off {
			p.on.Add(Detector(d))
		}
		if a == Mask || a == Hash {
			p.rewrite.Add(Detector(d))
		}
	}
	return p, nil
}

// Action returns the action configured for d.
func (p *Policy) Action(d Detector) Action { return p.actions[d] }

// Enabled is the set of detectors that run.
func (p *Policy) Enabled() Set { return p.on }

// Workspace holds buffers reused across calls; one per goroutine.
type Workspace struct {
	hits []Hit
	out  []byte
	tmp  []byte
	lit  []byte
	mac  hash.Hash
	sum  []byte
}

// Result accumulates what Apply found over a span's content.
type Result struct {
	Counts [NumDetectors]int32
	Found  Set
	Drop   bool // a drop_content detector fired
}

// Reset clears r for the next span.
func (r *Result) Reset() { *r = Result{} }

// Apply scans s and returns it with masked and hashed findings rewritten; s
// itself comes back when nothing was rewritten. input selects whether the
// injection detectors run. JSON text is scanned string by string, so a
// rewrite never breaks its syntax.
func (p *Policy) Apply(w *Workspace, s string, input bool, r *Result) (string, bool) {
	on := p.on
	if !input {
		on &^= InjectionSet
	}
	if on == 0 || s == "" {
		return s, false
	}
	if looksJSON(s) {
		if out, changed, ok := p.applyJSON(w, s, on, r); ok {
			return out, changed
		}
	}
	w.hits = scanText(w.hits[:0], s, 0, on, p.minBase64)
	if !p.tally(w.hits, r) {
		return s, false
	}
	w.out = p.rewriteText(w, w.out[:0], s, w.hits, false)
	return string(w.out), true
}

// tally counts hits and reports whether any of them is to be rewritten.
func (p *Policy) tally(hits []Hit, r *Result) bool {
	rw := false
	for _, h := range hits {
		r.Counts[h.Det]++
		r.Found.Add(h.Det)
		switch p.actions[h.Det] {
		case DropContent:
			r.Drop = true
		case Mask, Hash:
			rw = true
		}
	}
	return rw
}

func looksJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// applyJSON scans every string literal of a JSON text and the bare tokens
// between them (numbers can be card or phone numbers). ok is false when the
// text is not well-formed enough to rewrite safely.
func (p *Policy) applyJSON(w *Workspace, s string, on Set, r *Result) (string, bool, bool) {
	out := w.out[:0]
	copied, changed := 0, false
	numOn := on & numericSet
	i := 0
	for i <= len(s) {
		q := strings.IndexByte(s[i:], '"')
		gapEnd := len(s)
		if q >= 0 {
			gapEnd = i + q
		}
		// Bare tokens: only numbers can be findings there.
		if numOn != 0 && gapEnd > i {
			gap := s[i:gapEnd]
			if hasDigit(gap) {
				w.hits = scanText(w.hits[:0], gap, 0, numOn, p.minBase64)
				if p.tally(w.hits, r) {
					out = append(out, s[copied:i]...)
					out = p.rewriteText(w, out, gap, w.hits, true)
					copied, changed = gapEnd, true
				}
			}
		}
		if q < 0 {
			break
		}
		start := gapEnd + 1
		end, escaped := closingQuote(s, start)
		if end < 0 {
			return "", false, false
		}
		lit := s[start:end]
		if !escaped {
			w.hits = scanText(w.hits[:0], lit, 0, on, p.minBase64)
			if p.tally(w.hits, r) {
				out = append(out, s[copied:start]...)
				out = p.rewriteText(w, out, lit, w.hits, false)
				copied, changed = end, true
			}
		} else {
			dec, ok := unescape(w.lit[:0], lit)
			if !ok {
				return "", false, false
			}
			w.lit = dec
			plain := unsafe.String(unsafe.SliceData(dec), len(dec))
			w.hits = scanText(w.hits[:0], plain, 0, on, p.minBase64)
			if p.tally(w.hits, r) {
				w.tmp = p.rewriteText(w, w.tmp[:0], plain, w.hits, false)
				out = append(out, s[copied:start]...)
				out = escape(out, w.tmp)
				copied, changed = end, true
			}
		}
		i = end + 1
	}
	w.out = out
	if !changed {
		return s, false, true
	}
	out = append(out, s[copied:]...)
	w.out = out
	return string(out), true, true
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// closingQuote finds the quote that ends the literal starting at start and
// reports whether the literal holds escapes.
func closingQuote(s string, start int) (int, bool) {
	escaped := false
	for k := start; k < len(s); {
		q := strings.IndexByte(s[k:], '"')
		if q < 0 {
			return -1, false
		}
		e := k + q
		bs := 0
		for x := e - 1; x >= start && s[x] == '\\'; x-- {
			bs++
		}
		if bs > 0 || strings.IndexByte(s[k:e], '\\') >= 0 {
			escaped = true
		}
		if bs%2 == 0 {
			return e, escaped
		}
		k = e + 1
	}
	return -1, false
}

// rewriteText copies s to out with every mask or hash hit replaced. quoted
// wraps replacements in quotes, for findings in bare JSON tokens.
func (p *Policy) rewriteText(w *Workspace, out []byte, s string, hits []Hit, quoted bool) []byte {
	prev := 0
	for _, h := range hits {
		a := p.actions[h.Det]
		if a != Mask && a != Hash {
			continue
		}
		out = append(out, s[prev:h.Start]...)
		if quoted {
			out = append(out, '"')
		}
		out = append(out, '[')
		out = append(out, h.Det.Label()...)
		if a == Hash {
			out = append(out, ':')
			out = p.hmacHex(w, out, s[h.Start:h.End])
		}
		out = append(out, ']')
		if quoted {
			out = append(out, '"')
		}
		prev = h.End
	}
	return append(out, s[prev:]...)
}

// HashLen is the number of hex digits of the HMAC kept in a hashed value:
// 128 bits, enough to join on, short enough to keep the text readable.
const HashLen = 32

func (p *Policy) hmacHex(w *Workspace, out []byte, v string) []byte {
	if w.mac == nil {
		w.mac = hmac.New(sha256.New, p.key)
	}
	w.mac.Reset()
	w.mac.Write(unsafe.Slice(unsafe.StringData(v), len(v)))
	w.sum = w.mac.Sum(w.sum[:0])
	var hx [64]byte
	hex.Encode(hx[:], w.sum)
	return append(out, hx[:HashLen]...)
}

// unescape decodes a JSON string body into dst.
func unescape(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return dst, false
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if lo, ok := hex4(s, i+3); ok && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// escape appends b as a JSON string body.
func escape(out, b []byte) []byte {
	const hexd = "0123456789abcdef"
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xF])
		default:
			out = append(out, c)
		}
	}
	return out
}
