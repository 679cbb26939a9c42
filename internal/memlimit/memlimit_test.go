package memlimit

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"
)

func conf(t *testing.T, y string) *confmap.Conf {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return confmap.NewFromStringMap(m)
}

func fixedTotal(n uint64) func() (uint64, error) {
	return func() (uint64, error) { return n, nil }
}

func noTotal() (uint64, error) { return 0, errors.New("total memory must not be read for limit_mib") }

func TestDerive(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name, yaml string
		total      func() (uint64, error)
		want       uint64 // MiB; 0: none
		from       string
	}{
		{name: "absolute", total: noTotal, want: 256, from: "memory_limiter", yaml: `
processors: {memory_limiter: {check_interval: 1s, limit_mib: 320, spike_limit_mib: 64}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`},
		{name: "absolute, default spike is a fifth", total: noTotal, want: 400, from: "memory_limiter", yaml: `
processors: {memory_limiter: {check_interval: 1s, limit_mib: 500}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`},
		{name: "limit_mib wins over a percentage", total: noTotal, want: 200, from: "memory_limiter", yaml: `
processors: {memory_limiter: {check_interval: 1s, limit_mib: 250, spike_limit_mib: 50, limit_percentage: 75, spike_limit_percentage: 20}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`},
		{name: "percentage of the total", total: fixedTotal(4000 * mib), want: 2200, from: "memory_limiter", yaml: `
processors: {memory_limiter: {check_interval: 1s, limit_percentage: 75, spike_limit_percentage: 20}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`},
		{name: "percentage, default spike", total: fixedTotal(1000 * mib), want: 400, from: "memory_limiter/p", yaml: `
processors: {memory_limiter/p: {check_interval: 1s, limit_percentage: 50}}
service: {pipelines: {logs: {processors: [memory_limiter/p]}}}`},
		{name: "no memory_limiter", total: noTotal, want: 0, yaml: `
processors: {batch: {}}
service: {pipelines: {traces: {processors: [batch]}}}`},
		{name: "defined but in no pipeline", total: noTotal, want: 0, yaml: `
processors: {memory_limiter: {check_interval: 1s, limit_mib: 320}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}`},
		{name: "the smallest of several", total: fixedTotal(10 * gib), want: 300, from: "memory_limiter/small", yaml: `
processors:
  memory_limiter: {check_interval: 1s, limit_mib: 1000, spike_limit_mib: 100}
  memory_limiter/small: {check_interval: 1s, limit_mib: 400, spike_limit_mib: 100}
  memory_limiter/pct: {check_interval: 1s, limit_percentage: 10, spike_limit_percentage: 2}
  batch: {}
service:
  pipelines:
    traces: {processors: [memory_limiter, batch]}
    logs: {processors: [memory_limiter/small]}
    metrics: {processors: [memory_limiter/pct, memory_limiter]}`},
		{name: "a limiter the collector would refuse is skipped", total: noTotal, want: 90, from: "memory_limiter/ok", yaml: `
processors:
  memory_limiter/bad: {check_interval: 1s, limit_mib: 64, spike_limit_mib: 64}
  memory_limiter/none: {check_interval: 1s}
  memory_limiter/ok: {check_interval: 1s, limit_mib: 100, spike_limit_mib: 10}
service: {pipelines: {traces: {processors: [memory_limiter/bad, memory_limiter/none, memory_limiter/ok]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim, ok, err := Derive(conf(t, tc.yaml), tc.total)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == 0 {
				if ok {
					t.Fatalf("want no limit, got %v", lim)
				}
				return
			}
			if !ok || lim.Bytes != tc.want*mib || lim.Processor != tc.from {
				t.Fatalf("got %v (ok %v), want %d MiB from %s", lim, ok, tc.want, tc.from)
			}
		})
	}
}

// TestThroughTheResolver runs the converter as the collector does: after
// providers and ${env:...} expansion, with the config merged from two files.
func TestThroughTheResolver(t *testing.T) {
	t.Setenv("ML_LIMIT", "300")
	var made *Converter
	rt := &fakeRuntime{limit: math.MaxInt64}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("processors:\n  memory_limiter:\n    check_interval: 1s\n    limit_mib: ${env:ML_LIMIT}\n    spike_limit_mib: 60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:               []string{"file:" + file, "yaml:service::pipelines::traces::processors: [memory_limiter]"},
		ProviderFactories:  []confmap.ProviderFactory{fileprovider.NewFactory(), yamlprovider.NewFactory(), envprovider.NewFactory()},
		ConverterFactories: []confmap.ConverterFactory{NewFactory(func(c *Converter) { c.setLimit = rt.set; made = c })},
		DefaultScheme:      "env",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Resolve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if made == nil || rt.limit != 240*mib {
		t.Fatalf("runtime limit %d, want 240 MiB (status %q)", rt.limit, made.Status())
	}
}

func TestDerivePercentageWithoutTotalIsAnError(t *testing.T) {
	_, _, err := Derive(conf(t, `
processors: {memory_limiter: {check_interval: 1s, limit_percentage: 80}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`), func() (uint64, error) { return 0, errors.New("no /proc") })
	if err == nil || !strings.Contains(err.Error(), "limit_percentage") {
		t.Fatalf("got %v", err)
	}
}

// fakeRoot lays out the files TotalMemory reads under a temporary root.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	meminfo       = "MemTotal:       24683520 kB\nMemFree:        13268424 kB\n"
	mountsV2      = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	mountsV1      = "25 24 0:22 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory\n26 24 0:23 / /sys/fs/cgroup/cpu rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
	mountsV1InCtr = "25 24 0:22 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
)

func TestTotalMemory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"cgroup v2 limit", map[string]string{"proc/self/mountinfo": mountsV2, "sys/fs/cgroup/memory.max": "805306368\n", "proc/meminfo": meminfo}, 768 * mib},
		{"cgroup v2 without a limit", map[string]string{"proc/self/mountinfo": mountsV2, "sys/fs/cgroup/memory.max": "max\n", "proc/meminfo": meminfo}, 24683520 * 1024},
		{"cgroup v1 limit", map[string]string{"proc/self/mountinfo": mountsV1, "proc/self/cgroup": "5:cpu,cpuacct:/\n4:memory:/collector\n",
			"sys/fs/cgroup/memory/collector/memory.limit_in_bytes": "536870912\n", "proc/meminfo": meminfo}, 512 * mib},
		{"cgroup v1 in a container (mount root is the cgroup)", map[string]string{"proc/self/mountinfo": mountsV1InCtr, "proc/self/cgroup": "4:memory:/docker/abc\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n", "proc/meminfo": meminfo}, 1024 * mib},
		{"cgroup v1 unlimited", map[string]string{"proc/self/mountinfo": mountsV1, "proc/self/cgroup": "4:memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n", "proc/meminfo": meminfo}, 24683520 * 1024},
		{"no cgroup", map[string]string{"proc/self/mountinfo": "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "proc/meminfo": meminfo}, 24683520 * 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := totalMemory(fakeRoot(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
	if _, err := totalMemory(fakeRoot(t, map[string]string{"proc/self/mountinfo": mountsV2, "sys/fs/cgroup/memory.max": "lots\n"})); err == nil {
		t.Error("an unreadable memory.max must be an error")
	}
	if _, err := totalMemory(fakeRoot(t, map[string]string{"proc/self/mountinfo": "", "proc/meminfo": "MemFree: 1 kB\n"})); err == nil {
		t.Error("meminfo without MemTotal must be an error")
	}
	// This machine: whatever it is, a positive size.
	if n, err := TotalMemory(); err != nil || n == 0 {
		t.Errorf("TotalMemory() = %d, %v", n, err)
	}
}

// fakeRuntime records the limits a Converter sets.
type fakeRuntime struct {
	limit int64
	sets  int
}

func (f *fakeRuntime) set(v int64) int64 {
	old := f.limit
	if v >= 0 {
		f.limit = v
		f.sets++
	}
	return old
}

func newTestConverter(env map[string]string) (*Converter, *fakeRuntime, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	rt := &fakeRuntime{limit: math.MaxInt64}
	c := NewConverter(zap.New(core))
	c.getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c.setLimit = rt.set
	c.total = fixedTotal(8 << 30)
	return c, rt, logs
}

const withLimiter = `
processors: {memory_limiter: {check_interval: 1s, limit_mib: 320, spike_limit_mib: 64}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`

func TestConverterSetsLimitAndLogsOnce(t *testing.T) {
	c, rt, logs := newTestConverter(nil)
	for i := 0; i < 3; i++ { // start, then reloads of the same config
		if err := c.Convert(context.Background(), conf(t, withLimiter)); err != nil {
			t.Fatal(err)
		}
	}
	if rt.limit != 256*mib {
		t.Fatalf("runtime limit %d, want 256 MiB", rt.limit)
	}
	if got := logs.FilterMessageSnippet("Go memory limit set").All(); len(got) != 1 || got[0].ContextMap()["limit_mib"] != uint64(256) {
		t.Fatalf("want one log line with limit_mib 256, got %v", logs.All())
	}
	if !strings.Contains(c.Status(), "256 MiB from memory_limiter (limit 320 MiB − spike 64 MiB)") {
		t.Errorf("status %q", c.Status())
	}

	// A reload with a different limiter sets and logs the new limit; one
	// without any puts the runtime's own limit back.
	if err := c.Convert(context.Background(), conf(t, strings.Replace(withLimiter, "limit_mib: 320", "limit_mib: 400", 1))); err != nil {
		t.Fatal(err)
	}
	if rt.limit != 336*mib || logs.FilterMessageSnippet("Go memory limit set").Len() != 2 {
		t.Fatalf("after reload: limit %d, logs %v", rt.limit, logs.All())
	}
	if err := c.Convert(context.Background(), conf(t, "service: {pipelines: {traces: {receivers: [otlp]}}}")); err != nil {
		t.Fatal(err)
	}
	if rt.limit != math.MaxInt64 || c.Applied() != 0 {
		t.Fatalf("without memory_limiter the runtime's own limit must come back, got %d", rt.limit)
	}
	if logs.FilterMessageSnippet("No memory_limiter").Len() != 1 {
		t.Errorf("the missing limiter must be logged: %v", logs.All())
	}
}

func TestConverterRespectsGOMEMLIMIT(t *testing.T) {
	c, rt, logs := newTestConverter(map[string]string{"GOMEMLIMIT": "1GiB"})
	if err := c.Convert(context.Background(), conf(t, withLimiter)); err != nil {
		t.Fatal(err)
	}
	if rt.sets != 0 || c.Applied() != 0 {
		t.Fatalf("an explicit GOMEMLIMIT must not be overridden (limit now %d)", rt.limit)
	}
	if logs.FilterMessageSnippet("GOMEMLIMIT is set").Len() != 1 || !strings.Contains(c.Status(), "GOMEMLIMIT=1GiB") {
		t.Errorf("logs %v, status %q", logs.All(), c.Status())
	}
	// An empty GOMEMLIMIT is no setting, for the Go runtime as here.
	c, rt, _ = newTestConverter(map[string]string{"GOMEMLIMIT": ""})
	if err := c.Convert(context.Background(), conf(t, withLimiter)); err != nil {
		t.Fatal(err)
	}
	if rt.limit != 256*mib {
		t.Fatalf("empty GOMEMLIMIT: limit %d", rt.limit)
	}
}

func TestConverterNeverFailsTheConfig(t *testing.T) {
	c, rt, logs := newTestConverter(nil)
	c.total = func() (uint64, error) { return 0, errors.New("no /proc here") }
	err := c.Convert(context.Background(), conf(t, `
processors: {memory_limiter: {check_interval: 1s, limit_percentage: 80}}
service: {pipelines: {traces: {processors: [memory_limiter]}}}`))
	if err != nil || rt.sets != 0 {
		t.Fatalf("err %v, sets %d", err, rt.sets)
	}
	if logs.FilterMessageSnippet("No Go memory limit derived").Len() != 1 {
		t.Errorf("logs %v", logs.All())
	}
}
