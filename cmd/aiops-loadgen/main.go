// Command aiops-loadgen sends realistic GenAI OTLP traces to a loopback
// collector and optionally waits until the collector's exporter has sent
// them all on, according to its own Prometheus metrics.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
)

func main() {
	// Requests die young; collecting less often leaves more CPU to the
	// collector, which usually shares the machine.
	debug.SetGCPercent(400)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// parseContent accepts "min,max", a single size, or "0"/"off" to disable.
func parseContent(s string) ([2]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || s == "off" || s == "none" {
		return [2]int{}, nil
	}
	lo, hi, found := strings.Cut(s, ",")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return [2]int{}, fmt.Errorf("-content %q: %w", s, err)
	}
	b := a
	if found {
		if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return [2]int{}, fmt.Errorf("-content %q: %w", s, err)
		}
	}
	return [2]int{a, b}, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aiops-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "127.0.0.1:4317", "OTLP endpoint (loopback only); defaults to 127.0.0.1:4318 with -protocol http")
	protocol := fs.String("protocol", "grpc", "grpc or http")
	rateF := fs.Float64("rate", 0, "traces per second, 0 = flat out")
	duration := fs.Duration("duration", 10*time.Second, "run time, 0 = bound by -traces only")
	traces := fs.Int("traces", 0, "stop after this many traces, 0 = no count bound")
	workers := fs.Int("workers", 2, "concurrent exporters")
	seed := fs.Int64("seed", 1, "random seed")
	batch := fs.Int("batch", 10, "traces per export request")
	content := fs.String("content", "2048,8192", "min,max bytes of gen_ai.input/output.messages; 0 = no content")
	share := fs.Float64("content-share", 1, "fraction of traces that carry content (0..1)")
	services := fs.String("services", strings.Join(loadgen.DefaultServices, ","), "comma-separated service.name values")
	timeout := fs.Duration("timeout", 10*time.Second, "per export request timeout")
	waitURL := fs.String("wait-metrics", "", "collector Prometheus metrics URL to poll after sending, e.g. http://127.0.0.1:8888/metrics")
	waitExporter := fs.String("wait-exporter", "otlp", "exporter label value to watch with -wait-metrics")
	waitTimeout := fs.Duration("wait-timeout", 60*time.Second, "how long to wait for the exporter to catch up")
	asJSON := fs.Bool("json", false, "print final Stats as JSON on stdout (progress goes to stderr)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return 2
	}
	endpointSet := false
	fs.Visit(func(f *flag.Flag) { endpointSet = endpointSet || f.Name == "endpoint" })
	if !endpointSet && *protocol == "http" {
		*endpoint = "127.0.0.1:4318"
	}
	cb, err := parseContent(*content)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg := loadgen.Config{
		Endpoint:     *endpoint,
		Protocol:     *protocol,
		Rate:         *rateF,
		Duration:     *duration,
		MaxTraces:    *traces,
		Workers:      *workers,
		Seed:         *seed,
		Services:     splitList(*services),
		BatchTraces:  *batch,
		ContentBytes: cb,
		ContentShare: *share,
		Timeout:      *timeout,
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "invalid configuration:\n%v\n", err)
		return 2
	}
	if *waitURL != "" {
		if err := loadgen.CheckLoopbackURL(*waitURL); err != nil {
			fmt.Fprintf(stderr, "-wait-metrics: %v\n", err)
			return 2
		}
		if *waitExporter == "" {
			fmt.Fprintln(stderr, "-wait-exporter must not be empty")
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	progress := stdout
	if *asJSON {
		progress = stderr
	}

	// The collector's counters are cumulative: remember where they started.
	var baseline float64
	if *waitURL != "" {
		b, err := loadgen.ScrapeExporterSpans(ctx, *waitURL, *waitExporter)
		if err != nil {
			fmt.Fprintf(stderr, "warning: baseline scrape of %s failed (%v); assuming 0\n", *waitURL, err)
		}
		baseline = b.Sent
	}

	st, runErr := loadgen.Run(ctx, cfg, progress)
	code := 0
	if runErr != nil {
		fmt.Fprintf(stderr, "run: %v\n", runErr)
		code = 1
	}
	if st.Failed() {
		fmt.Fprintf(stderr, "FAIL: %d failed requests, %d rejected spans\n", st.Errors, st.SpansRejected)
		code = 1
	}

	if *waitURL != "" && runErr == nil {
		target := baseline + float64(st.SpansAcked)
		start := time.Now()
		got, err := loadgen.WaitExporterSpans(ctx, *waitURL, *waitExporter, target, *waitTimeout, 500*time.Millisecond)
		if err != nil {
			fmt.Fprintf(stderr, "FAIL: %v (baseline %.0f + acked %d)\n", err, baseline, st.SpansAcked)
			code = 1
		} else {
			fmt.Fprintf(progress, "exporter %q sent %.0f spans (baseline %.0f + acked %d) after %s\n",
				*waitExporter, got.Sent, baseline, st.SpansAcked, time.Since(start).Round(time.Millisecond))
		}
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
		}
	}
	return code
}
