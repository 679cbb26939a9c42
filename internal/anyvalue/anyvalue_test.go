package anyvalue

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// deep builds an array nested n levels around a string, iteratively.
func deep(n int) pcommon.Value {
	root := pcommon.NewValueEmpty()
	cur := root
	for i := 0; i < n; i++ {
		cur = cur.SetEmptySlice().AppendEmpty()
	}
	cur.SetStr("core")
	return root
}

func TestDepth(t *testing.T) {
	for _, n := range []int{0, 1, 2, 10, 64, 65} {
		if got := Depth(deep(n), 1000); got != n {
			t.Errorf("Depth(deep(%d)) = %d", n, got)
		}
	}
	m := pcommon.NewValueMap()
	m.Map().PutEmptyMap("a").PutEmptySlice("b").AppendEmpty().SetStr("x")
	m.Map().PutStr("c", "y")
	if got := Depth(m, 100); got != 3 { // map → map → slice → scalar
		t.Errorf("mixed depth %d, want 3", got)
	}
	if got := Depth(deep(1000), 10); got != 10 {
		t.Errorf("Depth stops at the bound: got %d", got)
	}
}

func TestBoundReplacesOnlyWhatIsTooDeep(t *testing.T) {
	v := deep(100)
	if n := Bound(v, 64); n != 1 {
		t.Fatalf("replaced %d values, want 1", n)
	}
	if d := Depth(v, 1000); d != 64 {
		t.Fatalf("depth after Bound %d, want 64", d)
	}
	// The innermost kept level now holds the placeholder text.
	cur := v
	for i := 0; i < 64; i++ {
		cur = cur.Slice().At(0)
	}
	if cur.Type() != pcommon.ValueTypeStr || !strings.Contains(cur.Str(), "deeper than 64 levels") || !strings.Contains(cur.Str(), "37 nodes") {
		t.Fatalf("placeholder %q", cur.AsString())
	}
	ok := deep(64)
	before := ok.AsString()
	if n := Bound(ok, 64); n != 0 || ok.AsString() != before {
		t.Fatal("a value at the limit was changed")
	}
}

func TestMillionLevelsWithoutRecursion(t *testing.T) {
	v := deep(1_000_000)
	s, cut := String(v, Default)
	if !cut || !strings.Contains(s, "1000001 nodes") {
		t.Fatalf("String of a million levels: %q %v", s, cut)
	}
	if n := Bound(v, 64); n != 1 || Depth(v, 1000) != 64 {
		t.Fatalf("Bound: %d", n)
	}
}

func TestStringMatchesAsStringWithinLimits(t *testing.T) {
	m := pcommon.NewValueMap()
	m.Map().PutStr("role", "user")
	m.Map().PutEmptySlice("parts").AppendEmpty().SetInt(3)
	s, cut := String(m, Default)
	if cut || s != `{"parts":[3],"role":"user"}` && s != `{"role":"user","parts":[3]}` {
		t.Fatalf("%q %v", s, cut)
	}
	long := pcommon.NewValueStr(strings.Repeat("é", 100))
	s, cut = String(long, Limits{MaxDepth: 4, MaxBytes: 51})
	if !cut || len(s) != 50 || !strings.HasPrefix(strings.Repeat("é", 25), s) {
		t.Fatalf("cut %q (%d) %v", s, len(s), cut)
	}
}

func TestDigestDistinguishesValues(t *testing.T) {
	a, _ := Digest(deep(5))
	b, _ := Digest(deep(6))
	c, _ := Digest(deep(5))
	if a == b || a != c {
		t.Fatal("digest does not identify the value")
	}
	x := pcommon.NewValueSlice()
	x.Slice().AppendEmpty().SetStr("ab")
	x.Slice().AppendEmpty().SetStr("c")
	y := pcommon.NewValueSlice()
	y.Slice().AppendEmpty().SetStr("a")
	y.Slice().AppendEmpty().SetStr("bc")
	dx, _ := Digest(x)
	dy, _ := Digest(y)
	if dx == dy {
		t.Fatal("lengths are not part of the digest")
	}
}
