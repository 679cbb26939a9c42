package main

// ocb's main_others.go (a run that only calls runInteractive) and
// main_windows.go (Windows service mode) are replaced by this file, so that
// the one binary carries our subcommands and version text. main.go and
// components.go stay exactly as ocb generates them; see ocb_test.go.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/memlimit"
)

func run(params otelcol.CollectorSettings) error {
	return rootCommand(params).Execute()
}

func rootCommand(params otelcol.CollectorSettings) *cobra.Command {
	memStatus := withMemoryLimit(&params)
	cmd := otelcol.NewCommand(params)
	cmd.SetVersionTemplate(versionText(params.BuildInfo))
	cmd.AddCommand(migrateCommand(params.BuildInfo), queryCommand(), scoreCommand(), reconcileCommand(), pricingCommand())
	replaceValidate(cmd, params, memStatus)
	fixConfigFlagUsage(cmd)
	return cmd
}

// withMemoryLimit adds the converter that gives the Go runtime the
// memory_limiter's soft limit when GOMEMLIMIT is unset (internal/memlimit).
// A converter sees the configuration as the collector does, every --config
// merged, and runs again on each reload. The returned function tells what
// the last resolution decided, for validate.
func withMemoryLimit(params *otelcol.CollectorSettings) func() string {
	var last atomic.Pointer[memlimit.Converter]
	rs := &params.ConfigProviderSettings.ResolverSettings
	rs.ConverterFactories = append(slices.Clip(rs.ConverterFactories), memlimit.NewFactory(func(c *memlimit.Converter) { last.Store(c) }))
	return func() string {
		if c := last.Load(); c != nil {
			return c.Status()
		}
		return ""
	}
}

// versionText names our version, the collector core it is built on, and the
// embedded engine when its library can be found.
func versionText(info component.BuildInfo) string {
	collector := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.opentelemetry.io/collector/otelcol" {
				collector = d.Version
			}
		}
	}
	engine := "not installed (run `make libchdb` or set $" + chdb.EnvLibrary + ")"
	if path, v, err := chdb.ProbeLibrary(""); err == nil {
		engine = fmt.Sprintf("chDB %s (ClickHouse engine) from %s", v, path)
	} else if path != "" {
		engine = fmt.Sprintf("unusable library at %s: %v", path, err)
	}
	return fmt.Sprintf("%s version %s\ncollector core %s\nembedded engine %s\n", info.Command, info.Version, collector, engine)
}

type storeFlags struct {
	dataDir      string
	library      string
	endpoint     string
	username     string
	passwordFile string
	database     string
	// initEmpty lets migrate start a new engine in an empty --data-dir.
	initEmpty bool
}

// register adds the flags that pick the store. A backquoted word in a usage
// text is the flag's value name in --help (pflag), so none holds a phrase.
func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", os.Getenv("AIOPS_DATA_DIR"),
		"the collector's data `directory` ($AIOPS_DATA_DIR, e.g. ./data) or the engine directory in it (./data/clickhouse); the collector must be stopped")
	cmd.Flags().StringVar(&f.library, "libchdb", "", "`path` to libchdb.so (default $"+chdb.EnvLibrary+", then the cache that make libchdb fills)")
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "",
		"ClickHouse `url` instead of --data-dir: "+liveEndpoint+" is a running collector's HTTP interface; a server's is http(s)://host:8123 or clickhouse://host:9000")
	cmd.Flags().StringVar(&f.username, "username", os.Getenv("CLICKHOUSE_USERNAME"), "ClickHouse `user` for --endpoint (default $CLICKHOUSE_USERNAME)")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "`file` holding the password for --endpoint (default $CLICKHOUSE_PASSWORD)")
	cmd.Flags().StringVar(&f.database, "database", "aiops", "database `name`")
}

func (f *storeFlags) open() (chstore.Store, error) {
	if f.endpoint != "" {
		u, err := parseEndpoint(f.endpoint)
		if err != nil {
			return nil, err
		}
		user, password, err := f.credentials(u)
		if err != nil {
			return nil, err
		}
		return chstore.OpenServer(context.Background(), serverOptions(u, user, password))
	}
	dir, err := engineDir(f.dataDir, f.initEmpty)
	if err != nil {
		return nil, err
	}
	return chstore.OpenEmbedded(dir, f.library)
}

func migrateCommand(info component.BuildInfo) *cobra.Command {
	sf := storeFlags{initEmpty: true}
	var printOnly bool
	var ttl, contentTTL int
	var cluster string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the schema migrations (for deployments that set create_schema: false)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := chstore.SchemaOptions{Database: sf.database, TTLDays: ttl, ContentTTLDays: contentTTL, Cluster: cluster}
			if printOnly {
				stmts, err := chstore.SchemaSQL(opts)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), strings.Join(stmts, ";\n\n")+";")
				return nil
			}
			store, err := sf.open()
			if err != nil {
				return err
			}
			defer store.Close()
			applied, err := chstore.Migrate(context.Background(), store, opts, "otelcol-aiops migrate "+info.Version)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied migrations %v to %s (schema now at version %d)\n", applied, sf.database, chstore.Migrations[len(chstore.Migrations)-1].Version)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&printOnly, "print", false, "print the SQL instead of running it")
	cmd.Flags().IntVar(&ttl, "ttl-days", 0, "row TTL in days (0 keeps rows)")
	cmd.Flags().IntVar(&contentTTL, "content-ttl-days", 0, "prompt/response text TTL in days (0 = row TTL)")
	cmd.Flags().StringVar(&cluster, "cluster", "", "create Replicated + Distributed tables ON CLUSTER this cluster (server only)")
	return cmd
}

func queryCommand() *cobra.Command {
	var sf storeFlags
	var format string
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Run a read-only query on the embedded store (or a running collector's --endpoint) and print the result",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sf.endpoint != "" {
				u, err := parseEndpoint(sf.endpoint)
				if err != nil {
					return err
				}
				if !isHTTP(u) {
					return errors.New("query prints over a ClickHouse HTTP interface (--endpoint " + liveEndpoint + ") or from --data-dir; use clickhouse-client for a native endpoint")
				}
				user, password, err := sf.credentials(u)
				if err != nil {
					return err
				}
				out, err := httpQuery(cmd.Context(), u, user, password, sf.database, format, args[0])
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(out)
				return err
			}
			store, err := sf.open()
			if err != nil {
				return err
			}
			defer store.Close()
			emb, ok := store.(*chstore.Embedded)
			if !ok {
				return errors.New("query prints from the embedded store or a ClickHouse HTTP interface")
			}
			// readonly=1 keeps an operator's typo from changing data.
			res, err := emb.Engine().Query(context.Background(), args[0]+" SETTINGS readonly = 1", format)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(res.Data)
			return err
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "PrettyCompactMonoBlock", "ClickHouse output `format`")
	return cmd
}
