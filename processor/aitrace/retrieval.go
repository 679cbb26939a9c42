package aitrace

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// retrStats summarizes the documents of one retrieval.
type retrStats struct {
	docs          int
	scored        int
	top, min, sum float64
	sources       []string
	oldest        time.Time
	fromRetrieval bool // a retrieval span (an empty result is then meaningful)
	spanID        string
}

const maxDocs = 10000

func (r *retrStats) add(score float64, hasScore bool, source string, at time.Time) {
	r.docs++
	if hasScore && !math.IsNaN(score) && !math.IsInf(score, 0) {
		if r.scored == 0 || score > r.top {
			r.top = score
		}
		if r.scored == 0 || score < r.min {
			r.min = score
		}
		r.sum += score
		r.scored++
	}
	if source != "" && len(r.sources) < 20 && !containsStr(r.sources, source) {
		r.sources = append(r.sources, source)
	}
	if !at.IsZero() && (r.oldest.IsZero() || at.Before(r.oldest)) {
		r.oldest = at
	}
}

func (r *retrStats) merge(o *retrStats) {
	r.docs += o.docs
	if o.scored > 0 {
		if r.scored == 0 || o.top > r.top {
			r.top = o.top
		}
		if r.scored == 0 || o.min < r.min {
			r.min = o.min
		}
		r.sum += o.sum
		r.scored += o.scored
	}
	for _, s := range o.sources {
		if len(r.sources) < 20 && !containsStr(r.sources, s) {
			r.sources = append(r.sources, s)
		}
	}
	if !o.oldest.IsZero() && (r.oldest.IsZero() || o.oldest.Before(r.oldest)) {
		r.oldest = o.oldest
	}
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// write puts the summary on a span.
func (r *retrStats) write(attrs pcommon.Map, start pcommon.Timestamp) {
	attrs.PutInt(genai.AIOpsRetrievalDocs, int64(r.docs))
	attrs.PutBool(genai.AIOpsRetrievalEmpty, r.docs == 0)
	if r.scored > 0 {
		attrs.PutDouble(genai.AIOpsRetrievalTopScore, r.top)
		attrs.PutDouble(genai.AIOpsRetrievalMinScore, r.min)
		attrs.PutDouble(genai.AIOpsRetrievalMeanScore, r.sum/float64(r.scored))
	}
	if len(r.sources) > 0 {
		s := attrs.PutEmptySlice(genai.AIOpsRetrievalSources)
		for _, src := range r.sources {
			s.AppendEmpty().SetStr(src)
		}
	}
	if !r.oldest.IsZero() && start != 0 {
		if age := start.AsTime().Sub(r.oldest); age >= 0 {
			attrs.PutInt(genai.AIOpsRetrievalDocAgeMax, int64(age/time.Second))
		}
	}
}

// retrieval reads documents from OpenInference's flattened
// retrieval.documents.N.document.*, semconv's gen_ai.retrieval.documents and
// vector-store result events (db.query.result).
func (p *traceProcessor) retrieval(ctx context.Context, w *workspace, span ptrace.Span, isRetrieval bool) *retrStats {
	attrs := span.Attributes()
	r := &retrStats{fromRetrieval: isRetrieval}
	found := false
	if ds := strAttr(attrs, genai.DataSourceID); ds != "" {
		r.sources = append(r.sources, ds)
	}
	type flatDoc struct {
		score    float64
		hasScore bool
		meta     string
	}
	var flat map[int]*flatDoc
	for k, v := range attrs.All() {
		if !strings.HasPrefix(k, oiDocPrefix) {
			continue
		}
		idx, field := indexed(k[len(oiDocPrefix):])
		if idx < 0 || idx >= maxDocs {
			continue
		}
		if flat == nil {
			flat = map[int]*flatDoc{}
		}
		d := flat[idx]
		if d == nil {
			d = &flatDoc{}
			flat[idx] = d
		}
		switch field {
		case "document.score":
			d.score, d.hasScore = genai.Number(v)
		case "document.metadata":
			d.meta = v.AsString()
		}
	}
	if len(flat) > 0 {
		found = true
		idxs := make([]int, 0, len(flat))
		for i := range flat {
			idxs = append(idxs, i)
		}
		sort.Ints(idxs)
		for _, i := range idxs {
			d := flat[i]
			src, at := docMeta(d.meta)
			r.add(d.score, d.hasScore, src, at)
		}
	}
	if v, ok := attrs.Get(genai.RetrievalDocuments); ok {
		found = true
		var docs []map[string]any
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if err := json.Unmarshal([]byte(v.Str()), &docs); err != nil {
				p.malformed(ctx, w, "retrieval_unparseable", genai.RetrievalDocuments)
			}
		case pcommon.ValueTypeSlice:
			for _, e := range v.Slice().All() {
				if e.Type() == pcommon.ValueTypeMap {
					docs = append(docs, e.Map().AsRaw())
				}
			}
		}
		for i, d := range docs {
			if i >= maxDocs {
				break
			}
			score, has := d["score"].(float64)
			if !has {
				if n, ok := d["score"].(int64); ok {
					score, has = float64(n), true
				}
			}
			src, at := docMetaMap(d)
			if m, ok := d["metadata"].(map[string]any); ok {
				if s2, a2 := docMetaMap(m); src == "" {
					src, at = s2, a2
				}
			}
			r.add(score, has, src, at)
		}
	}
	for _, ev := range span.Events().All() {
		if ev.Name() != "db.query.result" {
			continue
		}
		found = true
		ea := ev.Attributes()
		score, has := 0.0, false
		if v, ok := ea.Get("db.query.result.score"); ok {
			score, has = genai.Number(v)
		} else if v, ok := ea.Get("db.query.result.distance"); ok {
			// Lower distance is better; negate so top is still the best.
			if d, ok := genai.Number(v); ok {
				score, has = -d, true
			}
		}
		src, at := docMeta(strAttr(ea, "db.query.result.metadata"))
		if r.docs < maxDocs {
			r.add(score, has, src, at)
		}
	}
	if !found && !isRetrieval {
		return nil
	}
	r.write(attrs, span.StartTimestamp())
	return r
}

func docMeta(raw string) (string, time.Time) {
	if raw == "" || raw[0] != '{' {
		return "", time.Time{}
	}
	var m map[string]any
	if json.Unmarshal([]byte(raw), &m) != nil {
		return "", time.Time{}
	}
	return docMetaMap(m)
}

var sourceKeys = []string{"source", "url", "uri", "file_path", "file_name", "filename", "path", "data_source_id"}
var timeKeys = []string{"updated_at", "last_modified", "modified_at", "modified", "created_at", "published_at", "timestamp", "date"}

// docMetaMap finds a document's source and its newest timestamp.
func docMetaMap(m map[string]any) (string, time.Time) {
	src := ""
	for _, k := range sourceKeys {
		if s, ok := m[k].(string); ok && s != "" {
			src = s
			break
		}
	}
	for _, k := range timeKeys {
		if t, ok := parseTime(m[k]); ok {
			return src, t
		}
	}
	return src, time.Time{}
}

func parseTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
			if ts, err := time.Parse(layout, t); err == nil {
				return ts, true
			}
		}
		if n, err := strconv.ParseFloat(t, 64); err == nil {
			return parseTime(n)
		}
	case float64:
		switch {
		case t > 1e11 && t < 1e14: // milliseconds
			return time.UnixMilli(int64(t)), true
		case t > 1e8 && t < 1e11: // seconds
			return time.Unix(int64(t), 0), true
		}
	case int64:
		return parseTime(float64(t))
	}
	return time.Time{}, false
}
