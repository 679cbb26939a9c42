package simulator

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// bufferSink batches spans and records and hands full batches on.
type bufferSink struct {
	mu        sync.Mutex
	batch     int
	spans     []sdktrace.ReadOnlySpan
	logs      []sdklog.Record
	sendSpans func(context.Context, []sdktrace.ReadOnlySpan) error
	sendLogs  func(context.Context, []sdklog.Record) error
}

func (b *bufferSink) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spans = append(b.spans, spans...)
	if len(b.spans) >= b.batch {
		return b.flushSpans(ctx)
	}
	return nil
}

func (b *bufferSink) ExportLogs(ctx context.Context, rs []sdklog.Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, rs...)
	if len(b.logs) >= b.batch {
		return b.flushLogs(ctx)
	}
	return nil
}

func (b *bufferSink) flushSpans(ctx context.Context) error {
	if len(b.spans) == 0 {
		return nil
	}
	err := b.sendSpans(ctx, b.spans)
	b.spans = nil
	return err
}

func (b *bufferSink) flushLogs(ctx context.Context) error {
	if len(b.logs) == 0 {
		return nil
	}
	err := b.sendLogs(ctx, b.logs)
	b.logs = nil
	return err
}

func (b *bufferSink) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Spans first, so evaluations that name only a response id find it.
	return errors.Join(b.flushSpans(ctx), b.flushLogs(ctx))
}

// NewConsumerSink converts the SDK's spans and records to pdata and pushes
// them into collector consumers (e.g. aitrace → costattr → aiops_clickhouse),
// batch spans or records at a time.
func NewConsumerSink(traces consumer.Traces, logs consumer.Logs, batch int) Sink {
	if batch <= 0 {
		batch = 4096
	}
	return &bufferSink{
		batch: batch,
		sendSpans: func(ctx context.Context, s []sdktrace.ReadOnlySpan) error {
			return traces.ConsumeTraces(ctx, SpansToTraces(s))
		},
		sendLogs: func(ctx context.Context, r []sdklog.Record) error { return logs.ConsumeLogs(ctx, RecordsToLogs(r)) },
	}
}

// OTLPSink sends over OTLP with the SDK's exporters.
type OTLPSink struct {
	*bufferSink
	spanExp sdktrace.SpanExporter
	logExp  sdklog.Exporter
}

// NewOTLPSink exports to a collector at endpoint (host:port) over protocol
// "grpc" or "http", without TLS.
func NewOTLPSink(ctx context.Context, endpoint, protocol string) (*OTLPSink, error) {
	var (
		se  sdktrace.SpanExporter
		le  sdklog.Exporter
		err error
	)
	switch protocol {
	case "grpc":
		if se, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure()); err != nil {
			return nil, err
		}
		le, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure())
	case "http":
		if se, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure()); err != nil {
			return nil, err
		}
		le, err = otlploghttp.New(ctx, otlploghttp.WithEndpoint(endpoint), otlploghttp.WithInsecure())
	default:
		return nil, fmt.Errorf("protocol %q is not grpc or http", protocol)
	}
	if err != nil {
		return nil, err
	}
	s := &OTLPSink{spanExp: se, logExp: le}
	s.bufferSink = &bufferSink{batch: 1000, sendSpans: se.ExportSpans, sendLogs: le.Export}
	return s, nil
}

// Close flushes and shuts the exporters down.
func (s *OTLPSink) Close(ctx context.Context) error {
	return errors.Join(s.Flush(ctx), s.spanExp.Shutdown(ctx), s.logExp.Shutdown(ctx))
}

// --------------------------------------------------------- SDK → pdata

// SpansToTraces converts finished SDK spans to pdata, grouped by resource
// and instrumentation scope, the way the OTLP exporter does.
func SpansToTraces(spans []sdktrace.ReadOnlySpan) ptrace.Traces {
	td := ptrace.NewTraces()
	type scopeKey struct {
		res        attribute.Distinct
		name, vers string
	}
	rss := map[attribute.Distinct]ptrace.ResourceSpans{}
	sss := map[scopeKey]ptrace.SpanSlice{}
	for _, s := range spans {
		res := s.Resource()
		rk := resKey(res)
		rs, ok := rss[rk]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			putAttrs(rs.Resource().Attributes(), res.Attributes())
			rs.SetSchemaUrl(res.SchemaURL())
			rss[rk] = rs
		}
		sc := s.InstrumentationScope()
		sk := scopeKey{rk, sc.Name, sc.Version}
		slice, ok := sss[sk]
		if !ok {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(sc.Name)
			ss.Scope().SetVersion(sc.Version)
			slice = ss.Spans()
			sss[sk] = slice
		}
		sp := slice.AppendEmpty()
		ctx := s.SpanContext()
		sp.SetTraceID(pcommon.TraceID(ctx.TraceID()))
		sp.SetSpanID(pcommon.SpanID(ctx.SpanID()))
		sp.TraceState().FromRaw(ctx.TraceState().String())
		if p := s.Parent(); p.IsValid() {
			sp.SetParentSpanID(pcommon.SpanID(p.SpanID()))
		}
		sp.SetName(s.Name())
		sp.SetKind(spanKind(s.SpanKind()))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.StartTime()))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.EndTime()))
		putAttrs(sp.Attributes(), s.Attributes())
		for _, ev := range s.Events() {
			e := sp.Events().AppendEmpty()
			e.SetName(ev.Name)
			e.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
			putAttrs(e.Attributes(), ev.Attributes)
		}
		switch st := s.Status(); st.Code {
		case codes.Error:
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage(st.Description)
		case codes.Ok:
			sp.Status().SetCode(ptrace.StatusCodeOk)
		}
	}
	return td
}

func resKey(r *resource.Resource) attribute.Distinct {
	if r == nil {
		return attribute.EmptySet().Equivalent()
	}
	return r.Equivalent()
}

func spanKind(k trace.SpanKind) ptrace.SpanKind {
	switch k {
	case trace.SpanKindInternal:
		return ptrace.SpanKindInternal
	case trace.SpanKindServer:
		return ptrace.SpanKindServer
	case trace.SpanKindClient:
		return ptrace.SpanKindClient
	case trace.SpanKindProducer:
		return ptrace.SpanKindProducer
	case trace.SpanKindConsumer:
		return ptrace.SpanKindConsumer
	}
	return ptrace.SpanKindUnspecified
}

func putAttrs(m pcommon.Map, kvs []attribute.KeyValue) {
	m.EnsureCapacity(m.Len() + len(kvs))
	for _, kv := range kvs {
		putValue(m.PutEmpty(string(kv.Key)), kv.Value)
	}
}

func putValue(dst pcommon.Value, v attribute.Value) {
	switch v.Type() {
	case attribute.BOOL:
		dst.SetBool(v.AsBool())
	case attribute.INT64:
		dst.SetInt(v.AsInt64())
	case attribute.FLOAT64:
		dst.SetDouble(v.AsFloat64())
	case attribute.STRING:
		dst.SetStr(v.AsString())
	case attribute.BOOLSLICE:
		s := dst.SetEmptySlice()
		for _, x := range v.AsBoolSlice() {
			s.AppendEmpty().SetBool(x)
		}
	case attribute.INT64SLICE:
		s := dst.SetEmptySlice()
		for _, x := range v.AsInt64Slice() {
			s.AppendEmpty().SetInt(x)
		}
	case attribute.FLOAT64SLICE:
		s := dst.SetEmptySlice()
		for _, x := range v.AsFloat64Slice() {
			s.AppendEmpty().SetDouble(x)
		}
	case attribute.STRINGSLICE:
		s := dst.SetEmptySlice()
		for _, x := range v.AsStringSlice() {
			s.AppendEmpty().SetStr(x)
		}
	case attribute.BYTESLICE:
		dst.SetEmptyBytes().FromRaw(v.AsByteSlice())
	case attribute.SLICE:
		s := dst.SetEmptySlice()
		for _, x := range v.AsSlice() {
			putValue(s.AppendEmpty(), x)
		}
	case attribute.MAP:
		m := dst.SetEmptyMap()
		for _, kv := range v.AsMap() {
			putValue(m.PutEmpty(string(kv.Key)), kv.Value)
		}
	}
}

// RecordsToLogs converts SDK log records to pdata.
func RecordsToLogs(recs []sdklog.Record) plog.Logs {
	ld := plog.NewLogs()
	type scopeKey struct {
		res        attribute.Distinct
		name, vers string
	}
	rls := map[attribute.Distinct]plog.ResourceLogs{}
	sls := map[scopeKey]plog.LogRecordSlice{}
	for i := range recs {
		r := &recs[i]
		res := r.Resource()
		rk := attribute.EmptySet().Equivalent()
		if res != nil {
			rk = res.Equivalent()
		}
		rl, ok := rls[rk]
		if !ok {
			rl = ld.ResourceLogs().AppendEmpty()
			if res != nil {
				putAttrs(rl.Resource().Attributes(), res.Attributes())
			}
			rls[rk] = rl
		}
		sc := r.InstrumentationScope()
		sk := scopeKey{rk, sc.Name, sc.Version}
		slice, ok := sls[sk]
		if !ok {
			s := rl.ScopeLogs().AppendEmpty()
			s.Scope().SetName(sc.Name)
			s.Scope().SetVersion(sc.Version)
			slice = s.LogRecords()
			sls[sk] = slice
		}
		lr := slice.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(r.Timestamp()))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.ObservedTimestamp()))
		lr.SetEventName(r.EventName())
		lr.SetSeverityNumber(plog.SeverityNumber(r.Severity()))
		lr.SetSeverityText(r.SeverityText())
		putValue(lr.Body(), r.Body())
		tid, sid := r.TraceID(), r.SpanID()
		if tid.IsValid() {
			lr.SetTraceID(pcommon.TraceID(tid))
		}
		if sid.IsValid() {
			lr.SetSpanID(pcommon.SpanID(sid))
		}
		lr.SetFlags(plog.LogRecordFlags(r.TraceFlags()))
		attrs := lr.Attributes()
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			putValue(attrs.PutEmpty(string(kv.Key)), kv.Value)
			return true
		})
	}
	return ld
}
