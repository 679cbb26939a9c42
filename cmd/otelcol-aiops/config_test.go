package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/otelcol"
)

func settings() otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-aiops", Version: "test"},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			ProviderFactories: []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory()},
		}},
	}
}

// collector runs the collector's command line in-process.
func collector(t *testing.T, args ...string) error {
	t.Helper()
	cmd := otelcol.NewCommand(settings())
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SetOut(new(strings.Builder))
	cmd.SetErr(new(strings.Builder))
	return cmd.Execute()
}

func TestShippedConfigsValidate(t *testing.T) {
	t.Setenv("AIOPS_DATA_DIR", t.TempDir())
	t.Setenv("CLICKHOUSE_ENDPOINT", "clickhouse://127.0.0.1:9000")
	t.Setenv("AIOPS_REPORT_TOKEN", "test-report-token")
	t.Setenv("AIOPS_READER_PASSWORD", "test-reader-password")
	for _, f := range []string{"../../config/embedded.yaml", "../../config/clickhouse.yaml"} {
		if err := collector(t, "validate", "--config=file:"+f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The compose example merges its override, which listens on 0.0.0.0.
	if err := collector(t, "validate", "--config=file:../../config/clickhouse.yaml", "--config=file:../../deploy/compose/config/compose.yaml"); err != nil {
		t.Errorf("compose: %v", err)
	}
}

// The maturity report needs its token: without AIOPS_REPORT_TOKEN (unset or
// empty) the shipped configs do not validate, rather than serving the
// report to anyone.
func TestShippedConfigsRequireTheReportToken(t *testing.T) {
	t.Setenv("AIOPS_DATA_DIR", t.TempDir())
	t.Setenv("AIOPS_READER_PASSWORD", "test-reader-password")
	t.Setenv("CLICKHOUSE_ENDPOINT", "clickhouse://127.0.0.1:9000")
	for _, token := range []string{"unset", ""} {
		if token == "unset" {
			t.Setenv("AIOPS_REPORT_TOKEN", "")
			os.Unsetenv("AIOPS_REPORT_TOKEN")
		} else {
			t.Setenv("AIOPS_REPORT_TOKEN", token)
		}
		for _, f := range []string{"../../config/embedded.yaml", "../../config/clickhouse.yaml"} {
			err := collector(t, "validate", "--config=file:"+f)
			if err == nil || !strings.Contains(err.Error(), "bearertokenauth/maturity") || !strings.Contains(err.Error(), "no bearer token provided") {
				t.Errorf("%s with AIOPS_REPORT_TOKEN %s: %v, want bearertokenauth/maturity's \"no bearer token provided\"", f, token, err)
			}
		}
	}
}

// embeddedWith rewrites the shipped config with one change.
func embeddedWith(t *testing.T, old, new string) string {
	t.Helper()
	b, err := os.ReadFile("../../config/embedded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("config/embedded.yaml no longer contains %q", old)
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
	return "--config=file:" + p
}

func TestInvalidConfigsFailNamingTheField(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AIOPS_DATA_DIR", dir)
	t.Setenv("AIOPS_REPORT_TOKEN", "test-report-token")
	t.Setenv("AIOPS_READER_PASSWORD", "test-reader-password")
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new string
		run            bool // the error shows only when the collector starts
		want           []string
	}{
		{name: "unknown field", old: "content_ttl_days: 30", new: "content_ttl_dayz: 30",
			want: []string{"aiops_clickhouse", "content_ttl_dayz"}},
		{name: "unwritable data directory", old: "path: ${env:AIOPS_DATA_DIR:-./data}/clickhouse", new: "path: " + file + "/clickhouse",
			want: []string{"aiops_clickhouse", "embedded.path", "is not a directory"}},
		{name: "bad database name", old: "database: aiops", new: "database: \"ai-ops\"",
			want: []string{"aiops_clickhouse", "database:", "ai-ops"}},
		{name: "bad endpoint", old: "endpoint: 127.0.0.1:4317", new: "endpoint: 127.0.0.1:99999", run: true,
			want: []string{"otlp", "99999"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{embeddedWith(t, c.old, c.new)}
			if !c.run {
				args = append([]string{"validate"}, args...)
			}
			err := collector(t, args...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestVersionText(t *testing.T) {
	v := versionText(component.BuildInfo{Command: "otelcol-aiops", Version: "1.2.3"})
	for _, want := range []string{"otelcol-aiops version 1.2.3", "collector core ", "embedded engine chDB 26.7"} {
		if !strings.Contains(v, want) {
			t.Errorf("version text lacks %q:\n%s", want, v)
		}
	}
}
