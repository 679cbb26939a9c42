package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

type chExporter struct {
	cfg     *Config
	logger  *zap.Logger
	version string
	store   chstore.Store
	dlq     *deadLetter
	// storeFor lets tests wrap the store (fault injection).
	storeFor func(chstore.Store) chstore.Store

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
	e := &chExporter{cfg: cfg, logger: set.Logger, version: set.BuildInfo.Version, dlq: &deadLetter{dir: cfg.deadLetterDir()}}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs []error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	e.rows = counter("aiops_exporter_rows_written", "Rows written, by table.", "{rows}")
	e.skipped = counter("aiops_exporter_records_skipped", "Records received but not stored, by reason.", "{records}")
	e.repaired = counter("aiops_exporter_values_repaired", "Values stored in repaired form (invalid UTF-8, bad counts or costs), by kind.", "{values}")
	e.failed = counter("aiops_exporter_insert_failures", "Failed inserts, by table and whether they will be retried.", "{inserts}")
	e.deadRows = counter("aiops_exporter_dead_lettered", "Records written to the dead-letter directory after a permanent error.", "{records}")
	e.committed = counter("aiops_exporter_rows_already_committed", "Rows not re-inserted because their request was already stored (retries, crash replays).", "{rows}")
	var err error
	e.batchRows, err = meter.Int64Histogram("aiops_exporter_batch_rows", metric.WithDescription("Rows per insert."), metric.WithUnit("{rows}"),
		metric.WithExplicitBucketBoundaries(1, 10, 100, 1000, 5000, 10000, 50000, 100000))
	errs = append(errs, err)
	e.latency, err = meter.Float64Histogram("aiops_exporter_insert_duration", metric.WithDescription("Insert latency."), metric.WithUnit("s"))
	errs = append(errs, err)
	return e, errors.Join(errs...)
}

func (e *chExporter) start(ctx context.Context, _ component.Host) error {
	store, where, err := e.open(ctx)
	if err != nil {
		return fmt.Errorf("aiops_clickhouse: %s: %w", where, err)
	}
	if e.storeFor != nil {
		store = e.storeFor(store)
	}
	e.store = store
	if e.cfg.CreateSchema {
		applied, err := chstore.Migrate(ctx, store, e.cfg.schemaOptions(), "otelcol-aiops "+e.version)
		if err != nil {
			return fmt.Errorf("aiops_clickhouse: schema migration: %w", err)
		}
		if len(applied) > 0 {
			e.logger.Info("applied schema migrations", zap.Ints("versions", applied), zap.String("database", e.cfg.Database))
		}
	} else if err := chstore.Verify(ctx, store, e.cfg.Database); err != nil {
		return fmt.Errorf("aiops_clickhouse: create_schema is false and %w", err)
	}
	e.logger.Info("aiops_clickhouse ready", zap.String("store", store.Kind()), zap.String("engine_version", store.Version()),
		zap.String("at", where), zap.String("database", e.cfg.Database), zap.String("dead_letter_dir", e.dlq.dir))
	return nil
}

func (e *chExporter) open(ctx context.Context) (chstore.Store, string, error) {
	if e.cfg.Endpoint == "" {
		s, err := chstore.OpenEmbedded(e.cfg.Embedded.Path, e.cfg.Embedded.Library)
		return s, "embedded engine in " + e.cfg.Embedded.Path, err
	}
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, "tls", err
	}
	s, err := chstore.OpenServer(ctx, chstore.ServerOptions{
		DSN: e.cfg.Endpoint, Username: e.cfg.Username, Password: string(e.cfg.Password),
		TLS: tlsCfg, Compression: e.cfg.Compression,
	})
	return s, "server " + redactDSN(e.cfg.Endpoint), err
}

// redactDSN keeps a password written into the DSN out of logs and errors.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable endpoint)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func (e *chExporter) shutdown(context.Context) error {
	if e.store == nil {
		return nil
	}
	err := e.store.Close()
	e.store = nil
	return err
}

// tableRows holds one table's rows; each row's request token is in its
// insert_token column.
type tableRows struct {
	s *schema
	b *builder
}

func newTableRows(s *schema, capacity int) *tableRows {
	return &tableRows{s: s, b: newBuilder(s, capacity)}
}

// tokens returns each row's request token.
func (t *tableRows) tokens() []string { return t.b.strings(t.s.col("insert_token")) }

func (e *chExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	gen, evs, other := newTableRows(genaiSpansSchema, n), newTableRows(genaiEventsSchema, 0), newTableRows(spansSchema, n/8)
	var notStored, repeated int
	dup := repeats{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		tok := resourceToken(rs.Resource(), func() string { return tracesToken(td) })
		if dup.seen(tok, func(h hash.Hash) { hashResourceSpans(h, rs) }) {
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				repeated += rs.ScopeSpans().At(j).Spans().Len()
			}
			continue
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !genai.IsGenAI(span.Attributes()) {
					if e.cfg.SpansTable {
						addSpan(other.b, rs.Resource(), span, tok)
					} else {
						notStored++
					}
					continue
				}
				w := addGenAISpan(gen.b, rs.Resource(), span, tok)
				events := span.Events()
				for x := 0; x < events.Len(); x++ {
					ev := events.At(x)
					if genaiEventNames[ev.Name()] {
						addEvent(evs.b, eventRow{ts: ev.Timestamp(), traceID: span.TraceID(), spanID: span.SpanID(),
							who: w, name: ev.Name(), attrs: ev.Attributes()}, tok)
					}
				}
			}
		}
	}
	if notStored > 0 {
		e.skipped.Add(ctx, int64(notStored), metric.WithAttributes(attribute.String("reason", "spans_table_disabled")))
	}
	if repeated > 0 {
		e.skipped.Add(ctx, int64(repeated), metric.WithAttributes(attribute.String("reason", "repeated_request")))
	}
	err := e.writeAll(ctx, gen, evs, other)
	if err != nil && consumererror.IsPermanent(err) {
		return e.deadLetterTraces(ctx, td, err)
	}
	return err
}

func (e *chExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	evs := newTableRows(genaiEventsSchema, ld.LogRecordCount())
	var other int
	dup := repeats{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		tok := resourceToken(rl.Resource(), func() string { return logsToken(ld) })
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
				name := logEventName(lr)
				if !logEventNames[name] {
					other++
					continue
				}
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				addEvent(evs.b, eventRow{ts: ts, traceID: lr.TraceID(), spanID: lr.SpanID(),
					who: attribution(lr.Attributes(), rl.Resource().Attributes()), name: name, attrs: lr.Attributes()}, tok)
			}
		}
	}
	if other > 0 {
		e.skipped.Add(ctx, int64(other), metric.WithAttributes(attribute.String("reason", "not_a_genai_event")))
	}
	e.linkResponses(ctx, evs)
	err := e.writeAll(ctx, evs)
	if err != nil && consumererror.IsPermanent(err) {
		return e.deadLetterLogs(ctx, ld, err)
	}
	return err
}

// linkResponses gives events that name only a gen_ai.response.id the trace
// and span of the call that produced it, when that span is already stored.
// Unlinked ones keep response_id, which still joins at query time.
func (e *chExporter) linkResponses(ctx context.Context, t *tableRows) {
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
	rows, err := e.store.Query(ctx, "SELECT response_id, any(trace_id), any(span_id) FROM "+e.cfg.Database+
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
func (e *chExporter) writeAll(ctx context.Context, tables ...*tableRows) error {
	var errs []error
	for _, t := range tables {
		if err := e.write(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	for _, x := range errs {
		if !consumererror.IsPermanent(x) {
			return err // retry everything; written tables are skipped by token
		}
	}
	return consumererror.NewPermanent(err)
}

func (e *chExporter) write(ctx context.Context, t *tableRows) error {
	if t.b.n == 0 {
		return nil
	}
	rowTokens := t.tokens()
	seen := map[string]bool{}
	var tokens []string
	for _, tok := range rowTokens {
		if !seen[tok] {
			seen[tok] = true
			tokens = append(tokens, tok)
		}
	}
	sort.Strings(tokens)
	done, err := e.committedTokens(ctx, t.s.table, tokens)
	if err != nil {
		e.failed.Add(ctx, 1, metric.WithAttributes(attribute.String("table", t.s.table), attribute.Bool("permanent", false)))
		return fmt.Errorf("check %s.%s for stored requests: %w", e.cfg.Database, t.s.table, err)
	}
	all := t.b
	pending := tokens
	if len(done) > 0 {
		// A replay: keep only the rows of requests the table does not hold.
		keep := make([]bool, t.b.n)
		for i, tok := range rowTokens {
			keep[i] = !done[tok]
		}
		all = t.b.keepRows(keep)
		e.committed.Add(ctx, int64(t.b.n-all.n), metric.WithAttributes(attribute.String("table", t.s.table)))
		pending = pending[:0:0]
		for _, tok := range tokens {
			if !done[tok] {
				pending = append(pending, tok)
			}
		}
	}
	for kind, n := range all.repaired {
		e.repaired.Add(ctx, int64(n), metric.WithAttributes(attribute.String("kind", kind)))
		if _, seen := e.logged.LoadOrStore(kind, true); !seen {
			e.logger.Warn("stored repaired values (logged once per kind; see aiops_exporter_values_repaired)", zap.String("kind", kind), zap.String("table", t.s.table))
		}
	}
	if all.n == 0 {
		return nil
	}
	start := time.Now()
	err = e.store.Insert(ctx, all.batch(e.cfg.Database), batchToken(t.s.table, pending))
	e.latency.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("table", t.s.table)))
	if err != nil {
		permanent := isPermanent(err)
		e.failed.Add(ctx, 1, metric.WithAttributes(attribute.String("table", t.s.table), attribute.Bool("permanent", permanent)))
		err = fmt.Errorf("insert %d rows into %s.%s: %w", all.n, e.cfg.Database, t.s.table, err)
		if permanent {
			return consumererror.NewPermanent(err)
		}
		return err
	}
	e.rows.Add(ctx, int64(all.n), metric.WithAttributes(attribute.String("table", t.s.table)))
	e.batchRows.Record(ctx, int64(all.n), metric.WithAttributes(attribute.String("table", t.s.table)))
	return nil
}

// committedTokens asks the table which of these requests it already holds.
// Rows and their token are committed in one insert, so a request is either
// wholly there or not at all.
func (e *chExporter) committedTokens(ctx context.Context, table string, tokens []string) (map[string]bool, error) {
	rows, err := e.store.Query(ctx, "SELECT DISTINCT insert_token FROM "+e.cfg.Database+"."+table+
		" WHERE insert_token IN {tokens:Array(String)}", chstore.ArrayParam("tokens", tokens))
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(rows.Data))
	for _, r := range rows.Data {
		done[r[0].(string)] = true
	}
	return done, nil
}

func (e *chExporter) deadLetterTraces(ctx context.Context, td ptrace.Traces, cause error) error {
	path, err := e.dlq.writeTraces(td, cause)
	return e.deadLettered(ctx, "traces", td.SpanCount(), path, cause, err)
}

func (e *chExporter) deadLetterLogs(ctx context.Context, ld plog.Logs, cause error) error {
	path, err := e.dlq.writeLogs(ld, cause)
	return e.deadLettered(ctx, "logs", ld.LogRecordCount(), path, cause, err)
}

func (e *chExporter) deadLettered(ctx context.Context, signal string, n int, path string, cause, writeErr error) error {
	if writeErr != nil {
		// Nowhere left to keep it: report it as lost, loudly.
		e.logger.Error("permanent insert error and the dead-letter file could not be written; data dropped",
			zap.String("signal", signal), zap.Int("records", n), zap.Error(cause), zap.NamedError("dead_letter_error", writeErr))
		return consumererror.NewPermanent(errors.Join(cause, writeErr))
	}
	e.deadRows.Add(ctx, int64(n), metric.WithAttributes(attribute.String("signal", signal)))
	e.logger.Error("permanent insert error; batch kept in the dead-letter directory",
		zap.String("signal", signal), zap.Int("records", n), zap.String("file", path), zap.Error(cause))
	return nil
}

// isPermanent reports errors that a retry cannot fix: the data or the schema
// is wrong, not the moment.
func isPermanent(err error) bool {
	switch chstore.ErrorCode(err) {
	// CANNOT_PARSE_TEXT, NO_SUCH_COLUMN_IN_TABLE, CANNOT_PARSE_INPUT_ASSERTION_FAILED,
	// ATTEMPT_TO_READ_AFTER_EOF, CANNOT_READ_ALL_DATA, CANNOT_PARSE_DATE,
	// CANNOT_PARSE_DATETIME, TYPE_MISMATCH, UNKNOWN_TABLE, SYNTAX_ERROR,
	// ARGUMENT_OUT_OF_BOUND, CANNOT_CONVERT_TYPE, CANNOT_PARSE_NUMBER,
	// UNKNOWN_DATABASE, INCORRECT_DATA. TOO_MANY_PARTS (252) is transient.
	case 6, 16, 27, 32, 33, 38, 41, 53, 60, 62, 69, 70, 72, 81, 117:
		return true
	}
	var be *chstore.BatchError
	return errors.As(err, &be)
}
