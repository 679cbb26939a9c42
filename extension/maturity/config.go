package maturity

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	scoring "github.com/otelcol-aiops/otelcol-aiops/maturity"
)

// Config of the maturity extension.
type Config struct {
	// HTTP is where the report is served (endpoint, auth, tls, ...): a local
	// address, protected by an authenticator extension.
	HTTP confighttp.ServerConfig `mapstructure:"http"`
	// AllowUnauthenticated serves the report and POST /run without an
	// authenticator: for local development only.
	AllowUnauthenticated bool `mapstructure:"allow_unauthenticated"`
	// AllowedHosts are the Host header values the report answers (host or
	// host:port); by default the endpoint's own host:port, and the loopback
	// names for a loopback endpoint. Anything else gets 421: a DNS-rebinding
	// page reaches the port under its own host name.
	AllowedHosts []string `mapstructure:"allowed_hosts"`
	// MaxMetricWorkloads bounds the workload label of aiops_maturity_stage:
	// the top N workloads by model calls, then spend, and one "other".
	MaxMetricWorkloads int `mapstructure:"max_metric_workloads"`

	// Database holds the otelcol-aiops tables and maturity_scores.
	Database string `mapstructure:"database"`
	// CreateSchema applies pending migrations (maturity_scores among them) at
	// start; when false the extension requires them applied.
	CreateSchema bool `mapstructure:"create_schema"`
	// Embedded reads the in-process engine's data directory: the same path
	// as the aiops_clickhouse exporter's embedded.path.
	Embedded EmbeddedConfig `mapstructure:"embedded"`
	// ClickHouse reads a ClickHouse server instead.
	ClickHouse ServerStoreConfig `mapstructure:"clickhouse"`

	// Interval between scoring runs.
	Interval time.Duration `mapstructure:"interval"`
	// InitialDelay before the first run, so the exporter has written.
	InitialDelay time.Duration `mapstructure:"initial_delay"`
	// Window scored by each run, ending at the run.
	Window time.Duration `mapstructure:"window"`
	// Workloads limits scoring to these; empty scores all.
	Workloads []string `mapstructure:"workloads"`
	// Registry is the workload registry YAML (owners, on-call, SLOs, ...).
	Registry string `mapstructure:"registry"`
	// Rubrics is a directory of rubric YAML files over the built-in ones.
	Rubrics string `mapstructure:"rubrics"`

	_ struct{}
}

// EmbeddedConfig locates the embedded engine.
type EmbeddedConfig struct {
	Path    string `mapstructure:"path"`
	Library string `mapstructure:"library"`
}

// ServerStoreConfig is a ClickHouse server (>= 24.8).
type ServerStoreConfig struct {
	Endpoint    string                 `mapstructure:"endpoint"`
	Username    string                 `mapstructure:"username"`
	Password    configopaque.String    `mapstructure:"password"`
	TLS         configtls.ClientConfig `mapstructure:"tls"`
	Compression string                 `mapstructure:"compression"`
}

// maxMetricWorkloads is the most max_metric_workloads may be: each is a
// series per framework in every scrape.
const maxMetricWorkloads = 1000

// Validate checks every field before the collector starts.
func (c *Config) Validate() error {
	var errs []error
	if c.HTTP.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("http.endpoint: the address to serve the report on is required (e.g. 127.0.0.1:8890)"))
	}
	if !c.HTTP.Auth.HasValue() && !c.AllowUnauthenticated {
		errs = append(errs, errors.New("http.auth: the report and POST /run require an authenticator; set http.auth.authenticator "+
			"(e.g. bearertokenauth/maturity with token: ${env:AIOPS_REPORT_TOKEN}), or allow_unauthenticated: true for local development only"))
	}
	if c.HTTP.CORS.HasValue() {
		errs = append(errs, errors.New("http.cors: the maturity extension never sends CORS headers, so that no page on another origin "+
			"reads the report or triggers POST /run; remove http.cors"))
	}
	for name := range c.HTTP.ResponseHeaders.Iter {
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			errs = append(errs, fmt.Errorf("http.response_headers: %s is a CORS header, which the maturity extension never sends; remove it", name))
		}
	}
	if _, err := c.hostRule(""); err != nil {
		errs = append(errs, err)
	}
	if c.MaxMetricWorkloads < 1 || c.MaxMetricWorkloads > maxMetricWorkloads {
		errs = append(errs, fmt.Errorf("max_metric_workloads: %d is outside 1..%d", c.MaxMetricWorkloads, maxMetricWorkloads))
	}
	if err := chstore.ValidIdent(c.Database); err != nil {
		errs = append(errs, fmt.Errorf("database: %w", err))
	}
	switch {
	case c.Embedded.Path != "" && c.ClickHouse.Endpoint != "":
		errs = append(errs, errors.New("embedded.path and clickhouse.endpoint are both set; choose one store"))
	case c.Embedded.Path == "" && c.ClickHouse.Endpoint == "":
		errs = append(errs, errors.New("embedded.path (the aiops_clickhouse exporter's data directory) or clickhouse.endpoint is required"))
	case c.ClickHouse.Endpoint != "":
		if _, err := clickhouse.ParseDSN(c.ClickHouse.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("clickhouse.endpoint: %w", err))
		}
	}
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("interval: %s is shorter than 1s", c.Interval))
	}
	if c.InitialDelay < 0 {
		errs = append(errs, errors.New("initial_delay: must not be negative"))
	}
	if c.Window <= 0 {
		errs = append(errs, errors.New("window: must be positive"))
	}
	if _, err := scoring.LoadRegistry(c.Registry); err != nil {
		errs = append(errs, fmt.Errorf("registry: %w", err))
	}
	if _, err := scoring.LoadDir(c.Rubrics); err != nil {
		errs = append(errs, fmt.Errorf("rubrics: %w", err))
	}
	return errors.Join(errs...)
}
