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
	"strings"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

func run(params otelcol.CollectorSettings) error {
	cmd := otelcol.NewCommand(params)
	cmd.SetVersionTemplate(versionText(params.BuildInfo))
	cmd.AddCommand(migrateCommand(params.BuildInfo), queryCommand(), scoreCommand(), reconcileCommand(), pricingCommand())
	return cmd.Execute()
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
	dataDir  string
	library  string
	endpoint string
	username string
	database string
}

func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", os.Getenv("AIOPS_DATA_DIR"), "embedded engine data directory (default $AIOPS_DATA_DIR)")
	cmd.Flags().StringVar(&f.library, "libchdb", "", "path to libchdb.so (default $"+chdb.EnvLibrary+", then the `make libchdb` cache)")
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "ClickHouse server DSN (clickhouse://host:9000) instead of --data-dir; password from $CLICKHOUSE_PASSWORD")
	cmd.Flags().StringVar(&f.username, "username", os.Getenv("CLICKHOUSE_USERNAME"), "ClickHouse server user (default $CLICKHOUSE_USERNAME)")
	cmd.Flags().StringVar(&f.database, "database", "aiops", "database name")
}

func (f *storeFlags) open() (chstore.Store, error) {
	if f.endpoint != "" {
		return chstore.OpenServer(context.Background(), chstore.ServerOptions{
			DSN: f.endpoint, Username: f.username, Password: os.Getenv("CLICKHOUSE_PASSWORD"),
		})
	}
	if f.dataDir == "" {
		return nil, errors.New("--data-dir or --endpoint is required; with --data-dir the collector must not be running on it")
	}
	return chstore.OpenEmbedded(f.dataDir, f.library)
}

func migrateCommand(info component.BuildInfo) *cobra.Command {
	var sf storeFlags
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
		Short: "Run a read-only query on the embedded store and print the result",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := sf.open()
			if err != nil {
				return err
			}
			defer store.Close()
			emb, ok := store.(*chstore.Embedded)
			if !ok {
				return errors.New("query prints from the embedded store; use clickhouse-client for a server")
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
	cmd.Flags().StringVar(&format, "format", "PrettyCompactMonoBlock", "ClickHouse output format")
	return cmd
}
