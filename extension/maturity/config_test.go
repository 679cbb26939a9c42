package maturity

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfigDefaultsAndFull(t *testing.T) {
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.NetAddr.Endpoint != "127.0.0.1:8890" || cfg.Database != "aiops" || !cfg.CreateSchema || cfg.Interval != time.Hour ||
		cfg.Window != 30*24*time.Hour || cfg.InitialDelay != 30*time.Second || cfg.HTTP.Auth.HasValue() ||
		!cfg.AllowUnauthenticated || cfg.MaxMetricWorkloads != 50 || len(cfg.AllowedHosts) != 0 {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.NetAddr.Endpoint != "127.0.0.1:9555" || cfg.Database != "genai_prod" || cfg.CreateSchema || cfg.Interval != 15*time.Minute ||
		cfg.Window != 168*time.Hour || strings.Join(cfg.Workloads, ",") != "rag-app,agent-platform" || !cfg.HTTP.Auth.HasValue() ||
		cfg.HTTP.Auth.Get().Config.AuthenticatorID.String() != "bearertokenauth" || cfg.AllowUnauthenticated ||
		cfg.MaxMetricWorkloads != 20 || len(cfg.AllowedHosts) != 3 {
		t.Fatalf("full: %+v", cfg)
	}
	cfg, err = loadConfig(t, "server")
	if err != nil || cfg.ClickHouse.Endpoint != "clickhouse://127.0.0.1:9000" || string(cfg.ClickHouse.Password) != "secret" {
		t.Fatalf("server: %v %+v", err, cfg)
	}
	if _, err = loadConfig(t, "all_interfaces_listed"); err != nil {
		t.Fatalf("0.0.0.0 with allowed_hosts: %v", err)
	}
}

// The default is safe: the factory's config without an authenticator is
// refused, naming the field and both ways out.
func TestDefaultConfigRequiresAuthentication(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Embedded.Path = t.TempDir()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("the default config without an authenticator validates")
	}
	for _, want := range []string{"http.auth", "http.auth.authenticator", "allow_unauthenticated: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	cfg.AllowUnauthenticated = true
	if err := cfg.Validate(); err != nil {
		t.Fatalf("with allow_unauthenticated: %v", err)
	}
}

func TestHostRule(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	loop, err := cfg.hostRule("8890")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.NetAddr.Endpoint = "report.internal:9000"
	named, err := cfg.hostRule("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AllowedHosts = []string{"Report.Example.com", "10.0.0.5:8443", "[::1]:8890"}
	listed, err := cfg.hostRule("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rule          *hostRule
		host, defPort string
		want          bool
	}{
		{loop, "127.0.0.1:8890", "80", true},
		{loop, "localhost:8890", "80", true},
		{loop, "LOCALHOST:8890", "80", true},
		{loop, "[::1]:8890", "80", true},
		{loop, "127.0.0.1:8891", "80", false},
		{loop, "127.0.0.1", "80", false},
		{loop, "attacker.example:8890", "80", false},
		{loop, "", "80", false},
		{named, "report.internal:9000", "80", true},
		{named, "127.0.0.1:9000", "80", false},
		{listed, "report.example.com", "443", true},
		{listed, "report.example.com:1234", "80", true},
		{listed, "10.0.0.5:8443", "80", true},
		{listed, "10.0.0.5", "443", false},
		{listed, "[::1]:8890", "80", true},
		{listed, "127.0.0.1:8890", "80", false},
	} {
		if got := c.rule.allows(c.host, c.defPort); got != c.want {
			t.Errorf("%v allows %q: %v, want %v", c.rule, c.host, got, c.want)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for name, want := range map[string]string{
		"both_stores":              "embedded.path and clickhouse.endpoint are both set",
		"no_store":                 "embedded.path (the aiops_clickhouse exporter's data directory) or clickhouse.endpoint is required",
		"bad_database":             "database: ",
		"short_interval":           "interval: 10ms is shorter than 1s",
		"bad_registry":             "last_review \"last tuesday\" is not a YYYY-MM-DD date",
		"no_auth":                  "http.auth: the report and POST /run require an authenticator",
		"cors":                     "http.cors: the maturity extension never sends CORS headers",
		"cors_header":              "http.response_headers: Access-Control-Allow-Origin is a CORS header",
		"all_interfaces":           "allowed_hosts: http.endpoint 0.0.0.0:8890 listens on every interface",
		"bad_allowed_host":         `allowed_hosts: "http://report.example.com/" is not a host or host:port`,
		"bad_max_metric_workloads": "max_metric_workloads: 0 is outside 1..1000",
	} {
		_, err := loadConfig(t, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		}
	}
}
