package otlpguard

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// receiverLike does what the OTLP receiver's HTTP handler does with a
// request: read it whole and decode it.
func receiverLike(isJSON bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if isJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(200)
	})
}

func benchGuard(b *testing.B) *guard {
	g, err := newGuard(defaultCfg, componenttest.NewNopTelemetrySettings())
	must(b, err)
	return g
}

// BenchmarkHTTP compares the receiver's work on a 100-span GenAI batch
// with and without the guard in front.
func BenchmarkHTTP(b *testing.B) {
	td := genaiBatch(b)
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(b, err)
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	must(b, err)
	g := benchGuard(b)
	wrap, _ := g.GetHTTPHandler(context.Background())
	for _, enc := range []struct {
		name, ct string
		body     []byte
	}{{"protobuf", contentProtobuf, pb}, {"json", contentJSON, js}} {
		base := receiverLike(enc.ct == contentJSON)
		guarded, _ := wrap(context.Background(), base)
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"passthrough", base}, {"guard", guarded}} {
			b.Run(enc.name+"/"+h.name, func(b *testing.B) {
				b.SetBytes(int64(len(enc.body)))
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(enc.body))
					req.Header.Set("Content-Type", enc.ct)
					w := httptest.NewRecorder()
					h.h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("HTTP %d", w.Code)
					}
				}
			})
		}
	}
}

// BenchmarkGRPCCodec compares decoding a 100-span batch with the registered
// "proto" codec alone and through the guard's codec.
func BenchmarkGRPCCodec(b *testing.B) {
	td := genaiBatch(b)
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(b, err)
	g := benchGuard(b)
	for _, c := range []struct {
		name  string
		codec encoding.CodecV2
	}{{"passthrough", encoding.GetCodecV2("proto")}, {"guard", &guardCodec{g: g}}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(pb)))
			b.ReportAllocs()
			for b.Loop() {
				msg := newTraceRequestMessage()
				if err := c.codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(pb)}, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// newTraceRequestMessage returns the message type gRPC hands the codec: the
// pdata-internal request behind ptraceotlp.ExportRequest, reached by
// reflection since it cannot be named here.
func newTraceRequestMessage() any {
	f, _ := reflect.TypeOf(ptraceotlp.NewExportRequest()).FieldByName("orig")
	return reflect.New(f.Type.Elem()).Interface()
}

// BenchmarkGuardCost runs the receiver's work with and without the guard
// alternately in each iteration, so load from other processes falls on
// both alike, and reports the ratio of their times.
func BenchmarkGuardCost(b *testing.B) {
	td := genaiBatch(b)
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(b, err)
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	must(b, err)
	g := benchGuard(b)
	wrap, _ := g.GetHTTPHandler(context.Background())
	httpCase := func(ct string, body []byte) [2]func() {
		base := receiverLike(ct == contentJSON)
		guarded, _ := wrap(context.Background(), base)
		serve := func(h http.Handler) func() {
			return func() {
				req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("HTTP %d", w.Code)
				}
			}
		}
		return [2]func(){serve(base), serve(guarded)}
	}
	grpcCase := func() [2]func() {
		decode := func(c encoding.CodecV2) func() {
			return func() {
				if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(pb)}, newTraceRequestMessage()); err != nil {
					b.Fatal(err)
				}
			}
		}
		return [2]func(){decode(encoding.GetCodecV2("proto")), decode(&guardCodec{g: g})}
	}
	for _, c := range []struct {
		name string
		fns  [2]func()
	}{
		{"http-protobuf", httpCase(contentProtobuf, pb)},
		{"http-json", httpCase(contentJSON, js)},
		{"grpc", grpcCase()},
	} {
		b.Run(c.name, func(b *testing.B) {
			var spent [2]time.Duration
			i := 0
			for b.Loop() {
				for k := range 2 {
					which := (i + k) % 2 // alternate which goes first
					start := time.Now()
					c.fns[which]()
					spent[which] += time.Since(start)
				}
				i++
			}
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(i), "pass-ns/op")
			b.ReportMetric(float64(spent[1].Nanoseconds())/float64(i), "guard-ns/op")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
		})
	}
}

// BenchmarkScan is the pre-checks alone on the same batch.
func BenchmarkScan(b *testing.B) {
	td := genaiBatch(b)
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	must(b, err)
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	must(b, err)
	b.Run("protobuf", func(b *testing.B) {
		b.SetBytes(int64(len(pb)))
		for b.Loop() {
			if _, deep := scanProto(pb, mTracesRequest, limit); deep {
				b.Fatal("refused")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			if _, v := scanJSON(js, defaultCfg.jsonDepthLimit()); v != jsonOK {
				b.Fatal("refused")
			}
		}
	})
}
