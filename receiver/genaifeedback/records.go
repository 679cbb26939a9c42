package genaifeedback

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// Event names and attribute keys the aiops_clickhouse exporter reads into
// genai_events; OTLP senders use the same ones.
const (
	EventEvaluation = "gen_ai.evaluation.result"
	EventFeedback   = "aiops.feedback"

	AttrEvaluationName        = "gen_ai.evaluation.name"
	AttrEvaluationScoreValue  = "gen_ai.evaluation.score.value"
	AttrEvaluationScoreLabel  = "gen_ai.evaluation.score.label"
	AttrEvaluationExplanation = "gen_ai.evaluation.explanation"
	AttrEvaluatorName         = "aiops.evaluator.name"
	AttrEvaluatorType         = "aiops.evaluator.type"
	AttrEvaluatorVersion      = "aiops.evaluator.version"
	AttrFeedbackKind          = "aiops.feedback.kind"
	AttrFeedbackRating        = "aiops.feedback.rating"
	AttrFeedbackLabel         = "aiops.feedback.label"
	AttrFeedbackComment       = "aiops.feedback.comment"
	AttrUserID                = "user.id"
	AttrIdempotencyKey        = "aiops.idempotency_key"
)

const (
	maxShortString = 256       // ids, names, labels: LowCardinality or key columns
	maxLongString  = 32 << 10  // explanation, comment
	maxAttributes  = 64        // free-form attributes per record
	maxKeyLen      = 256       // idempotency keys
	maxProblems    = 20        // listed in one error response
	futureSlack    = time.Hour // clock skew allowed on timestamps
)

// minTimestamp catches unix seconds or milliseconds sent as nanoseconds.
var minTimestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// reserved keys are written from record fields and cannot be set through
// attributes, so a record cannot contradict itself.
var reserved = map[string]bool{
	AttrEvaluationName: true, AttrEvaluationScoreValue: true, AttrEvaluationScoreLabel: true,
	AttrEvaluationExplanation: true, AttrEvaluatorName: true, AttrEvaluatorType: true, AttrEvaluatorVersion: true,
	AttrFeedbackKind: true, AttrFeedbackRating: true, AttrFeedbackLabel: true, AttrFeedbackComment: true,
	AttrUserID: true, AttrIdempotencyKey: true, genai.ResponseID: true, genai.ConversationID: true,
	genai.AIOpsWorkload: true, genai.AIOpsTenantID: true, genai.AIOpsUserID: true,
	"event.name": true, "tenant.id": true, "aiops.feedback.user_id": true, "aiops.insert_token": true,
}

// common are the fields both record kinds share.
type common struct {
	TraceID        string                     `json:"trace_id"`
	SpanID         string                     `json:"span_id"`
	ResponseID     string                     `json:"response_id"`
	ConversationID string                     `json:"conversation_id"`
	UserID         string                     `json:"user_id"`
	Timestamp      json.RawMessage            `json:"timestamp"`
	ServiceName    string                     `json:"service_name"`
	Workload       string                     `json:"workload"`
	TenantID       string                     `json:"tenant_id"`
	IdempotencyKey string                     `json:"idempotency_key"`
	Attributes     map[string]json.RawMessage `json:"attributes"`
}

type evaluationIn struct {
	common
	Name        string          `json:"name"`
	ScoreValue  *float64        `json:"score_value"`
	ScoreLabel  string          `json:"score_label"`
	Explanation string          `json:"explanation"`
	Evaluator   json.RawMessage `json:"evaluator"`
}

type evaluatorIn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

type feedbackIn struct {
	common
	Rating  json.RawMessage `json:"rating"`
	Label   string          `json:"label"`
	Comment string          `json:"comment"`
}

var (
	evaluationFields = jsonFields(reflect.TypeFor[evaluationIn]())
	evaluatorFields  = jsonFields(reflect.TypeFor[evaluatorIn]())
	feedbackFields   = jsonFields(reflect.TypeFor[feedbackIn]())
)

// record is a validated input record, ready to become a log record.
type record struct {
	service string
	ts      pcommon.Timestamp // 0 when the sender gave none
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	key     string // idempotency key, "" for none
	attrs   pcommon.Map
}

// problems collects what is wrong with a batch, each naming its field.
type problems struct {
	list  []string
	total int
}

func (p *problems) add(path, format string, args ...any) {
	p.total++
	if len(p.list) < maxProblems {
		p.list = append(p.list, path+": "+fmt.Sprintf(format, args...))
	}
}

// kind is one of the two record types and its endpoint.
type kind struct {
	endpoint  string // metric label: evaluations or feedback
	eventName string
	parse     func(v *validator, path string, raw json.RawMessage) *record
}

var (
	evaluationKind = &kind{endpoint: "evaluations", eventName: EventEvaluation, parse: (*validator).evaluation}
	feedbackKind   = &kind{endpoint: "feedback", eventName: EventFeedback, parse: (*validator).feedback}
)

// validator checks one batch against the receiver's settings.
type validator struct {
	defaultService string
	now            time.Time
	p              problems
}

// splitBatch cuts the body into its records. A failure is malformed JSON
// unless the JSON is well formed but not an array.
func splitBatch(body []byte) (raws []json.RawMessage, msg string, malformed bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "body: empty; expected a JSON array of records", true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(&raws)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return nil, fmt.Sprintf("body: malformed JSON at byte %d: %s", syn.Offset, syn.Error()), true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, "body: malformed JSON: unexpected end of input", true
	case errors.As(err, &typ):
		return nil, "body: must be a JSON array of records, got " + typ.Value, false
	case err != nil:
		return nil, "body: malformed JSON: " + err.Error(), true
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Sprintf("body: malformed JSON: unexpected data after the array at byte %d", dec.InputOffset()), true
	}
	if raws == nil {
		return nil, "body: must be a JSON array of records, got null", false
	}
	if len(raws) == 0 {
		return nil, "body: the array is empty; send at least one record", false
	}
	return raws, "", false
}

func (v *validator) evaluation(path string, raw json.RawMessage) *record {
	var in evaluationIn
	if !v.decode(path, raw, evaluationFields, &in) {
		return nil
	}
	rec := v.common(path, &in.common)
	a := rec.attrs
	if in.TraceID == "" && in.ResponseID == "" {
		v.p.add(path, "one of trace_id (with span_id for a single call) or response_id is required to link the evaluation")
	}
	if v.short(path+".name", in.Name, true) {
		a.PutStr(AttrEvaluationName, in.Name)
	}
	if in.ScoreValue == nil && in.ScoreLabel == "" {
		v.p.add(path, "one of score_value or score_label is required")
	}
	if in.ScoreValue != nil {
		a.PutDouble(AttrEvaluationScoreValue, *in.ScoreValue)
	}
	if v.short(path+".score_label", in.ScoreLabel, false) && in.ScoreLabel != "" {
		a.PutStr(AttrEvaluationScoreLabel, in.ScoreLabel)
	}
	if v.long(path+".explanation", in.Explanation) && in.Explanation != "" {
		a.PutStr(AttrEvaluationExplanation, in.Explanation)
	}
	if len(in.Evaluator) > 0 && string(in.Evaluator) != "null" {
		var ev evaluatorIn
		ep := path + ".evaluator"
		if v.decode(ep, in.Evaluator, evaluatorFields, &ev) {
			if v.short(ep+".name", ev.Name, true) {
				a.PutStr(AttrEvaluatorName, ev.Name)
			}
			putShort(v, a, ep+".type", AttrEvaluatorType, ev.Type)
			putShort(v, a, ep+".version", AttrEvaluatorVersion, ev.Version)
		}
	}
	v.attributes(path, in.Attributes, a)
	return rec
}

func (v *validator) feedback(path string, raw json.RawMessage) *record {
	var in feedbackIn
	if !v.decode(path, raw, feedbackFields, &in) {
		return nil
	}
	rec := v.common(path, &in.common)
	a := rec.attrs
	if in.TraceID == "" && in.ResponseID == "" && in.ConversationID == "" {
		v.p.add(path, "one of trace_id, response_id or conversation_id is required to link the feedback")
	}
	kind, rating, label, ok := parseRating(in.Rating)
	switch {
	case len(in.Rating) == 0 || string(in.Rating) == "null":
		v.p.add(path+".rating", `required: "up", "down" or a number from 1 to 5`)
	case !ok:
		v.p.add(path+".rating", `must be "up", "down" or a number from 1 to 5, got %s`, clip(string(in.Rating)))
	default:
		a.PutStr(AttrFeedbackKind, kind)
		a.PutDouble(AttrFeedbackRating, rating)
	}
	switch in.Label {
	case "":
	case "positive", "negative", "neutral":
		label = in.Label
	default:
		v.p.add(path+".label", `must be "positive", "negative" or "neutral", got %q`, clip(in.Label))
	}
	if label != "" {
		a.PutStr(AttrFeedbackLabel, label)
	}
	if v.long(path+".comment", in.Comment) && in.Comment != "" {
		a.PutStr(AttrFeedbackComment, in.Comment)
	}
	v.attributes(path, in.Attributes, a)
	return rec
}

// parseRating reads thumbs ("up" is 1, "down" is 0) or stars (1 to 5 as
// given) and derives the label: 4 and up positive, 2 and down negative.
func parseRating(raw json.RawMessage) (kind string, rating float64, label string, ok bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "up":
			return "thumbs", 1, "positive", true
		case "down":
			return "thumbs", 0, "negative", true
		}
		return "", 0, "", false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 1 || f > 5 {
		return "", 0, "", false
	}
	switch {
	case f >= 4:
		label = "positive"
	case f <= 2:
		label = "negative"
	default:
		label = "neutral"
	}
	return "rating", f, label, true
}

// common validates the shared fields and starts the record's attributes.
func (v *validator) common(path string, in *common) *record {
	rec := &record{attrs: pcommon.NewMap(), service: in.ServiceName}
	a := rec.attrs
	if in.TraceID != "" {
		if b, msg := hexID(in.TraceID, 16); msg != "" {
			v.p.add(path+".trace_id", "%s", msg)
		} else {
			rec.traceID = pcommon.TraceID(b)
		}
	}
	if in.SpanID != "" {
		if in.TraceID == "" {
			v.p.add(path+".span_id", "requires trace_id")
		}
		if b, msg := hexID(in.SpanID, 8); msg != "" {
			v.p.add(path+".span_id", "%s", msg)
		} else {
			rec.spanID = pcommon.SpanID(b[:8])
		}
	}
	rec.ts = v.timestamp(path+".timestamp", in.Timestamp)
	if in.ServiceName == "" {
		rec.service = v.defaultService
		if rec.service == "" {
			v.p.add(path+".service_name", "required, as the receiver has no service_name default")
		}
	} else {
		v.short(path+".service_name", in.ServiceName, false)
	}
	putShort(v, a, path+".response_id", genai.ResponseID, in.ResponseID)
	putShort(v, a, path+".conversation_id", genai.ConversationID, in.ConversationID)
	putShort(v, a, path+".user_id", AttrUserID, in.UserID)
	putShort(v, a, path+".workload", genai.AIOpsWorkload, in.Workload)
	putShort(v, a, path+".tenant_id", genai.AIOpsTenantID, in.TenantID)
	if in.IdempotencyKey != "" {
		if len(in.IdempotencyKey) > maxKeyLen {
			v.p.add(path+".idempotency_key", "at most %d bytes", maxKeyLen)
		}
		rec.key = in.IdempotencyKey
	}
	return rec
}

// decode fills dst from one JSON object, naming the first problem: not an
// object, a field it does not know (matched exactly, where encoding/json
// alone would accept any letter case), or a value of the wrong type.
func (v *validator) decode(path string, raw json.RawMessage, allowed map[string]bool, dst any) bool {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		v.p.add(path, "must be an object, got %s", jsonKind(raw))
		return false
	}
	var unknown []string
	for k := range fields {
		if !allowed[k] {
			unknown = append(unknown, strconv.Quote(clip(k)))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		v.p.add(path, "unknown field %s", strings.Join(unknown, ", "))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			// Field names the embedded struct too ("common.trace_id").
			v.p.add(path+"."+strings.TrimPrefix(typ.Field, "common."), "must be %s, got %s", typeName(typ.Type), typ.Value)
		} else {
			v.p.add(path, "%s", err.Error())
		}
		return false
	}
	return true
}

// attributes copies free-form scalar attributes after the record's own.
func (v *validator) attributes(path string, in map[string]json.RawMessage, a pcommon.Map) {
	if len(in) > maxAttributes {
		v.p.add(path+".attributes", "at most %d attributes, got %d", maxAttributes, len(in))
		return
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := fmt.Sprintf("%s.attributes[%q]", path, clip(k))
		switch {
		case k == "" || len(k) > maxShortString:
			v.p.add(p, "keys must be 1 to %d bytes", maxShortString)
			continue
		case reserved[k]:
			v.p.add(p, "reserved: set through the record's own fields")
			continue
		}
		raw := bytes.TrimSpace(in[k])
		if len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case '"':
			var s string
			_ = json.Unmarshal(raw, &s) // well formed: splitBatch parsed it
			if len(s) > maxLongString {
				v.p.add(p, "at most %d bytes", maxLongString)
			}
			a.PutStr(k, s)
		case 't', 'f':
			a.PutBool(k, raw[0] == 't')
		case '{', '[', 'n':
			v.p.add(p, "must be a string, number or boolean, got %s", jsonKind(raw))
		default:
			if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
				a.PutInt(k, n)
			} else if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
				a.PutDouble(k, f)
			} else {
				v.p.add(p, "number out of range")
			}
		}
	}
}

// timestamp reads RFC 3339 text or integer unix nanoseconds; absent is 0.
func (v *validator) timestamp(path string, raw json.RawMessage) pcommon.Timestamp {
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	var t time.Time
	var s string
	if json.Unmarshal(raw, &s) == nil {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			v.p.add(path, `must be RFC 3339 such as "2026-05-01T12:00:00Z", or integer unix nanoseconds; got %q`, clip(s))
			return 0
		}
	} else {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			v.p.add(path, "must be integer unix nanoseconds or an RFC 3339 string, got %s", clip(string(raw)))
			return 0
		}
		t = time.Unix(0, n)
		if t.Before(minTimestamp) {
			v.p.add(path, "%d is before 2000-01-01 as unix nanoseconds (seconds or milliseconds sent?)", n)
			return 0
		}
	}
	switch {
	case t.Before(minTimestamp):
		v.p.add(path, "%s is before 2000-01-01", t.UTC().Format(time.RFC3339))
		return 0
	case t.After(v.now.Add(futureSlack)):
		v.p.add(path, "%s is more than %s in the future", t.UTC().Format(time.RFC3339), futureSlack)
		return 0
	}
	return pcommon.NewTimestampFromTime(t)
}

// short checks a length-limited string, and that a required one is set.
func (v *validator) short(path, s string, required bool) bool {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.p.add(path, "required")
		return false
	case len(s) > maxShortString:
		v.p.add(path, "at most %d bytes, got %d", maxShortString, len(s))
		return false
	}
	return true
}

func (v *validator) long(path, s string) bool {
	if len(s) > maxLongString {
		v.p.add(path, "at most %d bytes, got %d", maxLongString, len(s))
		return false
	}
	return true
}

func putShort(v *validator, a pcommon.Map, path, key, s string) {
	if s != "" && v.short(path, s, false) {
		a.PutStr(key, s)
	}
}

// hexID decodes a trace id (16 bytes) or span id (8 bytes) from hex.
func hexID(s string, n int) ([16]byte, string) {
	var out [16]byte
	if len(s) != 2*n {
		return out, fmt.Sprintf("must be %d hex characters, got %d", 2*n, len(s))
	}
	if _, err := hex.Decode(out[:n], []byte(s)); err != nil {
		return out, "must be hexadecimal"
	}
	if out == [16]byte{} {
		return out, "must not be all zeros"
	}
	return out, ""
}

// clip shortens a value echoed in an error, so a bad field cannot make
// the response as large as the request.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

// jsonFields lists a struct's JSON keys, through embedded structs.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k := range jsonFields(f.Type) {
				out[k] = true
			}
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
			out[name] = true
		}
	}
	return out
}
