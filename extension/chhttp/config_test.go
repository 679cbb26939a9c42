package chhttp

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	must(t, err)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	must(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	must(t, componenttest.CheckConfigStruct(cfg))
	if cfg.ServerConfig.NetAddr.Endpoint != "127.0.0.1:8123" {
		t.Errorf("endpoint %q, want 127.0.0.1:8123", cfg.ServerConfig.NetAddr.Endpoint)
	}
	// Authentication is required by default: the bare default does not validate.
	cfg.Embedded.Path = "/tmp/x"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "users:") {
		t.Errorf("default config without users validated: %v", err)
	}
	l := cfg.Limits
	if l.MaxExecutionTime != 30*time.Second || l.MaxThreads != 1 || l.MaxConcurrentQueries != 2 || l.MaxQuerySize != 256<<10 {
		t.Errorf("limits %+v", l)
	}
}

func TestConfigFromYAML(t *testing.T) {
	cfg, err := loadConfig(t, "")
	must(t, err)
	if cfg.ServerConfig.NetAddr.Endpoint != "127.0.0.1:8123" || len(cfg.Users) != 1 || cfg.Users[0].Name != "reader" ||
		string(cfg.Users[0].Password) != "${env:AIOPS_READER_PASSWORD}" || cfg.Database != "aiops" ||
		cfg.Limits.MaxExecutionTime != 20*time.Second || cfg.Limits.MaxMemoryUsage != 512<<20 || cfg.Limits.MaxConcurrentQueries != 3 ||
		cfg.Limits.MaxThreads != 1 || cfg.Limits.QueueTimeout != 5*time.Second {
		t.Errorf("config: %+v", cfg)
	}
	cfg, err = loadConfig(t, "authenticator")
	must(t, err)
	if !cfg.ServerConfig.Auth.HasValue() || cfg.ServerConfig.Auth.Get().Config.AuthenticatorID.String() != "bearertokenauth/readers" ||
		!cfg.ServerConfig.TLS.HasValue() || len(cfg.Users) != 0 {
		t.Errorf("authenticator config: %+v", cfg)
	}
	_, err = loadConfig(t, "tenant")
	if err == nil || !strings.Contains(err.Error(), "users[acme].tenant") || !strings.Contains(err.Error(), "server mode") ||
		!strings.Contains(err.Error(), "row-policies.sql") {
		t.Errorf("a tenant restriction on the embedded engine: %v", err)
	}
}

func TestValidateNamesFieldAndFix(t *testing.T) {
	base := func() *Config {
		c := createDefaultConfig().(*Config)
		c.Users = []UserConfig{{Name: "reader", Password: "p"}}
		c.Embedded.Path = "/data/clickhouse"
		return c
	}
	must(t, base().Validate())
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   []string
	}{
		"no endpoint":       {func(c *Config) { c.ServerConfig.NetAddr.Endpoint = "" }, []string{"endpoint:", "127.0.0.1:8123"}},
		"no path":           {func(c *Config) { c.Embedded.Path = "" }, []string{"embedded.path:", "exporter's embedded.path"}},
		"empty password":    {func(c *Config) { c.Users[0].Password = "" }, []string{"users[reader].password:", "AIOPS_READER_PASSWORD"}},
		"bad name":          {func(c *Config) { c.Users[0].Name = "a b" }, []string{"users[a b].name:"}},
		"duplicate":         {func(c *Config) { c.Users = append(c.Users, c.Users[0]) }, []string{"configured twice"}},
		"no auth":           {func(c *Config) { c.Users = nil }, []string{"users:", "allow_unauthenticated"}},
		"both":              {func(c *Config) { c.AllowUnauthenticated = true }, []string{"allow_unauthenticated:", "remove"}},
		"tenant":            {func(c *Config) { c.Users[0].Tenant = "acme" }, []string{"users[reader].tenant:", "server mode", "clickhouse.endpoint"}},
		"database":          {func(c *Config) { c.Database = "a;b" }, []string{"database:"}},
		"time":              {func(c *Config) { c.Limits.MaxExecutionTime = 0 }, []string{"limits.max_execution_time:", "1s to 1h"}},
		"fraction":          {func(c *Config) { c.Limits.MaxExecutionTime = 1500 * time.Millisecond }, []string{"whole seconds"}},
		"memory":            {func(c *Config) { c.Limits.MaxMemoryUsage = 1 }, []string{"limits.max_memory_usage:"}},
		"threads":           {func(c *Config) { c.Limits.MaxThreads = 0 }, []string{"limits.max_threads:"}},
		"rows":              {func(c *Config) { c.Limits.MaxResultRows = 0 }, []string{"limits.max_result_rows:"}},
		"bytes":             {func(c *Config) { c.Limits.MaxResultBytes = 10 }, []string{"limits.max_result_bytes:"}},
		"query size":        {func(c *Config) { c.Limits.MaxQuerySize = 10 }, []string{"limits.max_query_size:"}},
		"concurrency":       {func(c *Config) { c.Limits.MaxConcurrentQueries = 0 }, []string{"limits.max_concurrent_queries:"}},
		"queue":             {func(c *Config) { c.Limits.MaxQueuedQueries = -1 }, []string{"limits.max_queued_queries:"}},
		"queue timeout":     {func(c *Config) { c.Limits.QueueTimeout = time.Hour }, []string{"limits.queue_timeout:"}},
		"cors":              {func(c *Config) { c.ServerConfig.CORS = configoptional.Some(confighttp.CORSConfig{}) }, []string{"cors:", "remove cors"}},
		"allow without any": {func(c *Config) { c.Users = nil; c.AllowUnauthenticated = true }, nil},
	} {
		t.Run(name, func(t *testing.T) {
			c := base()
			tc.mutate(c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("validated")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}
