// Package e2e runs the real otelcol-aiops binary: crash, restart and replay
// tests that only a separate process can show.
package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	goio "io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

// reportToken is AIOPS_REPORT_TOKEN for every collector the tests start.
const reportToken = "e2e-report-token"

// readerPassword is AIOPS_READER_PASSWORD, the clickhouse_http reader's.
const readerPassword = "e2e-reader-password"

func TestMain(m *testing.M) {
	if os.Getenv("AIOPS_E2E_CHILD") == "slow-store" {
		if err := slowStoreChild(os.Getenv("AIOPS_E2E_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	binary = os.Getenv("AIOPS_BIN")
	if binary == "" {
		dir, err := os.MkdirTemp("", "aiops-e2e-bin-")
		if err != nil {
			panic(err)
		}
		binary = filepath.Join(dir, "otelcol-aiops")
		cmd := exec.Command("go", "build", "-o", binary, "../../cmd/otelcol-aiops")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building otelcol-aiops: %v\n%s", err, out)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	}
	code := m.Run()
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// collector is one otelcol-aiops process on its own ports and data directory.
type collector struct {
	t       *testing.T
	dataDir string
	config  string
	grpc    int
	http    int
	metrics int
	others  []int // the other listeners' ports, in the config as 127.0.0.1:port
	cmd     *exec.Cmd
	log     *os.File
	env     []string // extra environment for the collector
	// extraConfigs are merged over config, in order (--config repeated).
	extraConfigs []string
}

// newCollector writes config/embedded.yaml with ports of its own.
func newCollector(t *testing.T, dataDir string) *collector {
	t.Helper()
	b, err := os.ReadFile("../../config/embedded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The shipped ports, which repickPorts moves to free ones.
	c := &collector{t: t, dataDir: dataDir, grpc: 4317, http: 4318, metrics: 8888, others: []int{13133, 4320, 8890, 8123}}
	// A failed test must not leave a collector running.
	t.Cleanup(func() {
		if c.cmd != nil && c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	c.config = filepath.Join(dataDir, "config.yaml")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c.repickPorts()
	return c
}

func (c *collector) start() {
	c.t.Helper()
	for attempt := 1; ; attempt++ {
		err := c.launch()
		if err == nil {
			return
		}
		// freePort's port was free when picked; a connection the kernel
		// gave an ephemeral port, or another process, can take it before
		// the collector binds it. Then the collector exits: pick new ones.
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			c.t.Fatal(err)
		}
		c.t.Logf("attempt %d: %v; starting again on other ports", attempt, err)
		c.repickPorts()
	}
}

var errPortTaken = errors.New("a port the collector was given is taken")

// launch starts the collector and waits until both OTLP receivers answer.
func (c *collector) launch() error {
	log, err := os.OpenFile(filepath.Join(c.dataDir, "collector.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	logged, _ := log.Seek(0, goio.SeekEnd) // this launch's output starts here
	c.log = log
	args := []string{"--config", c.config}
	for _, f := range c.extraConfigs {
		args = append(args, "--config", f)
	}
	c.cmd = exec.Command(binary, args...)
	// The shipped config requires the maturity report's token.
	c.cmd.Env = append(append(os.Environ(), "AIOPS_DATA_DIR="+c.dataDir, "AIOPS_REPORT_TOKEN="+reportToken, "AIOPS_READER_PASSWORD="+readerPassword), c.env...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	// Both receivers must answer: a port that another process happened to
	// hold once made the gRPC probe pass before this collector listened.
	listening := func(port int) bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if listening(c.grpc) && listening(c.http) {
			return nil
		}
		if exited(c.cmd.Process.Pid) {
			c.cmd.Wait()
			log.Close()
			out, _ := os.ReadFile(log.Name())
			out = out[min(int(logged), len(out)):]
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "address already in use") {
					return fmt.Errorf("%w: %s", errPortTaken, line)
				}
			}
			return fmt.Errorf("the collector exited while starting; its log ends:\n%s", lastLines(out, 30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector did not listen within 60s; see %s", log.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited tells whether process pid has ended (a zombie nobody waited for).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	return len(rest) > 1 && rest[1] == 'Z'
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// repickPorts gives every listener of the config a new free port, keeping
// whatever else the test changed in the config (the shipped config's
// metrics port is the only one written "port: N").
func (c *collector) repickPorts() {
	c.t.Helper()
	b, err := os.ReadFile(c.config)
	if err != nil {
		c.t.Fatal(err)
	}
	var pairs []string
	repick := func(p *int, form string) {
		old := *p
		*p = freePort(c.t)
		pairs = append(pairs, fmt.Sprintf(form, old), fmt.Sprintf(form, *p))
	}
	repick(&c.grpc, "127.0.0.1:%d")
	repick(&c.http, "127.0.0.1:%d")
	repick(&c.metrics, "port: %d")
	for i := range c.others {
		repick(&c.others[i], "127.0.0.1:%d")
	}
	if err := os.WriteFile(c.config, []byte(strings.NewReplacer(pairs...).Replace(string(b))), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *collector) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
	c.cmd.Wait()
	c.log.Close()
}

// metric sums a counter or gauge: exporterhelper's carry an exporter label,
// our own aiops_* metrics (one exporter here) do not.
func (c *collector) metric(name string) (float64, error) {
	label := `exporter="aiops_clickhouse"`
	if strings.HasPrefix(name, "aiops_") {
		label = ""
	}
	return c.metricWith(name, label)
}

// metricWith sums the series of name whose line contains label.
func (c *collector) metricWith(name, label string) (float64, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.metrics))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || !strings.Contains(line, label) {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, err
		}
		sum += f
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s for aiops_clickhouse yet", name)
	}
	return sum, sc.Err()
}

// drain waits until the exporter's queue has stayed empty for a while, so
// everything accepted has been written.
func (c *collector) drain(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	empty := 0
	for empty < 6 {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(c.dataDir, "collector.log"))
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			c.t.Fatalf("queue did not drain within %s; collector log ends:\n%s", timeout, log)
		}
		time.Sleep(500 * time.Millisecond)
		if n, err := c.metric("otelcol_exporter_queue_size"); err == nil && n == 0 {
			empty++
		} else {
			empty = 0
		}
	}
}

// waitForInsert returns as soon as the exporter reports a new insert.
func (c *collector) waitForInsert(timeout time.Duration) {
	before, _ := c.metric("aiops_exporter_rows_written")
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if n, err := c.metric("aiops_exporter_rows_written"); err == nil && n > before {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *collector) httpPort() int { return c.http }

// The harness itself: a port taken between freePort and the collector's
// bind makes the collector exit; start notices at once and starts it again
// on other ports.
func TestCollectorStartsAgainWhenAPortIsTaken(t *testing.T) {
	col := newCollector(t, t.TempDir())
	taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", col.grpc))
	if err != nil {
		t.Skipf("could not hold the port for the test: %v", err)
	}
	defer taken.Close()
	first := col.grpc
	began := time.Now()
	col.start()
	defer col.signal(syscall.SIGTERM)
	if col.grpc == first {
		t.Fatalf("the collector listens on the port another listener holds (%d)", first)
	}
	if d := time.Since(began); d > 45*time.Second {
		t.Errorf("start took %s: the exit was not noticed", d)
	}
}
