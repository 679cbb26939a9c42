package policy

// Instruction-override heuristics. Words are compared case-insensitively,
// leetspeak digits read as letters, and words of five letters or more may be
// one edit away (a typo, a dropped or doubled letter, two swapped letters):
// attackers misspell on purpose to slip past exact phrase lists. The first
// letter must match, which keeps the check cheap and the false positives few.

var (
	overrideVerbs = []string{"ignore", "disregard", "forget", "override", "bypass", "neglect", "discard"}
	exfilVerbs    = []string{"reveal", "repeat", "leak", "print", "output", "display"}
	objects       = []string{"instructions", "instruction", "prompt", "prompts", "rules", "directions", "guidelines", "guardrails", "directives", "programming", "restrictions", "context"}
	qualifiers    = []string{"previous", "prior", "above", "earlier", "preceding", "all", "any", "your", "initial", "original", "system", "every", "hidden", "foregoing", "these", "those"}
)

// starters is the set of first letters that can begin a pattern.
var starters uint32

func init() {
	for _, list := range [][]string{overrideVerbs, exfilVerbs, {"jailbreak", "do", "developer"}} {
		for _, w := range list {
			starters |= 1 << (w[0] - 'a')
		}
	}
}

// injection checks whether the word s[i:j] starts an override phrase and
// returns the end of the phrase.
func injection(s string, i, j int) (int, bool) {
	l := j - i
	if l < 2 || l > 13 {
		return 0, false
	}
	f := fold[s[i]]
	if f == 0 || starters&(1<<(f-'a')) == 0 {
		return 0, false
	}
	w := s[i:j]
	for _, v := range overrideVerbs {
		if v[0] == f && near(w, v) {
			return objectAfter(s, j)
		}
	}
	for _, v := range exfilVerbs {
		if v[0] == f && near(w, v) {
			return objectAfter(s, j)
		}
	}
	switch f {
	case 'j':
		if near(w, "jailbreak") || near(w, "jailbroken") {
			return j, true
		}
	case 'd':
		if eqFold(w, "do") {
			if a, b, ok := nextWord(s, j); ok && near(s[a:b], "anything") {
				if c, d, ok := nextWord(s, b); ok && eqFold(s[c:d], "now") {
					return d, true
				}
			}
		} else if near(w, "developer") {
			if a, b, ok := nextWord(s, j); ok && eqFold(s[a:b], "mode") {
				return b, true
			}
		}
	}
	return 0, false
}

// objectAfter looks at up to six words after a verb, within the sentence,
// for a qualifier ("all", "previous", ...) followed by an object
// ("instructions", "rules", ...).
func objectAfter(s string, k int) (int, bool) {
	qual := false
	for n := 0; n < 6; n++ {
		a, b, ok := nextWord(s, k)
		if !ok {
			return 0, false
		}
		w := s[a:b]
		for _, o := range objects {
			if near(w, o) {
				return b, qual
			}
		}
		if !qual {
			for _, q := range qualifiers {
				if near(w, q) {
					qual = true
					break
				}
			}
		}
		k = b
	}
	return 0, false
}

func nextWord(s string, k int) (int, int, bool) {
	for k < len(s) && !isWord(s[k]) {
		switch s[k] {
		case '.', '!', '?', '\n', ';':
			return 0, 0, false
		}
		k++
	}
	if k == len(s) {
		return 0, 0, false
	}
	e := k
	for e < len(s) && isWord(s[e]) {
		e++
	}
	return k, e, true
}

func eqFold(w, t string) bool {
	if len(w) != len(t) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if fold[w[k]] != t[k] {
			return false
		}
	}
	return true
}

// near reports whether w folds to t, or (for t of five letters or more) is
// one insertion, deletion, substitution or adjacent swap away with the first
// letter intact.
func near(w, t string) bool {
	lw, lt := len(w), len(t)
	if lt < 5 {
		return eqFold(w, t)
	}
	if lw-lt > 1 || lt-lw > 1 {
		return false
	}
	k := 0
	for k < lw && k < lt && fold[w[k]] == t[k] {
		k++
	}
	switch {
	case k == lw && k == lt:
		return true
	case k == 0:
		return false
	case lw == lt:
		if eqFold(w[k+1:], t[k+1:]) {
			return true
		}
		return k+1 < lw && fold[w[k]] == t[k+1] && fold[w[k+1]] == t[k] && eqFold(w[k+2:], t[k+2:])
	case lw == lt+1:
		return eqFold(w[k+1:], t[k:])
	default:
		return eqFold(w[k:], t[k+1:])
	}
}
