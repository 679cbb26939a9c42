package loadgen

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// errorRate is the per-operation probability of a failed GenAI call.
const errorRate = 0.02

// BatchInfo counts what one Build call produced.
type BatchInfo struct {
	Traces        int
	Spans         int
	GenAISpans    int
	NonGenAISpans int
}

// Builder produces realistic GenAI traces. Output depends only on the seed
// and the clock, so a fixed Now gives byte-identical batches. Not safe for
// concurrent use; give each worker its own Builder.
type Builder struct {
	// Now is the clock used for timestamps; traces end shortly before Now.
	Now func() time.Time

	r          *rand.Rand
	services   []service
	content    [2]int
	share      float64 // fraction of traces that carry content
	withText   bool    // this trace carries content
	userTenant []int
	convs      []conversation
	convNext   int
}

type conversation struct {
	id    string
	svc   int
	user  int
	turns int
}

const convPool = 64

// NewBuilder returns a builder for cfg's Seed, Services and ContentBytes.
func NewBuilder(cfg Config) *Builder { return newBuilder(cfg, 0) }

func newBuilder(cfg Config, stream uint64) *Builder {
	cfg = cfg.withDefaults()
	b := &Builder{
		Now:     time.Now,
		r:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15^stream)),
		content: cfg.ContentBytes,
		share:   cfg.ContentShare,
	}
	if b.share <= 0 || b.share > 1 {
		b.share = 1
	}
	for i, name := range cfg.Services {
		b.services = append(b.services, newService(name, i))
	}
	// Users belong to tenants in proportion to tenant weights.
	total := 0
	for _, w := range tenantWeights {
		total += w
	}
	for u := range numUsers {
		pos, acc := u*total/numUsers, 0
		for ti, w := range tenantWeights {
			acc += w
			if pos < acc {
				b.userTenant = append(b.userTenant, ti)
				break
			}
		}
	}
	return b
}

func (b *Builder) contentOn() bool { return b.content[1] > 0 && b.withText }

// Build generates n traces grouped by resource and scope like an SDK export.
func (b *Builder) Build(n int) (ptrace.Traces, BatchInfo) {
	bt := &batch{
		td: ptrace.NewTraces(),
		rs: map[string]ptrace.ResourceSpans{},
		ss: map[[2]string]ptrace.SpanSlice{},
	}
	var info BatchInfo
	now := b.Now()
	for range n {
		t := b.buildTrace(bt, now)
		info.Traces++
		info.GenAISpans += t.genai
		info.NonGenAISpans += t.other
	}
	info.Spans = info.GenAISpans + info.NonGenAISpans
	return bt.td, info
}

type batch struct {
	td ptrace.Traces
	rs map[string]ptrace.ResourceSpans
	ss map[[2]string]ptrace.SpanSlice
}

// trace holds the state of one trace while it is being built.
type trace struct {
	b        *Builder
	bt       *batch
	rsKey    string
	rs       ptrace.ResourceSpans
	traceID  pcommon.TraceID
	svc      *service
	user     string
	tenant   string
	conv     string
	turns    int
	cur      time.Time
	spans    []ptrace.Span
	failed   bool
	failType string
	failCode int
	genai    int
	other    int
}

func (b *Builder) buildTrace(bt *batch, now time.Time) *trace {
	r := b.r
	b.withText = b.share >= 1 || r.Float64() < b.share
	var svcIdx, user int
	var conv *conversation
	if len(b.convs) > 0 && r.Float64() < 0.35 {
		conv = &b.convs[r.IntN(len(b.convs))]
		svcIdx, user = conv.svc, conv.user
	} else {
		svcIdx, user = r.IntN(len(b.services)), r.IntN(numUsers)
	}
	svc := &b.services[svcIdx]
	f := pickFlow(r, svc.profile.weights)
	instance := svc.instances[r.IntN(len(svc.instances))]

	t := &trace{b: b, bt: bt, svc: svc, cur: now}
	t.rsKey = svc.name + "|" + instance
	t.rs = bt.resource(t.rsKey, svc, instance)
	binary.BigEndian.PutUint64(t.traceID[:8], r.Uint64())
	binary.BigEndian.PutUint64(t.traceID[8:], r.Uint64())
	if f != flowEmbeddings {
		t.user = fmt.Sprintf("user-%03d", user+1)
		if svc.profile.tenant {
			t.tenant = tenants[b.userTenant[user]]
		}
		if conv == nil {
			t.conv = "conv_" + b.token(24)
			b.rememberConv(conversation{id: t.conv, svc: svcIdx, user: user})
		} else {
			conv.turns++
			t.conv, t.turns = conv.id, conv.turns
		}
	}

	var root pcommon.SpanID
	var httpSpan ptrace.Span
	wrapped := r.Float64() < svc.httpProb
	if wrapped {
		route := svc.profile.route
		httpSpan = t.span(scopeHTTP, root, "GET "+route, ptrace.SpanKindServer, false)
		a := httpSpan.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", route)
		a.PutStr("url.path", route)
		a.PutStr("url.scheme", "https")
		a.PutStr("network.protocol.version", "1.1")
		root = httpSpan.SpanID()
		t.advance(2*time.Millisecond, 15*time.Millisecond)
	}

	switch f {
	case flowChat:
		t.chatFlow(root)
	case flowEmbeddings:
		t.embeddings(root, 2000, 8000)
	case flowRAG:
		t.ragFlow(root)
	case flowTool:
		t.toolFlow(root)
	case flowAgent:
		t.agentFlow(root)
	}

	if wrapped {
		t.advance(time.Millisecond, 8*time.Millisecond)
		code := 200
		if t.failed {
			code = 502
			if t.failCode == 429 {
				code = 429 // 4xx leaves a server span's status unset
			}
		}
		httpSpan.Attributes().PutInt("http.response.status_code", int64(code))
		if code >= 500 {
			httpSpan.Attributes().PutStr("error.type", strconv.Itoa(code))
			httpSpan.Status().SetCode(ptrace.StatusCodeError)
		}
		t.end(httpSpan)
	}

	// Shift the trace so it ended shortly before now (export delay).
	end := now.Add(-time.Duration(r.Int64N(int64(300 * time.Millisecond))))
	shift := end.Sub(t.cur)
	for _, s := range t.spans {
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(s.StartTimestamp().AsTime().Add(shift)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(s.EndTimestamp().AsTime().Add(shift)))
	}
	return t
}

func (b *Builder) rememberConv(c conversation) {
	if len(b.convs) < convPool {
		b.convs = append(b.convs, c)
		return
	}
	b.convs[b.convNext] = c
	b.convNext = (b.convNext + 1) % convPool
}

func pickFlow(r *rand.Rand, w [numFlows]int) flow {
	total := 0
	for _, x := range w {
		total += x
	}
	n := r.IntN(total)
	for f, x := range w {
		if n < x {
			return flow(f)
		}
		n -= x
	}
	return flowChat
}

func pickModel(r *rand.Rand, ms []model) *model {
	total := 0
	for _, m := range ms {
		total += m.weight
	}
	n := r.IntN(total)
	for i := range ms {
		if n < ms[i].weight {
			return &ms[i]
		}
		n -= ms[i].weight
	}
	return &ms[0]
}

func (bt *batch) resource(key string, svc *service, instance string) ptrace.ResourceSpans {
	if rs, ok := bt.rs[key]; ok {
		return rs
	}
	rs := bt.td.ResourceSpans().AppendEmpty()
	a := rs.Resource().Attributes()
	a.PutStr("service.name", svc.name)
	a.PutStr("service.version", svc.profile.version)
	a.PutStr("service.instance.id", instance)
	a.PutStr("deployment.environment.name", "production")
	a.PutStr("telemetry.sdk.name", "opentelemetry")
	a.PutStr("telemetry.sdk.language", "python")
	a.PutStr("telemetry.sdk.version", "1.33.1")
	bt.rs[key] = rs
	return rs
}

func (t *trace) scope(s scopeInfo) ptrace.SpanSlice {
	k := [2]string{t.rsKey, s.name}
	if ss, ok := t.bt.ss[k]; ok {
		return ss
	}
	sc := t.rs.ScopeSpans().AppendEmpty()
	sc.Scope().SetName(s.name)
	sc.Scope().SetVersion(s.version)
	t.bt.ss[k] = sc.Spans()
	return sc.Spans()
}

// span starts a span at the current cursor with the trace's common attributes.
func (t *trace) span(sc scopeInfo, parent pcommon.SpanID, name string, kind ptrace.SpanKind, genai bool) ptrace.Span {
	s := t.scope(sc).AppendEmpty()
	s.SetTraceID(t.traceID)
	var id pcommon.SpanID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:], t.b.r.Uint64())
	}
	s.SetSpanID(id)
	s.SetParentSpanID(parent)
	s.SetName(name)
	s.SetKind(kind)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(t.cur))
	if t.user != "" {
		s.Attributes().PutStr("user.id", t.user)
	}
	if t.tenant != "" {
		s.Attributes().PutStr("tenant.id", t.tenant)
	}
	t.spans = append(t.spans, s)
	if genai {
		t.genai++
	} else {
		t.other++
	}
	return s
}

func (t *trace) end(s ptrace.Span) { s.SetEndTimestamp(pcommon.NewTimestampFromTime(t.cur)) }

func (t *trace) advance(lo, hi time.Duration) { t.cur = t.cur.Add(t.b.between(lo, hi)) }

func (b *Builder) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(b.r.Int64N(int64(hi-lo)))
}

func (b *Builder) intBetween(lo, hi int) int { return lo + b.r.IntN(hi-lo+1) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (b *Builder) token(n int) string {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = alnum[b.r.IntN(len(alnum))]
	}
	return string(buf)
}

func (b *Builder) uuid() string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], b.r.Uint64())
	binary.BigEndian.PutUint64(u[8:], b.r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

func (b *Builder) responseID(provider string) string {
	switch provider {
	case "openai":
		return "chatcmpl-" + b.token(29)
	case "anthropic":
		return "msg_01" + b.token(22)
	case "gcp.gemini":
		return b.token(23)
	default:
		return b.uuid()
	}
}

func (b *Builder) toolCallID(provider string) string {
	switch provider {
	case "anthropic":
		return "toolu_01" + b.token(22)
	case "aws.bedrock":
		return "tooluse_" + b.token(22)
	default:
		return "call_" + b.token(24)
	}
}

// errKind is a failure mode of a GenAI call.
type errKind struct {
	typ, class, msg string
	code            int
	weight          int
	dur             [2]time.Duration
}

var modelErrors = []errKind{
	{"rate_limit", "RateLimitError", "Error code: 429 - rate limit exceeded, please retry after 20s", 429, 55, [2]time.Duration{40 * time.Millisecond, 300 * time.Millisecond}},
	{"timeout", "APITimeoutError", "Request timed out.", 0, 20, [2]time.Duration{10 * time.Second, 10 * time.Second}},
	{"internal_server_error", "InternalServerError", "Error code: 500 - internal server error", 500, 15, [2]time.Duration{200 * time.Millisecond, 2 * time.Second}},
	{"service_unavailable", "APIStatusError", "Error code: 503 - the model is overloaded, try again later", 503, 10, [2]time.Duration{100 * time.Millisecond, 1 * time.Second}},
}

var exceptionPkg = map[string]string{
	"openai": "openai", "anthropic": "anthropic", "gcp.gemini": "google.genai.errors", "aws.bedrock": "botocore.exceptions",
}

// maybeFail marks s as failed with probability errorRate and returns the error.
func (t *trace) maybeFail(s ptrace.Span, provider string) *errKind {
	if t.b.r.Float64() >= errorRate {
		return nil
	}
	total := 0
	for _, e := range modelErrors {
		total += e.weight
	}
	n := t.b.r.IntN(total)
	e := &modelErrors[0]
	for i := range modelErrors {
		if n < modelErrors[i].weight {
			e = &modelErrors[i]
			break
		}
		n -= modelErrors[i].weight
	}
	t.markError(s, e.typ, e.msg, e.code)
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(t.cur.Add(e.dur[0])))
	pkg := exceptionPkg[provider]
	if pkg == "" {
		pkg = "app"
	}
	ev.Attributes().PutStr("exception.type", pkg+"."+e.class)
	ev.Attributes().PutStr("exception.message", e.msg)
	return e
}

func (t *trace) markError(s ptrace.Span, typ, msg string, code int) {
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage(msg)
	s.Attributes().PutStr("error.type", typ)
	if code != 0 {
		s.Attributes().PutInt("http.response.status_code", int64(code))
	}
	t.failed, t.failType, t.failCode = true, typ, code
}

func putStrSlice(a pcommon.Map, k string, vals ...string) {
	sl := a.PutEmptySlice(k)
	sl.EnsureCapacity(len(vals))
	for _, v := range vals {
		sl.AppendEmpty().SetStr(v)
	}
}

func putModelBasics(a pcommon.Map, op string, m *model) {
	a.PutStr("gen_ai.operation.name", op)
	a.PutStr("gen_ai.provider.name", m.provider)
	a.PutStr("gen_ai.request.model", m.request)
	a.PutStr("server.address", m.server)
	a.PutInt("server.port", 443)
}

// chatCall describes one chat completion inside a flow.
type chatCall struct {
	m      *model
	in     []message // input messages (content mode)
	fillMi int       // message whose first part absorbs filler
	tool   *tool     // non-nil: the model answers with a tool call
	system string
}

// chat emits a chat span; it returns the tool call id (if any) and false if
// the call failed.
func (t *trace) chat(parent pcommon.SpanID, c chatCall) (string, bool) {
	b, r, m := t.b, t.b.r, c.m
	start := t.cur
	s := t.span(m.scope, parent, "chat "+m.request, ptrace.SpanKindClient, true)
	a := s.Attributes()
	putModelBasics(a, "chat", m)
	a.PutInt("gen_ai.request.max_tokens", []int64{1024, 2048, 4096, 8192}[r.IntN(4)])
	if !strings.HasPrefix(m.request, "o3") {
		a.PutDouble("gen_ai.request.temperature", []float64{0, 0.2, 0.7, 1}[r.IntN(4)])
	}
	if t.conv != "" {
		a.PutStr("gen_ai.conversation.id", t.conv)
	}

	var input int
	if b.contentOn() {
		fb := c.in[c.fillMi].Parts[0].Content
		js := b.messagesJSON(c.in, c.fillMi, 0, "user", fb)
		a.PutStr("gen_ai.input.messages", js)
		sys, _ := json.Marshal([]msgPart{{Type: "text", Content: c.system}})
		a.PutStr("gen_ai.system_instructions", string(sys))
		input = len(js)/4 + b.intBetween(60, 400)
	} else {
		input = b.intBetween(150, 3500) + 250*min(t.turns, 6)
	}

	if e := t.maybeFail(s, m.provider); e != nil {
		t.cur = start.Add(b.between(e.dur[0], e.dur[1]))
		t.end(s)
		return "", false
	}

	fr := finishReasons[m.provider]
	finish, norm := fr[0], "stop"
	var out int
	if c.tool != nil {
		finish, norm = fr[2], "tool_call"
		out = b.intBetween(15, 90)
	} else if r.Float64() < 0.04 {
		finish, norm = fr[1], "length"
	}
	callID := ""
	if c.tool != nil {
		callID = b.toolCallID(m.provider)
	}
	if b.contentOn() {
		parts := []msgPart{{Type: "text", Content: assistantOpeners[r.IntN(len(assistantOpeners))]}}
		if c.tool != nil {
			parts = append(parts, msgPart{Type: "tool_call", ID: callID, Name: c.tool.name, Arguments: json.RawMessage(c.tool.argsJSON)})
		}
		js := b.messagesJSON([]message{{Role: "assistant", Parts: parts, FinishReason: norm}}, 0, 0, "assistant", parts[0].Content)
		a.PutStr("gen_ai.output.messages", js)
		if c.tool == nil {
			out = len(js)/4 + b.intBetween(0, 40)
		}
	} else if c.tool == nil {
		out = b.intBetween(20, 1200)
	}
	reasoning := 0
	if r.Float64() < m.reasoning {
		reasoning = b.intBetween(64, 2048)
		out += reasoning
	}
	cached := 0
	if input >= 1024 && r.Float64() < m.cache {
		cached = int(float64(input)*(0.25+0.65*r.Float64())) / 128 * 128
	}

	a.PutStr("gen_ai.response.model", m.response)
	a.PutStr("gen_ai.response.id", b.responseID(m.provider))
	putStrSlice(a, "gen_ai.response.finish_reasons", finish)
	a.PutInt("gen_ai.usage.input_tokens", int64(input))
	a.PutInt("gen_ai.usage.output_tokens", int64(out))
	if cached > 0 {
		a.PutInt("gen_ai.usage.cache_read.input_tokens", int64(cached))
	}
	if reasoning > 0 {
		a.PutInt("gen_ai.usage.reasoning.output_tokens", int64(reasoning))
	}

	jitter := 0.7 + 0.6*r.Float64()
	d := b.between(150*time.Millisecond, 700*time.Millisecond) +
		time.Duration(float64(out)*m.msPerTok*jitter*float64(time.Millisecond))
	d = min(max(d, 300*time.Millisecond), 4*time.Second)
	t.cur = start.Add(d)
	t.end(s)
	return callID, true
}

// embeddings emits an embeddings span with input tokens in [lo, hi].
func (t *trace) embeddings(parent pcommon.SpanID, lo, hi int) bool {
	b := t.b
	m := pickModel(b.r, embeddingModels)
	start := t.cur
	s := t.span(m.scope, parent, "embeddings "+m.request, ptrace.SpanKindClient, true)
	a := s.Attributes()
	putModelBasics(a, "embeddings", m)
	putStrSlice(a, "gen_ai.request.encoding_formats", "float")
	if e := t.maybeFail(s, m.provider); e != nil {
		t.cur = start.Add(b.between(e.dur[0], e.dur[1]))
		t.end(s)
		return false
	}
	a.PutStr("gen_ai.response.model", m.response)
	a.PutInt("gen_ai.embeddings.dimension.count", int64(m.dims))
	a.PutInt("gen_ai.usage.input_tokens", int64(b.intBetween(lo, hi)))
	t.cur = start.Add(b.between(40*time.Millisecond, 400*time.Millisecond))
	t.end(s)
	return true
}

func (t *trace) retrieval(parent pcommon.SpanID, query string) bool {
	b, r := t.b, t.b.r
	ds := dataSources[r.IntN(len(dataSources))]
	start := t.cur
	s := t.span(scopeFramework, parent, "retrieval "+ds, ptrace.SpanKindClient, true)
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "retrieval")
	a.PutStr("gen_ai.data_source.id", ds)
	k := []int{3, 5, 8, 10}[r.IntN(4)]
	a.PutDouble("gen_ai.request.top_k", float64(k))
	if b.contentOn() {
		a.PutStr("gen_ai.retrieval.query.text", query)
	}
	if r.Float64() < errorRate {
		t.markError(s, "timeout", "vector store query timed out", 0)
		t.cur = start.Add(2 * time.Second)
		t.end(s)
		return false
	}
	var sb strings.Builder
	sb.WriteByte('[')
	score := 0.72 + 0.25*r.Float64()
	for i := range k {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"doc-%d","score":%.2f}`, 1+r.IntN(5000), score)
		score -= 0.01 + 0.05*r.Float64()
	}
	sb.WriteByte(']')
	a.PutStr("gen_ai.retrieval.documents", sb.String())
	t.cur = start.Add(b.between(15*time.Millisecond, 250*time.Millisecond))
	t.end(s)
	return true
}

func (t *trace) executeTool(parent pcommon.SpanID, tl *tool, callID string) bool {
	b := t.b
	start := t.cur
	s := t.span(scopeFramework, parent, "execute_tool "+tl.name, ptrace.SpanKindInternal, true)
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "execute_tool")
	a.PutStr("gen_ai.tool.name", tl.name)
	a.PutStr("gen_ai.tool.call.id", callID)
	a.PutStr("gen_ai.tool.type", "function")
	a.PutStr("gen_ai.tool.description", tl.description)
	if t.conv != "" {
		a.PutStr("gen_ai.conversation.id", t.conv)
	}
	if b.contentOn() {
		a.PutStr("gen_ai.tool.call.arguments", tl.argsJSON)
	}
	if b.r.Float64() < errorRate {
		t.markError(s, "tool_error", "tool "+tl.name+" failed: upstream returned 502", 0)
		t.cur = start.Add(b.between(20*time.Millisecond, 1500*time.Millisecond))
		t.end(s)
		return false
	}
	if b.contentOn() {
		a.PutStr("gen_ai.tool.call.result", tl.result)
	}
	t.cur = start.Add(b.between(20*time.Millisecond, 1500*time.Millisecond))
	t.end(s)
	return true
}

func (t *trace) question() string { return userQuestions[t.b.r.IntN(len(userQuestions))] }

// history returns prior turns of the conversation (content mode only).
func (t *trace) history() []message {
	var h []message
	for i := range min(t.turns, 2) {
		h = append(h, textMsg("user", userQuestions[(i*3+len(t.conv))%len(userQuestions)]),
			textMsg("assistant", assistantOpeners[i%len(assistantOpeners)]))
	}
	return h
}

func (t *trace) chatFlow(parent pcommon.SpanID) {
	in := append(t.history(), textMsg("user", t.question()))
	t.chat(parent, chatCall{m: pickModel(t.b.r, chatModels), in: in, fillMi: len(in) - 1, system: systemPrompts[0]})
}

func (t *trace) ragFlow(parent pcommon.SpanID) {
	q := t.question()
	if !t.embeddings(parent, 8, 120) {
		return
	}
	t.advance(time.Millisecond, 10*time.Millisecond)
	if !t.retrieval(parent, q) {
		return
	}
	t.advance(time.Millisecond, 10*time.Millisecond)
	in := append(t.history(), textMsg("user", q+" Use the following context."))
	t.chat(parent, chatCall{m: pickModel(t.b.r, chatModels), in: in, fillMi: len(in) - 1, system: systemPrompts[1]})
}

// toolLoop runs rounds of chat -> execute_tool, then a final chat.
func (t *trace) toolLoop(parent pcommon.SpanID, m *model, rounds int, system string) bool {
	r := t.b.r
	in := append(t.history(), textMsg("user", t.question()))
	userIdx := len(in) - 1
	for range rounds {
		tl := &tools[r.IntN(len(tools))]
		id, ok := t.chat(parent, chatCall{m: m, in: in, fillMi: userIdx, tool: tl, system: system})
		if !ok {
			return false
		}
		t.advance(time.Millisecond, 5*time.Millisecond)
		if !t.executeTool(parent, tl, id) {
			return false
		}
		t.advance(time.Millisecond, 5*time.Millisecond)
		in = append(in,
			message{Role: "assistant", Parts: []msgPart{{Type: "tool_call", ID: id, Name: tl.name, Arguments: json.RawMessage(tl.argsJSON)}}},
			message{Role: "tool", Parts: []msgPart{{Type: "tool_call_response", ID: id, Response: json.RawMessage(tl.result)}}})
	}
	_, ok := t.chat(parent, chatCall{m: m, in: in, fillMi: userIdx, system: system})
	return ok
}

func (t *trace) toolFlow(parent pcommon.SpanID) {
	t.toolLoop(parent, pickModel(t.b.r, chatModels), 1, systemPrompts[0])
}

func (t *trace) agentFlow(parent pcommon.SpanID) {
	b := t.b
	ag := &agents[b.r.IntN(len(agents))]
	m := pickModel(b.r, chatModels)
	s := t.span(scopeFramework, parent, "invoke_agent "+ag.name, ptrace.SpanKindInternal, true)
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "invoke_agent")
	a.PutStr("gen_ai.provider.name", m.provider)
	a.PutStr("gen_ai.request.model", m.request)
	a.PutStr("gen_ai.agent.name", ag.name)
	a.PutStr("gen_ai.agent.id", ag.id)
	a.PutStr("gen_ai.agent.description", ag.description)
	if t.conv != "" {
		a.PutStr("gen_ai.conversation.id", t.conv)
	}
	t.advance(time.Millisecond, 6*time.Millisecond)
	if !t.toolLoop(s.SpanID(), m, b.intBetween(1, 3), systemPrompts[2]) {
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("agent run failed: " + t.failType)
		s.Attributes().PutStr("error.type", t.failType)
	}
	t.advance(time.Millisecond, 6*time.Millisecond)
	t.end(s)
}
