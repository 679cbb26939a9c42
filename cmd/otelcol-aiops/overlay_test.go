package main

import (
	"os"
	"strings"
	"testing"
)

// The provider-usage overlay merges over both shipped configs; without its
// admin keys it refuses to start rather than polling with an empty key.
func TestProviderUsageOverlayValidates(t *testing.T) {
	t.Setenv("AIOPS_DATA_DIR", t.TempDir())
	t.Setenv("CLICKHOUSE_ENDPOINT", "clickhouse://127.0.0.1:9000")
	t.Setenv("AIOPS_REPORT_TOKEN", "test-report-token")
	t.Setenv("AIOPS_READER_PASSWORD", "test-reader-password")
	t.Setenv("OPENAI_ADMIN_KEY", "sk-admin-test")
	t.Setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin-test")
	for _, f := range []string{"../../config/embedded.yaml", "../../config/clickhouse.yaml"} {
		if err := collector(t, "validate", "--config=file:"+f, "--config=file:../../config/provider-usage.yaml"); err != nil {
			t.Errorf("%s + provider-usage.yaml: %v", f, err)
		}
	}
	t.Setenv("OPENAI_ADMIN_KEY", "")
	if err := collector(t, "validate", "--config=file:../../config/embedded.yaml", "--config=file:../../config/provider-usage.yaml"); err == nil {
		t.Error("validates without OPENAI_ADMIN_KEY")
	}
}

// The embedded config's ClickHouse HTTP interface serves the stored
// telemetry: without AIOPS_READER_PASSWORD (unset or empty) it does not
// start, rather than serving it without a password.
func TestEmbeddedConfigRequiresTheReaderPassword(t *testing.T) {
	t.Setenv("AIOPS_DATA_DIR", t.TempDir())
	t.Setenv("AIOPS_REPORT_TOKEN", "test-report-token")
	for _, unset := range []bool{true, false} {
		t.Setenv("AIOPS_READER_PASSWORD", "")
		if unset {
			os.Unsetenv("AIOPS_READER_PASSWORD")
		}
		err := collector(t, "validate", "--config=file:../../config/embedded.yaml")
		if err == nil || !strings.Contains(err.Error(), "clickhouse_http") || !strings.Contains(err.Error(), "password") {
			t.Errorf("unset=%v: %v, want clickhouse_http's password error", unset, err)
		}
	}
}
