// Package attrslab writes attribute values into a pcommon.Map without one
// heap allocation per value.
//
// pdata (v1.67) stores a value as internal.AnyValue{Value any}, the any
// holding a pointer to a one-field wrapper (*AnyValue_StringValue,
// *AnyValue_DoubleValue, ...). Map.PutStr and friends allocate that wrapper
// one at a time. A Writer instead carves wrappers out of slabs it allocates
// in chunks, and stores an any whose type word is pdata's wrapper pointer
// type and whose data word points at a slab element of the same layout.
//
// Why this is sound:
//   - the GC scans a slab by the slab's own type, whose pointer layout is the
//     wrapper's (a string slab for strings, a pointer-free slab for numbers
//     and bools), and an interior pointer keeps the whole slab alive;
//   - each element is handed out once and never reused by the Writer, so a
//     value owns its wrapper exactly as if pdata had allocated it. pdata's
//     optional proto pooling may recycle it, which is then safe too.
//
// It depends on pdata's unexported layout, so init checks that layout with
// reflect (the Map and Value wrappers, KeyValue, AnyValue and each wrapper
// type, field by field), then writes one value of each kind and reads it back
// through the public API. If anything differs, Enabled reports false and
// every method falls back to the public Put* API.
//
// Cost: a slab chunk lives as long as any value carved from it; chunks are
// small (4 KiB) so that a few surviving spans retain little.
package attrslab // import "github.com/otelcol-aiops/otelcol-aiops/internal/attrslab"

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Mirrors of pdata's unexported types; init checks they match.
type (
	anyValue struct{ Value any }
	keyValue struct {
		Key         string
		Value       anyValue
		KeyStrindex int32 // profiles' dictionary index; 0 for attributes
	}
	mapWrapper struct {
		orig  *[]keyValue
		state unsafe.Pointer
	}
	valueWrapper struct {
		orig  *anyValue
		state unsafe.Pointer
	}
	eface struct{ typ, data unsafe.Pointer }
)

type kind int

const (
	kStr kind = iota
	kInt
	kDouble
	kBool
	nKinds
)

// Slab chunk lengths: 4 KiB each.
const (
	strChunk = 256
	numChunk = 512
)

var (
	enabled  bool
	initErr  error
	typeWord [nKinds]unsafe.Pointer // pdata's wrapper pointer types
)

func init() {
	initErr = setup()
	enabled = initErr == nil
}

// Enabled reports whether values are carved from slabs; when false, every
// write goes through pdata's public API.
func Enabled() bool { return enabled }

// Disabled returns why the fast path is off, or nil.
func Disabled() error { return initErr }

// Writer writes attribute values whose wrappers come from its slabs. The
// zero value is ready to use. It is not safe for concurrent use; give each
// batch (or goroutine) its own.
type Writer struct {
	strs []string
	nums []uint64
}

// PutStr is pcommon.Map.PutStr.
func (w *Writer) PutStr(m pcommon.Map, k, v string) {
	if !enabled {
		m.PutStr(k, v)
		return
	}
	put(m, k, w.str(v))
}

// PutDouble is pcommon.Map.PutDouble.
func (w *Writer) PutDouble(m pcommon.Map, k string, v float64) {
	if !enabled {
		m.PutDouble(k, v)
		return
	}
	putNum(w, m, k, kDouble, v)
}

// PutInt is pcommon.Map.PutInt.
func (w *Writer) PutInt(m pcommon.Map, k string, v int64) {
	if !enabled {
		m.PutInt(k, v)
		return
	}
	putNum(w, m, k, kInt, v)
}

// PutBool is pcommon.Map.PutBool.
func (w *Writer) PutBool(m pcommon.Map, k string, v bool) {
	if !enabled {
		m.PutBool(k, v)
		return
	}
	putNum(w, m, k, kBool, v)
}

// putNum stores v in an 8-byte slab slot and wraps it as kind kd.
func putNum[T int64 | float64 | bool](w *Writer, m pcommon.Map, k string, kd kind, v T) {
	p := w.num()
	*(*T)(p) = v
	put(m, k, makeAny(typeWord[kd], p))
}

func (w *Writer) str(v string) any {
	if len(w.strs) == 0 {
		w.strs = make([]string, strChunk)
	}
	p := &w.strs[0]
	w.strs = w.strs[1:]
	*p = v
	return makeAny(typeWord[kStr], unsafe.Pointer(p))
}

// num returns a zeroed 8-byte, pointer-free slot.
func (w *Writer) num() unsafe.Pointer {
	if len(w.nums) == 0 {
		w.nums = make([]uint64, numChunk)
	}
	p := &w.nums[0]
	w.nums = w.nums[1:]
	return unsafe.Pointer(p)
}

func makeAny(typ, data unsafe.Pointer) (a any) {
	*(*eface)(unsafe.Pointer(&a)) = eface{typ, data}
	return a
}

// put inserts or updates k like Map.Put*: an existing value is replaced in
// place, a new key is appended.
func put(m pcommon.Map, k string, v any) {
	m.EnsureCapacity(0) // a no-op that panics on a read-only map, as Put* does
	kvs := (*mapWrapper)(unsafe.Pointer(&m)).orig
	for i := range *kvs {
		if (*kvs)[i].Key == k {
			(*kvs)[i].Value.Value = v
			return
		}
	}
	*kvs = append(*kvs, keyValue{Key: k, Value: anyValue{Value: v}})
}

// setup checks pdata's layout and learns the wrapper types.
func setup() error {
	mt, vt := reflect.TypeFor[pcommon.Map](), reflect.TypeFor[pcommon.Value]()
	if err := sameLayout(mt, reflect.TypeFor[mapWrapper](), "pcommon.Map"); err != nil {
		return err
	}
	if err := sameLayout(vt, reflect.TypeFor[valueWrapper](), "pcommon.Value"); err != nil {
		return err
	}
	// The map's values and a Value's orig must be the same AnyValue type.
	if mt.Field(0).Type.Elem().Elem().Field(1).Type != vt.Field(0).Type.Elem() {
		return errors.New("pcommon.Map and pcommon.Value hold different AnyValue types")
	}
	samples := [nKinds]struct {
		v    pcommon.Value
		name string
		kind reflect.Kind
		slot reflect.Type // the slab element the wrapper must fit
	}{
		kStr:    {pcommon.NewValueStr("x"), "AnyValue_StringValue", reflect.String, reflect.TypeFor[string]()},
		kInt:    {pcommon.NewValueInt(1), "AnyValue_IntValue", reflect.Int64, reflect.TypeFor[uint64]()},
		kDouble: {pcommon.NewValueDouble(1), "AnyValue_DoubleValue", reflect.Float64, reflect.TypeFor[uint64]()},
		kBool:   {pcommon.NewValueBool(true), "AnyValue_BoolValue", reflect.Bool, reflect.TypeFor[uint64]()},
	}
	for k, s := range samples {
		a := (*valueWrapper)(unsafe.Pointer(&s.v)).orig.Value
		t := reflect.TypeOf(a)
		if err := checkWrapper(t, s.name, s.kind, s.slot); err != nil {
			return err
		}
		typeWord[k] = (*eface)(unsafe.Pointer(&a)).typ
	}
	return roundTrip()
}

// checkWrapper checks that t is *struct{ X <kind> } and fits a slab slot.
func checkWrapper(t reflect.Type, name string, k reflect.Kind, slot reflect.Type) error {
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("%s: not a pointer: %v", name, t)
	}
	e := t.Elem()
	if e.Kind() != reflect.Struct || e.Name() != name || e.NumField() != 1 {
		return fmt.Errorf("%s: unexpected wrapper %v", name, e)
	}
	f := e.Field(0)
	if f.Type.Kind() != k || f.Offset != 0 {
		return fmt.Errorf("%s: field %s is %v at %d", name, f.Name, f.Type.Kind(), f.Offset)
	}
	// A string wrapper must be exactly a string; a scalar one must fit
	// an 8-byte pointer-free slot.
	if k == reflect.String && (e.Size() != slot.Size() || e.Align() != slot.Align()) {
		return fmt.Errorf("%s: size %d, slot %d", name, e.Size(), slot.Size())
	}
	if k != reflect.String && (e.Size() > slot.Size() || e.Align() > slot.Align() || slot.Kind() == reflect.String) {
		return fmt.Errorf("%s: size %d does not fit a %d-byte slot", name, e.Size(), slot.Size())
	}
	return nil
}

// sameLayout compares a pdata type with its mirror, field by field. An
// unsafe.Pointer in the mirror stands for any pointer.
func sameLayout(t, mirror reflect.Type, path string) error {
	if mirror.Kind() == reflect.UnsafePointer && (t.Kind() == reflect.Pointer || t.Kind() == reflect.UnsafePointer) {
		return nil
	}
	if t.Kind() != mirror.Kind() || t.Size() != mirror.Size() || t.Align() != mirror.Align() {
		return fmt.Errorf("%s: %v (%d bytes), want %v (%d bytes)", path, t, t.Size(), mirror, mirror.Size())
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.NumField() != mirror.NumField() {
			return fmt.Errorf("%s: %d fields, want %d", path, t.NumField(), mirror.NumField())
		}
		for i := 0; i < t.NumField(); i++ {
			f, g := t.Field(i), mirror.Field(i)
			if f.Name != g.Name || f.Offset != g.Offset {
				return fmt.Errorf("%s: field %d is %s at %d, want %s at %d", path, i, f.Name, f.Offset, g.Name, g.Offset)
			}
			if err := sameLayout(f.Type, g.Type, path+"."+f.Name); err != nil {
				return err
			}
		}
	case reflect.Pointer, reflect.Slice:
		return sameLayout(t.Elem(), mirror.Elem(), path+"[]")
	case reflect.Interface:
		if t.NumMethod() != 0 || mirror.NumMethod() != 0 {
			return fmt.Errorf("%s: not an empty interface", path)
		}
	case reflect.String, reflect.Int32, reflect.Int64, reflect.Float64, reflect.Bool:
	default:
		return fmt.Errorf("%s: unexpected kind %v", path, t.Kind())
	}
	return nil
}

// roundTrip writes one value of each kind and reads it back through pdata.
func roundTrip() error {
	enabled = true
	defer func() { enabled = false }()
	var w Writer
	m := pcommon.NewMap()
	w.PutStr(m, "s", "str")
	w.PutInt(m, "i", -7)
	w.PutDouble(m, "d", 0.25)
	w.PutBool(m, "b", true)
	w.PutStr(m, "s", "again") // update in place
	c := pcommon.NewMap()
	m.CopyTo(c)
	for _, x := range []pcommon.Map{m, c} {
		s, _ := x.Get("s")
		i, _ := x.Get("i")
		d, _ := x.Get("d")
		b, _ := x.Get("b")
		if x.Len() != 4 || s.Type() != pcommon.ValueTypeStr || s.Str() != "again" ||
			i.Type() != pcommon.ValueTypeInt || i.Int() != -7 ||
			d.Type() != pcommon.ValueTypeDouble || d.Double() != 0.25 ||
			b.Type() != pcommon.ValueTypeBool || !b.Bool() {
			return fmt.Errorf("values do not read back: %v", x.AsRaw())
		}
	}
	return nil
}
