// Command aiops-bench runs the collector binary under flat-out OTLP load,
// first with the full pipeline (config/embedded.yaml) and then with a
// pass-through baseline (OTLP → batch → silent debug exporter), and prints
// accepted spans/s, collector CPU-seconds per 10k spans, peak RSS, a check
// that every accepted span was stored, and the full/baseline ratios.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

// collectorEnv is added to the collector's environment in every run.
var collectorEnv []string

type result struct {
	name       string
	stats      loadgen.Stats
	cpuSeconds float64
	peakRSSMiB float64
	stored     int64         // -1 when the config stores nothing
	drain      time.Duration // from the end of the load until the export queue was empty
}

func main() {
	bin := flag.String("bin", "bin/otelcol-aiops", "collector binary")
	full := flag.String("full", "config/embedded.yaml", "full pipeline config")
	baseline := flag.String("baseline", "config/baseline.yaml", "pass-through baseline config")
	duration := flag.Duration("duration", 60*time.Second, "load duration per run")
	workers := flag.Int("workers", 4, "load generator workers")
	// 150 traces are about 512 spans: the OpenTelemetry SDKs' default
	// maximum export batch, which a gateway under load receives.
	batch := flag.Int("batch", 150, "traces per export request")
	// The Go heap's soft limit, set beside memory_limiter as the README's
	// deployment notes recommend; without it the heap grows to twice its
	// live size between collections. Empty: Go's default.
	memLimit := flag.String("gomemlimit", "320MiB", "GOMEMLIMIT for the collector")
	flag.Parse()
	// The load generator runs in this process and its requests die young:
	// collecting less often leaves the shared cores to the collector.
	debug.SetGCPercent(400)
	collectorEnv = []string{"GOMEMLIMIT=" + *memLimit}
	if *memLimit == "" {
		collectorEnv = nil
	}

	var results []result
	for _, run := range []struct {
		name, config string
		stores       bool
	}{{"full pipeline", *full, true}, {"baseline", *baseline, false}} {
		r, err := bench(*bin, run.name, run.config, run.stores, *duration, *workers, *batch)
		if err != nil {
			fmt.Fprintf(os.Stderr, "aiops-bench: %s: %v\n", run.name, err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	report(os.Stdout, results)
	if results[0].stored != results[0].stats.SpansAcked {
		os.Exit(1)
	}
}

func bench(bin, name, config string, stores bool, d time.Duration, workers, batch int) (result, error) {
	r := result{name: name, stored: -1}
	dir, err := os.MkdirTemp("", "aiops-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	ports := map[string]int{}
	for _, k := range []string{"grpc", "http", "health", "metrics", "feedback", "report"} {
		if ports[k], err = freePort(); err != nil {
			return r, err
		}
	}
	raw, err := os.ReadFile(config)
	if err != nil {
		return r, err
	}
	cfg := strings.NewReplacer(
		"127.0.0.1:4317", fmt.Sprintf("127.0.0.1:%d", ports["grpc"]),
		"127.0.0.1:4318", fmt.Sprintf("127.0.0.1:%d", ports["http"]),
		"127.0.0.1:13133", fmt.Sprintf("127.0.0.1:%d", ports["health"]),
		"127.0.0.1:4320", fmt.Sprintf("127.0.0.1:%d", ports["feedback"]),
		"127.0.0.1:8890", fmt.Sprintf("127.0.0.1:%d", ports["report"]),
		"port: 8888", fmt.Sprintf("port: %d", ports["metrics"]),
	).Replace(string(raw))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return r, err
	}
	log, err := os.Create(filepath.Join(dir, "collector.log"))
	if err != nil {
		return r, err
	}
	defer log.Close()
	cmd := exec.Command(bin, "--config", cfgPath)
	// The full config requires the maturity report's token; the caller's wins.
	cmd.Env = append(append(append([]string{"AIOPS_REPORT_TOKEN=aiops-bench", "AIOPS_READER_PASSWORD=aiops-bench"}, os.Environ()...), collectorEnv...), "AIOPS_DATA_DIR="+dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer cmd.Process.Kill()
	if err := waitListen(ports["grpc"], 60*time.Second); err != nil {
		return r, err
	}
	cpu0, err := cpuSeconds(cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "== %s: %s flat out for %s\n", name, config, d)
	r.stats, err = loadgen.Run(context.Background(), loadgen.Config{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", ports["grpc"]), Duration: d, Workers: workers,
		// "Some spans carry 2-8 KB of content": a quarter of the traces.
		Seed: 1, BatchTraces: batch, ContentBytes: [2]int{2048, 8192}, ContentShare: 0.25,
	}, os.Stderr)
	loadEnd := time.Now()
	if err != nil {
		return r, err
	}
	if stores {
		drained, err := drain(ports["metrics"], 5*time.Minute)
		if err != nil {
			return r, err
		}
		r.drain = max(drained.Sub(loadEnd), 0)
	} else {
		time.Sleep(2 * time.Second) // the batch processor's last flush
	}
	cpu1, err := cpuSeconds(cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	r.cpuSeconds = cpu1 - cpu0
	if r.peakRSSMiB, err = peakRSS(cmd.Process.Pid); err != nil {
		return r, err
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if stores {
		s, err := chstore.OpenEmbedded(filepath.Join(dir, "clickhouse"), "")
		if err != nil {
			return r, err
		}
		rows, err := s.Query(context.Background(), "SELECT (SELECT count() FROM aiops.genai_spans) + (SELECT count() FROM aiops.spans)")
		s.Close()
		if err != nil {
			return r, err
		}
		switch v := rows.Data[0][0].(type) {
		case uint64:
			r.stored = int64(v)
		case *uint64:
			r.stored = int64(*v)
		}
	}
	return r, nil
}

func report(w io.Writer, rs []result) {
	fmt.Fprintf(w, "\ncollector environment: %v\n", collectorEnv)
	fmt.Fprintf(w, "%-14s %12s %12s %12s %16s %14s %s\n", "run", "spans acked", "accepted/s", "stored/s", "CPU s / 10k", "peak RSS MiB", "stored")
	for _, r := range rs {
		stored := "n/a"
		if r.stored >= 0 {
			stored = fmt.Sprintf("%d (%s)", r.stored, map[bool]string{true: "= acked", false: "MISMATCH"}[r.stored == r.stats.SpansAcked])
		}
		storedRate := "n/a"
		if r.stored >= 0 {
			storedRate = fmt.Sprintf("%.0f", float64(r.stored)/(r.stats.Elapsed+r.drain).Seconds())
		}
		fmt.Fprintf(w, "%-14s %12d %12.0f %12s %16.3f %14.0f %s\n", r.name, r.stats.SpansAcked, rate(r), storedRate, per10k(r), r.peakRSSMiB, stored)
	}
	if len(rs) == 2 && per10k(rs[1]) > 0 && rate(rs[1]) > 0 {
		fmt.Fprintf(w, "\nfull/baseline: CPU per span %.2fx, throughput %.2fx\n", per10k(rs[0])/per10k(rs[1]), rate(rs[0])/rate(rs[1]))
	}
}

func rate(r result) float64 { return float64(r.stats.SpansAcked) / r.stats.Elapsed.Seconds() }

func per10k(r result) float64 {
	if r.stats.SpansAcked == 0 {
		return 0
	}
	return r.cpuSeconds / float64(r.stats.SpansAcked) * 10000
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListen(port int, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("collector did not listen on %d", port)
}

// cpuSeconds is the process's user+system CPU time from /proc/PID/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// peakRSS is VmHWM, the process's peak resident set.
func peakRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// drain waits until the exporter's queue stays empty and returns when it
// was first seen empty.
func drain(port int, timeout time.Duration) (time.Time, error) {
	var since time.Time
	empty := 0
	for deadline := time.Now().Add(timeout); empty < 6; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			return since, errors.New("queue did not drain")
		}
		if n, err := queueSize(port); err == nil && n == 0 {
			if empty == 0 {
				since = time.Now()
			}
			empty++
		} else {
			empty = 0
		}
	}
	return since, nil
}

func queueSize(port int) (float64, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "otelcol_exporter_queue_size") && strings.Contains(line, `exporter="aiops_clickhouse"`) && strings.Contains(line, `data_type="traces"`) {
			return strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		}
	}
	return 0, errors.New("no queue size yet")
}
