package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

func TestParseBenchMetric(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse
cpu: AMD EPYC
BenchmarkEncodeGenAISpansOld   	      10	  99000000 ns/op	    101010 rows/s
BenchmarkEncodeGenAISpans      	      72	  31846329 ns/op	    314008 bytes/row	    314010 rows/s	 1234 B/op	 5 allocs/op
PASS
`
	if v, ok := parseBenchMetric(out, encodeBench, "rows/s"); !ok || v != 314010 {
		t.Fatalf("rows/s = %v, %v; want 314010 (not the longer name's, not bytes/row)", v, ok)
	}
	if v, ok := parseBenchMetric(out, encodeBench, "ns/op"); !ok || v != 31846329 {
		t.Fatalf("ns/op = %v, %v", v, ok)
	}
	// With GOMAXPROCS above 1 the name carries a suffix.
	if v, ok := parseBenchMetric("BenchmarkEncodeGenAISpans-2  10  5 ns/op  7.5e+05 rows/s\n", encodeBench, "rows/s"); !ok || v != 750000 {
		t.Fatalf("suffixed: %v, %v", v, ok)
	}
	for _, bad := range []string{
		"BenchmarkEncodeGenAISpans  10  5 ns/op\n",                   // no such metric
		"BenchmarkEncodeGenAISpansX-2  10  5 ns/op  9 rows/s\n",      // another benchmark
		"--- FAIL: BenchmarkEncodeGenAISpans\n    bench_test.go:1\n", // failed
	} {
		if v, ok := parseBenchMetric(bad, encodeBench, "rows/s"); ok {
			t.Errorf("%q: got %v, want none", bad, v)
		}
	}
}

func TestInterleave(t *testing.T) {
	got := strings.Join(interleave([]string{"ref", "cur", "base"}, 3), " ")
	if want := "ref cur base base cur ref ref cur base"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Over two rounds every item's mean position is the same.
	pos := map[string]int{}
	for i, s := range interleave([]string{"a", "b", "c", "d"}, 2) {
		pos[s] += i
	}
	for s, p := range pos {
		if p != pos["a"] {
			t.Fatalf("%s at positions summing to %d, a at %d", s, p, pos["a"])
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 4}, 4}, {[]float64{4, 1, 2, 3}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestRewritePorts(t *testing.T) {
	cfg := `extensions:
  health_check:
    endpoint: 127.0.0.1:13133
  clickhouse_http:
    endpoint: 127.0.0.1:8123
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: localhost:4318
exporters:
  debug:
    sampling_thereafter: 1000000000
    transport: 4317
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: 8888
# again 127.0.0.1:4317
`
	next := 40000
	free := func() (int, error) { next++; return next / 2 * 2, nil } // every port twice
	out, ports, err := rewritePorts(cfg, free)
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{":13133", ":8123", ":4317", ":4318", "port: 8888"} {
		if strings.Contains(out, old) {
			t.Errorf("%s left in:\n%s", old, out)
		}
	}
	if !strings.Contains(out, "sampling_thereafter: 1000000000") || !strings.Contains(out, "transport: 4317") {
		t.Errorf("a value that is not a port was rewritten:\n%s", out)
	}
	if strings.Count(out, fmt.Sprintf("127.0.0.1:%d", ports.grpc)) != 2 {
		t.Errorf("the gRPC port %d is not the same at both places:\n%s", ports.grpc, out)
	}
	if !strings.Contains(out, fmt.Sprintf("port: %d", ports.metrics)) || ports.metrics == ports.grpc {
		t.Errorf("metrics port %d, grpc %d:\n%s", ports.metrics, ports.grpc, out)
	}
	seen := map[string]bool{}
	for _, m := range portRE.FindAllStringSubmatch(out, -1) {
		seen[m[2]] = true
	}
	if len(seen) != 5 {
		t.Errorf("want 5 distinct ports, got %v", seen)
	}
	if _, _, err := rewritePorts("receivers: {}\n", free); err == nil {
		t.Error("a config without the gRPC receiver was accepted")
	}
}

// The shipped configs are the ones the harness runs: each must have the
// ports it needs to find, and none left pointing where another run listens.
func TestRewritePortsShippedConfigs(t *testing.T) {
	for _, path := range []string{"../../config/embedded.yaml", "../../config/baseline.yaml"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := rewritePorts(string(raw), freePort)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, old := range []string{":4317", ":4318", ":8888", ":13133", ":8123", ":8890", ":4320"} {
			if strings.Contains(out, "127.0.0.1"+old) {
				t.Errorf("%s: 127.0.0.1%s not rewritten", path, old)
			}
		}
	}
}

func TestCollectorEnv(t *testing.T) {
	env := collectorEnv([]string{"PATH=/bin", "GOMEMLIMIT=100MiB", "AIOPS_REPORT_TOKEN=mine"}, "")
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "GOMEMLIMIT=") }) {
		t.Errorf("the caller's GOMEMLIMIT reached the collector: %v", env)
	}
	// exec uses the last of duplicate keys: the caller's token wins.
	if i, j := slices.Index(env, "AIOPS_REPORT_TOKEN=aiops-bench"), slices.Index(env, "AIOPS_REPORT_TOKEN=mine"); i < 0 || j < i {
		t.Errorf("default token missing or after the caller's: %v", env)
	}
	if env := collectorEnv([]string{"GOMEMLIMIT=100MiB"}, "320MiB"); env[len(env)-1] != "GOMEMLIMIT=320MiB" || len(env) != 3 {
		t.Errorf("-gomemlimit not applied alone: %v", env)
	}
}

func fakeRun(acked, stored int64, elapsed, drain time.Duration, cpu, rss float64) result {
	return result{runs: 1, stats: loadgen.Stats{SpansAcked: acked, Elapsed: elapsed}, stored: stored,
		drain: drain, cpuSeconds: cpu, peakRSSMiB: rss, mismatch: stored >= 0 && stored != acked}
}

func TestResultAdd(t *testing.T) {
	var r result
	r = r.add(fakeRun(100000, 100000, 5*time.Second, time.Second, 4, 500))
	r = r.add(fakeRun(200000, 199999, 5*time.Second, 3*time.Second, 8, 450))
	if r.runs != 2 || r.peakRSSMiB != 500 || !r.mismatch {
		t.Fatalf("runs %d, peak %v, mismatch %v", r.runs, r.peakRSSMiB, r.mismatch)
	}
	if got := r.storedRate(); got != 299999.0/14 {
		t.Errorf("stored/s %v: want stored over load plus drain", got)
	}
	if got := r.acceptedRate(); got != 30000 {
		t.Errorf("accepted/s %v", got)
	}
	if got := r.cpuPer10k(); math.Abs(got-12.0/299999*10000) > 1e-12 {
		t.Errorf("CPU per 10k stored %v", got)
	}
	base := fakeRun(1000000, -1, 10*time.Second, 0, 2, 100)
	if base.cpuPer10k() != 0.02 || base.storedRate() != 0 {
		t.Errorf("baseline: CPU per 10k acked %v, stored/s %v", base.cpuPer10k(), base.storedRate())
	}
}

func TestSummarize(t *testing.T) {
	in := summaryInput{
		// 0.5 CPU-s per 10k stored, 25,000 stored/s, 700 MiB, 260k rows/s.
		current:  figuresOf(fakeRun(500000, 500000, 20*time.Second, 0, 25, 700), 260000),
		prev:     figuresOf(fakeRun(200000, 200000, 20*time.Second, 0, 14, 900), 200000),
		baseline: fakeRun(10000000, -1, 20*time.Second, 0, 10, 300),    // 0.01 CPU-s per 10k
		ref:      fakeRun(240000, 240000, 20*time.Second, 0, 20, 1000), // 12,000 stored/s
		refLabel: "4be4038 (4be4038)",
	}
	rows := summarize(in)
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	want := []struct{ current, verdict, previous string }{
		{"50.00× (0.500 / 0.010 CPU-s per 10k)", "MISSED", "70.00×"},
		{"2.08× (25,000 / 12,000 spans/s)", "met", "0.83× (10,000 / 12,000 spans/s)"},
		{"700 MiB", "met", "900 MiB"},
		{"260,000 rows/s", "met", "200,000 rows/s"},
	}
	for i, w := range want {
		r := rows[i]
		if r.current != w.current || r.verdict != w.verdict || !strings.HasPrefix(r.previous, w.previous) {
			t.Errorf("row %d %q: got %q %q %q, want %q %q %q", i, r.measure, r.current, r.verdict, r.previous, w.current, w.verdict, w.previous)
		}
	}
	if !strings.Contains(rows[1].measure, "4be4038") {
		t.Errorf("the throughput row does not name the reference: %q", rows[1].measure)
	}

	// 0.1 CPU-s per 10k in the baseline: 5×, within the target.
	in.baseline = fakeRun(1000000, -1, 20*time.Second, 0, 10, 300)
	if r := summarize(in)[0]; r.current != "5.00× (0.500 / 0.100 CPU-s per 10k)" || r.verdict != "met" {
		t.Errorf("CPU row at 5×: %+v", r)
	}

	// Nothing to compare with: no verdicts, the current figures still shown.
	in.prev, in.ref, in.refLabel, in.memLimit = figures{}, result{}, "", "320MiB"
	in.current.encRows = 0
	rows = summarize(in)
	for i, r := range rows {
		if r.previous != "n/a" {
			t.Errorf("row %d: previous %q without a previous run", i, r.previous)
		}
		if i > 0 && r.verdict != "n/a" {
			t.Errorf("row %d %q: verdict %q, want n/a", i, r.measure, r.verdict)
		}
	}
	if rows[1].current != "25,000 spans/s" || rows[2].current != "700 MiB" || !strings.Contains(rows[2].measure, "GOMEMLIMIT=320MiB") {
		t.Errorf("rows without comparisons: %+v", rows)
	}
}

func TestPrintSummary(t *testing.T) {
	var b strings.Builder
	rows := []row{{"CPU per stored span, full / baseline", "≤ 6×", "5.00×", "met", "7.00×"}}
	printSummary(&b, rows, builds{current: &build{label: "work tree abc"}, prev: &build{label: "HEAD~1 (def)"}})
	out := b.String()
	for _, want := range []string{"current: work tree abc", "previous: HEAD~1 (def)"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing in:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Join(strings.Fields(lines[len(lines)-1]), " "); got != "CPU per stored span, full / baseline ≤ 6× 5.00× met 7.00×" {
		t.Errorf("row printed as %q", got)
	}
}

func TestRevLabel(t *testing.T) {
	const commit = "4be40385f7e341d01cd60dd6deb6491bd10d6ca8"
	for rev, want := range map[string]string{"4be4038": "4be4038", "4be40385f7e3": "4be40385f7e3", "4be": "4be4038", "HEAD~1": "HEAD~1 (4be4038)"} {
		if got := revLabel(rev, commit); got != want {
			t.Errorf("revLabel(%q) = %q, want %q", rev, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.6: "1,000", 32178.4: "32,178", 1234567: "1,234,567", 250000: "250,000"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
}
