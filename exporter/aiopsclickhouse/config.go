package aiopsclickhouse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Config of the aiops_clickhouse exporter.
type Config struct {
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueConfig                  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig                  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// Database holds every table; it is created when missing.
	Database string `mapstructure:"database"`
	// CreateSchema applies pending migrations at start. When false, the
	// exporter only verifies the schema and names what is missing.
	CreateSchema bool `mapstructure:"create_schema"`
	// TTLDays expires rows (0 keeps them); ContentTTLDays expires prompt and
	// response text sooner.
	TTLDays        int `mapstructure:"ttl_days"`
	ContentTTLDays int `mapstructure:"content_ttl_days"`

	// MaxRetryAge bounds how long a batch is retried while it keeps failing
	// with the same error that may never clear (an unclassified ClickHouse
	// error, a memory limit, a server bug); then it is dead-lettered. 0
	// retries such errors as long as retry_on_failure allows.
	MaxRetryAge time.Duration `mapstructure:"max_retry_age"`

	// SpansTable writes non-GenAI spans to the compact spans table.
	SpansTable bool `mapstructure:"spans_table"`
	// DeadLetterDir keeps batches that hit a permanent error. Defaults to a
	// dead-letter folder beside embedded.path; required with endpoint.
	DeadLetterDir string `mapstructure:"dead_letter_dir"`
	// Cluster, with endpoint, creates Replicated tables plus Distributed
	// tables ON CLUSTER this cluster.
	Cluster string `mapstructure:"cluster"`

	// Embedded writes to the in-process ClickHouse engine.
	Embedded EmbeddedConfig `mapstructure:"embedded"`

	// Endpoint writes to a ClickHouse server (>= 24.8) instead, over the
	// native protocol: a clickhouse-go DSN such as
	// clickhouse://ch1:9000,ch2:9000?dial_timeout=5s. Several hosts fail over.
	Endpoint string              `mapstructure:"endpoint"`
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// TLS for the server connection; plaintext unless insecure is false.
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// Compression of inserted blocks: lz4 (default), zstd or none.
	Compression string `mapstructure:"compression"`

	_ struct{}
}

// EmbeddedConfig locates the embedded engine and its data.
type EmbeddedConfig struct {
	// Path is the data directory.
	Path string `mapstructure:"path"`
	// Library is libchdb.so; empty searches $AIOPS_LIBCHDB and the user cache.
	Library string `mapstructure:"library"`
	// MemoryLimitMiB bounds the engine's own memory, which memory_limiter
	// and the Go heap limit do not see: max_server_memory_usage, with its
	// caches and merges bounded in proportion (see README, "Memory"). 0,
	// the default, keeps ClickHouse's defaults: a limit of 90% of the
	// machine's memory. The shipped config/embedded.yaml sets 256.
	MemoryLimitMiB uint32 `mapstructure:"memory_limit_mib"`
}

// engineMemory is the bounds the embedded engine starts with.
func (c EmbeddedConfig) engineMemory() chdb.Memory {
	if c.MemoryLimitMiB == 0 {
		return chdb.Memory{}
	}
	return chdb.MemoryFor(uint64(c.MemoryLimitMiB) << 20)
}

func (c *Config) schemaOptions() chstore.SchemaOptions {
	return chstore.SchemaOptions{Database: c.Database, TTLDays: c.TTLDays, ContentTTLDays: c.ContentTTLDays, Cluster: c.Cluster}
}

func (c *Config) deadLetterDir() string {
	if c.DeadLetterDir != "" || c.Embedded.Path == "" {
		return c.DeadLetterDir
	}
	return filepath.Join(filepath.Dir(filepath.Clean(c.Embedded.Path)), "dead-letter")
}

func (c *Config) Validate() error {
	var errs []error
	if err := chstore.ValidIdent(c.Database); err != nil {
		errs = append(errs, fmt.Errorf("database: %w", err))
	}
	if c.TTLDays < 0 {
		errs = append(errs, errors.New("ttl_days: must not be negative"))
	}
	if c.ContentTTLDays < 0 {
		errs = append(errs, errors.New("content_ttl_days: must not be negative"))
	}
	if c.MaxRetryAge < 0 {
		errs = append(errs, errors.New("max_retry_age: must not be negative; use 0 to retry unclassified errors as long as retry_on_failure allows"))
	}
	if c.TTLDays > 0 && c.ContentTTLDays > c.TTLDays {
		errs = append(errs, fmt.Errorf("content_ttl_days: %d exceeds ttl_days %d; content cannot outlive its row", c.ContentTTLDays, c.TTLDays))
	}
	switch {
	case c.Endpoint != "" && c.Embedded.Path != "":
		errs = append(errs, errors.New("endpoint and embedded.path are both set; choose a ClickHouse server or the embedded engine"))
	case c.Endpoint != "":
		if c.DeadLetterDir == "" {
			errs = append(errs, errors.New("dead_letter_dir: required with endpoint, so batches the server refuses for good are kept"))
		}
		if _, err := clickhouse.ParseDSN(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("endpoint: %w", err))
		}
		switch c.Compression {
		case "", "lz4", "zstd", "none":
		default:
			errs = append(errs, fmt.Errorf("compression: %q is not one of lz4, zstd, none", c.Compression))
		}
	case c.Cluster != "":
		errs = append(errs, errors.New("cluster: only applies to a ClickHouse server (endpoint)"))
	case c.Embedded.Path == "":
		errs = append(errs, errors.New("embedded.path: a data directory is required (or set endpoint to use a ClickHouse server)"))
	default:
		if err := checkWritableDir(c.Embedded.Path); err != nil {
			errs = append(errs, fmt.Errorf("embedded.path: %w", err))
		}
		if m := c.Embedded.MemoryLimitMiB; m != 0 && uint64(m)<<20 < chdb.MinMemoryLimit {
			errs = append(errs, fmt.Errorf("embedded.memory_limit_mib: %d is below %d, too little for an insert and a merge; raise it, or set 0 for ClickHouse's default (90%% of the machine's memory)",
				m, chdb.MinMemoryLimit>>20))
		}
	}
	if c.Cluster != "" {
		if err := chstore.ValidIdent(c.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("cluster: %w", err))
		}
	}
	if c.QueueConfig.HasValue() && c.QueueConfig.Get().Batch.HasValue() && c.QueueConfig.Get().Batch.Get().MaxSize > 0 {
		// Splitting cuts one request across inserts; its token would then
		// mark a half-written request as stored after a crash.
		errs = append(errs, errors.New("sending_queue.batch.max_size: must be 0 (unset); the exporter merges whole requests so that retries after a crash stay exactly-once"))
	}
	if c.Embedded.Library != "" {
		if st, err := os.Stat(c.Embedded.Library); err != nil || st.IsDir() {
			errs = append(errs, fmt.Errorf("embedded.library: %q is not a file; leave it empty to use $AIOPS_LIBCHDB or the `make libchdb` cache", c.Embedded.Library))
		}
	}
	return errors.Join(errs...)
}

// checkWritableDir accepts an existing writable directory, or a path whose
// nearest existing ancestor is a writable directory (it will be created).
func checkWritableDir(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s cannot be used as a data directory: %s is not a directory", abs, p)
			}
			if err := syscall.Access(p, 0x2 /* W_OK */); err != nil {
				return fmt.Errorf("%s is not writable: %w", p, err)
			}
			return nil
		}
		if !os.IsNotExist(err) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("%s: %w", p, err)
		}
		if p == filepath.Dir(p) {
			return fmt.Errorf("%s: no existing ancestor directory", abs)
		}
	}
}
