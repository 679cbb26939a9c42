package otlpguard

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// GetGRPCServerOptions returns a forced codec that checks the raw request
// before the registered "proto" codec decodes it (an interceptor only sees
// the decoded message, too late), and an interceptor that answers refused
// requests.
//
// grpc-go turns any codec error into codes.Internal. So a refused request
// is not decoded: the codec returns no error and parks the refusal under
// the (empty) request message, and the interceptor, which grpc-go calls
// with that same message, answers InvalidArgument. configgrpc's own
// interceptors (client info, auth) run before it, so a client that fails
// authentication is told so first.
//
// Forcing a codec applies to every service on the server. The OTLP
// receiver's server carries only the OTLP Export services; any other
// message is passed to the "proto" codec unchecked.
func (g *guard) GetGRPCServerOptions(context.Context) ([]grpc.ServerOption, error) {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(&guardCodec{g: g}),
		grpc.ChainUnaryInterceptor(g.interceptRefused),
	}, nil
}

// parked holds the refusals the codec made until the interceptor answers
// them. An interceptor placed earlier (auth) may answer first, so the
// entry is never collected: a ring of the latest keys bounds what stays.
// (Should more than the ring's size of refusals be in flight at once, the
// oldest request reaches the receiver empty: no data, and no decoding.)
type parked struct {
	n    atomic.Int64 // entries in m, to skip the lock when there are none
	mu   sync.Mutex
	m    map[any]refusal
	ring [1024]any
	next int
}

func (p *parked) put(key any, r refusal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[any]refusal{}
	}
	if old := p.ring[p.next]; old != nil {
		delete(p.m, old)
	}
	p.ring[p.next] = key
	p.next = (p.next + 1) % len(p.ring)
	p.m[key] = r
	p.n.Store(int64(len(p.m)))
}

func (p *parked) take(key any) (refusal, bool) {
	if p.n.Load() == 0 {
		return refusal{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.m[key]
	if ok {
		delete(p.m, key)
		p.n.Store(int64(len(p.m)))
	}
	return r, ok
}

type guardCodec struct {
	g *guard
	// The registered "proto" codec, looked up at first use: pdata replaces
	// grpc-go's in an init function, which may run after this package's.
	delegate atomic.Pointer[encoding.CodecV2]
}

func (c *guardCodec) proto() (encoding.CodecV2, error) {
	if d := c.delegate.Load(); d != nil {
		return *d, nil
	}
	d := encoding.GetCodecV2("proto")
	if d == nil {
		return nil, errors.New("otlp_guard: no gRPC codec registered as \"proto\"")
	}
	c.delegate.Store(&d)
	return d, nil
}

func (c *guardCodec) Name() string { return "proto" }

func (c *guardCodec) Marshal(v any) (mem.BufferSlice, error) {
	d, err := c.proto()
	if err != nil {
		return nil, err
	}
	return d.Marshal(v)
}

func (c *guardCodec) Unmarshal(data mem.BufferSlice, v any) error {
	d, err := c.proto()
	if err != nil {
		return err
	}
	root := signalOfMessage(v)
	if root == mNone {
		return d.Unmarshal(data, v)
	}
	// One contiguous copy (none when the message arrived in one buffer);
	// the delegate reuses it instead of making its own.
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	c.g.countChecked(context.Background(), transportGRPC)
	if ref, ok := c.g.checkProto(buf.ReadOnlyData(), root); !ok {
		c.g.pending.put(v, ref)
		return nil
	}
	return d.Unmarshal(mem.BufferSlice{buf}, v)
}

// signalOfMessage recognizes the OTLP export requests by type name: pdata's
// are internal types, and any other OTLP binding shares the wire format.
func signalOfMessage(v any) msg {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return mNone
	}
	switch t.Elem().Name() {
	case "ExportTraceServiceRequest":
		return mTracesRequest
	case "ExportLogsServiceRequest":
		return mLogsRequest
	case "ExportMetricsServiceRequest":
		return mMetricsRequest
	case "ExportProfilesServiceRequest":
		return mProfilesRequest
	}
	return mNone
}

func (g *guard) interceptRefused(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if ref, ok := g.pending.take(req); ok {
		addr := ""
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			addr = p.Addr.String()
		}
		g.refuse(ctx, transportGRPC, addr, ref)
		return nil, status.Error(codes.InvalidArgument, ref.detail)
	}
	return handler(ctx, req)
}
