package maturity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Day facts (chstore.FactsDaily): a measure with a daily query reads whole
// past days from the facts table, computing and keeping the days it lacks
// or whose data changed, and runs the daily query live only over the rest
// of the window (the days the window cuts, today, and every day where the
// store refuses writes). Every query covers one day, or part of one, and
// its lookups past the day are relative to the day ({{lookup_from}} and the like),
// so a day's facts are the same whether kept or computed live.

const dayLayout = "2006-01-02"

// The placeholders {{day_from}} and {{day_to}} expand to; each live range
// gets its own parameter names.
const (
	dayFromParam = "{day_from:DateTime64(9)}"
	dayToParam   = "{day_to:DateTime64(9)}"
)

// dayRange is [from, to) of a live branch.
type dayRange struct{ from, to time.Time }

// wholeDays are the UTC days that lie wholly inside [from, to) and have
// ended by now.
func wholeDays(from, to, now time.Time) []time.Time {
	d := from.UTC().Truncate(24 * time.Hour)
	if d.Before(from) {
		d = d.Add(24 * time.Hour)
	}
	var out []time.Time
	for ; !d.Add(24*time.Hour).After(to) && !d.Add(24*time.Hour).After(now); d = d.Add(24 * time.Hour) {
		out = append(out, d)
	}
	return out
}

// liveRanges is [from, to) without the cached days, a range per day.
func liveRanges(from, to time.Time, cached map[string]bool) []dayRange {
	var out []dayRange
	cur := from
	for cur.Before(to) {
		next := cur.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		if next.After(to) {
			next = to
		}
		if cached[cur.UTC().Format(dayLayout)] && cur.Equal(cur.UTC().Truncate(24*time.Hour)) {
			cur = next
			continue
		}
		out = append(out, dayRange{cur, next})
		cur = next
	}
	return out
}

// dayStamps identifies each whole past day's data: the row counts of the
// tables day facts read. Computed once per run.
func (s *scoring) dayStamps(ctx context.Context, days []time.Time) (map[string]uint64, error) {
	if s.stamps != nil || len(days) == 0 {
		return s.stamps, nil
	}
	first, end := days[0], days[len(days)-1].Add(24*time.Hour)
	spans := "SELECT 1 AS t, toDate(timestamp) AS day, count() AS n FROM {db}.genai_spans WHERE timestamp >= {sf:DateTime64(9)} AND timestamp < {st:DateTime64(9)} GROUP BY day"
	if s.rollups {
		spans = "SELECT 1 AS t, day, sum(spans) AS n FROM {db}." + chstore.ScoringDaily + " WHERE day >= toDate({sf:DateTime64(9)}) AND day < toDate({st:DateTime64(9)}) GROUP BY day"
	}
	q := strings.ReplaceAll(spans+`
UNION ALL SELECT 2 AS t, toDate(timestamp) AS day, count() AS n FROM {db}.genai_events WHERE timestamp >= {sf:DateTime64(9)} AND timestamp < {st:DateTime64(9)} GROUP BY day
UNION ALL SELECT 3 AS t, toDate(timestamp) AS day, count() AS n FROM {db}.spans WHERE timestamp >= {sf:DateTime64(9)} AND timestamp < {st:DateTime64(9)} GROUP BY day`, "{db}", s.o.Database)
	q = "SELECT t, toString(day), toUInt64(n) FROM (" + q + ")"
	began := time.Now()
	rows, err := s.store.Query(ctx, q, chstore.Param{Name: "sf", Value: chTime(first)}, chstore.Param{Name: "st", Value: chTime(end)})
	if err != nil {
		return nil, fmt.Errorf("maturity: count the days' rows: %w", err)
	}
	s.observe("day stamps", began)
	counts := map[string]*[3]uint64{}
	for _, d := range days {
		counts[d.Format(dayLayout)] = &[3]uint64{}
	}
	for _, row := range rows.Data {
		t, _ := asFloat(row[0])
		day, _ := row[1].(string)
		n, _ := asFloat(row[2])
		if c := counts[day]; c != nil && t >= 1 && t <= 3 {
			c[int(t)-1] = uint64(n)
		}
	}
	s.stamps, s.emptyDays = map[string]uint64{}, map[string]bool{}
	for day, c := range counts {
		s.emptyDays[day] = c[0] == 0 && c[1] == 0 && c[2] == 0
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%d/%d", c[0], c[1], c[2])
		s.stamps[day] = h.Sum64()
	}
	return s.stamps, nil
}

// dailyVersion names a daily definition: its SQL with the rubric's own
// macros (not the run's shortcuts) and its facts.
func (s *scoring) dailyVersion(m *Measure) (string, error) {
	x, err := s.o.Rubrics.expand(m.Daily)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(x + "\x00" + strings.Join(m.Facts, ",")))
	return hex.EncodeToString(sum[:8]), nil
}

// dailySource is {{daily}} for m: the cached facts of whole past days and
// the daily query over the rest of the window, filtered by workload.
func (s *scoring) dailySource(ctx context.Context, m *Measure) (string, error) {
	daily, _, err := s.sql(m.Daily)
	if err != nil {
		return "", err
	}
	days := wholeDays(s.o.From, s.o.To, time.Now())
	cached := map[string]bool{}
	var branches []string
	if s.facts && len(days) > 0 {
		version, err := s.dailyVersion(m)
		if err != nil {
			return "", err
		}
		stamps, err := s.dayStamps(ctx, days)
		if err != nil {
			return "", err
		}
		if cached, err = s.cachedDays(ctx, m, version, days, stamps); err != nil {
			return "", err
		}
		if err := s.fillDays(ctx, m, version, daily, days, stamps, cached); err != nil {
			return "", err
		}
		var dayList []string
		var stampList []string
		for _, d := range days {
			if k := d.Format(dayLayout); cached[k] {
				dayList = append(dayList, k)
				stampList = append(stampList, strconv.FormatUint(stamps[k], 10))
			}
		}
		if len(dayList) > 0 {
			n := s.nextParam()
			s.params["fm"+n] = chstore.StringParam("fm"+n, m.ID)
			s.params["fv"+n] = chstore.StringParam("fv"+n, version)
			s.params["fd"+n] = chstore.ArrayParam("fd"+n, dayList)
			s.params["fs"+n] = chstore.Param{Name: "fs" + n, Value: "[" + strings.Join(stampList, ",") + "]"}
			cols := make([]string, len(m.Facts))
			for i, f := range m.Facts {
				cols[i] = fmt.Sprintf("facts['%s'] AS %s", f, f) // validated names
			}
			branches = append(branches, fmt.Sprintf("SELECT workload, day, %s FROM {db}.%s FINAL\n"+
				"WHERE measure = {fm%[3]s:String} AND version = {fv%[3]s:String} AND workload != '' AND has({fd%[3]s:Array(Date)}, day)"+
				" AND stamp = {fs%[3]s:Array(UInt64)}[indexOf({fd%[3]s:Array(Date)}, day)]",
				strings.Join(cols, ", "), chstore.FactsDaily, n))
		}
	}
	for _, r := range liveRanges(s.o.From, s.o.To, cached) {
		branches = append(branches, s.liveBranch(m, daily, r))
	}
	return strings.ReplaceAll("SELECT * FROM (\n"+strings.Join(branches, "\nUNION ALL\n")+"\n) WHERE {{workload_filter}}", "{db}", s.o.Database), nil
}

// liveBranch is the daily query over r, its facts as Float64 as the
// cache holds them.
func (s *scoring) liveBranch(m *Measure, daily string, r dayRange) string {
	n := s.nextParam()
	s.params["df"+n] = chstore.Param{Name: "df" + n, Value: chTime(r.from)}
	s.params["dt"+n] = chstore.Param{Name: "dt" + n, Value: chTime(r.to)}
	q := strings.ReplaceAll(daily, dayFromParam, "{df"+n+":DateTime64(9)}")
	q = strings.ReplaceAll(q, dayToParam, "{dt"+n+":DateTime64(9)}")
	cols := make([]string, len(m.Facts))
	for i, f := range m.Facts {
		cols[i] = fmt.Sprintf("toFloat64(%s) AS %s", f, f)
	}
	return fmt.Sprintf("SELECT toString(workload) AS workload, toDate(day) AS day, %s FROM (\n%s\n)", strings.Join(cols, ", "), q)
}

func (s *scoring) nextParam() string {
	s.paramSeq++
	return strconv.Itoa(s.paramSeq)
}

// cachedDays are the days whose facts are kept for this version and data.
func (s *scoring) cachedDays(ctx context.Context, m *Measure, version string, days []time.Time, stamps map[string]uint64) (map[string]bool, error) {
	q := "SELECT toString(day), argMax(stamp, computed_at) FROM " + s.o.Database + "." + chstore.FactsDaily + " FINAL" +
		" WHERE measure = {m:String} AND version = {v:String} AND day >= {d0:Date} AND day <= {d1:Date} GROUP BY day"
	began := time.Now()
	rows, err := s.store.Query(ctx, q, chstore.StringParam("m", m.ID), chstore.StringParam("v", version),
		chstore.Param{Name: "d0", Value: days[0].Format(dayLayout)}, chstore.Param{Name: "d1", Value: days[len(days)-1].Format(dayLayout)})
	if err != nil {
		return nil, fmt.Errorf("maturity: measure %s: read its day facts: %w", m.ID, err)
	}
	s.observe(m.ID+" facts", began)
	out := map[string]bool{}
	for _, row := range rows.Data {
		day, _ := row[0].(string)
		st, _ := row[1].(uint64)
		if want, ok := stamps[day]; ok && st == want {
			out[day] = true
		}
	}
	return out, nil
}

// fillDays computes the whole past days not cached, each by a query of its
// own (a week's in one statement), and keeps them. A store that refuses writes
// (a readonly reader, a user without INSERT) leaves them to the live
// branches, for this run and the next measures.
func (s *scoring) fillDays(ctx context.Context, m *Measure, version, daily string, days []time.Time, stamps map[string]uint64, cached map[string]bool) error {
	var todo []time.Time
	for _, d := range days {
		if !cached[d.Format(dayLayout)] {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	for len(todo) > 0 {
		n := min(len(todo), daysPerFill)
		if err := s.fillChunk(ctx, m, version, daily, todo[:n], stamps, cached); err != nil || !s.facts {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// daysPerFill bounds a fill statement: its days' queries run together and
// hold their sets of ids at once, within the engine's memory bound.
const daysPerFill = 7

func (s *scoring) fillChunk(ctx context.Context, m *Measure, version, daily string, todo []time.Time, stamps map[string]uint64, cached map[string]bool) error {
	facts := make([]string, len(m.Facts))
	for i, f := range m.Facts {
		facts[i] = fmt.Sprintf("'%s', %s", f, f) // validated names
	}
	var dayList, stampList, perDay []string
	ps := []chstore.Param{chstore.StringParam("m", m.ID), chstore.StringParam("v", version)}
	for _, d := range todo {
		dayList = append(dayList, d.Format(dayLayout))
		stampList = append(stampList, strconv.FormatUint(stamps[d.Format(dayLayout)], 10))
		if s.emptyDays[d.Format(dayLayout)] {
			continue // no row to read: only its marker (a common case on a young or idle store)
		}
		live := s.liveBranch(m, daily, dayRange{d, d.Add(24 * time.Hour)})
		perDay = append(perDay, live)
		for _, name := range paramRE.FindAllStringSubmatch(live, -1) {
			if p, ok := s.params[name[1]]; ok {
				ps = append(ps, p)
			}
		}
	}
	ps = append(ps, chstore.ArrayParam("days", dayList), chstore.Param{Name: "stamps", Value: "[" + strings.Join(stampList, ",") + "]"})
	// The facts and a marker row per day, so a day without facts is known
	// to have none.
	var factRows string
	if len(perDay) > 0 {
		factRows = fmt.Sprintf("SELECT day, workload, map(%s) AS facts FROM (%s)\n  UNION ALL\n  ", strings.Join(facts, ", "), strings.Join(perDay, "\nUNION ALL\n"))
	}
	q := fmt.Sprintf(`INSERT INTO %[1]s.%[2]s (measure, version, day, workload, facts, stamp, computed_at)
SELECT {m:String}, {v:String}, day, workload, facts, {stamps:Array(UInt64)}[indexOf({days:Array(Date)}, day)], now64(3)
FROM (
  %[3]sSELECT toDate(arrayJoin({days:Array(Date)})) AS day, '' AS workload, CAST(map(), 'Map(String, Float64)') AS facts)`,
		s.o.Database, chstore.FactsDaily, factRows)
	began := time.Now()
	if err := s.store.Exec(ctx, q, dedupParams(ps)...); err != nil {
		// A reader may not write (readonly, or no INSERT grant on a server).
		if r := chstore.ClassifyError(err).Reason; r == chstore.ReasonReadOnly || r == chstore.ReasonAccess {
			s.facts = false
			return nil
		}
		return fmt.Errorf("maturity: measure %s: keep its day facts: %w", m.ID, err)
	}
	s.observe(fmt.Sprintf("%s facts fill %d days", m.ID, len(perDay)), began)
	for _, d := range todo {
		cached[d.Format(dayLayout)] = true
	}
	return nil
}

func dedupParams(ps []chstore.Param) []chstore.Param {
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out
}
