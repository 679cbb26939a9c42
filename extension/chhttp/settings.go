package chhttp

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A request may change only these settings, each checked and bounded here
// and then applied by the engine (SET, before readonly = 1): what reaches
// the engine is rendered from the parsed value, never the request's text.
type settingKind int

const (
	kindUint    settingKind = iota // a non-negative integer
	kindSeconds                    // seconds, a non-negative decimal
	kindBool                       // 0, 1, true or false
	kindEnum                       // one of enum
	kindZone                       // a time zone name
	kindChar                       // one printable character
)

type settingSpec struct {
	kind settingKind
	enum []string
	// limit, when set, is the configured bound: a larger value (or 0,
	// "no limit") is lowered to it.
	limit func(*LimitsConfig) float64
	// http settings configure this interface and do not reach the engine.
	http     bool
	min, max float64 // range of an http number
}

var overflowModes = []string{"throw", "break"}

var allowedSettings = map[string]settingSpec{
	"max_execution_time":    {kind: kindSeconds, limit: func(l *LimitsConfig) float64 { return l.MaxExecutionTime.Seconds() }},
	"max_memory_usage":      {kind: kindUint, limit: func(l *LimitsConfig) float64 { return float64(l.MaxMemoryUsage) }},
	"max_threads":           {kind: kindUint, limit: func(l *LimitsConfig) float64 { return float64(l.MaxThreads) }},
	"max_result_rows":       {kind: kindUint, limit: func(l *LimitsConfig) float64 { return float64(l.MaxResultRows) }},
	"max_result_bytes":      {kind: kindUint, limit: func(l *LimitsConfig) float64 { return float64(l.MaxResultBytes) }},
	"result_overflow_mode":  {kind: kindEnum, enum: overflowModes},
	"max_rows_to_read":      {kind: kindUint},
	"max_bytes_to_read":     {kind: kindUint},
	"read_overflow_mode":    {kind: kindEnum, enum: overflowModes},
	"timeout_overflow_mode": {kind: kindEnum, enum: overflowModes},
	"extremes":              {kind: kindBool},
	"join_use_nulls":        {kind: kindBool},
	"session_timezone":      {kind: kindZone},

	"date_time_output_format":                    {kind: kindEnum, enum: []string{"simple", "iso", "unix_timestamp"}},
	"format_csv_delimiter":                       {kind: kindChar},
	"output_format_csv_crlf_end_of_line":         {kind: kindBool},
	"output_format_tsv_crlf_end_of_line":         {kind: kindBool},
	"output_format_decimal_trailing_zeros":       {kind: kindBool},
	"output_format_json_quote_64bit_integers":    {kind: kindBool},
	"output_format_json_quote_64bit_floats":      {kind: kindBool},
	"output_format_json_quote_decimals":          {kind: kindBool},
	"output_format_json_quote_denormals":         {kind: kindBool},
	"output_format_json_named_tuples_as_objects": {kind: kindBool},
	"output_format_json_validate_utf8":           {kind: kindBool},
	"output_format_write_statistics":             {kind: kindBool},
	"output_format_pretty_max_rows":              {kind: kindUint},
	"output_format_pretty_max_column_pad_width":  {kind: kindUint},
	"output_format_pretty_max_value_width":       {kind: kindUint},

	// The HTTP interface's own settings.
	"enable_http_compression":                      {kind: kindBool, http: true},
	"http_zlib_compression_level":                  {kind: kindUint, http: true, min: 1, max: 9},
	"network_compression_method":                   {kind: kindEnum, enum: []string{"lz4", "zstd", "none"}, http: true},
	"network_zstd_compression_level":               {kind: kindUint, http: true, min: 1, max: 22},
	"http_write_exception_in_output_format":        {kind: kindBool, http: true}, // results are sent whole: exceptions always come before them
	"send_progress_in_http_headers":                {kind: kindBool, http: true}, // no progress: results are sent whole
	"http_headers_progress_interval_ms":            {kind: kindUint, http: true, max: math.MaxInt64},
	"http_response_buffer_size":                    {kind: kindUint, http: true, max: math.MaxInt64},
	"cancel_http_readonly_queries_on_client_close": {kind: kindBool, http: true}, // queries are always cancelled when the client goes
}

// reservedParams are the HTTP interface's own URL parameters, not settings.
var reservedParams = map[string]bool{
	"query": true, "database": true, "default_format": true, "user": true, "password": true, "query_id": true,
	"quota_key": true, "session_id": true, "session_timeout": true, "session_check": true, "close_session": true,
	"client_protocol_version": true, "compress": true, "decompress": true, "wait_end_of_query": true,
	"buffer_size": true, "stacktrace": true, "role": true,
}

var zoneRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$`)

// parseSetting checks one requested setting and returns its canonical value:
// the only text of the request that reaches the SET statement.
func parseSetting(name, value string, limits *LimitsConfig) (string, *chError) {
	spec, ok := allowedSettings[name]
	if !ok {
		return "", nil // the caller decides between unknown and forbidden
	}
	bad := func() (string, *chError) {
		return "", newError(codeBadArguments, "Cannot parse value %q of setting %s", clip(value), name)
	}
	v := strings.TrimSpace(value)
	switch spec.kind {
	case kindBool:
		switch strings.ToLower(v) {
		case "1", "true":
			return "1", nil
		case "0", "false":
			return "0", nil
		}
		return bad()
	case kindEnum:
		for _, e := range spec.enum {
			if strings.EqualFold(v, e) {
				return e, nil
			}
		}
		return "", newError(codeBadArguments, "Unexpected value %q of setting %s: expected one of %s", clip(value), name, strings.Join(spec.enum, ", "))
	case kindZone:
		if !zoneRE.MatchString(v) {
			return bad()
		}
		return v, nil
	case kindChar:
		if len(v) != 1 || v[0] < 0x20 || v[0] > 0x7e || v[0] == '\'' || v[0] == '\\' {
			return "", newError(codeBadArguments, "Setting %s must be one printable character other than a quote or a backslash", name)
		}
		return v, nil
	}
	var f float64
	if spec.kind == kindSeconds {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad()
		}
		f = x
	} else {
		if strings.EqualFold(v, "auto") && name == "max_threads" {
			v = "0"
		}
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return bad()
		}
		f = float64(x)
		if spec.http && (f < spec.min || spec.max > 0 && f > spec.max) {
			return "", newError(codeBadArguments, "Setting %s must be from %g to %g", name, spec.min, spec.max)
		}
	}
	if spec.limit != nil {
		if bound := spec.limit(limits); f == 0 || f > bound {
			f = bound
		}
	}
	if spec.kind == kindSeconds {
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return strconv.FormatUint(uint64(f), 10), nil
}

// engineSettings is what every reader query runs with: the configured
// bounds, the request's own choices within them, and readonly = 1 last.
// Names and values are this package's own text (see parseSetting).
func engineSettings(limits *LimitsConfig, requested map[string]string) string {
	eff := map[string]string{
		"max_execution_time":   strconv.FormatFloat(limits.MaxExecutionTime.Seconds(), 'f', -1, 64),
		"max_memory_usage":     strconv.FormatUint(limits.MaxMemoryUsage, 10),
		"max_threads":          strconv.FormatUint(limits.MaxThreads, 10),
		"max_result_rows":      strconv.FormatUint(limits.MaxResultRows, 10),
		"max_result_bytes":     strconv.FormatUint(limits.MaxResultBytes, 10),
		"result_overflow_mode": "throw",
		"max_query_size":       strconv.Itoa(limits.MaxQuerySize),
		// The lowest CPU priority for the query's threads, so that they
		// yield to ingestion; the engine applies it only with CAP_SYS_NICE.
		"os_thread_priority": "19",
	}
	for k, v := range requested {
		eff[k] = v
	}
	names := make([]string, 0, len(eff))
	for k := range eff {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("SET ")
	for _, k := range names {
		b.WriteString(k)
		b.WriteString(" = ")
		if spec, ok := allowedSettings[k]; ok && (spec.kind == kindEnum || spec.kind == kindZone || spec.kind == kindChar) {
			b.WriteString("'" + eff[k] + "'")
		} else {
			b.WriteString(eff[k])
		}
		b.WriteString(", ")
	}
	b.WriteString("readonly = 1")
	return b.String()
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
