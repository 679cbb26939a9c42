package attrslab

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestEnabled fails when the layout checks reject this pdata version: the
// fast path must not turn itself off unnoticed.
func TestEnabled(t *testing.T) {
	if !Enabled() {
		t.Fatalf("slab writes are off: %v", Disabled())
	}
}

// modes runs f on the slab path and on the public-API fallback.
func modes(t *testing.T, f func(t *testing.T)) {
	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "slab", false: "fallback"}[on]
		t.Run(name, func(t *testing.T) {
			if on && !Enabled() {
				t.Skip("slab path unavailable")
			}
			saved := enabled
			enabled = on
			defer func() { enabled = saved }()
			f(t)
		})
	}
}

// put writes the same attributes through w or through pdata's API.
type putter interface {
	PutStr(m pcommon.Map, k, v string)
	PutInt(m pcommon.Map, k string, v int64)
	PutDouble(m pcommon.Map, k string, v float64)
	PutBool(m pcommon.Map, k string, v bool)
}

type public struct{}

func (public) PutStr(m pcommon.Map, k, v string)            { m.PutStr(k, v) }
func (public) PutInt(m pcommon.Map, k string, v int64)      { m.PutInt(k, v) }
func (public) PutDouble(m pcommon.Map, k string, v float64) { m.PutDouble(k, v) }
func (public) PutBool(m pcommon.Map, k string, v bool)      { m.PutBool(k, v) }

// heapStr returns a string whose bytes are on the heap, so a GC bug shows.
func heapStr(i int) string { return fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", i%7)) }

func fill(p putter, m pcommon.Map, i int) {
	p.PutStr(m, "s", heapStr(i))
	p.PutInt(m, "i", int64(i)-3)
	p.PutDouble(m, "d", float64(i)+0.5)
	p.PutBool(m, "b", i%2 == 0)
	p.PutStr(m, "empty", "")
	p.PutBool(m, "f", false)
	p.PutInt(m, "zero", 0)
}

func check(t *testing.T, m pcommon.Map, i int) {
	t.Helper()
	want := map[string]any{"s": heapStr(i), "i": int64(i) - 3, "d": float64(i) + 0.5, "b": i%2 == 0, "empty": "", "f": false, "zero": int64(0)}
	if got := m.AsRaw(); !reflect.DeepEqual(got, want) {
		t.Fatalf("map %d: got %v, want %v", i, got, want)
	}
	for k, typ := range map[string]pcommon.ValueType{"s": pcommon.ValueTypeStr, "i": pcommon.ValueTypeInt, "d": pcommon.ValueTypeDouble, "b": pcommon.ValueTypeBool, "empty": pcommon.ValueTypeStr} {
		v, ok := m.Get(k)
		if !ok || v.Type() != typ {
			t.Fatalf("map %d: %s has type %v", i, k, v.Type())
		}
	}
	s, _ := m.Get("s")
	d, _ := m.Get("d")
	n, _ := m.Get("i")
	b, _ := m.Get("b")
	if s.Str() != heapStr(i) || d.Double() != float64(i)+0.5 || n.Int() != int64(i)-3 || b.Bool() != (i%2 == 0) {
		t.Fatalf("map %d: accessors disagree: %q %v %v %v", i, s.Str(), d.Double(), n.Int(), b.Bool())
	}
}

func TestReadBack(t *testing.T) {
	modes(t, func(t *testing.T) {
		var w Writer
		for i := 0; i < 1000; i++ { // crosses several chunks
			m := pcommon.NewMap()
			m.PutStr("existing", "x")
			fill(&w, m, i)
			if m.Len() != 8 {
				t.Fatalf("len %d", m.Len())
			}
			m.Remove("existing")
			check(t, m, i)
		}
	})
}

// TestAllocations tells the two paths apart: the slab path allocates once
// per chunk, the fallback once per value.
func TestAllocations(t *testing.T) {
	modes(t, func(t *testing.T) {
		var w Writer
		m := pcommon.NewMap()
		m.EnsureCapacity(4)
		allocs := testing.AllocsPerRun(100, func() {
			m.Clear()
			m.EnsureCapacity(4)
			w.PutStr(m, "a", "x")
			w.PutDouble(m, "b", 1)
			w.PutInt(m, "c", 2)
			w.PutBool(m, "d", true)
		}) - 1 // the EnsureCapacity
		if enabled && allocs > 0.1 {
			t.Fatalf("slab path: %.2f allocs per 4 values", allocs)
		}
		if !enabled && allocs < 4 {
			t.Fatalf("fallback: %.2f allocs per 4 values, want the public API's 4", allocs)
		}
	})
}

func TestExistingKey(t *testing.T) {
	modes(t, func(t *testing.T) {
		var w Writer
		m := pcommon.NewMap()
		m.PutStr("a", "old")
		m.PutInt("b", 1)
		m.PutEmptyMap("c").PutStr("x", "y")
		m.PutDouble("d", 2)
		m.PutEmptySlice("e").AppendEmpty().SetStr("z")
		held, _ := m.Get("a") // a Value taken before the update sees it, as with SetStr
		w.PutDouble(m, "a", 3.5)
		w.PutStr(m, "b", "now a string")
		w.PutBool(m, "c", true)
		w.PutInt(m, "d", 9)
		w.PutStr(m, "e", "s")
		w.PutStr(m, "a", "last") // twice
		want := map[string]any{"a": "last", "b": "now a string", "c": true, "d": int64(9), "e": "s"}
		if got := m.AsRaw(); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v", got)
		}
		if held.Str() != "last" {
			t.Fatalf("held value reads %v", held.AsRaw())
		}
		var keys []string
		for k := range m.All() {
			keys = append(keys, k)
		}
		if strings.Join(keys, "") != "abcde" {
			t.Fatalf("order changed: %v", keys)
		}
	})
}

func traces(p putter, spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	p.PutStr(rs.Resource().Attributes(), "service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < spans; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("s")
		sp.Attributes().PutStr("pre", "existing")
		fill(p, sp.Attributes(), i)
		p.PutStr(sp.Attributes(), "pre", "updated")
		p.PutDouble(sp.Events().AppendEmpty().Attributes(), "ev", float64(i))
	}
	return td
}

func checkTraces(t *testing.T, td ptrace.Traces, spans int) {
	t.Helper()
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	if sp.Len() != spans {
		t.Fatalf("%d spans", sp.Len())
	}
	for i := 0; i < spans; i++ {
		a := sp.At(i).Attributes()
		if v, _ := a.Get("pre"); v.Str() != "updated" {
			t.Fatalf("span %d: pre = %v", i, v.AsRaw())
		}
		c := pcommon.NewMap()
		a.CopyTo(c)
		c.Remove("pre")
		check(t, c, i)
		if v, _ := sp.At(i).Events().At(0).Attributes().Get("ev"); v.Double() != float64(i) {
			t.Fatalf("span %d: event attribute %v", i, v.AsRaw())
		}
	}
}

// TestMarshalRoundTrip: slab-backed values encode byte for byte as pdata's
// own, and decode back.
func TestMarshalRoundTrip(t *testing.T) {
	modes(t, func(t *testing.T) {
		var w Writer
		const n = 300
		td, ref := traces(&w, n), traces(public{}, n)
		for _, c := range []struct {
			m ptrace.Marshaler
			u ptrace.Unmarshaler
		}{{&ptrace.ProtoMarshaler{}, &ptrace.ProtoUnmarshaler{}}, {&ptrace.JSONMarshaler{}, &ptrace.JSONUnmarshaler{}}} {
			got, err := c.m.MarshalTraces(td)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := c.m.MarshalTraces(ref)
			if !bytes.Equal(got, want) {
				t.Fatalf("%T: encodings differ", c.m)
			}
			back, err := c.u.UnmarshalTraces(got)
			if err != nil {
				t.Fatal(err)
			}
			checkTraces(t, back, n)
		}
		if (&ptrace.ProtoMarshaler{}).TracesSize(td) != (&ptrace.ProtoMarshaler{}).TracesSize(ref) {
			t.Fatal("sizes differ")
		}
	})
}

// TestCopyAndOverwrite: copies are independent, and the public API can
// overwrite or remove slab-backed values without touching their neighbours.
func TestCopyAndOverwrite(t *testing.T) {
	modes(t, func(t *testing.T) {
		var w Writer
		td := traces(&w, 50)
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < sp.Len(); i++ {
			a := sp.At(i).Attributes()
			v, _ := a.Get("s")
			v.SetStr("changed")
			d, _ := a.Get("d")
			d.SetInt(1)
			b, _ := a.Get("b")
			b.SetEmptyMap().PutStr("k", "v")
			a.Remove("i")
			a.RemoveIf(func(k string, _ pcommon.Value) bool { return k == "empty" || k == "f" })
			a.PutStr("zero", "z")
		}
		checkTraces(t, cp, 50)
		for i := 0; i < sp.Len(); i++ {
			want := map[string]any{"pre": "updated", "s": "changed", "d": int64(1), "b": map[string]any{"k": "v"}, "zero": "z"}
			if got := sp.At(i).Attributes().AsRaw(); !reflect.DeepEqual(got, want) {
				t.Fatalf("span %d: %v", i, got)
			}
		}
		// Move keeps the slab-backed values.
		moved := ptrace.NewTraces()
		cp.ResourceSpans().MoveAndAppendTo(moved.ResourceSpans())
		checkTraces(t, moved, 50)
	})
}

// TestProtoPooling repeats overwrite and removal with pdata's proto pooling
// on, which hands deleted wrappers (here: slab elements) to new values.
func TestProtoPooling(t *testing.T) {
	const gate = "pdata.useProtoPooling"
	if err := featuregate.GlobalRegistry().Set(gate, true); err != nil {
		t.Skip(err)
	}
	defer featuregate.GlobalRegistry().Set(gate, false)
	modes(t, func(t *testing.T) {
		var w Writer
		for round := 0; round < 20; round++ {
			td := traces(&w, 100)
			sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for i := 0; i < sp.Len(); i++ {
				v, _ := sp.At(i).Attributes().Get("s")
				v.SetStr("x") // returns a slab element to pdata's pool
				d, _ := sp.At(i).Attributes().Get("d")
				d.SetDouble(-1)
			}
			fresh := traces(public{}, 100) // may take slab elements from the pool
			runtime.GC()
			checkTraces(t, fresh, 100)
			for i := 0; i < sp.Len(); i++ {
				a := sp.At(i).Attributes()
				s, _ := a.Get("s")
				d, _ := a.Get("d")
				n, _ := a.Get("i")
				if s.Str() != "x" || d.Double() != -1 || n.Int() != int64(i)-3 {
					t.Fatalf("span %d: %v", i, a.AsRaw())
				}
			}
		}
	})
}

// TestGC writes, drops every other reference, collects, churns the heap and
// reads back: a slab freed too early would show up as corrupt values.
func TestGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	modes(t, func(t *testing.T) {
		iters := 30
		if testing.Short() {
			iters = 5
		}
		for it := 0; it < iters; it++ {
			var maps []pcommon.Map
			func() {
				var w Writer // dropped: only the maps hold the slabs
				for i := 0; i < 500; i++ {
					m := pcommon.NewMap()
					fill(&w, m, i)
					maps = append(maps, m)
				}
			}()
			runtime.GC()
			churn()
			runtime.GC()
			for i, m := range maps {
				check(t, m, i)
			}
		}
	})
}

// TestConcurrent runs independent writers on several goroutines while the
// GC runs (meant for -race).
func TestConcurrent(t *testing.T) {
	modes(t, func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var w Writer
				for r := 0; r < 20; r++ {
					td := traces(&w, 100)
					churn()
					sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
					for i := 0; i < sp.Len(); i++ {
						if v, _ := sp.At(i).Attributes().Get("s"); v.Str() != heapStr(i) {
							errs <- fmt.Errorf("span %d: %q", i, v.Str())
							return
						}
					}
				}
			}()
		}
		go func() {
			for i := 0; i < 10; i++ {
				runtime.GC()
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

// churn allocates and overwrites memory so freed slabs get reused.
func churn() {
	held := make([][]byte, 0, 2000)
	for i := 0; i < cap(held); i++ {
		b := make([]byte, 4096)
		for j := range b {
			b[j] = 0xAB
		}
		held = append(held, b)
	}
	runtime.KeepAlive(held)
}

func TestReadOnlyPanics(t *testing.T) {
	modes(t, func(t *testing.T) {
		var w Writer
		td := traces(&w, 1)
		td.MarkReadOnly()
		a := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
		defer func() {
			if recover() == nil {
				t.Fatal("write to a read-only map did not panic")
			}
			if v, _ := a.Get("s"); v.Str() != heapStr(0) {
				t.Fatal("read-only map changed")
			}
		}()
		w.PutStr(a, "s", "changed")
	})
}

// TestLayoutChecks: the init checks reject layouts that differ from the
// mirrors, so a pdata change turns the fast path off instead of corrupting.
func TestLayoutChecks(t *testing.T) {
	type kvNoIndex struct { // pdata's KeyValue before KeyStrindex
		Key   string
		Value anyValue
	}
	type mapOld struct {
		orig  *[]kvNoIndex
		state unsafe.Pointer
	}
	type typedValue struct{ Value fmt.Stringer }
	type kvTyped struct {
		Key         string
		Value       typedValue
		KeyStrindex int32
	}
	type mapTyped struct {
		orig  *[]kvTyped
		state unsafe.Pointer
	}
	type mapSwapped struct {
		state unsafe.Pointer
		orig  *[]keyValue
	}
	mt := reflect.TypeFor[pcommon.Map]()
	if err := sameLayout(mt, reflect.TypeFor[mapWrapper](), "m"); err != nil {
		t.Fatalf("the real layout is rejected: %v", err)
	}
	for _, bad := range []reflect.Type{reflect.TypeFor[mapOld](), reflect.TypeFor[mapTyped](), reflect.TypeFor[mapSwapped](), reflect.TypeFor[valueWrapper]()} {
		if err := sameLayout(mt, bad, "m"); err == nil {
			t.Errorf("%v accepted as the layout of pcommon.Map", bad)
		}
	}

	type AnyValue_StringValue struct{ StringValue string }
	type AnyValue_DoubleValue struct{ DoubleValue float64 }
	type AnyValue_Wide struct{ V [2]float64 }
	type AnyValue_Two struct{ A, B int32 }
	str, u64 := reflect.TypeFor[string](), reflect.TypeFor[uint64]()
	if err := checkWrapper(reflect.TypeFor[*AnyValue_StringValue](), "AnyValue_StringValue", reflect.String, str); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    reflect.Type
		name string
		k    reflect.Kind
		slot reflect.Type
	}{
		{reflect.TypeFor[AnyValue_StringValue](), "AnyValue_StringValue", reflect.String, str},   // not a pointer
		{reflect.TypeFor[*AnyValue_StringValue](), "AnyValue_BoolValue", reflect.String, str},    // renamed
		{reflect.TypeFor[*AnyValue_DoubleValue](), "AnyValue_DoubleValue", reflect.Int64, u64},   // other kind
		{reflect.TypeFor[*AnyValue_DoubleValue](), "AnyValue_DoubleValue", reflect.Float64, str}, // pointer slab
		{reflect.TypeFor[*AnyValue_Wide](), "AnyValue_Wide", reflect.Array, u64},                 // too big
		{reflect.TypeFor[*AnyValue_Two](), "AnyValue_Two", reflect.Int32, u64},                   // two fields
		{reflect.TypeOf(nil), "AnyValue_StringValue", reflect.String, str},                       // nothing
	} {
		if err := checkWrapper(c.t, c.name, c.k, c.slot); err == nil {
			t.Errorf("%v accepted as %s", c.t, c.name)
		}
	}
}
