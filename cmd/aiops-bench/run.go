package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

type loadOptions struct {
	duration       time.Duration
	workers, batch int
	memLimit       string   // GOMEMLIMIT given to the collectors, "" for none
	env            []string // the collectors' environment, but AIOPS_DATA_DIR
	counter        string   // the binary whose query command counts the stored spans
}

// runSpec is one kind of load run: a collector binary with a config.
type runSpec struct {
	name   string
	label  string // what the binary was built from
	bin    string
	config string
	stores bool // wait for the export queue to drain, then count the stored spans
}

// result sums the runs of one runSpec.
type result struct {
	runs       int
	stats      loadgen.Stats // SpansAcked and Elapsed summed over the runs
	cpuSeconds float64
	peakRSSMiB float64       // the highest of the runs
	stored     int64         // -1 when the config stores nothing
	drain      time.Duration // from the end of the load until the export queue was empty
	mismatch   bool          // some run stored a different number of spans than it acknowledged
}

// add merges another run of the same spec: sums, so that ratios weigh each
// run by its length, and the highest peak.
func (r result) add(o result) result {
	if r.runs == 0 {
		return o
	}
	r.runs += o.runs
	r.stats.SpansAcked += o.stats.SpansAcked
	r.stats.Elapsed += o.stats.Elapsed
	r.cpuSeconds += o.cpuSeconds
	r.peakRSSMiB = max(r.peakRSSMiB, o.peakRSSMiB)
	if r.stored >= 0 && o.stored >= 0 {
		r.stored += o.stored
	}
	r.drain += o.drain
	r.mismatch = r.mismatch || o.mismatch
	return r
}

// acceptedRate is acknowledged spans per second of load.
func (r result) acceptedRate() float64 {
	if r.stats.Elapsed <= 0 {
		return 0
	}
	return float64(r.stats.SpansAcked) / r.stats.Elapsed.Seconds()
}

// storedRate counts the drain as well: a pipeline that acknowledges faster
// than it stores only moves the work into its queue.
func (r result) storedRate() float64 {
	if r.stored < 0 || r.stats.Elapsed+r.drain <= 0 {
		return 0
	}
	return float64(r.stored) / (r.stats.Elapsed + r.drain).Seconds()
}

// cpuPer10k is collector CPU-seconds per 10k stored spans, or per 10k
// acknowledged ones for a config that stores nothing.
func (r result) cpuPer10k() float64 {
	n := r.stored
	if n < 0 {
		n = r.stats.SpansAcked
	}
	if n <= 0 {
		return 0
	}
	return r.cpuSeconds / float64(n) * 10000
}

// collectorEnv is the collectors' environment: the tokens the shipped config
// requires (the caller's own win), the caller's environment without a
// GOMEMLIMIT of its own, and memLimit when set.
func collectorEnv(environ []string, memLimit string) []string {
	env := []string{"AIOPS_REPORT_TOKEN=aiops-bench", "AIOPS_READER_PASSWORD=aiops-bench"}
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	if memLimit != "" {
		env = append(env, "GOMEMLIMIT="+memLimit)
	}
	return env
}

// runLoads runs specs rounds times, interleaved, and sums each spec's runs.
func runLoads(ctx context.Context, specs loadPlan, rounds int, o loadOptions) (map[*runSpec]result, error) {
	out := map[*runSpec]result{}
	for _, s := range interleave(specs.list(), rounds) {
		r, err := runOnce(ctx, s, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		out[s] = out[s].add(r)
	}
	return out, nil
}

// runOnce starts a collector on a data directory of its own, loads it flat
// out, and measures it.
func runOnce(ctx context.Context, s *runSpec, o loadOptions) (result, error) {
	r := result{runs: 1, stored: -1}
	dir, err := os.MkdirTemp("", "aiops-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	cfgPath, ports, err := writeConfig(s.config, dir)
	if err != nil {
		return r, err
	}
	c, err := startCollector(s.bin, cfgPath, dir, o.env)
	if err != nil {
		return r, err
	}
	defer c.kill()
	if err := c.waitListen(ports.grpc, 60*time.Second); err != nil {
		return r, err
	}
	if err := measureLoad(ctx, s, c, ports, o, &r); err != nil {
		return r, err
	}
	if err := c.stop(2 * time.Minute); err != nil {
		return r, err
	}
	if s.stores {
		if r.stored, err = countStored(ctx, o.counter, dir); err != nil {
			return r, err
		}
		r.mismatch = r.stored != r.stats.SpansAcked
	}
	return r, nil
}

// measureLoad loads the collector and fills r's load stats, CPU time, drain
// and peak RSS; the CPU time covers the drain, the work of storing the load.
func measureLoad(ctx context.Context, s *runSpec, c *collector, ports configPorts, o loadOptions, r *result) error {
	pid := c.cmd.Process.Pid
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "== %s: %s flat out for %s\n", s.name, s.config, o.duration)
	r.stats, err = loadgen.Run(ctx, loadgen.Config{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", ports.grpc), Duration: o.duration, Workers: o.workers,
		// "Some spans carry 2-8 KB of content": a quarter of the traces.
		Seed: 1, BatchTraces: o.batch, ContentBytes: [2]int{2048, 8192}, ContentShare: 0.25,
	}, os.Stderr)
	loadEnd := time.Now()
	if err != nil {
		return err
	}
	if s.stores {
		drained, err := drain(ctx, ports.metrics, 5*time.Minute)
		if err != nil {
			return err
		}
		r.drain = max(drained.Sub(loadEnd), 0)
	} else {
		time.Sleep(2 * time.Second) // the batch processor's last flush
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	r.cpuSeconds = cpu1 - cpu0
	r.peakRSSMiB, err = peakRSS(pid)
	return err
}

// configPorts are the rewritten config's OTLP gRPC and metrics ports.
type configPorts struct{ grpc, metrics int }

// writeConfig copies the config into dir with every port replaced by a free
// one (see rewritePorts).
func writeConfig(config, dir string) (string, configPorts, error) {
	raw, err := os.ReadFile(config)
	if err != nil {
		return "", configPorts{}, err
	}
	cfg, ports, err := rewritePorts(string(raw), freePort)
	if err != nil {
		return "", configPorts{}, fmt.Errorf("%s: %w", config, err)
	}
	path := filepath.Join(dir, "config.yaml")
	return path, ports, os.WriteFile(path, []byte(cfg), 0o644)
}

// portRE matches the ports the collector configs listen on: endpoints on
// loopback and the telemetry reader's `port:`.
var portRE = regexp.MustCompile(`(127\.0\.0\.1:|localhost:|\bport: *)(\d+)\b`)

// rewritePorts gives every port in cfg a free one, the same one wherever it
// recurs. Rewriting all of them, not a known list, keeps a run from
// colliding with anything else on the machine even when an older or newer
// config listens on ports this harness has never heard of.
func rewritePorts(cfg string, free func() (int, error)) (string, configPorts, error) {
	var ports configPorts
	mapped := map[string]int{}
	used := map[int]bool{}
	var err error
	out := portRE.ReplaceAllStringFunc(cfg, func(m string) string {
		sub := portRE.FindStringSubmatch(m)
		p, ok := mapped[sub[2]]
		for !ok && err == nil {
			// freePort may hand out a port twice; every port must differ.
			if p, err = free(); err == nil && !used[p] {
				mapped[sub[2]], used[p], ok = p, true, true
			}
		}
		return sub[1] + strconv.Itoa(p)
	})
	if err != nil {
		return "", ports, err
	}
	ports.grpc, ports.metrics = mapped["4317"], mapped["8888"]
	if ports.grpc == 0 || ports.metrics == 0 {
		return "", ports, errors.New("no OTLP gRPC receiver on 127.0.0.1:4317 or no metrics reader on port 8888")
	}
	return out, ports, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// collector is a running collector process.
type collector struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed when the process has exited
}

func startCollector(bin, cfgPath, dir string, env []string) (*collector, error) {
	logPath := filepath.Join(dir, "collector.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Env = append(append([]string(nil), env...), "AIOPS_DATA_DIR="+dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	c := &collector{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		log.Close()
		close(c.exited)
	}()
	return c, nil
}

// waitListen waits for the collector's port, and fails early, with the end
// of its log, when it exits instead (an older commit refusing its config).
func (c *collector) waitListen(port int, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-c.exited:
			return fmt.Errorf("collector exited at start (%s); its log ends:\n%s", c.cmd.ProcessState, c.logTail(2000))
		default:
		}
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return nil
		}
	}
	return fmt.Errorf("collector did not listen on %d within %s; its log ends:\n%s", port, timeout, c.logTail(2000))
}

// stop asks the collector to shut down, as an operator would, so that its
// engine closes the data directory cleanly before the spans are counted.
func (c *collector) stop(timeout time.Duration) error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return nil
	case <-time.After(timeout):
		c.kill()
		return fmt.Errorf("collector did not stop within %s", timeout)
	}
}

func (c *collector) kill() {
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *collector) logTail(n int) string {
	b, _ := os.ReadFile(c.log)
	return string(b[max(len(b)-n, 0):])
}

// countStored counts the spans in the stopped collector's store with the
// binary under test's query command, whatever binary filled it: the engine
// opens one data directory per process, and this one has several to read;
// and older binaries' query commands read --data-dir differently.
func countStored(ctx context.Context, bin, dir string) (int64, error) {
	out, err := exec.CommandContext(ctx, bin, "query", "--data-dir", dir, "--format", "TSV",
		"SELECT (SELECT count() FROM aiops.genai_spans) + (SELECT count() FROM aiops.spans)").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("counting stored spans: %w: %s", err, out)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
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
func drain(ctx context.Context, port int, timeout time.Duration) (time.Time, error) {
	var since time.Time
	empty := 0
	for deadline := time.Now().Add(timeout); empty < 6; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			return since, errors.New("queue did not drain")
		}
		if err := ctx.Err(); err != nil {
			return since, err
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
	return parseQueueSize(resp.Body)
}

// parseQueueSize reads the exporter's traces queue size from Prometheus text.
func parseQueueSize(r io.Reader) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "otelcol_exporter_queue_size") && strings.Contains(line, `exporter="aiops_clickhouse"`) && strings.Contains(line, `data_type="traces"`) {
			return strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		}
	}
	return 0, errors.New("no queue size yet")
}
