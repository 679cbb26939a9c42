package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// The conformance suite replays what published instrumentation libraries
// exported when an app called a mock provider (test/conformance: capture.sh
// re-records them). The mock's ledger is the ground truth: every provider
// call it served, with its tokens in the GenAI convention. The apps'
// declarations name the user they attached and the library gaps they saw.

const capturesDir = "../conformance/testdata"

type ledgerEntry struct {
	Call          int     `json:"call"`
	Provider      string  `json:"provider"`
	API           string  `json:"api"`
	RequestModel  string  `json:"request_model"`
	ResponseModel *string `json:"response_model"`
	Stream        bool    `json:"stream"`
	UsageReported bool    `json:"usage_reported"`
	Status        int     `json:"status"`
	ResponseID    *string `json:"response_id"`
	Tokens        *struct {
		Input      uint64 `json:"input"`
		Output     uint64 `json:"output"`
		CacheRead  uint64 `json:"cache_read"`
		CacheWrite uint64 `json:"cache_write"`
		Reasoning  uint64 `json:"reasoning"`
	} `json:"tokens"`
}

type declaration struct {
	Call    int     `json:"call"`
	Lib     string  `json:"lib"`
	Op      string  `json:"op"`
	User    *string `json:"user"`
	Content bool    `json:"content"`
	Error   int     `json:"error"`
	Gap     string  `json:"gap"`
}

type capture struct {
	lib      string
	calls    []declaration
	ledger   map[int][]ledgerEntry
	traces   []ptrace.Traces
	logs     []plog.Logs
	order    []string // "traces" or "logs", in arrival order
	traceOf  map[int]string
	requests int
}

func loadCaptures(t *testing.T) []*capture {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(capturesDir, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no captures under %s: %v", capturesDir, err)
	}
	var out []*capture
	for _, dir := range dirs {
		c := &capture{lib: filepath.Base(dir), ledger: map[int][]ledgerEntry{}, traceOf: map[int]string{}}
		readJSONL(t, filepath.Join(dir, "calls.jsonl"), func(line []byte) {
			var d declaration
			must(t, json.Unmarshal(line, &d))
			c.calls = append(c.calls, d)
		})
		readJSONL(t, filepath.Join(dir, "ledger.jsonl"), func(line []byte) {
			var e ledgerEntry
			must(t, json.Unmarshal(line, &e))
			c.ledger[e.Call] = append(c.ledger[e.Call], e)
		})
		files, _ := filepath.Glob(filepath.Join(dir, "requests", "*"))
		sort.Strings(files)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			must(t, err)
			isJSON := strings.HasSuffix(f, ".json")
			switch {
			case strings.Contains(f, "-traces."):
				r := ptraceotlp.NewExportRequest()
				if isJSON {
					must(t, r.UnmarshalJSON(raw))
				} else {
					must(t, r.UnmarshalProto(raw))
				}
				c.traces = append(c.traces, r.Traces())
				c.order = append(c.order, "traces")
				c.mapCalls(r.Traces())
			case strings.Contains(f, "-logs."):
				r := plogotlp.NewExportRequest()
				if isJSON {
					must(t, r.UnmarshalJSON(raw))
				} else {
					must(t, r.UnmarshalProto(raw))
				}
				c.logs = append(c.logs, r.Logs())
				c.order = append(c.order, "logs")
			}
			c.requests++
		}
		out = append(out, c)
	}
	return out
}

// mapCalls finds each call's trace from the app's conformance.call root span.
func (c *capture) mapCalls(td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if v, ok := sp.Attributes().Get("conformance.call"); ok && sp.Name() == "conformance.call" {
					c.traceOf[int(v.Int())] = sp.TraceID().String()
				}
			}
		}
	}
}

func readJSONL(t *testing.T, path string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			fn(line)
		}
	}
	must(t, sc.Err())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// request is one OTLP/HTTP export to replay.
type request struct {
	app  int // which capture: each app exports on its own
	path string
	body []byte
}

// asCaptured replays the requests in the order they arrived.
func asCaptured(caps []*capture) []request {
	var out []request
	for app, c := range caps {
		ti, li := 0, 0
		for _, kind := range c.order {
			if kind == "traces" {
				b, _ := ptraceotlp.NewExportRequestFromTraces(c.traces[ti]).MarshalProto()
				out = append(out, request{app, "/v1/traces", b})
				ti++
			} else {
				b, _ := plogotlp.NewExportRequestFromLogs(c.logs[li]).MarshalProto()
				out = append(out, request{app, "/v1/logs", b})
				li++
			}
		}
	}
	return out
}

// oneSpanPerRequestReversed sends every span and log record in a request of
// its own, last first: parents before children, and each log record after
// its span, the opposite of what batch processors do.
func oneSpanPerRequestReversed(caps []*capture) []request {
	var out []request
	for app, c := range caps {
		for _, td := range c.traces {
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, sp := range ss.Spans().All() {
						one := ptrace.NewTraces()
						nrs := one.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(nrs.Resource())
						nss := nrs.ScopeSpans().AppendEmpty()
						ss.Scope().CopyTo(nss.Scope())
						sp.CopyTo(nss.Spans().AppendEmpty())
						b, _ := ptraceotlp.NewExportRequestFromTraces(one).MarshalProto()
						out = append(out, request{app, "/v1/traces", b})
					}
				}
			}
		}
		for _, ld := range c.logs {
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						one := plog.NewLogs()
						nrl := one.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(nrl.Resource())
						nsl := nrl.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(nsl.Scope())
						lr.CopyTo(nsl.LogRecords().AppendEmpty())
						b, _ := plogotlp.NewExportRequestFromLogs(one).MarshalProto()
						out = append(out, request{app, "/v1/logs", b})
					}
				}
			}
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// storedRow is one genai_spans row as the checks need it.
type storedRow struct {
	trace, span, op, provider, reqModel, respModel, user, errType, status, content string
	in, out, cacheRead, cacheWrite, reasoning                                      uint64
	cost                                                                           float64
	duplicateOf, missing, inputMsgs, outputMsgs, attrs                             string
}

func replayCaptures(t *testing.T, caps []*capture, reqs []request, inFlight int) map[string][]storedRow {
	t.Helper()
	dir := t.TempDir()
	col := newCollector(t, dir)
	col.start()
	// Every app exports each signal on its own: one sender per app and
	// path. A sender keeps the order; with inFlight > 1 it does not wait
	// for one request before the next, as simple span processors do.
	type stream struct {
		app  int
		path string
	}
	streams := map[stream][]request{}
	for _, r := range reqs {
		k := stream{r.app, r.path}
		streams[k] = append(streams[k], r)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	send := func(r request) error {
		resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d%s", col.http, r.path), "application/x-protobuf", bytes.NewReader(r.body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", r.path, resp.StatusCode)
		}
		return nil
	}
	// A running service has exported logs before (its logs go out every
	// second, its spans every five): each app that exports logs first sends
	// an ordinary log line, as it would have long before these calls.
	for _, c := range caps {
		for _, ld := range c.logs[:min(1, len(c.logs))] {
			hello := plog.NewLogs()
			rl := hello.ResourceLogs().AppendEmpty()
			ld.ResourceLogs().At(0).Resource().CopyTo(rl.Resource())
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("service started")
			b, _ := plogotlp.NewExportRequestFromLogs(hello).MarshalProto()
			must(t, send(request{path: "/v1/logs", body: b}))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(reqs))
	for _, list := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots := make(chan struct{}, inFlight)
			var inner sync.WaitGroup
			for _, r := range list {
				slots <- struct{}{}
				inner.Add(1)
				go func() {
					defer func() { <-slots; inner.Done() }()
					if err := send(r); err != nil {
						errs <- err
					}
				}()
				time.Sleep(time.Millisecond) // keep the start order
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	col.drain(120 * time.Second)
	col.signal(syscall.SIGTERM)
	s, err := chstore.OpenEmbedded(filepath.Join(dir, "clickhouse"), "")
	must(t, err)
	defer s.Close()
	rows, err := s.Query(context.Background(), `SELECT trace_id, span_id, operation, provider, request_model, response_model, user_id,
		error_type, status_code, content_captured, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
		toFloat64(cost_usd), attributes['aiops.usage.duplicate_of'], attributes['aiops.usage.missing'], input_messages, output_messages,
		toString(attributes)
		FROM aiops.genai_spans`)
	must(t, err)
	byTrace := map[string][]storedRow{}
	for _, r := range rows.Data {
		row := storedRow{
			trace: r[0].(string), span: r[1].(string), op: r[2].(string), provider: r[3].(string), reqModel: r[4].(string),
			respModel: r[5].(string), user: r[6].(string), errType: r[7].(string), status: r[8].(string), content: r[9].(string),
			in: r[10].(uint64), out: r[11].(uint64), cacheRead: r[12].(uint64), cacheWrite: r[13].(uint64), reasoning: r[14].(uint64),
			cost: r[15].(float64), duplicateOf: r[16].(string), missing: r[17].(string), inputMsgs: r[18].(string), outputMsgs: r[19].(string),
			attrs: r[20].(string),
		}
		byTrace[row.trace] = append(byTrace[row.trace], row)
	}
	return byTrace
}

var modelCallOps = map[string]bool{"chat": true, "text_completion": true, "generate_content": true, "embeddings": true}

// libraryLimits are what a library does not report at all, found in its
// capture and source and listed in the README's conformance table. What a
// library cannot say is not compared.
var libraryLimits = map[string][]string{
	"otel-openai":         {"cache", "reasoning"},
	"otel-azure-openai":   {"cache", "reasoning"},
	"elastic-openai":      {"cache", "reasoning"},
	"otel-bedrock":        {"cache", "reasoning"},
	"traceloop-openai":    {"cache", "reasoning"},
	"traceloop-langchain": {"cache", "reasoning", "response_model"}, // LangChain's span repeats the request model
	"traceloop-mcp":       {"cache", "reasoning"},
	"traceloop-bedrock":   {"cache", "reasoning", "response_model"},
	"openlit":             {"reasoning"},
	"langfuse-openai":     {"request_model"}, // one model key, overwritten with the response model
}

func limited(lib, what string) bool {
	for _, l := range libraryLimits[lib] {
		if l == what {
			return true
		}
	}
	return false
}

// Gaps whose calls the library reports without (usable) usage or at all.
var (
	gapNoSpan    = map[string]bool{"no_span_on_error": true, "no_span_for_embeddings": true, "no_span": true}
	gapNoUsage   = map[string]bool{"no_usage_on_stream": true, "no_usage_on_embeddings": true, "no_usage": true}
	gapBadTokens = map[string]bool{"no_cache_tokens": true, "wrong_output_tokens_on_stream": true, "stream_usage_estimated": true}
	gapNoDetail  = map[string]bool{"no_cache_breakdown": true, "no_reasoning_breakdown": true}
)

// bedrockModel drops the region and vendor that some libraries strip.
func bedrockModel(m string) string {
	parts := strings.Split(m, ".")
	return parts[len(parts)-1]
}

// PII the apps put in prompts and the mock in replies; none may be stored.
var rawPII = []string{"jane.doe@example.com", "4111 1111 1111 1111", "ops@example.com"}

func TestConformanceCaptures(t *testing.T) {
	caps := loadCaptures(t)
	for _, mode := range []struct {
		name     string
		reqs     func([]*capture) []request
		inFlight int
	}{
		{"as_captured", asCaptured, 1},
		{"one_span_per_request_reversed", oneSpanPerRequestReversed, 8},
	} {
		t.Run(mode.name, func(t *testing.T) {
			stored := replayCaptures(t, caps, mode.reqs(caps), mode.inFlight)
			for _, c := range caps {
				t.Run(c.lib, func(t *testing.T) { checkCapture(t, c, stored) })
			}
		})
	}
}

func checkCapture(t *testing.T, c *capture, stored map[string][]storedRow) {
	for _, d := range c.calls {
		trace, ok := c.traceOf[d.Call]
		if !ok {
			t.Errorf("call %d: no conformance.call span in the capture", d.Call)
			continue
		}
		rows := stored[trace]
		for _, r := range rows {
			for _, pii := range rawPII {
				if strings.Contains(r.inputMsgs+r.outputMsgs+r.attrs, pii) {
					t.Errorf("call %d: span %s stored %q unmasked", d.Call, r.span, pii)
				}
			}
		}
		served := c.ledger[d.Call]
		var billed, calls []storedRow
		var costs float64
		for _, r := range rows {
			costs += r.cost
			if !modelCallOps[r.op] {
				continue
			}
			calls = append(calls, r)
			if r.duplicateOf == "" && (r.in > 0 || r.out > 0) {
				billed = append(billed, r)
			}
		}
		if gapNoSpan[d.Gap] {
			continue // listed in the conformance table
		}
		if d.Error != 0 {
			failed := false
			for _, r := range calls {
				failed = failed || r.errType != "" && r.status == "Error"
			}
			if !failed {
				t.Errorf("call %d (HTTP %d): no model-call row with an error type and status Error among %d", d.Call, d.Error, len(calls))
			}
			if len(billed) > 0 {
				t.Errorf("call %d failed but %d rows carry usage", d.Call, len(billed))
			}
			continue
		}
		if gapNoUsage[d.Gap] {
			if len(billed) > 0 {
				t.Errorf("call %d: the library reports no usage, yet %d rows carry some", d.Call, len(billed))
			}
			flagged := false
			for _, r := range calls {
				flagged = flagged || r.missing != ""
			}
			if len(calls) > 0 && !flagged {
				t.Errorf("call %d: %s not flagged in aiops.usage.missing", d.Call, d.Gap)
			}
			continue
		}
		// Every successful provider call is billed exactly once.
		var want []ledgerEntry
		for _, e := range served {
			if e.Status == 200 && e.Tokens != nil {
				want = append(want, e)
			}
		}
		if len(billed) != len(want) {
			t.Errorf("call %d: %d rows priced, the provider served %d calls (model-call rows: %s)", d.Call, len(billed), len(want), describe(calls))
			continue
		}
		var billedCost float64
		for i, r := range billed {
			e := want[i]
			billedCost += r.cost
			if !gapBadTokens[d.Gap] {
				if r.in != e.Tokens.Input || r.out != e.Tokens.Output {
					t.Errorf("call %d: tokens in/out %d/%d, provider counted %d/%d", d.Call, r.in, r.out, e.Tokens.Input, e.Tokens.Output)
				}
				if !limited(c.lib, "cache") && !gapNoDetail[d.Gap] && (r.cacheRead != e.Tokens.CacheRead || r.cacheWrite != e.Tokens.CacheWrite) {
					t.Errorf("call %d: cache read/write %d/%d, provider counted %d/%d", d.Call, r.cacheRead, r.cacheWrite, e.Tokens.CacheRead, e.Tokens.CacheWrite)
				}
				if !limited(c.lib, "reasoning") && !gapNoDetail[d.Gap] && r.reasoning != e.Tokens.Reasoning {
					t.Errorf("call %d: reasoning %d, provider counted %d", d.Call, r.reasoning, e.Tokens.Reasoning)
				}
			} else if d.Gap == "stream_usage_estimated" && !strings.Contains(r.attrs, "aiops.usage.estimated") {
				t.Errorf("call %d: a library's estimate priced without aiops.usage.estimated", d.Call)
			} else if d.Gap == "no_cache_tokens" && !strings.Contains(r.attrs, "aiops.usage.incomplete") {
				t.Errorf("call %d: input without its cache tokens priced without aiops.usage.incomplete", d.Call)
			}
			if r.provider != e.Provider {
				t.Errorf("call %d: provider %q, want %q", d.Call, r.provider, e.Provider)
			}
			reqModel, wantReq := r.reqModel, e.RequestModel
			if e.Provider == "aws.bedrock" {
				reqModel, wantReq = bedrockModel(reqModel), bedrockModel(wantReq)
			}
			if reqModel != wantReq && !(limited(c.lib, "request_model") && e.ResponseModel != nil && r.reqModel == *e.ResponseModel) {
				t.Errorf("call %d: request model %q, want %q", d.Call, r.reqModel, e.RequestModel)
			}
			if e.ResponseModel != nil && r.respModel != "" && r.respModel != *e.ResponseModel && !limited(c.lib, "response_model") {
				t.Errorf("call %d: response model %q, want %q", d.Call, r.respModel, *e.ResponseModel)
			}
			if d.User != nil && r.user != *d.User {
				t.Errorf("call %d: user %q, want %q", d.Call, r.user, *d.User)
			}
			if r.cost <= 0 {
				t.Errorf("call %d: not priced (%s %s)", d.Call, r.provider, r.reqModel)
			}
		}
		if diff := costs - billedCost; diff > 1e-12 || diff < -1e-12 {
			t.Errorf("call %d: rows in the trace carry %.12f USD, the priced calls %.12f", d.Call, costs, billedCost)
		}
		if d.Content && d.Op != "embeddings" {
			captured := false
			for _, r := range calls {
				captured = captured || r.content != "none" && r.inputMsgs != ""
			}
			if !captured {
				t.Errorf("call %d: content capture was on, no model-call row holds the messages", d.Call)
			}
		}
	}
}

func describe(rows []storedRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "[%s %s in=%d out=%d dup=%q] ", r.op, r.span, r.in, r.out, r.duplicateOf)
	}
	return b.String()
}
