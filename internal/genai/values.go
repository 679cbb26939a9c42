package genai

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Problems Count reports.
const (
	NotInteger = "not_integer"
	Negative   = "negative"
	WrongType  = "wrong_type"
)

// Count reads a non-negative integer such as a token count, which
// instrumentations write as ints, integral doubles or decimal strings.
// problem is empty when the value is usable, else one of the constants above.
func Count(v pcommon.Value) (n int64, problem string) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		n = v.Int()
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, NotInteger
		}
		n = int64(f)
	case pcommon.ValueTypeStr:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64); err != nil {
			return 0, NotInteger
		}
	default:
		return 0, WrongType
	}
	if n < 0 {
		return 0, Negative
	}
	return n, ""
}

// Number reads a finite number written as a double or an int.
func Number(v pcommon.Value) (float64, bool) {
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}
