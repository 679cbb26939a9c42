package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/exporter/aiopsclickhouse/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

type spanExporter struct {
	cfg      *Config
	logger   *zap.Logger
	version  string
	store    chstore.Store
	rows     metric.Int64Counter
	skipped  metric.Int64Counter
	repaired metric.Int64Counter
	failed   metric.Int64Counter
	latency  metric.Float64Histogram
	logged   sync.Map
}

func newExporter(cfg *Config, set exporter.Settings) (*spanExporter, error) {
	e := &spanExporter{cfg: cfg, logger: set.Logger, version: set.BuildInfo.Version}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs []error
	var err error
	e.rows, err = meter.Int64Counter("aiops_exporter_rows_written", metric.WithDescription("Rows written, by table."), metric.WithUnit("{rows}"))
	errs = append(errs, err)
	e.skipped, err = meter.Int64Counter("aiops_exporter_spans_not_genai", metric.WithDescription("Non-GenAI spans received; not written to genai_spans."), metric.WithUnit("{spans}"))
	errs = append(errs, err)
	e.repaired, err = meter.Int64Counter("aiops_exporter_values_repaired", metric.WithDescription("Values stored in repaired form (invalid UTF-8, bad counts or costs), by kind."), metric.WithUnit("{values}"))
	errs = append(errs, err)
	e.failed, err = meter.Int64Counter("aiops_exporter_insert_failures", metric.WithDescription("Failed inserts, by whether they will be retried."), metric.WithUnit("{inserts}"))
	errs = append(errs, err)
	e.latency, err = meter.Float64Histogram("aiops_exporter_insert_duration", metric.WithDescription("Insert latency."), metric.WithUnit("s"))
	errs = append(errs, err)
	return e, errors.Join(errs...)
}

func (e *spanExporter) start(ctx context.Context, _ component.Host) error {
	store, where, err := e.open(ctx)
	if err != nil {
		return fmt.Errorf("aiops_clickhouse: %s: %w", where, err)
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
		zap.String("at", where), zap.String("database", e.cfg.Database))
	return nil
}

func (e *spanExporter) open(ctx context.Context) (chstore.Store, string, error) {
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

func (e *spanExporter) shutdown(context.Context) error {
	if e.store == nil {
		return nil
	}
	err := e.store.Close()
	e.store = nil
	return err
}

func (e *spanExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	rows := newSpanRows(td.SpanCount())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if span := spans.At(k); genai.IsGenAI(span.Attributes()) {
					rows.add(rs.Resource(), span)
				} else {
					rows.skipped++
				}
			}
		}
	}
	if rows.skipped > 0 {
		e.skipped.Add(ctx, int64(rows.skipped))
	}
	for kind, n := range rows.invalid {
		e.repaired.Add(ctx, int64(n), metric.WithAttributes(attribute.String("kind", kind)))
		if _, seen := e.logged.LoadOrStore(kind, true); !seen {
			e.logger.Warn("stored repaired values (logged once per kind; see aiops_exporter_values_repaired)", zap.String("kind", kind))
		}
	}
	if rows.n == 0 {
		return nil
	}
	start := time.Now()
	err := e.store.Insert(ctx, rows.batch(e.cfg.Database), dedupToken(td))
	e.latency.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		permanent := isPermanent(err)
		e.failed.Add(ctx, 1, metric.WithAttributes(attribute.Bool("permanent", permanent)))
		if permanent {
			return consumererror.NewPermanent(fmt.Errorf("insert %d rows into %s.genai_spans: %w", rows.n, e.cfg.Database, err))
		}
		return fmt.Errorf("insert %d rows into %s.genai_spans: %w", rows.n, e.cfg.Database, err)
	}
	e.rows.Add(ctx, int64(rows.n), metric.WithAttributes(attribute.String("table", "genai_spans")))
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
	return false
}
