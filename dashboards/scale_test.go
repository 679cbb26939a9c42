//go:build linux

package dashboards

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/loadgen"
	"github.com/otelcol-aiops/otelcol-aiops/maturity"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace"
	"github.com/otelcol-aiops/otelcol-aiops/processor/costattr"
)

// TestScale is issue 20's benchmark (`make bench-scale`): a month of a busy
// fleet in the embedded store, and what inserts, scoring and the dashboards
// cost at 1M, 10M and 100M genai_spans rows. It lives here to run every
// panel through the same macro expansion as the panel tests.
//
// The month is a seed made by the collector's own path (loadgen's reference
// mix of services, tenants, users and models → aitrace → costattr →
// aiops_clickhouse), copied with INSERT … SELECT: each copy gets new ids and
// tokens, its own users and a time shift, so the month fills evenly.
//
// AIOPS_SCALE=1 runs it; AIOPS_SCALE_ROWS (default 100M) is the largest
// level. Figures are for one run on a shared machine: compare ratios.
func TestScale(t *testing.T) {
	if os.Getenv("AIOPS_SCALE") == "" {
		t.Skip("set AIOPS_SCALE=1 (make bench-scale) to fill a month of spans and measure")
	}
	needStore(t)
	maxRows := 100_000_000
	if v := os.Getenv("AIOPS_SCALE_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			t.Fatalf("AIOPS_SCALE_ROWS=%q: want a row count of at least 10000", v)
		}
		maxRows = n
	}
	levels := scaleLevels(maxRows)
	ctx := context.Background()
	dir := dataDirOf(t)
	checkFreeSpace(t, dir, maxRows)

	sc := &scaleRun{t: t, ctx: ctx, dir: dir, began: time.Now()}
	began := time.Now()
	// A store kept by AIOPS_SCALE_DIR already holds the seed and some
	// copies: fill on from there and measure the levels not yet passed.
	seedRows := int(sc.count("SELECT count() FROM system.tables WHERE database = 'scale_content' AND name = 'genai_spans'"))
	if seedRows > 0 {
		seedRows = int(sc.count("SELECT count() FROM scale_seed.genai_spans"))
		sc.contentMeasure()
		t.Logf("seed: %d genai_spans rows kept from an earlier run", seedRows)
	} else {
		seedRows = sc.buildSeed("scale_seed", min(500_000, levels[0]/2), false)
		t.Logf("seed: %d genai_spans rows through the collector path in %s", seedRows, time.Since(began).Round(time.Second))
		sc.seedEvents("scale_seed")
		sc.contentSample()
	}

	sc.startExporter()
	defer sc.stopExporter()

	// Copies' tokens are 32 hex digits after a t (copyExpr).
	copies := int(sc.count("SELECT count() FROM aiops.genai_spans WHERE length(insert_token) = 33 AND startsWith(insert_token, 't')") / uint64(seedRows))
	if copies > 0 {
		t.Logf("the kept store holds %d copies of the seed", copies)
	}
	var results []levelResult
	for i, level := range levels {
		want := max(1, int(math.Round(float64(level)/float64(seedRows))))
		if want < copies {
			t.Logf("level %d: already passed in the kept store", level)
			continue
		}
		fillStart := time.Now()
		sc.fill("scale_seed", copies, want)
		copies = want
		fillTook := time.Since(fillStart)
		if os.Getenv("AIOPS_SCALE_FILL_ONLY") != "" {
			continue // fill a kept store (AIOPS_SCALE_DIR) now, measure in a later run
		}
		settle := sc.settleMerges(20 * time.Minute)
		r := levelResult{level: level, fill: fillTook, settle: settle}
		r.rows = sc.count("SELECT count() FROM aiops.genai_spans")
		r.disk = sc.disk()
		r.insert = sc.measureInserts(i, 12)
		if os.Getenv("AIOPS_SCALE_INSERTS_ONLY") != "" {
			t.Logf("insert 10k batch at %d rows: median %s, p95 %s (inserts alone %s)", r.rows, ms(r.insert.median), ms(r.insert.p95), ms(r.insert.insertMedian))
			continue
		}
		// A store's first scoring of a month computes and keeps the day
		// facts of the measures that read raw rows; later ones read them.
		sc.exec("TRUNCATE TABLE IF EXISTS aiops." + chstore.FactsDaily)
		r.scoringCold, r.scoringTopCold, _ = sc.measureScoring()
		r.scoring, r.scoringTop, r.scoreRSS = sc.measureScoring()
		r.panels24h, r.proposed24h, r.panelRSS = sc.measurePanels(24*time.Hour, 60)
		r.panels30d, r.proposed30d, _ = sc.measurePanels(30*24*time.Hour, 1800)
		results = append(results, r)
		sc.report(results)
	}
}

// scaleStart and scaleEnd bound the month; the reference workloads of the
// panel tests (October 16-30) sit inside it.
var (
	scaleStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	scaleEnd   = scaleStart.Add(30 * 24 * time.Hour)
)

// scaleLevels are 1M, 10M, 100M... up to max, and max itself.
func scaleLevels(maxRows int) []int {
	var out []int
	for l := 1_000_000; l <= maxRows; l *= 10 {
		out = append(out, l)
	}
	if len(out) == 0 || out[len(out)-1] != maxRows {
		out = append(out, maxRows)
	}
	return out
}

// scaleServices are the fleet's workloads: loadgen's three profiles and 47
// generic services.
func scaleServices() []string {
	out := append([]string(nil), loadgen.DefaultServices...)
	for i := len(out); i < 50; i++ {
		out = append(out, fmt.Sprintf("genai-app-%02d", i+1))
	}
	return out
}

type scaleRun struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	began time.Time

	exp    exporter.Traces
	reader *sdkmetric.ManualReader
	// contentBytes: rows, bytes per span and content bytes per span of
	// the content sample.
	contentBytes [3]float64
}

func dataDirOf(t *testing.T) string {
	r := query(t, "SELECT path FROM system.disks WHERE name = 'default'")
	return strings.TrimSuffix(r.Data[0][0].(string), "/")
}

// checkFreeSpace wants room for the rows at 150 bytes each (spans and
// rollups, about 120 measured), twice over: merges write a part before
// they drop the ones it replaces.
func checkFreeSpace(t *testing.T, dir string, rows int) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	need := uint64(rows) * 150 * 2
	t.Logf("free space under %s: %.1f GB; this run needs about %.1f GB", dir, float64(free)/1e9, float64(need)/1e9)
	if free < need {
		t.Fatalf("not enough free disk for %d rows: %.1f GB free, want %.1f GB (lower AIOPS_SCALE_ROWS)", rows, float64(free)/1e9, float64(need)/1e9)
	}
}

func (sc *scaleRun) exec(q string) {
	sc.t.Helper()
	if err := store.Exec(sc.ctx, q); err != nil {
		sc.t.Fatalf("%v\n%s", err, q)
	}
}

func (sc *scaleRun) count(q string) uint64 {
	sc.t.Helper()
	r := query(sc.t, q)
	return uint64(num(r.Data[0][0]))
}

// pipeline builds aitrace → costattr → next, started.
func (sc *scaleRun) pipeline(next consumer.Traces) []component.Component {
	sc.t.Helper()
	set := func(t component.Type) processor.Settings {
		return processor.Settings{ID: component.NewID(t), TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	}
	cf := costattr.NewFactory()
	cost, err := cf.CreateTraces(sc.ctx, set(cf.Type()), cf.CreateDefaultConfig(), next)
	if err != nil {
		sc.t.Fatal(err)
	}
	af := aitrace.NewFactory()
	ai, err := af.CreateTraces(sc.ctx, set(af.Type()), af.CreateDefaultConfig(), cost)
	if err != nil {
		sc.t.Fatal(err)
	}
	host := componenttest.NewNopHost()
	for _, c := range []component.Component{cost, ai} {
		if err := c.Start(sc.ctx, host); err != nil {
			sc.t.Fatal(err)
		}
	}
	return []component.Component{ai, cost}
}

func (sc *scaleRun) newExporter(db string, tel component.TelemetrySettings) exporter.Traces {
	sc.t.Helper()
	f := aiopsclickhouse.NewFactory()
	cfg := f.CreateDefaultConfig().(*aiopsclickhouse.Config)
	cfg.Database = db
	cfg.Embedded.Path = sc.dir
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // synchronous: one call is one insert
	cfg.RetryConfig.Enabled = false
	exp, err := f.CreateTraces(sc.ctx, exporter.Settings{ID: component.NewID(f.Type()), TelemetrySettings: tel, BuildInfo: component.NewDefaultBuildInfo()}, cfg)
	if err != nil {
		sc.t.Fatal(err)
	}
	if err := exp.Start(sc.ctx, componenttest.NewNopHost()); err != nil {
		sc.t.Fatal(err)
	}
	return exp
}

// requests builds n OTLP requests of 150 traces each (about 500 spans, an
// SDK's export batch) ending at the times at(i), each stamped with its own
// token, as the exporter's queue stamps them.
func requestBuilder(seed int64, content bool) *loadgen.Builder {
	cfg := loadgen.Config{Seed: seed, Services: scaleServices()}
	if content {
		cfg.ContentBytes, cfg.ContentShare = [2]int{2048, 8192}, 0.25
	}
	return loadgen.NewBuilder(cfg)
}

const tracesPerRequest = 150

// buildSeed writes about genai GenAI spans over the month into db through
// the collector's path and returns the genai_spans rows stored.
func (sc *scaleRun) buildSeed(db string, genai int, content bool) int {
	sc.t.Helper()
	exp := sc.newExporter(db, componenttest.NewNopTelemetrySettings())
	procs := sc.pipeline(exp)
	// How many GenAI spans a request holds, to spread the requests evenly.
	probe := requestBuilder(99, content)
	_, info := probe.Build(tracesPerRequest)
	perReq := max(1, info.GenAISpans)
	nreq := (genai + perReq - 1) / perReq
	step := scaleEnd.Sub(scaleStart) / time.Duration(nreq)
	b := requestBuilder(1, content)
	const merge = 20 // requests per insert, as the queue batches them
	var at time.Time
	b.Now = func() time.Time { return at }
	td := ptrace.NewTraces()
	flush := func() {
		if td.ResourceSpans().Len() == 0 {
			return
		}
		if err := procs[0].(consumer.Traces).ConsumeTraces(sc.ctx, td); err != nil {
			sc.t.Fatal(err)
		}
		td = ptrace.NewTraces()
	}
	for i := 0; i < nreq; i++ {
		at = scaleStart.Add(time.Duration(i)*step + step/2)
		req, _ := b.Build(tracesPerRequest)
		req.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		if (i+1)%merge == 0 {
			flush()
		}
	}
	flush()
	for _, c := range procs {
		if err := c.Shutdown(sc.ctx); err != nil {
			sc.t.Fatal(err)
		}
	}
	if err := exp.Shutdown(sc.ctx); err != nil {
		sc.t.Fatal(err)
	}
	sc.exec("OPTIMIZE TABLE " + db + ".genai_spans FINAL")
	return int(sc.count("SELECT count() FROM " + db + ".genai_spans"))
}

// seedEvents adds what an application's evaluators and users send: an
// evaluation result on 5% of generation calls, feedback on 1%, a budget
// event on 0.1%, and red-team results on a few.
func (sc *scaleRun) seedEvents(db string) {
	sc.exec(fmt.Sprintf(`INSERT INTO %[1]s.genai_events (timestamp, trace_id, span_id, response_id, service_name, workload, user_id, tenant_id,
    event_name, name, score_value, score_label, attributes, insert_token)
SELECT timestamp + toIntervalSecond(20), trace_id, span_id, response_id, service_name, workload, user_id, tenant_id,
       multiIf(h %% 1000 = 0, 'aiops.budget', h %% 100 < 1, 'aiops.feedback', 'gen_ai.evaluation.result'),
       multiIf(h %% 1000 = 0, '', h %% 100 < 1, 'rating', h %% 997 = 1, 'red_team.jailbreak', h %% 997 = 2, 'red_team.prompt_injection',
               ['relevance', 'faithfulness', 'toxicity'][h %% 3 + 1]),
       toNullable(toFloat64(h %% 100) / 100), if(h %% 5 = 0, 'fail', 'pass'),
       if(h %% 1000 = 0, map('aiops.budget.rule', 'per-user', 'aiops.budget.key', concat('user:', user_id)), map('aiops.evaluator.type', 'llm_judge')),
       concat('l', lower(hex(reinterpretAsFixedString(cityHash64(insert_token)))))
FROM (SELECT *, cityHash64(span_id) AS h FROM %[1]s.genai_spans WHERE operation = 'chat')
WHERE h %% 100 < 6`, db))
}

// contentSample stores a smaller month with 2-8 KB of messages on a quarter
// of the traces (the end-to-end benchmark's mix), for its bytes per span.
func (sc *scaleRun) contentSample() {
	sc.buildSeed("scale_content", 100_000, true)
	sc.contentMeasure()
}

func (sc *scaleRun) contentMeasure() {
	r := query(sc.t, `SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'scale_content' AND table = 'genai_spans'`)
	rows, bytes := num(r.Data[0][0]), num(r.Data[0][1])
	content := float64(sc.count(`SELECT sum(column_bytes_on_disk) FROM system.parts_columns WHERE active AND database = 'scale_content'
  AND table = 'genai_spans' AND column IN ('input_messages', 'output_messages')`))
	sc.contentBytes = [3]float64{rows, bytes / rows, content / rows}
}

func (sc *scaleRun) startExporter() {
	sc.reader = sdkmetric.NewManualReader()
	tel := componenttest.NewNopTelemetrySettings()
	tel.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sc.reader))
	sc.exp = sc.newExporter("aiops", tel)
}

func (sc *scaleRun) stopExporter() {
	if sc.exp != nil {
		sc.exp.Shutdown(sc.ctx)
	}
}

// Column expressions of a copy: new ids, tokens and users, and the time
// shifted by a fraction of the month (golden-ratio steps fill it evenly).
const (
	hex16    = "lower(hex(reinterpretAsFixedString(cityHash64(%s, c.number))))"
	monthNs  = int64(30 * 24 * time.Hour)
	copyUser = "if(s.user_id = '', '', concat(s.user_id, '-', toString(c.number %% 100)))"
)

func copyExpr(col string) string {
	h := func(x string) string { return fmt.Sprintf(hex16, x) }
	switch col {
	case "timestamp":
		return fmt.Sprintf("fromUnixTimestamp64Nano(%[1]d + ((toUnixTimestamp64Nano(s.timestamp) - %[1]d + toInt64(%[2]d * ((c.number * 0.6180339887498949) - floor(c.number * 0.6180339887498949)))) %% %[2]d + %[2]d) %% %[2]d, 'UTC')",
			scaleStart.UnixNano(), monthNs)
	case "trace_id":
		return fmt.Sprintf("concat(%s, %s)", h("s.trace_id"), h("'t', s.trace_id"))
	case "span_id":
		return h("s.span_id")
	case "parent_span_id":
		return fmt.Sprintf("if(s.parent_span_id = '', '', %s)", h("s.parent_span_id"))
	case "response_id", "conversation_id":
		return fmt.Sprintf("if(s.%[1]s = '', '', concat(s.%[1]s, '-', toString(c.number)))", col)
	case "user_id":
		return fmt.Sprintf(copyUser)
	case "insert_token":
		return fmt.Sprintf("concat('t', %s, %s)", h("s.insert_token"), h("'x', s.insert_token"))
	}
	return "s." + col
}

func copySQL(from, to string, cols []chstore.ColumnDef, k0, n int) string {
	names := make([]string, len(cols))
	exprs := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		exprs[i] = copyExpr(c.Name) + " AS " + c.Name
	}
	// Two insert pipelines, views in parallel: one alone leaves a core idle.
	return fmt.Sprintf("INSERT INTO %s (%s)\nSELECT %s\nFROM %s AS s CROSS JOIN numbers(%d, %d) AS c\nSETTINGS max_insert_threads = 2, parallel_view_processing = 1",
		to, strings.Join(names, ", "), strings.Join(exprs, ",\n  "), from, k0, n)
}

// fill adds copies [from, to) of the seed to aiops.
func (sc *scaleRun) fill(seed string, from, to int) {
	sc.t.Helper()
	if to <= from {
		return
	}
	for _, tb := range []struct {
		name string
		cols []chstore.ColumnDef
	}{{"genai_spans", chstore.GenAISpanColumns}, {"spans", chstore.SpanColumns}, {"genai_events", chstore.GenAIEventColumns}} {
		// A few copies per statement keeps each insert's memory small.
		for k := from; k < to; k += 10 {
			began := time.Now()
			sc.exec(copySQL(seed+"."+tb.name, "aiops."+tb.name, tb.cols, k, min(10, to-k)))
			sc.t.Logf("fill %s copies %d-%d: %s", tb.name, k, min(k+10, to)-1, time.Since(began).Round(time.Millisecond))
		}
	}
}

// settleMerges waits until no merge runs (at most limit), as in a table
// that has been filling for a month rather than minutes.
func (sc *scaleRun) settleMerges(limit time.Duration) time.Duration {
	began := time.Now()
	for time.Since(began) < limit {
		if sc.count("SELECT count() FROM system.merges") == 0 {
			break
		}
		time.Sleep(5 * time.Second)
	}
	return time.Since(began)
}

type diskUse struct {
	rows, bytes, content, indexes uint64
	tables                        map[string][2]uint64 // rows, bytes of every aiops table
	parts                         uint64
}

func (sc *scaleRun) disk() diskUse {
	d := diskUse{tables: map[string][2]uint64{}}
	r := query(sc.t, "SELECT table, sum(rows), sum(bytes_on_disk), count() FROM system.parts WHERE active AND database = 'aiops' GROUP BY table")
	for _, row := range r.Data {
		d.tables[row[0].(string)] = [2]uint64{uint64(num(row[1])), uint64(num(row[2]))}
		if row[0] == "genai_spans" {
			d.rows, d.bytes, d.parts = uint64(num(row[1])), uint64(num(row[2])), uint64(num(row[3]))
		}
	}
	d.content = sc.count("SELECT sum(column_bytes_on_disk) FROM system.parts_columns WHERE active AND database = 'aiops' AND table = 'genai_spans' AND column IN ('input_messages', 'output_messages')")
	d.indexes = sc.count("SELECT sum(secondary_indices_compressed_bytes) FROM system.parts WHERE active AND database = 'aiops' AND table = 'genai_spans'")
	return d
}

type insertResult struct {
	batches       int
	rows          int
	median, p95   time.Duration
	insertMedian  time.Duration // the inserts alone (aiops_exporter_insert_duration), all tables
	checkAndBuild time.Duration // median - insert: token checks and row building
	// check is genai_spans' token look-up run again on its own, and
	// granules what the engine reads of the table for it.
	check    time.Duration
	granules string
}

// tokenCheck repeats the exporter's look-up of a batch's tokens in
// genai_spans (committedTokens in exporter/aiopsclickhouse: the tokens, and
// the batch's time range a day wider) and says which granules it reads.
func (sc *scaleRun) tokenCheck(td ptrace.Traces) (time.Duration, string) {
	var toks []string
	lo, hi := int64(math.MaxInt64), int64(0)
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		if v, ok := rs.Resource().Attributes().Get("aiops.insert_token"); ok {
			toks = append(toks, v.Str())
		}
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			for k := 0; k < rs.ScopeSpans().At(j).Spans().Len(); k++ {
				ts := int64(rs.ScopeSpans().At(j).Spans().At(k).StartTimestamp())
				lo, hi = min(lo, ts), max(hi, ts)
			}
		}
	}
	day := int64(24 * time.Hour)
	q := fmt.Sprintf("SELECT DISTINCT insert_token FROM aiops.genai_spans WHERE insert_token IN ['%s'] AND timestamp >= fromUnixTimestamp64Nano(%d) AND timestamp <= fromUnixTimestamp64Nano(%d)",
		strings.Join(toks, "','"), lo-day, hi+day)
	began := time.Now()
	query(sc.t, q)
	d := time.Since(began)
	var granules []string
	for _, row := range query(sc.t, "EXPLAIN indexes = 1 "+q).Data {
		if line := strings.TrimSpace(fmt.Sprint(row[0])); strings.HasPrefix(line, "Granules:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Name:") {
			granules = append(granules, line)
		}
	}
	return d, strings.Join(granules, " ")
}

// measureInserts sends n batches of about 10k GenAI spans through the
// exporter (token check, insert, rollups), ending just after the month's
// last row. The first is a warm-up.
func (sc *scaleRun) measureInserts(level, n int) insertResult {
	sc.t.Helper()
	var batches []ptrace.Traces
	sink := &consumertest.TracesSink{}
	procs := sc.pipeline(sink)
	b := requestBuilder(int64(1000+level), false)
	at := scaleEnd.Add(-time.Duration(3-level) * 20 * time.Minute)
	b.Now = func() time.Time { return at }
	for i := 0; i < n; i++ {
		td := ptrace.NewTraces()
		genai := 0
		for r := 0; genai < 10_000; r++ {
			at = at.Add(50 * time.Millisecond)
			req, info := b.Build(tracesPerRequest)
			genai += info.GenAISpans
			// A kept store already holds an earlier run's batches: new tokens.
			tok := fmt.Sprintf("tscale%d-%d-%d-%d", level, i, r, sc.began.UnixNano())
			for j := 0; j < req.ResourceSpans().Len(); j++ {
				req.ResourceSpans().At(j).Resource().Attributes().PutStr("aiops.insert_token", tok)
			}
			req.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
		if err := procs[0].(consumer.Traces).ConsumeTraces(sc.ctx, td); err != nil {
			sc.t.Fatal(err)
		}
	}
	for _, c := range procs {
		c.Shutdown(sc.ctx)
	}
	// aitrace may split or hold spans; regroup what it passed into n batches.
	all := ptrace.NewTraces()
	for _, td := range sink.AllTraces() {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	}
	per := (all.ResourceSpans().Len() + n - 1) / n
	for i := 0; i < all.ResourceSpans().Len(); i += per {
		td := ptrace.NewTraces()
		for j := i; j < min(i+per, all.ResourceSpans().Len()); j++ {
			all.ResourceSpans().At(j).CopyTo(td.ResourceSpans().AppendEmpty())
		}
		batches = append(batches, td)
	}
	res := insertResult{}
	var took, ins, checks []time.Duration
	for i, td := range batches {
		res.rows = max(res.rows, td.SpanCount())
		before := sc.insertSeconds()
		began := time.Now()
		if err := sc.exp.ConsumeTraces(sc.ctx, td); err != nil {
			sc.t.Fatal(err)
		}
		d := time.Since(began)
		if i == 0 {
			continue // warm-up
		}
		took = append(took, d)
		ins = append(ins, time.Duration((sc.insertSeconds()-before)*float64(time.Second)))
		c, granules := sc.tokenCheck(td)
		checks = append(checks, c)
		res.granules = granules
	}
	res.check = quantileDur(checks, 0.5)
	res.batches = len(took)
	res.median, res.p95 = quantileDur(took, 0.5), quantileDur(took, 0.95)
	res.insertMedian = quantileDur(ins, 0.5)
	res.checkAndBuild = res.median - res.insertMedian
	return res
}

// insertSeconds is the exporter's insert time so far, all tables.
func (sc *scaleRun) insertSeconds() float64 {
	var rm metricdata.ResourceMetrics
	if err := sc.reader.Collect(sc.ctx, &rm); err != nil {
		sc.t.Fatal(err)
	}
	sum := 0.0
	for _, s := range rm.ScopeMetrics {
		for _, m := range s.Metrics {
			if m.Name != "aiops_exporter_insert_duration" {
				continue
			}
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
				for _, dp := range h.DataPoints {
					sum += dp.Sum
				}
			}
		}
	}
	return sum
}

func quantileDur(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(math.Ceil(q*float64(len(s))))-1]
}

// measureScoring scores every workload over the month, as the maturity
// extension does, with a registry that declares SLOs and a catalogue so
// every measure does its work.
func (sc *scaleRun) measureScoring() (time.Duration, []string, uint64) {
	sc.t.Helper()
	reg := &maturity.Registry{ApprovedModels: []string{"gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "text-embedding-3-small"}}
	for _, w := range scaleServices() {
		reg.Workloads = append(reg.Workloads, maturity.RegisteredWorkload{Name: w, Owner: "team@example.com",
			SLO: &maturity.SLO{LatencyP95Ms: 3000, ErrorRate: 0.05}})
	}
	type took struct {
		q string
		d time.Duration
	}
	var per []took
	resetPeakRSS()
	began := time.Now()
	rep, err := maturity.Score(sc.ctx, store, maturity.Options{Database: "aiops", From: scaleStart, To: scaleEnd, Registry: reg, History: true,
		Observe: func(q string, d time.Duration) { per = append(per, took{q, d}) }})
	d := time.Since(began)
	if err != nil {
		sc.t.Fatal(err)
	}
	rss := peakRSS()
	if len(rep.Workloads) < 50 {
		sc.t.Fatalf("%d workloads scored, want at least 50", len(rep.Workloads))
	}
	sort.Slice(per, func(i, j int) bool { return per[i].d > per[j].d })
	var top []string
	for _, p := range per {
		top = append(top, fmt.Sprintf("%s %.2fs", p.q, p.d.Seconds()))
	}
	return d, top, rss
}

type panelTime struct {
	name string
	d    time.Duration
}

// measurePanels runs every panel and variable query of every dashboard over
// the last rng of the month, three times each, and returns the median of
// each: before, the panel's reference query of testdata/raw_panels.yaml
// (the spans-only query it replaced, at intervalS as the dashboards had no
// min interval), or the panel's own where it has none; and now, the
// dashboard's own query at intervalS raised to the panel's min interval,
// as Grafana raises it.
func (sc *scaleRun) measurePanels(rng time.Duration, intervalS int) (before, now []panelTime, rss uint64) {
	sc.t.Helper()
	resetPeakRSS()
	timed := func(name, sql string) panelTime {
		var runs []time.Duration
		for i := 0; i < 3; i++ {
			began := time.Now()
			if _, err := store.Query(sc.ctx, sql); err != nil {
				sc.t.Fatalf("%s: %v\n%s", name, err, sql)
			}
			if runs = append(runs, time.Since(began)); runs[0] > 5*time.Second {
				break // over the target already; once is enough
			}
		}
		return panelTime{name, quantileDur(runs, 0.5)}
	}
	refs := map[[2]string]string{}
	for _, rp := range rawPanels(sc.t) {
		refs[[2]string{rp.File, rp.Title}] = rp.SQL
	}
	for _, d := range loadDashboards(sc.t) {
		sp := scope{from: scaleEnd.Add(-rng), to: scaleEnd, intervalS: intervalS, options: variableOptions(sc.t, d)}
		for _, v := range d.Templating.List {
			var q string
			if v.Type == "query" && json.Unmarshal(v.Query, &q) == nil {
				pt := timed(d.file+" / variable "+v.Name, q)
				before, now = append(before, pt), append(now, pt)
			}
		}
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				continue
			}
			name := d.file + " / " + p.Title
			minIv, err := minIntervalS(p)
			if err != nil {
				sc.t.Fatal(err)
			}
			psp := sp
			psp.intervalS = max(intervalS, minIv)
			sql, err := expand(p.Targets[0].RawSQL, psp)
			if err != nil {
				sc.t.Fatal(err)
			}
			cur := timed(name, sql)
			old := cur
			if ref, ok := refs[[2]string{d.file, p.Title}]; ok {
				if sql, err = expand(ref, sp); err != nil {
					sc.t.Fatal(err)
				}
				old = timed(name, sql)
			}
			before, now = append(before, old), append(now, cur)
		}
	}
	return before, now, peakRSS()
}

// resetPeakRSS and peakRSS bracket a phase: the process's peak resident
// memory (Go heap plus the engine) while it ran.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

type levelResult struct {
	level                    int
	rows                     uint64
	fill, settle             time.Duration
	disk                     diskUse
	insert                   insertResult
	scoring, scoringCold     time.Duration
	scoringTop               []string
	scoringTopCold           []string
	scoreRSS                 uint64
	panels24h, panels30d     []panelTime
	proposed24h, proposed30d []panelTime
	panelRSS                 uint64
}

func panelStats(ps []panelTime) (p95, worst time.Duration, name string) {
	ds := make([]time.Duration, len(ps))
	for i, p := range ps {
		ds[i] = p.d
		if p.d > worst {
			worst, name = p.d, p.name
		}
	}
	return quantileDur(ds, 0.95), worst, name
}

func (sc *scaleRun) report(rs []levelResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nissue 20 scale benchmark (embedded engine, %s)\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "| genai_spans rows | fill | merges settled | insert 10k batch median (p95) | of which inserts | checks + rows | scoring 30d first / next | before 24h p95 / max | before 30d p95 / max | now 24h p95 / max | now 30d p95 / max | bytes/span | peak RSS scoring / panels |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		p24, m24, _ := panelStats(r.panels24h)
		p30, m30, _ := panelStats(r.panels30d)
		q24, n24, _ := panelStats(r.proposed24h)
		q30, n30, _ := panelStats(r.proposed30d)
		fmt.Fprintf(&b, "| %d | %s | %s | %s (%s) | %s | %s | %.1f / %.1f s | %.2f / %.2f s | %.2f / %.2f s | %.2f / %.2f s | %.2f / %.2f s | %.0f | %d / %d MiB |\n",
			r.rows, r.fill.Round(time.Second), r.settle.Round(time.Second), ms(r.insert.median), ms(r.insert.p95), ms(r.insert.insertMedian), ms(r.insert.checkAndBuild),
			r.scoringCold.Seconds(), r.scoring.Seconds(), p24.Seconds(), m24.Seconds(), p30.Seconds(), m30.Seconds(), q24.Seconds(), n24.Seconds(), q30.Seconds(), n30.Seconds(),
			float64(r.disk.bytes)/float64(max(1, r.disk.rows)), r.scoreRSS>>20, r.panelRSS>>20)
	}
	fmt.Fprintf(&b, "\ngenai_spans token look-up alone (median): ")
	for _, r := range rs {
		fmt.Fprintf(&b, "%d rows %s [%s]; ", r.rows, ms(r.insert.check), r.insert.granules)
	}
	b.WriteString("\n")
	if len(rs) > 1 {
		first, last := rs[0], rs[len(rs)-1]
		fmt.Fprintf(&b, "\ninsert latency %d/%d rows: %.2f× (median), %.2f× (p95); inserts alone %.2f×; checks + rows %.2f×\n",
			last.rows, first.rows, ratio(last.insert.median, first.insert.median), ratio(last.insert.p95, first.insert.p95),
			ratio(last.insert.insertMedian, first.insert.insertMedian), ratio(last.insert.checkAndBuild, first.insert.checkAndBuild))
	}
	last := rs[len(rs)-1]
	fmt.Fprintf(&b, "\nat %d rows: %d genai_spans parts, %.1f bytes/span (content columns %.1f, skip indexes %.1f)\n", last.rows, last.disk.parts,
		float64(last.disk.bytes)/float64(last.disk.rows), float64(last.disk.content)/float64(last.disk.rows), float64(last.disk.indexes)/float64(last.disk.rows))
	fmt.Fprintf(&b, "content sample (2-8 KB of messages on a quarter of the traces, %.0f spans, one part): %.1f bytes/span, of which content columns %.1f\n",
		sc.contentBytes[0], sc.contentBytes[1], sc.contentBytes[2])
	var tables []string
	for tb := range last.disk.tables {
		tables = append(tables, tb)
	}
	sort.Strings(tables)
	for _, tb := range tables {
		v := last.disk.tables[tb]
		fmt.Fprintf(&b, "  %-28s %12d rows %10.1f MiB %8.1f bytes per genai span\n", tb, v[0], float64(v[1])/(1<<20), float64(v[1])/float64(last.disk.rows))
	}
	fmt.Fprintf(&b, "\nscoring at %d rows, slowest queries: %s\n", last.rows, strings.Join(last.scoringTop[:min(8, len(last.scoringTop))], ", "))
	fmt.Fprintf(&b, "first scoring (computes the day facts) at %d rows, slowest: %s\n", last.rows, strings.Join(last.scoringTopCold[:min(8, len(last.scoringTopCold))], ", "))
	for _, set := range []struct {
		name     string
		ps, prop []panelTime
	}{{"24h", last.panels24h, last.proposed24h}, {"30d", last.panels30d, last.proposed30d}} {
		fmt.Fprintf(&b, "\npanels and variables over %s at %d rows (median of 3), before (testdata/raw_panels.yaml) and now (the dashboards):\n", set.name, last.rows)
		idx := make([]int, len(set.ps))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(i, j int) bool { return set.prop[idx[i]].d > set.prop[idx[j]].d })
		for _, i := range idx {
			fmt.Fprintf(&b, "  %7.3f s  %7.3f s  %s\n", set.ps[i].d.Seconds(), set.prop[i].d.Seconds(), set.ps[i].name)
		}
	}
	fmt.Println(b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(max(1, b)) }
