package aitrace

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai/policy"
)

// Config of the aitrace processor.
type Config struct {
	// KeepOriginalKeys leaves dialect keys on the span after mapping them.
	KeepOriginalKeys bool `mapstructure:"keep_original_keys"`
	// Dialects to map; empty means all known dialects.
	Dialects []string `mapstructure:"dialects"`
	// CustomMappings maps an app's own attribute keys to current names,
	// applied after the dialect tables and with the same no-overwrite rule.
	CustomMappings map[string]string `mapstructure:"custom_mappings"`
	// DedupeUsage marks usage that wrapper spans or a second instrumentation
	// layer repeat, so each provider call is priced once.
	DedupeUsage bool `mapstructure:"dedupe_usage"`
	// SpanMemory bounds the memory of recent GenAI spans that lets the
	// spans of one call recognise each other across requests.
	SpanMemory SpanMemoryConfig `mapstructure:"span_memory"`
	// Join brings together what belongs to one span but arrives apart:
	// content sent as OTLP log records (the logs pipeline must run this
	// processor too) and a provider SDK span's parent attribution.
	Join JoinConfig `mapstructure:"join"`

	Content ContentConfig `mapstructure:"content"`
	Policy  PolicyConfig  `mapstructure:"policy"`
	Agent   AgentConfig   `mapstructure:"agent"`

	// Limits bound every attribute value before anything reads it.
	Limits LimitsConfig `mapstructure:"limits"`

	_ struct{}
}

// LimitsConfig bounds what one attribute value may hold.
type LimitsConfig struct {
	// MaxValueDepth is how many arrays and maps may nest in one value;
	// deeper parts are replaced by their digest and size.
	MaxValueDepth int `mapstructure:"max_value_depth"`
	// MaxAttributeBytes caps a string attribute that is not message
	// content (names, ids, models); longer ones are cut. Content keys are
	// bounded by content.max_scan_bytes instead.
	MaxAttributeBytes int `mapstructure:"max_attribute_bytes"`
}

// SpanMemoryConfig bounds the per-trace memory of recent GenAI spans.
type SpanMemoryConfig struct {
	// MaxSpans caps the spans remembered; the oldest traces go first. 0
	// turns the memory off: only spans of one request are linked.
	MaxSpans int `mapstructure:"max_spans"`
	// Window is how long a trace is remembered after its last span.
	Window time.Duration `mapstructure:"window"`
}

// JoinConfig bounds how long a request waits for its counterpart.
type JoinConfig struct {
	// LogsWait is how long a logs request waits for the spans of its
	// content records, and a traces request for the records of spans whose
	// source sends content as logs. 0 turns content joining off.
	LogsWait time.Duration `mapstructure:"logs_wait"`
	// ParentWait is how long a provider SDK's span without attribution
	// waits for its parent span. 0 turns it off.
	ParentWait time.Duration `mapstructure:"parent_wait"`
	// MaxHeld caps the log records waiting at once; more pass unjoined.
	MaxHeld int `mapstructure:"max_held"`
}

// ContentConfig is the content-capture policy.
type ContentConfig struct {
	// Capture is "full" (keep message content, after masking) or "digest"
	// (drop it, keep its SHA-256 and length).
	Capture string `mapstructure:"capture"`
	// MaxScanBytes caps one content value; a larger value cannot be vouched
	// for and is dropped to its digest.
	MaxScanBytes int `mapstructure:"max_scan_bytes"`
}

// PolicyConfig sets what happens to PII, secrets and injection findings.
type PolicyConfig struct {
	// Actions maps a detector ("pii.email") or a group ("pii", "secret",
	// "injection") to off, detect, mask, hash or drop_content. A detector
	// entry wins over its group's.
	Actions map[string]string `mapstructure:"actions"`
	// HashKey is the HMAC-SHA256 key for the hash action.
	HashKey configopaque.String `mapstructure:"hash_key"`
	// MinBase64Length is the shortest base64 run flagged as a blob.
	MinBase64Length int `mapstructure:"min_base64_length"`
}

// AgentConfig tunes agent metadata.
type AgentConfig struct {
	// LoopThreshold is how many identical tool calls in one agent run make
	// a loop suspect.
	LoopThreshold int `mapstructure:"loop_threshold"`
}

const (
	captureFull   = "full"
	captureDigest = "digest"
)

// defaultActions apply before the configured ones: secrets and PII are
// masked, injection heuristics only flag.
var defaultActions = map[string]string{"pii": "mask", "secret": "mask", "injection": "detect"}

func (c *Config) Validate() error {
	var errs []error
	for _, d := range c.Dialects {
		if _, ok := dialectTables[d]; !ok {
			errs = append(errs, fmt.Errorf("dialects: unknown dialect %q (known: %s)", d, strings.Join(knownDialects(), ", ")))
		}
	}
	for from, to := range c.CustomMappings {
		switch {
		case from == "" || to == "":
			errs = append(errs, errors.New("custom_mappings: keys and targets must be non-empty"))
		case from == to:
			errs = append(errs, fmt.Errorf("custom_mappings: %q maps to itself", from))
		}
	}
	switch c.Content.Capture {
	case "", captureFull, captureDigest:
	default:
		errs = append(errs, fmt.Errorf("content.capture: unknown value %q (known: full, digest)", c.Content.Capture))
	}
	if c.SpanMemory.MaxSpans < 0 {
		errs = append(errs, errors.New("span_memory.max_spans: must not be negative (0 turns the memory off)"))
	}
	if c.SpanMemory.MaxSpans > 0 && c.SpanMemory.Window <= 0 {
		errs = append(errs, errors.New("span_memory.window: must be positive while span_memory.max_spans is set (e.g. 10m)"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"join.logs_wait", c.Join.LogsWait}, {"join.parent_wait", c.Join.ParentWait}} {
		if d.v < 0 || d.v > time.Minute {
			errs = append(errs, fmt.Errorf("%s: must be between 0 (off) and 1m; a request waits this long for its counterpart", d.name))
		}
	}
	if c.Join.LogsWait > 0 && c.Join.MaxHeld <= 0 {
		errs = append(errs, errors.New("join.max_held: must be positive while join.logs_wait is set (e.g. 20000)"))
	}
	if c.Limits.MaxValueDepth < 1 || c.Limits.MaxValueDepth > 1000 {
		errs = append(errs, fmt.Errorf("limits.max_value_depth: %d is outside 1..1000 (default 64; real instrumentation nests about 10 levels)", c.Limits.MaxValueDepth))
	}
	if c.Limits.MaxAttributeBytes < 256 {
		errs = append(errs, fmt.Errorf("limits.max_attribute_bytes: %d is below 256 (default 65536)", c.Limits.MaxAttributeBytes))
	}
	if c.Content.MaxScanBytes < 0 {
		errs = append(errs, errors.New("content.max_scan_bytes: must not be negative"))
	}
	if c.Policy.MinBase64Length < 0 {
		errs = append(errs, errors.New("policy.min_base64_length: must not be negative"))
	}
	if c.Agent.LoopThreshold != 0 && c.Agent.LoopThreshold < 2 {
		errs = append(errs, errors.New("agent.loop_threshold: must be at least 2"))
	}
	if _, err := c.actions(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// actions resolves the configured actions per detector.
func (c *Config) actions() ([policy.NumDetectors]policy.Action, error) {
	var out [policy.NumDetectors]policy.Action
	var errs []error
	set := func(src map[string]string, groups bool) {
		for name, a := range src {
			if policy.IsGroup(name) != groups {
				continue
			}
			act, err := policy.ParseAction(a)
			if err != nil {
				errs = append(errs, fmt.Errorf("policy.actions: %s: %w", name, err))
				continue
			}
			if groups {
				for d := policy.Detector(0); d < policy.NumDetectors; d++ {
					if d.Group() == name {
						out[d] = act
					}
				}
				continue
			}
			d, ok := policy.Lookup(name)
			if !ok {
				errs = append(errs, fmt.Errorf("policy.actions: unknown detector %q (known: %s, %s)", name, strings.Join(policy.Groups, ", "), strings.Join(policy.Names(), ", ")))
				continue
			}
			out[d] = act
		}
	}
	set(defaultActions, true)
	set(c.Policy.Actions, true)
	set(c.Policy.Actions, false)
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	for d, a := range out {
		if a == policy.Hash && c.Policy.HashKey == "" {
			return out, fmt.Errorf("policy.hash_key: required because %s uses the hash action (hashing without a key can be reversed by enumeration)", policy.Detector(d).Name())
		}
	}
	return out, nil
}

func knownDialects() []string {
	out := make([]string, 0, len(dialectTables))
	for d := range dialectTables {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
