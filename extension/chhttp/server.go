package chhttp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/extension/chhttp/internal/metadata"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// Engine opening retries: the first after retryInitial, doubling to
// retryMax, until Shutdown.
const (
	retryInitial = time.Second
	retryMax     = time.Minute
)

// Outcomes of queries that ran, and reasons for requests refused before.
const (
	outcomeOK        = "ok"
	outcomeError     = "error"
	outcomeTimeout   = "timeout"
	outcomeLimit     = "limit"
	outcomeCancelled = "cancelled"

	reasonAuth       = "auth"
	reasonTooLarge   = "too_large"
	reasonBusy       = "busy"
	reasonSetting    = "setting"
	reasonStatement  = "statement"
	reasonBadRequest = "bad_request"
	reasonNotReady   = "not_ready"
)

var (
	outcomes = []string{outcomeOK, outcomeError, outcomeTimeout, outcomeLimit, outcomeCancelled}
	reasons  = []string{reasonAuth, reasonTooLarge, reasonBusy, reasonSetting, reasonStatement, reasonBadRequest, reasonNotReady}
)

// engineInfo is what the interface reports about the engine.
type engineInfo struct {
	displayName, timezone, version string
	settings                       map[string]bool // every setting name the engine knows
}

type server struct {
	cfg *Config
	set extension.Settings

	// openEngine opens the process's engine; tests count or replace it.
	openEngine func() (*chdb.Engine, error)

	users map[string][32]byte // name → sha256(password)

	httpServer *http.Server
	listener   net.Listener
	baseCtx    context.Context // cancelled by Shutdown: running queries are killed
	cancel     context.CancelFunc
	opened     chan struct{} // closed when the opener goroutine ends

	mu     sync.RWMutex
	eng    *chdb.Engine // nil until open
	info   engineInfo
	closed bool

	slots  chan struct{} // one per running query
	queued atomic.Int64

	idMu    sync.Mutex
	running map[string]bool // query ids in flight

	kills sync.WaitGroup // watchers that kill a query whose client left

	// sessions counts the engine sessions requests opened: a request
	// refused before the engine leaves it unchanged.
	sessions atomic.Int64

	queries      metric.Int64Counter
	refused      metric.Int64Counter
	inFlight     metric.Int64UpDownCounter
	duration     metric.Float64Histogram
	outcomeAttrs map[string]attribute.Set
	refusedAttrs map[string]metric.AddOption
}

func newServer(cfg *Config, set extension.Settings) (*server, error) {
	s := &server{cfg: cfg, set: set, users: map[string][32]byte{}, running: map[string]bool{},
		slots: make(chan struct{}, cfg.Limits.MaxConcurrentQueries), opened: make(chan struct{})}
	s.openEngine = func() (*chdb.Engine, error) {
		return chdb.Open(chdb.Options{DataDir: cfg.Embedded.Path, LibraryPath: cfg.Embedded.Library})
	}
	for _, u := range cfg.Users {
		s.users[u.Name] = sha256.Sum256([]byte(u.Password))
	}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs [4]error
	s.queries, errs[0] = meter.Int64Counter("aiops_clickhouse_http_queries",
		metric.WithDescription("Queries run on the engine, by outcome (ok, error, timeout, limit, cancelled)."), metric.WithUnit("{queries}"))
	s.refused, errs[1] = meter.Int64Counter("aiops_clickhouse_http_requests_refused",
		metric.WithDescription("Requests refused before their query ran, by reason (auth, too_large, busy, setting, statement, bad_request, not_ready)."),
		metric.WithUnit("{requests}"))
	s.inFlight, errs[2] = meter.Int64UpDownCounter("aiops_clickhouse_http_queries_in_flight",
		metric.WithDescription("Queries running on the engine now."), metric.WithUnit("{queries}"))
	s.duration, errs[3] = meter.Float64Histogram("aiops_clickhouse_http_query_duration",
		metric.WithDescription("Time a query ran on the engine, by outcome."), metric.WithUnit("s"))
	s.outcomeAttrs = map[string]attribute.Set{}
	for _, o := range outcomes {
		s.outcomeAttrs[o] = attribute.NewSet(attribute.String("outcome", o))
	}
	s.refusedAttrs = map[string]metric.AddOption{}
	for _, r := range reasons {
		s.refusedAttrs[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	return s, errors.Join(errs[:]...)
}

// Dependencies makes the collector start the authenticator first.
func (s *server) Dependencies() []component.ID {
	if a := s.cfg.ServerConfig.Auth.Get(); a != nil {
		return []component.ID{a.Config.AuthenticatorID}
	}
	return nil
}

// Start listens at once and opens the engine in the background: until it
// is open, queries are answered 503 and /ping "Ok.".
func (s *server) Start(ctx context.Context, host component.Host) error {
	var err error
	if s.listener, err = s.cfg.ServerConfig.ToListener(ctx); err != nil {
		return fmt.Errorf("clickhouse_http: listen on %s: %w", s.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	if err := s.checkAuthenticator(ctx, host); err != nil {
		return errors.Join(err, s.listener.Close())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.serveQuery)
	if s.httpServer, err = s.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), s.set.TelemetrySettings, mux); err != nil {
		return errors.Join(fmt.Errorf("clickhouse_http: %w", err), s.listener.Close())
	}
	// /ping answers without credentials, as ClickHouse's does: it says the
	// process is up, nothing more.
	authed := s.httpServer.Handler
	s.httpServer.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" || r.URL.Path == "/replicas_status" {
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			_, _ = w.Write([]byte("Ok.\n"))
			return
		}
		authed.ServeHTTP(w, r)
	})
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	go func() {
		if err := s.httpServer.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	go s.openLoop()
	auth := "users"
	switch {
	case s.cfg.ServerConfig.Auth.HasValue():
		auth = s.cfg.ServerConfig.Auth.Get().Config.AuthenticatorID.String()
		if len(s.users) > 0 {
			auth += " and users"
		}
	case s.cfg.AllowUnauthenticated:
		auth = "none (allow_unauthenticated)"
	}
	l := s.cfg.Limits
	s.set.Logger.Info("ClickHouse HTTP interface served", zap.String("endpoint", s.listener.Addr().String()), zap.String("auth", auth),
		zap.Int("users", len(s.users)), zap.String("data_dir", s.cfg.Embedded.Path), zap.Duration("max_execution_time", l.MaxExecutionTime),
		zap.Uint64("max_memory_usage", l.MaxMemoryUsage), zap.Int("max_concurrent_queries", l.MaxConcurrentQueries))
	return nil
}

// checkAuthenticator refuses an authenticator that lets a request without
// credentials through while no users are configured: the telemetry would
// be readable by anyone while the config looks protected.
func (s *server) checkAuthenticator(ctx context.Context, host component.Host) error {
	a := s.cfg.ServerConfig.Auth.Get()
	if a == nil || len(s.users) > 0 || s.cfg.AllowUnauthenticated {
		return nil
	}
	srv, err := a.Config.GetServerAuthenticator(ctx, host.GetExtensions())
	if err != nil {
		return fmt.Errorf("clickhouse_http: auth: %w", err)
	}
	for _, h := range []map[string][]string{{}, {"Authorization": {""}}, {"Authorization": {"Bearer "}}, {"Authorization": {"Basic Og=="}}} {
		if _, err := srv.Authenticate(ctx, h); err == nil {
			return fmt.Errorf("clickhouse_http: auth: authenticator %s accepts a request without credentials (an empty token?), so the "+
				"telemetry would be public; give it a credential, add users, or set allow_unauthenticated: true for local development only",
				a.Config.AuthenticatorID)
		}
	}
	return nil
}

// openLoop opens the engine, retrying until it opens or Shutdown.
func (s *server) openLoop() {
	defer close(s.opened)
	wait := retryInitial
	for {
		eng, err := s.openEngine()
		if err == nil {
			var info engineInfo
			if info, err = loadInfo(eng); err == nil {
				s.mu.Lock()
				if s.closed {
					s.mu.Unlock()
					_ = eng.Close()
					return
				}
				s.eng, s.info = eng, info
				s.mu.Unlock()
				s.set.Logger.Info("ClickHouse HTTP interface: engine open", zap.String("version", info.version), zap.String("data_dir", eng.DataDir()))
				return
			}
			_ = eng.Close()
		}
		s.set.Logger.Warn("ClickHouse HTTP interface: cannot open the engine yet; queries are answered 503 until it opens",
			zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-s.baseCtx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// loadInfo reads what the interface reports about the engine, and the
// names of its settings (to tell an unknown setting from a forbidden one).
func loadInfo(eng *chdb.Engine) (engineInfo, error) {
	sess, err := eng.NewSession()
	if err != nil {
		return engineInfo{}, err
	}
	defer sess.Close()
	ctx := context.Background()
	res, err := sess.Query(ctx, "SELECT displayName(), timezone(), version()", "TSVRaw")
	if err != nil {
		return engineInfo{}, err
	}
	f := strings.Split(strings.TrimRight(string(res.Data), "\n"), "\t")
	if len(f) != 3 {
		return engineInfo{}, fmt.Errorf("engine identity: unexpected %q", res.Data)
	}
	info := engineInfo{displayName: f[0], timezone: f[1], version: f[2], settings: map[string]bool{}}
	if res, err = sess.Query(ctx, "SELECT name FROM system.settings", "TSVRaw"); err != nil {
		return engineInfo{}, err
	}
	for _, n := range strings.Split(string(res.Data), "\n") {
		if n != "" {
			info.settings[n] = true
		}
	}
	return info, nil
}

func (s *server) engine() (*chdb.Engine, engineInfo) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.eng, s.info
}

// Shutdown stops listening, kills running queries, and releases the engine
// once they have returned.
func (s *server) Shutdown(ctx context.Context) error {
	if s.cancel == nil {
		return nil // never started
	}
	s.cancel()
	var errs []error
	if s.httpServer != nil {
		if err := s.httpServer.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	<-s.opened
	s.kills.Wait()
	s.mu.Lock()
	s.closed = true
	eng := s.eng
	s.eng = nil
	s.mu.Unlock()
	if eng != nil {
		errs = append(errs, eng.Close())
	}
	return errors.Join(errs...)
}
