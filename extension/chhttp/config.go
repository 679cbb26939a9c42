package chhttp

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Config of the clickhouse_http extension.
type Config struct {
	// ServerConfig is where the interface listens (endpoint, tls, auth with
	// a collector authenticator extension, ...); 127.0.0.1:8123 by default.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// Users are the ClickHouse users a request may name (X-ClickHouse-User
	// and X-ClickHouse-Key, basic auth, or user and password parameters).
	Users []UserConfig `mapstructure:"users"`
	// AllowUnauthenticated serves requests without credentials when no
	// users and no authenticator are configured: local development only.
	AllowUnauthenticated bool `mapstructure:"allow_unauthenticated"`

	// Embedded is the engine's data directory: the aiops_clickhouse
	// exporter's embedded.path (the process shares one engine).
	Embedded EmbeddedConfig `mapstructure:"embedded"`
	// Database is the current database when a request names none.
	Database string `mapstructure:"database"`

	// Limits bound every reader query so that none can starve the
	// exporter's inserts.
	Limits LimitsConfig `mapstructure:"limits"`

	_ struct{}
}

// UserConfig is one reader.
type UserConfig struct {
	Name     string              `mapstructure:"name"`
	Password configopaque.String `mapstructure:"password"`
	// Tenant would restrict the user to one tenant's rows; the embedded
	// engine cannot enforce it (see Validate).
	Tenant string `mapstructure:"tenant"`
}

// EmbeddedConfig locates the embedded engine.
type EmbeddedConfig struct {
	Path    string `mapstructure:"path"`
	Library string `mapstructure:"library"`
}

// LimitsConfig bounds reader queries. A request may ask for less, never more.
type LimitsConfig struct {
	// MaxExecutionTime ends a query that runs longer (TIMEOUT_EXCEEDED).
	MaxExecutionTime time.Duration `mapstructure:"max_execution_time"`
	// MaxMemoryUsage is the memory one query may take, in bytes.
	MaxMemoryUsage uint64 `mapstructure:"max_memory_usage"`
	// MaxThreads is the threads one query may use: the rest of the CPU
	// stays with the exporter's inserts.
	MaxThreads uint64 `mapstructure:"max_threads"`
	// MaxResultRows and MaxResultBytes bound a result, which the engine
	// holds in memory whole before it is sent.
	MaxResultRows  uint64 `mapstructure:"max_result_rows"`
	MaxResultBytes uint64 `mapstructure:"max_result_bytes"`
	// MaxQuerySize is the most query text a request may carry, in bytes;
	// larger requests are refused before the engine sees them.
	MaxQuerySize int `mapstructure:"max_query_size"`
	// MaxConcurrentQueries run at once; others wait up to QueueTimeout.
	MaxConcurrentQueries int `mapstructure:"max_concurrent_queries"`
	// MaxQueuedQueries may wait; beyond them a request is refused at once.
	MaxQueuedQueries int           `mapstructure:"max_queued_queries"`
	QueueTimeout     time.Duration `mapstructure:"queue_timeout"`
}

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = "127.0.0.1:8123"
	// A query may run for max_execution_time before its answer is written.
	srv.WriteTimeout = 0
	return &Config{
		ServerConfig: srv,
		Database:     "default",
		Limits: LimitsConfig{
			MaxExecutionTime:     30 * time.Second,
			MaxMemoryUsage:       1 << 30,
			MaxThreads:           1,
			MaxResultRows:        1_000_000,
			MaxResultBytes:       128 << 20,
			MaxQuerySize:         256 << 10,
			MaxConcurrentQueries: 2,
			MaxQueuedQueries:     64,
			QueueTimeout:         10 * time.Second,
		},
	}
}

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

// Validate checks every field before the collector starts.
func (c *Config) Validate() error {
	var errs []error
	if c.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: the address to listen on is required (e.g. 127.0.0.1:8123)"))
	}
	if c.ServerConfig.CORS.HasValue() {
		errs = append(errs, errors.New("cors: the ClickHouse HTTP interface sends no CORS headers, so that no page on another origin "+
			"reads the telemetry with a browser's stored credentials; remove cors"))
	}
	hasAuth := c.ServerConfig.Auth.HasValue()
	switch {
	case len(c.Users) > 0 && c.AllowUnauthenticated:
		errs = append(errs, errors.New("allow_unauthenticated: users are configured, so every request must name one; remove allow_unauthenticated"))
	case len(c.Users) == 0 && !hasAuth && !c.AllowUnauthenticated:
		errs = append(errs, errors.New("users: readers must authenticate; add a user (users: [{name: reader, password: ${env:AIOPS_READER_PASSWORD}}]), "+
			"or an authenticator extension under auth.authenticator, or set allow_unauthenticated: true for local development only"))
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		field := fmt.Sprintf("users[%d]", i)
		if u.Name != "" {
			field = fmt.Sprintf("users[%s]", u.Name)
		}
		switch {
		case !userNameRE.MatchString(u.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q must be 1 to 64 letters, digits or _.@-", field, u.Name))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is configured twice; give each user one entry", field, u.Name))
		}
		seen[u.Name] = true
		if u.Password == "" {
			errs = append(errs, fmt.Errorf("%s.password: a password is required (e.g. password: ${env:AIOPS_READER_PASSWORD} with the variable set); "+
				"an unset variable never means no password", field))
		}
		if u.Tenant != "" {
			errs = append(errs, fmt.Errorf("%s.tenant: the embedded engine cannot restrict a reader to one tenant: it runs every query as its one "+
				"built-in user and refuses CREATE USER and CREATE ROW POLICY, so the restriction could only be a rewrite of the reader's SQL, "+
				"which a query can escape. Use server mode for per-tenant readers: point the aiops_clickhouse exporter at a ClickHouse "+
				"server (clickhouse.endpoint), create a ClickHouse user per tenant with the row policies in dashboards/row-policies.sql, "+
				"and connect readers to that server; remove tenant here", field))
		}
	}
	if c.Embedded.Path == "" {
		errs = append(errs, errors.New("embedded.path: the engine's data directory is required: the same path as the aiops_clickhouse exporter's embedded.path"))
	}
	if c.Database != "" {
		if err := chstore.ValidIdent(c.Database); err != nil {
			errs = append(errs, fmt.Errorf("database: %w", err))
		}
	}
	errs = append(errs, c.Limits.validate()...)
	return errors.Join(errs...)
}

func (l *LimitsConfig) validate() []error {
	var errs []error
	check := func(ok bool, field, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("limits."+field+": "+format, args...))
		}
	}
	check(l.MaxExecutionTime >= time.Second && l.MaxExecutionTime <= time.Hour && l.MaxExecutionTime%time.Second == 0, "max_execution_time",
		"%s must be whole seconds from 1s to 1h: a query without a time bound could hold a query slot forever", l.MaxExecutionTime)
	check(l.MaxMemoryUsage >= 16<<20, "max_memory_usage", "%d bytes is below 16 MiB (16777216); no useful query fits", l.MaxMemoryUsage)
	check(l.MaxThreads >= 1 && l.MaxThreads <= 256, "max_threads", "%d must be 1 to 256", l.MaxThreads)
	check(l.MaxResultRows >= 1, "max_result_rows", "must be at least 1")
	check(l.MaxResultBytes >= 1<<10, "max_result_bytes", "%d bytes is below 1 KiB (1024)", l.MaxResultBytes)
	check(l.MaxQuerySize >= 1<<10 && l.MaxQuerySize <= 64<<20, "max_query_size", "%d bytes must be 1 KiB to 64 MiB (1024 to 67108864)", l.MaxQuerySize)
	check(l.MaxConcurrentQueries >= 1 && l.MaxConcurrentQueries <= 64, "max_concurrent_queries", "%d must be 1 to 64", l.MaxConcurrentQueries)
	check(l.MaxQueuedQueries >= 0 && l.MaxQueuedQueries <= 10000, "max_queued_queries", "%d must be 0 to 10000", l.MaxQueuedQueries)
	check(l.QueueTimeout >= 0 && l.QueueTimeout <= 5*time.Minute, "queue_timeout", "%s must be 0s to 5m", l.QueueTimeout)
	return errs
}
