package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// validate checks v against the subset of JSON Schema report.schema.json
// uses: type (with "null"), properties, required, additionalProperties: false,
// items, enum and local $ref.
func validate(root, schema map[string]any, v any, path string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		name := filepath.Base(ref)
		return validate(root, root["$defs"].(map[string]any)[name].(map[string]any), v, path)
	}
	var errs []string
	typeOK := func(t string) bool {
		switch t {
		case "null":
			return v == nil
		case "object":
			_, ok := v.(map[string]any)
			return ok
		case "array":
			_, ok := v.([]any)
			return ok
		case "string":
			_, ok := v.(string)
			return ok
		case "boolean":
			_, ok := v.(bool)
			return ok
		case "number":
			_, ok := v.(float64)
			return ok
		case "integer":
			f, ok := v.(float64)
			return ok && f == float64(int64(f))
		}
		return false
	}
	switch t := schema["type"].(type) {
	case string:
		if !typeOK(t) {
			return append(errs, fmt.Sprintf("%s: %v is not %s", path, v, t))
		}
	case []any:
		ok := false
		for _, x := range t {
			ok = ok || typeOK(x.(string))
		}
		if !ok {
			return append(errs, fmt.Sprintf("%s: %v is none of %v", path, v, t))
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v not in %v", path, v, enum))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: missing required %q", path, r))
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					errs = append(errs, fmt.Sprintf("%s: %q is not in the schema", path, k))
				}
				continue
			}
			errs = append(errs, validate(root, ps, x[k], path+"."+k)...)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, validate(root, items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func asStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

// TestReportJSONMatchesTheDocumentedSchema checks a full report (with a
// previous run, regressions, n/a and declared signals, an unregistered
// workload) against maturity/report.schema.json, in both directions: every
// field written is documented, every required field is written.
func TestReportJSONMatchesTheDocumentedSchema(t *testing.T) {
	apps := ReferenceApps()
	rep, store := simulate(t, "schema", apps)
	ctx := context.Background()
	prior := &maturity.Report{RunID: "prior", GeneratedAt: rep.GeneratedAt.Add(-time.Hour), Window: rep.Window, RubricVersion: "x",
		Workloads: []maturity.WorkloadReport{{Workload: "rag-app", Scores: []maturity.FrameworkScore{{Framework: "llmops", Stage: 4,
			Signals: []maturity.SignalResult{{ID: "llmops.s4.caching", Stage: 4, Kind: "measured", Status: maturity.StatusMet, Met: true}}}}}}}
	if err := maturity.Record(ctx, store, "schema", prior); err != nil {
		t.Fatal(err)
	}
	rep, err := maturity.Score(ctx, store, maturity.Options{Database: "schema", From: rep.Window.From, To: rep.Window.To,
		Registry: Registry(apps, testEnd), History: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rep.Workload("rag-app").Score("llmops").Regressions); n != 2 {
		t.Fatalf("%d regressions, want the stage and llmops.s4.caching", n)
	}
	var b bytes.Buffer
	if err := maturity.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	// The validator itself rejects what the schema forbids.
	bad := map[string]any{"schema": "v0", "extra": 1}
	if errs := validate(schema, schema, bad, "$"); len(errs) < 3 {
		t.Fatalf("validator accepted a bad document: %v", errs)
	}
	if errs := validate(schema, schema, doc, "$"); len(errs) > 0 {
		for i, e := range errs {
			if i == 20 {
				t.Errorf("... and %d more", len(errs)-20)
				break
			}
			t.Error(e)
		}
	}
}
