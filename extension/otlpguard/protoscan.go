package otlpguard

// The protobuf pre-check walks an OTLP export request on the wire with an
// explicit stack, descending only into the messages that can lead to an
// AnyValue, and counts the ArrayValue and KeyValueList messages open at
// once. Everything else is skipped by wire type.
//
// It reads the wire format exactly as pdata's generated decoder does
// (pdata v1.67.0 internal/proto): the same varint, length, tag and group
// rules, so it stops on malformed data only where the decoder itself would
// fail, and everything the decoder would recurse into has been counted
// before. Field numbers are those of opentelemetry-proto v1, as decoded by
// pdata's internal/generated_proto_*.go.

// msg is an OTLP message type the walk descends into.
type msg uint8

const (
	mNone msg = iota
	mTracesRequest
	mLogsRequest
	mMetricsRequest
	mProfilesRequest
	mResourceSpans
	mScopeSpans
	mSpan
	mSpanEvent
	mSpanLink
	mResourceLogs
	mScopeLogs
	mLogRecord
	mResourceMetrics
	mScopeMetrics
	mMetric
	mNumberPoints // Gauge and Sum: data_points = 1
	mHistogram
	mExpHistogram
	mSummary
	mNumberDataPoint
	mHistogramDataPoint
	mExpHistogramDataPoint
	mSummaryDataPoint
	mExemplar
	mResourceProfiles
	mScopeProfiles
	mProfilesDictionary
	mKeyValueAndUnit
	mResource
	mScope
	mKeyValue
	mAnyValue
	mArrayValue
	mKeyValueList
	numMsgs
)

// Fields 1..15 are looked up in a table; 1000 is the deprecated
// instrumentation_library_* field pdata still decodes.
const (
	maxTableField   = 15
	deprecatedScope = 1000
)

var children [numMsgs][maxTableField + 1]msg

// deprecatedChild is the message in field 1000, where there is one.
var deprecatedChild = [numMsgs]msg{
	mResourceSpans:   mScopeSpans,
	mResourceLogs:    mScopeLogs,
	mResourceMetrics: mScopeMetrics,
}

func init() {
	set := func(parent msg, field int, child msg) { children[parent][field] = child }
	// Traces.
	set(mTracesRequest, 1, mResourceSpans)
	set(mResourceSpans, 1, mResource)
	set(mResourceSpans, 2, mScopeSpans)
	set(mScopeSpans, 1, mScope)
	set(mScopeSpans, 2, mSpan)
	set(mSpan, 9, mKeyValue)   // attributes
	set(mSpan, 11, mSpanEvent) // events
	set(mSpan, 13, mSpanLink)  // links
	set(mSpanEvent, 3, mKeyValue)
	set(mSpanLink, 4, mKeyValue)
	// Logs.
	set(mLogsRequest, 1, mResourceLogs)
	set(mResourceLogs, 1, mResource)
	set(mResourceLogs, 2, mScopeLogs)
	set(mScopeLogs, 1, mScope)
	set(mScopeLogs, 2, mLogRecord)
	set(mLogRecord, 5, mAnyValue) // body
	set(mLogRecord, 6, mKeyValue) // attributes
	// Metrics.
	set(mMetricsRequest, 1, mResourceMetrics)
	set(mResourceMetrics, 1, mResource)
	set(mResourceMetrics, 2, mScopeMetrics)
	set(mScopeMetrics, 1, mScope)
	set(mScopeMetrics, 2, mMetric)
	set(mMetric, 5, mNumberPoints)  // gauge
	set(mMetric, 7, mNumberPoints)  // sum
	set(mMetric, 9, mHistogram)     // histogram
	set(mMetric, 10, mExpHistogram) // exponential_histogram
	set(mMetric, 11, mSummary)      // summary
	set(mMetric, 12, mKeyValue)     // metadata
	set(mNumberPoints, 1, mNumberDataPoint)
	set(mHistogram, 1, mHistogramDataPoint)
	set(mExpHistogram, 1, mExpHistogramDataPoint)
	set(mSummary, 1, mSummaryDataPoint)
	set(mNumberDataPoint, 7, mKeyValue)
	set(mNumberDataPoint, 5, mExemplar)
	set(mHistogramDataPoint, 9, mKeyValue)
	set(mHistogramDataPoint, 8, mExemplar)
	set(mExpHistogramDataPoint, 1, mKeyValue)
	set(mExpHistogramDataPoint, 11, mExemplar)
	set(mSummaryDataPoint, 7, mKeyValue)
	set(mExemplar, 7, mKeyValue) // filtered_attributes
	// Profiles: values live in the dictionary's attribute_table.
	set(mProfilesRequest, 1, mResourceProfiles)
	set(mProfilesRequest, 2, mProfilesDictionary)
	set(mResourceProfiles, 1, mResource)
	set(mResourceProfiles, 2, mScopeProfiles)
	set(mScopeProfiles, 1, mScope)
	set(mProfilesDictionary, 6, mKeyValueAndUnit)
	set(mKeyValueAndUnit, 2, mAnyValue)
	// Common.
	set(mResource, 1, mKeyValue)
	set(mScope, 3, mKeyValue)
	set(mKeyValue, 2, mAnyValue)
	set(mAnyValue, 5, mArrayValue)
	set(mAnyValue, 6, mKeyValueList)
	set(mArrayValue, 1, mAnyValue)
	set(mKeyValueList, 1, mKeyValue)
}

func childOf(parent msg, field int32) msg {
	if field <= maxTableField {
		return children[parent][field]
	}
	if field == deprecatedScope {
		return deprecatedChild[parent]
	}
	return mNone
}

// Wire types, as in the protobuf encoding.
const (
	wireVarint     = 0
	wireI64        = 1
	wireLen        = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireI32        = 5
)

type frame struct {
	kind msg
	end  int
}

// scanProto reports the deepest nesting of arrays and key-value lists in
// an OTLP request of type root, counting no further than limit+1. deep is
// true when that nesting exceeds limit. Malformed input ends the walk
// early with what was seen so far: the decoder fails at the same point.
func scanProto(b []byte, root msg, limit int) (depth int, deep bool) {
	var buf [64]frame
	stack := buf[:0]
	cur, end, pos := root, len(b), 0
	nest := 0 // ArrayValue and KeyValueList messages open
	for {
		if pos >= end {
			if len(stack) == 0 {
				return depth, false
			}
			if cur == mArrayValue || cur == mKeyValueList {
				nest--
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			cur, end = top.kind, top.end
			continue
		}
		field, wt, p, ok := consumeTag(b, pos, end)
		if !ok {
			return depth, false
		}
		pos = p
		if wt != wireLen {
			if pos, ok = consumeUnknown(b, pos, end, wt); !ok {
				return depth, false
			}
			continue
		}
		n, p, ok := consumeLen(b, pos, end)
		if !ok {
			return depth, false
		}
		child := childOf(cur, field)
		if child == mNone {
			pos = p + n
			continue
		}
		if child == mArrayValue || child == mKeyValueList {
			nest++
			if nest > depth {
				depth = nest
			}
			if nest > limit {
				return depth, true
			}
		}
		stack = append(stack, frame{cur, end})
		cur, end, pos = child, p+n, p
	}
}

// consumeVarint mirrors pdata's proto.ConsumeVarint: at most ten bytes,
// overflow of the tenth ignored.
func consumeVarint(b []byte, pos, end int) (uint64, int, bool) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if pos >= end {
			return 0, 0, false
		}
		c := b[pos]
		pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, pos, true
		}
	}
	return 0, 0, false
}

// consumeTag mirrors proto.ConsumeTag, including the field number's
// truncation to int32: a tag that wraps onto field 9 is field 9 to pdata.
func consumeTag(b []byte, pos, end int) (int32, uint64, int, bool) {
	tag, pos, ok := consumeVarint(b, pos, end)
	if !ok {
		return 0, 0, 0, false
	}
	field := int32(tag >> 3)
	if field <= 0 {
		return 0, 0, 0, false
	}
	return field, tag & 7, pos, true
}

// consumeLen returns a length-delimited field's length and the position
// of its first byte.
func consumeLen(b []byte, pos, end int) (int, int, bool) {
	v, pos, ok := consumeVarint(b, pos, end)
	if !ok {
		return 0, 0, false
	}
	n := int(v)
	if n < 0 || pos+n < 0 || pos+n > end {
		return 0, 0, false
	}
	return n, pos, true
}

// consumeUnknown mirrors proto.ConsumeUnknown, quirks included: inside a
// group it returns after the first non-group field, and the decoder goes on
// reading the rest of the group as fields of the enclosing message. Skipping
// whole groups here would hide from the walk what the decoder then reads.
func consumeUnknown(b []byte, pos, end int, wt uint64) (int, bool) {
	depth := 0
	for pos < end {
		switch wt {
		case wireVarint:
			_, p, ok := consumeVarint(b, pos, end)
			return p, ok
		case wireI64:
			pos += 8
			return pos, pos <= end
		case wireLen:
			n, p, ok := consumeLen(b, pos, end)
			return p + n, ok
		case wireStartGroup:
			depth++
		case wireEndGroup:
			if depth == 0 {
				return 0, false
			}
			depth--
		case wireI32:
			pos += 4
			return pos, pos <= end
		default:
			return 0, false
		}
		if depth == 0 {
			return pos, true
		}
		var ok bool
		if _, wt, pos, ok = consumeTag(b, pos, end); !ok {
			return 0, false
		}
	}
	return 0, false
}
