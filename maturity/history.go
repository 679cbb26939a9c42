package maturity

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

var runIDRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// HistoryAvailable reports whether db has the maturity_scores table.
func HistoryAvailable(ctx context.Context, store chstore.Store, db string) (bool, error) {
	if err := chstore.ValidIdent(db); err != nil {
		return false, err
	}
	rows, err := store.Query(ctx, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'maturity_scores'",
		chstore.StringParam("db", db))
	if err != nil {
		return false, err
	}
	n, _ := asFloat(rows.Data[0][0])
	return n > 0, nil
}

// Record writes a report to db.maturity_scores: one row per workload,
// framework and signal. The run id is the insert's deduplication token, so
// recording the same run twice stores it once.
func Record(ctx context.Context, store chstore.Store, db string, rep *Report) error {
	if err := chstore.ValidIdent(db); err != nil {
		return err
	}
	if !runIDRE.MatchString(rep.RunID) {
		return fmt.Errorf("run id %q has characters outside [A-Za-z0-9_.:-]", rep.RunID)
	}
	if ok, err := HistoryAvailable(ctx, store, db); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w in %s: run `otelcol-aiops migrate` (or start the collector with create_schema: true)", errNoHistory, db)
	}
	var (
		runAt, from, to                                                                       []time.Time
		runID, workload, framework, stageName, signal, domain, kind, status, evidence, rubric []string
		stage, signalStage                                                                    []uint8
		required                                                                              []bool
		value                                                                                 []*float64
		threshold                                                                             []float64
	)
	at := rep.GeneratedAt.UTC().Truncate(time.Millisecond)
	for _, w := range rep.Workloads {
		for _, sc := range w.Scores {
			for _, sig := range sc.Signals {
				runAt, from, to = append(runAt, at), append(from, rep.Window.From), append(to, rep.Window.To)
				runID, workload, framework = append(runID, rep.RunID), append(workload, w.Workload), append(framework, sc.Framework)
				stage, stageName = append(stage, uint8(sc.Stage)), append(stageName, sc.StageName)
				signal, signalStage, domain = append(signal, sig.ID), append(signalStage, uint8(sig.Stage)), append(domain, sig.Domain)
				kind, status, required = append(kind, sig.Kind), append(status, sig.Status), append(required, sig.Required)
				var v *float64
				if sig.Value != nil {
					x := *sig.Value
					v = &x
				}
				value, threshold = append(value, v), append(threshold, sig.Threshold)
				evidence, rubric = append(evidence, sig.Evidence), append(rubric, rep.RubricVersion)
			}
		}
	}
	if len(runAt) == 0 {
		return nil
	}
	vals := map[string]any{
		"run_at": runAt, "run_id": runID, "window_from": from, "window_to": to, "workload": workload,
		"framework": framework, "stage": stage, "stage_name": stageName, "signal_id": signal,
		"signal_stage": signalStage, "domain": domain, "kind": kind, "status": status, "required": required,
		"value": value, "threshold": threshold, "evidence": evidence, "rubric_version": rubric,
	}
	b := &chstore.Batch{Database: db, Table: chstore.MaturityScoresTable.Name}
	for _, c := range chstore.MaturityScoresTable.Columns {
		v, ok := vals[c.Name]
		if !ok {
			return fmt.Errorf("maturity_scores column %s has no value", c.Name)
		}
		b.Columns = append(b.Columns, chstore.Column{Name: c.Name, Type: c.Type, Values: v})
	}
	return store.Insert(ctx, b, "maturity-"+rep.RunID)
}

// previousRun is a workload's last recorded score in one framework.
type previousRun struct {
	score  PreviousScore
	status map[string]string
}

// applyHistory fills Previous and Regressions from the latest earlier run.
// Without the maturity_scores table there is no history and nothing to do.
func applyHistory(ctx context.Context, store chstore.Store, db string, rep *Report) error {
	ok, err := HistoryAvailable(ctx, store, db)
	if err != nil || !ok {
		return err
	}
	rows, err := store.Query(ctx, `SELECT workload, framework, run_at, run_id, stage, signal_id, status
FROM `+db+`.maturity_scores
WHERE run_id != {run:String} AND (workload, framework, run_at) IN (
    SELECT workload, framework, max(run_at) FROM `+db+`.maturity_scores
    WHERE run_id != {run:String} AND run_at <= {at:DateTime64(3)}
    GROUP BY workload, framework)`,
		chstore.StringParam("run", rep.RunID), chstore.Param{Name: "at", Value: rep.GeneratedAt.UTC().Format("2006-01-02 15:04:05.000")})
	if err != nil {
		return fmt.Errorf("maturity: previous run: %w", err)
	}
	prev := map[[2]string]*previousRun{}
	for _, r := range rows.Data {
		key := [2]string{r[0].(string), r[1].(string)}
		p := prev[key]
		if p == nil {
			st, _ := asFloat(r[4])
			p = &previousRun{score: PreviousScore{RunAt: r[2].(time.Time), RunID: r[3].(string), Stage: int(st)}, status: map[string]string{}}
			prev[key] = p
		}
		p.status[r[5].(string)] = r[6].(string)
	}
	var latest time.Time
	for i := range rep.Workloads {
		w := &rep.Workloads[i]
		for j := range w.Scores {
			sc := &w.Scores[j]
			p := prev[[2]string{w.Workload, sc.Framework}]
			if p == nil {
				continue
			}
			ps := p.score
			sc.Previous = &ps
			if ps.RunAt.After(latest) {
				latest = ps.RunAt
			}
			if ps.Stage > sc.Stage {
				sc.Regressions = append(sc.Regressions, Regression{Kind: "stage", Was: fmt.Sprint(ps.Stage), Now: fmt.Sprint(sc.Stage),
					Detail: fmt.Sprintf("stage dropped from %d to %d since %s", ps.Stage, sc.Stage, ps.RunAt.UTC().Format(time.RFC3339))})
			}
			for _, sig := range sc.Signals {
				was, ok := p.status[sig.ID]
				if !ok || !statusMet(was) || sig.Met {
					continue
				}
				sc.Regressions = append(sc.Regressions, Regression{Kind: "signal", Signal: sig.ID, Was: was, Now: sig.Status,
					Detail: sig.Title + " was " + was + ", now " + sig.Status + ": " + sig.Evidence})
			}
		}
	}
	if !latest.IsZero() {
		rep.PreviousRunAt = &latest
	}
	return loadTrend(ctx, store, db, rep)
}

// trendRuns is how many earlier runs the trend shows.
const trendRuns = 11

// loadTrend fills each score's trend with the earlier recorded runs.
func loadTrend(ctx context.Context, store chstore.Store, db string, rep *Report) error {
	names := make([]string, 0, len(rep.Workloads))
	for _, w := range rep.Workloads {
		names = append(names, w.Workload)
	}
	rows, err := store.Query(ctx, `SELECT workload, framework, run_at, any(run_id), any(stage),
    countIf(status IN ('met', 'n/a', 'declared')), count()
FROM `+db+`.maturity_scores
WHERE run_id != {run:String} AND run_at <= {at:DateTime64(3)} AND workload IN {workloads:Array(String)}
GROUP BY workload, framework, run_at
ORDER BY workload, framework, run_at DESC
LIMIT `+fmt.Sprint(trendRuns)+` BY workload, framework`,
		chstore.StringParam("run", rep.RunID), chstore.Param{Name: "at", Value: rep.GeneratedAt.UTC().Format("2006-01-02 15:04:05.000")},
		chstore.ArrayParam("workloads", names))
	if err != nil {
		return fmt.Errorf("maturity: trend: %w", err)
	}
	trend := map[[2]string][]TrendPoint{}
	for _, r := range rows.Data {
		key := [2]string{r[0].(string), r[1].(string)}
		st, _ := asFloat(r[4])
		met, _ := asFloat(r[5])
		n, _ := asFloat(r[6])
		runAt, _ := r[2].(time.Time)
		runID, _ := r[3].(string)
		// Rows come newest first; the trend reads oldest first.
		trend[key] = append([]TrendPoint{{RunAt: runAt, RunID: runID, Stage: int(st), Met: int(met), Signals: int(n)}}, trend[key]...)
	}
	for i := range rep.Workloads {
		w := &rep.Workloads[i]
		for j := range w.Scores {
			w.Scores[j].Trend = trend[[2]string{w.Workload, w.Scores[j].Framework}]
		}
	}
	return nil
}

// addCurrentTrendPoint ends every trend with this run.
func addCurrentTrendPoint(rep *Report) {
	for i := range rep.Workloads {
		for j := range rep.Workloads[i].Scores {
			sc := &rep.Workloads[i].Scores[j]
			met := 0
			for _, s := range sc.Signals {
				if s.Met {
					met++
				}
			}
			sc.Trend = append(sc.Trend, TrendPoint{RunAt: rep.GeneratedAt.UTC().Truncate(time.Millisecond), RunID: rep.RunID,
				Stage: sc.Stage, Met: met, Signals: len(sc.Signals)})
		}
	}
}

func statusMet(s string) bool { return s == StatusMet || s == StatusNA || s == StatusDeclared }
