package aiopsclickhouse

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/fnv"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/anyvalue"
)

// insertTokenKey is the resource attribute that carries a request's token
// through the exporter's persistent queue. Stamped before the queue, it
// survives a crash; merging in the queue moves whole resources, so every
// row keeps the token of the request it arrived in.
const insertTokenKey = "aiops.insert_token"

// tracesToken identifies a request by its spans: the same spans (a retry, a
// replay after a crash, a client re-sending a batch) give the same token.
func tracesToken(td ptrace.Traces) string {
	h := fnv.New128a()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		hashResourceSpans(h, rss.At(i))
	}
	return "t" + hex.EncodeToString(h.Sum(nil))
}

// logsToken identifies a request by its records' ids, times and bodies.
func logsToken(ld plog.Logs) string {
	h := fnv.New128a()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		hashResourceLogs(h, rls.At(i))
	}
	return "l" + hex.EncodeToString(h.Sum(nil))
}

func hashResourceSpans(h hash.Hash, rs ptrace.ResourceSpans) {
	var buf [8]byte
	sss := rs.ScopeSpans()
	for j := 0; j < sss.Len(); j++ {
		spans := sss.At(j).Spans()
		for k := 0; k < spans.Len(); k++ {
			sp := spans.At(k)
			tid, sid := sp.TraceID(), sp.SpanID()
			h.Write(tid[:])
			h.Write(sid[:])
			binary.LittleEndian.PutUint64(buf[:], uint64(sp.StartTimestamp()))
			h.Write(buf[:])
		}
	}
}

func hashResourceLogs(h hash.Hash, rl plog.ResourceLogs) {
	var buf [8]byte
	sls := rl.ScopeLogs()
	for j := 0; j < sls.Len(); j++ {
		lrs := sls.At(j).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			lr := lrs.At(k)
			tid, sid := lr.TraceID(), lr.SpanID()
			h.Write(tid[:])
			h.Write(sid[:])
			binary.LittleEndian.PutUint64(buf[:], uint64(lr.Timestamp()))
			h.Write(buf[:])
			hashValue(h, lr.Body())
			hashMap(h, lr.Attributes())
		}
	}
}

// repeats finds resources that a batch carries twice: a client that re-sent
// a request whose reply it lost gives the queue a second copy with the same
// token, and the batcher may merge both copies into one batch.
type repeats map[[16]byte]bool

func (r repeats) seen(token string, hashInto func(hash.Hash)) bool {
	k := repeatKey(token, hashInto)
	if r[k] {
		return true
	}
	r[k] = true
	return false
}

func hashMap(h hash.Hash, m pcommon.Map) {
	keys := make([]string, 0, m.Len())
	m.Range(func(k string, _ pcommon.Value) bool { keys = append(keys, k); return true })
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := m.Get(k)
		h.Write([]byte(k))
		h.Write([]byte{0})
		hashValue(h, v)
		h.Write([]byte{0})
	}
}

// hashValue hashes v's text, as AsString gives it, built without recursion.
// A value whose text would be bounded (nested too deep, too large) is hashed
// by its full digest instead, so values that differ past the bound differ.
func hashValue(h hash.Hash, v pcommon.Value) {
	if v.Type() == pcommon.ValueTypeStr {
		h.Write([]byte(v.Str()))
		return
	}
	s, changed := anyvalue.String(v, anyvalue.Default)
	if changed {
		sum, _ := anyvalue.Digest(v)
		s = "sha256:" + sum
	}
	h.Write([]byte(s))
}

// resourceToken reads the stamped token; a resource that somehow lacks one
// gets a token from its own content, so it is still idempotent.
func resourceToken(res pcommon.Resource, fallback func() string) string {
	if v, ok := res.Attributes().Get(insertTokenKey); ok && v.Str() != "" {
		return v.Str()
	}
	return fallback()
}

// batchToken is the insert_deduplication_token of one insert: the tokens of
// the requests it carries, in order.
func batchToken(table string, tokens []string) string {
	h := fnv.New128a()
	h.Write([]byte(table))
	h.Write([]byte(strings.Join(tokens, ",")))
	return "b" + hex.EncodeToString(h.Sum(nil))
}

type stampTraces struct{ exporter.Traces }

func (s stampTraces) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (s stampTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	var tok string
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		attrs := rss.At(i).Resource().Attributes()
		if _, ok := attrs.Get(insertTokenKey); ok {
			continue // re-ingested (e.g. from a dead-letter file): keep its token
		}
		if tok == "" {
			tok = tracesToken(td)
		}
		attrs.PutStr(insertTokenKey, tok)
	}
	return s.Traces.ConsumeTraces(ctx, td)
}

type stampLogs struct{ exporter.Logs }

func (s stampLogs) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (s stampLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var tok string
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		attrs := rls.At(i).Resource().Attributes()
		if _, ok := attrs.Get(insertTokenKey); ok {
			continue
		}
		if tok == "" {
			tok = logsToken(ld)
		}
		attrs.PutStr(insertTokenKey, tok)
	}
	return s.Logs.ConsumeLogs(ctx, ld)
}
