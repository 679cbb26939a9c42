// Package mockprovider serves the OpenAI and Anthropic organization usage
// and cost reports on loopback, in the shapes their public documentation
// gives, for the provider_usage receiver's tests, the end-to-end test and
// the demo. It checks what a real server would refuse (auth headers, the
// array syntax of group_by, the bucket width), paginates by buckets with
// has_more/next_page, and can be scripted to answer 429, 5xx, 401 or to
// hold a page until a test lets it go.
package mockprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Report paths, as documented.
const (
	OpenAICompletions  = "/v1/organization/usage/completions"
	OpenAIEmbeddings   = "/v1/organization/usage/embeddings"
	OpenAICosts        = "/v1/organization/costs"
	AnthropicMessages  = "/v1/organizations/usage_report/messages"
	AnthropicCosts     = "/v1/organizations/cost_report"
	AnthropicVersion   = "2023-06-01"
	providerOpenAI     = "openai"
	providerAnthropic  = "anthropic"
	defaultPageBuckets = 1
)

// Bucket is one time bucket of a report with its result rows, each a JSON
// object in the provider's field names.
type Bucket struct {
	Start, End time.Time
	Results    []map[string]any
}

// Fault is a scripted answer served instead of the report.
type Fault struct {
	Status     int
	RetryAfter string // Retry-After header, if any
	Body       string
}

// Request is what the server saw, for assertions (no key values).
type Request struct {
	Path   string
	Query  url.Values
	Status int
	Page   int
}

// Server is one provider's mock.
type Server struct {
	URL      string
	provider string
	key      string
	srv      *httptest.Server

	mu       sync.Mutex
	reports  map[string][]Bucket
	faults   map[string][]Fault
	requests []Request
	// PageBuckets is how many buckets one page holds at most (default 1,
	// so a week is seven pages).
	pageBuckets int
	hold        map[string]holdAt
}

type holdAt struct {
	page    int
	release chan struct{}
	once    *sync.Once // Close and the release func may both close release
}

func (h holdAt) let() { h.once.Do(func() { close(h.release) }) }

// NewOpenAI starts a mock of OpenAI's organization usage and costs API
// that accepts key as the admin key.
func NewOpenAI(key string) *Server { return start(providerOpenAI, key) }

// NewAnthropic starts a mock of Anthropic's usage and cost report API.
func NewAnthropic(key string) *Server { return start(providerAnthropic, key) }

func start(provider, key string) *Server {
	s := &Server{provider: provider, key: key, reports: map[string][]Bucket{}, faults: map[string][]Fault{},
		pageBuckets: defaultPageBuckets, hold: map[string]holdAt{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server; held pages are let go.
func (s *Server) Close() {
	s.mu.Lock()
	for p, h := range s.hold {
		h.let()
		delete(s.hold, p)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetPageBuckets sets how many buckets a page holds at most.
func (s *Server) SetPageBuckets(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageBuckets = max(1, n)
}

// SetReport replaces what path serves.
func (s *Server) SetReport(path string, buckets []Bucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := append([]Bucket(nil), buckets...)
	sort.Slice(cp, func(i, j int) bool { return cp[i].Start.Before(cp[j].Start) })
	s.reports[path] = cp
}

// Script queues answers path gives before its report, in order.
func (s *Server) Script(path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], faults...)
}

// Hold makes requests for path's page number page (0 is the first) and
// later wait until release is called or the client gives up.
func (s *Server) Hold(path string, page int) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := holdAt{page: page, release: make(chan struct{}), once: new(sync.Once)}
	s.hold[path] = h
	return func() {
		s.mu.Lock()
		if cur, ok := s.hold[path]; ok && cur.release == h.release {
			delete(s.hold, path)
		}
		s.mu.Unlock()
		h.let()
	}
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Served counts requests to path answered 200.
func (s *Server) Served(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path && r.Status == http.StatusOK {
			n++
		}
	}
	return n
}

func (s *Server) record(r *http.Request, status, page int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.Query(), Status: status, Page: page})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet {
		s.fail(w, r, http.StatusMethodNotAllowed, "only GET")
		return
	}
	if status, msg := s.authorize(r); status != 0 {
		s.fail(w, r, status, msg)
		return
	}
	s.mu.Lock()
	buckets, known := s.reports[r.URL.Path]
	if !known && !s.paths()[r.URL.Path] {
		s.mu.Unlock()
		s.fail(w, r, http.StatusNotFound, "no such report")
		return
	}
	var fault *Fault
	if q := s.faults[r.URL.Path]; len(q) > 0 {
		fault, s.faults[r.URL.Path] = &q[0], q[1:]
	}
	per := s.pageBuckets
	held, isHeld := s.hold[r.URL.Path]
	s.mu.Unlock()

	if fault != nil {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		s.record(r, fault.Status, -1)
		w.WriteHeader(fault.Status)
		body := fault.Body
		if body == "" {
			body = s.errorBody(fault.Status, "scripted")
		}
		fmt.Fprint(w, body)
		return
	}
	q := r.URL.Query()
	from, to, err := s.window(q)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.checkGrouping(r.URL.Path, q); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if bw := q.Get("bucket_width"); bw != "" && bw != "1d" {
		s.fail(w, r, http.StatusBadRequest, "this mock serves bucket_width=1d only")
		return
	}
	page := 0
	if tok := q.Get("page"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page_"))
		if err != nil || !strings.HasPrefix(tok, "page_") || n < 0 {
			s.fail(w, r, http.StatusBadRequest, "invalid page token")
			return
		}
		page = n
	}
	if isHeld && page >= held.page {
		select {
		case <-held.release:
		case <-r.Context().Done():
			s.record(r, 499, page) // the client went away
			return
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 180 {
			s.fail(w, r, http.StatusBadRequest, "invalid limit")
			return
		}
		per = min(per, n)
	}
	var in []Bucket
	for _, b := range buckets {
		if !b.Start.Before(from) && (to.IsZero() || !b.End.After(to)) {
			in = append(in, b)
		}
	}
	lo := min(page*per, len(in))
	hi := min(lo+per, len(in))
	more := hi < len(in)
	out := map[string]any{"data": s.render(in[lo:hi]), "has_more": more, "next_page": nil}
	if more {
		out["next_page"] = "page_" + strconv.Itoa(page+1)
	}
	if s.provider == providerOpenAI {
		out["object"] = "page"
	}
	s.record(r, http.StatusOK, page)
	json.NewEncoder(w).Encode(out)
}

func (s *Server) paths() map[string]bool {
	if s.provider == providerOpenAI {
		return map[string]bool{OpenAICompletions: true, OpenAIEmbeddings: true, OpenAICosts: true}
	}
	return map[string]bool{AnthropicMessages: true, AnthropicCosts: true}
}

func (s *Server) authorize(r *http.Request) (int, string) {
	if s.provider == providerOpenAI {
		if r.Header.Get("Authorization") != "Bearer "+s.key {
			return http.StatusUnauthorized, "Incorrect API key provided"
		}
		return 0, ""
	}
	if r.Header.Get("x-api-key") != s.key {
		return http.StatusUnauthorized, "invalid x-api-key"
	}
	if r.Header.Get("anthropic-version") != AnthropicVersion {
		return http.StatusBadRequest, "anthropic-version header is required"
	}
	return 0, ""
}

// window reads the time range in each provider's parameters: OpenAI's
// start_time/end_time in unix seconds, Anthropic's starting_at/ending_at in
// RFC 3339.
func (s *Server) window(q url.Values) (from, to time.Time, err error) {
	if s.provider == providerOpenAI {
		sec, err := strconv.ParseInt(q.Get("start_time"), 10, 64)
		if err != nil {
			return from, to, fmt.Errorf("start_time is required, in unix seconds")
		}
		from = time.Unix(sec, 0).UTC()
		if e := q.Get("end_time"); e != "" {
			sec, err := strconv.ParseInt(e, 10, 64)
			if err != nil {
				return from, to, fmt.Errorf("end_time must be unix seconds")
			}
			to = time.Unix(sec, 0).UTC()
		}
		return from, to, nil
	}
	from, err = time.Parse(time.RFC3339, q.Get("starting_at"))
	if err != nil {
		return from, to, fmt.Errorf("starting_at is required, in RFC 3339")
	}
	if e := q.Get("ending_at"); e != "" {
		if to, err = time.Parse(time.RFC3339, e); err != nil {
			return from, to, fmt.Errorf("ending_at must be RFC 3339")
		}
	}
	return from, to, nil
}

// checkGrouping refuses the other provider's array syntax and unknown
// group_by values, as the real APIs do.
func (s *Server) checkGrouping(path string, q url.Values) error {
	allowed := map[string][]string{
		OpenAICompletions: {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"},
		OpenAIEmbeddings:  {"project_id", "user_id", "api_key_id", "model"},
		OpenAICosts:       {"project_id", "line_item"},
		AnthropicMessages: {"api_key_id", "workspace_id", "model", "service_tier", "context_window"},
		AnthropicCosts:    {"workspace_id", "description"},
	}[path]
	param, wrong := "group_by", "group_by[]"
	if s.provider == providerAnthropic {
		param, wrong = "group_by[]", "group_by"
	}
	if _, ok := q[wrong]; ok {
		return fmt.Errorf("unknown parameter %s (use %s)", wrong, param)
	}
	for _, g := range q[param] {
		ok := false
		for _, a := range allowed {
			ok = ok || g == a
		}
		if !ok {
			return fmt.Errorf("invalid %s value %q", param, g)
		}
	}
	return nil
}

func (s *Server) render(buckets []Bucket) []map[string]any {
	out := make([]map[string]any, 0, len(buckets))
	for _, b := range buckets {
		results := b.Results
		if results == nil {
			results = []map[string]any{}
		}
		if s.provider == providerOpenAI {
			out = append(out, map[string]any{"object": "bucket", "start_time": b.Start.Unix(), "end_time": b.End.Unix(), "results": results})
		} else {
			out = append(out, map[string]any{"starting_at": b.Start.Format(time.RFC3339), "ending_at": b.End.Format(time.RFC3339), "results": results})
		}
	}
	return out
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.record(r, status, -1)
	w.WriteHeader(status)
	fmt.Fprint(w, s.errorBody(status, msg))
}

// errorBody is each provider's documented error envelope.
func (s *Server) errorBody(status int, msg string) string {
	if s.provider == providerOpenAI {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": status}})
		return string(b)
	}
	kind := map[int]string{401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}[status]
	if kind == "" {
		kind = "api_error"
		if status < 500 {
			kind = "invalid_request_error"
		}
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": msg}})
	return string(b)
}

// Day is midnight UTC of t's day.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Days is n one-day buckets ending with the one that holds now, oldest
// first, each given the rows rows(i, start) returns.
func Days(now time.Time, n int, rows func(i int, start time.Time) []map[string]any) []Bucket {
	first := Day(now).AddDate(0, 0, -(n - 1))
	out := make([]Bucket, n)
	for i := range out {
		start := first.AddDate(0, 0, i)
		out[i] = Bucket{Start: start, End: start.AddDate(0, 0, 1), Results: rows(i, start)}
	}
	return out
}
