package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

const secret = "s3cret-pw" // must never appear in output or errors

func TestEndpointParsing(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8123", "https://ch.example:8443/", "clickhouse://ch1:9000,ch2:9000/aiops"} {
		if _, err := parseEndpoint(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"127.0.0.1:8123", "reader:" + secret + "@127.0.0.1:8123", "ftp://h:21", "http://", "http://reader:" + secret + "@[::1"} {
		_, err := parseEndpoint(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "http://127.0.0.1:8123") {
			t.Errorf("%s: %v (want the live endpoint named, the password not)", bad, err)
		}
	}
}

// TestEndpointSelectsClickhouseGoHTTP: for http(s) endpoints score opens the
// store with a DSN that clickhouse-go's own parser reads as its HTTP
// protocol, credentials passed apart from it.
func TestEndpointSelectsClickhouseGoHTTP(t *testing.T) {
	for _, c := range []struct {
		raw, addr string
		proto     clickhouse.Protocol
		tls       bool
	}{
		{"http://reader:" + secret + "@127.0.0.1:8123", "127.0.0.1:8123", clickhouse.HTTP, false},
		{"https://ch.example:8443", "ch.example:8443", clickhouse.HTTP, true},
		{"clickhouse://ch1:9000", "ch1:9000", clickhouse.Native, false},
	} {
		u, err := parseEndpoint(c.raw)
		if err != nil {
			t.Fatal(err)
		}
		o := serverOptions(u, "reader", secret)
		if strings.Contains(o.DSN, secret) {
			t.Errorf("%s: DSN %s carries the password", c.raw, o.DSN)
		}
		opts, err := clickhouse.ParseDSN(o.DSN)
		if err != nil {
			t.Fatalf("%s: clickhouse-go cannot parse %s: %v", c.raw, o.DSN, err)
		}
		if opts.Protocol != c.proto || len(opts.Addr) != 1 || opts.Addr[0] != c.addr || (opts.TLS != nil) != c.tls {
			t.Errorf("%s: clickhouse-go reads %s as %v %v TLS %v", c.raw, o.DSN, opts.Protocol, opts.Addr, opts.TLS != nil)
		}
		if wantNone := c.proto == clickhouse.HTTP; (o.Compression == "none") != wantNone {
			t.Errorf("%s: compression %q", c.raw, o.Compression)
		}
	}
}

type seenRequest struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
	basicUser    string
	basicPass    string
}

// recorder is a ClickHouse HTTP interface stand-in that records requests and
// answers each with respond.
func recorder(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, func() []seenRequest) {
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, p, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body), u, p})
		mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seenRequest { mu.Lock(); defer mu.Unlock(); return append([]seenRequest(nil), seen...) }
}

func passwordFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestQueryOverHTTP: query --endpoint speaks ClickHouse's HTTP interface
// (GET /?query=&default_format=&database=, X-ClickHouse-User/Key: a GET is
// read-only there) and prints the body in the format asked for.
func TestQueryOverHTTP(t *testing.T) {
	srv, seen := recorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("query") == "SELECT 42" {
			io.WriteString(w, "42\n")
			return
		}
		w.Header().Set("X-ClickHouse-Exception-Code", "60")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "Code: 60. DB::Exception: Unknown table expression identifier 'aiops.nope'. (UNKNOWN_TABLE)\n")
	})
	t.Setenv("CLICKHOUSE_PASSWORD", "")
	t.Setenv("CLICKHOUSE_USERNAME", "")
	out, err := runCmd(t, "query", "--endpoint", srv.URL, "--username", "reader", "--password-file", passwordFile(t), "--format", "TSV", "SELECT 42")
	if err != nil || out != "42\n" {
		t.Fatalf("query: %v\n%q", err, out)
	}
	r := seen()[0]
	if r.method != http.MethodGet || r.path != "/" || r.query.Get("default_format") != "TSV" || r.query.Get("database") != "aiops" ||
		r.header.Get("X-ClickHouse-User") != "reader" || r.header.Get("X-ClickHouse-Key") != secret {
		t.Errorf("request %+v", r)
	}

	// Credentials from the environment and the URL; the error carries
	// ClickHouse's code and text, never the password.
	t.Setenv("CLICKHOUSE_PASSWORD", secret)
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("urluser", "url-"+secret)
	_, err = runCmd(t, "query", "--endpoint", u.String(), "SELECT * FROM aiops.nope")
	if err == nil || !strings.Contains(err.Error(), "ClickHouse error 60") || !strings.Contains(err.Error(), "UNKNOWN_TABLE") || strings.Contains(err.Error(), secret) {
		t.Errorf("error: %v", err)
	}
	if r := seen()[1]; r.header.Get("X-ClickHouse-User") != "urluser" || r.header.Get("X-ClickHouse-Key") != secret || r.basicUser != "" {
		t.Errorf("request %+v: want the URL's user, $CLICKHOUSE_PASSWORD, and nothing in the URL", r)
	}

	_, err = runCmd(t, "query", "--endpoint", "clickhouse://127.0.0.1:9000", "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "clickhouse-client") {
		t.Errorf("native endpoint: %v", err)
	}
}

// TestScoreOverHTTPUsesClickhouseGo: score and reconcile --endpoint
// http://… open the store through clickhouse-go's HTTP protocol (its
// handshake query is what arrives, with our user and password), and the
// stand-in's refusal comes back without the password.
func TestScoreOverHTTPUsesClickhouseGo(t *testing.T) {
	t.Setenv("CLICKHOUSE_PASSWORD", secret)
	for _, name := range []string{"score", "reconcile"} {
		srv, seen := recorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-ClickHouse-Exception-Code", "516")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "Code: 516. DB::Exception: reader: Authentication failed. (AUTHENTICATION_FAILED)\n")
		})
		out, err := runCmd(t, name, "--endpoint", srv.URL, "--username", "reader")
		if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(out, secret) {
			t.Fatalf("%s against a refusing endpoint: %v\n%s", name, err, out)
		}
		reqs := seen()
		if len(reqs) == 0 {
			t.Fatalf("%s sent nothing to the endpoint", name)
		}
		r := reqs[0]
		if r.method != http.MethodPost || !strings.Contains(r.body+r.query.Get("query"), "SELECT displayName(), version()") {
			t.Errorf("%s: first request %s %s %q: not clickhouse-go's HTTP handshake", name, r.method, r.query, r.body)
		}
		if r.header.Get("X-ClickHouse-User")+r.basicUser != "reader" || r.header.Get("X-ClickHouse-Key")+r.basicPass != secret {
			t.Errorf("%s: credentials: header %q/%q basic %q", name, r.header.Get("X-ClickHouse-User"), r.header.Get("X-ClickHouse-Key"), r.basicUser)
		}
		if r.query.Get("compress") != "" {
			t.Errorf("%s: compress=%s: ClickHouse's block compression asked of an HTTP endpoint", name, r.query.Get("compress"))
		}
	}
}

// TestPasswordNeverEchoed: no password flag exists, and --help shows no
// value of $CLICKHOUSE_PASSWORD.
func TestPasswordNeverEchoed(t *testing.T) {
	t.Setenv("CLICKHOUSE_PASSWORD", secret)
	for _, name := range []string{"query", "score", "reconcile", "migrate"} {
		out, err := runCmd(t, name, "--help")
		if err != nil || strings.Contains(out, secret) || strings.Contains(out, "--password ") {
			t.Errorf("%s --help: %v\n%s", name, err, out)
		}
	}
}
