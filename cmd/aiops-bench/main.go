// Command aiops-bench measures the collector against issue 19's four targets
// in one invocation on one machine, beside the previous commit's figures.
// Under the same flat-out OTLP load it runs:
//
//   - the full pipeline (config/embedded.yaml) of the binary under test,
//   - the pass-through baseline (config/baseline.yaml, OTLP → batch → a
//     silent debug exporter) of the same binary,
//   - the full pipeline of a reference commit (-ref) and of the previous
//     commit (-prev), each built from an archive of its own tree and run
//     with that tree's config/embedded.yaml,
//
// and, on one core, the exporter's encoding benchmark of the tree under test
// and of the previous commit. It prints every run's accepted and stored
// spans/s, collector CPU-seconds per 10k spans, peak RSS and a check that
// every accepted span was stored, then the four measures with their targets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// The targets of issue 19.
const (
	targetCPURatio = 6.0    // full pipeline CPU per stored span ≤ 6× the baseline's
	targetRefRatio = 2.0    // stored spans/s ≥ 2× the reference commit's
	targetRSSMiB   = 768.0  // peak RSS of the full pipeline, no GOMEMLIMIT
	targetEncRows  = 250000 // encoding rows/s on one core

	targetDuration = 60 * time.Second // the load runs the targets were set for
)

type options struct {
	bin, full, baseline string
	ref, prev           string // revisions to build; "" skips one
	goCmd               string
	load                loadOptions
	rounds              int
	encBenchtime        string
	encCount            int
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiops-bench: %v\n", err)
		os.Exit(2)
	}
	// Interrupted, the runs stop and the deferred clean-ups (collectors,
	// temporary trees and binaries) still happen.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ok, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiops-bench: %v\n", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/otelcol-aiops", "collector binary under test")
	flag.StringVar(&o.full, "full", shippedConfig, "full pipeline config of the binary under test")
	flag.StringVar(&o.baseline, "baseline", "config/baseline.yaml", "pass-through baseline config")
	flag.StringVar(&o.ref, "ref", "4be4038", "reference commit whose stored spans/s the target doubles (empty: skip)")
	flag.StringVar(&o.prev, "prev", "HEAD~1", "previous commit, whose figures are printed beside ours (empty: skip)")
	flag.StringVar(&o.goCmd, "go", "go", "go command that builds the reference and previous commits")
	flag.DurationVar(&o.load.duration, "duration", 60*time.Second, "load duration per run")
	flag.IntVar(&o.load.workers, "workers", 4, "load generator workers")
	// 150 traces are about 512 spans: the OpenTelemetry SDKs' default
	// maximum export batch, which a gateway under load receives.
	flag.IntVar(&o.load.batch, "batch", 150, "traces per export request")
	// The target is peak RSS with no soft limit set by the operator, so by
	// default the collector gets none, even when this shell has one.
	flag.StringVar(&o.load.memLimit, "gomemlimit", "", "GOMEMLIMIT for the collectors (empty: none; the collector then derives its soft limit from memory_limiter)")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds of load runs, every other one in reverse order")
	flag.StringVar(&o.encBenchtime, "enc-benchtime", "2s", "benchtime of each encoding benchmark run")
	flag.IntVar(&o.encCount, "enc-count", 5, "encoding benchmark runs per tree (the median is kept: two disturbed runs of five do not move it)")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if o.rounds < 1 || o.encCount < 1 {
		return o, errors.New("-rounds and -enc-count must be at least 1")
	}
	return o, nil
}

func run(ctx context.Context, o options) (ok bool, err error) {
	// The load generator runs in this process and its requests die young:
	// collecting less often leaves the shared cores to the collector.
	debug.SetGCPercent(400)
	o.load.env = collectorEnv(os.Environ(), o.load.memLimit)
	o.load.counter = o.bin

	work, err := os.MkdirTemp("", "aiops-bench-builds-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(work)
	bs, err := prepareBuilds(ctx, o, work)
	if err != nil {
		return false, err
	}

	enc, err := runEncoding(ctx, []*build{bs.current, bs.prev}, o.encBenchtime, o.encCount)
	if err != nil {
		return false, err
	}
	plan := loadSpecs(o, bs)
	results, err := runLoads(ctx, plan, o.rounds, o.load)
	if err != nil {
		return false, err
	}

	report(os.Stdout, o.load, results, plan)
	printPlan(os.Stdout, plan, o)
	in := summaryInput{
		current:  figuresOf(results[plan.current], enc[bs.current]),
		baseline: results[plan.baseline],
		ref:      results[plan.ref], // a nil key: the zero result, not run
		memLimit: o.load.memLimit,
	}
	if bs.prev != nil {
		in.prev = figuresOf(results[plan.prev], enc[bs.prev])
	}
	if bs.ref != nil {
		in.refLabel = bs.ref.label
	}
	printSummary(os.Stdout, summarize(in), bs)
	return checkStored(os.Stderr, results, plan.current), nil
}
