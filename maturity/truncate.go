package maturity

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"unicode/utf8"
)

// Bounds on what telemetry puts in a report. The SQL already caps most
// lists (groupUniqArrayIf(N)); these also hold for rubric overrides and
// for the lists no SQL caps.
const (
	// MaxValueBytes bounds every string read from telemetry.
	MaxValueBytes = 256
	// MaxListItems bounds every list read from telemetry.
	MaxListItems = 60
	// MaxInventoryItems bounds the inventory's totals (models, tools, ...
	// across every workload).
	MaxInventoryItems = 200
)

// truncTail is "…" and 8 hex digits: long values that share a prefix stay
// distinct, as workload names must.
const truncTail = len("…") + 8

// Truncate shortens s to at most max bytes, cut on a UTF-8 boundary and
// ended by "…" and the first 8 hex digits of s's SHA-256. Shorter strings
// are returned unchanged.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	tail := "…" + hex.EncodeToString(sum[:4])
	cut := max - truncTail
	if cut <= 0 { // no room for the tail
		tail, cut = "", max
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + tail
}

// clipper applies the bounds and counts what it cut.
type clipper struct{ cut Truncation }

func (c *clipper) str(s string) string {
	if len(s) <= MaxValueBytes {
		return s
	}
	c.cut.Values++
	return Truncate(s, MaxValueBytes)
}

func (c *clipper) list(l []string, max int) []string {
	if len(l) > max {
		c.cut.Lists++
		l = l[:max]
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = c.str(v)
	}
	return out
}

// value bounds a query value of any shape: strings, and the strings and
// length of slices and maps, keeping each value's type.
func (c *clipper) value(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return c.str(x)
	case []string:
		if x == nil {
			return x
		}
		return c.list(x, MaxListItems)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		n := rv.Len()
		if n > MaxListItems {
			c.cut.Lists++
			n = MaxListItems
		}
		out := reflect.MakeSlice(reflect.SliceOf(rv.Type().Elem()), n, n)
		for i := 0; i < n; i++ {
			out.Index(i).Set(c.elem(rv.Index(i), rv.Type().Elem()))
		}
		return out.Interface()
	case reflect.Map:
		out := reflect.MakeMapWithSize(rv.Type(), min(rv.Len(), MaxListItems))
		it := rv.MapRange()
		for n := 0; it.Next(); n++ {
			if n == MaxListItems {
				c.cut.Lists++
				break
			}
			out.SetMapIndex(c.elem(it.Key(), rv.Type().Key()), c.elem(it.Value(), rv.Type().Elem()))
		}
		return out.Interface()
	}
	return v
}

// elem bounds one element, or keeps it when its type cannot hold the
// bounded value (a string kind of another name, say).
func (c *clipper) elem(v reflect.Value, t reflect.Type) reflect.Value {
	if !v.CanInterface() {
		return v
	}
	b := reflect.ValueOf(c.value(v.Interface()))
	if !b.IsValid() || !b.Type().AssignableTo(t) {
		return v
	}
	return b
}

// truncation is the report's note, or nil when nothing was cut.
func (c *clipper) truncation() *Truncation {
	if c.cut.Values == 0 && c.cut.Lists == 0 {
		return nil
	}
	t := c.cut
	t.MaxValueBytes, t.MaxListItems, t.MaxInventoryItems = MaxValueBytes, MaxListItems, MaxInventoryItems
	return &t
}
