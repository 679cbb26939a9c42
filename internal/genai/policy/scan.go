package policy

import "strings"

// Byte classes, one table lookup per byte.
const (
	cWord  = 1 << iota // [A-Za-z0-9]
	cDigit             // [0-9]
	cUpper             // [A-Z]
	cB64               // [A-Za-z0-9+/]
	cKey               // [A-Za-z0-9_-], the alphabet of API keys and base64url
	cLocal             // email local part [A-Za-z0-9._%+-]
	cHex               // [0-9A-Fa-f]
	cLabel             // domain label [A-Za-z0-9-]
)

var class [256]uint8

// fold lower-cases letters and reads common leetspeak digits as letters, so
// "1gn0re" compares equal to "ignore". Non-word bytes fold to 0.
var fold [256]byte

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var k uint8
		switch {
		case b >= '0' && b <= '9':
			k = cWord | cDigit | cB64 | cKey | cLocal | cHex | cLabel
		case b >= 'A' && b <= 'Z':
			k = cWord | cUpper | cB64 | cKey | cLocal | cLabel
			if b <= 'F' {
				k |= cHex
			}
		case b >= 'a' && b <= 'z':
			k = cWord | cB64 | cKey | cLocal | cLabel
			if b <= 'f' {
				k |= cHex
			}
		case b == '+':
			k = cB64 | cLocal
		case b == '/':
			k = cB64
		case b == '_':
			k = cKey | cLocal
		case b == '-':
			k = cKey | cLocal | cLabel
		case b == '.' || b == '%':
			k = cLocal
		}
		class[c] = k
		switch {
		case b >= 'A' && b <= 'Z':
			fold[c] = b + 'a' - 'A'
		case b >= 'a' && b <= 'z':
			fold[c] = b
		}
	}
	for d, l := range map[byte]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't'} {
		fold[d] = l
	}
}

func isWord(c byte) bool { return class[c]&cWord != 0 }
func isKey(c byte) bool  { return class[c]&cKey != 0 }

// Scan appends to dst every finding in s of the detectors in on, in order and
// without overlaps. minBase64 is the shortest base64 run reported as a blob.
func Scan(dst []Hit, s string, on Set, minBase64 int) []Hit {
	return scanText(dst, s, 0, on, minBase64)
}

func scanText(dst []Hit, s string, base int, on Set, minB64 int) []Hit {
	n := len(s)
	last, b64End := 0, 0
	hit := func(d Detector, start, end int) {
		dst = append(dst, Hit{Det: d, Start: base + start, End: base + end})
		last = end
	}
	for i := 0; i < n; {
		c := s[i]
		if isWord(c) {
			j := i + 1
			for j < n && isWord(s[j]) {
				j++
			}
			if d, e, ok := wordAt(s, i, j, on); ok {
				hit(d, i, e)
				i = e
				continue
			} else if e > j {
				j = e // a long digit run that is no PII: skip it whole
			}
			if on.Has(Base64Blob) && i >= b64End && (j-i >= 16 || (j < n && (s[j] == '+' || s[j] == '/'))) {
				if e, ok := base64Blob(s, i, minB64); ok {
					hit(Base64Blob, i, e)
					i = e
					continue
				} else {
					b64End = e
				}
			}
			i = j
			continue
		}
		switch c {
		case '@':
			if on.Has(Email) {
				if st, e, ok := email(s, i, last); ok {
					hit(Email, st, e)
					i = e
					continue
				}
			}
		case '+', '(':
			if i+1 < n && class[s[i+1]]&cDigit != 0 && (i == 0 || !isWord(s[i-1])) && on&numericSet != 0 {
				if d, e, ok := numeric(s, i, on); ok {
					hit(d, i, e)
					i = e
					continue
				}
			}
		case '-':
			if on.Has(PrivateKey) && strings.HasPrefix(s[i:], "-----BEGIN ") {
				if e, ok := privateKey(s, i); ok {
					hit(PrivateKey, i, e)
					i = e
					continue
				}
			}
		case '<', '[', '\n':
			if on.Has(RoleMarker) {
				if e, ok := roleMarker(s, i); ok {
					hit(RoleMarker, i, e)
					i = e
					continue
				}
			}
		case 0xE2, 0xEF, 0xF3:
			if on.Has(InvisibleUnicode) {
				if e := invisibleRun(s, i); e > i {
					hit(InvisibleUnicode, i, e)
					i = e
					continue
				}
			}
		}
		i++
	}
	return dst
}

var numericSet = Set(1<<Phone | 1<<CreditCard | 1<<USSSN | 1<<IPAddress)

// wordAt runs the detectors that start at an alphanumeric run s[i:j]. When
// nothing is found, end may still point past j so the caller skips a run it
// has already examined.
func wordAt(s string, i, j int, on Set) (d Detector, end int, ok bool) {
	c := s[i]
	n := len(s)
	if class[c]&cDigit != 0 {
		if on&numericSet != 0 && (i == 0 || (s[i-1] != '.' && s[i-1] != '-' && s[i-1] != '_')) {
			if d, e, ok := numeric(s, i, on); ok {
				return d, e, true
			} else if e > j {
				end = e
			}
		}
		if on.Has(IPAddress) && j-i <= 4 && j < n && s[j] == ':' {
			if e, ok := ipv6(s, i); ok {
				return IPAddress, e, true
			}
		}
		if on.Has(InjectionOverride) {
			if e, ok := injection(s, i, j); ok {
				return InjectionOverride, e, true
			}
		}
		return 0, end, false
	}
	keyStart := i == 0 || !isKey(s[i-1])
	switch c {
	case 's':
		if j-i == 2 && s[i+1] == 'k' && j < n && s[j] == '-' && keyStart && on&(1<<OpenAIKey|1<<AnthropicKey) != 0 {
			if d, e, ok := skKey(s, i, on); ok {
				return d, e, true
			}
		}
	case 'g':
		if keyStart && on.Has(GitHubToken) {
			if e, ok := githubToken(s, i, j); ok {
				return GitHubToken, e, true
			}
		}
	case 'e':
		if keyStart && on.Has(JWT) && j-i >= 10 && s[i+1] == 'y' && s[i+2] == 'J' {
			if e, ok := jwt(s, i); ok {
				return JWT, e, true
			}
		}
	case 'A':
		if keyStart && on.Has(AWSKey) && j-i == 20 && awsPrefix(s[i:i+4]) && allUpperDigit(s[i+4:j]) && (j == n || !isKey(s[j])) {
			return AWSKey, j, true
		}
		if keyStart && on.Has(GCPKey) && j-i >= 4 && s[i:i+4] == "AIza" {
			e := i
			for e < n && isKey(s[e]) {
				e++
			}
			if e-i == 39 {
				return GCPKey, e, true
			}
		}
	}
	if class[c]&cUpper != 0 && on.Has(IBAN) && j-i >= 4 && class[s[i+1]]&cUpper != 0 {
		if e, ok := iban(s, i); ok {
			return IBAN, e, true
		}
	}
	if on.Has(IPAddress) && j-i <= 4 && j < n && s[j] == ':' {
		if e, ok := ipv6(s, i); ok {
			return IPAddress, e, true
		}
	}
	if on.Has(InjectionOverride) {
		if e, ok := injection(s, i, j); ok {
			return InjectionOverride, e, true
		}
	}
	return 0, 0, false
}

func awsPrefix(p string) bool {
	return p == "AKIA" || p == "ASIA" || p == "ABIA" || p == "ACCA"
}

func allUpperDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&(cUpper|cDigit) == 0 {
			return false
		}
	}
	return true
}

// email looks back from the '@' at a for the local part (not before last)
// and forward for a dotted domain with an alphabetic TLD.
func email(s string, a, last int) (start, end int, ok bool) {
	st := a
	for st > last && st > a-64 && class[s[st-1]]&cLocal != 0 {
		st--
	}
	for st < a && (s[st] == '.' || s[st] == '-' || s[st] == '+') {
		st++
	}
	if st == a || s[a-1] == '.' {
		return 0, 0, false
	}
	n := len(s)
	e, labels, labelStart := a+1, 0, a+1
	lastLabel, firstLabel := "", ""
	for {
		k := e
		for k < n && class[s[k]]&cLabel != 0 && k-e < 63 {
			k++
		}
		if k == e || s[e] == '-' || s[k-1] == '-' {
			break
		}
		labels++
		lastLabel = s[e:k]
		if labels == 1 {
			firstLabel = lastLabel
		}
		labelStart = e
		if k+1 < n && s[k] == '.' && class[s[k+1]]&cLabel != 0 {
			e = k + 1
			continue
		}
		e = k
		break
	}
	_ = labelStart
	if labels < 2 || len(lastLabel) < 2 {
		return 0, 0, false
	}
	for i := 0; i < len(lastLabel); i++ {
		if class[lastLabel[i]]&cDigit != 0 || lastLabel[i] == '-' {
			return 0, 0, false
		}
	}
	// Retina asset names ("logo@2x.png") are not addresses.
	if labels == 2 && len(firstLabel) >= 2 && firstLabel[len(firstLabel)-1] == 'x' && allDigits(firstLabel[:len(firstLabel)-1]) {
		return 0, 0, false
	}
	return st, e, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&cDigit == 0 {
			return false
		}
	}
	return len(s) > 0
}

// numShape is a run of digit groups and the separators between them.
type numShape struct {
	digits [24]byte
	nd     int
	groups [12]uint8
	seps   [12]byte // separator after group k: ' ', '-', '.', 'p' (a parenthesis)
	ng     int
	plus   bool
	paren  bool
}

// numeric parses digit groups starting at p and classifies them as an IP
// address, SSN, card number or phone number. When it finds nothing, end is
// where the groups stopped, so the caller does not parse them again.
func numeric(s string, p int, on Set) (d Detector, end int, ok bool) {
	var sh numShape
	n := len(s)
	k := p
	if s[k] == '+' {
		sh.plus = true
		k++
	}
	if k < n && s[k] == '(' {
		sh.paren = true
		k++
	}
	for {
		g := k
		for k < n && class[s[k]]&cDigit != 0 {
			if sh.nd < len(sh.digits) {
				sh.digits[sh.nd] = s[k]
			}
			sh.nd++
			k++
		}
		if k == g || sh.ng == len(sh.groups) {
			return 0, k, false
		}
		sh.groups[sh.ng] = uint8(min(k-g, 255))
		sh.ng++
		end = k
		if sh.nd > len(sh.digits) {
			// Longer than any card or phone number: an id, not PII.
			for k < n && (class[s[k]]&cDigit != 0 || isNumSep(s[k])) {
				k++
			}
			return 0, k, false
		}
		// Up to two separator bytes, e.g. ") " or " (", then a digit.
		sep, m := byte(0), k
		for m < n && m-k < 2 && isNumSep(s[m]) {
			switch s[m] {
			case '(', ')':
				sep = 'p'
			default:
				if sep != 'p' {
					if sep != 0 && sep != s[m] {
						sep = 'x'
					} else {
						sep = s[m]
					}
				}
			}
			m++
		}
		if m == k || m >= n || class[s[m]]&cDigit == 0 || sep == 'x' {
			break
		}
		sh.seps[sh.ng-1] = sep
		k = m
	}
	// A word character right after the digits makes this part of a token.
	if end < n && (isWord(s[end]) || s[end] == '_' || (s[end] == '.' && end+1 < n && class[s[end+1]]&cDigit != 0)) {
		return 0, end, false
	}
	if sh.paren && !sh.hasParen() {
		return 0, end, false
	}
	switch {
	case on.Has(IPAddress) && ipv4(&sh):
		return IPAddress, end, true
	case on.Has(USSSN) && ssn(&sh):
		return USSSN, end, true
	case on.Has(CreditCard) && card(&sh):
		return CreditCard, end, true
	case on.Has(Phone) && phone(&sh):
		return Phone, end, true
	}
	return 0, end, false
}

func isNumSep(c byte) bool { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' }

func (sh *numShape) hasParen() bool {
	for k := 0; k < sh.ng-1; k++ {
		if sh.seps[k] == 'p' {
			return true
		}
	}
	return false
}

func (sh *numShape) sepsAll(c byte) bool {
	for k := 0; k < sh.ng-1; k++ {
		if sh.seps[k] != c {
			return false
		}
	}
	return true
}

func (sh *numShape) groupValue(g int) int {
	off := 0
	for k := 0; k < g; k++ {
		off += int(sh.groups[k])
	}
	v := 0
	for k := 0; k < int(sh.groups[g]); k++ {
		v = v*10 + int(sh.digits[off+k]-'0')
	}
	return v
}

func ipv4(sh *numShape) bool {
	if sh.ng != 4 || sh.plus || sh.paren || !sh.sepsAll('.') {
		return false
	}
	var o [4]int
	for g := 0; g < 4; g++ {
		if sh.groups[g] > 3 {
			return false
		}
		if o[g] = sh.groupValue(g); o[g] > 255 {
			return false
		}
	}
	// Loopback, unspecified and broadcast addresses identify nobody.
	return o[0] != 127 && o[0] != 0 && !(o[0] == 255 && o[1] == 255 && o[2] == 255 && o[3] == 255)
}

func ssn(sh *numShape) bool {
	if sh.ng != 3 || sh.plus || sh.paren || sh.groups[0] != 3 || sh.groups[1] != 2 || sh.groups[2] != 4 {
		return false
	}
	if !sh.sepsAll('-') && !sh.sepsAll(' ') {
		return false
	}
	area, group, serial := sh.groupValue(0), sh.groupValue(1), sh.groupValue(2)
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

func card(sh *numShape) bool {
	if sh.nd < 13 || sh.nd > 19 || sh.plus || sh.paren || sh.digits[0] < '2' || sh.digits[0] > '6' {
		return false
	}
	if sh.ng > 1 {
		if !sh.sepsAll(' ') && !sh.sepsAll('-') {
			return false
		}
		amex := sh.ng == 3 && sh.groups[0] == 4 && sh.groups[1] == 6 && sh.groups[2] == 5
		if !amex {
			for g := 0; g < sh.ng-1; g++ {
				if sh.groups[g] != 4 {
					return false
				}
			}
		}
	}
	return luhn(sh.digits[:sh.nd])
}

func luhn(d []byte) bool {
	sum, double := 0, false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if double {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

func phone(sh *numShape) bool {
	if sh.plus {
		return sh.nd >= 8 && sh.nd <= 15 && (sh.ng == 1 || sh.groups[0] <= 4)
	}
	if sh.ng < 3 {
		return false
	}
	g := sh.groups[:sh.ng]
	// North American: 555-123-4567, (555) 123-4567, 1 555 123 4567.
	if (sh.ng == 3 && g[0] == 3 && g[1] == 3 && g[2] == 4) ||
		(sh.ng == 4 && g[0] == 1 && sh.digits[0] == '1' && g[1] == 3 && g[2] == 3 && g[3] == 4) {
		return sh.ng == 4 || sh.seps[1] != 'p'
	}
	// National formats with a trunk zero: 020 7946 0958, 06 12 34 56 78.
	if sh.digits[0] == '0' && sh.nd >= 9 && sh.nd <= 12 && !sh.paren && (sh.sepsAll(' ') || sh.sepsAll('-') || sh.sepsAll('.')) {
		for _, l := range g {
			if l > 4 {
				return false
			}
		}
		return true
	}
	return false
}

// ibanLengths holds the IBAN length of common countries; others must be 15-34.
var ibanLengths = map[string]int{
	"AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
	"FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21,
	"LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
	"SE": 24, "SI": 19, "SK": 24, "SM": 27, "AE": 23, "SA": 24, "TR": 26, "IL": 23, "BR": 29, "UA": 29,
}

// iban reads a country code, two check digits and the account part, allowing
// single spaces between groups of four, and checks mod-97.
func iban(s string, i int) (end int, ok bool) {
	n := len(s)
	if i+4 > n || class[s[i+2]]&cDigit == 0 || class[s[i+3]]&cDigit == 0 {
		return 0, false
	}
	want := ibanLengths[s[i:i+2]]
	var buf [34]byte
	m, k := 0, i
	for k < n && m < 34 {
		c := s[k]
		if class[c]&(cUpper|cDigit) != 0 {
			buf[m] = c
			m++
			k++
			end = k
			if m == want {
				break
			}
			continue
		}
		if c == ' ' && m%4 == 0 && k+1 < n && class[s[k+1]]&(cUpper|cDigit) != 0 {
			k++
			continue
		}
		break
	}
	if end < n && isWord(s[end]) {
		return 0, false
	}
	if (want != 0 && m != want) || m < 15 {
		return 0, false
	}
	// Move the first four characters to the end, letters count as 10..35.
	rem := 0
	for x := 0; x < m; x++ {
		c := buf[(x+4)%m]
		if c >= 'A' {
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	return end, rem == 1
}

func skKey(s string, i int, on Set) (Detector, int, bool) {
	n := len(s)
	body := i + 3
	d := OpenAIKey
	if strings.HasPrefix(s[body:], "ant-") {
		d = AnthropicKey
		body += 4
	}
	e, letters, digits := body, 0, 0
	for e < n && isKey(s[e]) {
		switch {
		case class[s[e]]&cDigit != 0:
			digits++
		case isWord(s[e]):
			letters++
		}
		e++
	}
	if e-body < 32 || letters == 0 || digits == 0 || !on.Has(d) {
		return 0, 0, false
	}
	return d, e, true
}

func githubToken(s string, i, j int) (int, bool) {
	n := len(s)
	w := s[i:j]
	var min int
	switch {
	case j-i == 3 && (w == "ghp" || w == "gho" || w == "ghu" || w == "ghs" || w == "ghr") && j < n && s[j] == '_':
		min = 36
	case w == "github" && strings.HasPrefix(s[j:], "_pat_"):
		min = 60
	default:
		return 0, false
	}
	b := j + 1
	if min == 60 {
		b = j + 5
	}
	e := b
	for e < n && (isWord(s[e]) || s[e] == '_') {
		e++
	}
	return e, e-b >= min
}

// jwt reads three base64url segments; the first two are JSON objects, so
// they start with "eyJ".
func jwt(s string, i int) (int, bool) {
	n := len(s)
	seg := func(k int) int {
		for k < n && isKey(s[k]) {
			k++
		}
		return k
	}
	a := seg(i)
	if a-i < 10 || a+4 >= n || s[a] != '.' || !strings.HasPrefix(s[a+1:], "eyJ") {
		return 0, false
	}
	b := seg(a + 1)
	if b-a-1 < 10 || b+1 >= n || s[b] != '.' {
		return 0, false
	}
	c := seg(b + 1)
	return c, c-b-1 >= 16
}

func privateKey(s string, i int) (int, bool) {
	head := s[i:min(len(s), i+64)]
	h := strings.Index(head, "PRIVATE KEY-----")
	if h < 0 {
		return 0, false
	}
	end := i + h + len("PRIVATE KEY-----")
	if f := strings.Index(s[end:], "-----END "); f >= 0 {
		tail := end + f + len("-----END ")
		if g := strings.Index(s[tail:min(len(s), tail+64)], "-----"); g >= 0 {
			return tail + g + 5, true
		}
	}
	return end, true
}

var roleMarkers = []string{
	"<<SYS>>", "<</SYS>>", "<start_of_turn>", "<end_of_turn>",
	"[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
	"\n\nHuman:", "\n\nAssistant:", "\n\nSystem:",
}

// roleMarker finds chat-template tokens that let text pose as another turn.
func roleMarker(s string, i int) (int, bool) {
	rest := s[i:]
	if strings.HasPrefix(rest, "<|") {
		// Special tokens: <|im_start|>, <|eot_id|>, <|start_header_id|>, ...
		for k := 2; k < len(rest) && k < 40; k++ {
			c := rest[k]
			if c == '|' {
				if k > 2 && k+1 < len(rest) && rest[k+1] == '>' {
					return i + k + 2, true
				}
				return 0, false
			}
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return 0, false
			}
		}
		return 0, false
	}
	for _, m := range roleMarkers {
		if strings.HasPrefix(rest, m) {
			return i + len(m), true
		}
	}
	return 0, false
}

// invisibleRun returns the end of a run of characters that render as nothing
// but steer a model: zero-width space, word joiners, bidi overrides, a BOM in
// mid text and Unicode tag characters. Zero-width joiners and non-joiners are
// left alone: emoji and Persian text use them.
func invisibleRun(s string, i int) int {
	e := i
	for e < len(s) {
		if w := invisibleAt(s, e); w > 0 {
			e += w
			continue
		}
		break
	}
	return e
}

func invisibleAt(s string, i int) int {
	if i+2 >= len(s) {
		return 0
	}
	b1, b2 := s[i+1], s[i+2]
	switch s[i] {
	case 0xE2:
		if b1 == 0x80 && (b2 == 0x8B || (b2 >= 0xAA && b2 <= 0xAE)) {
			return 3
		}
		if b1 == 0x81 && ((b2 >= 0xA0 && b2 <= 0xA4) || (b2 >= 0xA6 && b2 <= 0xA9)) {
			return 3
		}
	case 0xEF:
		if b1 == 0xBB && b2 == 0xBF && i > 0 {
			return 3
		}
	case 0xF3:
		if i+3 < len(s) && b1 == 0xA0 && (b2 == 0x80 || b2 == 0x81) && s[i+3] >= 0x80 && s[i+3] <= 0xBF {
			return 4
		}
	}
	return 0
}

// base64Blob measures the base64 run at i. It is a blob when it is long,
// mixes cases and digits (prose and hex do not) and is not an inline image.
func base64Blob(s string, i, minLen int) (int, bool) {
	n := len(s)
	e := i
	var seen uint8
	for e < n && class[s[e]]&cB64 != 0 {
		c := s[e]
		switch {
		case class[c]&cDigit != 0:
			seen |= 1
		case class[c]&cUpper != 0:
			seen |= 2
		case isWord(c):
			seen |= 4
		}
		e++
	}
	for k := 0; k < 2 && e < n && s[e] == '='; k++ {
		e++
	}
	if e-i < minLen || seen != 7 {
		return e, false
	}
	if i >= 7 && s[i-7:i] == "base64," {
		return e, false
	}
	return e, true
}
