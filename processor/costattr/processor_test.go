package costattr

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr/internal/metadata"
)

func TestComputedCostAndAttribution(t *testing.T) {
	h := newHarness(t, defaultCfg())
	attrs := h.one(map[string]any{"service.name": "support-bot"}, map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
		"gen_ai.usage.input_tokens": int64(1000), "gen_ai.usage.cache_read.input_tokens": int64(400), "gen_ai.usage.output_tokens": int64(200),
		"user.id": "u-1", "traceloop.association.properties.tenant_id": "acme", "ai.telemetry.metadata.feature": "search",
	})
	// gpt-4o: 600*2.50/1M + 400*1.25/1M + 200*10/1M = 0.0015 + 0.0005 + 0.002 = 0.004 USD.
	if got := usdAttr(t, attrs, "gen_ai.usage.cost"); got != usd(t, "0.004") {
		t.Errorf("cost %s", got)
	}
	for k, want := range map[string]string{
		"aiops.cost.source": "computed", "aiops.user.id": "u-1", "aiops.tenant.id": "acme", "aiops.workload": "support-bot", "aiops.feature": "search",
	} {
		if got := str(attrs, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if has(attrs, "aiops.unattributed") || has(attrs, "aiops.team") {
		t.Errorf("attrs %v", attrs.AsRaw())
	}
	if n, _ := h.sum("aiops_costattr_spans", map[string]string{"source": "computed"}); n != 1 {
		t.Errorf("spans metric %v", n)
	}
}

func TestCallOlderThanCatalogUsesNewestPrice(t *testing.T) {
	h := newHarness(t, defaultCfg())
	sp := h.consume(resourceSpec{spans: []spanSpec{{start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), attrs: map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000}}}})
	a := sp[0].Attributes()
	// 1000 * 2.50/1M = 0.0025 at the newest built-in gpt-4o price.
	if usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.0025") || str(a, "aiops.price.before_catalog") != "true" {
		t.Errorf("attrs %v", a.AsRaw())
	}
}

func TestSpanWithoutStartTimeGetsTheNewestPrice(t *testing.T) {
	h := newHarness(t, defaultCfg())
	td := buildTraces(t, resourceSpec{spans: []spanSpec{{attrs: map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000}}}})
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	sp.SetStartTimestamp(0)
	if err := h.proc.ConsumeTraces(t.Context(), td); err != nil {
		t.Fatal(err)
	}
	// 1000 * 2.50/1M = 0.0025; not flagged as older than the catalog.
	if a := sp.Attributes(); usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.0025") || has(a, "aiops.price.before_catalog") {
		t.Errorf("attrs %v", a.AsRaw())
	}
}

func TestUserCatalogAndCustomKeys(t *testing.T) {
	h := newHarness(t, loadCfg(t, "custom"))
	attrs := h.one(map[string]any{"app.name": "billing", "app.customer": "c-7"}, map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 1000,
	})
	// Negotiated: 1000 * 2.00/1M + 1000 * 8.00/1M = 0.002 + 0.008 = 0.01.
	if got := usdAttr(t, attrs, "gen_ai.usage.cost"); got != usd(t, "0.01") {
		t.Errorf("cost %s, want 0.01 from the user catalog", got)
	}
	if str(attrs, "aiops.user.id") != "c-7" || str(attrs, "aiops.workload") != "billing" {
		t.Errorf("attrs %v", attrs.AsRaw())
	}
}

func TestDuplicateUsageIsNotPriced(t *testing.T) {
	h := newHarness(t, defaultCfg())
	spans := h.consume(resourceSpec{attrs: map[string]any{"service.name": "s"}, spans: []spanSpec{
		// aitrace marked span 2 as repeating span 3's usage (a wrapper or a second instrumentation layer).
		{trace: 1, id: 2, attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": 1000, "aiops.usage.duplicate_of": "0300000000000000", "user.id": "u"}},
		{trace: 1, id: 3, parent: 2, attrs: map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.usage.input_tokens": 1000, "user.id": "u"}},
	}})
	dup, real := spans[0].Attributes(), spans[1].Attributes()
	if has(dup, "gen_ai.usage.cost") || has(dup, "aiops.cost.source") {
		t.Errorf("duplicate priced: %v", dup.AsRaw())
	}
	if str(dup, "aiops.user.id") != "u" {
		t.Errorf("duplicate not attributed: %v", dup.AsRaw())
	}
	if usdAttr(t, real, "gen_ai.usage.cost") != usd(t, "0.0025") {
		t.Errorf("real span: %v", real.AsRaw())
	}
	if n, _ := h.sum("aiops_costattr_skipped", map[string]string{"reason": "duplicate"}); n != 1 {
		t.Errorf("skipped metric %v", n)
	}
	// Money is counted once: 0.0025.
	if c, _ := h.sum("aiops_costattr_cost", map[string]string{"source": "computed"}); c != 0.0025 {
		t.Errorf("cost metric %v", c)
	}
}

func TestSpansWithoutUsageAreAttributedOnly(t *testing.T) {
	h := newHarness(t, defaultCfg())
	a := h.one(map[string]any{"service.name": "agent"}, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search", "user.id": "u"})
	if has(a, "aiops.cost.source") || str(a, "aiops.user.id") != "u" {
		t.Errorf("attrs %v", a.AsRaw())
	}
	// Non-GenAI spans are left alone.
	a = h.one(map[string]any{"service.name": "web"}, map[string]any{"http.route": "/chat", "user.id": "u"})
	if a.Len() != 2 {
		t.Errorf("non-GenAI span modified: %v", a.AsRaw())
	}
}

func TestBadInputIsCountedFlaggedAndLoggedOnce(t *testing.T) {
	h := newHarness(t, defaultCfg())
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "user.id": "u"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	// A non-integer input count: priced from what is usable (200 output * 10/1M = 0.002), flagged.
	a := h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": "12.5", "gen_ai.usage.output_tokens": 200}))
	if str(a, "aiops.cost.invalid_usage") != "gen_ai.usage.input_tokens:token_not_integer" || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.002") {
		t.Errorf("not-integer: %v", a.AsRaw())
	}
	h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": "x", "gen_ai.usage.output_tokens": 1}))
	a = h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": -5, "gen_ai.usage.cache_read.input_tokens": true}))
	if got := str(a, "aiops.cost.invalid_usage"); got != "gen_ai.usage.input_tokens:token_negative,gen_ai.usage.cache_read.input_tokens:token_wrong_type" {
		t.Errorf("negative/wrong type: %q", got)
	}
	// A reported cost that is not a cost: flagged, and the computed one is used.
	a = h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cost": -3.0}))
	if str(a, "aiops.cost.source") != "computed" || str(a, "aiops.cost.invalid_usage") != "gen_ai.usage.cost:provider_cost_invalid" || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.0025") {
		t.Errorf("bad reported cost: %v", a.AsRaw())
	}
	// An invalid gen_ai.usage.cost beside a valid llm.cost.total: the valid one is kept.
	a = h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cost": "lots", "llm.cost.total": 0.02}))
	if str(a, "aiops.cost.source") != "provider" || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.02") {
		t.Errorf("invalid beside valid: %v", a.AsRaw())
	}
	// An unpriced call with an invalid reported cost: the value is moved aside, not left as a cost.
	a = h.one(nil, map[string]any{"gen_ai.provider.name": "acme", "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1, "gen_ai.usage.cost": -1.5})
	if has(a, "gen_ai.usage.cost") || str(a, "aiops.cost.reported_invalid") != "-1.5" || str(a, "aiops.cost.source") != "unpriced" {
		t.Errorf("unpriced invalid cost: %v", a.AsRaw())
	}
	a = h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": 1000, "llm.cost.total": "0.0123"}))
	if str(a, "aiops.cost.source") != "provider" || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.0123") {
		t.Errorf("reported cost as a string: %v", a.AsRaw())
	}
	// Anthropic's raw API reports cache tokens outside input_tokens: 100 input,
	// 5000 cache read. Plain input clamps to 0; the read is billed:
	// 5000 * 0.30/1M = 0.0015; flagged as clamped.
	a = h.one(nil, map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
		"gen_ai.usage.input_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 5000})
	if str(a, "aiops.cost.clamped") != "true" || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.0015") {
		t.Errorf("clamped: %v", a.AsRaw())
	}
	// An attribution value that cannot be an id (a map) is skipped, flagged and
	// counted; the next key is used.
	a = h.one(nil, base(map[string]any{"gen_ai.usage.input_tokens": 1000, "user.id": map[string]any{"id": 1}, "enduser.id": "e-1"}))
	if str(a, "aiops.attribution.invalid") != "user.id:attribution_wrong_type" || str(a, "aiops.user.id") != "e-1" {
		t.Errorf("attribution wrong type: %v", a.AsRaw())
	}
	for kind, want := range map[string]float64{"token_not_integer": 2, "token_negative": 1, "token_wrong_type": 1, "provider_cost_invalid": 3, "attribution_wrong_type": 1} {
		if n, _ := h.sum("aiops_costattr_invalid", map[string]string{"kind": kind}); n != want {
			t.Errorf("invalid{%s} = %v, want %v", kind, n, want)
		}
	}
	if n, _ := h.sum("aiops_costattr_clamped", nil); n != 1 {
		t.Errorf("clamped metric %v", n)
	}
	// Logged once per kind: five kinds, five records, although not_integer happened twice.
	logs := h.logs.FilterMessageSnippet("unusable usage, cost or attribution value").All()
	if len(logs) != 5 {
		t.Errorf("%d log records, want 5 (once per kind)", len(logs))
	}
}

func TestReprocessingIsIdempotent(t *testing.T) {
	h := newHarness(t, defaultCfg())
	td := buildTraces(t, resourceSpec{attrs: map[string]any{"service.name": "s"}, spans: []spanSpec{{trace: 1, id: 1, attrs: map[string]any{
		"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000, "user.id": "u"}}}})
	for i := 0; i < 2; i++ {
		if err := h.proc.ConsumeTraces(t.Context(), td); err != nil {
			t.Fatal(err)
		}
	}
	a := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	// Our own cost from the first pass is not taken for a provider cost.
	if str(a, "aiops.cost.source") != "computed" || usdAttr(t, a, "gen_ai.usage.cost") != usd(t, "0.0025") || has(a, "aiops.cost.computed") {
		t.Errorf("second pass: %v", a.AsRaw())
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
	cfg := defaultCfg()
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfig(t *testing.T) {
	if err := componenttest.CheckConfigStruct(defaultCfg()); err != nil {
		t.Fatal(err)
	}
	cfg := loadCfg(t, "full")
	b := cfg.Budgets
	if len(b.Rules) != 3 || b.Storage == nil || b.Storage.String() != "file_storage/budgets" || b.FlushInterval != 5*time.Second || b.MaxKeysPerRule != 5000 {
		t.Errorf("budgets %+v", b)
	}
	if b.Webhook.Endpoint != "https://alerts.example.com/hooks/budget" || b.Webhook.Timeout != 3*time.Second || b.Webhook.RetryOnFailure.InitialInterval != time.Second || b.Webhook.RetryOnFailure.MaxInterval != 10*time.Second {
		t.Errorf("webhook %+v", b.Webhook)
	}
	if v, ok := b.Webhook.Headers.Get("Authorization"); !ok || string(v) != "Bearer s3cret" {
		t.Errorf("webhook header %v", v)
	}
	if b.Reconcile.Endpoint != "clickhouse://ch1:9000" || b.Reconcile.Interval != 30*time.Second || string(b.Reconcile.Password) != "hunter2" || b.Reconcile.Database != "aiops" {
		t.Errorf("reconcile %+v", b.Reconcile)
	}
	rules, err := cfg.budgetRules()
	if err != nil {
		t.Fatal(err)
	}
	// 10.5 USD and a picodollar are read exactly.
	if rules[0].Hard != usd(t, "10.5") || rules[2].Soft != 1 || rules[1].Window.Loc.String() != "America/New_York" || rules[0].Window.Loc.String() != "Europe/Berlin" {
		t.Errorf("rules %+v", rules)
	}
	if string(cfg.Attribution.Pseudonymize.Key) != "0123456789abcdef-secret" || cfg.Attribution.Pseudonymize.Prefix != "p_" || !cfg.Attribution.Pseudonymize.ReplaceSource {
		t.Errorf("pseudonymize %+v", cfg.Attribution.Pseudonymize)
	}
	// Secrets are opaque when printed.
	if s := b.Reconcile.Password.String(); strings.Contains(s, "hunter2") {
		t.Error("password printed in clear")
	}

	for name, wants := range map[string][]string{
		"no_prices":    {"price_files: disable_builtin_prices is set"},
		"missing_file": {`price_files[0]: "./testdata/nope.yaml" is not a readable file`},
		"short_key":    {"attribution.pseudonymize.key: use at least 16 bytes"},
		"bad_budgets": {
			"budgets.time_zone: unknown time zone Mars/Olympus",
			`budgets.rules[0] (a): key "org:*": unknown dimension "org"`,
			`budgets.rules[0] (a): window "week"`,
			"budgets.rules[1] (b): soft_usd 10 must be below hard_usd 5",
			"budgets.rules[2] (b): name: duplicate",
			"budgets.rules[2] (b): hard_usd: must not be negative",
			"budgets.rules[3]: name: required",
			`budgets.reconcile.database: "bad-db" is not a valid identifier`,
			`budgets.webhook.endpoint: "ftp://nope" is not an http(s) URL`,
		},
	} {
		_, err := tryLoad(t, name)
		for _, want := range wants {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: want %q, got %v", name, want, err)
			}
		}
	}
}

func TestLabelValueIsAlwaysValidUTF8(t *testing.T) {
	for _, s := range []string{"gpt-4o\xed\xa0\x80", "\xff\xfe", strings.Repeat("é", 100), "ok"} {
		v := labelValue(s, 129)
		if !utf8.ValidString(v) || len(v) > 129+2 {
			t.Errorf("labelValue(%q) = %q", s, v)
		}
	}
}
