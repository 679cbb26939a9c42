package otlpguard

import (
	"errors"
	"fmt"
)

const (
	defaultMaxValueDepth = 64
	// confighttp's default max_request_body_size: the guard buffers no more
	// than the receiver would accept anyway.
	defaultMaxBodyBytes = 20 << 20

	// Beyond this the decoders' recursion is itself the risk the guard exists for.
	maxValueDepthCeiling = 10000
	minBodyBytes         = 1 << 10
	maxBodyBytesCeiling  = 1 << 30
)

// Config of the otlp_guard extension.
type Config struct {
	// MaxValueDepth is how many arrays and key-value lists an attribute or
	// log body value may nest: a string is 0, an array of strings 1.
	MaxValueDepth int `mapstructure:"max_value_depth"`
	// MaxBodyBytes is the most the guard buffers of one decompressed
	// OTLP/HTTP request to check it; a longer body is refused.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`

	_ struct{}
}

// Validate checks every field before the collector starts.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxValueDepth < 1 || c.MaxValueDepth > maxValueDepthCeiling {
		errs = append(errs, fmt.Errorf("max_value_depth: %d is outside 1..%d; set the deepest nesting of arrays and maps to accept (default %d, real telemetry rarely nests beyond 10)",
			c.MaxValueDepth, maxValueDepthCeiling, defaultMaxValueDepth))
	}
	if c.MaxBodyBytes < minBodyBytes || c.MaxBodyBytes > maxBodyBytesCeiling {
		errs = append(errs, fmt.Errorf("max_body_bytes: %d is outside %d..%d; set it to the receiver's max_request_body_size (default %d, 20 MiB)",
			c.MaxBodyBytes, minBodyBytes, maxBodyBytesCeiling, defaultMaxBodyBytes))
	}
	return errors.Join(errs...)
}

// jsonDepthLimit is the bracket nesting an OTLP/JSON request may reach.
// A key-value list costs 4 brackets per level ({kvlistValue:{values:[{...),
// an array 3; the deepest envelope (an exemplar's filtered attribute in a
// histogram) takes 15 up to the outermost value. So every value within
// MaxValueDepth fits, and arrays are refused from about 1.3x MaxValueDepth.
func (c *Config) jsonDepthLimit() int {
	return 4*c.MaxValueDepth + 16
}
