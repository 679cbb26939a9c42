package aiopsclickhouse

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/fnv"
	"math"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

var genaiMetricsSchema = newSchema("genai_metrics", chstore.GenAIMetricColumns)

// isGenAIMetric: the GenAI semantic conventions name every client and
// server metric under these prefixes.
func isGenAIMetric(name string) bool {
	return strings.HasPrefix(name, "gen_ai.client.") || strings.HasPrefix(name, "gen_ai.server.")
}

const tokenTypeKey = "gen_ai.token.type"

// metricPromoted are data point keys with a column of their own. The
// deprecated gen_ai.system and tenant.id are read but stay in attributes.
var metricPromoted = setOf(genai.ProviderName, genai.RequestModel, genai.ResponseModel, genai.OperationName,
	genai.ErrorType, tokenTypeKey, genai.ServerAddress, genai.AIOpsWorkload, genai.AIOpsTenantID)

// Bounds on what a point may hold. GenAI metrics record token counts and
// seconds: no value is negative, and a point past 2^53 is not a count
// float64 can hold exactly, so it is garbage, not usage.
const (
	maxMetricBuckets = 1024
	maxExactFloat    = 1 << 53
)

// Reasons a data point is not stored (aiops_exporter_records_skipped).
const (
	skipNotGenAI     = "not_genai_metric"
	skipNoValue      = "metric_no_recorded_value"
	skipNoTime       = "metric_time_missing"
	skipCountAbsurd  = "metric_count_absurd"
	skipUnsupported  = "metric_type_unsupported"
	skipRepeatedReqs = "repeated_request"
)

// metricRow is one genai_metrics row before attribution.
type metricRow struct {
	ts, start        pcommon.Timestamp
	name, typ, unit  string
	temporality      string
	monotonic        bool
	attrs            pcommon.Map
	count            uint64
	sum, min, max    *float64
	bounds           []float64
	counts           []uint64
	scopeName, scope string
}

func (e *chExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	e.exports("metrics")
	rms := md.ResourceMetrics()
	toks := make([]string, 0, rms.Len())
	for i := 0; i < rms.Len(); i++ {
		toks = append(toks, resourceToken(rms.At(i).Resource(), func() string { return metricsToken(md) }))
	}
	e.pending.begin("metrics", toks, e.now())
	st, err := e.current()
	if err == nil {
		err = e.writeMetrics(ctx, st, md, toks)
	}
	return e.settle(ctx, "metrics", toks, err, func(cause error, only map[string]bool) (string, int, error) {
		if only != nil {
			md = metricsOf(md, toks, only)
		}
		path, err := e.dlq.writeMetrics(md, cause)
		return path, md.DataPointCount(), err
	})
}

func (e *chExporter) writeMetrics(ctx context.Context, st chstore.Store, md pmetric.Metrics, toks []string) error {
	t := newTableRows(genaiMetricsSchema, md.DataPointCount())
	skipped := map[string]int{}
	var cumulative int
	dup := repeats{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		tok := toks[i]
		if dup.seen(tok, func(h hash.Hash) { hashResourceMetrics(h, rm) }) {
			skipped[skipRepeatedReqs] += resourcePoints(rm)
			continue
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if !isGenAIMetric(m.Name()) {
					skipped[skipNotGenAI] += pointCount(m)
					continue
				}
				cumulative += addMetric(t.b, rm.Resource(), sm.Scope(), m, tok, skipped)
			}
		}
	}
	err := e.writeAll(ctx, st, t)
	if err != nil {
		return err
	}
	// Counted once the request is settled, not on every retry.
	for reason, n := range skipped {
		e.skipped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
	if cumulative > 0 {
		if _, seen := e.logged.LoadOrStore("metrics:cumulative", true); !seen {
			e.logger.Warn("stored cumulative GenAI metric points; their rows hold running totals and must not be summed with delta rows "+
				"(put the cumulativetodelta processor in the metrics pipeline; logged once)", zap.Int("points", cumulative))
		}
	}
	return nil
}

// addMetric adds a row per usable data point of m and returns how many of
// them were cumulative.
func addMetric(b *builder, res pcommon.Resource, scope pcommon.InstrumentationScope, m pmetric.Metric, tok string, skipped map[string]int) int {
	row := metricRow{name: m.Name(), unit: m.Unit(), scopeName: scope.Name(), scope: scope.Version()}
	cumulative := 0
	add := func(r *metricRow) {
		if r.temporality == "cumulative" {
			cumulative++
		}
		addMetricRow(b, res, r, tok)
	}
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		row.typ, row.temporality, row.monotonic = "histogram", temporalityName(h.AggregationTemporality()), true
		for i := 0; i < h.DataPoints().Len(); i++ {
			dp := h.DataPoints().At(i)
			r := row
			if reason := histogramPoint(b, &r, dp); reason != "" {
				skipped[reason]++
				continue
			}
			add(&r)
		}
	case pmetric.MetricTypeExponentialHistogram:
		h := m.ExponentialHistogram()
		row.typ, row.temporality, row.monotonic = "exponential_histogram", temporalityName(h.AggregationTemporality()), true
		for i := 0; i < h.DataPoints().Len(); i++ {
			dp := h.DataPoints().At(i)
			r := row
			if reason := expHistogramPoint(b, &r, dp); reason != "" {
				skipped[reason]++
				continue
			}
			add(&r)
		}
	case pmetric.MetricTypeSum:
		s := m.Sum()
		row.typ, row.temporality, row.monotonic = "sum", temporalityName(s.AggregationTemporality()), s.IsMonotonic()
		for i := 0; i < s.DataPoints().Len(); i++ {
			r := row
			if reason := numberPoint(b, &r, s.DataPoints().At(i)); reason != "" {
				skipped[reason]++
				continue
			}
			add(&r)
		}
	case pmetric.MetricTypeGauge:
		row.typ = "gauge"
		g := m.Gauge()
		for i := 0; i < g.DataPoints().Len(); i++ {
			r := row
			if reason := numberPoint(b, &r, g.DataPoints().At(i)); reason != "" {
				skipped[reason]++
				continue
			}
			add(&r)
		}
	default: // summaries: no GenAI convention defines one
		skipped[skipUnsupported] += pointCount(m)
	}
	return cumulative
}

func temporalityName(t pmetric.AggregationTemporality) string {
	switch t {
	case pmetric.AggregationTemporalityDelta:
		return "delta"
	case pmetric.AggregationTemporalityCumulative:
		return "cumulative"
	}
	return "unspecified"
}

// pointTimes sets the row's times. A point without a time takes its start
// time (counted); without either it cannot be placed on a day and is
// skipped.
func pointTimes(b *builder, r *metricRow, ts, start pcommon.Timestamp) string {
	r.ts, r.start = ts, start
	if ts == 0 {
		if start == 0 {
			return skipNoTime
		}
		r.ts = start
		b.repair("metric_time_missing")
	}
	return ""
}

// measure is a sum, min or max as stored: nil when absent or unusable.
func measure(b *builder, present bool, v float64, kind string) *float64 {
	if !present {
		return nil
	}
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		b.repair(kind + "_not_finite")
		return nil
	case v < 0:
		b.repair(kind + "_negative")
		return nil
	case v > maxExactFloat:
		b.repair(kind + "_absurd")
		return nil
	}
	return &v
}

// histogramPointOf is what both histogram kinds' points have.
type histogramPointOf interface {
	Flags() pmetric.DataPointFlags
	Timestamp() pcommon.Timestamp
	StartTimestamp() pcommon.Timestamp
	Attributes() pcommon.Map
	Count() uint64
	HasSum() bool
	Sum() float64
	HasMin() bool
	Min() float64
	HasMax() bool
	Max() float64
}

// histogramHead fills the row from what both histogram kinds share, or
// says why the point is skipped.
func histogramHead(b *builder, r *metricRow, dp histogramPointOf) string {
	if dp.Flags().NoRecordedValue() {
		return skipNoValue
	}
	if reason := pointTimes(b, r, dp.Timestamp(), dp.StartTimestamp()); reason != "" {
		return reason
	}
	if dp.Count() > maxExactFloat {
		return skipCountAbsurd
	}
	r.attrs, r.count = dp.Attributes(), dp.Count()
	r.sum = measure(b, dp.HasSum(), dp.Sum(), "metric_sum")
	r.min = measure(b, dp.HasMin(), dp.Min(), "metric_min")
	r.max = measure(b, dp.HasMax(), dp.Max(), "metric_max")
	if r.min != nil && r.max != nil && *r.min > *r.max {
		b.repair("metric_min_above_max")
		r.min, r.max = nil, nil
	}
	return ""
}

func histogramPoint(b *builder, r *metricRow, dp pmetric.HistogramDataPoint) string {
	if reason := histogramHead(b, r, dp); reason != "" {
		return reason
	}
	r.bounds, r.counts = explicitBuckets(b, dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw(), dp.Count())
	return ""
}

// explicitBuckets checks a histogram's buckets against the OTLP rules:
// one count more than bounds (or neither), finite increasing bounds, counts
// adding up to the point's count. Buckets that break them are not stored
// (counted); the point's count and sum still are.
func explicitBuckets(b *builder, bounds []float64, counts []uint64, total uint64) ([]float64, []uint64) {
	if len(counts) == 0 && len(bounds) == 0 {
		return []float64{}, []uint64{}
	}
	kind := ""
	switch {
	case len(counts) > maxMetricBuckets+1:
		kind = "metric_buckets_too_many"
	case len(counts) != len(bounds)+1:
		kind = "metric_buckets_mismatched"
	default:
		for i, x := range bounds {
			if math.IsNaN(x) || math.IsInf(x, 0) || i > 0 && x <= bounds[i-1] {
				kind = "metric_bounds_invalid"
				break
			}
		}
		if kind == "" {
			var n uint64
			for _, c := range counts {
				if n+c < n {
					kind = "metric_buckets_inconsistent"
					break
				}
				n += c
			}
			if kind == "" && n != total {
				kind = "metric_buckets_inconsistent"
			}
		}
	}
	if kind != "" {
		b.repair(kind)
		return []float64{}, []uint64{}
	}
	return bounds, counts
}

// expHistogramPoint stores an exponential histogram with the explicit
// bounds its buckets stand for: bucket i covers (base^i, base^(i+1)] with
// base = 2^(2^-scale). Zero and negative buckets go below the first bound
// (GenAI values are not negative).
func expHistogramPoint(b *builder, r *metricRow, dp pmetric.ExponentialHistogramDataPoint) string {
	if reason := histogramHead(b, r, dp); reason != "" {
		return reason
	}
	pos := dp.Positive().BucketCounts()
	r.bounds, r.counts = []float64{}, []uint64{}
	if pos.Len() == 0 {
		return ""
	}
	if pos.Len() > maxMetricBuckets || dp.Scale() < -10 || dp.Scale() > 20 {
		b.repair("metric_buckets_too_many")
		return ""
	}
	below := dp.ZeroCount()
	neg := dp.Negative().BucketCounts()
	for i := 0; i < neg.Len(); i++ {
		below += neg.At(i)
	}
	step := math.Exp2(-float64(dp.Scale()))
	bounds := make([]float64, pos.Len()+1)
	counts := make([]uint64, pos.Len()+2)
	counts[0] = below
	for i := range bounds {
		bounds[i] = math.Exp2(float64(int64(dp.Positive().Offset())+int64(i)) * step)
	}
	for i := 0; i < pos.Len(); i++ {
		counts[i+1] = pos.At(i)
	}
	r.bounds, r.counts = explicitBuckets(b, bounds, counts, dp.Count())
	return ""
}

// numberPoint stores a sum's or gauge's value in sum, with count 0.
func numberPoint(b *builder, r *metricRow, dp pmetric.NumberDataPoint) string {
	if dp.Flags().NoRecordedValue() || dp.ValueType() == pmetric.NumberDataPointValueTypeEmpty {
		return skipNoValue
	}
	if reason := pointTimes(b, r, dp.Timestamp(), dp.StartTimestamp()); reason != "" {
		return reason
	}
	r.attrs = dp.Attributes()
	v := dp.DoubleValue()
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		v = float64(dp.IntValue())
	}
	r.sum = measure(b, true, v, "metric_sum")
	r.bounds, r.counts = []float64{}, []uint64{}
	return ""
}

func addMetricRow(b *builder, res pcommon.Resource, r *metricRow, tok string) {
	c := b.idx
	rr := b.resource(res)
	a := r.attrs
	workload := get(b, a, genai.AIOpsWorkload)
	if workload == "" {
		if workload = rr.workload; workload == "" {
			workload = rr.service
		}
	}
	tenant := first(b, a, genai.AIOpsTenantID, "tenant.id")
	if tenant == "" {
		tenant = rr.tenant
	}
	reqModel, respModel := get(b, a, genai.RequestModel), get(b, a, genai.ResponseModel)
	server := get(b, a, genai.ServerAddress)
	provider, inferred, reported := metricProvider(b, a, server, reqModel, respModel)

	b.timev(c("timestamp"), r.ts.AsTime())
	b.timev(c("start_timestamp"), r.start.AsTime())
	b.str(c("metric_name"), r.name)
	b.str(c("metric_type"), r.typ)
	b.str(c("unit"), r.unit)
	b.str(c("temporality"), r.temporality)
	b.boolv(c("monotonic"), r.monotonic)
	b.str(c("service_name"), rr.service)
	b.str(c("service_version"), rr.version)
	b.str(c("environment"), rr.env)
	b.str(c("workload"), workload)
	b.str(c("tenant_id"), tenant)
	b.str(c("provider"), provider)
	b.str(c("request_model"), reqModel)
	b.str(c("response_model"), respModel)
	b.str(c("operation"), get(b, a, genai.OperationName))
	b.str(c("error_type"), get(b, a, genai.ErrorType))
	b.str(c("token_type"), get(b, a, tokenTypeKey))
	b.str(c("server_address"), server)
	b.str(c("scope_name"), r.scopeName)
	b.str(c("scope_version"), r.scope)
	b.u64v(c("count"), r.count)
	b.f64v(c("sum"), r.sum)
	b.f64v(c("min"), r.min)
	b.f64v(c("max"), r.max)
	add(b, c("bucket_bounds"), r.bounds)
	add(b, c("bucket_counts"), r.counts)
	start := b.reserve(2*a.Len() + 4)
	a.Range(func(k string, v pcommon.Value) bool {
		if !metricPromoted[k] {
			b.arena = append(b.arena, b.valid(k), b.valid(b.text(v)))
		}
		return true
	})
	// As on spans: a provider worked out here says how, and what it replaced.
	if inferred != "" {
		b.arena = append(b.arena, genai.AIOpsProviderInferred, inferred)
	}
	if reported != "" {
		b.arena = append(b.arena, genai.AIOpsProviderReported, reported)
	}
	b.mapv(c("attributes"), b.kv(start))
	b.mapv(c("resource_attributes"), rr.attrs)
	b.str(c("insert_token"), tok)
	b.endRow()
}

// metricProvider names the provider the way aitrace does for spans, so a
// day's metrics and spans group under the same provider: gen_ai.provider.name,
// else the deprecated gen_ai.system, renamed to current values; the OpenAI
// SDK's Azure client (reported as openai) by its host; a missing one from
// the server address, then the model id.
func metricProvider(b *builder, a pcommon.Map, server, reqModel, respModel string) (provider, inferred, reported string) {
	p := first(b, a, genai.ProviderName, genai.System)
	p = strings.ToLower(strings.TrimSpace(p))
	if r, ok := genai.ProviderRenames[p]; ok {
		p = r
	}
	host := genai.HostOf(server)
	switch {
	case p == "openai" && host != "" && strings.HasPrefix(genai.ProviderFromHost(host), "azure."):
		return genai.ProviderFromHost(host), genai.InferredFromServer, p
	case p != "":
		return p, "", ""
	}
	if host != "" {
		if p = genai.ProviderFromHost(host); p != "" {
			return p, genai.InferredFromServer, ""
		}
	}
	for _, m := range []string{reqModel, respModel} {
		if p = genai.ProviderFromModel(m); p != "" {
			return p, genai.InferredFromModel, ""
		}
	}
	return "", "", ""
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

func resourcePoints(rm pmetric.ResourceMetrics) int {
	n := 0
	for j := 0; j < rm.ScopeMetrics().Len(); j++ {
		ms := rm.ScopeMetrics().At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			n += pointCount(ms.At(k))
		}
	}
	return n
}

// metricsToken identifies a request by its points: the same points (a
// retry, a replay, a client re-sending) give the same token.
func metricsToken(md pmetric.Metrics) string {
	h := fnv.New128a()
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		hashResourceMetrics(h, rms.At(i))
	}
	return "m" + hex.EncodeToString(h.Sum(nil))
}

// hashResourceMetrics hashes everything that tells two points apart. Unlike
// span ids, metric points of two services can be identical, so the
// resource's own attributes (without our token) are part of it.
func hashResourceMetrics(h hash.Hash, rm pmetric.ResourceMetrics) {
	var buf [8]byte
	u64 := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	str := func(s string) {
		u64(uint64(len(s)))
		h.Write([]byte(s))
	}
	res := rm.Resource().Attributes()
	keys := make([]string, 0, res.Len())
	res.Range(func(k string, _ pcommon.Value) bool {
		if k != insertTokenKey {
			keys = append(keys, k)
		}
		return true
	})
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := res.Get(k)
		str(k)
		hashValue(h, v)
		h.Write([]byte{0})
	}
	for _, sm := range rm.ScopeMetrics().All() {
		str(sm.Scope().Name())
		str(sm.Scope().Version())
		for _, m := range sm.Metrics().All() {
			str(m.Name())
			str(m.Unit())
			u64(uint64(m.Type()))
			point := func(attrs pcommon.Map, start, ts pcommon.Timestamp, flags pmetric.DataPointFlags) {
				hashMap(h, attrs)
				u64(uint64(start))
				u64(uint64(ts))
				u64(uint64(flags))
			}
			switch m.Type() {
			case pmetric.MetricTypeHistogram:
				u64(uint64(m.Histogram().AggregationTemporality()))
				for _, dp := range m.Histogram().DataPoints().All() {
					point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Flags())
					u64(dp.Count())
					u64(math.Float64bits(dp.Sum()))
					for _, c := range dp.BucketCounts().All() {
						u64(c)
					}
					for _, x := range dp.ExplicitBounds().All() {
						u64(math.Float64bits(x))
					}
				}
			case pmetric.MetricTypeExponentialHistogram:
				u64(uint64(m.ExponentialHistogram().AggregationTemporality()))
				for _, dp := range m.ExponentialHistogram().DataPoints().All() {
					point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Flags())
					u64(dp.Count())
					u64(math.Float64bits(dp.Sum()))
					u64(uint64(int64(dp.Scale())))
					u64(dp.ZeroCount())
					for _, bk := range []pmetric.ExponentialHistogramDataPointBuckets{dp.Positive(), dp.Negative()} {
						u64(uint64(int64(bk.Offset())))
						for _, c := range bk.BucketCounts().All() {
							u64(c)
						}
					}
				}
			case pmetric.MetricTypeSum:
				u64(uint64(m.Sum().AggregationTemporality()))
				for _, dp := range m.Sum().DataPoints().All() {
					point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Flags())
					u64(uint64(dp.IntValue()))
					u64(math.Float64bits(dp.DoubleValue()))
				}
			case pmetric.MetricTypeGauge:
				for _, dp := range m.Gauge().DataPoints().All() {
					point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Flags())
					u64(uint64(dp.IntValue()))
					u64(math.Float64bits(dp.DoubleValue()))
				}
			case pmetric.MetricTypeSummary:
				for _, dp := range m.Summary().DataPoints().All() {
					point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Flags())
					u64(dp.Count())
					u64(math.Float64bits(dp.Sum()))
				}
			}
		}
	}
}

// dropNonGenAI removes the metrics genai_metrics does not hold, before they
// take room in the persistent queue, and returns how many points went.
func dropNonGenAI(md pmetric.Metrics) int {
	n := 0
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
				if isGenAIMetric(m.Name()) {
					return false
				}
				n += pointCount(m)
				return true
			})
			return sm.Metrics().Len() == 0
		})
		return rm.ScopeMetrics().Len() == 0
	})
	return n
}

// stampMetrics drops what the exporter does not store, then stamps each
// resource with the request's token before the queue, like traces and logs.
type stampMetrics struct {
	exporter.Metrics
	e *chExporter
}

func (s stampMetrics) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (s stampMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if n := dropNonGenAI(md); n > 0 {
		s.e.skipped.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", skipNotGenAI)))
	}
	if md.ResourceMetrics().Len() == 0 {
		return nil
	}
	var tok string
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		attrs := rms.At(i).Resource().Attributes()
		if _, ok := attrs.Get(insertTokenKey); ok {
			continue // re-ingested (e.g. from a dead-letter file): keep its token
		}
		if tok == "" {
			tok = metricsToken(md)
		}
		attrs.PutStr(insertTokenKey, tok)
	}
	return s.Metrics.ConsumeMetrics(ctx, md)
}

func metricsOf(md pmetric.Metrics, toks []string, only map[string]bool) pmetric.Metrics {
	out := pmetric.NewMetrics()
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		if only[toks[i]] {
			rms.At(i).CopyTo(out.ResourceMetrics().AppendEmpty())
		}
	}
	return out
}

func (d *deadLetter) writeMetrics(md pmetric.Metrics, cause error) (string, error) {
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	if err != nil {
		return "", err
	}
	return d.write("metrics", b, cause)
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	e.exports("metrics")
	exp, err := exporterhelper.NewMetrics(ctx, set, cfg, e.pushMetrics, append(helperOptions(c, e), exporterhelper.WithQueue(c.QueueConfig))...)
	if err != nil {
		return nil, err
	}
	return stampMetrics{exp, e}, nil
}
