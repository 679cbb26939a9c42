package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{Endpoint: "127.0.0.1:4317", Protocol: "grpc", Duration: time.Second}
	cases := []struct {
		name    string
		mut     func(*Config)
		wantErr string
	}{
		{"ok duration", func(*Config) {}, ""},
		{"ok traces only", func(c *Config) { c.Duration, c.MaxTraces = 0, 100 }, ""},
		{"ok http url", func(c *Config) { c.Protocol, c.Endpoint = "http", "http://localhost:4318" }, ""},
		{"ok ipv6 loopback", func(c *Config) { c.Endpoint = "[::1]:4317" }, ""},
		{"ok other 127/8", func(c *Config) { c.Endpoint = "127.0.0.2:4317" }, ""},
		{"ok content", func(c *Config) { c.ContentBytes = [2]int{2048, 8192} }, ""},
		{"defaults", func(c *Config) { c.Endpoint, c.Protocol = "", "" }, ""},
		{"unbounded", func(c *Config) { c.Duration = 0 }, "unbounded"},
		{"unbounded with rate", func(c *Config) { c.Duration, c.Rate = 0, 100 }, "unbounded"},
		{"negative", func(c *Config) { c.Duration = -time.Second }, "negative"},
		{"remote ip", func(c *Config) { c.Endpoint = "10.0.0.5:4317" }, "not loopback"},
		{"remote host", func(c *Config) { c.Endpoint = "collector.example.com:4317" }, "not loopback"},
		{"remote url", func(c *Config) { c.Protocol, c.Endpoint = "http", "http://8.8.8.8:4318" }, "not loopback"},
		{"unspecified addr", func(c *Config) { c.Endpoint = "0.0.0.0:4317" }, "not loopback"},
		{"no port", func(c *Config) { c.Endpoint = "127.0.0.1" }, "host:port"},
		{"bad protocol", func(c *Config) { c.Protocol = "udp" }, "protocol"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "rate"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers"},
		{"content too small", func(c *Config) { c.ContentBytes = [2]int{10, 100} }, "content min"},
		{"content inverted", func(c *Config) { c.ContentBytes = [2]int{4096, 1024} }, "content max"},
		{"empty service", func(c *Config) { c.Services = []string{"a", " "} }, "service"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mut(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckLoopbackURL(t *testing.T) {
	if err := CheckLoopbackURL("http://127.0.0.1:8888/metrics"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://example.com:8888/metrics", "ftp://127.0.0.1/x", "http://192.168.1.2:8888/metrics"} {
		if err := CheckLoopbackURL(u); err == nil {
			t.Fatalf("%s accepted", u)
		}
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:4318":                  "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/":          "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/v1/traces": "http://127.0.0.1:4318/v1/traces",
		"http://localhost:4318/otlp":      "http://localhost:4318/otlp/v1/traces",
	} {
		got, err := tracesURL(in)
		if err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
