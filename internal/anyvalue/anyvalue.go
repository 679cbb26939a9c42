// Package anyvalue walks OTLP attribute values without recursion, so a
// hostile value nested a million levels deep costs a loop, not the stack.
package anyvalue

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Limits bound what a value may hold before it is replaced or cut.
type Limits struct {
	// MaxDepth is how many arrays/maps may nest: a scalar is depth 0, an
	// array of scalars depth 1.
	MaxDepth int
	// MaxBytes caps a value's text form.
	MaxBytes int
}

// Default limits: far beyond any real instrumentation's nesting (about 10)
// and well under the stack and memory a hostile value could otherwise take.
var Default = Limits{MaxDepth: 64, MaxBytes: 1 << 20}

type item struct {
	v     pcommon.Value
	depth int
}

// Depth returns how deeply v nests arrays and maps, counting no further
// than stop.
func Depth(v pcommon.Value, stop int) int {
	if !nested(v) {
		return 0
	}
	max := 0
	stack := []item{{v, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !nested(it.v) {
			continue
		}
		d := it.depth + 1
		if d > max {
			max = d
			if max >= stop {
				return max
			}
		}
		stack = pushChildren(stack, it.v, d)
	}
	return max
}

func nested(v pcommon.Value) bool {
	t := v.Type()
	return t == pcommon.ValueTypeSlice || t == pcommon.ValueTypeMap
}

func pushChildren(stack []item, v pcommon.Value, depth int) []item {
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			stack = append(stack, item{s.At(i), depth})
		}
	case pcommon.ValueTypeMap:
		for _, c := range v.Map().All() {
			stack = append(stack, item{c, depth})
		}
	}
	return stack
}

// Bound replaces every array or map nested deeper than maxDepth inside v
// by a string naming its digest and size, and returns how many it replaced.
func Bound(v pcommon.Value, maxDepth int) int {
	if !nested(v) {
		return 0
	}
	n := 0
	stack := []item{{v, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !nested(it.v) {
			continue
		}
		if it.depth >= maxDepth {
			it.v.SetStr(Placeholder(it.v, maxDepth))
			n++
			continue
		}
		stack = pushChildren(stack, it.v, it.depth+1)
	}
	return n
}

// BoundMap applies Bound to every value of m.
func BoundMap(m pcommon.Map, maxDepth int) int {
	n := 0
	for _, v := range m.All() {
		n += Bound(v, maxDepth)
	}
	return n
}

// Placeholder is the text that stands for a value too deep to keep: its
// SHA-256 over a canonical walk and its node count, so equal values stay
// recognisable without holding them.
func Placeholder(v pcommon.Value, maxDepth int) string {
	sum, nodes := Digest(v)
	return fmt.Sprintf("[aiops: value nested deeper than %d levels removed; %d nodes, sha256:%s]", maxDepth, nodes, sum)
}

// Digest hashes v iteratively: type tags, lengths and scalar bytes.
func Digest(v pcommon.Value) (string, int) {
	h := sha256.New()
	var buf [9]byte
	nodes := 0
	stack := []pcommon.Value{v}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nodes++
		buf[0] = byte(x.Type())
		switch x.Type() {
		case pcommon.ValueTypeStr:
			binary.LittleEndian.PutUint64(buf[1:], uint64(len(x.Str())))
			h.Write(buf[:])
			h.Write([]byte(x.Str()))
		case pcommon.ValueTypeBytes:
			b := x.Bytes().AsRaw()
			binary.LittleEndian.PutUint64(buf[1:], uint64(len(b)))
			h.Write(buf[:])
			h.Write(b)
		case pcommon.ValueTypeInt:
			binary.LittleEndian.PutUint64(buf[1:], uint64(x.Int()))
			h.Write(buf[:])
		case pcommon.ValueTypeDouble:
			binary.LittleEndian.PutUint64(buf[1:], math.Float64bits(x.Double()))
			h.Write(buf[:])
		case pcommon.ValueTypeBool:
			buf[1] = 0
			if x.Bool() {
				buf[1] = 1
			}
			h.Write(buf[:2])
		case pcommon.ValueTypeSlice:
			s := x.Slice()
			binary.LittleEndian.PutUint64(buf[1:], uint64(s.Len()))
			h.Write(buf[:])
			// Pushed in reverse so the walk reads elements in order.
			for i := s.Len() - 1; i >= 0; i-- {
				stack = append(stack, s.At(i))
			}
		case pcommon.ValueTypeMap:
			m := x.Map()
			binary.LittleEndian.PutUint64(buf[1:], uint64(m.Len()))
			h.Write(buf[:])
			var children []pcommon.Value
			for k, c := range m.All() {
				binary.LittleEndian.PutUint64(buf[1:], uint64(len(k)))
				h.Write(buf[:])
				h.Write([]byte(k))
				children = append(children, c)
			}
			for i := len(children) - 1; i >= 0; i-- {
				stack = append(stack, children[i])
			}
		default:
			h.Write(buf[:1])
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nodes
}

// String is v.AsString() within lim: a value nested deeper than
// lim.MaxDepth becomes its placeholder, and text longer than lim.MaxBytes
// is cut at a rune boundary. The bool reports either change.
func String(v pcommon.Value, lim Limits) (string, bool) {
	if nested(v) && Depth(v, lim.MaxDepth+1) > lim.MaxDepth {
		return Placeholder(v, lim.MaxDepth), true
	}
	s := v.AsString()
	if lim.MaxBytes > 0 && len(s) > lim.MaxBytes {
		return Cut(s, lim.MaxBytes), true
	}
	return s, false
}

// Cut shortens s to at most n bytes without splitting a rune.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
