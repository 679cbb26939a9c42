package maturity

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the generated tables of README.md from the rubrics")

// The signal, gap and measure tables of README.md are generated from the
// rubric data, so the documentation cannot drift from what is scored:
//
//	go test ./maturity -run TestREADMETables -update-readme
func TestREADMETables(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	r := MustBuiltin()
	doc := string(raw)
	tables := map[string]string{"gaps": gapTable(r), "measures": measureTable(r)}
	for _, f := range r.Frameworks {
		tables["signals:"+f.ID] = signalTable(r, f)
	}
	changed := doc
	for name, body := range tables {
		re := regexp.MustCompile(`(?s)<!-- table:` + regexp.QuoteMeta(name) + ` -->\n.*?<!-- end -->`)
		if !re.MatchString(changed) {
			t.Errorf("README.md has no <!-- table:%s --> ... <!-- end --> block", name)
			continue
		}
		changed = re.ReplaceAllLiteralString(changed, "<!-- table:"+name+" -->\n"+body+"<!-- end -->")
	}
	if changed == doc {
		return
	}
	if *updateREADME {
		if err := os.WriteFile("README.md", []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("README.md's generated tables differ from the rubrics; run: go test ./maturity -run TestREADMETables -update-readme")
}

func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

func signalTable(r *Rubrics, f *Framework) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | signal | item (from the model) | measure | target | required | minimum evidence; gaps |\n|---|---|---|---|---|---|---|\n", capitalize(f.Unit))
	for _, s := range f.Signals {
		measure, target := "—", ""
		if s.Declared != "" {
			target = "declared: `" + s.Declared + "`"
			if s.Declared == "last_review" {
				target += " " + comparisonText(s.Comparison, s.Threshold, "days")
			}
		} else {
			m := r.Measures[s.Measure]
			measure = "`" + s.Measure + "`"
			target = comparisonText(s.Comparison, s.Threshold, m.Unit)
			if s.Absent == "na" {
				target += " (none: n/a)"
			}
		}
		req := "no"
		if s.Required {
			req = "yes"
		}
		ev := s.MinEvidence
		if len(s.Gaps) > 0 {
			gaps := make([]string, len(s.Gaps))
			for i, g := range s.Gaps {
				gaps[i] = "`" + g + "`"
			}
			ev = strings.TrimSpace(ev + " Gaps: " + strings.Join(gaps, ", ") + ".")
		}
		fmt.Fprintf(&b, "| %d | `%s` %s | %s | %s | %s | %s | %s |\n", s.Stage, s.ID, cell(s.Title), cell(s.Item), measure, target, req, cell(ev))
	}
	return b.String()
}

func gapTable(r *Rubrics) string {
	ids := make([]string, 0, len(r.Gaps))
	for id := range r.Gaps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString("| gap | present when | fix |\n|---|---|---|\n")
	for _, id := range ids {
		g := r.Gaps[id]
		m := r.Measures[g.Measure]
		fmt.Fprintf(&b, "| `%s` %s | `%s` %s | %s |\n", id, cell(g.Title), g.Measure, comparisonText(g.Comparison, g.Threshold, m.Unit), cell(g.Fix))
	}
	return b.String()
}

func measureTable(r *Rubrics) string {
	ids := make([]string, 0, len(r.Measures))
	for id := range r.Measures {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString("| measure | from | unit | what it is |\n|---|---|---|---|\n")
	for _, id := range ids {
		m := r.Measures[id]
		what := m.Title
		if m.Description != "" {
			what += ". " + m.Description
		}
		src := m.From
		if m.Daily != "" {
			src = "query, day facts"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", id, src, m.Unit, cell(what))
	}
	return b.String()
}
