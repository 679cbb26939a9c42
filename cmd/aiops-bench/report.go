package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// loadPlan is the load runs of one invocation; ref and prev are nil when
// skipped.
type loadPlan struct{ current, baseline, ref, prev *runSpec }

func loadSpecs(o options, bs builds) loadPlan {
	full := func(b *build) *runSpec {
		if b == nil {
			return nil
		}
		return &runSpec{name: b.role, label: b.label, bin: b.bin, config: b.config, stores: true}
	}
	return loadPlan{
		current:  full(bs.current),
		baseline: &runSpec{name: "baseline", label: bs.current.label, bin: bs.current.bin, config: o.baseline},
		ref:      full(bs.ref),
		prev:     full(bs.prev),
	}
}

// list is one round's order. The binary under test runs between the two
// runs its target ratios divide by (reference, baseline), and the previous
// commit next to the baseline: compared runs are neighbours in time.
func (p loadPlan) list() []*runSpec {
	var out []*runSpec
	for _, s := range []*runSpec{p.ref, p.current, p.baseline, p.prev} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// report prints every load run's own figures.
func report(w io.Writer, o loadOptions, results map[*runSpec]result, p loadPlan) {
	env := "GOMEMLIMIT unset (the collector derives it from memory_limiter)"
	if o.memLimit != "" {
		env = "GOMEMLIMIT=" + o.memLimit
	}
	fmt.Fprintf(w, "\nload runs (%s flat out each, %d workers; collectors: %s)\n", o.duration, o.workers, env)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tbuilt from\truns\tspans acked\taccepted/s\tstored/s\tCPU s / 10k\tpeak RSS MiB\tstored\t")
	for _, s := range p.list() {
		r := results[s]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%.3f\t%.0f\t%s\t\n", s.name, s.label, r.runs, r.stats.SpansAcked,
			thousands(r.acceptedRate()), orNA(r.stored >= 0, thousands(r.storedRate())), r.cpuPer10k(), r.peakRSSMiB, storedCheck(r))
	}
	tw.Flush()
}

func storedCheck(r result) string {
	switch {
	case r.stored < 0:
		return "n/a"
	case r.mismatch:
		return fmt.Sprintf("%d (MISMATCH)", r.stored)
	default:
		return fmt.Sprintf("%d (= acked)", r.stored)
	}
}

// printPlan says in what order the runs were made, and why.
func printPlan(w io.Writer, p loadPlan, o options) {
	var names []string
	for _, s := range p.list() {
		names = append(names, s.name)
	}
	fmt.Fprintf(w, "\norder: load runs %s", strings.Join(names, " → "))
	if o.rounds > 1 {
		fmt.Fprintf(w, ", %d rounds, every other one reversed (linear drift weighs on every run alike)", o.rounds)
	}
	fmt.Fprintf(w, "; compared runs are neighbours in time. Encoding benchmark: trees alternated, %d run(s) each of %s on one core, median kept.\n", o.encCount, o.encBenchtime)
	if o.load.duration < targetDuration {
		fmt.Fprintf(w, "note: the targets are for %s runs; these ran %s.\n", targetDuration, o.load.duration)
	}
}

// figures are one build's four measures; ok is false when it was not run.
type figures struct {
	ok                                      bool
	cpuPer10k, storedRate, peakRSS, encRows float64
}

func figuresOf(r result, encRows float64) figures {
	return figures{ok: r.runs > 0, cpuPer10k: r.cpuPer10k(), storedRate: r.storedRate(), peakRSS: r.peakRSSMiB, encRows: encRows}
}

type summaryInput struct {
	current, prev figures
	baseline, ref result // zero when not run
	refLabel      string
	memLimit      string
}

// measure is one of the targets: eval renders a build's figure and returns
// the value compared with the target, ok false when there is none.
type measure struct {
	name, target string
	eval         func(f figures) (text string, v float64, ok bool)
	met          func(v float64) bool
}

type row struct{ measure, target, current, verdict, previous string }

// summarize turns the figures into the four targets' rows.
func summarize(in summaryInput) []row {
	var rows []row
	for _, m := range measures(in) {
		cur, v, ok := evalFigures(m, in.current)
		prev, _, _ := evalFigures(m, in.prev)
		verdict := "n/a"
		if ok {
			verdict = map[bool]string{true: "met", false: "MISSED"}[m.met(v)]
		}
		rows = append(rows, row{m.name, m.target, cur, verdict, prev})
	}
	return rows
}

func evalFigures(m measure, f figures) (string, float64, bool) {
	if !f.ok {
		return "n/a", 0, false
	}
	return m.eval(f)
}

func measures(in summaryInput) []measure {
	base, refRate := in.baseline.cpuPer10k(), in.ref.storedRate()
	refName := "Stored spans/s (no reference run)"
	if in.refLabel != "" {
		refName = "Stored spans/s against " + in.refLabel
	}
	rssName := "Peak RSS, full pipeline, no GOMEMLIMIT"
	if in.memLimit != "" {
		// The target is without a soft limit: a figure with one is not judged.
		rssName = "Peak RSS, full pipeline, GOMEMLIMIT=" + in.memLimit
	}
	return []measure{{
		name: "CPU per stored span, full / baseline", target: fmt.Sprintf("≤ %g×", targetCPURatio),
		eval: func(f figures) (string, float64, bool) {
			if base <= 0 || f.cpuPer10k <= 0 {
				return "n/a", 0, false
			}
			x := f.cpuPer10k / base
			return fmt.Sprintf("%.2f× (%.3f / %.3f CPU-s per 10k)", x, f.cpuPer10k, base), x, true
		},
		met: func(x float64) bool { return x <= targetCPURatio },
	}, {
		name: refName, target: fmt.Sprintf("≥ %g×", targetRefRatio),
		eval: func(f figures) (string, float64, bool) {
			if refRate <= 0 || f.storedRate <= 0 {
				return thousands(f.storedRate) + " spans/s", 0, false
			}
			x := f.storedRate / refRate
			return fmt.Sprintf("%.2f× (%s / %s spans/s)", x, thousands(f.storedRate), thousands(refRate)), x, true
		},
		met: func(x float64) bool { return x >= targetRefRatio },
	}, {
		name: rssName, target: fmt.Sprintf("≤ %g MiB", targetRSSMiB),
		eval: func(f figures) (string, float64, bool) {
			return fmt.Sprintf("%.0f MiB", f.peakRSS), f.peakRSS, in.memLimit == "" && f.peakRSS > 0
		},
		met: func(v float64) bool { return v <= targetRSSMiB },
	}, {
		name: "Server path encoding, rows/s per core", target: "≥ " + thousands(targetEncRows),
		eval: func(f figures) (string, float64, bool) {
			if f.encRows <= 0 {
				return "n/a", 0, false
			}
			return thousands(f.encRows) + " rows/s", f.encRows, true
		},
		met: func(v float64) bool { return v >= targetEncRows },
	}}
}

// printSummary prints the targets' table, the previous commit's figures
// beside ours.
func printSummary(w io.Writer, rows []row, bs builds) {
	prev := "previous: not run"
	if bs.prev != nil {
		prev = "previous: " + bs.prev.label
	}
	fmt.Fprintf(w, "\nissue 19 targets (current: %s)\n", bs.current.label)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\ttarget\tcurrent\t\t%s\n", prev)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.measure, r.target, r.current, r.verdict, r.previous)
	}
	tw.Flush()
}

// checkStored warns of every run that lost or duplicated spans; only the
// binary under test's fails the invocation.
func checkStored(w io.Writer, results map[*runSpec]result, current *runSpec) bool {
	for s, r := range results {
		if r.mismatch {
			fmt.Fprintf(w, "aiops-bench: %s (%s) stored %d spans but acknowledged %d\n", s.name, s.label, r.stored, r.stats.SpansAcked)
		}
	}
	return !results[current].mismatch
}

// thousands renders v rounded, with thousands separators: 32178.4 → 32,178.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func orNA(ok bool, s string) string {
	if !ok {
		return "n/a"
	}
	return s
}
