package maturity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/extension/maturity/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	scoring "github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// Store retry: the first retry after retryInitial, doubling to retryMax,
// until Shutdown; each attempt (open, ping, migrate) within attemptTimeout.
const (
	defaultRetryInitial   = time.Second
	defaultRetryMax       = time.Minute
	defaultAttemptTimeout = 30 * time.Second
)

// Label bounds of aiops_maturity_stage.
const (
	otherWorkload = "other"
	maxLabelBytes = 128
)

// busyRetryAfter is the Retry-After, in seconds, of a POST /run refused
// because a run is in progress.
const busyRetryAfter = "10"

type storeState int

const (
	storeConnecting storeState = iota // no attempt has finished yet
	storeDown                         // the last attempt failed; retrying
	storeUp
)

type maturityExtension struct {
	cfg      *Config
	set      extension.Settings
	rubrics  *scoring.Rubrics
	registry *scoring.Registry
	host     component.Host
	hosts    *hostRule

	// openStore opens the store; tests replace it to stand in for an
	// unreachable server.
	openStore                              func(context.Context) (chstore.Store, error)
	retryInitial, retryMax, attemptTimeout time.Duration

	server   *http.Server
	listener net.Listener
	baseCtx  context.Context // cancelled by Shutdown
	cancel   context.CancelFunc
	done     chan struct{}

	runs, refused         metric.Int64Counter
	duration              metric.Float64Histogram
	stage, storeConnected metric.Int64ObservableGauge
	reg                   metric.Registration
	runsOK, runsError     metric.AddOption
	refusedAttrs          map[string]metric.AddOption

	statusMu       sync.Mutex
	reportedStatus componentstatus.Status

	// runMu keeps runs one at a time (interval and POST /run) and guards
	// store and closed.
	runMu  sync.Mutex
	store  chstore.Store
	closed bool

	mu            sync.RWMutex
	storeState    storeState
	storeErr      error
	storeFailures int
	nextAttempt   time.Time
	latest        *scoring.Report
	lastErr       error
	lastRun       time.Time
	stagePoints   []stagePoint
}

type stagePoint struct {
	attrs attribute.Set
	stage int64
}

func newExtension(cfg *Config, set extension.Settings) (*maturityExtension, error) {
	e := &maturityExtension{cfg: cfg, set: set, retryInitial: defaultRetryInitial, retryMax: defaultRetryMax, attemptTimeout: defaultAttemptTimeout}
	e.openStore = e.open
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs [5]error
	e.runs, errs[0] = meter.Int64Counter("aiops_maturity_runs", metric.WithDescription("Scoring runs, by outcome (ok, error)."), metric.WithUnit("{runs}"))
	e.duration, errs[1] = meter.Float64Histogram("aiops_maturity_run_duration", metric.WithDescription("Duration of a scoring run, including recording it."), metric.WithUnit("s"))
	e.stage, errs[2] = meter.Int64ObservableGauge("aiops_maturity_stage",
		metric.WithDescription("Stage reached in the last run, by framework, for the top max_metric_workloads workloads by model calls; the rest as workload=other at their lowest stage."),
		metric.WithUnit("{stage}"))
	e.storeConnected, errs[3] = meter.Int64ObservableGauge("aiops_maturity_store_connected",
		metric.WithDescription("1 when the store is open, 0 while the extension retries opening it."), metric.WithUnit("1"))
	e.refused, errs[4] = meter.Int64Counter("aiops_maturity_requests_refused",
		metric.WithDescription("Requests refused before the report: by reason (host, origin, content_type, busy)."), metric.WithUnit("{requests}"))
	e.runsOK = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "ok")))
	e.runsError = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "error")))
	e.refusedAttrs = map[string]metric.AddOption{}
	for _, r := range []string{refusedHost, refusedOrigin, refusedContentType, refusedBusy} {
		e.refusedAttrs[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	return e, errors.Join(errs[:]...)
}

// Dependencies makes the collector start the authenticator first.
func (e *maturityExtension) Dependencies() []component.ID {
	if a := e.cfg.HTTP.Auth.Get(); a != nil {
		return []component.ID{a.Config.AuthenticatorID}
	}
	return nil
}

// Start serves the report and opens the store in the background: a store
// that cannot be opened yet (a server down) leaves the extension running,
// answering 503, and retrying.
func (e *maturityExtension) Start(ctx context.Context, host component.Host) error {
	var err error
	e.host = host
	if e.rubrics, err = scoring.LoadDir(e.cfg.Rubrics); err != nil {
		return fmt.Errorf("maturity: rubrics: %w", err)
	}
	if e.registry, err = scoring.LoadRegistry(e.cfg.Registry); err != nil {
		return fmt.Errorf("maturity: %w", err)
	}
	reg, err := e.set.MeterProvider.Meter(metadata.ScopeName).RegisterCallback(e.observe, e.stage, e.storeConnected)
	if err != nil {
		return fmt.Errorf("maturity: metrics: %w", err)
	}
	e.reg = reg
	if e.listener, err = e.cfg.HTTP.ToListener(ctx); err != nil {
		return fmt.Errorf("maturity: listen on %s: %w", e.cfg.HTTP.NetAddr.Endpoint, err)
	}
	port := ""
	if a, ok := e.listener.Addr().(*net.TCPAddr); ok {
		port = strconv.Itoa(a.Port)
	}
	if e.hosts, err = e.cfg.hostRule(port); err != nil {
		return errors.Join(fmt.Errorf("maturity: %w", err), e.listener.Close())
	}
	if e.server, err = e.cfg.HTTP.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, e.handler()); err != nil {
		return errors.Join(fmt.Errorf("maturity: %w", err), e.listener.Close())
	}
	if err := e.checkAuthenticator(ctx, host); err != nil {
		return errors.Join(err, e.listener.Close())
	}
	// Outermost: Host and Origin are checked before authentication.
	e.server.Handler = e.guard(e.server.Handler)
	go func() {
		if err := e.server.Serve(e.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	e.baseCtx, e.cancel = context.WithCancel(context.Background())
	e.done = make(chan struct{})
	go e.loop(e.baseCtx)
	auth := "none (allow_unauthenticated)"
	if a := e.cfg.HTTP.Auth.Get(); a != nil {
		auth = a.Config.AuthenticatorID.String()
	}
	e.set.Logger.Info("maturity report served", zap.String("report", "http://"+e.listener.Addr().String()+"/"), zap.String("auth", auth),
		zap.Duration("interval", e.cfg.Interval), zap.Duration("window", e.cfg.Window), zap.String("database", e.cfg.Database),
		zap.String("rubric_version", e.rubrics.Version))
	return nil
}

// checkAuthenticator refuses an authenticator that lets a request without
// credentials through (bearertokenauth with tokens: [""], say): the report
// would be public while the config looks protected.
func (e *maturityExtension) checkAuthenticator(ctx context.Context, host component.Host) error {
	a := e.cfg.HTTP.Auth.Get()
	if a == nil || e.cfg.AllowUnauthenticated {
		return nil
	}
	srv, err := a.Config.GetServerAuthenticator(ctx, host.GetExtensions())
	if err != nil {
		return fmt.Errorf("maturity: http.auth: %w", err)
	}
	if acceptsAnonymous(ctx, srv) {
		return fmt.Errorf("maturity: http.auth: authenticator %s accepts a request without credentials (an empty token?), so the report "+
			"would be public; give it a token (e.g. token: ${env:AIOPS_REPORT_TOKEN} with the variable set), or set allow_unauthenticated: true "+
			"for local development only", a.Config.AuthenticatorID)
	}
	return nil
}

func acceptsAnonymous(ctx context.Context, a extensionauth.Server) bool {
	for _, h := range []map[string][]string{
		{},
		{"Authorization": {""}},
		{"Authorization": {"Bearer "}},
		{"Authorization": {"Bearer"}},
		{"Authorization": {"Basic Og=="}}, // ":": empty user and password
	} {
		if _, err := a.Authenticate(ctx, h); err == nil {
			return true
		}
	}
	return false
}

func (e *maturityExtension) open(ctx context.Context) (chstore.Store, error) {
	// Each branch returns a literal nil on error: a nil *Embedded or
	// *Server in the Store interface is not == nil.
	if e.cfg.ClickHouse.Endpoint == "" {
		s, err := chstore.OpenEmbedded(e.cfg.Embedded.Path, e.cfg.Embedded.Library)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	tlsCfg, err := e.cfg.ClickHouse.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("clickhouse.tls: %w", err)
	}
	s, err := chstore.OpenServer(ctx, chstore.ServerOptions{DSN: e.cfg.ClickHouse.Endpoint, Username: e.cfg.ClickHouse.Username,
		Password: string(e.cfg.ClickHouse.Password), TLS: tlsCfg, Compression: e.cfg.ClickHouse.Compression})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// isNil is true for a nil interface and for a nil pointer inside one.
func isNil(s chstore.Store) bool {
	if s == nil {
		return true
	}
	v := reflect.ValueOf(s)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// connectOnce opens the store and applies or checks the schema.
func (e *maturityExtension) connectOnce(ctx context.Context) (chstore.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, e.attemptTimeout)
	defer cancel()
	s, err := e.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if isNil(s) {
		return nil, errors.New("the store opener returned no store")
	}
	if e.cfg.CreateSchema {
		if _, err := chstore.Migrate(ctx, s, chstore.SchemaOptions{Database: e.cfg.Database}, "otelcol-aiops maturity "+e.set.BuildInfo.Version); err != nil {
			return nil, errors.Join(fmt.Errorf("schema migration: %w", err), s.Close())
		}
	} else if err := chstore.Verify(ctx, s, e.cfg.Database); err != nil {
		return nil, errors.Join(fmt.Errorf("create_schema is false and %w", err), s.Close())
	}
	return s, nil
}

// connect retries until the store opens (true) or Shutdown (false).
func (e *maturityExtension) connect(ctx context.Context) bool {
	delay := e.retryInitial
	for {
		s, err := e.connectOnce(ctx)
		if err == nil {
			e.runMu.Lock()
			closed := e.closed
			if !closed {
				e.store = s
			}
			e.runMu.Unlock()
			if closed {
				_ = s.Close()
				return false
			}
			e.storeUp()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64())) // jitter: collectors restarted together do not retry together
		e.storeDown(err, wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		delay = min(2*delay, e.retryMax)
	}
}

// storeDown records a failed attempt; it logs and reports status only when
// the state changes, not on every retry.
func (e *maturityExtension) storeDown(err error, wait time.Duration) {
	e.mu.Lock()
	changed := e.storeState != storeDown
	e.storeState, e.storeErr, e.nextAttempt = storeDown, err, time.Now().Add(wait)
	e.storeFailures++
	e.mu.Unlock()
	if !changed {
		e.set.Logger.Debug("maturity: store still unavailable", zap.Error(err), zap.Duration("retry_in", wait))
		return
	}
	e.set.Logger.Warn("maturity: the store cannot be opened; the report answers 503 until it can, retrying in the background",
		zap.Error(err), zap.Duration("retry_in", wait), zap.Duration("max_retry_interval", e.retryMax))
	e.reportStatus(componentstatus.NewRecoverableErrorEvent(fmt.Errorf("maturity store unavailable: %w", err)))
}

func (e *maturityExtension) storeUp() {
	e.mu.Lock()
	wasDown, failures := e.storeState == storeDown, e.storeFailures
	e.storeState, e.storeErr = storeUp, nil
	e.mu.Unlock()
	if wasDown {
		e.set.Logger.Info("maturity: store reachable again; scoring resumes", zap.Int("failed_attempts", failures))
		e.reportStatus(componentstatus.NewEvent(componentstatus.StatusOK))
		return
	}
	e.set.Logger.Info("maturity: store opened")
}

// reportStatus reports an event whose status differs from the last one.
func (e *maturityExtension) reportStatus(ev *componentstatus.Event) {
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	if ev.Status() == e.reportedStatus {
		return
	}
	if ev.Status() == componentstatus.StatusOK && e.reportedStatus == componentstatus.StatusNone {
		return // the collector reports OK after Start
	}
	e.reportedStatus = ev.Status()
	componentstatus.ReportStatus(e.host, ev)
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
	if e.reg != nil {
		errs = append(errs, e.reg.Unregister())
		e.reg = nil
	}
	e.runMu.Lock()
	e.closed = true
	if !isNil(e.store) {
		errs = append(errs, e.store.Close())
	}
	e.store = nil
	e.runMu.Unlock()
	return errors.Join(errs...)
}

func (e *maturityExtension) loop(ctx context.Context) {
	defer close(e.done)
	if !e.connect(ctx) {
		return
	}
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
	return e.runLocked(ctx)
}

// windowStart is the start (00:00 UTC) of the day window before now. The
// scoring reads whole past days from the rollups and day facts and a cut
// day from the raw rows; started mid-day, every run would read a whole
// old day's rows again.
func windowStart(now time.Time, window time.Duration) time.Time {
	return now.Add(-window).UTC().Truncate(24 * time.Hour)
}

// runLocked is runOnce with runMu held.
func (e *maturityExtension) runLocked(ctx context.Context) (*scoring.Report, error) {
	if isNil(e.store) {
		return nil, errors.New("maturity: the store is not open")
	}
	start := time.Now()
	now := start.UTC()
	rep, err := scoring.Score(ctx, e.store, scoring.Options{
		Database: e.cfg.Database, From: windowStart(now, e.cfg.Window), To: now, Workloads: e.cfg.Workloads,
		Registry: e.registry, Rubrics: e.rubrics, History: true,
		RunID: "ext-" + now.Format("20060102T150405.000"),
	})
	if err == nil {
		err = scoring.Record(ctx, e.store, e.cfg.Database, rep)
	}
	e.mu.Lock()
	e.lastRun, e.lastErr = now, err
	if err == nil {
		e.latest = rep
		e.stagePoints = stagePoints(rep, e.cfg.MaxMetricWorkloads)
	}
	e.mu.Unlock()
	outcome := e.runsOK
	if err != nil {
		outcome = e.runsError
	}
	e.runs.Add(ctx, 1, outcome)
	e.duration.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		e.set.Logger.Warn("maturity scoring failed", zap.Error(err))
		e.reportStatus(componentstatus.NewRecoverableErrorEvent(fmt.Errorf("maturity scoring failed: %w", err)))
		return nil, err
	}
	e.reportStatus(componentstatus.NewEvent(componentstatus.StatusOK))
	e.set.Logger.Info("maturity scored", zap.Int("workloads", len(rep.Workloads)), zap.Duration("took", time.Since(start)))
	return rep, nil
}

// metricLabel bounds a label value from telemetry: valid UTF-8, at most
// maxLabelBytes.
func metricLabel(s string) string {
	return scoring.Truncate(strings.ToValidUTF8(s, "\uFFFD"), maxLabelBytes)
}

// stagePoints bounds aiops_maturity_stage's workload label: clients choose
// workload names, and every name would be a series. The top max workloads
// by model calls, then spend, keep their name; the rest share "other" at
// their lowest stage (so does a workload named "other").
func stagePoints(rep *scoring.Report, max int) []stagePoint {
	ws := make([]*scoring.WorkloadReport, len(rep.Workloads))
	for i := range rep.Workloads {
		ws[i] = &rep.Workloads[i]
	}
	sort.SliceStable(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.ModelCalls != b.ModelCalls {
			return a.ModelCalls > b.ModelCalls
		}
		if a.CostUSD != b.CostUSD {
			return a.CostUSD > b.CostUSD
		}
		return a.Workload < b.Workload
	})
	type key struct{ workload, framework string }
	lowest := map[key]int{}
	var order []key
	for i, w := range ws {
		label := otherWorkload
		if i < max {
			label = metricLabel(w.Workload)
		}
		for _, sc := range w.Scores {
			k := key{label, metricLabel(sc.Framework)}
			if v, ok := lowest[k]; !ok {
				order = append(order, k)
				lowest[k] = sc.Stage
			} else if sc.Stage < v {
				lowest[k] = sc.Stage
			}
		}
	}
	out := make([]stagePoint, 0, len(order))
	for _, k := range order {
		out = append(out, stagePoint{stage: int64(lowest[k]),
			attrs: attribute.NewSet(attribute.String("workload", k.workload), attribute.String("framework", k.framework))})
	}
	return out
}

func (e *maturityExtension) observe(_ context.Context, o metric.Observer) error {
	e.mu.RLock()
	pts, up := e.stagePoints, e.storeState == storeUp
	e.mu.RUnlock()
	for _, p := range pts {
		o.ObserveInt64(e.stage, p.stage, metric.WithAttributeSet(p.attrs))
	}
	connected := int64(0)
	if up {
		connected = 1
	}
	o.ObserveInt64(e.storeConnected, connected)
	return nil
}

// unavailable answers 503 with Retry-After and the reason, as JSON for
// JSON clients.
func unavailable(w http.ResponseWriter, asJSON bool, code, msg string, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	if !asJSON {
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "message": msg, "retry_after_seconds": retryAfter})
}

// notReady answers 503 while the store is down or before the first run;
// ok is false then.
func (e *maturityExtension) notReady(w http.ResponseWriter, asJSON bool) (rep *scoring.Report, ok bool) {
	e.mu.RLock()
	rep, lastErr, lastRun := e.latest, e.lastErr, e.lastRun
	state, storeErr, next := e.storeState, e.storeErr, e.nextAttempt
	e.mu.RUnlock()
	switch {
	case state == storeConnecting:
		unavailable(w, asJSON, "store_connecting", "the maturity extension is opening its store (ClickHouse)", 5)
	case state == storeDown:
		retry := max(1, int(math.Ceil(time.Until(next).Seconds())))
		unavailable(w, asJSON, "store_unavailable", fmt.Sprintf("the maturity extension cannot open its store (ClickHouse): %v; "+
			"it retries in the background, next attempt in %ds", storeErr, retry), retry)
	case rep == nil && lastErr != nil:
		unavailable(w, asJSON, "run_failed", fmt.Sprintf("the last scoring run (%s) failed: %v", lastRun.Format(time.RFC3339), lastErr), 30)
	case rep == nil:
		unavailable(w, asJSON, "no_report_yet", "no maturity report yet: the first scoring run has not finished", 30)
	default:
		return rep, true
	}
	return nil, false
}

// htmlCSP lets the self-contained report page render (inline styles and
// SVG) and nothing else: no scripts, no requests, no framing.
const htmlCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (e *maturityExtension) handler() http.Handler {
	mux := http.NewServeMux()
	page := func(format, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			rep, ok := e.notReady(w, format == "json")
			if !ok {
				return
			}
			var b bytes.Buffer
			if err := scoring.Render(&b, rep, format); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			if format == "html" {
				w.Header().Set("Content-Security-Policy", htmlCSP)
			}
			_, _ = w.Write(b.Bytes())
		}
	}
	mux.HandleFunc("GET /{$}", page("html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /report.json", page("json", "application/json"))
	mux.HandleFunc("GET /report.md", page("markdown", "text/markdown; charset=utf-8"))
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		e.mu.RLock()
		up := e.storeState == storeUp
		e.mu.RUnlock()
		if !up {
			e.notReady(w, true)
			return
		}
		// One run at a time, scheduled or requested: a second request
		// is refused rather than queued.
		if !e.runMu.TryLock() {
			w.Header().Set("Retry-After", busyRetryAfter)
			e.refuse(w, r, refusedBusy, http.StatusTooManyRequests, "a scoring run is in progress; retry when it has finished")
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		stop := context.AfterFunc(e.baseCtx, cancel) // Shutdown ends the run
		rep, err := e.runLocked(ctx)
		stop()
		cancel()
		e.runMu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_ = scoring.WriteJSON(w, rep)
	})
	return mux
}
