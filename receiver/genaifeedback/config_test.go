package genaifeedback

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/genaifeedback/internal/metadata"
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

func TestConfigStruct(t *testing.T) {
	if err := componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()); err != nil {
		t.Fatal(err)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerConfig.NetAddr.Endpoint != "localhost:4320" || cfg.ServerConfig.MaxRequestBodySize != 1<<20 || cfg.EvaluationsPath != "/v1/evaluations" ||
		cfg.FeedbackPath != "/v1/feedback" || cfg.ServiceName != "" || cfg.MaxRecordsPerRequest != 1000 ||
		cfg.Idempotency.MaxKeys != 100_000 || cfg.Idempotency.TTL != 24*time.Hour ||
		cfg.RateLimit.RequestsPerSecond != 50 || cfg.RateLimit.Burst != 100 || cfg.RateLimit.MaxClients != 10_000 ||
		cfg.ServerConfig.TLS.HasValue() || cfg.ServerConfig.Auth.HasValue() || cfg.ServerConfig.CORS.HasValue() {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestConfigFull(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerConfig.NetAddr.Endpoint != "0.0.0.0:9420" || cfg.ServerConfig.MaxRequestBodySize != 262144 || cfg.EvaluationsPath != "/api/evals" ||
		cfg.FeedbackPath != "/api/thumbs" || cfg.ServiceName != "support-bot" || cfg.MaxRecordsPerRequest != 200 ||
		cfg.Idempotency.MaxKeys != 5000 || cfg.Idempotency.TTL != time.Hour ||
		cfg.RateLimit.RequestsPerSecond != 5 || cfg.RateLimit.Burst != 10 || cfg.RateLimit.MaxClients != 100 {
		t.Fatalf("full: %+v", cfg)
	}
	if !cfg.ServerConfig.TLS.HasValue() || cfg.ServerConfig.TLS.Get().CertFile != "/etc/otel/tls/server.crt" {
		t.Errorf("tls: %+v", cfg.ServerConfig.TLS)
	}
	if !cfg.ServerConfig.Auth.HasValue() || cfg.ServerConfig.Auth.Get().Config.AuthenticatorID.String() != "bearertokenauth/feedback" {
		t.Errorf("auth: %+v", cfg.ServerConfig.Auth)
	}
	if !cfg.ServerConfig.CORS.HasValue() || cfg.ServerConfig.CORS.Get().AllowedOrigins[0] != "https://app.example.com" || cfg.ServerConfig.CORS.Get().MaxAge != 600 {
		t.Errorf("cors: %+v", cfg.ServerConfig.CORS)
	}
	if cfg, err := loadConfig(t, "no_rate_limit"); err != nil || newLimiter(cfg.RateLimit) != nil {
		t.Errorf("requests_per_second: 0 should turn rate limiting off: %v", err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	_, err := loadConfig(t, "bad")
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"endpoint: must not be empty",
		"max_request_body_size: must be positive, got -1",
		`evaluations_path: must start with '/', got "v1/evals"`,
		`feedback_path: must start with '/', got "v1/evals"`,
		`feedback_path: must differ from evaluations_path`,
		"max_records_per_request: must be at least 1, got 0",
		"idempotency.max_keys: must be at least 1, got 0",
		"idempotency.ttl: must be positive, got 0s",
		"rate_limit.burst: must be at least 1 when requests_per_second is set, got 0",
		"rate_limit.max_clients: must be at least 1 when requests_per_second is set, got 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := loadConfig(t, "typo"); err == nil || !strings.Contains(err.Error(), "feedbak_path") {
		t.Errorf("unknown key not reported: %v", err)
	}
	cfg := createDefaultConfig()
	cfg.RateLimit.RequestsPerSecond = -1
	cfg.FeedbackPath = "/v1/feedback?x=1"
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "rate_limit.requests_per_second: must not be negative") ||
		!strings.Contains(err.Error(), "feedback_path: must be a plain path") {
		t.Errorf("got %v", err)
	}
}
