package chhttp

import (
	"fmt"
	"net/http"
	"strings"

	chproto "github.com/ClickHouse/ch-go/proto"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// ClickHouse error codes this interface raises itself.
const (
	codeUnsupportedMethod    = 1
	codeBadArguments         = 36
	codeNotImplemented       = 48
	codeSyntaxError          = 62
	codeUnknownFormat        = 73
	codeUnknownSetting       = 115
	codeTimeoutExceeded      = 159
	codeReadonly             = 164
	codeTooManyQueries       = 202
	codeQueryIDRunning       = 216
	codeQueryIsTooLarge      = 229
	codeMemoryLimitExceeded  = 241
	codeCannotDecompress     = 271
	codeTooManyBytes         = 307
	codeQueryWasCancelled    = 394
	codeTooManyRowsOrBytes   = 396
	codeCannotScheduleTask   = 439
	codeSettingConstraint    = 452
	codeBadQueryParameter    = 457
	codeUnknownRole          = 511
	codeAuthenticationFailed = 516
	codeStdException         = 1001
)

// chError is an exception as ClickHouse's HTTP interface reports it: the
// code in X-ClickHouse-Exception-Code and "Code: N. DB::Exception: ..." in
// the body.
type chError struct {
	code int
	text string // the whole body line, without the trailing newline
}

func (e *chError) Error() string { return e.text }

// newError formats an exception raised here the way the engine formats its
// own.
func newError(code int, format string, args ...any) *chError {
	msg := strings.TrimRight(fmt.Sprintf(format, args...), ".")
	return &chError{code: code, text: fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, msg, chproto.Error(code).String())}
}

// engineError carries an engine exception through unchanged: its message
// already reads "Code: N. DB::Exception: ...".
func engineError(err error) *chError {
	if ce, ok := err.(*chError); ok {
		return ce
	}
	code := chdb.ErrorCode(err)
	if code == 0 {
		return newError(codeStdException, "%s", strings.TrimPrefix(err.Error(), "clickhouse: "))
	}
	msg := err.Error()
	if i := strings.Index(msg, "Code: "); i >= 0 {
		msg = msg[i:]
	}
	return &chError{code: code, text: msg}
}

// statusByCode is ClickHouse's own mapping of exception codes to HTTP
// statuses (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp); any other code
// is 500.
var statusByCode = func() map[int]int {
	m := map[int]int{}
	for status, names := range map[int][]string{
		http.StatusUnauthorized: {"REQUIRED_PASSWORD"},
		http.StatusForbidden:    {"UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"},
		http.StatusBadRequest: {"BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
			"CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
			"CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
			"CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE",
			"THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA",
			"TYPE_MISMATCH", "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"},
		http.StatusNotFound: {"UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
			"UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
			"UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"},
		http.StatusRequestEntityTooLarge: {"QUERY_IS_TOO_LARGE"},
		http.StatusNotImplemented:        {"NOT_IMPLEMENTED"},
		http.StatusServiceUnavailable:    {"SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"},
		http.StatusLengthRequired:        {"HTTP_LENGTH_REQUIRED"},
		http.StatusRequestTimeout:        {"TIMEOUT_EXCEEDED"},
	} {
		for _, n := range names {
			if e, err := chproto.ErrorString(n); err == nil {
				m[int(e)] = status
			}
		}
	}
	// Not ClickHouse's 500: a full queue is temporary, and 503 tells
	// clients and proxies to back off and retry.
	m[codeTooManyQueries] = http.StatusServiceUnavailable
	return m
}()

func httpStatus(code int) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
