package maturity

import (
	"os"
	"strings"
	"testing"
)

func TestBuiltinRubricsLoad(t *testing.T) {
	r, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Frameworks) != 2 || r.Frameworks[0].ID != "llmops" || r.Frameworks[1].ID != "aiops" {
		t.Fatalf("frameworks: %+v", r.Frameworks)
	}
	for _, f := range r.Frameworks {
		for _, l := range f.Levels {
			n := 0
			for _, s := range f.Signals {
				if s.Stage == l.Level && s.Required {
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s level %d has no required signal", f.ID, l.Level)
			}
		}
	}
}

// The README documents every built-in signal and measure.
func TestREADMEListsEverySignalAndMeasure(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	r := MustBuiltin()
	for _, f := range r.Frameworks {
		for _, s := range f.Signals {
			if !strings.Contains(doc, "`"+s.ID+"`") {
				t.Errorf("README.md does not list signal %s", s.ID)
			}
		}
	}
	for id := range r.Measures {
		if !strings.Contains(doc, "`"+id+"`") {
			t.Errorf("README.md does not list measure %s", id)
		}
	}
}
