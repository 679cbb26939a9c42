package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestEveryEnvironmentVariableIsDocumented: every variable that the shipped
// collector configs, the compose deployment, Grafana's provisioning, the
// Makefile and the scripts read appears in README.md's "Environment
// variables" section.
func TestEveryEnvironmentVariableIsDocumented(t *testing.T) {
	sources := []struct {
		globs []string
		re    *regexp.Regexp
	}{
		// ${env:X}, ${env:X:-default}, ${X}, ${X:-default} in YAML.
		{[]string{"config/*.yaml", "deploy/compose/config/*.yaml", "deploy/compose/docker-compose.yaml", "dashboards/provisioning/*/*.yaml"},
			regexp.MustCompile(`\$\{(?:env:)?([A-Z_][A-Z0-9_]*)`)},
		// Make variables the environment can set (X ?= v) and shell
		// expansions with a default ($${X:-v}).
		{[]string{"Makefile"}, regexp.MustCompile(`(?m)^(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*\?=|\$\$\{([A-Z_][A-Z0-9_]*)[:?-]`)},
		// ${X:-v}, ${X-v}, ${X:?msg} in shell: inputs, not locals.
		{[]string{"scripts/*.sh"}, regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*):?[-?=]`)},
	}
	used := map[string]map[string]bool{}
	for _, s := range sources {
		for _, g := range s.globs {
			files, err := filepath.Glob(filepath.Join("../..", g))
			if err != nil || len(files) == 0 {
				t.Fatalf("%s matches nothing (%v)", g, err)
			}
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(string(raw), "\n") {
					if strings.HasPrefix(strings.TrimSpace(line), "#") {
						continue // comments show syntax, like ${VAR}
					}
					for _, m := range s.re.FindAllStringSubmatch(line, -1) {
						name := strings.Join(m[1:], "")
						rel, _ := filepath.Rel("../..", f)
						if used[name] == nil {
							used[name] = map[string]bool{}
						}
						used[name][rel] = true
					}
				}
			}
		}
	}
	for _, want := range []string{"AIOPS_DATA_DIR", "AIOPS_REGISTRY", "AIOPS_FEEDBACK_SERVICE", "AIOPS_REPORT_TOKEN", "FUZZTIME", "DEMO_TRACES"} {
		if used[want] == nil {
			t.Errorf("the scan did not find %s, which the configs, Makefile and scripts use", want)
		}
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Environment variables\n")
	if !ok {
		t.Fatal("README.md has no \"## Environment variables\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var missing []string
	for name, in := range used {
		if !strings.Contains(section, "`"+name+"`") {
			var files []string
			for f := range in {
				files = append(files, f)
			}
			sort.Strings(files)
			missing = append(missing, name+" (in "+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("README.md's Environment variables section does not document %s", m)
	}
}
