package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/maturity"
	"github.com/otelcol-aiops/otelcol-aiops/maturity/simulator"
)

func TestScoreSubcommand(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ch")
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p, err := simulator.NewPipeline(ctx, simulator.PipelineOptions{DataDir: dir, Database: "aiops"})
	if err != nil {
		t.Fatal(err)
	}
	apps := simulator.ReferenceApps()
	if _, err := simulator.Run(ctx, simulator.Config{End: end, Days: 14, Seed: 1, Apps: apps}, p); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	regFile := filepath.Join(t.TempDir(), "registry.yaml")
	raw, err := simulator.RegistryYAML(apps, end)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(regFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AIOPS_DATA_DIR", "")
	base := []string{"--data-dir", dir, "--to", "2026-11-01", "--window", "14d", "--registry", regFile}

	out, err := runCmd(t, "score", append(base, "--format", "json", "--record")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep maturity.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%.500s", err, out)
	}
	if rep.Schema != maturity.ReportSchema || len(rep.Workloads) != 4 {
		t.Fatalf("report: schema %q, %d workloads", rep.Schema, len(rep.Workloads))
	}
	for _, a := range apps {
		for _, fw := range []string{"llmops", "aiops"} {
			if got := rep.Workload(a.Name).Score(fw).Stage; got != a.Stage {
				t.Errorf("%s %s: stage %d, want %d", a.Name, fw, got, a.Stage)
			}
		}
	}

	// The second run is compared with the recorded first one.
	out, err = runCmd(t, "score", append(base, "--format", "markdown")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"# AI workload maturity report", "compared with the run of", "## rag-app",
		"**What to invest in next**", "## Inventory", "⚠ Unregistered workloads: prototype-chatbot"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}

	out, err = runCmd(t, "score", append(base, "--workload", "rag-app")...)
	if err != nil || !strings.Contains(out, "rag-app") || strings.Contains(out, "agent-platform  ") ||
		!strings.Contains(out, "3 Disciplined production") {
		t.Fatalf("table for one workload: %v\n%s", err, out)
	}

	if out, err = runCmd(t, "score", append(base, "--min-stage", "llmops=3", "--format", "table")...); err == nil ||
		!strings.Contains(err.Error(), "prototype-chatbot is at llmops 1, below 3") {
		t.Fatalf("gate: %v\n%s", err, out)
	}
	if _, err = runCmd(t, "score", "--data-dir", dir, "--format", "xml"); err == nil {
		t.Fatal("bad format accepted")
	}
	if _, err = runCmd(t, "score", "--data-dir", dir, "--database", "x; DROP"); err == nil {
		t.Fatal("bad database accepted")
	}
}
