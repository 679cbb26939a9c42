package pricing

import (
	"math"
	"testing"
)

func TestAmountString(t *testing.T) {
	tests := []struct {
		in   Amount
		want string
	}{
		{0, "0"},
		{1, "0.000000000001"},
		{12_500_000, "0.0000125"},
		{2_500_000_000_000, "2.5"},
		{2 * USD, "2"},
		{-1_250_000_000, "-0.00125"},
		{math.MaxInt64, "9223372.036854775807"},
		{math.MinInt64, "-9223372.036854775808"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestParseUSD(t *testing.T) {
	tests := []struct {
		in      string
		want    Amount
		wantErr bool
	}{
		{"2.5", 2_500_000_000_000, false},
		{"0.01875", 18_750_000_000, false},
		{"10", 10 * USD, false},
		{" 0.000000000001 ", 1, false},
		{"-0.5", -USD / 2, false},
		{"+3", 3 * USD, false},
		{".5", USD / 2, false},
		{"5.", 5 * USD, false},
		{"1.25e-6", 1_250_000, false},        // LiteLLM per-token style
		{"2.5E+1", 25 * USD, false},          // exponent shifts left
		{"0.1000000000000", USD / 10, false}, // 13th decimal is a zero: exact
		{"9223372.036854775807", math.MaxInt64, false},
		{"-9223372.036854775808", math.MinInt64, false},
		{"0.0000000000001", 0, true},      // below a picodollar
		{"1e-13", 0, true},                // same via exponent
		{"9223372.036854775808", 0, true}, // overflow by one picodollar
		{"99999999999999999999", 0, true},
		{"", 0, true},
		{".", 0, true},
		{"1.2.3", 0, true},
		{"abc", 0, true},
		{"1_000", 0, true},
		{"NaN", 0, true},
		{"1e", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseUSD(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseUSD(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseUSD(%q) = %d, want %d", tt.in, int64(got), int64(tt.want))
		}
	}
}

func TestAmountRoundTrip(t *testing.T) {
	vals := []Amount{0, 1, -1, 7, 12_500_000, 999_999_999_999, USD, USD + 1, -USD - 1,
		123_456_789_012_345, math.MaxInt64, math.MinInt64}
	for _, a := range vals {
		b, err := ParseUSD(a.String())
		if err != nil || b != a {
			t.Errorf("round trip %d -> %q -> %d, %v", int64(a), a.String(), int64(b), err)
		}
	}
	for _, s := range []string{"0", "0.0000125", "2.5", "-0.00125", "1234.000000000001"} {
		a, err := ParseUSD(s)
		if err != nil || a.String() != s {
			t.Errorf("round trip %q -> %d -> %q, %v", s, int64(a), a.String(), err)
		}
	}
	txt, _ := Amount(12_500_000).MarshalText()
	var back Amount
	if err := back.UnmarshalText(txt); err != nil || back != 12_500_000 {
		t.Errorf("text round trip: %q -> %d, %v", txt, int64(back), err)
	}
}

func TestAmountUSD(t *testing.T) {
	if got := Amount(2_500_000_000_000).USD(); got != 2.5 {
		t.Errorf("USD() = %v, want 2.5", got)
	}
	if got := Amount(12_500_000).USD(); got != 0.0000125 {
		t.Errorf("USD() = %v, want 0.0000125", got)
	}
}

func TestParseRatio(t *testing.T) {
	tests := []struct {
		in      string
		want    Ratio
		wantErr bool
	}{
		{"0.8", 800_000, false},
		{"80%", 800_000, false},
		{"12.5%", 125_000, false},
		{"1.7", 1_700_000, false},
		{"0.333333", 333_333, false},
		{"0.3333333", 0, true}, // finer than 1 ppm
		{"0", 0, true},
		{"-0.5", 0, true},
		{"1001", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRatio(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseRatio(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if s := Ratio(800_000).String(); s != "0.8" {
		t.Errorf("Ratio.String() = %q", s)
	}
	if s := Ratio(0).String(); s != "1" {
		t.Errorf("zero Ratio.String() = %q", s)
	}
}

func TestFromUSD(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want Amount
		ok   bool
	}{
		{0.01, 10_000_000_000, true},        // the float's shortest form "0.01", not 0.01000000000000000020816…
		{0.004, 4_000_000_000, true},        // 0.004 USD = 4e9 pd
		{1e-13, 0, true},                    // 0.1 pd rounds down
		{5e-13, 1, true},                    // 0.5 pd rounds half up to 1 pd
		{1.2345678901235e-6, 1234568, true}, // 1234567.8901235 pd -> 1234568
		{0, 0, true},
		{-0.01, 0, false},
		{math.NaN(), 0, false},
		{math.Inf(1), 0, false},
		{1e7, 0, false}, // beyond int64 picodollars' safe range
	} {
		got, ok := FromUSD(tt.f)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FromUSD(%v) = %d, %v; want %d, %v", tt.f, int64(got), ok, int64(tt.want), tt.ok)
		}
	}
}
