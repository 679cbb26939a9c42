package otlpguard

import (
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

var defaultCfg = &Config{MaxValueDepth: defaultMaxValueDepth, MaxBodyBytes: defaultMaxBodyBytes}

// pdata's own JSON of a value at the limit passes in every place a value
// can sit; the deepest envelope uses almost all of the derived bound, so
// the bound is not looser than needed. Twice the limit is refused.
func TestJSONDepthAtLimitPasses(t *testing.T) {
	bound := defaultCfg.jsonDepthLimit()
	deepest := 0
	for _, sh := range shapes() {
		for _, kind := range []byte{'a', 'm', 'x'} {
			_, js := sh.build(t, func(v pcommon.Value) { nest(v, limit, kind) })
			depth, v := scanJSON(js, bound)
			if v != jsonOK {
				t.Errorf("%s/%c at depth %d: verdict %d at %d brackets (bound %d)", sh.name, kind, limit, v, depth, bound)
			}
			deepest = max(deepest, depth)
			_, js = sh.build(t, func(v pcommon.Value) { nest(v, 2*limit, kind) })
			if _, v := scanJSON(js, bound); v != jsonTooDeep {
				t.Errorf("%s/%c at depth %d: verdict %d, want too deep", sh.name, kind, 2*limit, v)
			}
		}
	}
	if deepest < bound-2 {
		t.Errorf("the deepest request at the limit reaches %d brackets, the bound %d is loose", deepest, bound)
	}
	t.Logf("deepest value at the limit: %d brackets, bound %d", deepest, bound)
}

// The bound itself: exactly at it passes, one more is refused.
func TestJSONBracketBound(t *testing.T) {
	for _, open := range []string{"[", `{"a":`} {
		closeWith := "]"
		if open != "[" {
			closeWith = "}"
		}
		for _, n := range []int{1, 272, 273} {
			doc := strings.Repeat(open, n) + "1" + strings.Repeat(closeWith, n)
			depth, v := scanJSON([]byte(doc), 272)
			want := jsonOK
			if n > 272 {
				want = jsonTooDeep
			}
			if v != want || depth != min(n, 273) {
				t.Errorf("%q x %d: depth %d verdict %d, want %d", open, n, depth, v, want)
			}
		}
	}
}

// Valid JSON of every kind passes; brackets inside strings are text.
func TestJSONValid(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, ` { } `, `{"a":[]}`, `{"a":{}}`, `"s"`, `1`, `-1.5e+10`, `true`, `null`,
		`{"a":"[[[[{{{{","b":"\"]]]}}}\\","c":[1,2,{"d":null}],"e":false}`,
		`{"u":"\u005b\ud83d\ude00"}`,
		"{\"a\":1}\n",
		`{"a":1} trailing bytes the decoder never reads`,
	} {
		if _, v := scanJSON([]byte(doc), 4); v != jsonOK {
			t.Errorf("%s: verdict %d", doc, v)
		}
	}
	td := genaiBatch(t)
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	must(t, err)
	if depth, v := scanJSON(js, defaultCfg.jsonDepthLimit()); v != jsonOK {
		t.Errorf("a real batch: verdict %d at depth %d", v, depth)
	}
}

func TestJSONInvalid(t *testing.T) {
	for _, doc := range []string{
		``, `   `, `{`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{a:1}`,
		`{"a":1]`, `[1}`, `}`, `]`, `,`, `{,"a":1}`, `[,1]`, `{"a":tru}`, `{"a":nul}`, `{"a":truex}`,
		`{"a":"unterminated}`, `{"a":'s'}`, `{"a":1}}`[:6], `{"a":[1,{"b":2]}`, `{"a":+}`[:5],
		`{"a":{"b":1}:}`,
	} {
		if _, v := scanJSON([]byte(doc), 8); v != jsonInvalid {
			t.Errorf("%q: verdict %d, want invalid", doc, v)
		}
	}
}

// json-iterator, under pdata, accepts a comma where an object or array
// opens, so this recurses once per repetition without a bracket, and
// decodes without error. It is not JSON, so it is refused.
func TestJSONCommaRecursionIsRefused(t *testing.T) {
	const n = 200
	doc := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x","attributes":[{"key":"k","value":{"arrayValue":{"values":[` +
		strings.Repeat(`,"arrayValue":,"values":,`, n) + `,"stringValue":"s"}` + strings.Repeat(`]}}`, n) +
		`]}}}]}]}]}]}`
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(doc)); err != nil {
		t.Fatalf("pdata refuses the payload, so it shows nothing: %v", err)
	}
	if d := maxDecodedDepth(req.Traces()); d < n {
		t.Fatalf("pdata decoded depth %d, want at least %d", d, n)
	}
	depth, v := scanJSON([]byte(doc), defaultCfg.jsonDepthLimit())
	if v != jsonInvalid {
		t.Fatalf("verdict %d at %d brackets", v, depth)
	}
	if depth > 12 {
		t.Fatalf("the payload has %d brackets; it was meant to show recursion without them", depth)
	}
}

// Whatever encoding/json accepts, the scan accepts (below the bound).
func TestJSONAgreesWithEncodingJSON(t *testing.T) {
	docs := []string{`{"a":[1,2,{"b":"c"}]}`, `[[],[{}]]`, `{"e":"\\\"","f":[true,false,null]}`}
	for _, sh := range shapes() {
		_, js := sh.build(t, func(v pcommon.Value) { nest(v, 3, 'x') })
		docs = append(docs, string(js))
	}
	for i, d := range docs {
		if !json.Valid([]byte(d)) {
			t.Fatalf("doc %d is not valid JSON", i)
		}
		if _, v := scanJSON([]byte(d), 1000); v != jsonOK {
			t.Errorf("doc %d: verdict %d", i, v)
		}
		// Every strict prefix is incomplete.
		for j := 0; j < len(d)-1; j++ {
			if _, v := scanJSON([]byte(d[:j]), 1000); v == jsonOK && d[0] == '{' {
				t.Errorf("doc %d prefix %d accepted: %s", i, j, d[:j])
				break
			}
		}
	}
}
