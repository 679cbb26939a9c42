package providerusage

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
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

// Only openai is given: it takes the defaults, anthropic stays off.
func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	oa := cfg.OpenAI.Get()
	if cfg.Interval != time.Hour || time.Duration(cfg.Lookback) != 7*24*time.Hour || cfg.MaxAttempts != 4 || oa == nil ||
		oa.AdminKey != "sk-admin-test" || oa.Endpoint != "https://api.openai.com" || oa.Timeout != 30*time.Second || cfg.Anthropic.HasValue() {
		t.Fatalf("defaults: %+v, openai %+v", cfg, oa)
	}
}

// The config surface, names unchanged.
func TestConfigFull(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	oa, an := cfg.OpenAI.Get(), cfg.Anthropic.Get()
	if cfg.Interval != 30*time.Minute || cfg.Lookback.String() != "7d" || cfg.MaxAttempts != 6 {
		t.Errorf("top level: %+v", cfg)
	}
	if oa.Endpoint != "https://openai-proxy.internal/" || oa.Timeout != 10*time.Second ||
		oa.Projects["proj_abc"] != (Attribution{Workload: "support-bot", Tenant: "acme", Team: "cx"}) {
		t.Errorf("openai: %+v", oa)
	}
	if an.AdminKey != "sk-ant-admin-test" || an.Timeout != 30*time.Second || an.Workspaces["wrk_123"] != (Attribution{Workload: "kb-rag"}) ||
		an.Workspaces["default"] != (Attribution{Team: "platform"}) {
		t.Errorf("anthropic: %+v", an)
	}
	if cfg, err := loadConfig(t, "hours"); err != nil || time.Duration(cfg.Lookback) != 36*time.Hour || cfg.OpenAI.HasValue() {
		t.Errorf("lookback 1d12h: %v %v", cfg.Lookback, err)
	}
}

func TestConfigErrorsNameTheFieldAndTheFix(t *testing.T) {
	_, err := loadConfig(t, "bad")
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"interval: must be at least 1m0s (the providers ask for at most one poll a minute), got 10s",
		"lookback: must be between 1d and 180d, such as 7d, got 400d",
		"max_attempts: must be between 1 and 10, got 0",
		"openai.admin_key: required: an organization admin key, such as ${env:OPENAI_ADMIN_KEY} (is the variable set?)",
		`openai.endpoint: must be an http(s) URL without query, such as https://api.openai.com, got "api.openai.com"`,
		"openai.timeout: must be positive, such as 30s, got 0s",
		"openai.projects.proj_abc: set at least one of workload, tenant, team",
		"anthropic.admin_key: required: an organization admin key, such as ${env:ANTHROPIC_ADMIN_KEY}",
		`anthropic.endpoint: must be an http(s) URL without query, such as https://api.anthropic.com, got "https://api.anthropic.com?x=1"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := loadConfig(t, "none"); err == nil || !strings.Contains(err.Error(), "no provider to poll: add an openai and/or anthropic section with admin_key") {
		t.Errorf("no provider: %v", err)
	}
	if _, err := loadConfig(t, "bad_lookback"); err == nil || !strings.Contains(err.Error(), `invalid look-back "7 days": use days such as 7d, or a duration such as 36h`) {
		t.Errorf("bad lookback: %v", err)
	}
	if _, err := loadConfig(t, "typo"); err == nil || !strings.Contains(err.Error(), "project") {
		t.Errorf("unknown key not reported: %v", err)
	}
	// Long attribution values are refused, as is an empty id.
	cfg := createDefaultConfig()
	cfg.OpenAI.GetOrInsertDefault().AdminKey = "k"
	cfg.OpenAI.Get().Projects = map[string]Attribution{"": {Workload: "w"}, "p": {Workload: strings.Repeat("x", 300)}}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "openai.projects: an id must not be empty") ||
		!strings.Contains(err.Error(), "openai.projects.p: workload, tenant and team are at most 256 bytes") {
		t.Errorf("mapping errors: %v", err)
	}
}

// The admin key never appears in the config's printed form.
func TestAdminKeyIsOpaque(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	conf := confmap.New()
	if err := conf.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(conf.ToStringMap()); strings.Contains(s, "sk-admin-test") || strings.Contains(s, "sk-ant-admin-test") || !strings.Contains(s, "[REDACTED]") {
		t.Errorf("a key is printed, or nothing redacted: %s", s)
	}
}
