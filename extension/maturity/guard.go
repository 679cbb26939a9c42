package maturity

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/config/confignet"
)

// hostRule is the set of Host header values the report answers. A page
// on attacker.example that rebinds its name to 127.0.0.1 reaches the port
// with Host: attacker.example; only the names the operator uses match.
type hostRule struct {
	exact   map[string]bool // host:port, lower case
	anyPort map[string]bool // bare hosts from allowed_hosts
	any     bool            // a unix socket: no browser reaches it
}

// hostRule builds the rule; port, when set, is the port actually listened
// on (the endpoint may say :0).
func (c *Config) hostRule(port string) (*hostRule, error) {
	r := &hostRule{exact: map[string]bool{}, anyPort: map[string]bool{}}
	for _, a := range c.AllowedHosts {
		h, p, err := splitHost(a)
		if err != nil || h == "" || strings.ContainsAny(a, "/ \t@?#") {
			return nil, fmt.Errorf("allowed_hosts: %q is not a host or host:port (e.g. report.example.com:8890)", a)
		}
		if p == "" {
			r.anyPort[h] = true
		} else {
			r.exact[net.JoinHostPort(h, p)] = true
		}
	}
	if len(c.AllowedHosts) > 0 {
		return r, nil
	}
	if c.HTTP.NetAddr.Transport == confignet.TransportTypeUnix {
		r.any = true
		return r, nil
	}
	host, p, err := net.SplitHostPort(c.HTTP.NetAddr.Endpoint)
	if err != nil {
		if c.HTTP.NetAddr.Endpoint == "" {
			return r, nil // reported as http.endpoint
		}
		return nil, fmt.Errorf("http.endpoint: %w", err)
	}
	if port != "" {
		p = port
	}
	host = strings.ToLower(host)
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		return nil, fmt.Errorf("allowed_hosts: http.endpoint %s listens on every interface; list the host:port names clients reach the report by "+
			"(e.g. allowed_hosts: [report.example.com:8890]), so that requests naming any other host (DNS rebinding) are refused", c.HTTP.NetAddr.Endpoint)
	case host == "localhost" || (ip != nil && ip.IsLoopback()):
		for _, h := range []string{host, "localhost", "127.0.0.1", "::1"} {
			r.exact[net.JoinHostPort(h, p)] = true
		}
	default:
		r.exact[net.JoinHostPort(host, p)] = true
	}
	return r, nil
}

// splitHost parses host or host:port (IPv6 in brackets), lower case.
func splitHost(s string) (host, port string, err error) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("port %q", p)
		}
		return strings.ToLower(h), p, nil
	}
	if strings.Contains(strings.Trim(s, "[]"), ":") && !strings.HasPrefix(s, "[") && net.ParseIP(s) == nil {
		return "", "", errors.New("bad host")
	}
	return strings.ToLower(strings.Trim(s, "[]")), "", nil
}

// allows reports whether a Host (or an Origin's host) is one of the rule's;
// defPort is the scheme's port, for a value without one.
func (r *hostRule) allows(hostport, defPort string) bool {
	if r.any {
		return true
	}
	h, p, err := splitHost(hostport)
	if err != nil || h == "" {
		return false
	}
	if p == "" {
		p = defPort
	}
	return r.anyPort[h] || r.exact[net.JoinHostPort(h, p)]
}

// Reasons a request is refused before it reaches the report, the values
// of aiops_maturity_requests_refused's reason.
const (
	refusedHost        = "host"
	refusedOrigin      = "origin"
	refusedContentType = "content_type"
	refusedBusy        = "busy"
)

// guard wraps the whole server, authentication included: it refuses
// foreign Host and Origin headers and non-JSON POSTs, and strips any CORS
// header a middleware or response_headers would add.
func (e *maturityExtension) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defPort := "80"
		if r.TLS != nil {
			defPort = "443"
		}
		if !e.hosts.allows(r.Host, defPort) {
			e.refuse(w, r, refusedHost, http.StatusMisdirectedRequest, "this report is not served under host "+strconv.Quote(r.Host))
			return
		}
		if origin, ok := r.Header["Origin"]; ok {
			if !e.originAllowed(origin) {
				e.refuse(w, r, refusedOrigin, http.StatusForbidden, "cross-origin requests are refused")
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			// A form or a "simple" cross-origin fetch can only send
			// text/plain, form or multipart bodies.
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				e.refuse(w, r, refusedContentType, http.StatusUnsupportedMediaType, r.Method+" requests must have Content-Type: application/json")
				return
			}
		}
		next.ServeHTTP(&noCORSWriter{ResponseWriter: w}, r)
	})
}

func (e *maturityExtension) originAllowed(values []string) bool {
	if len(values) != 1 {
		return false
	}
	u, err := url.Parse(values[0])
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" from sandboxed frames and file: pages too
	}
	defPort := "80"
	if u.Scheme == "https" {
		defPort = "443"
	}
	return e.hosts.allows(u.Host, defPort)
}

func (e *maturityExtension) refuse(w http.ResponseWriter, r *http.Request, reason string, code int, msg string) {
	e.refused.Add(r.Context(), 1, e.refusedAttrs[reason])
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}

// noCORSWriter drops every Access-Control-* header before the response
// is written: the report is never readable cross-origin.
type noCORSWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *noCORSWriter) strip() {
	if w.wrote {
		return
	}
	w.wrote = true
	h := w.ResponseWriter.Header()
	for k := range h {
		if len(k) >= len("Access-Control-") && strings.EqualFold(k[:len("Access-Control-")], "Access-Control-") {
			delete(h, k)
		}
	}
}

func (w *noCORSWriter) WriteHeader(code int) {
	w.strip()
	w.ResponseWriter.WriteHeader(code)
}

func (w *noCORSWriter) Write(b []byte) (int, error) {
	w.strip()
	return w.ResponseWriter.Write(b)
}

func (w *noCORSWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
