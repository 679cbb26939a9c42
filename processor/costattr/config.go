package costattr

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Config of the costattr processor.
type Config struct {
	// PriceFiles are YAML catalogs merged, in order, over the built-in one.
	PriceFiles []string `mapstructure:"price_files"`
	// DisableBuiltinPrices prices only from PriceFiles.
	DisableBuiltinPrices bool `mapstructure:"disable_builtin_prices"`
	// Attribution lists, per dimension, the keys to try in order.
	Attribution AttributionConfig `mapstructure:"attribution"`

	_ struct{}
}

// AttributionConfig holds ordered key lists. A key is looked up on the span,
// then on the resource; prefix it with "span:" or "resource:" to pin one.
type AttributionConfig struct {
	User     []string `mapstructure:"user"`
	Tenant   []string `mapstructure:"tenant"`
	Team     []string `mapstructure:"team"`
	Workload []string `mapstructure:"workload"`
	Feature  []string `mapstructure:"feature"`
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
			_, key := splitScope(k)
			if key == "" {
				errs = append(errs, fmt.Errorf("attribution.%s[%d]: empty key", dim, i))
			}
		}
	}
	return errors.Join(errs...)
}

func splitScope(k string) (scope, key string) {
	for _, s := range []string{"span:", "resource:"} {
		if rest, ok := strings.CutPrefix(k, s); ok {
			return strings.TrimSuffix(s, ":"), rest
		}
	}
	return "", k
}
