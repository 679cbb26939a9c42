package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

// slowStore prepares dataDir in a child process (the engine's directory can
// be held by one process at a time): the schema, plus a materialized view
// that sleeps 0.1 ms per genai_spans row, so the store accepts about 10k
// rows/s whatever the machine. The collector's own code is unchanged.
func slowStore(t *testing.T, dataDir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "AIOPS_E2E_CHILD=slow-store", "AIOPS_E2E_DIR="+dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("preparing the slow store: %v\n%s", err, out)
	}
}

func slowStoreChild(dir string) error {
	s, err := chstore.OpenEmbedded(dir, "")
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := chstore.Migrate(ctx, s, chstore.SchemaOptions{Database: "aiops"}, "memory test"); err != nil {
		return err
	}
	return s.Exec(ctx, "CREATE MATERIALIZED VIEW aiops.slow_store_mv ENGINE = Null AS SELECT sleepEachRow(0.0001) AS slept FROM aiops.genai_spans")
}

// vm reads a /proc/PID/status field in MiB (VmRSS, VmHWM).
func vm(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// TestSlowStoreKeepsMemoryBounded drives the collector flat out while its
// store accepts only a fraction of the load. Memory must stay bounded and
// the receiver must answer with retryable errors instead of growing.
func TestSlowStoreKeepsMemoryBounded(t *testing.T) {
	// Under the shipped budget (config/embedded.yaml: about 890 MiB at most,
	// engine and its mapped code included), with room to spare: a slow store
	// must not let memory reach the budget.
	const limitMiB = 840
	dir := t.TempDir()
	slowStore(t, filepath.Join(dir, "clickhouse"))
	col := newCollector(t, dir)
	b, _ := os.ReadFile(col.config)
	// A small queue makes the backpressure arrive within the test's time.
	cfg := strings.Replace(string(b), "queue_size: 100000", "queue_size: 20000", 1)
	if cfg == string(b) {
		t.Fatal("could not set the queue size in the config")
	}
	if err := os.WriteFile(col.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The shipped memory settings as they are, and no GOMEMLIMIT: the
	// binary derives the Go heap's soft limit from memory_limiter (an empty
	// value is no setting, for the Go runtime as for the binary).
	col.env = []string{"GOMEMLIMIT="}
	col.start()
	pid := col.cmd.Process.Pid

	d := 20 * time.Second
	if os.Getenv("AIOPS_SOAK") != "" {
		d = 3 * time.Minute
	}
	peakRSS := 0.0
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
				if r := vm(pid, "VmRSS"); r > peakRSS {
					peakRSS = r
				}
			}
		}
	}()
	st, err := loadgen.Run(context.Background(), loadgen.Config{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", col.grpc), Duration: d, Workers: 4, Seed: 9,
		BatchTraces: 20, ContentBytes: [2]int{2048, 8192}, ContentShare: 0.25, Timeout: 5 * time.Second,
	}, io{t})
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	hwm := vm(pid, "VmHWM")
	if col.cmd.ProcessState != nil || syscall.Kill(pid, 0) != nil {
		t.Fatal("the collector died under backpressure")
	}
	col.signal(syscall.SIGTERM)
	t.Logf("%s flat out against a slow store: %d spans sent, %d accepted, %d requests refused (last: %s); peak RSS %.0f MiB (sampled %.0f)",
		d, st.SpansSent, st.SpansAcked, st.Errors, st.LastError, hwm, peakRSS)
	if st.Errors == 0 {
		t.Error("the store was slower than the load, yet no request was refused: memory or the queue must have grown")
	}
	if !strings.Contains(st.LastError, "Unavailable") && !strings.Contains(st.LastError, "ResourceExhausted") {
		t.Errorf("refusals must be retryable (Unavailable or ResourceExhausted), last was %q", st.LastError)
	}
	if hwm > limitMiB {
		t.Errorf("peak RSS %.0f MiB exceeds %d MiB", hwm, limitMiB)
	}
}

// io sends the load generator's progress lines to the test log.
type io struct{ t *testing.T }

func (w io) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
