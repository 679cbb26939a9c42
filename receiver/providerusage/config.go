package providerusage

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
)

const (
	day                 = 24 * time.Hour
	defaultInterval     = time.Hour
	defaultLookback     = 7 * day
	defaultTimeout      = 30 * time.Second
	defaultMaxAttempts  = 4
	minInterval         = time.Minute // Anthropic: "polling once per minute for sustained use"
	minLookback         = day
	maxLookback         = 180 * day // OpenAI's costs report returns at most 180 daily buckets per page
	maxAttemptsCeiling  = 10
	maxAttributionBytes = 256
	openAIEndpoint      = "https://api.openai.com"
	anthropicEndpoint   = "https://api.anthropic.com"
	// defaultWorkspace names Anthropic's default workspace, which the
	// reports give as a null workspace_id, in the workspaces mapping.
	defaultWorkspace = "default"
)

// Config is the provider_usage receiver's configuration.
type Config struct {
	// Interval between polls; each poll re-reads the whole look-back window.
	Interval time.Duration `mapstructure:"interval"`
	// Lookback is how far back each poll reads: days ("7d") or a Go
	// duration ("36h"). Buckets start at midnight UTC.
	Lookback Lookback `mapstructure:"lookback"`
	// MaxAttempts bounds the tries of one request within a poll (429, 5xx,
	// network errors); after that the report waits for the next poll.
	MaxAttempts int `mapstructure:"max_attempts"`

	OpenAI    configoptional.Optional[OpenAIConfig]    `mapstructure:"openai"`
	Anthropic configoptional.Optional[AnthropicConfig] `mapstructure:"anthropic"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// OpenAIConfig reads OpenAI's organization usage and costs reports.
type OpenAIConfig struct {
	// AdminKey is an organization admin key (never logged).
	AdminKey configopaque.String `mapstructure:"admin_key"`
	Endpoint string              `mapstructure:"endpoint"`
	Timeout  time.Duration       `mapstructure:"timeout"`
	// Projects maps a provider project id to our attribution.
	Projects map[string]Attribution `mapstructure:"projects"`

	_ struct{}
}

// AnthropicConfig reads Anthropic's usage and cost reports.
type AnthropicConfig struct {
	AdminKey configopaque.String `mapstructure:"admin_key"`
	Endpoint string              `mapstructure:"endpoint"`
	Timeout  time.Duration       `mapstructure:"timeout"`
	// Workspaces maps a workspace id to our attribution; the key "default"
	// stands for the default workspace (null workspace_id in the reports).
	Workspaces map[string]Attribution `mapstructure:"workspaces"`

	_ struct{}
}

// Attribution is what a provider project or workspace means to us.
type Attribution struct {
	Workload string `mapstructure:"workload"`
	Tenant   string `mapstructure:"tenant"`
	Team     string `mapstructure:"team"`
}

// Lookback is a duration that also takes whole days: "7d", "1d12h", "36h".
type Lookback time.Duration

// UnmarshalText accepts <days>d, optionally followed by a Go duration, or a
// Go duration alone (Go's own syntax has no days).
func (l *Lookback) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	var total time.Duration
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100_000 {
			return fmt.Errorf("invalid look-back %q: use days such as 7d, or a duration such as 36h", s)
		}
		total, s = time.Duration(n)*day, rest
		if s == "" {
			*l = Lookback(total)
			return nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid look-back %q: use days such as 7d, or a duration such as 36h", string(b))
	}
	*l = Lookback(total + d)
	return nil
}

// MarshalText writes whole days as "7d".
func (l Lookback) MarshalText() ([]byte, error) {
	d := time.Duration(l)
	if d > 0 && d%day == 0 {
		return []byte(strconv.Itoa(int(d/day)) + "d"), nil
	}
	return []byte(d.String()), nil
}

func (l Lookback) String() string { b, _ := l.MarshalText(); return string(b) }

func createDefaultConfig() *Config {
	return &Config{
		Interval:    defaultInterval,
		Lookback:    Lookback(defaultLookback),
		MaxAttempts: defaultMaxAttempts,
		OpenAI:      configoptional.Default(OpenAIConfig{Endpoint: openAIEndpoint, Timeout: defaultTimeout}),
		Anthropic:   configoptional.Default(AnthropicConfig{Endpoint: anthropicEndpoint, Timeout: defaultTimeout}),
	}
}

// Validate names the field at fault and how to fix it; the collector
// prefixes the component.
func (c *Config) Validate() error {
	var errs []error
	if c.Interval < minInterval {
		errs = append(errs, fmt.Errorf("interval: must be at least %s (the providers ask for at most one poll a minute), got %s", minInterval, c.Interval))
	}
	if lb := time.Duration(c.Lookback); lb < minLookback || lb > maxLookback {
		errs = append(errs, fmt.Errorf("lookback: must be between 1d and 180d, such as 7d, got %s", c.Lookback))
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > maxAttemptsCeiling {
		errs = append(errs, fmt.Errorf("max_attempts: must be between 1 and %d, got %d", maxAttemptsCeiling, c.MaxAttempts))
	}
	oa, an := c.OpenAI.Get(), c.Anthropic.Get()
	if oa == nil && an == nil {
		errs = append(errs, errors.New("no provider to poll: add an openai and/or anthropic section with admin_key "+
			"(such as openai: {admin_key: ${env:OPENAI_ADMIN_KEY}}), or remove provider_usage from the pipelines"))
	}
	if oa != nil {
		errs = append(errs, validProvider("openai", oa.AdminKey, oa.Endpoint, oa.Timeout, "OPENAI_ADMIN_KEY"))
		errs = append(errs, validMapping("openai.projects", oa.Projects)...)
	}
	if an != nil {
		errs = append(errs, validProvider("anthropic", an.AdminKey, an.Endpoint, an.Timeout, "ANTHROPIC_ADMIN_KEY"))
		errs = append(errs, validMapping("anthropic.workspaces", an.Workspaces)...)
	}
	return errors.Join(errs...)
}

func validProvider(name string, key configopaque.String, endpoint string, timeout time.Duration, env string) error {
	var errs []error
	if strings.TrimSpace(string(key)) == "" {
		errs = append(errs, fmt.Errorf("%s.admin_key: required: an organization admin key, such as ${env:%s} (is the variable set?)", name, env))
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("%s.endpoint: must be an http(s) URL without query, such as %s, got %q", name,
			map[string]string{"openai": openAIEndpoint, "anthropic": anthropicEndpoint}[name], endpoint))
	}
	if timeout <= 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must be positive, such as 30s, got %s", name, timeout))
	}
	return errors.Join(errs...)
}

func validMapping(field string, m map[string]Attribution) []error {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		a := m[id]
		switch {
		case strings.TrimSpace(id) == "":
			errs = append(errs, fmt.Errorf("%s: an id must not be empty", field))
		case a.Workload == "" && a.Tenant == "" && a.Team == "":
			errs = append(errs, fmt.Errorf("%s.%s: set at least one of workload, tenant, team", field, id))
		case len(a.Workload) > maxAttributionBytes || len(a.Tenant) > maxAttributionBytes || len(a.Team) > maxAttributionBytes:
			errs = append(errs, fmt.Errorf("%s.%s: workload, tenant and team are at most %d bytes", field, id, maxAttributionBytes))
		}
	}
	return errs
}
