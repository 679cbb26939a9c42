// Package pricing turns GenAI token usage into money with exact integer
// arithmetic, using an effective-dated, mergeable price catalog.
package pricing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Amount is money in picodollars (1e-12 USD): exact integer arithmetic, no float drift.
// A picodollar is fine enough that every price quoted per 1M tokens with up to
// six decimals costs a whole number of picodollars per token.
type Amount int64

const (
	// Picodollar is the smallest Amount.
	Picodollar Amount = 1
	// USD is one dollar.
	USD Amount = 1_000_000_000_000

	usdDecimals = 12
)

// String renders the exact decimal USD value with trailing zeros trimmed:
// 12_500_000 -> "0.0000125", 2*USD -> "2", 0 -> "0".
func (a Amount) String() string {
	neg := a < 0
	u := uint64(a)
	if neg {
		u = -u // two's complement keeps MinInt64 correct
	}
	whole := u / uint64(USD)
	frac := u % uint64(USD)

	var buf [40]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, whole, 10)
	if frac != 0 {
		var f [usdDecimals]byte
		for i := usdDecimals - 1; i >= 0; i-- {
			f[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := usdDecimals
		for n > 0 && f[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, f[:n]...)
	}
	return string(b)
}

// USD converts to float64 dollars, for display and float-only sinks.
func (a Amount) USD() float64 {
	// Splitting keeps the result correctly rounded beyond 2^53 picodollars.
	return float64(a/USD) + float64(a%USD)/float64(USD)
}

// MarshalText makes Amount render as its exact decimal in JSON/YAML.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText accepts the same syntax as ParseUSD.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseUSD parses a decimal USD string exactly: "2.5" -> 2_500_000_000_000.
// It accepts an optional sign and exponent ("1.25e-6"). Digits finer than a
// picodollar are rejected unless they are zeros; so is anything out of int64 range.
func ParseUSD(s string) (Amount, error) {
	v, err := parseDecimal(s, usdDecimals)
	return Amount(v), err
}

var (
	errSyntax    = errors.New("invalid decimal")
	errPrecision = errors.New("more decimal places than supported")
	errRange     = errors.New("value out of range")
)

// parseDecimal parses s as an exact decimal and returns it scaled by 10^scale.
func parseDecimal(s string, scale int) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	fail := func(e error) (int64, error) {
		return 0, fmt.Errorf("%w: %q", e, orig)
	}
	if s == "" {
		return fail(errSyntax)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	// Split off an exponent.
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			return fail(errSyntax)
		}
		exp = e
		s = s[:i]
	}
	intPart, fracPart := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, fracPart = s[:i], s[i+1:]
	}
	if intPart == "" && fracPart == "" {
		return fail(errSyntax)
	}
	digits := intPart + fracPart
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return fail(errSyntax)
		}
	}
	// Digit i has place value 10^(len(intPart)-1-i+exp+scale) in scaled units;
	// places decrease monotonically, so sub-unit digits form a suffix.
	top := len(intPart) - 1 + exp + scale
	var acc uint64
	lastPlace := 0
	for i := 0; i < len(digits); i++ {
		place := top - i
		d := uint64(digits[i] - '0')
		if place < 0 {
			if d != 0 {
				return fail(errPrecision)
			}
			continue
		}
		if acc > (math.MaxUint64-d)/10 {
			return fail(errRange)
		}
		acc = acc*10 + d
		lastPlace = place
	}
	for ; lastPlace > 0 && acc != 0; lastPlace-- {
		if acc > math.MaxUint64/10 {
			return fail(errRange)
		}
		acc *= 10
	}
	if neg {
		if acc > 1<<63 {
			return fail(errRange)
		}
		return -int64(acc), nil // acc == 1<<63 wraps to MinInt64, as intended
	}
	if acc > math.MaxInt64 {
		return fail(errRange)
	}
	return int64(acc), nil
}

// Ratio is an exact multiplier in parts per million (0.8 = 800_000).
// The zero value means 1 so that an unset Ratio changes nothing.
type Ratio int64

const (
	ppmOne   = 1_000_000
	maxRatio = 1000 * ppmOne // keeps multiplier products inside uint64
)

// ParseRatio parses "0.8", "1.7" or "80%" with at most 6 decimal places
// (4 for percentages). Values must be in (0, 1000].
func ParseRatio(s string) (Ratio, error) {
	t := strings.TrimSpace(s)
	var v int64
	var err error
	if strings.HasSuffix(t, "%") {
		v, err = parseDecimal(strings.TrimSuffix(t, "%"), 4)
	} else {
		v, err = parseDecimal(t, 6)
	}
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > maxRatio {
		return 0, fmt.Errorf("%w: %q must be > 0 and <= 1000", errRange, s)
	}
	return Ratio(v), nil
}

func (r Ratio) ppm() uint64 {
	if r == 0 {
		return ppmOne
	}
	return uint64(r)
}

// String renders the multiplier as a decimal ("0.8"; "1" for the zero value).
func (r Ratio) String() string {
	// Reuse Amount formatting: ppm scaled up by 1e6 lands on picodollar scale.
	return Amount(int64(r.ppm()) * 1_000_000).String()
}

// FromUSD converts a float64 USD figure, such as a cost an SDK reported, to
// an Amount. The float is read through its shortest decimal form (so 0.01 is
// exactly 10_000_000_000 picodollars, not the binary approximation) and
// rounded half up to the picodollar. ok is false for NaN, infinities,
// negative values and values beyond int64 picodollars (about 9.2M USD).
func FromUSD(f float64) (a Amount, ok bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= 9.2e6 {
		return 0, false
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	up := false
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > usdDecimals {
		up = s[i+1+usdDecimals] >= '5'
		s = s[:i+1+usdDecimals]
	}
	v, err := ParseUSD(s)
	if err != nil {
		return 0, false
	}
	if up {
		v++
	}
	return v, true
}
