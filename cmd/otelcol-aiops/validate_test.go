package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestValidateSaysOKAndListsPipelines: validate prints "config OK" and each
// pipeline of the config as the collector would run it, --config files
// merged; on a bad config it prints no OK.
func TestValidateSaysOKAndListsPipelines(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	err := os.WriteFile(cfg, []byte(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
processors:
  aitrace: {}
  costattr: {}
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [aitrace, costattr]
      exporters: [debug]
    logs/raw:
      receivers: [otlp]
      exporters: [debug]
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	more := filepath.Join(t.TempDir(), "more.yaml")
	if err := os.WriteFile(more, []byte("service: {pipelines: {metrics: {receivers: [otlp], exporters: [debug]}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOMEMLIMIT", "")                           // empty is unset, for the Go runtime as for the binary
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // validate applies the limit it prints
	out, err := execRoot(t, "validate", "--config=file:"+cfg, "--config=file:"+more)
	want := "config OK: 3 pipelines\n" +
		"  logs/raw: otlp → debug\n" +
		"  metrics: otlp → debug\n" +
		"  traces: otlp → aitrace, costattr → debug\n" +
		"Go memory limit: none (no memory_limiter in a pipeline, and GOMEMLIMIT is unset)\n"
	if err != nil || out != want {
		t.Fatalf("validate: %v\ngot:\n%s\nwant:\n%s", err, out, want)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("service: {pipelines: {traces: {exporters: [nope]}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = execRoot(t, "validate", "--config=file:"+cfg, "--config=file:"+bad)
	if err == nil || strings.Contains(out, "config OK") {
		t.Errorf("a pipeline with an undefined exporter: %v\n%s", err, out)
	}

	t.Setenv("AIOPS_DATA_DIR", t.TempDir())
	t.Setenv("AIOPS_REPORT_TOKEN", "test-report-token")
	t.Setenv("AIOPS_READER_PASSWORD", "test-reader-password")
	out, err = execRoot(t, "validate", "--config=file:../../config/embedded.yaml")
	if err != nil || !strings.HasPrefix(out, "config OK: ") || !strings.Contains(out, "\n  traces: otlp → ") {
		t.Errorf("the shipped embedded config: %v\n%s", err, out)
	}
	// The limit the collector would run with: memory_limiter's soft limit.
	if !strings.HasSuffix(out, "\nGo memory limit: 256 MiB from memory_limiter (limit 320 MiB − spike 64 MiB)\n") {
		t.Errorf("the shipped embedded config's derived memory limit:\n%s", out)
	}
	t.Setenv("GOMEMLIMIT", "300MiB")
	out, err = execRoot(t, "validate", "--config=file:../../config/embedded.yaml")
	if err != nil || !strings.HasSuffix(out, "\nGo memory limit: GOMEMLIMIT=300MiB (set in the environment; memory_limiter's soft limit is not applied)\n") {
		t.Errorf("with GOMEMLIMIT set: %v\n%s", err, out)
	}
}
