package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/otelcol"
)

// replaceValidate swaps the core's validate, silent on success, for one that
// says "config OK" and lists the pipelines it found, then the Go memory limit
// the collector would run with (memStatus). The pipelines come from a
// converter, which sees the config as the collector does: every --config
// merged, --set applied, variables expanded. Only this command carries it.
func replaceValidate(root *cobra.Command, params otelcol.CollectorSettings, memStatus func() string) {
	rec := &pipelineRecorder{}
	set := params
	rs := &set.ConfigProviderSettings.ResolverSettings
	rs.ConverterFactories = append(slices.Clip(rs.ConverterFactories),
		confmap.NewConverterFactory(func(confmap.ConverterSettings) confmap.Converter { return rec }))
	var validate *cobra.Command
	for _, c := range otelcol.NewCommand(set).Commands() {
		if c.Name() == "validate" {
			validate = c
		}
	}
	for _, c := range root.Commands() {
		if c.Name() == "validate" && validate != nil {
			root.RemoveCommand(c)
		}
	}
	if validate == nil {
		return // the core changed; its own validate stays
	}
	inner := validate.RunE
	validate.RunE = func(cmd *cobra.Command, args []string) error {
		if err := inner(cmd, args); err != nil {
			return err
		}
		rec.print(cmd.OutOrStdout())
		if s := memStatus(); s != "" {
			fmt.Fprintln(cmd.OutOrStdout(), s)
		}
		return nil
	}
	validate.Parent().RemoveCommand(validate)
	root.AddCommand(validate)
}

type pipelineRecorder struct {
	mu        sync.Mutex
	pipelines map[string]any
}

func (r *pipelineRecorder) Convert(_ context.Context, conf *confmap.Conf) error {
	p, _ := conf.Get("service::pipelines").(map[string]any)
	r.mu.Lock()
	r.pipelines = p
	r.mu.Unlock()
	return nil
}

// print writes "config OK" and a line per pipeline:
// "  traces: otlp → memory_limiter, aitrace → aiops_clickhouse".
func (r *pipelineRecorder) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.pipelines))
	for id := range r.pipelines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "config OK: %d pipelines\n", len(ids))
	for _, id := range ids {
		p, _ := r.pipelines[id].(map[string]any)
		stages := []string{}
		for _, kind := range []string{"receivers", "processors", "exporters"} {
			var names []string
			l, _ := p[kind].([]any)
			for _, n := range l {
				names = append(names, fmt.Sprint(n))
			}
			if len(names) > 0 || kind != "processors" {
				stages = append(stages, strings.Join(names, ", "))
			}
		}
		fmt.Fprintf(w, "  %s: %s\n", id, strings.Join(stages, " → "))
	}
}

// fixConfigFlagUsage: the core's --config usage backquotes an example, which
// pflag shows as the value name ("--config --config=file:/path/to/first
// --config=file:path/to/second").
func fixConfigFlagUsage(cmd *cobra.Command) {
	if f := cmd.Flags().Lookup("config"); f != nil && strings.Contains(f.Usage, "`") {
		f.Usage = "config `uri`: file:path, env:VAR or yaml:key: value; repeat to merge several, e.g. --config=file:base.yaml --config=file:override.yaml"
	}
	for _, c := range cmd.Commands() {
		fixConfigFlagUsage(c)
	}
}
