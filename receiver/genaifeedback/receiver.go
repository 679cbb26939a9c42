package genaifeedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/receiver/genaifeedback/internal/metadata"
)

// retryAfterPipeline is what a client is told to wait when the pipeline
// could not take a batch for now.
const retryAfterPipeline = 5 * time.Second

type feedbackReceiver struct {
	cfg     *Config
	set     receiver.Settings
	next    consumer.Logs
	obs     *receiverhelper.ObsReport
	tel     *telemetry
	keys    *keySet
	limiter *limiter // nil: no rate limit
	routes  map[string]*kind
	now     func() time.Time

	server *http.Server
	addr   net.Addr
	wg     sync.WaitGroup
	logged sync.Map // rejection reasons already logged at warn level
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*feedbackReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set.MeterProvider)
	if err != nil {
		return nil, err
	}
	return &feedbackReceiver{
		cfg: cfg, set: set, next: next, obs: obs, tel: tel,
		keys:    newKeySet(cfg.Idempotency.MaxKeys, cfg.Idempotency.TTL),
		limiter: newLimiter(cfg.RateLimit),
		routes:  map[string]*kind{cfg.EvaluationsPath: evaluationKind, cfg.FeedbackPath: feedbackKind},
		now:     time.Now,
	}, nil
}

func (r *feedbackReceiver) Start(ctx context.Context, host component.Host) error {
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("genai_feedback: listen on %s: %w", r.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	srv, err := r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, r, confighttp.WithErrorHandler(r.httpError))
	if err != nil {
		ln.Close()
		return fmt.Errorf("genai_feedback: %w", err)
	}
	r.server, r.addr = srv, ln.Addr()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	r.set.Logger.Info("genai_feedback listening", zap.String("endpoint", ln.Addr().String()),
		zap.String("evaluations", r.cfg.EvaluationsPath), zap.String("feedback", r.cfg.FeedbackPath))
	return nil
}

func (r *feedbackReceiver) Shutdown(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	err := r.server.Shutdown(ctx)
	r.wg.Wait()
	return err
}

// failure is an error answer: status, a reason for metrics, and messages
// naming the fields at fault.
type failure struct {
	status     int
	reason     string
	msgs       []string
	total      int // problems found, when more than msgs lists
	records    int // records the request carried, when known
	retryAfter time.Duration
}

func fail(status int, reason, format string, args ...any) failure {
	return failure{status: status, reason: reason, msgs: []string{fmt.Sprintf(format, args...)}}
}

type errorBody struct {
	Error      string   `json:"error"`
	Reason     string   `json:"reason"`
	Errors     []string `json:"errors,omitempty"`
	ErrorCount int      `json:"error_count,omitempty"`
}

type okBody struct {
	Received   int `json:"received"`
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

func (r *feedbackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	k := r.routes[req.URL.Path]
	if k == nil {
		r.reply(w, req, "other", fail(http.StatusNotFound, "not_found", "no endpoint at %s; POST records to %s or %s",
			req.URL.Path, r.cfg.EvaluationsPath, r.cfg.FeedbackPath))
		return
	}
	ok, f := r.handle(w, req, k)
	if f.status != 0 {
		r.reply(w, req, k.endpoint, f)
		return
	}
	writeJSON(w, http.StatusOK, ok)
}

func (r *feedbackReceiver) handle(w http.ResponseWriter, req *http.Request, k *kind) (okBody, failure) {
	ctx := req.Context()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return okBody{}, fail(http.StatusMethodNotAllowed, "method_not_allowed", "method %s not allowed; use POST", req.Method)
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return okBody{}, fail(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type must be application/json, got %q", req.Header.Get("Content-Type"))
	}
	if r.limiter != nil {
		if ok, wait := r.limiter.allow(clientKey(req), r.now()); !ok {
			f := fail(http.StatusTooManyRequests, "rate_limited", "rate limit of %g requests per second (burst %d) exceeded for this client",
				r.cfg.RateLimit.RequestsPerSecond, r.cfg.RateLimit.Burst)
			f.retryAfter = wait
			return okBody{}, f
		}
	}
	batchKey := req.Header.Get("Idempotency-Key")
	if len(batchKey) > maxKeyLen-8 { // room for the ":<index>" suffix
		return okBody{}, fail(http.StatusBadRequest, "invalid", "Idempotency-Key header: at most %d bytes", maxKeyLen-8)
	}
	limit := r.cfg.ServerConfig.MaxRequestBodySize
	if req.ContentLength > limit {
		return okBody{}, fail(http.StatusRequestEntityTooLarge, "too_large", "body: %d bytes exceeds max_request_body_size of %d", req.ContentLength, limit)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return okBody{}, fail(http.StatusRequestEntityTooLarge, "too_large", "body: exceeds max_request_body_size of %d bytes", limit)
		}
		return okBody{}, fail(http.StatusBadRequest, "read_error", "body: could not be read: %v", err)
	}
	raws, msg, malformed := splitBatch(body)
	if msg != "" {
		if malformed {
			return okBody{}, fail(http.StatusBadRequest, "malformed_json", "%s", msg)
		}
		return okBody{}, fail(http.StatusBadRequest, "invalid", "%s", msg)
	}
	if len(raws) > r.cfg.MaxRecordsPerRequest {
		f := fail(http.StatusRequestEntityTooLarge, "too_many_records", "body: %d records exceeds max_records_per_request of %d",
			len(raws), r.cfg.MaxRecordsPerRequest)
		f.records = len(raws)
		return okBody{}, f
	}

	now := r.now()
	v := &validator{defaultService: r.cfg.ServiceName, now: now}
	recs := make([]*record, len(raws))
	for i, raw := range raws {
		recs[i] = k.parse(v, "records["+strconv.Itoa(i)+"]", raw)
	}
	if v.p.total > 0 {
		return okBody{}, failure{status: http.StatusBadRequest, reason: "invalid", msgs: v.p.list, total: v.p.total, records: len(raws)}
	}

	keys := make([]string, len(recs))
	for i, rec := range recs {
		if rec.key == "" && batchKey != "" {
			rec.key = batchKey + ":" + strconv.Itoa(i)
		}
		if rec.key != "" {
			rec.attrs.PutStr(AttrIdempotencyKey, rec.key)
			keys[i] = k.endpoint + "\x00" + rec.key // evaluations and feedback keep separate keys
		}
	}
	dup, reserved, inFlight := r.keys.reserve(keys, now)
	if inFlight != "" {
		f := fail(http.StatusConflict, "in_flight", "idempotency key %q is being delivered by another request; retry later", inFlight[len(k.endpoint)+1:])
		f.records, f.retryAfter = len(recs), time.Second
		return okBody{}, f
	}
	fresh := make([]*record, 0, len(recs))
	for i, rec := range recs {
		if !dup[i] {
			fresh = append(fresh, rec)
		}
	}
	res := okBody{Received: len(recs), Accepted: len(fresh), Duplicates: len(recs) - len(fresh)}
	endpoint := attribute.String("endpoint", k.endpoint)
	if len(fresh) > 0 {
		ld := buildLogs(k, fresh, pcommon.NewTimestampFromTime(now), r.set.BuildInfo.Version)
		opCtx := r.obs.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(opCtx, ld)
		r.obs.EndLogsOp(opCtx, "json", len(fresh), err)
		if err != nil {
			r.keys.release(reserved)
			if consumererror.IsPermanent(err) {
				f := fail(http.StatusBadRequest, "pipeline_permanent", "the pipeline rejected the batch: %v", err)
				f.records = len(fresh)
				return okBody{}, f
			}
			f := fail(http.StatusServiceUnavailable, "pipeline_retryable", "the pipeline could not take the batch now; retry: %v", err)
			f.records, f.retryAfter = len(fresh), retryAfterPipeline
			return okBody{}, f
		}
		r.keys.commit(reserved, r.now())
	}
	r.tel.add(ctx, r.tel.accepted, res.Accepted, endpoint)
	r.tel.add(ctx, r.tel.duplicates, res.Duplicates, endpoint)
	return res, failure{}
}

// buildLogs makes one log record per record, one resource per service.
func buildLogs(k *kind, recs []*record, observed pcommon.Timestamp, version string) plog.Logs {
	ld := plog.NewLogs()
	bySvc := map[string]plog.LogRecordSlice{}
	for _, rec := range recs {
		lrs, ok := bySvc[rec.service]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", rec.service)
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(metadata.ScopeName)
			sl.Scope().SetVersion(version)
			lrs = sl.LogRecords()
			bySvc[rec.service] = lrs
		}
		lr := lrs.AppendEmpty()
		lr.SetEventName(k.eventName)
		// An unset timestamp stays 0 (the exporter then uses the observed
		// time), so a retried batch hashes to the same insert token.
		lr.SetTimestamp(rec.ts)
		lr.SetObservedTimestamp(observed)
		lr.SetTraceID(rec.traceID)
		lr.SetSpanID(rec.spanID)
		rec.attrs.MoveTo(lr.Attributes())
	}
	return ld
}

// reply answers with a JSON error, counts it, and logs each reason once at
// warn level (then at debug) so bad senders cannot flood the log.
func (r *feedbackReceiver) reply(w http.ResponseWriter, req *http.Request, endpoint string, f failure) {
	ctx := req.Context()
	ep, why := attribute.String("endpoint", endpoint), attribute.String("reason", f.reason)
	r.tel.add(ctx, r.tel.requestsRejected, 1, ep, why)
	r.tel.add(ctx, r.tel.rejected, f.records, ep, why)
	fields := []zap.Field{zap.String("endpoint", endpoint), zap.String("reason", f.reason), zap.Int("status", f.status),
		zap.String("error", f.msgs[0]), zap.Int("records", f.records)}
	if _, seen := r.logged.LoadOrStore(f.reason, true); !seen {
		r.set.Logger.Warn("rejected a request (logged once per reason; see aiops_feedback_requests_rejected)", fields...)
	} else {
		r.set.Logger.Debug("rejected a request", fields...)
	}
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.retryAfter.Seconds()))))
	}
	body := errorBody{Error: f.msgs[0], Reason: f.reason}
	if len(f.msgs) > 1 {
		body.Errors = f.msgs
	}
	if f.total > len(f.msgs) {
		body.ErrorCount = f.total
	}
	writeJSON(w, f.status, body)
}

// httpError answers what confighttp rejects before our handler: failed
// authentication and undecodable Content-Encoding.
func (r *feedbackReceiver) httpError(w http.ResponseWriter, req *http.Request, msg string, status int) {
	endpoint := "other"
	if k := r.routes[req.URL.Path]; k != nil {
		endpoint = k.endpoint
	}
	reason := "http_error"
	switch status {
	case http.StatusUnauthorized:
		reason, msg = "unauthorized", "unauthorized: "+msg
	case http.StatusBadRequest:
		reason = "bad_encoding"
	}
	r.reply(w, req, endpoint, failure{status: status, reason: reason, msgs: []string{msg}})
}

// clientKey is who a rate limit applies to: the identity an auth extension
// put on the request, else the remote address.
func clientKey(req *http.Request) string {
	info := client.FromContext(req.Context())
	if info.Auth != nil {
		for _, name := range []string{"subject", "username", "client_id"} {
			if s, ok := info.Auth.GetAttribute(name).(string); ok && s != "" {
				return "auth:" + s
			}
		}
	}
	if ip, ok := info.Addr.(*net.IPAddr); ok && ip != nil {
		return "ip:" + ip.IP.String()
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	return "ip:" + host
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the client may be gone; nothing to do then
}
