package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

func TestPricingImport(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "internal", "pricing", "litellm", "testdata", "litellm_subset.json")
	out, report := filepath.Join(dir, "prices.yaml"), filepath.Join(dir, "report.txt")
	stdout, err := runCmd(t, "pricing", "import", "--from", src, "--out", out, "--report", report)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, want := range []string{"wrote " + out, "rejected as inconsistent", "rejected gpt-5-nano: priority tier: input 2.5 is 50.0x", "rejected claude-3-haiku-20240307: 1-hour cache write 6 is 24.0x input 0.25", "full report in " + report} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	y, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := pricing.Load(y)
	if err != nil {
		t.Fatalf("written catalog does not load: %v", err)
	}
	if cat.Version() != "litellm-2026-07-24" {
		t.Errorf("version %q", cat.Version())
	}
	if _, ok := cat.Lookup("openai", "gpt-5-nano", cat.Prices()[0].EffectiveFrom); ok {
		t.Error("rejected gpt-5-nano is in the written catalog")
	}
	r, _ := os.ReadFile(report)
	if !strings.Contains(string(r), "REJECTED (inconsistent, not imported): 8") {
		t.Errorf("report:\n%s", r)
	}

	// --strict fails on rejected entries but still writes the catalog.
	os.Remove(out)
	if _, err := runCmd(t, "pricing", "import", "--from", src, "--out", out, "--strict"); err == nil || !strings.Contains(err.Error(), "8 inconsistent entries") {
		t.Errorf("--strict: %v", err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("--strict did not write the catalog: %v", err)
	}
	// An explicit date and version.
	if _, err := runCmd(t, "pricing", "import", "--from", src, "--out", out, "--effective-from", "2026-08-01", "--version", "acme-1"); err != nil {
		t.Fatal(err)
	}
	y, _ = os.ReadFile(out)
	if !strings.Contains(string(y), "version: \"acme-1\"") || !strings.Contains(string(y), "effective_from: 2026-08-01") {
		t.Errorf("flags not applied:\n%.400s", y)
	}
	for _, args := range [][]string{{"import", "--out", out}, {"import", "--from", filepath.Join(dir, "nope.json"), "--out", out}, {"import", "--from", src, "--out", out, "--effective-from", "08/01/2026"}} {
		if _, err := runCmd(t, "pricing", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestPricingLookup(t *testing.T) {
	// gpt-4o: 600*2.5/1M + 400*1.25/1M + 200*10/1M = 0.0015 + 0.0005 + 0.002 = 0.004
	out, err := runCmd(t, "pricing", "lookup", "openai", "gpt-4o-2024-08-06", "--input", "1000", "--cache-read", "400", "--output", "200")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"price    openai/gpt-4o@2026-07-24", "input 2.5  cache_read 1.25", "cost     0.004 USD = input 0.0015 + cached 0.0005"} {
		if !strings.Contains(out, want) {
			t.Errorf("lookup lacks %q:\n%s", want, out)
		}
	}
	// A negotiated price file over the built-in catalog, batch tier:
	// (1000*2/1M + 1000*8/1M) * 0.5 = 0.005
	dir := t.TempDir()
	f := filepath.Join(dir, "neg.yaml")
	os.WriteFile(f, []byte("version: neg\nprices:\n  - {provider: openai, model: gpt-4o, effective_from: 2026-09-01, input: 2, output: 8, service_tiers: {batch: {multiplier: 0.5}}}\n"), 0o644)
	out, err = runCmd(t, "pricing", "lookup", "openai", "gpt-4o", "--price-file", f, "--input", "1000", "--output", "1000", "--tier", "batch", "--at", "2026-10-01")
	if err != nil || !strings.Contains(out, "openai/gpt-4o@2026-09-01") || !strings.Contains(out, "cost     0.005 USD") {
		t.Errorf("negotiated lookup: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "pricing", "lookup", "openai", "gpt-99"); err == nil || !strings.Contains(err.Error(), `no price for model "gpt-99"`) {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := runCmd(t, "pricing", "lookup", "openai", "gpt-4o", "--no-builtin"); err == nil {
		t.Error("--no-builtin without files accepted")
	}
}
