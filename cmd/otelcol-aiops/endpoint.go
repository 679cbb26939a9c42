package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// parseEndpoint reads --endpoint: a ClickHouse HTTP interface (http or
// https: a running collector's, or a server's) or a server's native port
// (clickhouse://). Errors never quote it: it may carry a password.
func parseEndpoint(raw string) (*url.URL, error) {
	const want = "give " + liveEndpoint + " (a running collector's ClickHouse HTTP interface), https://host:8443 or clickhouse://host:9000"
	if !strings.Contains(raw, "://") {
		return nil, errors.New("--endpoint is not a URL; " + want)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("--endpoint is not a valid URL; " + want)
	}
	switch u.Scheme {
	case "http", "https", "clickhouse":
	default:
		return nil, fmt.Errorf("--endpoint scheme %q is not http, https or clickhouse; %s", u.Scheme, want)
	}
	if u.Host == "" {
		return nil, errors.New("--endpoint has no host; " + want)
	}
	return u, nil
}

func isHTTP(u *url.URL) bool { return u.Scheme == "http" || u.Scheme == "https" }

// credentials: --username (default $CLICKHOUSE_USERNAME), then the URL's
// user; the password from --password-file, then $CLICKHOUSE_PASSWORD, then
// the URL. No flag takes a password: ps and shell history would show it.
func (f *storeFlags) credentials(u *url.URL) (user, password string, err error) {
	user = f.username
	if user == "" {
		user = u.User.Username()
	}
	switch {
	case f.passwordFile != "":
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return "", "", fmt.Errorf("--password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	case os.Getenv("CLICKHOUSE_PASSWORD") != "":
		password = os.Getenv("CLICKHOUSE_PASSWORD")
	default:
		password, _ = u.User.Password()
	}
	return user, password, nil
}

// serverOptions is what chstore.OpenServer gets for --endpoint: the URL
// without its credentials as the clickhouse-go DSN (http and https select
// its HTTP protocol). Over HTTP the responses are left uncompressed:
// clickhouse-go's lz4 there asks for ClickHouse's compress=1 block framing,
// which plain HTTP interfaces need not speak.
func serverOptions(u *url.URL, user, password string) chstore.ServerOptions {
	dsn := *u
	dsn.User = nil
	o := chstore.ServerOptions{Username: user, Password: password}
	if isHTTP(u) {
		o.Compression = "none"
		if u.Scheme == "https" {
			q := dsn.Query()
			if q.Get("secure") == "" {
				q.Set("secure", "true") // clickhouse-go refuses https without it
			}
			dsn.RawQuery = q.Encode()
		}
	}
	o.DSN = dsn.String()
	return o
}

// httpQuery runs one read-only query on a ClickHouse HTTP interface and
// returns the body in the requested format. GET is read-only there
// (readonly=2), as `query --data-dir` is with readonly=1.
func httpQuery(ctx context.Context, u *url.URL, user, password, database, format, sql string) ([]byte, error) {
	target := *u
	target.User = nil
	if target.Path == "" {
		target.Path = "/"
	}
	q := target.Query()
	q.Set("query", sql)
	q.Set("default_format", format)
	q.Set("database", database)
	target.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, errors.New("--endpoint: cannot build the request")
	}
	if user != "" {
		req.Header.Set("X-ClickHouse-User", user)
	}
	if password != "" {
		req.Header.Set("X-ClickHouse-Key", password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The error names the URL, which holds the query but no credentials.
		return nil, fmt.Errorf("--endpoint %s: %w", u.Redacted(), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("--endpoint %s: reading the result: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 4096 {
			msg = msg[:4096] + "…"
		}
		if code := resp.Header.Get("X-ClickHouse-Exception-Code"); code != "" {
			return nil, fmt.Errorf("--endpoint %s: HTTP %d, ClickHouse error %s: %s", u.Redacted(), resp.StatusCode, code, msg)
		}
		return nil, fmt.Errorf("--endpoint %s: HTTP %d: %s", u.Redacted(), resp.StatusCode, msg)
	}
	return body, nil
}
