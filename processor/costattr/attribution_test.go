package costattr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

var chat = map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000}

func with(base map[string]any, kv ...any) map[string]any {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestAttributionOrderAndPlaces(t *testing.T) {
	cfg := defaultCfg()
	cfg.Attribution.User = []string{"app.user", "scope:lib.user", "user.id", "resource:deploy.owner"}
	cfg.Attribution.Tenant = []string{"span:tenant.id", "resource:tenant.id"}
	h := newHarness(t, cfg)
	res := map[string]any{"service.name": "bot", "aiops.workload": "support", "tenant.id": "res-tenant", "deploy.owner": "ops", "user.id": "res-user"}
	for _, tc := range []struct {
		name         string
		scope, attrs map[string]any
		user, tenant string
	}{
		// The first key of the list wins, wherever it is found.
		{"first key on the span", nil, with(chat, "app.user", "a", "user.id", "b"), "a", "res-tenant"},
		// A scope-pinned key beats later keys.
		{"scope key", map[string]any{"lib.user": "from-scope"}, with(chat, "user.id", "b"), "from-scope", "res-tenant"},
		// An unprefixed key: span first, then resource.
		{"span before resource", nil, with(chat, "user.id", "span-user", "tenant.id", "span-tenant"), "span-user", "span-tenant"},
		{"resource when the span has none", nil, chat, "res-user", "res-tenant"},
		// Empty values do not count; non-string ids are rendered.
		{"empty skipped, int rendered", nil, with(chat, "app.user", "", "user.id", 4711), "4711", "res-tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.consume(resourceSpec{attrs: res, scope: tc.scope, spans: []spanSpec{{trace: 1, id: 1, attrs: tc.attrs}}})[0].Attributes()
			if str(a, "aiops.user.id") != tc.user || str(a, "aiops.tenant.id") != tc.tenant {
				t.Errorf("user %q tenant %q, want %q %q", str(a, "aiops.user.id"), str(a, "aiops.tenant.id"), tc.user, tc.tenant)
			}
			// The aiops.workload resource attribute overrides service.name.
			if str(a, "aiops.workload") != "support" {
				t.Errorf("workload %q", str(a, "aiops.workload"))
			}
		})
	}
	// A value already set upstream is kept.
	a := h.one(res, with(chat, "aiops.user.id", "set-by-app", "user.id", "x", "aiops.workload", "span-workload"))
	if str(a, "aiops.user.id") != "set-by-app" || str(a, "aiops.workload") != "span-workload" {
		t.Errorf("upstream values overwritten: %v", a.AsRaw())
	}
	// workload defaults to service.name.
	a = h.one(map[string]any{"service.name": "bot"}, chat)
	if str(a, "aiops.workload") != "bot" {
		t.Errorf("workload %q", str(a, "aiops.workload"))
	}
}

func TestDialectKeys(t *testing.T) {
	h := newHarness(t, defaultCfg())
	for name, tc := range map[string]struct {
		attrs        map[string]any
		user, tenant string
		team         string
	}{
		"openllmetry association properties": {with(chat, "traceloop.association.properties.user_id", "u1", "traceloop.association.properties.tenant_id", "t1", "traceloop.association.properties.team", "ml"), "u1", "t1", "ml"},
		"vercel ai telemetry metadata":       {with(chat, "ai.telemetry.metadata.userId", "u2", "ai.telemetry.metadata.tenantId", "t2", "ai.telemetry.metadata.team", "web"), "u2", "t2", "web"},
		"langfuse":                           {with(chat, "langfuse.user.id", "u3", "langfuse.trace.metadata.tenant_id", "t3"), "u3", "t3", ""},
		"enduser.id":                         {with(chat, "enduser.id", "u4"), "u4", "", ""},
	} {
		a := h.one(map[string]any{"service.name": "s"}, tc.attrs)
		if str(a, "aiops.user.id") != tc.user || str(a, "aiops.tenant.id") != tc.tenant || str(a, "aiops.team") != tc.team {
			t.Errorf("%s: %v", name, a.AsRaw())
		}
	}
}

func TestBaggage(t *testing.T) {
	cfg := defaultCfg()
	cfg.Attribution.User = []string{"user.id", "baggage:userId"}
	cfg.Attribution.Tenant = []string{"baggage:tenant", "tenant.id"}
	h := newHarness(t, cfg)
	// The W3C baggage header captured on the span, as a string or a list.
	a := h.one(nil, with(chat, "http.request.header.baggage", "session=9, userId=alice%40example.com;ttl=60 ,tenant=acme", "tenant.id", "other"))
	if str(a, "aiops.user.id") != "alice@example.com" || str(a, "aiops.tenant.id") != "acme" {
		t.Errorf("baggage string: %v", a.AsRaw())
	}
	a = h.one(nil, with(chat, "http.request.header.baggage", []any{"a=1", "userId=bob"}, "user.id", ""))
	if str(a, "aiops.user.id") != "bob" {
		t.Errorf("baggage list: %v", a.AsRaw())
	}
	// An earlier key in the list beats the baggage member.
	a = h.one(nil, with(chat, "http.request.header.baggage", "userId=bob", "user.id", "carol"))
	if str(a, "aiops.user.id") != "carol" {
		t.Errorf("order: %v", a.AsRaw())
	}
}

func TestInheritanceWithinBatch(t *testing.T) {
	h := newHarness(t, defaultCfg())
	spans := h.consume(
		resourceSpec{attrs: map[string]any{"service.name": "gateway"}, spans: []spanSpec{
			// trace 1: HTTP root with the user and tenant, a workflow with the team,
			// a GenAI call under it, and a GenAI call under that one.
			{trace: 1, id: 1, attrs: map[string]any{"http.route": "/chat", "enduser.id": "alice", "tenant.id": "acme"}},
			{trace: 1, id: 2, parent: 1, attrs: map[string]any{"traceloop.span.kind": "workflow", "team": "search"}},
		}},
		resourceSpec{attrs: map[string]any{"service.name": "llm-svc"}, spans: []spanSpec{
			{trace: 1, id: 3, parent: 2, attrs: with(chat, "feature", "answer")},
			{trace: 1, id: 4, parent: 3, attrs: chat},
			// The parent of span 5 is not in the batch: the trace's root is used.
			{trace: 1, id: 5, parent: 99, attrs: chat},
			// trace 2 has no attribution anywhere: unattributed, and nothing leaks from trace 1.
			{trace: 2, id: 1, attrs: chat},
			// trace 3: the GenAI span's own user wins over the root's.
			{trace: 3, id: 1, attrs: map[string]any{"user.id": "root-user", "tenant.id": "t3"}},
			{trace: 3, id: 2, parent: 1, attrs: with(chat, "user.id", "own-user")},
		}},
	)
	want := []struct {
		user, tenant, team, feature, workload string
		inherited                             bool
	}{
		2: {"alice", "acme", "search", "answer", "llm-svc", true},
		3: {"alice", "acme", "search", "answer", "llm-svc", true}, // from the GenAI parent
		4: {"alice", "acme", "", "", "llm-svc", true},             // from the root only
		5: {"", "", "", "", "llm-svc", false},
		7: {"own-user", "t3", "", "", "llm-svc", true},
	}
	for i, w := range want {
		if i < 2 || i == 6 {
			continue
		}
		a := spans[i].Attributes()
		got := [5]string{str(a, "aiops.user.id"), str(a, "aiops.tenant.id"), str(a, "aiops.team"), str(a, "aiops.feature"), str(a, "aiops.workload")}
		if got != [5]string{w.user, w.tenant, w.team, w.feature, w.workload} || has(a, "aiops.attribution.inherited") != w.inherited {
			t.Errorf("span %d: %v, want %+v", i, a.AsRaw(), w)
		}
		if has(a, "aiops.unattributed") != (w.user == "") {
			t.Errorf("span %d: unattributed marker %v", i, has(a, "aiops.unattributed"))
		}
	}
	// Non-GenAI spans are not annotated.
	if has(spans[0].Attributes(), "aiops.user.id") || has(spans[1].Attributes(), "aiops.team") {
		t.Error("non-GenAI parent modified")
	}
	if n, _ := h.sum("aiops_costattr_inherited", nil); n != 4 {
		t.Errorf("inherited metric %v, want 4", n)
	}
	if n, _ := h.sum("aiops_costattr_unattributed", nil); n != 1 {
		t.Errorf("unattributed metric %v, want 1", n)
	}

	// Inheritance can be turned off.
	cfg := defaultCfg()
	cfg.Attribution.InheritFromParents = false
	h2 := newHarness(t, cfg)
	spans = h2.consume(resourceSpec{spans: []spanSpec{{trace: 1, id: 1, attrs: map[string]any{"user.id": "alice"}}, {trace: 1, id: 2, parent: 1, attrs: chat}}})
	if has(spans[1].Attributes(), "aiops.user.id") || !has(spans[1].Attributes(), "aiops.unattributed") {
		t.Errorf("inherit off: %v", spans[1].Attributes().AsRaw())
	}
}

func pseudonymOf(key, prefix, id string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(id))
	return prefix + hex.EncodeToString(m.Sum(nil)[:16])
}

func TestPseudonymization(t *testing.T) {
	const key = "a-long-enough-hmac-key"
	cfg := defaultCfg()
	cfg.Attribution.Pseudonymize.Key = key
	h := newHarness(t, cfg)
	alice := pseudonymOf(key, "u_", "alice")
	spans := h.consume(resourceSpec{attrs: map[string]any{"service.name": "s"}, spans: []spanSpec{
		{trace: 1, id: 1, attrs: map[string]any{"http.route": "/chat", "user.id": "alice"}},
		{trace: 1, id: 2, parent: 1, attrs: chat},                           // inherits alice
		{trace: 1, id: 3, parent: 1, attrs: with(chat, "user.id", "alice")}, // own alice
		{trace: 2, id: 1, attrs: with(chat, "user.id", alice)},              // already pseudonymized upstream
	}}, resourceSpec{attrs: map[string]any{"service.name": "s2", "enduser.id": "res-user"}, spans: []spanSpec{
		{trace: 3, id: 1, attrs: chat}, // the resource's enduser.id
	}})
	for i, want := range map[int]string{1: alice, 2: alice, 3: alice, 4: pseudonymOf(key, "u_", "res-user")} {
		if got := str(spans[i].Attributes(), "aiops.user.id"); got != want {
			t.Errorf("span %d: user %q, want %q", i, got, want)
		}
	}
	// The raw ids are replaced where they were read from: spans and resource.
	for i, sp := range spans {
		if v := str(sp.Attributes(), "user.id"); v != "" && v != alice {
			t.Errorf("span %d still carries user.id %q", i, v)
		}
	}
	out := h.sink.AllTraces()[0]
	if got := str(out.ResourceSpans().At(1).Resource().Attributes(), "enduser.id"); got != pseudonymOf(key, "u_", "res-user") {
		t.Errorf("resource enduser.id %q", got)
	}
	// A different key gives different pseudonyms; without a key ids are kept.
	if pseudonymOf("another-key-of-16-bytes", "u_", "alice") == alice {
		t.Fatal("pseudonyms do not depend on the key")
	}
	h2 := newHarness(t, defaultCfg())
	if got := str(h2.one(nil, with(chat, "user.id", "alice")), "aiops.user.id"); got != "alice" {
		t.Errorf("no key: %q", got)
	}
	// replace_source off keeps the raw source attribute.
	cfg3 := defaultCfg()
	cfg3.Attribution.Pseudonymize.Key = key
	cfg3.Attribution.Pseudonymize.ReplaceSource = false
	a := newHarness(t, cfg3).one(nil, with(chat, "user.id", "alice"))
	if str(a, "user.id") != "alice" || str(a, "aiops.user.id") != alice {
		t.Errorf("replace_source off: %v", a.AsRaw())
	}
}

func TestBaggageParsing(t *testing.T) {
	for _, tc := range []struct {
		h, name, want string
		ok            bool
	}{
		{"userId=alice", "userId", "alice", true},
		{" a=1 , userId = bob ;p=1", "userId", "bob", true},
		{"userId=caf%C3%A9", "userId", "café", true},
		{"userId=", "userId", "", false},
		{"user=alice", "userId", "", false},
		{"", "userId", "", false},
	} {
		got, ok := parseBaggage(tc.h, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseBaggage(%q) = %q %v", tc.h, got, ok)
		}
	}
}
