package policy

import "net/netip"

// ipv6 reads hex groups and colons from i and accepts what parses as a
// global IPv6 address (times such as 12:30:45 and MAC addresses do not).
func ipv6(s string, i int) (int, bool) {
	e, colons := i, 0
	for e < len(s) && e-i < 45 {
		c := s[e]
		if c == ':' {
			colons++
		} else if class[c]&cHex == 0 && c != '.' {
			break
		}
		e++
	}
	for e > i && (s[e-1] == ':' || s[e-1] == '.') {
		if s[e-1] == ':' && e-2 > i && s[e-2] == ':' {
			break // a trailing "::" belongs to the address
		}
		e--
	}
	if colons < 2 || (e < len(s) && isWord(s[e])) {
		return 0, false
	}
	a, err := netip.ParseAddr(s[i:e])
	if err != nil || !a.Is6() || a.Is4In6() || a.IsLoopback() || a.IsUnspecified() {
		return 0, false
	}
	return e, true
}
