package aiopsclickhouse

import (
	"math"
	"math/rand"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Numbers and booleans are stored as pdata's AsString writes them, though
// the builder writes them itself into its own chunks.
func TestDerivedTextMatchesAsString(t *testing.T) {
	b := newBuilder(genaiSpansSchema, 0)
	doubles := []float64{0, -0.0, 1, -1, 0.1, 0.2 + 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.2345e22, -3.5e-12,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 123456789.125, 0.000273}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 2000; i++ {
		doubles = append(doubles, math.Float64frombits(rng.Uint64()), rng.NormFloat64()*math.Pow(10, float64(rng.Intn(40)-20)))
	}
	ints := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 443, 1 << 40}
	for i := 0; i < 500; i++ {
		ints = append(ints, rng.Int63()-rng.Int63())
	}
	var vals []pcommon.Value
	for _, f := range doubles {
		vals = append(vals, pcommon.NewValueDouble(f))
	}
	for _, n := range ints {
		vals = append(vals, pcommon.NewValueInt(n))
	}
	vals = append(vals, pcommon.NewValueBool(true), pcommon.NewValueBool(false))
	var kept []string
	for _, v := range vals {
		got := b.text(v)
		if got != v.AsString() {
			t.Fatalf("%v: got %q, want %q", v.Type(), got, v.AsString())
		}
		kept = append(kept, got)
	}
	// Text kept from earlier rows is not overwritten by later ones.
	for i, v := range vals {
		if kept[i] != v.AsString() {
			t.Fatalf("value %d changed to %q after later rows, want %q", i, kept[i], v.AsString())
		}
	}
	id := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3}
	if got := b.idHex(id[:], false); got != "deadbeef010203000000000000000000" {
		t.Errorf("idHex: %q", got)
	}
}
