// Package loadgen generates realistic GenAI OTLP trace traffic for load
// testing the collector. It only ever talks to loopback endpoints.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultServices is used when Config.Services is empty.
var DefaultServices = []string{"support-chatbot", "rag-search", "ops-agent"}

const (
	defaultWorkers     = 2
	defaultBatchTraces = 10
	defaultTimeout     = 10 * time.Second
	minContentBytes    = 256
	maxContentBytes    = 4 << 20
)

// Config describes one load generation run.
type Config struct {
	Endpoint     string        // host:port or http://host:port; must be loopback
	Protocol     string        // "grpc" | "http"
	Rate         float64       // traces/s, 0 = flat out
	Duration     time.Duration // stop after this long; 0 = no time bound
	MaxTraces    int           // stop after this many traces; 0 = no count bound
	Workers      int           // concurrent exporters; 0 = 2
	Seed         int64         // makes the generated data deterministic
	Services     []string      // service.name values; empty = DefaultServices
	BatchTraces  int           // traces per export request; 0 = 10
	ContentBytes [2]int        // min,max bytes of message content attributes; 0,0 = none
	ContentShare float64       // fraction of traces with content; 0 = all
	Timeout      time.Duration // per export request; 0 = 10s
}

// withDefaults fills zero-valued optional fields.
func (c Config) withDefaults() Config {
	if c.Protocol == "" {
		c.Protocol = "grpc"
	}
	if c.Endpoint == "" {
		if c.Protocol == "http" {
			c.Endpoint = "127.0.0.1:4318"
		} else {
			c.Endpoint = "127.0.0.1:4317"
		}
	}
	if c.Workers == 0 {
		c.Workers = defaultWorkers
	}
	if c.BatchTraces == 0 {
		c.BatchTraces = defaultBatchTraces
	}
	if len(c.Services) == 0 {
		c.Services = DefaultServices
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	return c
}

// Validate reports whether the configuration is usable. Zero values of
// optional fields (Workers, BatchTraces, Services, Timeout) mean defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Duration < 0 || c.MaxTraces < 0 {
		errs = append(errs, errors.New("duration and max traces must not be negative"))
	}
	if c.Duration <= 0 && c.MaxTraces <= 0 {
		errs = append(errs, errors.New("run is unbounded: set a duration > 0 or max traces > 0"))
	}
	if c.Protocol != "grpc" && c.Protocol != "http" {
		errs = append(errs, fmt.Errorf("protocol %q: want grpc or http", c.Protocol))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("rate must be >= 0"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("workers must be >= 1"))
	}
	if c.BatchTraces < 1 {
		errs = append(errs, errors.New("batch traces must be >= 1"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must be >= 0"))
	}
	for _, s := range c.Services {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, errors.New("service names must not be empty"))
			break
		}
	}
	if lo, hi := c.ContentBytes[0], c.ContentBytes[1]; lo != 0 || hi != 0 {
		switch {
		case lo < minContentBytes:
			errs = append(errs, fmt.Errorf("content min %d: must be >= %d (or 0,0 to disable)", lo, minContentBytes))
		case hi < lo:
			errs = append(errs, fmt.Errorf("content max %d < min %d", hi, lo))
		case hi > maxContentBytes:
			errs = append(errs, fmt.Errorf("content max %d: must be <= %d", hi, maxContentBytes))
		}
	}
	if _, err := endpointHostPort(c.Endpoint, c.Protocol); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// endpointHostPort returns the loopback host:port of an endpoint written as
// host:port or scheme://host:port[/path].
func endpointHostPort(endpoint, protocol string) (string, error) {
	hostport := endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return "", fmt.Errorf("endpoint %q: %w", endpoint, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", fmt.Errorf("endpoint %q: unsupported scheme %q", endpoint, u.Scheme)
		}
		if protocol == "grpc" && u.Scheme == "https" {
			return "", fmt.Errorf("endpoint %q: TLS is not supported for grpc", endpoint)
		}
		hostport = u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			hostport = net.JoinHostPort(u.Hostname(), port)
		}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: want host:port: %w", endpoint, err)
	}
	if port == "" {
		return "", fmt.Errorf("endpoint %q: missing port", endpoint)
	}
	if !IsLoopbackHost(host) {
		return "", fmt.Errorf("endpoint %q: host %q is not loopback (only 127.0.0.0/8, ::1 and localhost are allowed)", endpoint, host)
	}
	return hostport, nil
}

// IsLoopbackHost reports whether host is a loopback IP literal or "localhost".
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// CheckLoopbackURL validates that an http(s) URL points at a loopback host.
func CheckLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: want http or https", raw)
	}
	if !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("url %q: host %q is not loopback", raw, u.Hostname())
	}
	return nil
}

// loopbackDialer refuses connections to anything but loopback addresses, as
// a second line of defence after Validate (e.g. if "localhost" resolves oddly).
func loopbackDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
}

func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	return loopbackDialer().DialContext(ctx, network, addr)
}
