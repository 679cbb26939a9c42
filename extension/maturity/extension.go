package maturity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	scoring "github.com/otelcol-aiops/otelcol-aiops/maturity"
)

type maturityExtension struct {
	cfg      *Config
	set      extension.Settings
	rubrics  *scoring.Rubrics
	registry *scoring.Registry

	store    chstore.Store
	server   *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	done     chan struct{}
	// runMu keeps runs one at a time (interval and POST /run).
	runMu sync.Mutex

	mu      sync.RWMutex
	latest  *scoring.Report
	lastErr error
	lastRun time.Time

	runs     metric.Int64Counter
	duration metric.Float64Histogram
	stage    metric.Int64Gauge
}

func newExtension(cfg *Config, set extension.Settings) (*maturityExtension, error) {
	e := &maturityExtension{cfg: cfg, set: set}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var err1, err2, err3 error
	e.runs, err1 = meter.Int64Counter("aiops_maturity_runs", metric.WithDescription("Scoring runs, by outcome (ok, error)."), metric.WithUnit("{runs}"))
	e.duration, err2 = meter.Float64Histogram("aiops_maturity_run_duration", metric.WithDescription("Duration of a scoring run, including recording it."), metric.WithUnit("s"))
	e.stage, err3 = meter.Int64Gauge("aiops_maturity_stage", metric.WithDescription("Stage reached by each workload in the last run, by framework."), metric.WithUnit("{stage}"))
	return e, errors.Join(err1, err2, err3)
}

// Dependencies makes the collector start the authenticator first.
func (e *maturityExtension) Dependencies() []component.ID {
	if a := e.cfg.HTTP.Auth.Get(); a != nil {
		return []component.ID{a.Config.AuthenticatorID}
	}
	return nil
}

func (e *maturityExtension) Start(ctx context.Context, host component.Host) error {
	var err error
	if e.rubrics, err = scoring.LoadDir(e.cfg.Rubrics); err != nil {
		return fmt.Errorf("maturity: rubrics: %w", err)
	}
	if e.registry, err = scoring.LoadRegistry(e.cfg.Registry); err != nil {
		return fmt.Errorf("maturity: %w", err)
	}
	if e.store, err = e.open(ctx); err != nil {
		return fmt.Errorf("maturity: %w", err)
	}
	if e.cfg.CreateSchema {
		if _, err := chstore.Migrate(ctx, e.store, chstore.SchemaOptions{Database: e.cfg.Database}, "otelcol-aiops maturity "+e.set.BuildInfo.Version); err != nil {
			return errors.Join(fmt.Errorf("maturity: schema migration: %w", err), e.closeStore())
		}
	} else if err := chstore.Verify(ctx, e.store, e.cfg.Database); err != nil {
		return errors.Join(fmt.Errorf("maturity: create_schema is false and %w", err), e.closeStore())
	}
	if e.listener, err = e.cfg.HTTP.ToListener(ctx); err != nil {
		return errors.Join(fmt.Errorf("maturity: listen on %s: %w", e.cfg.HTTP.NetAddr.Endpoint, err), e.closeStore())
	}
	if e.server, err = e.cfg.HTTP.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, e.handler()); err != nil {
		return errors.Join(fmt.Errorf("maturity: %w", err), e.listener.Close(), e.closeStore())
	}
	go func() {
		if err := e.server.Serve(e.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	loopCtx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go e.loop(loopCtx)
	e.set.Logger.Info("maturity scoring started", zap.String("report", "http://"+e.listener.Addr().String()+"/"),
		zap.Duration("interval", e.cfg.Interval), zap.Duration("window", e.cfg.Window), zap.String("database", e.cfg.Database),
		zap.String("rubric_version", e.rubrics.Version))
	return nil
}

func (e *maturityExtension) open(ctx context.Context) (chstore.Store, error) {
	if e.cfg.ClickHouse.Endpoint == "" {
		return chstore.OpenEmbedded(e.cfg.Embedded.Path, e.cfg.Embedded.Library)
	}
	tlsCfg, err := e.cfg.ClickHouse.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, err
	}
	return chstore.OpenServer(ctx, chstore.ServerOptions{DSN: e.cfg.ClickHouse.Endpoint, Username: e.cfg.ClickHouse.Username,
		Password: string(e.cfg.ClickHouse.Password), TLS: tlsCfg, Compression: e.cfg.ClickHouse.Compression})
}

func (e *maturityExtension) closeStore() error {
	if e.store == nil {
		return nil
	}
	err := e.store.Close()
	e.store = nil
	return err
}

func (e *maturityExtension) Shutdown(ctx context.Context) error {
	var errs []error
	if e.cancel != nil {
		e.cancel()
		select {
		case <-e.done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
	}
	if e.server != nil {
		errs = append(errs, e.server.Shutdown(ctx))
	}
	e.runMu.Lock()
	errs = append(errs, e.closeStore())
	e.runMu.Unlock()
	return errors.Join(errs...)
}

func (e *maturityExtension) loop(ctx context.Context) {
	defer close(e.done)
	wait := e.cfg.InitialDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		_, _ = e.runOnce(ctx)
		wait = e.cfg.Interval
	}
}

// runOnce scores the window ending now, records it and makes it the latest.
func (e *maturityExtension) runOnce(ctx context.Context) (*scoring.Report, error) {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.store == nil {
		return nil, errors.New("maturity: the extension is shut down")
	}
	start := time.Now()
	now := start.UTC()
	rep, err := scoring.Score(ctx, e.store, scoring.Options{
		Database: e.cfg.Database, From: now.Add(-e.cfg.Window), To: now, Workloads: e.cfg.Workloads,
		Registry: e.registry, Rubrics: e.rubrics, History: true,
		RunID: "ext-" + now.Format("20060102T150405.000"),
	})
	if err == nil {
		err = scoring.Record(ctx, e.store, e.cfg.Database, rep)
	}
	outcome := "ok"
	e.mu.Lock()
	e.lastRun, e.lastErr = now, err
	if err == nil {
		e.latest = rep
	} else {
		outcome = "error"
	}
	e.mu.Unlock()
	e.runs.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	e.duration.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		e.set.Logger.Warn("maturity scoring failed", zap.Error(err))
		return nil, err
	}
	for _, w := range rep.Workloads {
		for _, sc := range w.Scores {
			e.stage.Record(ctx, int64(sc.Stage), metric.WithAttributes(attribute.String("workload", w.Workload), attribute.String("framework", sc.Framework)))
		}
	}
	e.set.Logger.Info("maturity scored", zap.Int("workloads", len(rep.Workloads)), zap.Duration("took", time.Since(start)))
	return rep, nil
}

func (e *maturityExtension) handler() http.Handler {
	mux := http.NewServeMux()
	page := func(format, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			e.mu.RLock()
			rep, lastErr, lastRun := e.latest, e.lastErr, e.lastRun
			e.mu.RUnlock()
			if rep == nil {
				w.Header().Set("Retry-After", "30")
				msg := "no maturity report yet: the first scoring run has not finished"
				if lastErr != nil {
					msg = fmt.Sprintf("the last scoring run (%s) failed: %v", lastRun.Format(time.RFC3339), lastErr)
				}
				http.Error(w, msg, http.StatusServiceUnavailable)
				return
			}
			var b bytes.Buffer
			if err := scoring.Render(&b, rep, format); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(b.Bytes())
		}
	}
	mux.HandleFunc("GET /{$}", page("html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /report.json", page("json", "application/json"))
	mux.HandleFunc("GET /report.md", page("markdown", "text/markdown; charset=utf-8"))
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		rep, err := e.runOnce(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = scoring.WriteJSON(w, rep)
	})
	return mux
}
