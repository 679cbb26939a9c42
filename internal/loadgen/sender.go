package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// sender exports one request and reports how many spans the server rejected
// via OTLP partial success. It never retries.
type sender interface {
	send(ctx context.Context, td ptrace.Traces) (rejected int64, err error)
	close() error
}

func newSender(cfg Config) (sender, error) {
	hostport, err := endpointHostPort(cfg.Endpoint, cfg.Protocol)
	if err != nil {
		return nil, err
	}
	switch cfg.Protocol {
	case "grpc":
		return newGRPCSender(hostport)
	case "http":
		return newHTTPSender(cfg.Endpoint, cfg.Workers)
	}
	return nil, fmt.Errorf("unknown protocol %q", cfg.Protocol)
}

type grpcSender struct {
	conn   *grpc.ClientConn
	client ptraceotlp.GRPCClient
}

func newGRPCSender(hostport string) (*grpcSender, error) {
	conn, err := grpc.NewClient("passthrough:///"+hostport,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialLoopback(ctx, "tcp", addr)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", hostport, err)
	}
	return &grpcSender{conn: conn, client: ptraceotlp.NewGRPCClient(conn)}, nil
}

func (s *grpcSender) send(ctx context.Context, td ptrace.Traces) (int64, error) {
	resp, err := s.client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		return 0, err
	}
	return resp.PartialSuccess().RejectedSpans(), nil
}

func (s *grpcSender) close() error { return s.conn.Close() }

type httpSender struct {
	url    string
	client *http.Client
}

// tracesURL turns host:port or a base URL into the OTLP/HTTP traces URL.
func tracesURL(endpoint string) (string, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

func newHTTPSender(endpoint string, workers int) (*httpSender, error) {
	u, err := tracesURL(endpoint)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil, // never route through a proxy
		DialContext:         dialLoopback,
		MaxIdleConns:        workers * 2,
		MaxIdleConnsPerHost: workers * 2,
		ForceAttemptHTTP2:   false,
	}
	return &httpSender{url: u, client: &http.Client{Transport: tr}}, nil
}

func (s *httpSender) send(ctx context.Context, td ptrace.Traces) (int64, error) {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return 0, fmt.Errorf("marshal: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("read response: %w", err)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("http %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if ct == "application/json" || strings.HasPrefix(ct, "text/") {
			msg := strings.TrimSpace(string(bytes.ToValidUTF8(data, nil)))
			if len(msg) > 200 {
				msg = msg[:200]
			}
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return 0, err
	}
	if len(data) == 0 {
		return 0, nil
	}
	er := ptraceotlp.NewExportResponse()
	if ct == "application/json" {
		err = er.UnmarshalJSON(data)
	} else {
		err = er.UnmarshalProto(data)
	}
	if err != nil {
		return 0, fmt.Errorf("decode response: %w", err)
	}
	return er.PartialSuccess().RejectedSpans(), nil
}

func (s *httpSender) close() error {
	s.client.CloseIdleConnections()
	return nil
}
