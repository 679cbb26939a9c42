package maturity

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

func TestTruncate(t *testing.T) {
	if got := Truncate("short", 256); got != "short" {
		t.Fatalf("a short value changed: %q", got)
	}
	long := strings.Repeat("é", 200) // 400 bytes, 2 per rune
	got := Truncate(long, 256)
	if len(got) > 256 || !utf8.ValidString(got) || !strings.Contains(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Fatalf("Truncate(400 bytes of é, 256) = %q (%d bytes)", got, len(got))
	}
	// Two long values with one prefix stay distinct.
	if Truncate(long+"a", 256) == Truncate(long+"b", 256) {
		t.Fatal("distinct long values truncate to the same string")
	}
	if got := Truncate(long, 5); len(got) > 5 || !utf8.ValidString(got) {
		t.Fatalf("Truncate(_, 5) = %q", got)
	}
}

func TestClipperKeepsTypesAndBounds(t *testing.T) {
	var c clipper
	long := strings.Repeat("x", 1000)
	nested := c.value([][]string{{long}, {"a"}}).([][]string)
	if len(nested[0][0]) != MaxValueBytes || nested[1][0] != "a" {
		t.Fatalf("nested: %d bytes, %q", len(nested[0][0]), nested[1][0])
	}
	nums := make([]uint64, 100)
	if got := c.value(nums).([]uint64); len(got) != MaxListItems {
		t.Fatalf("a list of 100 numbers kept %d", len(got))
	}
	m := c.value(map[string]string{long: long}).(map[string]string)
	for k, v := range m {
		if len(k) > MaxValueBytes || len(v) > MaxValueBytes {
			t.Fatal("map entries not bounded")
		}
	}
	if c.cut.Values != 3 || c.cut.Lists != 1 {
		t.Fatalf("counted %+v, want 3 values and 1 list", c.cut)
	}
}

// TestHugeTelemetryValuesKeepTheReportSmall scores a workload whose model,
// tool, agent, data source, team and user are 1 MiB each, and a second
// workload whose name is 1 MiB: every format stays within a few KiB of the
// same report with short values and far below one such value, the report
// says what it cut, and the run records bounded rows.
func TestHugeTelemetryValuesKeepTheReportSmall(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	score := func(db, w, m string) (*Report, chstore.Store) {
		s := migrated(t, db)
		q := `INSERT INTO ` + db + `.genai_spans (timestamp, workload, service_name, operation, provider, request_model, response_model, status_code,
    user_id, tool_name, agent_name, data_source_id, team, input_tokens, output_tokens)
SELECT now64(9) - INTERVAL number MINUTE, if(number < 10, 'big-app', {w:String}), 'svc', if(number % 2 = 0, 'chat', 'execute_tool'),
    'openai', concat({m:String}, toString(number % 3)), {m:String}, 'Unset', {m:String}, {m:String}, {m:String}, {m:String}, {m:String}, 10, 5
FROM numbers(20)`
		if err := s.Exec(ctx, q, chstore.StringParam("w", w), chstore.StringParam("m", m)); err != nil {
			t.Fatal(err)
		}
		rep, err := Score(ctx, s, Options{Database: db, From: now.Add(-24 * time.Hour), To: now.Add(time.Minute), History: true, RunID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Workloads) != 2 || len(rep.Inventory.Models) != 3 {
			t.Fatalf("%s: %d workloads, %d models: the values did not reach the report", db, len(rep.Workloads), len(rep.Inventory.Models))
		}
		return rep, s
	}
	small, _ := score("small_values", "w", "m")
	if small.Truncated != nil {
		t.Fatalf("short values were cut: %+v", small.Truncated)
	}
	rep, s := score("huge_values", strings.Repeat("w", 1<<20), strings.Repeat("m", 1<<20))
	if rep.Truncated == nil || rep.Truncated.Values == 0 || rep.Truncated.MaxValueBytes != 256 {
		t.Fatalf("the report does not say what it cut: %+v", rep.Truncated)
	}
	for _, m := range rep.Inventory.Models {
		if len(m) > 256 || !strings.HasPrefix(m, "mmmm") {
			t.Fatalf("inventory model of %d bytes", len(m))
		}
	}
	for _, format := range Formats {
		var b, base bytes.Buffer
		if err := Render(&b, rep, format); err != nil {
			t.Fatal(err)
		}
		if err := Render(&base, small, format); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d with short values", format, b.Len(), base.Len())
		// Each cut value costs at most 256 bytes where a short one stood.
		if b.Len() > base.Len()+64<<10 || b.Len() > 1<<20 {
			t.Errorf("%s report is %d bytes, %d with short values", format, b.Len(), base.Len())
		}
		if !strings.Contains(b.String(), "too long and are shown cut") && format != "json" {
			t.Errorf("%s report does not note the truncation", format)
		}
		if format == "json" {
			var doc map[string]any
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc["truncated"] == nil {
				t.Errorf("json report lacks \"truncated\": %v", err)
			}
		}
	}
	if err := Record(ctx, s, "huge_values", rep); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Query(ctx, "SELECT max(length(workload)), max(length(evidence)) FROM huge_values.maturity_scores")
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := asFloat(rows.Data[0][0]); w > 256 {
		t.Errorf("maturity_scores holds a workload name of %v bytes", w)
	}
	if e, _ := asFloat(rows.Data[0][1]); e > 16<<10 {
		t.Errorf("maturity_scores holds evidence of %v bytes", e)
	}
}
