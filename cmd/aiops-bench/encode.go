package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// The server path's encoding benchmark: spans into a Native block, as the
// exporter sends them to a ClickHouse server.
const (
	encodePkg   = "./exporter/aiopsclickhouse"
	encodeBench = "BenchmarkEncodeGenAISpans"
)

// runEncoding runs each build's encoding benchmark count times, interleaved
// with the other build's, and keeps each build's median rows/s. Builds
// without the benchmark (or nil) are left out.
func runEncoding(ctx context.Context, bs []*build, benchtime string, count int) (map[*build]float64, error) {
	var have []*build
	for _, b := range bs {
		if b != nil && b.encTest != "" {
			have = append(have, b)
		}
	}
	rates := map[*build][]float64{}
	for _, b := range interleave(have, count) {
		fmt.Fprintf(os.Stderr, "== %s on one core: %s\n", encodeBench, b.label)
		v, err := runEncodeOnce(ctx, b.encTest, benchtime)
		if err != nil {
			return nil, fmt.Errorf("%s of %s: %w", encodeBench, b.label, err)
		}
		rates[b] = append(rates[b], v)
	}
	out := map[*build]float64{}
	for b, vs := range rates {
		out[b] = median(vs)
	}
	return out, nil
}

// runEncodeOnce runs the benchmark on one core: -test.cpu 1 sets GOMAXPROCS
// to 1, so rows/s is per core.
func runEncodeOnce(ctx context.Context, testBin, benchtime string) (float64, error) {
	out, err := exec.CommandContext(ctx, testBin, "-test.run", "^$", "-test.bench", "^"+encodeBench+"$",
		"-test.benchtime", benchtime, "-test.cpu", "1", "-test.count", "1").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, out)
	}
	v, ok := parseBenchMetric(string(out), encodeBench, "rows/s")
	if !ok {
		return 0, fmt.Errorf("no rows/s in its output:\n%s", out)
	}
	return v, nil
}

// parseBenchMetric finds benchmark name's line in go test -bench output
// (the name, with a -GOMAXPROCS suffix unless it is 1, the iterations, then
// value-unit pairs) and returns the value of unit.
func parseBenchMetric(out, name, unit string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !isBenchName(f[0], name) {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if f[i+1] == unit {
				v, err := strconv.ParseFloat(f[i], 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}

// isBenchName matches name and name-N, not a longer name sharing its prefix.
func isBenchName(field, name string) bool {
	rest, ok := strings.CutPrefix(field, name)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	_, err := strconv.Atoi(strings.TrimPrefix(rest, "-"))
	return strings.HasPrefix(rest, "-") && err == nil
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// interleave repeats items rounds times, every other round reversed (A B C,
// C B A, A B C, …). Over an even number of rounds every item's mean
// position is the same, so a drift of the machine's speed that is linear
// in time weighs on each alike; in one round, neighbours share conditions.
func interleave[T any](items []T, rounds int) []T {
	var out []T
	for i := range rounds {
		round := slices.Clone(items)
		if i%2 == 1 {
			slices.Reverse(round)
		}
		out = append(out, round...)
	}
	return out
}
