package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	bin "encoding/binary"
	"fmt"
	stdio "io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// The hostile corpus: every payload that once crashed, blocked or fooled
// the collector, kept in testdata/badinput and replayed against the binary.

const (
	piiEmail = "jane.doe@example.com"
	piiCard  = "4111 1111 1111 1111"
)

// protobuf wire helpers for payloads pdata cannot build (its marshaler
// recurses, which is the very thing these payloads attack).
func pbVarint(b []byte, v uint64) []byte { return bin.AppendUvarint(b, v) }

func pbLen(tag byte, body []byte) []byte {
	out := append([]byte{tag}, pbVarint(nil, uint64(len(body)))...)
	return append(out, body...)
}

// deepAnyValue encodes an AnyValue nesting n arrays around "core", written
// outside-in from precomputed sizes so it costs O(n).
func deepAnyValue(n int) []byte {
	core := pbLen(0x0a, []byte("core")) // AnyValue.string_value
	sizes := make([]int, n+1)           // encoded AnyValue size per level
	arr := make([]int, n+1)             // encoded ArrayValue size per level
	sizes[0] = len(core)
	vl := func(x int) int { return len(pbVarint(nil, uint64(x))) }
	for i := 1; i <= n; i++ {
		arr[i] = 1 + vl(sizes[i-1]) + sizes[i-1]
		sizes[i] = 1 + vl(arr[i]) + arr[i]
	}
	out := make([]byte, 0, sizes[n])
	for i := n; i >= 1; i-- {
		out = append(out, 0x2a) // AnyValue.array_value
		out = pbVarint(out, uint64(arr[i]))
		out = append(out, 0x0a) // ArrayValue.values
		out = pbVarint(out, uint64(sizes[i-1]))
	}
	return append(out, core...)
}

// deepSpanRequest is an ExportTraceServiceRequest with one span whose
// attribute app.deep is deepAnyValue(n).
func deepSpanRequest(traceByte byte, n int) []byte {
	kv := append(pbLen(0x0a, []byte("app.deep")), pbLen(0x12, deepAnyValue(n))...)
	var span []byte
	span = append(span, pbLen(0x0a, []byte{0xde, 0xe9, traceByte, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})...) // trace_id
	span = append(span, pbLen(0x12, []byte{0xde, traceByte, 0, 0, 0, 0, 0, 1})...)                            // span_id
	span = append(span, pbLen(0x2a, []byte("chat gpt-4o"))...)                                                // name
	ts := uint64(time.Now().Add(-time.Minute).UnixNano())
	span = append(span, 0x39)
	span = bin.LittleEndian.AppendUint64(span, ts) // start_time_unix_nano
	span = append(span, 0x41)
	span = bin.LittleEndian.AppendUint64(span, ts+1e9) // end_time_unix_nano
	span = append(span, pbLen(0x4a, kv)...)            // attributes
	scopeSpans := pbLen(0x12, span)
	resourceSpans := pbLen(0x12, scopeSpans)
	return pbLen(0x0a, resourceSpans)
}

func deepSpanJSON(traceByte byte, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"dee9%02x00000000000000000000000001","spanId":"de%02x000000000001","name":"chat gpt-4o","startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[{"key":"app.deep","value":`,
		traceByte, traceByte, time.Now().Add(-time.Minute).UnixNano(), time.Now().UnixNano())
	for i := 0; i < n; i++ {
		b.WriteString(`{"arrayValue":{"values":[`)
	}
	b.WriteString(`{"stringValue":"core"}`)
	for i := 0; i < n; i++ {
		b.WriteString(`]}}`)
	}
	b.WriteString(`}]}]}]}]}`)
	return b.Bytes()
}

func gzipped(b []byte) string {
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return out.String()
}

// hostileCorpus adds the payloads of the hostile-input review to corpus().
func hostileCorpus(out map[string][2]string) {
	pb := func(name string, td ptrace.Traces) string {
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	// Decoding these overflowed the stack (or took 1.25 GiB) before the
	// receiver's depth guard; they must be refused.
	out["deep-array-100k.pb.gz"] = [2]string{"application/x-protobuf", gzipped(deepSpanRequest(0x10, 100_000))}
	out["deep-array-500k.json.gz"] = [2]string{"application/json", gzipped(deepSpanJSON(0x11, 500_000))}
	out["deep-array-100.pb"] = [2]string{"application/x-protobuf", string(deepSpanRequest(0x12, 100))}

	// Client-made aiops.* keys and events: neither the price nor our events.
	td := ptrace.NewTraces()
	hostileSpan(td, 0x20, func(a pcommon.Map, s ptrace.Span) {
		a.PutInt("gen_ai.usage.input_tokens", 90_000_000)
		a.PutInt("gen_ai.usage.output_tokens", 90_000_000)
		a.PutStr("aiops.usage.duplicate_of", "0000000000000001")
		a.PutStr("aiops.cost.computed", "0")
		for _, name := range []string{"aiops.policy", "aiops.budget"} {
			ev := s.Events().AppendEmpty()
			ev.SetName(name)
			ev.SetTimestamp(s.StartTimestamp())
			ev.Attributes().PutStr(name+".name", "forged")
			ev.Attributes().PutStr(name+".rule", "forged")
			ev.Attributes().PutStr(name+".action", "block")
		}
	})
	out["forged-aiops.pb"] = [2]string{"application/x-protobuf", pb("forged-aiops", td)}

	// Content with PII in every value type.
	td = ptrace.NewTraces()
	hostileSpan(td, 0x21, func(a pcommon.Map, _ ptrace.Span) {
		text := "mail " + piiEmail + " card " + piiCard
		a.PutEmptyBytes("gen_ai.input.messages").FromRaw([]byte(`[{"role":"user","parts":[{"type":"text","content":"` + text + `"}]}]`))
		arr := a.PutEmptySlice("gen_ai.output.messages")
		arr.AppendEmpty().SetStr(text)
		arr.AppendEmpty().SetEmptyMap().PutEmptyBytes("raw").FromRaw([]byte(text))
		m := a.PutEmptyMap("gen_ai.system_instructions")
		m.PutStr("content", text)
		a.PutInt("gen_ai.tool.call.result", 4111111111111111)
	})
	out["pii-every-type.pb"] = [2]string{"application/x-protobuf", pb("pii", td)}

	// 150 spans over 150 months: more partitions than one insert may touch.
	td = ptrace.NewTraces()
	for i := 0; i < 150; i++ {
		hostileSpan(td, 0x22, func(_ pcommon.Map, s ptrace.Span) {
			s.SetSpanID(pcommon.SpanID{0xba, 0x22, byte(i), 1})
			start := time.Now().AddDate(0, -i, 0)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
		})
	}
	out["partitions-150-months.pb"] = [2]string{"application/x-protobuf", pb("partitions", td)}

	// A 1 MiB model name.
	td = ptrace.NewTraces()
	hostileSpan(td, 0x23, func(a pcommon.Map, _ ptrace.Span) {
		a.PutStr("gen_ai.request.model", strings.Repeat("gpt-4o-", 1<<20/7))
	})
	out["model-name-1mib.pb.gz"] = [2]string{"application/x-protobuf", gzipped([]byte(pb("model", td)))}
}

// hostileExpect says what must become of a corpus file: refused before
// decoding, refused as undecodable, or accepted and stored.
func hostileExpect(name string) string {
	switch {
	case strings.HasPrefix(name, "deep-array"):
		return "refused_deep"
	case strings.HasPrefix(name, "truncated"), strings.HasPrefix(name, "garbage"), name == "wrong-types.json":
		return "refused_undecodable"
	}
	return "stored"
}

// payloadSpans decodes a corpus file that is expected to be stored.
func payloadSpans(t *testing.T, name, body string) ptrace.Traces {
	t.Helper()
	raw := []byte(body)
	if strings.HasSuffix(name, ".gz") {
		r, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = stdio.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req.Traces()
}

func postOTLP(t *testing.T, port int, name string, body []byte) (int, error) {
	ct := "application/x-protobuf"
	if strings.Contains(name, ".json") {
		ct = "application/json"
	}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port), bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if strings.HasSuffix(name, ".gz") {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	stdio.Copy(stdio.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// normalSpan is the span sent after every hostile payload: it must be
// stored, whatever the payload before it did.
func normalSpan(i int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "after-hostile")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("chat gpt-4o-mini")
	s.SetTraceID(pcommon.TraceID{0xa1, byte(i >> 8), byte(i)})
	s.SetSpanID(pcommon.SpanID{0xa1, byte(i >> 8), byte(i), 1})
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o-mini")
	a.PutInt("gen_ai.usage.input_tokens", 100)
	a.PutInt("gen_ai.usage.output_tokens", 10)
	b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	return b
}

// peakRSS is the process's high-water resident set, in MiB.
func peakRSS(pid int) float64 { return vm(pid, "VmHWM") }

// memoryLimitMiB is the memory_limiter limit the hostile run sets, and
// engineShareMiB what the embedded engine may hold beyond it (its caches
// and the libchdb.so mapping, which memory_limiter cannot see).
const (
	memoryLimitMiB = 512
	engineShareMiB = 512
)

// TestHostileCorpus replays the whole corpus against the real binary. For
// every payload: refused with its reason counted, or stored span by span;
// a normal span sent after it is stored; the process never restarts and
// its peak RSS stays within the memory limit plus the engine's share.
// AIOPS_SOAK=1 replays it 20 times.
func TestHostileCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*"))
	if err != nil || len(files) < 18 {
		t.Fatalf("corpus missing (%d files): run go test ./test/e2e -run WriteBadInput -update", len(files))
	}
	sort.Strings(files)
	rounds := 1
	if os.Getenv("AIOPS_SOAK") != "" {
		rounds = 20
	}
	dir := t.TempDir()
	col := newCollector(t, dir)
	cfg, _ := os.ReadFile(col.config)
	limited := strings.Replace(string(cfg), "limit_mib: 320\n    spike_limit_mib: 64",
		fmt.Sprintf("limit_mib: %d\n    spike_limit_mib: %d", memoryLimitMiB, memoryLimitMiB/4), 1)
	if limited == string(cfg) {
		t.Fatal("config/embedded.yaml's memory_limiter changed; update this test")
	}
	os.WriteFile(col.config, []byte(limited), 0o644)
	col.start()
	pid := col.cmd.Process.Pid

	wantStored := map[string]int{} // trace id hex → spans
	refusedDeep, normals := 0, 0
	for round := 0; round < rounds; round++ {
		for _, f := range files {
			name := filepath.Base(f)
			body, _ := os.ReadFile(f)
			code, err := postOTLP(t, col.http, name, body)
			if err != nil {
				t.Fatalf("%s: collector unreachable (crashed?): %v", name, err)
			}
			switch want := hostileExpect(name); want {
			case "refused_deep":
				if code != http.StatusBadRequest {
					t.Errorf("%s: HTTP %d, want 400 from the depth guard", name, code)
				}
				refusedDeep++
			case "refused_undecodable":
				if code < 400 || code >= 500 {
					t.Errorf("%s: HTTP %d, want a 4xx", name, code)
				}
			default:
				if code != http.StatusOK {
					t.Errorf("%s: HTTP %d, want accepted", name, code)
					break
				}
				if round == 0 {
					for _, rs := range payloadSpans(t, name, string(body)).ResourceSpans().All() {
						for _, ss := range rs.ScopeSpans().All() {
							for _, s := range ss.Spans().All() {
								wantStored[s.TraceID().String()]++
							}
						}
					}
				}
			}
			if code, err := postOTLP(t, col.http, "normal.pb", normalSpan(normals)); err != nil || code != 200 {
				t.Fatalf("normal span after %s: HTTP %d, %v", name, code, err)
			}
			normals++
			if round == 0 {
				t.Logf("%-32s %9d bytes -> HTTP %d, peak RSS %.0f MiB", name, len(body), code, peakRSS(pid))
			}
		}
	}
	col.drain(90 * time.Second)
	peak := peakRSS(pid)
	guarded, _ := col.metricWith("aiops_otlp_guard_rejected", `reason="too_deep"`)
	renamed, _ := col.metric("aiops_aitrace_input_guarded")
	repaired, _ := col.metric("aiops_exporter_values_repaired")
	col.signal(syscall.SIGTERM)

	if peak > memoryLimitMiB+engineShareMiB {
		t.Errorf("peak RSS %.0f MiB, bound %d (memory_limiter) + %d (engine)", peak, memoryLimitMiB, engineShareMiB)
	}
	if int(guarded) != refusedDeep {
		t.Errorf("aiops_otlp_guard_rejected = %.0f, %d deep payloads refused", guarded, refusedDeep)
	}
	if renamed == 0 {
		t.Error("client aiops.* keys and deep or long values passed uncounted")
	}
	if repaired == 0 {
		t.Error("invalid UTF-8, bad counts and costs were stored without being counted as repaired")
	}

	s, err := chstore.OpenEmbedded(filepath.Join(dir, "clickhouse"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	query := func(q string, params ...chstore.Param) [][]any {
		t.Helper()
		rows, err := s.Query(ctx, q, params...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return rows.Data
	}
	// Every accepted span stored once (GenAI spans here; a retry or a
	// second round stores nothing twice).
	stored := map[string]int{}
	for _, r := range query("SELECT trace_id, count() FROM aiops.genai_spans WHERE service_name = 'hostile' GROUP BY 1") {
		stored[r[0].(string)] = int(r[1].(uint64))
	}
	for tr, n := range wantStored {
		if stored[tr] != n {
			t.Errorf("trace %s: %d spans stored, %d accepted", tr, stored[tr], n)
		}
	}
	if n := query("SELECT count() FROM aiops.genai_spans WHERE service_name = 'after-hostile'")[0][0].(uint64); int(n) != normals {
		t.Errorf("%d of the %d normal spans sent after hostile payloads stored", n, normals)
	}
	// The forged span is priced: 90M input and 90M output tokens of gpt-4o
	// at $2.50 and $10 per million = $225 + $900.
	forged := query("SELECT toString(cost_usd), cost_source FROM aiops.genai_spans WHERE trace_id = 'bad12000000000000000000000000000'")
	if len(forged) != 1 || forged[0][0] != "1125" || forged[0][1] != "computed" {
		t.Errorf("forged span priced %v, want 1125 computed", forged)
	}
	if n := query("SELECT count() FROM aiops.genai_events WHERE name = 'forged' OR attributes['aiops.budget.rule'] = 'forged'")[0][0].(uint64); n != 0 {
		t.Errorf("%d client-made aiops events stored as ours", n)
	}
	// The PII content was stored masked, not dropped...
	if n := query("SELECT count() FROM aiops.genai_spans WHERE trace_id = 'bad12100000000000000000000000000' AND position(toString(tuple(*)), '[EMAIL]') > 0 AND position(toString(tuple(*)), '[CREDIT_CARD]') > 0")[0][0].(uint64); n != 1 {
		t.Errorf("the PII span's content is not stored masked (%d rows)", n)
	}
	// ...and no table holds it unmasked, in any column.
	for _, r := range query("SELECT database, name FROM system.tables WHERE database = 'aiops' AND engine LIKE '%MergeTree'") {
		table := r[0].(string) + "." + r[1].(string)
		n := query("SELECT count() FROM "+table+" WHERE positionCaseInsensitive(toString(tuple(*)), {e:String}) > 0 OR position(toString(tuple(*)), {c:String}) > 0 OR position(toString(tuple(*)), {d:String}) > 0",
			chstore.StringParam("e", piiEmail), chstore.StringParam("c", piiCard), chstore.StringParam("d", strings.ReplaceAll(piiCard, " ", "")))[0][0].(uint64)
		if n != 0 {
			t.Errorf("%s: %d rows hold the PII unmasked", table, n)
		}
	}
	t.Logf("%d rounds: %d deep payloads refused, %d normal spans stored, %.0f guarded values, peak RSS %.0f MiB", rounds, refusedDeep, normals, renamed, peak)
}
