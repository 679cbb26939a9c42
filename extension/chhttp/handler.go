package chhttp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// request is a query request after its parameters have been checked.
type request struct {
	query    string
	database string
	format   string // default_format
	queryID  string
	params   []chdb.Param
	settings map[string]string // engine settings, canonical values
	http     map[string]string // this interface's own settings

	clientRevision uint64
	compress       bool // ClickHouse compressed blocks (compress=1)
	decompress     bool // the body is in ClickHouse compressed blocks
}

// maxParams bounds the URL parameters of one request (ClickHouse's
// http_max_fields).
const maxParams = 1000

var (
	formatRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	paramRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	dummyShaPW = sha256.Sum256([]byte("no such user"))
)

func (s *server) serveQuery(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.refuse(w, reasonBadRequest, "", http.StatusNotFound, newError(codeBadArguments,
			"There is no handle %s. Use / for queries, or /ping for health checks", clip(r.URL.Path)))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		s.refuse(w, reasonBadRequest, "", http.StatusMethodNotAllowed, newError(codeUnsupportedMethod, "HTTP method %s is not supported: use GET or POST", clip(r.Method)))
		return
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.refuse(w, reasonBadRequest, "", 0, newError(codeBadArguments, "Cannot parse the URL parameters: %v", err))
		return
	}
	if r.Method != http.MethodPost && !params.Has("query") {
		// ClickHouse answers GET / without a query as a health check.
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = io.WriteString(w, "Ok.\n")
		return
	}
	// Everything up to the engine session is checked here, so a refused
	// request never reaches the engine.
	if ce := s.authenticate(r, params); ce != nil {
		s.refuse(w, reasonAuth, "", 0, ce)
		return
	}
	req := &request{settings: map[string]string{}, http: map[string]string{}}
	reason, ce := s.parseParams(params, req)
	if ce != nil {
		s.refuse(w, reason, "", 0, ce)
		return
	}
	if reason, ce = s.readQuery(r, params, req); ce != nil {
		s.refuse(w, reason, req.queryID, 0, ce)
		return
	}
	eng, info := s.engine()
	if eng == nil {
		s.refuse(w, reasonNotReady, req.queryID, 0, newError(codeCannotScheduleTask, "The embedded engine is not open yet; retry shortly"))
		return
	}
	if req.queryID == "" {
		req.queryID = newQueryID()
	} else if !s.claimQueryID(req.queryID) {
		s.refuse(w, reasonBadRequest, req.queryID, 0, newError(codeQueryIDRunning, "Query with id = %s is already running", clip(req.queryID)))
		return
	}
	defer s.releaseQueryID(req.queryID)
	if ce := s.acquireSlot(r.Context()); ce != nil {
		w.Header().Set("Retry-After", "1")
		s.refuse(w, reasonBusy, req.queryID, 0, ce)
		return
	}
	defer func() { <-s.slots }()

	ctx := r.Context()
	s.inFlight.Add(ctx, 1)
	start := time.Now()
	res, format, reason, ce := s.run(ctx, eng, info, req)
	s.inFlight.Add(ctx, -1)
	if reason != "" {
		s.refuse(w, reason, req.queryID, 0, ce)
		return
	}
	outcome := outcomeOK
	if ce != nil {
		outcome = outcomeOf(ce.code)
	}
	attrs := s.outcomeAttrs[outcome]
	s.queries.Add(ctx, 1, metric.WithAttributeSet(attrs))
	s.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attrs))
	if ce != nil {
		s.set.Logger.Debug("query failed", zap.String("query_id", req.queryID), zap.Int("code", ce.code))
		writeError(w, req.queryID, info.displayName, 0, ce)
		return
	}
	s.respond(w, r, req, info, format, res)
}

func outcomeOf(code int) string {
	switch code {
	case codeTimeoutExceeded:
		return outcomeTimeout
	case codeMemoryLimitExceeded, codeTooManyRowsOrBytes, codeTooManyBytes, 158: // 158 TOO_MANY_ROWS
		return outcomeLimit
	case codeQueryWasCancelled, 735: // 735 QUERY_WAS_CANCELLED_BY_CLIENT
		return outcomeCancelled
	}
	return outcomeError
}

// refuse answers a request whose query did not run.
func (s *server) refuse(w http.ResponseWriter, reason, queryID string, status int, ce *chError) {
	s.refused.Add(context.Background(), 1, s.refusedAttrs[reason])
	_, info := s.engine()
	writeError(w, queryID, info.displayName, status, ce)
}

func writeError(w http.ResponseWriter, queryID, displayName string, status int, ce *chError) {
	if status == 0 {
		status = httpStatus(ce.code)
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("X-ClickHouse-Exception-Code", strconv.Itoa(ce.code))
	if queryID != "" {
		h.Set("X-ClickHouse-Query-Id", queryID)
	}
	if displayName != "" {
		h.Set("X-ClickHouse-Server-Display-Name", displayName)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, ce.text+"\n")
}

// authenticate checks the request's ClickHouse credentials the ways
// ClickHouse accepts them: basic auth, X-ClickHouse-User/Key, or user and
// password parameters, one way at a time. With an authenticator extension,
// the Authorization header is the authenticator's.
func (s *server) authenticate(r *http.Request, params url.Values) *chError {
	user, pass := "default", ""
	var methods []string
	if u, p, ok := r.BasicAuth(); ok && !s.cfg.ServerConfig.Auth.HasValue() {
		methods = append(methods, "Authorization: Basic")
		user, pass = u, p
	}
	if r.Header.Get("X-ClickHouse-User") != "" || r.Header.Get("X-ClickHouse-Key") != "" {
		methods = append(methods, "X-ClickHouse HTTP headers")
		if u := r.Header.Get("X-ClickHouse-User"); u != "" {
			user = u
		}
		pass = r.Header.Get("X-ClickHouse-Key")
	}
	if params.Has("user") || params.Has("password") {
		methods = append(methods, "'user' and 'password' parameters")
		if u := params.Get("user"); u != "" {
			user = u
		}
		pass = params.Get("password")
	}
	if len(methods) > 1 {
		return newError(codeAuthenticationFailed, "Invalid authentication: it is not allowed to use %s and %s simultaneously", methods[0], methods[1])
	}
	if len(s.users) == 0 {
		return nil // an authenticator extension vouched for the request, or allow_unauthenticated
	}
	got := sha256.Sum256([]byte(pass))
	want, ok := s.users[user]
	if !ok {
		want = dummyShaPW // the same work for an unknown user
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ok {
		return newError(codeAuthenticationFailed, "%s: Authentication failed: password is incorrect, or there is no user with such name", clip(user))
	}
	return nil
}

// parseParams checks every URL parameter; the reason names the refusal.
func (s *server) parseParams(params url.Values, req *request) (string, *chError) {
	if len(params) > maxParams {
		return reasonBadRequest, newError(codeBadArguments, "Too many URL parameters: %d, at most %d", len(params), maxParams)
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	_, info := s.engine()
	for _, name := range names {
		v := params[name][0]
		switch {
		case reservedParams[name]:
			if ce := req.reserved(name, v); ce != nil {
				return reasonBadRequest, ce
			}
		case strings.HasPrefix(name, "param_"):
			p := name[len("param_"):]
			if !paramRE.MatchString(p) {
				return reasonBadRequest, newError(codeBadQueryParameter, "Query parameter name %q is not an identifier", clip(p))
			}
			// Bound as data of its placeholder's type, never as SQL.
			req.params = append(req.params, chdb.Param{Name: p, Value: v})
		case name == "readonly":
			if strings.TrimSpace(v) != "1" {
				return reasonSetting, newError(codeReadonly, "Cannot modify 'readonly' setting in readonly mode")
			}
		default:
			spec, allowed := allowedSettings[name]
			if !allowed {
				if info.settings[name] {
					return reasonSetting, newError(codeSettingConstraint, "Setting %s should not be changed: readers may change only time, result and output-format settings", name)
				}
				return reasonSetting, newError(codeUnknownSetting, "Unknown setting '%s'", clip(name))
			}
			val, ce := parseSetting(name, v, &s.cfg.Limits)
			if ce != nil {
				return reasonSetting, ce
			}
			if spec.http {
				req.http[name] = val
			} else {
				req.settings[name] = val
			}
		}
	}
	if req.database == "" {
		req.database = s.cfg.Database
	}
	return "", nil
}

// reserved checks one of the HTTP interface's own parameters.
func (req *request) reserved(name, v string) *chError {
	bool01 := func() *chError {
		if v != "0" && v != "1" {
			return newError(codeBadArguments, "Parameter %s must be 0 or 1", name)
		}
		return nil
	}
	switch name {
	case "database":
		if len(v) > 255 {
			return newError(codeBadArguments, "Database name is longer than 255 bytes")
		}
		req.database = v // bound as an Identifier parameter of USE
	case "default_format":
		if !formatRE.MatchString(v) {
			return newError(codeUnknownFormat, "Unknown format %s", clip(v))
		}
		req.format = v
	case "query_id", "quota_key", "session_id":
		if len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return newError(codeBadArguments, "Parameter %s must be at most 256 printable bytes", name)
		}
		if name == "query_id" {
			req.queryID = v
		}
	case "session_timeout":
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 3600 {
			return newError(374, "Invalid session timeout: '%s'", clip(v)) // INVALID_SESSION_TIMEOUT
		}
	case "client_protocol_version":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > 1<<20 {
			return newError(codeBadArguments, "Parameter client_protocol_version must be a protocol revision")
		}
		req.clientRevision = n
	case "compress":
		req.compress = v == "1"
		return bool01()
	case "decompress":
		req.decompress = v == "1"
		return bool01()
	case "session_check", "close_session", "wait_end_of_query", "stacktrace":
		// Results are always buffered whole; sessions are not kept.
		return bool01()
	case "buffer_size":
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return newError(codeBadArguments, "Parameter buffer_size must be a number of bytes")
		}
	case "role":
		if v != "" {
			return newError(codeUnknownRole, "Role %s not found: the embedded engine has no roles", clip(v))
		}
	}
	return nil
}

// readQuery reads the query: the query parameter, then the POST body, as
// ClickHouse joins them, up to limits.max_query_size.
func (s *server) readQuery(r *http.Request, params url.Values, req *request) (string, *chError) {
	limit := s.cfg.Limits.MaxQuerySize
	q := params.Get("query")
	tooLarge := func() (string, *chError) {
		return reasonTooLarge, newError(codeQueryIsTooLarge, "Query is too large (more than %d bytes). max_query_size = %d", limit, limit)
	}
	if len(q) > limit {
		return tooLarge()
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(ct, "multipart/") {
			return reasonBadRequest, newError(codeNotImplemented, "External tables (multipart/form-data) are not supported")
		}
		room := int64(limit - len(q))
		if q != "" {
			room--
		}
		var body []byte
		var err error
		if req.decompress {
			body, err = nativeDecompress(r.Body, room+1)
		} else {
			body, err = io.ReadAll(io.LimitReader(r.Body, room+1))
		}
		if err != nil {
			if req.decompress {
				return reasonBadRequest, newError(codeCannotDecompress, "Cannot decompress the request body: %v", err)
			}
			return reasonBadRequest, newError(codeBadArguments, "Cannot read the request body: %v", err)
		}
		if int64(len(body)) > room {
			return tooLarge()
		}
		if len(body) > 0 {
			if q != "" {
				q += "\n"
			}
			q += string(body)
		}
	}
	if strings.TrimSpace(q) == "" {
		return reasonBadRequest, newError(codeSyntaxError, "Empty query")
	}
	req.query = q
	return "", nil
}

func (s *server) claimQueryID(id string) bool {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if s.running[id] {
		return false
	}
	s.running[id] = true
	return true
}

func (s *server) releaseQueryID(id string) {
	s.idMu.Lock()
	delete(s.running, id)
	s.idMu.Unlock()
}

// acquireSlot waits for a query slot up to limits.queue_timeout, with at
// most limits.max_queued_queries waiting.
func (s *server) acquireSlot(ctx context.Context) *chError {
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	busy := newError(codeTooManyQueries, "Too many simultaneous queries. Maximum: %d", s.cfg.Limits.MaxConcurrentQueries)
	if s.queued.Add(1) > int64(s.cfg.Limits.MaxQueuedQueries) {
		s.queued.Add(-1)
		return busy
	}
	defer s.queued.Add(-1)
	t := time.NewTimer(s.cfg.Limits.QueueTimeout)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-t.C:
		return busy
	case <-ctx.Done():
		return newError(codeQueryWasCancelled, "The client went away while the query waited for a slot")
	case <-s.baseCtx.Done():
		return newError(codeQueryWasCancelled, "The collector is shutting down")
	}
}

// run runs the query in a session of its own: the engine's parser decides
// what the statement is, the limits and readonly = 1 are set on the
// session before it runs, and the session ends with the request.
func (s *server) run(ctx context.Context, eng *chdb.Engine, info engineInfo, req *request) (*chdb.SessionResult, string, string, *chError) {
	s.sessions.Add(1)
	sess, err := eng.NewSession()
	if err != nil {
		return nil, "", "", engineError(err)
	}
	defer sess.Close()
	class, statements, err := sess.Classify(ctx, req.query)
	if err != nil {
		return nil, "", "", engineError(err)
	}
	if statements > 1 {
		return nil, "", reasonStatement, newError(codeSyntaxError, "Syntax error (Multi-statements are not allowed): %d statements in one query", statements)
	}
	// readonly = 1 refuses every write, but not KILL, SYSTEM STOP MERGES or
	// INTO OUTFILE: of the control statements only SET (which the engine
	// then refuses or keeps within the session) and USE run.
	if class == chdb.ClassControl {
		if kw := firstKeyword(req.query); kw != "SET" && kw != "USE" {
			return nil, "", reasonStatement, newError(codeReadonly, "Cannot execute query in readonly mode: readers may run SELECT, SHOW, DESCRIBE, "+
				"EXPLAIN and EXISTS; %s, and INTO OUTFILE, are not allowed here", clip(kw))
		}
	}
	token := newQueryID()
	if _, err := sess.Query(ctx, engineSettings(&s.cfg.Limits, req.settings)+", log_comment = '"+token+"'", "TSVRaw"); err != nil {
		return nil, "", "", engineError(err)
	}
	if req.database != "" {
		if _, err := sess.Query(ctx, "USE {db:Identifier}", "TSVRaw", chdb.Param{Name: "db", Value: req.database}); err != nil {
			return nil, "", "", engineError(err)
		}
	}
	format := req.format
	if format == "" {
		format = "TabSeparated"
	}
	if f := formatClause(req.query); f != "" {
		format = f
	}
	// The client going away, or Shutdown, kills the query in the engine.
	finished := make(chan struct{})
	defer close(finished)
	s.kills.Add(1)
	go func() {
		defer s.kills.Done()
		select {
		case <-finished:
			return
		case <-ctx.Done():
		case <-s.baseCtx.Done():
		}
		select {
		case <-finished: // it ended meanwhile
		default:
			s.kill(eng, token)
		}
	}()
	if ctx.Err() != nil {
		return nil, "", "", newError(codeQueryWasCancelled, "The client went away")
	}
	res, err := sess.Query(context.Background(), req.query, orDefault(req.format, "TabSeparated"), req.params...)
	if err != nil {
		return nil, "", "", engineError(err)
	}
	return res, format, "", nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// kill ends the engine query whose session carries token.
func (s *server) kill(eng *chdb.Engine, token string) {
	sess, err := eng.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	_, err = sess.Query(context.Background(), "KILL QUERY WHERE query_id IN (SELECT query_id FROM system.processes WHERE Settings['log_comment'] = {t:String}) ASYNC",
		"TSVRaw", chdb.Param{Name: "t", Value: token})
	if err != nil {
		s.set.Logger.Debug("cannot kill a query", zap.Error(err))
	}
}

// respond writes a result as ClickHouse does: the format's content type,
// X-ClickHouse-* headers, and the compression the request asked for.
func (s *server) respond(w http.ResponseWriter, r *http.Request, req *request, info engineInfo, format string, res *chdb.SessionResult) {
	data := res.Data
	var resultRows int64 = -1
	if strings.EqualFold(format, "Native") && req.clientRevision > 0 && len(data) > 0 {
		up, rows, err := upgradeNative(data, req.clientRevision)
		if err != nil {
			s.set.Logger.Warn("cannot write Native for the client's protocol revision", zap.Error(err))
			writeError(w, req.queryID, info.displayName, 0, newError(codeNotImplemented,
				"Cannot write this result in Native for client_protocol_version %d (%v); ask for client_protocol_version=0 or another format", req.clientRevision, err))
			return
		}
		data, resultRows = up, int64(rows)
	}
	summary := map[string]string{
		"read_rows": strconv.FormatUint(res.RowsRead, 10), "read_bytes": strconv.FormatUint(res.BytesRead, 10),
		"written_rows": "0", "written_bytes": "0", "total_rows_to_read": strconv.FormatUint(res.RowsRead, 10),
		"result_bytes": strconv.Itoa(len(res.Data)), "elapsed_ns": strconv.FormatInt(int64(res.Elapsed*1e9), 10),
	}
	if resultRows >= 0 {
		summary["result_rows"] = strconv.FormatInt(resultRows, 10)
	}
	sum, _ := json.Marshal(summary)
	h := w.Header()
	h.Set("Content-Type", contentType(format))
	h.Set("X-ClickHouse-Query-Id", req.queryID)
	h.Set("X-ClickHouse-Format", format)
	h.Set("X-ClickHouse-Timezone", info.timezone)
	h.Set("X-ClickHouse-Server-Display-Name", info.displayName)
	h.Set("X-ClickHouse-Summary", string(sum))
	var err error
	if req.compress && len(data) > 0 {
		if data, err = nativeCompress(data, orDefault(req.http["network_compression_method"], "lz4")); err != nil {
			writeError(w, req.queryID, info.displayName, 0, newError(codeStdException, "Cannot compress the result: %v", err))
			return
		}
	}
	if req.http["enable_http_compression"] == "1" && len(data) > 0 {
		if enc := pickEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			level, _ := strconv.Atoi(orDefault(req.http["http_zlib_compression_level"], "3"))
			if data, err = httpCompress(data, enc, level); err != nil {
				writeError(w, req.queryID, info.displayName, 0, newError(codeStdException, "Cannot compress the result: %v", err))
				return
			}
			h.Set("Content-Encoding", enc)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// contentType is the Content-Type ClickHouse gives a format's output.
func contentType(format string) string {
	f := strings.ToLower(format)
	switch {
	case strings.HasPrefix(f, "tabseparated") || strings.HasPrefix(f, "tsv"):
		return "text/tab-separated-values; charset=UTF-8"
	case strings.HasPrefix(f, "csv"):
		if strings.Contains(f, "withnames") {
			return "text/csv; charset=UTF-8; header=present"
		}
		return "text/csv; charset=UTF-8; header=absent"
	case strings.Contains(f, "eachrow") || f == "jsonlines" || f == "ndjson":
		return "application/x-ndjson; charset=UTF-8"
	case strings.HasPrefix(f, "json"):
		return "application/json; charset=UTF-8"
	case f == "xml":
		return "application/xml; charset=UTF-8"
	case f == "native" || strings.HasPrefix(f, "rowbinary") || f == "parquet" || strings.HasPrefix(f, "arrow") ||
		f == "orc" || f == "avro" || f == "msgpack" || strings.HasPrefix(f, "protobuf"):
		return "application/octet-stream"
	}
	return "text/plain; charset=UTF-8"
}

func newQueryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
