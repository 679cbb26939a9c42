// Command aiops-simulator emits the GenAI telemetry of the four maturity
// reference applications (prototype chatbot, production app, RAG app, agent
// platform) over simulated days through the OpenTelemetry Go SDK: to a
// collector over OTLP, or straight into an embedded data directory through
// the collector's own processors and exporter.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
	"github.com/otelcol-aiops/otelcol-aiops/maturity/simulator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aiops-simulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("aiops-simulator", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "127.0.0.1:4317", "collector OTLP endpoint (loopback host:port)")
	protocol := fs.String("protocol", "grpc", "OTLP protocol: grpc or http")
	dataDir := fs.String("data-dir", "", "write into this embedded data directory through aitrace → costattr → aiops_clickhouse instead of OTLP (no collector may hold it)")
	database := fs.String("database", "aiops", "database for -data-dir")
	days := fs.Int("days", 14, "simulated days")
	endFlag := fs.String("end", "", "end of the simulated days, RFC 3339 (default: the start of the current hour)")
	seed := fs.Uint64("seed", 1, "random seed (runs are reproducible)")
	appsFlag := fs.String("apps", "", "comma-separated apps (default all: prototype-chatbot, production-app, rag-app, agent-platform)")
	scale := fs.Float64("scale", 1, "multiply every app's requests per day")
	registryOut := fs.String("registry-out", "", "also write the apps' workload registry (owners, SLOs, approved models) to this file")
	waitMetrics := fs.String("wait-metrics", "", "after sending, wait until the collector's Prometheus metrics (loopback URL) show every span and log record exported")
	waitExporter := fs.String("wait-exporter", "aiops_clickhouse", "exporter name to wait for")
	waitTimeout := fs.Duration("wait-timeout", 2*time.Minute, "how long to wait for the metrics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := simulator.Config{Days: *days, Seed: *seed, Scale: *scale}
	if *endFlag != "" {
		t, err := time.Parse(time.RFC3339, *endFlag)
		if err != nil {
			return fmt.Errorf("-end: %w", err)
		}
		cfg.End = t.UTC()
	} else {
		cfg.End = time.Now().UTC().Truncate(time.Hour)
	}
	if *appsFlag != "" {
		for _, name := range strings.Split(*appsFlag, ",") {
			a, ok := simulator.Reference(strings.TrimSpace(name))
			if !ok {
				return fmt.Errorf("-apps: unknown app %q", name)
			}
			cfg.Apps = append(cfg.Apps, a)
		}
	} else {
		cfg.Apps = simulator.ReferenceApps()
	}
	if *registryOut != "" {
		raw, err := simulator.RegistryYAML(cfg.Apps, cfg.End)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*registryOut, raw, 0o644); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	var st simulator.Stats
	if *dataDir != "" {
		p, err := simulator.NewPipeline(ctx, simulator.PipelineOptions{DataDir: *dataDir, Database: *database})
		if err != nil {
			return err
		}
		st, err = simulator.Run(ctx, cfg, p)
		if err = errors.Join(err, p.Close(ctx)); err != nil {
			return err
		}
	} else {
		host, _, err := net.SplitHostPort(*endpoint)
		if err != nil || !loadgen.IsLoopbackHost(host) {
			return fmt.Errorf("-endpoint %q: must be a loopback host:port", *endpoint)
		}
		var before counters
		if *waitMetrics != "" {
			if before, err = scrape(ctx, *waitMetrics, *waitExporter); err != nil {
				return fmt.Errorf("-wait-metrics: %w", err)
			}
		}
		sink, err := simulator.NewOTLPSink(ctx, *endpoint, *protocol)
		if err != nil {
			return err
		}
		st, err = simulator.Run(ctx, cfg, sink)
		if err = errors.Join(err, sink.Close(ctx)); err != nil {
			return err
		}
		if *waitMetrics != "" {
			if err := wait(ctx, *waitMetrics, *waitExporter, before, st, *waitTimeout); err != nil {
				return err
			}
		}
	}
	out := map[string]any{"stats": st, "apps": len(cfg.Apps), "days": cfg.Days, "from": cfg.Start().Format(time.RFC3339),
		"to": cfg.End.Format(time.RFC3339), "seconds": time.Since(start).Seconds()}
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(out)
}

// counters are an exporter's sent spans and log records.
type counters struct{ spans, logs float64 }

func scrape(ctx context.Context, url, exporter string) (counters, error) {
	if err := loadgen.CheckLoopbackURL(url); err != nil {
		return counters{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return counters{}, err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return counters{}, err
	}
	defer resp.Body.Close()
	var c counters
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `exporter="`+exporter+`"`) {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		name = strings.TrimSuffix(name, "_total")
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			continue
		}
		switch name {
		case "otelcol_exporter_sent_spans":
			c.spans += v
		case "otelcol_exporter_sent_log_records":
			c.logs += v
		}
	}
	return c, sc.Err()
}

func wait(ctx context.Context, url, exporter string, before counters, st simulator.Stats, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := scrape(ctx, url, exporter)
		if err == nil && c.spans-before.spans >= float64(st.Spans) && c.logs-before.logs >= float64(st.Logs) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s to export %d spans and %d log records (seen %.0f and %.0f; last error %v)",
				timeout, exporter, st.Spans, st.Logs, c.spans-before.spans, c.logs-before.logs, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
