package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// demoBinaries returns a directory with the binaries scripts/demo.sh
// runs: $AIOPS_BIN's (make test builds them all into bin/), or fresh builds.
func demoBinaries(t *testing.T) string {
	t.Helper()
	names := []string{"otelcol-aiops", "aiops-loadgen", "aiops-simulator", "aiops-mockprovider"}
	if bin := os.Getenv("AIOPS_BIN"); bin != "" {
		dir := filepath.Dir(bin)
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				t.Fatalf("AIOPS_BIN is set, but %s is not next to it (make build builds it): %v", n, err)
			}
		}
		return dir
	}
	dir := t.TempDir()
	for _, n := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, n), "../"+n)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", n, err, out)
		}
	}
	return dir
}

// TestDemoReusesItsDataDir: `make demo` run twice on one data directory
// says the second time that it reuses it, and stores the simulated
// applications' spans once; the load generator's new traces are added.
func TestDemoReusesItsDataDir(t *testing.T) {
	bins := demoBinaries(t)
	data := filepath.Join(t.TempDir(), "data")
	demo := func() string {
		t.Helper()
		cmd := exec.Command("./scripts/demo.sh")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "AIOPS_DATA_DIR="+data, "DEMO_BIN_DIR="+bins, "DEMO_TRACES=50", "AIOPS_REPORT_TOKEN=demo-test-token")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		return string(out)
	}
	// Spans per origin, read with the built binary: the simulated apps are
	// the simulator's reference applications.
	spans := func() (sim, other int) {
		t.Helper()
		out, err := exec.Command(filepath.Join(bins, "otelcol-aiops"), "query", "--data-dir", data, "--format", "TSV",
			"SELECT countIf(service_name IN ('prototype-chatbot', 'production-app', 'rag-app', 'agent-platform')), countIf(service_name NOT IN ('prototype-chatbot', 'production-app', 'rag-app', 'agent-platform')) FROM aiops.genai_spans").CombinedOutput()
		f := strings.Fields(string(out))
		if err != nil || len(f) != 2 {
			t.Fatalf("counting spans: %v\n%s", err, out)
		}
		sim, _ = strconv.Atoi(f[0])
		other, _ = strconv.Atoi(f[1])
		return sim, other
	}

	first := demo()
	if strings.Contains(first, "reusing") || !strings.Contains(first, "== simulating 14 days") {
		t.Fatalf("first run on a new data directory:\n%s", first)
	}
	sim1, other1 := spans()
	if sim1 == 0 || other1 == 0 {
		t.Fatalf("after the first run: %d simulated spans, %d load generator spans", sim1, other1)
	}

	second := demo()
	for _, want := range []string{
		"== reusing the data directory " + data + " of an earlier run (" + strconv.Itoa(sim1) + " spans of the simulated applications)",
		"rm -rf " + data,
		"== not simulating the reference applications again",
	} {
		if !strings.Contains(second, want) {
			t.Errorf("second run lacks %q:\n%s", want, second)
		}
	}
	if strings.Contains(second, "== simulating 14 days") {
		t.Errorf("second run simulated again:\n%s", second)
	}
	// The reconciliation summary from the provider mock: the second run
	// polls the same week again, which replaces the invoice, never adds.
	invoiced := func(out string) string {
		i := strings.Index(out, "\nInvoiced $")
		if i < 0 {
			t.Fatalf("no reconciliation summary in the demo's output:\n%s", out)
		}
		return strings.Fields(out[i+1:])[1]
	}
	if a, b := invoiced(first), invoiced(second); a != b || a == "$0.00;" {
		t.Errorf("invoiced %s after the first run, %s after the second", a, b)
	}
	sim2, other2 := spans()
	if sim2 != sim1 {
		t.Errorf("simulated spans %d after the second run, %d after the first", sim2, sim1)
	}
	if other2 <= other1 {
		t.Errorf("load generator spans %d after the second run, %d after the first: the second run sent nothing", other2, other1)
	}
}
