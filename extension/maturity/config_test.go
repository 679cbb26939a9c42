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
		cfg.Window != 30*24*time.Hour || cfg.InitialDelay != 30*time.Second || cfg.HTTP.Auth.HasValue() {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.NetAddr.Endpoint != "127.0.0.1:9555" || cfg.Database != "genai_prod" || cfg.CreateSchema || cfg.Interval != 15*time.Minute ||
		cfg.Window != 168*time.Hour || strings.Join(cfg.Workloads, ",") != "rag-app,agent-platform" || !cfg.HTTP.Auth.HasValue() ||
		cfg.HTTP.Auth.Get().Config.AuthenticatorID.String() != "bearertokenauth" {
		t.Fatalf("full: %+v", cfg)
	}
	cfg, err = loadConfig(t, "server")
	if err != nil || cfg.ClickHouse.Endpoint != "clickhouse://127.0.0.1:9000" || string(cfg.ClickHouse.Password) != "secret" {
		t.Fatalf("server: %v %+v", err, cfg)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for name, want := range map[string]string{
		"both_stores":    "embedded.path and clickhouse.endpoint are both set",
		"no_store":       "embedded.path (the aiops_clickhouse exporter's data directory) or clickhouse.endpoint is required",
		"bad_database":   "database: ",
		"short_interval": "interval: 10ms is shorter than 1s",
		"bad_registry":   "last_review \"last tuesday\" is not a YYYY-MM-DD date",
	} {
		_, err := loadConfig(t, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		}
	}
}
