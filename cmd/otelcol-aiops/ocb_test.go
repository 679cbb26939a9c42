package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ocb finds the pinned builder: $OCB (set by `make test`), then PATH, then a
// fresh `go install`. It skips only when the builder cannot be installed.
func ocb(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OCB"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("builder"); err == nil {
		return p
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "install", "go.opentelemetry.io/collector/cmd/builder@v0.161.0")
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("ocb v0.161.0 cannot be installed here, so regeneration cannot be checked: %v\n%s", err, out)
	}
	return filepath.Join(bin, "builder")
}

func TestOCBRegenerationHasNoDiff(t *testing.T) {
	builder := ocb(t)
	manifest, err := os.ReadFile("../../builder-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	const committed = "output_path: ./cmd/otelcol-aiops"
	if !bytes.Contains(manifest, []byte(committed)) {
		t.Fatalf("builder-config.yaml must generate into ./cmd/otelcol-aiops")
	}
	cfg := filepath.Join(t.TempDir(), "builder-config.yaml")
	if err := os.WriteFile(cfg, bytes.Replace(manifest, []byte(committed), []byte("output_path: "+out), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(builder, "--config", cfg, "--skip-compilation", "--skip-get-modules")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ocb: %v\n%s", err, b)
	}
	for _, f := range []string{"main.go", "components.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("cmd/otelcol-aiops/%s differs from a fresh ocb run; run `make generate` and commit", f)
		}
	}
	// run.go stands in for ocb's main_others.go; that only works while ocb's
	// version is the trivial wrapper.
	others, err := os.ReadFile(filepath.Join(out, "main_others.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(others), "func run(params otelcol.CollectorSettings) error {\n\treturn runInteractive(params)\n}") {
		t.Errorf("ocb's main_others.go changed shape; review run.go against it:\n%s", others)
	}
	for _, f := range []string{"main_others.go", "main_windows.go"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s must not be committed: run.go defines run()", f)
		}
	}
}
