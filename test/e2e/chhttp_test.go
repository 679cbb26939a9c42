package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	goio "io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

const (
	chReader   = "reader"
	chPassword = "e2e-reader-password"
)

// withClickHouseHTTP puts the clickhouse_http extension into the
// collector's config (the shipped one's block, if it has one, is replaced)
// on port, with one reader.
func withClickHouseHTTP(t *testing.T, c *collector, port int) {
	t.Helper()
	raw, err := os.ReadFile(c.config)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["extensions"].(map[string]any)["clickhouse_http"] = map[string]any{
		"endpoint": fmt.Sprintf("127.0.0.1:%d", port),
		"users":    []any{map[string]any{"name": chReader, "password": "${env:AIOPS_E2E_READER_PASSWORD}"}},
		"embedded": map[string]any{"path": "${env:AIOPS_DATA_DIR}/clickhouse"},
		"database": "aiops",
	}
	svc := cfg["service"].(map[string]any)
	exts := svc["extensions"].([]any)
	found := false
	for _, e := range exts {
		found = found || e == "clickhouse_http"
	}
	if !found {
		svc["extensions"] = append(exts, "clickhouse_http")
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.config, out, 0o644); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "AIOPS_E2E_READER_PASSWORD="+chPassword)
}

// The acceptance of issue 18: with the collector on the embedded config
// ingesting loadgen's spans, a curl-style GET, clickhouse-go over HTTP and
// `otelcol-aiops score --endpoint` all work, and the spans written in a
// window with those queries running are within 20% of a window without.
func TestClickHouseHTTPWhileIngesting(t *testing.T) {
	dir := t.TempDir()
	c := newCollector(t, dir)
	port := freePort(t)
	withClickHouseHTTP(t, c, port)
	c.start()
	defer c.signal(syscall.SIGTERM)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	// curl -u reader:… 'http://127.0.0.1:PORT/?query=SELECT+count()+FROM+aiops.genai_spans'
	curl := func() (int64, error) {
		req, _ := http.NewRequest(http.MethodGet, base+"/?query=SELECT+count()+FROM+aiops.genai_spans", nil)
		req.SetBasicAuth(chReader, chPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := goio.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := curl(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the HTTP interface did not answer within 60s: %v", err)
		}
	}
	db := clickhouse.OpenDB(&clickhouse.Options{Addr: []string{fmt.Sprintf("127.0.0.1:%d", port)}, Protocol: clickhouse.HTTP,
		Auth: clickhouse.Auth{Username: chReader, Password: chPassword, Database: "aiops"}})
	defer db.Close()
	chgo := func() (int, error) {
		rows, err := db.Query("SELECT service_name, count() AS spans, sum(input_tokens + output_tokens) AS tokens FROM genai_spans GROUP BY service_name ORDER BY spans DESC")
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var svc string
			var spans, tokens uint64
			if err := rows.Scan(&svc, &spans, &tokens); err != nil {
				return 0, err
			}
			n++
		}
		return n, rows.Err()
	}
	score := func() error {
		cmd := exec.Command(binary, "score", "--endpoint", base, "--window", "1d", "--format", "json", "--no-history")
		cmd.Env = append(os.Environ(), "CLICKHOUSE_USERNAME="+chReader, "CLICKHOUSE_PASSWORD="+chPassword)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			return fmt.Errorf("%v: %s", err, stderr)
		}
		if !json.Valid(out) || len(out) < 10 {
			return fmt.Errorf("not a JSON report: %.200s", out)
		}
		return nil
	}

	const window = 20 * time.Second
	load := func() loadgen.Stats {
		st, err := loadgen.Run(context.Background(), loadgen.Config{
			Endpoint: fmt.Sprintf("127.0.0.1:%d", c.grpc), Duration: window, Workers: 4, Seed: 7,
			BatchTraces: 20, ContentBytes: [2]int{256, 2048}, ContentShare: 0.5, Timeout: 5 * time.Second,
		}, goio.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// written counts the spans the exporter wrote while fn ran flat out.
	written := func(fn func()) float64 {
		c.drain(2 * time.Minute)
		before, err := c.metric("otelcol_exporter_sent_spans")
		if err != nil {
			before = 0 // nothing sent yet
		}
		fn()
		after, err := c.metric("otelcol_exporter_sent_spans")
		if err != nil {
			t.Fatal(err)
		}
		return after - before
	}

	load() // warm up: the schema, the engine's caches, the queue's files

	// While the load runs: each client once, as an analyst would (a
	// dashboard refresh and a score), then curl every 2 s to watch count()
	// grow. Durations are logged, not asserted.
	var (
		counts   []int64
		services int
		scored   int
		took     [3]time.Duration
		errs     []error
	)
	analyst := func() {
		time.Sleep(2 * time.Second)
		t0 := time.Now()
		n, err := curl()
		took[0] = time.Since(t0)
		if err != nil {
			errs = append(errs, fmt.Errorf("curl: %w", err))
		} else {
			counts = append(counts, n)
		}
		t0 = time.Now()
		services, err = chgo()
		took[1] = time.Since(t0)
		if err != nil {
			errs = append(errs, fmt.Errorf("clickhouse-go: %w", err))
		}
		t0 = time.Now()
		err = score()
		took[2] = time.Since(t0)
		if err != nil {
			errs = append(errs, fmt.Errorf("otelcol-aiops score --endpoint: %w", err))
		} else {
			scored++
		}
		for end := time.Now().Add(window - 4*time.Second - time.Since(t0)); time.Now().Before(end); {
			time.Sleep(2 * time.Second)
			if n, err := curl(); err != nil {
				errs = append(errs, fmt.Errorf("curl: %w", err))
			} else {
				counts = append(counts, n)
			}
		}
	}
	// Quiet and busy windows alternate, so that other load on the machine
	// falls on both alike.
	var quiet, busy float64
	var windows []string
	for i := 0; i < 2; i++ {
		q := written(func() { load() })
		done := make(chan struct{})
		b := written(func() {
			go func() { defer close(done); analyst() }()
			load()
		})
		<-done
		quiet, busy = quiet+q, busy+b
		windows = append(windows, fmt.Sprintf("%.0f/%.0f", q, b))
	}

	ratio := busy / quiet
	t.Logf("spans written in 2×%s flat out: %.0f without queries, %.0f with queries (ratio %.2f; windows quiet/busy %v); last round: curl %s, clickhouse-go %s, score %s; count() %v",
		window, quiet, busy, ratio, windows, took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), took[2].Round(time.Millisecond), counts)
	for _, err := range errs {
		t.Errorf("while ingesting: %v", err)
	}
	if len(counts) < 2 || services == 0 || scored != 2 {
		t.Fatalf("not every client answered during ingestion: curl %d, clickhouse-go %d services, score %v", len(counts), services, scored)
	}
	if last(counts) <= first(counts) || first(counts) <= 0 {
		t.Errorf("count() did not grow while spans were ingested: %v", counts)
	}
	if ratio < 0.8 {
		t.Errorf("ingest fell to %.0f%% of its rate without queries, want at least 80%%", 100*ratio)
	}
}

func first(l []int64) int64 {
	if len(l) == 0 {
		return 0
	}
	return l[0]
}

func last(l []int64) int64 {
	if len(l) == 0 {
		return 0
	}
	return l[len(l)-1]
}
