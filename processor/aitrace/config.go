package aitrace

import (
	"errors"
	"fmt"
	"sort"
	"strings"
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

	_ struct{}
}

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
	return errors.Join(errs...)
}

func knownDialects() []string {
	out := make([]string, 0, len(dialectTables))
	for d := range dialectTables {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
