// Package policy finds PII, secrets and prompt-injection markers in GenAI
// message content and rewrites what it finds. It is one pass over the bytes
// with cheap prefilters and checksum validation (Luhn, mod-97); there is no
// regexp on this path because content scanning runs on every captured prompt.
package policy

import "strings"

// Detector identifies one kind of finding.
type Detector uint8

const (
	Email Detector = iota
	Phone
	CreditCard
	IBAN
	USSSN
	IPAddress
	OpenAIKey
	AnthropicKey
	AWSKey
	GitHubToken
	GCPKey
	JWT
	PrivateKey
	InjectionOverride
	RoleMarker
	InvisibleUnicode
	Base64Blob
	NumDetectors
)

type detectorInfo struct {
	name, group, label, severity string
}

var detectors = [NumDetectors]detectorInfo{
	Email:             {"pii.email", "pii", "EMAIL", "medium"},
	Phone:             {"pii.phone", "pii", "PHONE", "medium"},
	CreditCard:        {"pii.credit_card", "pii", "CREDIT_CARD", "high"},
	IBAN:              {"pii.iban", "pii", "IBAN", "high"},
	USSSN:             {"pii.us_ssn", "pii", "US_SSN", "high"},
	IPAddress:         {"pii.ip_address", "pii", "IP_ADDRESS", "low"},
	OpenAIKey:         {"secret.openai_key", "secret", "OPENAI_KEY", "critical"},
	AnthropicKey:      {"secret.anthropic_key", "secret", "ANTHROPIC_KEY", "critical"},
	AWSKey:            {"secret.aws_key", "secret", "AWS_KEY", "critical"},
	GitHubToken:       {"secret.github_token", "secret", "GITHUB_TOKEN", "critical"},
	GCPKey:            {"secret.gcp_key", "secret", "GCP_KEY", "critical"},
	JWT:               {"secret.jwt", "secret", "JWT", "high"},
	PrivateKey:        {"secret.private_key", "secret", "PRIVATE_KEY", "critical"},
	InjectionOverride: {"injection.override", "injection", "INJECTION", "high"},
	RoleMarker:        {"injection.role_marker", "injection", "ROLE_MARKER", "medium"},
	InvisibleUnicode:  {"injection.invisible_unicode", "injection", "INVISIBLE", "medium"},
	Base64Blob:        {"injection.base64_blob", "injection", "BASE64", "low"},
}

// Name is the detector's flag, such as "pii.email".
func (d Detector) Name() string { return detectors[d].name }

// Group is "pii", "secret" or "injection".
func (d Detector) Group() string { return detectors[d].group }

// Severity is low, medium, high or critical.
func (d Detector) Severity() string { return detectors[d].severity }

// Label is the upper-case word a mask puts in place of a finding.
func (d Detector) Label() string { return detectors[d].label }

// Lookup finds a detector by its name.
func Lookup(name string) (Detector, bool) {
	for i := range detectors {
		if detectors[i].name == name {
			return Detector(i), true
		}
	}
	return 0, false
}

// Names lists every detector name in declaration order.
func Names() []string {
	out := make([]string, NumDetectors)
	for i := range detectors {
		out[i] = detectors[i].name
	}
	return out
}

// Groups are the prefixes a config may use to set a whole family at once.
var Groups = []string{"pii", "secret", "injection"}

// IsGroup reports whether name is one of Groups.
func IsGroup(name string) bool {
	for _, g := range Groups {
		if g == name {
			return true
		}
	}
	return false
}

// Hit is one finding at s[Start:End].
type Hit struct {
	Det        Detector
	Start, End int
}

// Set is a bit set of detectors.
type Set uint32

func (s Set) Has(d Detector) bool { return s&(1<<d) != 0 }
func (s *Set) Add(d Detector)     { *s |= 1 << d }

// InjectionSet holds the injection detectors, which run only on input-side
// content: an assistant's output is not an attack on the model.
var InjectionSet = Set(1<<InjectionOverride | 1<<RoleMarker | 1<<InvisibleUnicode | 1<<Base64Blob)

func (d Detector) String() string {
	if d < NumDetectors {
		return d.Name()
	}
	return "unknown"
}

func init() {
	for i := range detectors {
		if !strings.HasPrefix(detectors[i].name, detectors[i].group+".") {
			panic("policy: detector " + detectors[i].name + " outside its group")
		}
	}
}
