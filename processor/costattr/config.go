package costattr

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones for budget windows, even in images without zoneinfo

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/budget"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// Config of the costattr processor.
type Config struct {
	// PriceFiles are YAML catalogs merged, in order, over the built-in one.
	PriceFiles []string `mapstructure:"price_files"`
	// DisableBuiltinPrices prices only from PriceFiles.
	DisableBuiltinPrices bool `mapstructure:"disable_builtin_prices"`
	// Attribution lists, per dimension, the keys to try in order.
	Attribution AttributionConfig `mapstructure:"attribution"`
	// Usage names the keys usage details are read from beyond semconv's.
	Usage UsageConfig `mapstructure:"usage"`
	// Budgets are spend limits with alerts.
	Budgets BudgetsConfig `mapstructure:"budgets"`

	_ struct{}
}

// AttributionConfig holds ordered key lists. An unprefixed key is looked up
// on the span, then the scope, then the resource; prefix it with "span:",
// "scope:" or "resource:" to pin one, or "baggage:" to read a W3C baggage
// member from the captured baggage header.
type AttributionConfig struct {
	User     []string `mapstructure:"user"`
	Tenant   []string `mapstructure:"tenant"`
	Team     []string `mapstructure:"team"`
	Workload []string `mapstructure:"workload"`
	Feature  []string `mapstructure:"feature"`
	// InheritFromParents fills a GenAI span's missing dimensions from its
	// parent spans, then its trace's root, found in the same batch.
	InheritFromParents bool `mapstructure:"inherit_from_parents"`
	// BaggageAttribute is the span attribute holding the W3C baggage header,
	// read by "baggage:" keys.
	BaggageAttribute string `mapstructure:"baggage_attribute"`
	// Pseudonymize replaces user ids by a keyed HMAC-SHA256.
	Pseudonymize PseudonymizeConfig `mapstructure:"pseudonymize"`
}

// PseudonymizeConfig turns on user-id pseudonymization when Key is set.
type PseudonymizeConfig struct {
	// Key is the HMAC-SHA256 key. Keep it secret and stable: changing it
	// changes every pseudonym (and so every per-user budget key).
	Key configopaque.String `mapstructure:"key"`
	// Prefix marks pseudonyms, e.g. "u_".
	Prefix string `mapstructure:"prefix"`
	// ReplaceSource also overwrites the raw id in the user keys it was read
	// from, on every span, scope and resource of the batch.
	ReplaceSource bool `mapstructure:"replace_source"`
}

// UsageConfig names provider-specific usage keys.
type UsageConfig struct {
	// ServiceTier keys, first present wins (batch, flex, priority, ...).
	ServiceTier []string `mapstructure:"service_tier"`
	// CacheWrite1h and CacheWrite5m split cache-write tokens by cache
	// lifetime (Anthropic's ephemeral_1h/5m_input_tokens). Without them all
	// cache-write tokens are billed at the 5-minute rate.
	CacheWrite1h []string `mapstructure:"cache_write_1h"`
	CacheWrite5m []string `mapstructure:"cache_write_5m"`
}

// BudgetsConfig configures spend limits.
type BudgetsConfig struct {
	// TimeZone is the IANA zone of calendar (day, month) windows.
	TimeZone string `mapstructure:"time_zone"`
	// Rules are the budgets.
	Rules []BudgetRuleConfig `mapstructure:"rules"`
	// Storage is a storage extension (e.g. file_storage) that keeps budget
	// state and undelivered webhooks across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// FlushInterval is how often changed state is saved to Storage; a
	// threshold crossing is saved at once.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// MaxKeysPerRule bounds the keys (users, tenants, ...) tracked per rule.
	MaxKeysPerRule int `mapstructure:"max_keys_per_rule"`
	// Webhook receives a JSON POST per crossing, once per rule, key, window
	// and threshold.
	Webhook WebhookConfig `mapstructure:"webhook"`
	// Reconcile periodically reads spend per key from ClickHouse, so that
	// several collector replicas agree.
	Reconcile ReconcileConfig `mapstructure:"reconcile"`
}

// BudgetRuleConfig is one budget.
type BudgetRuleConfig struct {
	Name string `mapstructure:"name"`
	// Key is "all", "user:*" (each user), "tenant:acme", "team:*", "workload:x".
	Key string `mapstructure:"key"`
	// Window is "day", "month" or a rolling duration such as "6h".
	Window string `mapstructure:"window"`
	// TimeZone overrides budgets.time_zone for this rule.
	TimeZone string `mapstructure:"time_zone"`
	// SoftUSD and HardUSD are the thresholds in USD (decimals up to 12 places).
	SoftUSD float64 `mapstructure:"soft_usd"`
	HardUSD float64 `mapstructure:"hard_usd"`
}

// WebhookConfig is an HTTP client (endpoint, headers, TLS, timeout, ...) with retries.
type WebhookConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
	RetryOnFailure          configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

// Unmarshal splits the section: confighttp.ClientConfig has its own
// Unmarshal, which would otherwise be promoted and swallow retry_on_failure.
func (w *WebhookConfig) Unmarshal(conf *confmap.Conf) error {
	m := conf.ToStringMap()
	if r, ok := m["retry_on_failure"]; ok {
		delete(m, "retry_on_failure")
		rm, _ := r.(map[string]any)
		if r != nil && rm == nil {
			return errors.New("retry_on_failure: expected a map")
		}
		if err := confmap.NewFromStringMap(rm).Unmarshal(&w.RetryOnFailure); err != nil {
			return fmt.Errorf("retry_on_failure: %w", err)
		}
	}
	return confmap.NewFromStringMap(m).Unmarshal(&w.ClientConfig)
}

// ReconcileConfig reads spend from a ClickHouse server.
type ReconcileConfig struct {
	// Endpoint is a ClickHouse server DSN, clickhouse://host:9000; empty disables.
	Endpoint string              `mapstructure:"endpoint"`
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	Database string              `mapstructure:"database"`
	Interval time.Duration       `mapstructure:"interval"`
	Timeout  time.Duration       `mapstructure:"timeout"`
}

func (c *Config) Validate() error {
	var errs []error
	if c.DisableBuiltinPrices && len(c.PriceFiles) == 0 {
		errs = append(errs, errors.New("price_files: disable_builtin_prices is set but no price file is given; nothing could be priced"))
	}
	for i, f := range c.PriceFiles {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			errs = append(errs, fmt.Errorf("price_files[%d]: %q is not a readable file", i, f))
		}
	}
	for dim, keys := range map[string][]string{
		"user": c.Attribution.User, "tenant": c.Attribution.Tenant, "team": c.Attribution.Team,
		"workload": c.Attribution.Workload, "feature": c.Attribution.Feature,
	} {
		for i, k := range keys {
			if _, key, err := splitScope(k); err != nil {
				errs = append(errs, fmt.Errorf("attribution.%s[%d]: %w", dim, i, err))
			} else if key == "" {
				errs = append(errs, fmt.Errorf("attribution.%s[%d]: empty key", dim, i))
			}
		}
	}
	if ps := c.Attribution.Pseudonymize; ps.Key != "" && len(ps.Key) < 16 {
		errs = append(errs, errors.New("attribution.pseudonymize.key: use at least 16 bytes of secret"))
	}
	if _, err := c.budgetRules(); err != nil {
		errs = append(errs, err)
	}
	b := c.Budgets
	if len(b.Rules) == 0 && (b.Webhook.Endpoint != "" || b.Reconcile.Endpoint != "") {
		errs = append(errs, errors.New("budgets.rules: webhook or reconcile is configured but there are no rules"))
	}
	if b.FlushInterval < 0 {
		errs = append(errs, errors.New("budgets.flush_interval: must not be negative"))
	}
	if b.MaxKeysPerRule < 0 {
		errs = append(errs, errors.New("budgets.max_keys_per_rule: must not be negative"))
	}
	if b.Reconcile.Endpoint != "" {
		if err := chstore.ValidIdent(b.Reconcile.Database); err != nil {
			errs = append(errs, fmt.Errorf("budgets.reconcile.database: %w", err))
		}
		if b.Reconcile.Interval < time.Second {
			errs = append(errs, errors.New("budgets.reconcile.interval: at least 1s"))
		}
		if b.Reconcile.Timeout <= 0 {
			errs = append(errs, errors.New("budgets.reconcile.timeout: must be positive"))
		}
	}
	if b.Webhook.Endpoint != "" && !strings.HasPrefix(b.Webhook.Endpoint, "http://") && !strings.HasPrefix(b.Webhook.Endpoint, "https://") {
		errs = append(errs, fmt.Errorf("budgets.webhook.endpoint: %q is not an http(s) URL", b.Webhook.Endpoint))
	}
	return errors.Join(errs...)
}

// budgetRules converts and checks the configured rules.
func (c *Config) budgetRules() ([]budget.Rule, error) {
	var errs []error
	defLoc, err := loadZone(c.Budgets.TimeZone)
	if err != nil {
		errs = append(errs, fmt.Errorf("budgets.time_zone: %w", err))
	}
	var rules []budget.Rule
	seen := map[string]bool{}
	for i, rc := range c.Budgets.Rules {
		where := fmt.Sprintf("budgets.rules[%d]", i)
		if rc.Name != "" {
			where += " (" + rc.Name + ")"
		}
		r := budget.Rule{Name: rc.Name}
		var rerrs []error
		if rc.Name == "" {
			rerrs = append(rerrs, errors.New("name: required"))
		} else if seen[rc.Name] {
			rerrs = append(rerrs, errors.New("name: duplicate"))
		}
		seen[rc.Name] = true
		if r.Dim, r.Value, r.Each, err = budget.ParseKey(rc.Key); err != nil {
			rerrs = append(rerrs, err)
		}
		loc := defLoc
		if rc.TimeZone != "" {
			if loc, err = loadZone(rc.TimeZone); err != nil {
				rerrs = append(rerrs, fmt.Errorf("time_zone: %w", err))
			}
		}
		if r.Window, err = budget.ParseWindow(rc.Window, loc); err != nil {
			rerrs = append(rerrs, err)
		}
		if r.Soft, err = usdFromConfig(rc.SoftUSD); err != nil {
			rerrs = append(rerrs, fmt.Errorf("soft_usd: %w", err))
		}
		if r.Hard, err = usdFromConfig(rc.HardUSD); err != nil {
			rerrs = append(rerrs, fmt.Errorf("hard_usd: %w", err))
		}
		if len(rerrs) == 0 {
			if err := r.Validate(); err != nil {
				rerrs = append(rerrs, err)
			}
		}
		for _, e := range rerrs {
			errs = append(errs, fmt.Errorf("%s: %w", where, e))
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// usdFromConfig reads a USD figure exactly: YAML gives a float64, whose
// shortest decimal form is the number as written (up to 15 digits).
func usdFromConfig(f float64) (pricing.Amount, error) {
	if f == 0 {
		return 0, nil
	}
	if f < 0 {
		return 0, errors.New("must not be negative")
	}
	return pricing.ParseUSD(strconv.FormatFloat(f, 'f', -1, 64))
}

func splitScope(k string) (scope, key string, err error) {
	if i := strings.IndexByte(k, ':'); i > 0 {
		switch k[:i] {
		case "span", "scope", "resource", "baggage":
			return k[:i], k[i+1:], nil
		}
	}
	return "", k, nil
}
