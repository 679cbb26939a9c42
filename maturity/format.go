package maturity

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/shopspring/decimal"
)

// evidenceFuncs are available in evidence templates. Each takes any value a
// query returns (numbers of every width, decimals, pointers, NULL).
var evidenceFuncs = template.FuncMap{
	"pct":  func(v any) string { return fmtValue(v, "ratio") },
	"num":  func(v any) string { return fmtValue(v, "count") },
	"usd":  func(v any) string { return fmtValue(v, "usd") },
	"f1":   func(v any) string { return fmtValue(v, "number") },
	"days": func(v any) string { return fmtValue(v, "days") },
	"list": fmtList,
	// has reports whether a value is present and non-zero.
	"has": func(v any) bool { f, ok := asFloat(v); return ok && f != 0 },
	// present reports whether a value was measured at all (not NULL).
	"present": func(v any) bool { _, ok := asFloat(v); return ok },
}

// asFloat reads a number from whatever a query returned.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case float64:
		return x, !math.IsNaN(x)
	case *float64:
		if x == nil {
			return 0, false
		}
		return *x, !math.IsNaN(*x)
	case float32:
		return float64(x), true
	case *float32:
		if x == nil {
			return 0, false
		}
		return float64(*x), true
	case decimal.Decimal:
		f, _ := x.Float64()
		return f, true
	case *decimal.Decimal:
		if x == nil {
			return 0, false
		}
		f, _ := x.Float64()
		return f, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Pointer:
		if rv.IsNil() {
			return 0, false
		}
		return asFloat(rv.Elem().Interface())
	}
	return 0, false
}

// fmtValue renders a value in a unit for people.
func fmtValue(v any, unit string) string {
	if s, ok := v.(string); ok {
		return s
	}
	if l, ok := v.([]string); ok {
		return fmtList(l)
	}
	f, ok := asFloat(v)
	if !ok {
		return "—"
	}
	switch unit {
	case "ratio":
		p := f * 100
		switch {
		case p == 0 || p == 100:
			return fmt.Sprintf("%.0f%%", p)
		case p >= 99.95 && p < 100:
			return "99.9%"
		case p < 0.1 && p > 0:
			return "<0.1%"
		}
		if p == math.Trunc(p) {
			return strconv.FormatFloat(p, 'f', 0, 64) + "%"
		}
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	case "usd":
		sign := ""
		if f < 0 {
			sign, f = "-", -f
		}
		if f != 0 && f < 0.01 {
			return sign + "$" + strconv.FormatFloat(f, 'f', 4, 64)
		}
		return sign + "$" + groupThousands(strconv.FormatFloat(f, 'f', 2, 64))
	case "days":
		if f == math.Trunc(f) {
			return strconv.FormatFloat(f, 'f', 0, 64) + " d"
		}
		return strconv.FormatFloat(f, 'f', 1, 64) + " d"
	case "bool":
		if f != 0 {
			return "yes"
		}
		return "no"
	case "count":
		if f == math.Trunc(f) {
			return groupThousands(strconv.FormatFloat(f, 'f', 0, 64))
		}
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return groupThousands(strconv.FormatFloat(f, 'f', 0, 64))
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String() + frac
	if neg {
		return "-" + out
	}
	return out
}

// fmtList renders a list (or a value that is one) as "a, b, c", at most 8.
func fmtList(v any) string {
	var items []string
	switch x := v.(type) {
	case []string:
		items = append(items, x...)
	case string:
		if x == "" {
			return "none"
		}
		return x
	case nil:
		return "none"
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice {
			for i := 0; i < rv.Len(); i++ {
				items = append(items, fmt.Sprint(rv.Index(i).Interface()))
			}
		} else {
			return fmt.Sprint(v)
		}
	}
	if len(items) == 0 {
		return "none"
	}
	sort.Strings(items)
	if len(items) > 8 {
		return strings.Join(items[:8], ", ") + fmt.Sprintf(" and %d more", len(items)-8)
	}
	return strings.Join(items, ", ")
}

// jsonValue turns a query value into something encoding/json writes
// faithfully (decimals as numbers, times as RFC 3339, pointers dereferenced).
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case decimal.Decimal:
		f, _ := x.Float64()
		return f
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []string:
		if x == nil {
			return []string{}
		}
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case string, bool:
		return x
	}
	if f, ok := asFloat(v); ok {
		return f
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	return fmt.Sprint(v)
}

// comparisonText renders "≥ 90%".
func comparisonText(cmp string, threshold float64, unit string) string {
	if unit == "bool" {
		if compare(1, cmp, threshold) {
			return "yes"
		}
		return "no"
	}
	sym := map[string]string{">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}[cmp]
	return sym + " " + fmtValue(threshold, unit)
}
