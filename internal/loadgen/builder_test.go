package loadgen

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedBuilder(cfg Config) *Builder {
	b := NewBuilder(cfg)
	b.Now = func() time.Time { return fixedNow }
	return b
}

func marshal(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	buf, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// buildMany builds n traces in batches of 10 and merges them.
func buildMany(b *Builder, n int) (ptrace.Traces, BatchInfo) {
	all := ptrace.NewTraces()
	var total BatchInfo
	for n > 0 {
		k := min(n, 10)
		td, info := b.Build(k)
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
		total.Traces += info.Traces
		total.Spans += info.Spans
		total.GenAISpans += info.GenAISpans
		total.NonGenAISpans += info.NonGenAISpans
		n -= k
	}
	return all, total
}

type spanRef struct {
	span     ptrace.Span
	resource pcommon.Map
}

func allSpans(td ptrace.Traces) []spanRef {
	var out []spanRef
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out = append(out, spanRef{s, rs.Resource().Attributes()})
			}
		}
	}
	return out
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

func intAttr(m pcommon.Map, k string) (int64, bool) {
	v, ok := m.Get(k)
	if !ok || v.Type() != pcommon.ValueTypeInt {
		return 0, false
	}
	return v.Int(), true
}

func TestBuilderDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, ContentBytes: [2]int{512, 2048}}
	a, ai := fixedBuilder(cfg).Build(50)
	b, bi := fixedBuilder(cfg).Build(50)
	if ai != bi {
		t.Fatalf("batch info differs: %+v vs %+v", ai, bi)
	}
	if !bytes.Equal(marshal(t, a), marshal(t, b)) {
		t.Fatal("same seed produced different traces")
	}
	c, _ := fixedBuilder(Config{Seed: 43, ContentBytes: [2]int{512, 2048}}).Build(50)
	if bytes.Equal(marshal(t, a), marshal(t, c)) {
		t.Fatal("different seeds produced identical traces")
	}
	if a.SpanCount() != ai.Spans || ai.Spans != ai.GenAISpans+ai.NonGenAISpans {
		t.Fatalf("span counts inconsistent: SpanCount=%d info=%+v", a.SpanCount(), ai)
	}
}

func TestMixNonGenAIShare(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		td, info := buildMany(fixedBuilder(Config{Seed: seed}), 1000)
		share := float64(info.NonGenAISpans) / float64(info.Spans)
		t.Logf("seed %d: %d traces, %d spans, non-GenAI share %.3f", seed, info.Traces, info.Spans, share)
		if share < 0.075 || share > 0.125 {
			t.Errorf("seed %d: non-GenAI share %.3f, want ~0.10", seed, share)
		}
		ops := map[string]int{}
		nonGenAI := 0
		for _, r := range allSpans(td) {
			a := r.span.Attributes()
			if op := str(a, "gen_ai.operation.name"); op != "" {
				ops[op]++
				continue
			}
			nonGenAI++
			if r.span.Kind() != ptrace.SpanKindServer || !r.span.ParentSpanID().IsEmpty() {
				t.Fatalf("non-GenAI span %q should be a server root", r.span.Name())
			}
			for _, k := range []string{"http.request.method", "http.route", "http.response.status_code"} {
				if _, ok := a.Get(k); !ok {
					t.Fatalf("HTTP span %q lacks %s", r.span.Name(), k)
				}
			}
		}
		if nonGenAI != info.NonGenAISpans {
			t.Fatalf("counted %d non-GenAI spans, info says %d", nonGenAI, info.NonGenAISpans)
		}
		for _, op := range []string{"chat", "embeddings", "retrieval", "execute_tool", "invoke_agent"} {
			if ops[op] == 0 {
				t.Errorf("seed %d: no %s spans in mix %v", seed, op, ops)
			}
		}
	}
}

var knownModels = func() map[string]model {
	m := map[string]model{}
	for _, x := range append(append([]model{}, chatModels...), embeddingModels...) {
		m[x.request] = x
	}
	return m
}()

func TestGenAISpanAttributes(t *testing.T) {
	td, _ := buildMany(fixedBuilder(Config{Seed: 9}), 1000)
	spans := allSpans(td)
	byID := map[pcommon.SpanID]ptrace.Span{}
	for _, r := range spans {
		byID[r.span.SpanID()] = r.span
	}
	users, tenantsSeen := map[string]bool{}, map[string]bool{}
	var modelCalls, modelErrs int
	providers := map[string]bool{}
	for _, r := range spans {
		s, a := r.span, r.span.Attributes()
		name := s.Name()
		if str(r.resource, "service.name") == "" || str(r.resource, "service.version") == "" ||
			str(r.resource, "deployment.environment.name") != "production" {
			t.Fatalf("span %q: incomplete resource %v", name, r.resource.AsRaw())
		}
		if s.EndTimestamp() < s.StartTimestamp() || s.EndTimestamp().AsTime().After(fixedNow) {
			t.Fatalf("span %q: bad timestamps", name)
		}
		if p := s.ParentSpanID(); !p.IsEmpty() {
			if _, ok := byID[p]; !ok {
				t.Fatalf("span %q: parent missing", name)
			}
		}
		if u := str(a, "user.id"); u != "" {
			users[u] = true
		}
		if tn := str(a, "tenant.id"); tn != "" {
			tenantsSeen[tn] = true
		}
		failed := s.Status().Code() == ptrace.StatusCodeError
		if failed && str(a, "error.type") == "" {
			t.Fatalf("span %q: error status without error.type", name)
		}
		op := str(a, "gen_ai.operation.name")
		switch op {
		case "chat", "embeddings":
			modelCalls++
			req := str(a, "gen_ai.request.model")
			m, ok := knownModels[req]
			if !ok || str(a, "gen_ai.provider.name") != m.provider {
				t.Fatalf("span %q: unknown model/provider %q/%q", name, req, str(a, "gen_ai.provider.name"))
			}
			providers[m.provider] = true
			if name != op+" "+req || s.Kind() != ptrace.SpanKindClient {
				t.Fatalf("span %q: wrong name or kind %v", name, s.Kind())
			}
			if failed {
				modelErrs++
				continue
			}
			if got := str(a, "gen_ai.response.model"); got != m.response {
				t.Fatalf("span %q: response model %q, want %q", name, got, m.response)
			}
			in, ok := intAttr(a, "gen_ai.usage.input_tokens")
			if !ok || in <= 0 {
				t.Fatalf("span %q: missing input tokens", name)
			}
			if op == "embeddings" {
				continue
			}
			out, ok := intAttr(a, "gen_ai.usage.output_tokens")
			if !ok || out <= 0 {
				t.Fatalf("span %q: missing output tokens", name)
			}
			if c, ok := intAttr(a, "gen_ai.usage.cache_read.input_tokens"); ok && (c <= 0 || c > in) {
				t.Fatalf("span %q: cache read %d vs input %d", name, c, in)
			}
			if rt, ok := intAttr(a, "gen_ai.usage.reasoning.output_tokens"); ok && rt > out {
				t.Fatalf("span %q: reasoning %d > output %d", name, rt, out)
			}
			if req == "o3-mini" {
				if _, ok := a.Get("gen_ai.usage.reasoning.output_tokens"); !ok {
					t.Fatalf("o3-mini span without reasoning tokens")
				}
			}
			if fr, ok := a.Get("gen_ai.response.finish_reasons"); !ok || fr.Type() != pcommon.ValueTypeSlice || fr.Slice().Len() == 0 {
				t.Fatalf("span %q: finish_reasons must be a non-empty string slice", name)
			}
			if str(a, "gen_ai.response.id") == "" || str(a, "gen_ai.conversation.id") == "" {
				t.Fatalf("span %q: missing response or conversation id", name)
			}
			if d := s.EndTimestamp().AsTime().Sub(s.StartTimestamp().AsTime()); d < 300*time.Millisecond || d > 4*time.Second {
				t.Fatalf("span %q: duration %s outside 300ms..4s", name, d)
			}
		case "retrieval":
			if str(a, "gen_ai.data_source.id") == "" || name != "retrieval "+str(a, "gen_ai.data_source.id") {
				t.Fatalf("retrieval span %q lacks data source", name)
			}
			if failed {
				continue
			}
			var docs []struct {
				ID    string  `json:"id"`
				Score float64 `json:"score"`
			}
			if err := json.Unmarshal([]byte(str(a, "gen_ai.retrieval.documents")), &docs); err != nil || len(docs) == 0 || docs[0].ID == "" {
				t.Fatalf("retrieval documents %q: %v", str(a, "gen_ai.retrieval.documents"), err)
			}
		case "execute_tool":
			if str(a, "gen_ai.tool.name") == "" || name != "execute_tool "+str(a, "gen_ai.tool.name") {
				t.Fatalf("tool span %q lacks tool name", name)
			}
		case "invoke_agent":
			if str(a, "gen_ai.agent.name") == "" || str(a, "gen_ai.provider.name") == "" || str(a, "gen_ai.request.model") == "" {
				t.Fatalf("agent span %q lacks agent/provider/model", name)
			}
		case "":
			// HTTP server span, checked in TestMixNonGenAIShare.
		default:
			t.Fatalf("unexpected operation %q", op)
		}
	}
	errShare := float64(modelErrs) / float64(modelCalls)
	t.Logf("%d model calls, error share %.3f, %d users, tenants %v, providers %v", modelCalls, errShare, len(users), tenantsSeen, providers)
	if errShare < 0.005 || errShare > 0.05 {
		t.Errorf("model error share %.3f, want ~0.02", errShare)
	}
	if len(users) < 30 || len(users) > numUsers {
		t.Errorf("saw %d users, want a pool of ~%d", len(users), numUsers)
	}
	if len(tenantsSeen) != len(tenants) {
		t.Errorf("saw tenants %v", tenantsSeen)
	}
	for _, p := range []string{"openai", "anthropic", "gcp.gemini", "aws.bedrock"} {
		if !providers[p] {
			t.Errorf("provider %s never used", p)
		}
	}
}

func TestTenantOnlyForSomeServices(t *testing.T) {
	td, _ := buildMany(fixedBuilder(Config{Seed: 5}), 300)
	with := map[string]bool{}
	for _, r := range allSpans(td) {
		if str(r.span.Attributes(), "tenant.id") != "" {
			with[str(r.resource, "service.name")] = true
		}
	}
	if with["rag-search"] || !with["support-chatbot"] || !with["ops-agent"] {
		t.Fatalf("tenant.id by service: %v", with)
	}
}

func checkMessages(t *testing.T, js string, lo, hi int) {
	t.Helper()
	if len(js) < lo || len(js) > hi {
		t.Fatalf("content size %d outside [%d,%d]", len(js), lo, hi)
	}
	var msgs []struct {
		Role  string           `json:"role"`
		Parts []map[string]any `json:"parts"`
	}
	if err := json.Unmarshal([]byte(js), &msgs); err != nil {
		t.Fatalf("invalid messages JSON: %v", err)
	}
	if len(msgs) == 0 {
		t.Fatal("no messages")
	}
	for _, m := range msgs {
		if m.Role == "" || len(m.Parts) == 0 || m.Parts[0]["type"] == "" {
			t.Fatalf("malformed message %+v", m)
		}
	}
}

func TestContentSizeWithinBounds(t *testing.T) {
	for _, bounds := range [][2]int{{2048, 8192}, {256, 256}, {300, 700}} {
		td, _ := buildMany(fixedBuilder(Config{Seed: 3, ContentBytes: bounds}), 300)
		in, out := 0, 0
		for _, r := range allSpans(td) {
			a := r.span.Attributes()
			if js := str(a, "gen_ai.input.messages"); js != "" {
				in++
				checkMessages(t, js, bounds[0], bounds[1])
			}
			if js := str(a, "gen_ai.output.messages"); js != "" {
				out++
				checkMessages(t, js, bounds[0], bounds[1])
			}
			if str(a, "gen_ai.operation.name") == "chat" && str(a, "gen_ai.input.messages") == "" {
				t.Fatalf("chat span without input messages")
			}
		}
		if in == 0 || out == 0 {
			t.Fatalf("bounds %v: no content generated", bounds)
		}
	}
	td, _ := buildMany(fixedBuilder(Config{Seed: 3}), 100)
	for _, r := range allSpans(td) {
		if _, ok := r.span.Attributes().Get("gen_ai.input.messages"); ok {
			t.Fatal("content disabled but input messages present")
		}
	}
}

func TestContentShare(t *testing.T) {
	b := NewBuilder(Config{Seed: 3, ContentBytes: [2]int{256, 512}, ContentShare: 0.25})
	with, total := 0, 0
	for i := 0; i < 400; i++ {
		td, _ := b.Build(1)
		total++
		rss := td.ResourceSpans()
		found := false
		for x := 0; x < rss.Len(); x++ {
			sss := rss.At(x).ScopeSpans()
			for y := 0; y < sss.Len(); y++ {
				for z := 0; z < sss.At(y).Spans().Len(); z++ {
					if _, ok := sss.At(y).Spans().At(z).Attributes().Get("gen_ai.input.messages"); ok {
						found = true
					}
				}
			}
		}
		if found {
			with++
		}
	}
	if share := float64(with) / float64(total); share < 0.15 || share > 0.35 {
		t.Fatalf("%.2f of traces carry content, want about 0.25", share)
	}
}
