package costattr

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

func run(t *testing.T, cfg *Config, res, attrs map[string]any) pcommon.Map {
	t.Helper()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if err := rs.Resource().Attributes().FromRaw(res); err != nil {
		t.Fatal(err)
	}
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)))
	if err := span.Attributes().FromRaw(attrs); err != nil {
		t.Fatal(err)
	}
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	return sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
}

func str(m pcommon.Map, k string) string {
	v, _ := m.Get(k)
	return v.AsString()
}

func dbl(t *testing.T, m pcommon.Map, k string) float64 {
	v, ok := m.Get(k)
	if !ok {
		t.Fatalf("%s missing", k)
	}
	return v.Double()
}

func TestComputedCostAndAttribution(t *testing.T) {
	attrs := run(t, createDefaultConfig().(*Config),
		map[string]any{"service.name": "support-bot"},
		map[string]any{
			"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": int64(1000), "gen_ai.usage.cache_read.input_tokens": int64(400), "gen_ai.usage.output_tokens": int64(200),
			"user.id": "u-1", "traceloop.association.properties.tenant_id": "acme",
		})
	// gpt-4o: 600 uncached input at 2.50/1M = 0.0015; 400 cached at 1.25/1M = 0.0005;
	// 200 output at 10.00/1M = 0.002; total 0.004 USD.
	if got := dbl(t, attrs, "gen_ai.usage.cost"); got != 0.004 {
		t.Errorf("cost %v, want 0.004", got)
	}
	if got := dbl(t, attrs, "aiops.cost.cached_input"); got != 0.0005 {
		t.Errorf("cached input cost %v, want 0.0005", got)
	}
	for k, want := range map[string]string{
		"aiops.cost.source": "computed", "aiops.user.id": "u-1", "aiops.tenant.id": "acme", "aiops.workload": "support-bot",
	} {
		if got := str(attrs, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(str(attrs, "aiops.price.id"), "openai/gpt-4o") {
		t.Errorf("price id %q", str(attrs, "aiops.price.id"))
	}
	if _, ok := attrs.Get("aiops.unattributed"); ok {
		t.Error("attributed span marked unattributed")
	}
}

func TestProviderCostIsKept(t *testing.T) {
	attrs := run(t, createDefaultConfig().(*Config), map[string]any{"service.name": "s"}, map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
		"gen_ai.usage.input_tokens": int64(1000), "gen_ai.usage.output_tokens": int64(0), "llm.cost.total": 0.01,
	})
	// Reported 0.01; computed 1000 * 2.50/1M = 0.0025; difference 0.0075.
	if got := dbl(t, attrs, "gen_ai.usage.cost"); got != 0.01 {
		t.Errorf("cost %v, want the reported 0.01", got)
	}
	if str(attrs, "aiops.cost.source") != "provider" || dbl(t, attrs, "aiops.cost.computed") != 0.0025 {
		t.Errorf("attrs %v", attrs.AsRaw())
	}
	if _, ok := attrs.Get("aiops.user.id"); ok {
		t.Error("no user key present, yet a user was set")
	}
	if v, _ := attrs.Get("aiops.unattributed"); !v.Bool() {
		t.Error("span without a user must carry aiops.unattributed")
	}
}

func TestCallOlderThanCatalogUsesNewestPrice(t *testing.T) {
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
	span.Attributes().FromRaw(map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": int64(1000)})
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	attrs := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	// 1000 * 2.50/1M = 0.0025 at the newest built-in gpt-4o price.
	if dbl(t, attrs, "gen_ai.usage.cost") != 0.0025 {
		t.Errorf("attrs %v", attrs.AsRaw())
	}
	if v, _ := attrs.Get("aiops.price.before_catalog"); !v.Bool() {
		t.Error("extrapolated price not flagged")
	}
}

func TestUnknownModelIsUnpriced(t *testing.T) {
	attrs := run(t, createDefaultConfig().(*Config), map[string]any{}, map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-99-turbo-imaginary", "gen_ai.usage.input_tokens": int64(5),
	})
	if str(attrs, "aiops.cost.source") != "unpriced" {
		t.Errorf("attrs %v", attrs.AsRaw())
	}
	if _, ok := attrs.Get("gen_ai.usage.cost"); ok {
		t.Error("unpriced span got a cost")
	}
}

func TestUserCatalogAndCustomKeys(t *testing.T) {
	cfg := loadCfg(t, "custom")
	attrs := run(t, cfg, map[string]any{"app.name": "billing", "app.customer": "c-7"}, map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": int64(1000), "gen_ai.usage.output_tokens": int64(1000),
	})
	// Negotiated: 1000 * 2.00/1M + 1000 * 8.00/1M = 0.002 + 0.008 = 0.01.
	if got := dbl(t, attrs, "gen_ai.usage.cost"); got != 0.01 {
		t.Errorf("cost %v, want 0.01 from the user catalog", got)
	}
	if str(attrs, "aiops.user.id") != "c-7" || str(attrs, "aiops.workload") != "billing" {
		t.Errorf("attrs %v", attrs.AsRaw())
	}
}

func loadCfg(t *testing.T, name string) *Config {
	t.Helper()
	cfg, err := tryLoad(t, name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func tryLoad(t *testing.T, name string) (*Config, error) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfigErrors(t *testing.T) {
	for name, want := range map[string]string{
		"no_prices":    "price_files: disable_builtin_prices is set",
		"missing_file": `price_files[0]: "./testdata/nope.yaml" is not a readable file`,
	} {
		if _, err := tryLoad(t, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", name, want, err)
		}
	}
}
