package maturity

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// hostile names: markup, a Markdown table break, emphasis and a link.
const (
	evilWorkload = `<script>alert("w")</script>|x`
	evilModel    = `<script>alert(1)</script>`
	evilUser     = `<img src=x onerror=alert(2)>`
	evilTool     = `</td><script>t()</script>*[x](javascript:y)*`
)

// TestRenderersEscapeUserStrings scores telemetry whose workload, model,
// user, tool, agent and team names carry markup and checks that neither
// the Markdown nor the HTML report lets any of it through as markup.
func TestRenderersEscapeUserStrings(t *testing.T) {
	s := migrated(t, "evil")
	ctx := context.Background()
	q := `INSERT INTO evil.genai_spans (timestamp, workload, operation, provider, request_model, response_model, status_code, user_id, tool_name, agent_name, team, input_tokens, output_tokens)
SELECT now64(9) - INTERVAL number MINUTE, {w:String}, if(number % 2 = 0, 'chat', 'execute_tool'), 'openai', {m:String}, {m:String}, 'Unset', {u:String}, if(number % 2 = 0, '', {t:String}), {t:String}, {u:String}, 10, 5
FROM numbers(20)`
	if err := s.Exec(ctx, q, chstore.StringParam("w", evilWorkload), chstore.StringParam("m", evilModel), chstore.StringParam("u", evilUser), chstore.StringParam("t", evilTool)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	reg := &Registry{Workloads: []RegisteredWorkload{{Name: evilWorkload, Owner: `<b onclick=x()>owner</b>`}}}
	rep, err := Score(ctx, s, Options{Database: "evil", From: now.Add(-24 * time.Hour), To: now.Add(time.Minute), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workloads) != 1 || len(rep.Inventory.Models) == 0 || len(rep.Inventory.Tools) == 0 {
		t.Fatalf("the hostile names did not reach the report: %+v", rep.Inventory)
	}
	for _, format := range []string{"markdown", "html"} {
		var b bytes.Buffer
		if err := Render(&b, rep, format); err != nil {
			t.Fatal(err)
		}
		out := strings.ToLower(b.String())
		bads := []string{"<script", "<img", "<b onclick", "</td><script"}
		if format == "markdown" {
			bads = append(bads, "[x](", "*[") // a live link or emphasis
		}
		for _, bad := range bads {
			if strings.Contains(out, bad) {
				t.Errorf("%s output lets %q through", format, bad)
			}
		}
		if !strings.Contains(out, "&lt;script&gt;") && !strings.Contains(out, "&lt;script") {
			t.Errorf("%s output does not show the escaped names", format)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	// Every inventory row keeps its 11 cells: no name broke the table.
	rows := 0
	inInventory := false
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(line, "## Inventory") {
			inInventory = true
		}
		if !inInventory || !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Workload") {
			continue
		}
		rows++
		if cells := strings.Count(line, "|") - strings.Count(line, `\|`); cells != 12 {
			t.Errorf("inventory row has %d cell separators, want 12: %s", cells, line)
		}
	}
	if rows != 1 {
		t.Fatalf("%d inventory rows", rows)
	}
}
