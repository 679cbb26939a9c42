package e2e

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

var update = flag.Bool("update", false, "rewrite testdata/badinput from the generators below")

const corpusDir = "../../testdata/badinput"

// hostileSpan is a GenAI span the generators below make hostile.
func hostileSpan(td ptrace.Traces, traceByte byte, mutate func(pcommon.Map, ptrace.Span)) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "hostile")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("chat gpt-4o")
	s.SetTraceID(pcommon.TraceID{0xba, 0xd1, traceByte})
	s.SetSpanID(pcommon.SpanID{0xba, traceByte, 1})
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Minute)))
	s.SetEndTimestamp(s.StartTimestamp() + 1e9)
	a := s.Attributes()
	a.PutStr("gen_ai.provider.name", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o")
	a.PutInt("gen_ai.usage.input_tokens", 10)
	a.PutInt("gen_ai.usage.output_tokens", 5)
	mutate(a, s)
}

func nested(depth int) string {
	return `[{"role":"user","parts":[{"type":"text","content":` + strings.Repeat(`{"a":[`, depth) + `1` + strings.Repeat(`]}`, depth) + `}]}]`
}

// corpus builds every hostile payload: name → (content type, body).
func corpus() map[string][2]string {
	out := map[string][2]string{}
	pb := func(name string, td ptrace.Traces) {
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			panic(err)
		}
		out[name+".pb"] = [2]string{"application/x-protobuf", string(b)}
	}
	gen := func(name string, tb byte, f func(pcommon.Map, ptrace.Span)) {
		td := ptrace.NewTraces()
		hostileSpan(td, tb, f)
		pb(name, td)
	}
	gen("value-1mb", 1, func(a pcommon.Map, _ ptrace.Span) {
		a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+strings.Repeat("x", 1<<20)+`"}]}]`)
		a.PutStr("app.blob", strings.Repeat("y", 1<<20))
	})
	gen("attrs-10k", 2, func(a pcommon.Map, _ ptrace.Span) {
		for i := 0; i < 10000; i++ {
			a.PutStr(fmt.Sprintf("app.attr.%05d", i), fmt.Sprintf("v%d", i))
		}
	})
	gen("nested-json-messages", 3, func(a pcommon.Map, _ ptrace.Span) {
		a.PutStr("gen_ai.input.messages", nested(20000))
		a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":`+strings.Repeat("[", 5000))
	})
	gen("invalid-utf8", 4, func(a pcommon.Map, s ptrace.Span) {
		s.SetName("chat \xff\xfe gpt")
		a.PutStr("user.id", "u-\xc3\x28")
		a.PutStr("gen_ai.request.model", "gpt-4o\xed\xa0\x80")
		a.PutStr("\xffkey", "value")
	})
	gen("numbers-nan-inf-negative", 5, func(a pcommon.Map, _ ptrace.Span) {
		a.PutDouble("gen_ai.usage.input_tokens", math.NaN())
		a.PutDouble("gen_ai.usage.output_tokens", math.Inf(1))
		a.PutInt("gen_ai.usage.cache_read.input_tokens", -50)
		a.PutDouble("gen_ai.usage.reasoning.output_tokens", -math.Inf(1))
		a.PutDouble("gen_ai.usage.cost", math.NaN())
		a.PutStr("gen_ai.usage.prompt_tokens", "1e400")
		a.PutInt("gen_ai.usage.completion_tokens", math.MaxInt64)
	})
	gen("sql-looking", 6, func(a pcommon.Map, _ ptrace.Span) {
		a.PutStr("gen_ai.request.model", "gpt-4o'); DROP TABLE aiops.genai_spans; --")
		a.PutStr("user.id", `"; DELETE FROM aiops.genai_spans WHERE 1=1; --`)
		a.PutStr("tenant.id", "' OR '1'='1")
		a.PutStr("aiops.workload", "x`); SYSTEM SHUTDOWN; --")
	})
	gen("control-chars", 7, func(a pcommon.Map, s ptrace.Span) {
		s.SetName("chat\x00\x01\x1b[31m\u202egpt")
		a.PutStr("user.id", "u\x00\x07\x08\x7f\u200b\u2028\ufeff")
		a.PutStr("gen_ai.input.messages", "\x00\x00\x00")
	})
	gen("wrong-types", 8, func(a pcommon.Map, _ ptrace.Span) {
		a.PutEmptySlice("gen_ai.usage.input_tokens").AppendEmpty().SetStr("ten")
		a.PutEmptyMap("gen_ai.usage.output_tokens").PutStr("n", "5")
		a.PutBool("gen_ai.request.model", true)
		a.PutEmptyBytes("gen_ai.provider.name").FromRaw([]byte{0, 1, 2})
		a.PutStr("gen_ai.response.finish_reasons", "not-a-slice")
		a.PutInt("aiops.model.pinned", 7)
	})
	// Malformed OTLP: a valid request cut in half, and noise.
	td := ptrace.NewTraces()
	hostileSpan(td, 9, func(a pcommon.Map, _ ptrace.Span) { a.PutStr("app.pad", strings.Repeat("z", 4096)) })
	full, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	out["truncated.pb"] = [2]string{"application/x-protobuf", string(full[:len(full)/2])}
	out["garbage.pb"] = [2]string{"application/x-protobuf", "\x0a\xff\xff\xff\xff\x0f\x12\x00garbage\x00\x01"}
	out["wrong-types.json"] = [2]string{"application/json", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex","spanId":12,"name":["x"],"attributes":{"k":"v"}}]}]}]}`}
	out["truncated.json"] = [2]string{"application/json", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"bad1`}
	hostileCorpus(out)
	return out
}

func TestWriteBadInputCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/badinput")
	}
	os.MkdirAll(corpusDir, 0o755)
	for name, v := range corpus() {
		if err := os.WriteFile(filepath.Join(corpusDir, name), []byte(v[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
