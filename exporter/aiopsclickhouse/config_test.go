package aiopsclickhouse

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id := component.NewIDWithName(metadata.Type, name)
	if name == "" {
		id = component.NewID(metadata.Type)
	}
	sub, err := cm.Sub(id.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
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
	if cfg.Database != "aiops" || !cfg.CreateSchema || !cfg.QueueConfig.HasValue() || cfg.Timeout != 30*time.Second ||
		!cfg.SpansTable || cfg.deadLetterDir() != filepath.Join("testdata", "dead-letter") ||
		cfg.MaxRetryAge != 10*time.Minute || cfg.RetryConfig.MaxElapsedTime != 0 {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "genai_prod" || cfg.CreateSchema || cfg.TTLDays != 90 || cfg.ContentTTLDays != 14 ||
		cfg.Timeout != 10*time.Second || cfg.QueueConfig.Get().NumConsumers != 2 || cfg.RetryConfig.MaxElapsedTime != 120*time.Second {
		t.Fatalf("full: %+v", cfg)
	}
}

func TestEngineMemoryConfig(t *testing.T) {
	for name, want := range map[string]uint64{"": 0, "engine_memory": 1 << 30, "engine_unbounded": 0} {
		cfg, err := loadConfig(t, name)
		if err != nil {
			t.Fatal(err)
		}
		m := cfg.Embedded.engineMemory()
		if m.Limit != want {
			t.Errorf("%q: engine limit %d, want %d", name, m.Limit, want)
		}
		if want == 0 && len(m.Settings()) != 0 {
			t.Errorf("memory_limit_mib: 0 must leave the engine's defaults, got %v", m.Settings())
		}
		if want != 0 && (m.Merges != want/2 || m.MarkCache != want/16) {
			t.Errorf("%q: merges and caches not in proportion: %+v", name, m)
		}
	}
}

func TestServerConfig(t *testing.T) {
	cfg, err := loadConfig(t, "server")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint != "clickhouse://ch1:9000,ch2:9000/?dial_timeout=5s" || cfg.Username != "writer" || string(cfg.Password) != "s3cret" ||
		cfg.Compression != "zstd" || cfg.TLS.Insecure || cfg.TLS.CAFile != "/etc/ssl/ch-ca.pem" || cfg.Cluster != "prod" ||
		cfg.deadLetterDir() != "/var/lib/otelcol-aiops/dead-letter" {
		t.Fatalf("server: %+v", cfg)
	}
	// The password is opaque: it never prints.
	if strings.Contains(fmt.Sprintf("%v %+v", cfg.Password, cfg), "s3cret") {
		t.Fatal("password printed")
	}
	if got := redactDSN("clickhouse://u:hunter2@ch1:9000/db"); strings.Contains(got, "hunter2") {
		t.Fatalf("redactDSN leaked: %s", got)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for name, want := range map[string]string{
		"bad_database":            "database: ",
		"no_path":                 "embedded.path: a data directory is required",
		"unwritable":              "embedded.path: ",
		"content_outlives_rows":   "content_ttl_days: 30 exceeds ttl_days 7",
		"both":                    "endpoint and embedded.path are both set",
		"bad_compression":         `compression: "brotli"`,
		"no_dead_letter":          "dead_letter_dir: required with endpoint",
		"cluster_embedded":        "cluster: only applies to a ClickHouse server",
		"split_batches":           "sending_queue.batch.max_size: must be 0",
		"negative_retry_age":      "max_retry_age: must not be negative",
		"engine_memory_too_small": "embedded.memory_limit_mib: 32 is below 64",
	} {
		_, err := loadConfig(t, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want error containing %q, got %v", name, want, err)
		}
	}
}
