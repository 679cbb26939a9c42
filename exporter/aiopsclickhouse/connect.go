package aiopsclickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Reconnect backoff while the store cannot be opened.
const (
	reconnectInitial = time.Second
	reconnectMax     = 30 * time.Second
)

// start tries the store once. If it cannot be reached for a reason that
// time can fix (the server is down, the network or Keeper is out), the
// exporter starts anyway and connects in the background: until then pushes
// fail retryably and the sending queue holds the data. A schema that is not
// ready, or any error time cannot fix, fails the start as before.
func (e *chExporter) start(ctx context.Context, host component.Host) error {
	e.mu.Lock()
	e.host = host
	e.mu.Unlock()
	err := e.connect(ctx)
	if err == nil {
		return nil
	}
	if cls := chstore.ClassifyError(err); errors.Is(err, chstore.ErrSchemaNotReady) || cls.Permanent || cls.Reason == chstore.ReasonUnclassified {
		return fmt.Errorf("aiops_clickhouse: %w", err)
	}
	e.notConnected(err)
	loop, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.stopLoop, e.loopDone = cancel, make(chan struct{})
	e.mu.Unlock()
	go e.reconnect(loop, e.loopDone)
	return nil
}

// connect opens the store and migrates or verifies the schema.
func (e *chExporter) connect(ctx context.Context) error {
	store, where, err := e.openStore(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if e.storeFor != nil {
		store = e.storeFor(store)
	}
	if e.cfg.CreateSchema {
		applied, err := chstore.Migrate(ctx, store, e.cfg.schemaOptions(), "otelcol-aiops "+e.version)
		if err != nil {
			store.Close()
			return fmt.Errorf("schema migration: %w", err)
		}
		if len(applied) > 0 {
			e.logger.Info("applied schema migrations", zap.Ints("versions", applied), zap.String("database", e.cfg.Database))
		}
	} else if err := chstore.Verify(ctx, store, e.cfg.Database); err != nil {
		store.Close()
		return fmt.Errorf("create_schema is false and %w", err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return store.Close()
	}
	e.store, e.connErr = store, nil
	e.mu.Unlock()
	e.logger.Info("aiops_clickhouse ready", zap.String("store", store.Kind()), zap.String("engine_version", store.Version()),
		zap.String("at", where), zap.String("database", e.cfg.Database), zap.String("dead_letter_dir", e.dlq.dir))
	e.setStatus(nil)
	return nil
}

// reconnect retries connect with backoff until it succeeds or shutdown.
func (e *chExporter) reconnect(ctx context.Context, done chan struct{}) {
	defer close(done)
	delay := e.reconnectInitial
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		err := e.connect(ctx)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		e.notConnected(err)
		delay = min(2*delay, e.reconnectMax)
	}
}

// notConnected records why the store is not open, reports it as a
// recoverable error and logs once per kind of failure.
func (e *chExporter) notConnected(err error) {
	kind := chstore.ClassifyError(err).Reason
	if errors.Is(err, chstore.ErrSchemaNotReady) {
		kind = "schema_not_ready"
	}
	e.mu.Lock()
	e.connErr = err
	changed := kind != e.connKind
	e.connKind = kind
	e.mu.Unlock()
	if changed {
		level := e.logger.Warn
		if kind == "schema_not_ready" {
			level = e.logger.Error // an operator must migrate; data waits in the queue
		}
		level("aiops_clickhouse cannot use the store yet; retrying in the background, the sending queue holds data meanwhile (logged once per kind)",
			zap.String("kind", kind), zap.Error(err))
	}
	e.setStatus(err)
}

// current is the open store, or a retryable error while there is none.
func (e *chExporter) current() (chstore.Store, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store != nil {
		return e.store, nil
	}
	if e.connErr != nil {
		return nil, fmt.Errorf("%w: %v", chstore.ErrNotConnected, e.connErr)
	}
	return nil, chstore.ErrNotConnected
}

// setStatus reports OK (nil) or a recoverable error to the host, only when
// the status changes, so health_check shows a store that is down.
func (e *chExporter) setStatus(err error) {
	e.mu.Lock()
	host, closed, was := e.host, e.closed, e.statusErr
	e.statusErr = err != nil
	e.mu.Unlock()
	if host == nil || closed || (err != nil) == was {
		return // unchanged; OK is reported by the collector once start returns
	}
	if err == nil {
		componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
		return
	}
	componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(err))
}

func (e *chExporter) shutdown(context.Context) error {
	e.mu.Lock()
	e.closed = true
	stop, done := e.stopLoop, e.loopDone
	e.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if e.registration != nil {
		e.registration.Unregister()
	}
	e.pending.clear()
	e.mu.Lock()
	store := e.store
	e.store = nil
	e.mu.Unlock()
	if store == nil {
		return nil
	}
	return store.Close()
}

func (e *chExporter) open(ctx context.Context) (chstore.Store, string, error) {
	if e.cfg.Endpoint == "" {
		s, err := chstore.OpenEmbedded(e.cfg.Embedded.Path, e.cfg.Embedded.Library)
		where := "embedded engine in " + e.cfg.Embedded.Path
		if err != nil {
			return nil, where, err // a nil *Embedded must not become a non-nil Store
		}
		// The engine keeps the bounds it started with; another exporter on
		// the same path with other bounds may have set them.
		if got, want := s.Engine().Memory(), e.cfg.Embedded.engineMemory(); got != want {
			e.logger.Warn("the embedded engine already runs with other memory bounds than embedded.memory_limit_mib; give every aiops_clickhouse exporter on one path the same value",
				zap.Uint64("engine_limit_mib", got.Limit>>20), zap.Uint32("memory_limit_mib", e.cfg.Embedded.MemoryLimitMiB))
		}
		return s, where, nil
	}
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, "tls", err
	}
	where := "server " + redactDSN(e.cfg.Endpoint)
	s, err := chstore.OpenServer(ctx, chstore.ServerOptions{
		DSN: e.cfg.Endpoint, Username: e.cfg.Username, Password: string(e.cfg.Password),
		TLS: tlsCfg, Compression: e.cfg.Compression,
	})
	if err != nil {
		return nil, where, err
	}
	return s, where, nil
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
