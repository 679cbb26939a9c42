package memlimit

import (
	"context"
	"os"
	"runtime/debug"
	"sync"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// Converter applies the derived limit each time the collector resolves its
// configuration: at start, in `validate`, and on every reload. It changes
// nothing in the configuration.
type Converter struct {
	logger *zap.Logger
	// Seams for tests.
	getenv   func(string) (string, bool)
	setLimit func(int64) int64
	total    func() (uint64, error)

	mu      sync.Mutex
	applied int64  // the limit this converter set; 0 while none
	before  int64  // the runtime's limit before the first one
	logged  string // the last state logged, so each is logged once
	status  string // the outcome, for `validate`
}

// NewConverter returns a Converter on the real runtime and environment.
func NewConverter(logger *zap.Logger) *Converter {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Converter{logger: logger, getenv: os.LookupEnv, setLimit: debug.SetMemoryLimit, total: TotalMemory}
}

// NewFactory makes a Converter per resolver, logging to the collector's
// logger. status, if not nil, receives the Converter made (for `validate`).
func NewFactory(status func(*Converter)) confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(set confmap.ConverterSettings) confmap.Converter {
		c := NewConverter(set.Logger)
		if status != nil {
			status(c)
		}
		return c
	})
}

// Convert sets the Go runtime's soft limit from conf's memory_limiter, unless
// GOMEMLIMIT is set. It never fails the configuration: memory_limiter
// reports its own errors.
func (c *Converter) Convert(_ context.Context, conf *confmap.Conf) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, set := c.getenv(EnvVar); set && v != "" {
		c.restore()
		c.report("Go memory limit: "+EnvVar+"="+v+" (set in the environment; memory_limiter's soft limit is not applied)", func() {
			c.logger.Info("GOMEMLIMIT is set in the environment; the Go memory limit is not derived from memory_limiter", zap.String(EnvVar, v))
		})
		return nil
	}
	lim, ok, err := Derive(conf, c.total)
	switch {
	case err != nil:
		c.restore()
		c.report("Go memory limit: none ("+err.Error()+")", func() {
			c.logger.Warn("No Go memory limit derived from memory_limiter; set GOMEMLIMIT", zap.Error(err))
		})
	case !ok:
		c.restore()
		c.report("Go memory limit: none (no memory_limiter in a pipeline, and GOMEMLIMIT is unset)", func() {
			c.logger.Info("No memory_limiter in any pipeline and GOMEMLIMIT is unset: the Go runtime has no soft memory limit")
		})
	default:
		if c.applied == 0 {
			c.before = c.setLimit(-1) // reads without changing
		}
		c.applied = int64(lim.Bytes)
		c.setLimit(c.applied)
		c.report("Go memory limit: "+lim.String(), func() {
			f := []zap.Field{zap.Uint64("limit_mib", lim.Bytes/mib), zap.String("processor", lim.Processor),
				zap.Uint64("memory_limiter_limit_mib", lim.Hard/mib), zap.Uint64("memory_limiter_spike_mib", lim.Spike/mib)}
			if lim.Total > 0 {
				f = append(f, zap.Uint64("total_memory_mib", lim.Total/mib))
			}
			c.logger.Info("Go memory limit set to memory_limiter's soft limit (limit − spike); set GOMEMLIMIT to override", f...)
		})
	}
	return nil
}

// restore puts back the runtime's own limit after one this converter set,
// when a reloaded configuration no longer gives one.
func (c *Converter) restore() {
	if c.applied != 0 {
		c.setLimit(c.before)
		c.applied = 0
	}
}

// report records the outcome and logs it when it changed.
func (c *Converter) report(status string, log func()) {
	c.status = status
	if status != c.logged {
		c.logged = status
		log()
	}
}

// Status is the last outcome, one line, e.g. "Go memory limit: 256 MiB from
// memory_limiter (limit 320 MiB − spike 64 MiB)".
func (c *Converter) Status() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Applied is the limit this converter set, 0 when none.
func (c *Converter) Applied() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied
}
