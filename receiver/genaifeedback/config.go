package genaifeedback

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"
)

const (
	defaultEndpoint        = "localhost:4320"
	defaultMaxBodySize     = 1 << 20 // 1 MiB: thousands of records, far below confighttp's 20 MiB
	defaultMaxRecords      = 1000
	defaultIdempotencyKeys = 100_000
	defaultIdempotencyTTL  = 24 * time.Hour
	defaultRatePerSecond   = 50
	defaultRateBurst       = 100
	defaultRateClients     = 10_000
	maxPathLen             = 256
)

// Config is the genai_feedback receiver's configuration.
type Config struct {
	// ServerConfig brings endpoint, tls, auth, cors, max_request_body_size
	// and the rest of confighttp. A named field, not embedded: embedding
	// would promote its Unmarshal in place of ours.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	Settings `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Settings are the receiver's own keys, next to the confighttp ones.
type Settings struct {
	EvaluationsPath string `mapstructure:"evaluations_path"`
	FeedbackPath    string `mapstructure:"feedback_path"`

	// ServiceName is the service.name of records that carry no
	// service_name. Empty makes service_name required on every record, so
	// no event lands without a workload.
	ServiceName string `mapstructure:"service_name"`

	MaxRecordsPerRequest int `mapstructure:"max_records_per_request"`

	Idempotency IdempotencyConfig `mapstructure:"idempotency"`
	RateLimit   RateLimitConfig   `mapstructure:"rate_limit"`
}

// IdempotencyConfig bounds the in-memory set of idempotency keys seen.
type IdempotencyConfig struct {
	MaxKeys int           `mapstructure:"max_keys"`
	TTL     time.Duration `mapstructure:"ttl"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RateLimitConfig is a token bucket per client. RequestsPerSecond 0 turns
// rate limiting off.
type RateLimitConfig struct {
	RequestsPerSecond float64 `mapstructure:"requests_per_second"`
	Burst             int     `mapstructure:"burst"`
	MaxClients        int     `mapstructure:"max_clients"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = defaultEndpoint
	srv.MaxRequestBodySize = defaultMaxBodySize
	return &Config{
		ServerConfig: srv,
		Settings: Settings{
			EvaluationsPath:      "/v1/evaluations",
			FeedbackPath:         "/v1/feedback",
			MaxRecordsPerRequest: defaultMaxRecords,
			Idempotency:          IdempotencyConfig{MaxKeys: defaultIdempotencyKeys, TTL: defaultIdempotencyTTL},
			RateLimit:            RateLimitConfig{RequestsPerSecond: defaultRatePerSecond, Burst: defaultRateBurst, MaxClients: defaultRateClients},
		},
	}
}

// serverKeys are confighttp.ServerConfig's top-level keys.
var serverKeys = mapstructureKeys(reflect.TypeFor[confighttp.ServerConfig]())

// Unmarshal decodes the server settings with confighttp's own Unmarshal,
// which ignores keys it does not know, then ours strictly, so a misspelt
// key still fails at startup.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := c.ServerConfig.Unmarshal(conf); err != nil {
		return err
	}
	own := struct {
		Settings `mapstructure:",squash"`
		Rest     map[string]any `mapstructure:",remain"`
	}{Settings: c.Settings}
	if err := conf.Unmarshal(&own); err != nil {
		return err
	}
	var unknown []string
	for k := range own.Rest {
		if !serverKeys[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("has invalid keys: %s", strings.Join(unknown, ", "))
	}
	c.Settings = own.Settings
	return nil
}

func mapstructureKeys(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "" && strings.Contains(opts, "squash") && f.Type.Kind() == reflect.Struct {
			for k := range mapstructureKeys(f.Type) {
				out[k] = true
			}
			continue
		}
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// Validate names the field at fault; the collector prefixes the component.
func (c *Config) Validate() error {
	var errs []error
	if c.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: must not be empty"))
	}
	if c.ServerConfig.MaxRequestBodySize <= 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size: must be positive, got %d", c.ServerConfig.MaxRequestBodySize))
	}
	errs = append(errs, validPath("evaluations_path", c.EvaluationsPath), validPath("feedback_path", c.FeedbackPath))
	if c.EvaluationsPath == c.FeedbackPath && c.EvaluationsPath != "" {
		errs = append(errs, fmt.Errorf("feedback_path: must differ from evaluations_path (both %q)", c.FeedbackPath))
	}
	if len(c.ServiceName) > maxShortString {
		errs = append(errs, fmt.Errorf("service_name: at most %d bytes", maxShortString))
	}
	if c.MaxRecordsPerRequest < 1 {
		errs = append(errs, fmt.Errorf("max_records_per_request: must be at least 1, got %d", c.MaxRecordsPerRequest))
	}
	if c.Idempotency.MaxKeys < 1 {
		errs = append(errs, fmt.Errorf("idempotency.max_keys: must be at least 1, got %d", c.Idempotency.MaxKeys))
	}
	if c.Idempotency.TTL <= 0 {
		errs = append(errs, fmt.Errorf("idempotency.ttl: must be positive, got %s", c.Idempotency.TTL))
	}
	rl := c.RateLimit
	switch {
	case rl.RequestsPerSecond < 0:
		errs = append(errs, fmt.Errorf("rate_limit.requests_per_second: must not be negative (0 disables), got %g", rl.RequestsPerSecond))
	case rl.RequestsPerSecond > 0:
		if rl.Burst < 1 {
			errs = append(errs, fmt.Errorf("rate_limit.burst: must be at least 1 when requests_per_second is set, got %d", rl.Burst))
		}
		if rl.MaxClients < 1 {
			errs = append(errs, fmt.Errorf("rate_limit.max_clients: must be at least 1 when requests_per_second is set, got %d", rl.MaxClients))
		}
	}
	return errors.Join(errs...)
}

func validPath(field, p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%s: must start with '/', got %q", field, p)
	case len(p) > maxPathLen:
		return fmt.Errorf("%s: at most %d bytes", field, maxPathLen)
	case strings.ContainsAny(p, "?# \t\r\n"):
		return fmt.Errorf("%s: must be a plain path without query, fragment or spaces, got %q", field, p)
	}
	return nil
}
