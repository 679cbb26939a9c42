package otlpguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"sync"

	"go.opentelemetry.io/collector/extension/extensionmiddleware"
)

const (
	contentProtobuf = "application/x-protobuf"
	contentJSON     = "application/json"
)

// GetHTTPHandler wraps the receiver's handler. confighttp installs server
// middlewares inside its decompressor and body-size limit, so the body read
// here is already decompressed and bounded by max_request_body_size.
func (g *guard) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, base http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveHTTP(w, r, base) }), nil
	}, nil
}

// Bodies up to this size are read into pooled buffers; larger ones are
// rare and would pin their memory in the pool.
const pooledBufferMax = 4 << 20

var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

func (g *guard) serveHTTP(w http.ResponseWriter, r *http.Request, base http.Handler) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost || (mediaType != contentProtobuf && mediaType != contentJSON) {
		base.ServeHTTP(w, r) // the receiver answers 405 or 415 without reading the body
		return
	}
	pooled := bodyPool.Get().(*[]byte)
	body, err := readBody((*pooled)[:0], r, g.cfg.MaxBodyBytes)
	defer func() {
		if cap(body) <= pooledBufferMax {
			*pooled = body
			bodyPool.Put(pooled)
		}
	}()
	ctx := r.Context()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			g.countChecked(ctx, transportHTTP)
			setting := "otlp_guard max_body_bytes"
			if tooLarge.Limit != g.cfg.MaxBodyBytes {
				setting = "the receiver's max_request_body_size" // confighttp's limit came first
			}
			ref := refusal{reasonTooLarge, fmt.Sprintf("refused by otlp_guard: the decompressed body exceeds %d bytes (%s)", tooLarge.Limit, setting)}
			g.refuse(ctx, transportHTTP, r.RemoteAddr, ref)
			writeStatus(w, mediaType, http.StatusRequestEntityTooLarge, ref.detail)
			return
		}
		// A broken stream (bad gzip, client gone): answered as the receiver would.
		writeStatus(w, mediaType, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	g.countChecked(ctx, transportHTTP)
	var ref refusal
	ok := true
	if mediaType == contentJSON {
		ref, ok = g.checkJSON(body)
	} else {
		ref, ok = g.checkProto(body, signalOfPath(r.URL.Path))
	}
	if !ok {
		g.refuse(ctx, transportHTTP, r.RemoteAddr, ref)
		writeStatus(w, mediaType, http.StatusBadRequest, ref.detail)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	base.ServeHTTP(w, r)
}

// readBody appends the body to buf, reading at most limit bytes; more is a
// *http.MaxBytesError, as confighttp's own limit reports it.
func readBody(buf []byte, r *http.Request, limit int64) ([]byte, error) {
	defer r.Body.Close()
	// A declared length sizes the buffer so that the read ending in EOF
	// needs no growth; it only hints, as a client may declare 20 MiB and
	// then stall.
	if n := r.ContentLength; n > 0 && n <= limit && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, min(n+1, 1<<20))
	} else if cap(buf) == 0 {
		buf = make([]byte, 0, 32<<10)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):min(cap(buf), int(limit)+1)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, &http.MaxBytesError{Limit: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// signalOfPath picks the request type the receiver will decode by the
// default paths' last element; a custom path is checked as every signal.
func signalOfPath(p string) msg {
	switch path.Base(p) {
	case "traces":
		return mTracesRequest
	case "logs":
		return mLogsRequest
	case "metrics":
		return mMetricsRequest
	case "profiles":
		return mProfilesRequest
	}
	return mNone
}

// writeStatus answers with a google.rpc.Status in the request's encoding,
// as OTLP/HTTP specifies for errors.
func writeStatus(w http.ResponseWriter, mediaType string, httpCode int, msg string) {
	code := uint64(3) // INVALID_ARGUMENT
	if httpCode == http.StatusRequestEntityTooLarge {
		code = 8 // RESOURCE_EXHAUSTED
	}
	var body []byte
	if mediaType == contentJSON {
		quoted, _ := json.Marshal(msg)
		body = fmt.Appendf(nil, `{"code":%d,"message":%s}`, code, quoted)
	} else {
		// Status: code = 1 (int32), message = 2 (string).
		body = append(body, 0x08)
		body = appendVarint(body, code)
		body = append(body, 0x12)
		body = appendVarint(body, uint64(len(msg)))
		body = append(body, msg...)
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
