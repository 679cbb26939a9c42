package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

type chExporter struct {
	cfg     *Config
	logger  *zap.Logger
	version string
	dlq     *deadLetter
	// storeFor lets tests wrap the store (fault injection).
	storeFor func(chstore.Store) chstore.Store
	// openStore opens the configured store; tests replace it.
	openStore func(context.Context) (chstore.Store, string, error)
	// Backoff of the background reconnect; tests shorten it.
	reconnectInitial, reconnectMax time.Duration
	// now is the clock of the retry bounds; tests move it.
	now func() time.Time

	mu        sync.Mutex
	store     chstore.Store // nil until connected
	connErr   error         // why the store is not open
	connKind  string
	host      component.Host
	statusErr bool
	closed    bool
	stopLoop  context.CancelFunc
	loopDone  chan struct{}

	pending      *pendingSet
	signals      sync.Map // signals this instance exports, for the gauge
	registration metric.Registration

	rows      metric.Int64Counter
	skipped   metric.Int64Counter
	repaired  metric.Int64Counter
	failed    metric.Int64Counter
	deadRows  metric.Int64Counter
	committed metric.Int64Counter
	batchRows metric.Int64Histogram
	latency   metric.Float64Histogram
	logged    sync.Map
}

func newExporter(cfg *Config, set exporter.Settings) (*chExporter, error) {
	e := &chExporter{cfg: cfg, logger: set.Logger, version: set.BuildInfo.Version, dlq: &deadLetter{dir: cfg.deadLetterDir()},
		reconnectInitial: reconnectInitial, reconnectMax: reconnectMax, now: time.Now, pending: newPendingSet(maxPending)}
	e.openStore = e.open
	if cfg.Endpoint == "" {
		// Set before any component starts: the clickhouse_http and maturity
		// extensions start first and may be the ones that start the engine.
		chdb.SetMemory(cfg.Embedded.engineMemory())
	}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs []error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	e.rows = counter("aiops_exporter_rows_written", "Rows written, by table.", "{rows}")
	e.skipped = counter("aiops_exporter_records_skipped", "Records received but not stored, by reason.", "{records}")
	e.repaired = counter("aiops_exporter_values_repaired", "Values stored in repaired form (invalid UTF-8, bad counts or costs, values nested too deep or too large), by kind.", "{values}")
	e.failed = counter("aiops_exporter_insert_failures", "Failed inserts and token checks, by table, whether the error is permanent, and its reason.", "{inserts}")
	e.deadRows = counter("aiops_exporter_dead_lettered", "Records written to the dead-letter directory, by signal and reason.", "{records}")
	e.committed = counter("aiops_exporter_rows_already_committed", "Rows not re-inserted because their request was already stored (retries, crash replays).", "{rows}")
	var err error
	e.batchRows, err = meter.Int64Histogram("aiops_exporter_batch_rows", metric.WithDescription("Rows per insert."), metric.WithUnit("{rows}"),
		metric.WithExplicitBucketBoundaries(1, 10, 100, 1000, 5000, 10000, 50000, 100000))
	errs = append(errs, err)
	e.latency, err = meter.Float64Histogram("aiops_exporter_insert_duration", metric.WithDescription("Insert latency."), metric.WithUnit("s"))
	errs = append(errs, err)
	oldest, err := meter.Float64ObservableGauge("aiops_exporter_oldest_pending_age",
		metric.WithDescription("Age of the oldest request the exporter has tried and neither stored nor dead-lettered, by signal; 0 when none waits."),
		metric.WithUnit("s"))
	errs = append(errs, err)
	if err == nil {
		e.registration, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			now := e.now()
			e.signals.Range(func(k, _ any) bool {
				signal := k.(string)
				o.ObserveFloat64(oldest, e.pending.oldest(signal, now).Seconds(), metric.WithAttributes(attribute.String("signal", signal)))
				return true
			})
			return nil
		}, oldest)
		errs = append(errs, err)
	}
	return e, errors.Join(errs...)
}

// exports marks a signal this instance carries, so the gauge reports it.
func (e *chExporter) exports(signal string) { e.signals.LoadOrStore(signal, true) }

// tableRows holds one table's rows; each row's request token is in its
// insert_token column.
type tableRows struct {
	s *schema
	b *builder
}

func newTableRows(s *schema, capacity int) *tableRows {
	return &tableRows{s: s, b: newBuilder(s, capacity)}
}

// pushTraces stores a request as it arrives, without the queue (tests,
// benchmarks).
func (e *chExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	req, err := e.convertTraces(ctx, td)
	if err != nil {
		return err
	}
	return e.pushRequest(ctx, req)
}

// pushRequest stores a batch of traces requests the queue has merged.
func (e *chExporter) pushRequest(ctx context.Context, r xexporterhelper.Request) error {
	e.exports("traces")
	req, ok := r.(*tracesRequest)
	if !ok {
		return consumererror.NewPermanent(fmt.Errorf("aiops_clickhouse: unexpected request %T", r))
	}
	e.keepUnreadable(ctx, req)
	rows, toks, repeated, notStored, err := batchRows(req.parts)
	e.pending.begin("traces", toks, e.now())
	var st chstore.Store
	if err != nil {
		// Checked when the record was read: a record that changed since
		// cannot be stored by retrying.
		err = consumererror.NewPermanent(fmt.Errorf("queued traces record: %w", err))
	} else {
		st, err = e.current()
	}
	if err == nil {
		if notStored > 0 {
			e.skipped.Add(ctx, int64(notStored), metric.WithAttributes(attribute.String("reason", "spans_table_disabled")))
		}
		if repeated > 0 {
			e.skipped.Add(ctx, int64(repeated), metric.WithAttributes(attribute.String("reason", "repeated_request")))
		}
		err = e.writeAll(ctx, st, &tableRows{s: genaiSpansSchema, b: rows[0]}, &tableRows{s: genaiEventsSchema, b: rows[1]}, &tableRows{s: spansSchema, b: rows[2]})
	}
	return e.settle(ctx, "traces", toks, err, func(cause error, only map[string]bool) (string, int, error) {
		td, err := req.traces(only)
		if err != nil {
			return "", req.items, err
		}
		path, err := e.dlq.writeTraces(td, cause)
		return path, td.SpanCount(), err
	})
}

// keepUnreadable writes the queue records of req that did not read to the
// dead-letter directory, once: they leave the request, which goes on with
// the rest. A record whose file cannot be written is counted and logged as
// lost by deadLettered; retrying could not read it either.
func (e *chExporter) keepUnreadable(ctx context.Context, req *tracesRequest) {
	kept := req.parts[:0]
	for _, p := range req.parts {
		if p.readErr == nil {
			kept = append(kept, p)
			continue
		}
		_ = e.deadLettered(ctx, "traces", "unreadable_queue_record", p.readErr, func(cause error) (string, int, error) {
			path, err := e.dlq.writeRecord("traces", p.record, cause)
			return path, p.spans, err
		})
	}
	req.parts = kept
}

func (e *chExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	e.exports("logs")
	rls := ld.ResourceLogs()
	toks := make([]string, 0, rls.Len())
	for i := 0; i < rls.Len(); i++ {
		toks = append(toks, resourceToken(rls.At(i).Resource(), func() string { return logsToken(ld) }))
	}
	e.pending.begin("logs", toks, e.now())
	st, err := e.current()
	if err == nil {
		err = e.writeLogs(ctx, st, ld, toks)
	}
	return e.settle(ctx, "logs", toks, err, func(cause error, only map[string]bool) (string, int, error) {
		if only != nil {
			ld = logsOf(ld, toks, only)
		}
		path, err := e.dlq.writeLogs(ld, cause)
		return path, ld.LogRecordCount(), err
	})
}

func (e *chExporter) writeLogs(ctx context.Context, st chstore.Store, ld plog.Logs, toks []string) error {
	evs := newTableRows(genaiEventsSchema, ld.LogRecordCount())
	pu := newTableRows(providerUsageSchema, 0)
	var other int
	dup := repeats{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		tok := toks[i]
		if dup.seen(tok, func(h hash.Hash) { hashResourceLogs(h, rl) }) {
			n := 0
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				n += rl.ScopeLogs().At(j).LogRecords().Len()
			}
			e.skipped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", "repeated_request")))
			continue
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				name := logEventName(evs.b, lr)
				if genai.IsProviderUsageEvent(name) {
					if reason := addProviderUsage(pu.b, name, lr, tok); reason != "" {
						e.skipProviderUsage(ctx, reason)
					}
					continue
				}
				if !logEventNames[name] {
					other++
					continue
				}
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				addEvent(evs.b, eventRow{ts: ts, traceID: lr.TraceID(), spanID: lr.SpanID(),
					who: attribution(evs.b, lr.Attributes(), rl.Resource().Attributes()), name: name, attrs: lr.Attributes()}, tok)
			}
		}
	}
	if other > 0 {
		e.skipped.Add(ctx, int64(other), metric.WithAttributes(attribute.String("reason", "not_a_genai_event")))
	}
	e.linkResponses(ctx, st, evs)
	return e.writeAll(ctx, st, evs, pu)
}

// settle ends one attempt at a request. Stored: forget it. Permanent error:
// keep it in the dead-letter directory and let the queue move on. Retryable
// error: return it for exporterhelper to retry, unless the request has
// failed for longer than its bound (max_elapsed_time for any retryable
// error, max_retry_age for one that may never clear) or nothing would retry
// it (a queue without retry_on_failure drops what fails): then it is
// dead-lettered too. Nothing the exporter gives up on is dropped.
func (e *chExporter) settle(ctx context.Context, signal string, toks []string, err error, deadLetter func(cause error, only map[string]bool) (string, int, error)) error {
	if err == nil {
		e.pending.done(toks)
		e.setStatus(nil)
		return nil
	}
	cls := outcome(err)
	if cls.Permanent {
		e.pending.done(toks)
		return e.deadLettered(ctx, signal, cls.Reason, err, func(cause error) (string, int, error) { return deadLetter(cause, refused(err)) })
	}
	age, sameErr := e.pending.failed(toks, cls.Reason+"/"+strconv.Itoa(cls.Code), e.now())
	var bound string
	switch {
	case e.cfg.QueueConfig.HasValue() && !e.cfg.RetryConfig.Enabled:
		bound = "retry_on_failure is disabled and the sending queue drops failed batches"
	case e.cfg.RetryConfig.Enabled && e.cfg.RetryConfig.MaxElapsedTime > 0 && age >= e.cfg.RetryConfig.MaxElapsedTime:
		bound = fmt.Sprintf("retried for %s, past retry_on_failure.max_elapsed_time %s", age.Round(time.Second), e.cfg.RetryConfig.MaxElapsedTime)
	case cls.Bounded && e.cfg.MaxRetryAge > 0 && sameErr >= e.cfg.MaxRetryAge:
		bound = fmt.Sprintf("failed with the same %s error for %s, past max_retry_age %s", cls.Reason, sameErr.Round(time.Second), e.cfg.MaxRetryAge)
	}
	if bound != "" {
		gaveUp := fmt.Errorf("gave up: %s: %w", bound, err)
		dlErr := e.deadLettered(ctx, signal, "expired_"+cls.Reason, gaveUp, func(cause error) (string, int, error) { return deadLetter(cause, nil) })
		if dlErr != nil {
			return err // could not keep it aside: keep retrying rather than drop it
		}
		e.pending.done(toks)
		return nil
	}
	if _, seen := e.logged.LoadOrStore("retry:"+cls.Reason, true); !seen {
		e.logger.Warn("storing a batch failed; it will be retried (logged once per reason; see aiops_exporter_insert_failures and aiops_exporter_oldest_pending_age)",
			zap.String("signal", signal), zap.String("reason", cls.Reason), zap.Int("code", cls.Code), zap.Error(err))
	}
	e.setStatus(err)
	return err
}

// deadLettered keeps a request aside with its error. The queue moves on
// whether or not the file could be written; if it could not, the loss is
// counted and logged.
func (e *chExporter) deadLettered(ctx context.Context, signal, reason string, cause error, write func(error) (string, int, error)) error {
	path, n, writeErr := write(cause)
	if writeErr != nil {
		e.skipped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", "dead_letter_write_failed")))
		e.logger.Error("a batch could not be stored nor written to the dead-letter directory; data dropped",
			zap.String("signal", signal), zap.Int("records", n), zap.String("reason", reason), zap.Error(cause), zap.NamedError("dead_letter_error", writeErr))
		return consumererror.NewPermanent(errors.Join(cause, writeErr))
	}
	e.deadRows.Add(ctx, int64(n), metric.WithAttributes(attribute.String("signal", signal), attribute.String("reason", reason)))
	log := e.logger.Debug
	if _, seen := e.logged.LoadOrStore("dead:"+reason, true); !seen {
		log = e.logger.Error
	}
	log("batch kept in the dead-letter directory; later batches go on (logged once per reason; see aiops_exporter_dead_lettered)",
		zap.String("signal", signal), zap.Int("records", n), zap.String("reason", reason), zap.String("file", path), zap.Error(cause))
	return nil
}

// tableError is a failed check or insert on one table, classified.
type tableError struct {
	table string
	cls   chstore.ErrorClass
	err   error
	// bad names the requests refused for good when the others were stored;
	// nil means every request of the batch.
	bad map[string]bool
}

func (t *tableError) Error() string { return t.err.Error() }
func (t *tableError) Unwrap() error { return t.err }

// refused names the requests a permanent outcome concerns; nil: all.
func refused(err error) map[string]bool {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	bad := map[string]bool{}
	for _, x := range errs {
		te := (*tableError)(nil)
		if !errors.As(x, &te) || te.bad == nil {
			return nil
		}
		for r := range te.bad {
			bad[r] = true
		}
	}
	return bad
}

// outcome classifies what writeAll returned: retryable if any table can
// still succeed (the whole request is retried; stored tables skip their
// rows), otherwise the first permanent reason.
func outcome(err error) chstore.ErrorClass {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var first *chstore.ErrorClass
	for _, x := range errs {
		c := chstore.ClassifyError(x)
		if te := (*tableError)(nil); errors.As(x, &te) {
			c = te.cls
		}
		if !c.Permanent {
			return c
		}
		if first == nil {
			first = &c
		}
	}
	return *first
}

// linkResponses gives events that name only a gen_ai.response.id the trace
// and span of the call that produced it, when that span is already stored.
// Unlinked ones keep response_id, which still joins at query time.
func (e *chExporter) linkResponses(ctx context.Context, st chstore.Store, t *tableRows) {
	spanCol, traceCol, respCol := t.s.col("span_id"), t.s.col("trace_id"), t.s.col("response_id")
	spans, traces, resps := t.b.strings(spanCol), t.b.strings(traceCol), t.b.strings(respCol)
	want := map[string]bool{}
	for i := range spans {
		if spans[i] == "" && resps[i] != "" {
			want[resps[i]] = true
		}
	}
	if len(want) == 0 {
		return
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	rows, err := st.Query(ctx, "SELECT response_id, any(trace_id), any(span_id) FROM "+e.cfg.Database+
		".genai_spans WHERE response_id IN {ids:Array(String)} GROUP BY response_id", chstore.ArrayParam("ids", ids))
	if err != nil {
		e.logger.Warn("could not look up spans for response ids; events keep response_id only", zap.Error(err))
		return
	}
	found := map[string][2]string{}
	for _, r := range rows.Data {
		found[r[0].(string)] = [2]string{r[1].(string), r[2].(string)}
	}
	var unlinked int64
	for i := range spans {
		if spans[i] != "" || resps[i] == "" {
			continue
		}
		if ids, ok := found[resps[i]]; ok {
			traces[i], spans[i] = ids[0], ids[1]
		} else {
			unlinked++
		}
	}
	if unlinked > 0 {
		e.skipped.Add(ctx, unlinked, metric.WithAttributes(attribute.String("reason", "event_response_id_not_found_yet")))
	}
}

// writeAll writes each table's rows. A table that fails transiently makes
// the whole request retry; tables already written skip their rows then.
func (e *chExporter) writeAll(ctx context.Context, st chstore.Store, tables ...*tableRows) error {
	var errs []error
	for _, t := range tables {
		if err := e.write(ctx, st, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// monthToken is a row's token once its request is written month by month:
// deterministic from the row, so a replay finds it however it is chunked.
func monthToken(request string, month int) string {
	return request + "~" + strconv.Itoa(month)
}

// write stores the rows of t that the table does not hold yet.
//
// A request's rows in a table are stored either in one insert under the
// request token, or, once split by month, one month per insert at most,
// each row under <request token>~<yyyymm>. So a row is stored iff either
// token is, and a crash between months leaves whole months behind.
func (e *chExporter) write(ctx context.Context, st chstore.Store, t *tableRows) error {
	n := t.b.n
	if n == 0 {
		return nil
	}
	table := t.s.table
	reqs := t.b.strings(t.s.col("insert_token"))
	months := t.b.months(t.monthCol())
	want := map[string]bool{}
	for i, tok := range reqs {
		want[tok] = true
		want[monthToken(tok, months[i])] = true
	}
	tokens := make([]string, 0, len(want))
	for tok := range want {
		tokens = append(tokens, tok)
	}
	sort.Strings(tokens)
	lo, hi, bounded := t.b.timeRange(t.monthCol())
	done, err := e.committedTokens(ctx, st, table, tokens, t.s.cols[t.monthCol()].Name, lo, hi, bounded)
	if err != nil {
		return e.failure(ctx, table, fmt.Errorf("check %s.%s for stored requests: %w", e.cfg.Database, table, err))
	}
	rows := t.b
	var byMonth map[string]bool // requests already written in part, month by month
	if len(done) > 0 {
		byMonth = map[string]bool{}
		keep := make([]bool, n)
		kept := months[:0:0]
		for i, tok := range reqs {
			monthDone := done[monthToken(tok, months[i])]
			if monthDone {
				byMonth[tok] = true
			}
			if keep[i] = !done[tok] && !monthDone; keep[i] {
				kept = append(kept, months[i])
			}
		}
		rows, months = t.b.keepRows(keep), kept
		e.committed.Add(ctx, int64(n-rows.n), metric.WithAttributes(attribute.String("table", table)))
	}
	if rows.n == 0 {
		return nil
	}
	// The request tokens of the rows to insert, before any row is tagged.
	reqs = append([]string(nil), rows.strings(rows.s.col("insert_token"))...)
	if len(byMonth) > 0 {
		tagMonths(rows, reqs, months, byMonth)
	}
	err = e.insertOrBisect(ctx, st, table, rows, reqs, months, distinct(reqs))
	if err == nil && rows.n == n {
		// Counted once, when the rows are stored; a replay's rows were counted then.
		e.countRepairs(ctx, table, t.b.repaired)
	}
	return err
}

func (e *chExporter) countRepairs(ctx context.Context, table string, repaired map[string]int) {
	for kind, c := range repaired {
		e.repaired.Add(ctx, int64(c), metric.WithAttributes(attribute.String("kind", kind)))
		if _, seen := e.logged.LoadOrStore(kind, true); !seen {
			e.logger.Warn("stored repaired values (logged once per kind; see aiops_exporter_values_repaired)", zap.String("kind", kind), zap.String("table", table))
		}
	}
}

// insertRows stores rows in one insert, or month by month when they span
// more partitions than one insert may. stored reports that some months went
// in before an error.
func (e *chExporter) insertRows(ctx context.Context, st chstore.Store, table string, rows *builder, reqs []string, months []int) (stored bool, err error) {
	err = e.insert(ctx, st, table, rows)
	if err == nil {
		return false, nil
	}
	if cls := chstore.ClassifyError(err); cls.Reason == chstore.ReasonTooManyPartitions {
		e.countFailure(ctx, table, cls)
		return e.insertByMonth(ctx, st, table, rows, reqs, months, chstore.PartitionLimit(err))
	}
	return false, e.failure(ctx, table, fmt.Errorf("insert %d rows into %s.%s: %w", rows.n, e.cfg.Database, table, err))
}

// insertOrBisect stores rows of the requests in groups. When the server
// refuses them for good, it halves the requests until it finds the ones it
// refuses, so one bad request does not take the others of its batch to the
// dead-letter directory: the tableError names them in bad. Halves are
// disjoint single inserts, so nothing is stored twice; once months of a
// split went in, it stops and lets the replay of the dead-letter file skip
// what is stored.
func (e *chExporter) insertOrBisect(ctx context.Context, st chstore.Store, table string, rows *builder, reqs []string, months []int, groups []string) error {
	stored, err := e.insertRows(ctx, st, table, rows, reqs, months)
	if err == nil {
		return nil
	}
	te := err.(*tableError)
	if !te.cls.Permanent || stored {
		return te
	}
	if len(groups) == 1 {
		te.bad = map[string]bool{groups[0]: true}
		return te
	}
	var first *tableError
	bad := map[string]bool{}
	for _, half := range [][]string{groups[:len(groups)/2], groups[len(groups)/2:]} {
		in := map[string]bool{}
		for _, g := range half {
			in[g] = true
		}
		keep := make([]bool, len(reqs))
		for i, r := range reqs {
			keep[i] = in[r]
		}
		sub, subReqs, subMonths := rows.keepRows(keep), filter(reqs, keep), filter(months, keep)
		err := e.insertOrBisect(ctx, st, table, sub, subReqs, subMonths, half)
		if err == nil {
			continue
		}
		hte := err.(*tableError)
		if !hte.cls.Permanent || hte.bad == nil {
			return hte
		}
		if first == nil {
			first = hte
		}
		for r := range hte.bad {
			bad[r] = true
		}
	}
	if first == nil {
		return nil // each half fit where the whole did not (a size limit)
	}
	first.bad = bad
	return first
}

// distinct is the sorted distinct values of s.
func distinct(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func filter[T any](s []T, keep []bool) []T {
	out := make([]T, 0, len(s))
	for i, ok := range keep {
		if ok {
			out = append(out, s[i])
		}
	}
	return out
}

// defaultMonthsPerInsert is half of ClickHouse's default
// max_partitions_per_insert_block (100). Half, because the server may
// partition by its own time zone: a chunk of N UTC months then touches at
// most 2N server months.
const defaultMonthsPerInsert = 50

// insertByMonth stores rows that span too many partitions in chunks of
// whole months, each row under its month token.
func (e *chExporter) insertByMonth(ctx context.Context, st chstore.Store, table string, rows *builder, reqs []string, months []int, limit int) (stored bool, err error) {
	tagMonths(rows, reqs, months, nil)
	per := defaultMonthsPerInsert
	if limit > 0 {
		per = max(1, limit/2)
	}
	distinct := map[int]bool{}
	for _, m := range months {
		distinct[m] = true
	}
	order := make([]int, 0, len(distinct))
	for m := range distinct {
		order = append(order, m)
	}
	sort.Ints(order)
	if _, seen := e.logged.LoadOrStore("split:"+table, true); !seen {
		e.logger.Warn("a batch spans more months than one insert may hold; storing it month by month (logged once per table)",
			zap.String("table", table), zap.Int("months", len(order)), zap.Int("months_per_insert", per), zap.Int("server_limit", limit))
	}
	for i := 0; i < len(order); {
		chunk := order[i:min(i+per, len(order))]
		in := map[int]bool{}
		for _, m := range chunk {
			in[m] = true
		}
		keep := make([]bool, len(months))
		for r, m := range months {
			keep[r] = in[m]
		}
		sub := rows.keepRows(keep)
		err := e.insert(ctx, st, table, sub)
		if err == nil {
			i += len(chunk)
			continue
		}
		cls := chstore.ClassifyError(err)
		if cls.Reason == chstore.ReasonTooManyPartitions && per > 1 {
			e.countFailure(ctx, table, cls)
			per = max(1, per/2) // a lower server limit than the message said
			continue
		}
		// Months already stored stay stored; a retry or replay skips them.
		return i > 0, e.failure(ctx, table, fmt.Errorf("insert months %d to %d (%d rows) into %s.%s: %w",
			chunk[0], chunk[len(chunk)-1], sub.n, e.cfg.Database, table, err))
	}
	return false, nil
}

// tagMonths gives the rows of the requests in only (all rows when only is
// nil) their month token; reqs are the rows' request tokens.
func tagMonths(rows *builder, reqs []string, months []int, only map[string]bool) {
	col := rows.strings(rows.s.col("insert_token"))
	for i, tok := range reqs {
		if only == nil || only[tok] {
			col[i] = monthToken(tok, months[i])
		}
	}
}

// insert writes rows in one insert whose deduplication token is made of
// the row tokens it carries.
func (e *chExporter) insert(ctx context.Context, st chstore.Store, table string, rows *builder) error {
	seen := map[string]bool{}
	var tokens []string
	for _, tok := range rows.strings(rows.s.col("insert_token")) {
		if !seen[tok] {
			seen[tok] = true
			tokens = append(tokens, tok)
		}
	}
	sort.Strings(tokens)
	start := time.Now()
	err := st.Insert(ctx, rows.batch(e.cfg.Database), batchToken(table, tokens))
	e.latency.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("table", table)))
	if err != nil {
		return err
	}
	e.rows.Add(ctx, int64(rows.n), metric.WithAttributes(attribute.String("table", table)))
	e.batchRows.Record(ctx, int64(rows.n), metric.WithAttributes(attribute.String("table", table)))
	return nil
}

// failure classifies and counts a failed check or insert.
func (e *chExporter) failure(ctx context.Context, table string, err error) error {
	cls := chstore.ClassifyError(err)
	e.countFailure(ctx, table, cls)
	return &tableError{table: table, cls: cls, err: err}
}

func (e *chExporter) countFailure(ctx context.Context, table string, cls chstore.ErrorClass) {
	e.failed.Add(ctx, 1, metric.WithAttributes(attribute.String("table", table), attribute.Bool("permanent", cls.Permanent),
		attribute.String("reason", cls.Reason)))
}

// committedTokens asks the table which of these tokens it already holds.
// Rows and their token are committed in one insert, so what a token marks
// is either wholly there or not at all. A re-sent request carries its
// rows' own times, so the look-up reads only the parts and granules of
// that time range, not the whole table (timeCol, lo and hi, when bounded).
func (e *chExporter) committedTokens(ctx context.Context, st chstore.Store, table string, tokens []string,
	timeCol string, lo, hi int64, bounded bool) (map[string]bool, error) {
	q := "SELECT DISTINCT insert_token FROM " + e.cfg.Database + "." + table + " WHERE insert_token IN {tokens:Array(String)}"
	params := []chstore.Param{chstore.ArrayParam("tokens", tokens)}
	if bounded {
		// Column names come from our own schema, never from the data.
		q += " AND " + timeCol + " >= fromUnixTimestamp64Nano({lo:Int64}) AND " + timeCol + " <= fromUnixTimestamp64Nano({hi:Int64})"
		params = append(params, chstore.Param{Name: "lo", Value: strconv.FormatInt(lo, 10)}, chstore.Param{Name: "hi", Value: strconv.FormatInt(hi, 10)})
	}
	rows, err := st.Query(ctx, q, params...)
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(rows.Data))
	for _, r := range rows.Data {
		done[r[0].(string)] = true
	}
	return done, nil
}

// monthCol is the column t is partitioned on by month.
func (t *tableRows) monthCol() int {
	name, ok := chstore.MonthPartitionColumn(t.s.table)
	if !ok {
		panic("aiops_clickhouse: table " + t.s.table + " is not partitioned by toYYYYMM of a column")
	}
	return t.s.col(name)
}

// months is each row's yyyymm in UTC, from a DateTime64 column.
func (b *builder) months(col int) []int {
	ts := b.cols[col].(*vals[time.Time]).v
	out := make([]int, len(ts))
	for i, t := range ts {
		t = t.UTC()
		out[i] = t.Year()*100 + int(t.Month())
	}
	return out
}

// timeRange is the rows' earliest and latest time in a DateTime64(9)
// column, as unix nanoseconds, widened by a second. A committed token's
// rows are all stored with these same times, so one of them lies inside:
// a wider range only reads more granules (a day's cost 60 ms per check at
// 100M rows, make bench-scale). bounded is false when a
// time lies where DateTime64(9) cannot hold it exactly (the engine would
// store another value), so the look-up must not assume it.
func (b *builder) timeRange(col int) (lo, hi int64, bounded bool) {
	ts := b.cols[col].(*vals[time.Time]).v
	if len(ts) == 0 {
		return 0, 0, false
	}
	minT, maxT := ts[0], ts[0]
	for _, t := range ts[1:] {
		if t.Before(minT) {
			minT = t
		}
		if t.After(maxT) {
			maxT = t
		}
	}
	// DateTime64(9) holds 1900-01-01 to 2262-04-11; leave a margin.
	if minT.Year() < 1901 || maxT.Year() > 2261 {
		return 0, 0, false
	}
	return minT.Add(-time.Second).UnixNano(), maxT.Add(time.Second).UnixNano(), true
}

func logsOf(ld plog.Logs, toks []string, only map[string]bool) plog.Logs {
	out := plog.NewLogs()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		if only[toks[i]] {
			rls.At(i).CopyTo(out.ResourceLogs().AppendEmpty())
		}
	}
	return out
}
