package journalstorage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/extension/journalstorage/internal/metadata"
)

type journalExtension struct {
	cfg        *Config
	logger     *zap.Logger
	meter      metric.Meter
	mu         sync.Mutex
	open       map[string]*journal
	unregister metric.Registration
}

var _ storage.Extension = (*journalExtension)(nil)

func newExtension(cfg *Config, set extension.Settings) *journalExtension {
	return &journalExtension{cfg: cfg, logger: set.Logger, open: map[string]*journal{},
		meter: set.MeterProvider.Meter(metadata.ScopeName)}
}

func (e *journalExtension) Start(context.Context, component.Host) error {
	if e.cfg.CreateDirectory {
		if err := os.MkdirAll(e.cfg.Directory, 0o750); err != nil {
			return fmt.Errorf("journal_storage: create directory: %w", err)
		}
	}
	st, err := os.Stat(e.cfg.Directory)
	if err != nil {
		return fmt.Errorf("journal_storage: directory %s: %w (set create_directory: true to create it)", e.cfg.Directory, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("journal_storage: %s is not a directory", e.cfg.Directory)
	}
	diskBytes, err := e.meter.Int64ObservableGauge("aiops_journal_disk_bytes", metric.WithUnit("By"),
		metric.WithDescription("Bytes in the journal's segment files, by client."))
	if err != nil {
		return err
	}
	segments, err := e.meter.Int64ObservableGauge("aiops_journal_segments", metric.WithUnit("{segments}"),
		metric.WithDescription("Segment files held, by client; old ones stay while queued values point into them."))
	if err != nil {
		return err
	}
	e.unregister, err = e.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for name, j := range e.open {
			b, n := j.stats()
			attrs := metric.WithAttributes(attribute.String("client", name))
			o.ObserveInt64(diskBytes, b, attrs)
			o.ObserveInt64(segments, int64(n), attrs)
		}
		return nil
	}, diskBytes, segments)
	return err
}

func (e *journalExtension) Shutdown(context.Context) error {
	if e.unregister != nil {
		_ = e.unregister.Unregister()
	}
	e.mu.Lock()
	js := make([]*journal, 0, len(e.open))
	for _, j := range e.open {
		js = append(js, j)
	}
	e.mu.Unlock()
	var firstErr error
	for _, j := range js {
		if err := j.close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// GetClient opens the journal of one component (a directory of its own,
// named the way file_storage names its files).
func (e *journalExtension) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	raw := fmt.Sprintf("%s_%s_%s", strings.ToLower(kind.String()), id.Type(), id.Name())
	if name != "" {
		raw += "_" + name
	}
	dirName := sanitize(raw)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, busy := e.open[dirName]; busy {
		return nil, fmt.Errorf("journal_storage: client %s is already open", dirName)
	}
	j, err := openJournal(filepath.Join(e.cfg.Directory, dirName), int64(e.cfg.SegmentSizeMiB)<<20, e.cfg.Fsync, e.logger.With(zap.String("client", dirName)))
	if err != nil {
		return nil, fmt.Errorf("journal_storage: %w", err)
	}
	j.onClose = func() {
		e.mu.Lock()
		delete(e.open, dirName)
		e.mu.Unlock()
	}
	e.open[dirName] = j
	return client{j}, nil
}

// sanitize keeps a client name usable as one directory name.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "~%02x", c)
	}
	return b.String()
}
