package otlp

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// Metrics are stored as Honeycomb stores them (husky otlp/metrics.go and
// "How metrics are stored" in Honeycomb's docs): every data point becomes
// columns named after its metric on an event, and the points of one
// request that share resource, scope, attributes and timestamp (truncated
// to the second) are one event. See docs/metrics.md.

const (
	unknownMetrics       = "unknown_metrics"
	signalMetric         = "metric"
	annotationMetricEvnt = "metric_event"
	// histogramColumns is how many columns a histogram point can add:
	// count, sum, avg, min, max and the percentiles.
	histogramColumns = 5 + 11
)

// percentiles are the histogram columns Honeycomb derives from buckets.
var percentiles = [...]struct {
	suffix string
	p      float64
}{
	{".p001", 0.001}, {".p01", 0.01}, {".p05", 0.05}, {".p10", 0.10}, {".p25", 0.25}, {".p50", 0.50},
	{".p75", 0.75}, {".p90", 0.90}, {".p95", 0.95}, {".p99", 0.99}, {".p999", 0.999},
}

var protoUnmarshal = proto.UnmarshalOptions{}

// DecodeMetricsProtobuf decodes a binary protobuf
// ExportMetricsServiceRequest. (Its decoded form, made by proto.Unmarshal,
// is not measured: only the strings it copies from the body are reserved
// for it.)
func DecodeMetricsProtobuf(body []byte, ri RequestInfo) (Result, error) {
	if !ri.Reservation.TryGrow(int64(len(body))) {
		return Result{}, ingest.ErrOverloaded
	}
	var req colmetricspb.ExportMetricsServiceRequest
	if err := protoUnmarshal.Unmarshal(body, &req); err != nil {
		return Result{}, err
	}
	return ConvertMetrics(&req, ri)
}

// DecodeMetricsJSON decodes an OTLP/JSON ExportMetricsServiceRequest, with
// the same rules as DecodeJSON.
func DecodeMetricsJSON(body []byte, ri RequestInfo) (Result, error) {
	form, err := ri.admitJSON(body)
	if err != nil {
		return Result{}, err
	}
	b64, err := hexIDsToBase64(body)
	if err != nil {
		return Result{}, err
	}
	var req colmetricspb.ExportMetricsServiceRequest
	if err := jsonUnmarshal.Unmarshal(b64, &req); err != nil {
		return Result{}, err
	}
	res, err := ConvertMetrics(&req, ri)
	ri.keepStrings(form, body)
	return res, err
}

// ConvertMetrics maps a decoded metrics request to Honeycomb events in the
// dataset of the x-honeycomb-dataset header, else unknown_metrics:
//
//   - gauge and sum (cumulative or delta, monotonic or not): a column named
//     after the metric with the point's value (integer or float);
//   - histogram and exponential histogram: name.count, name.sum, name.avg,
//     name.min, name.max (those the point has) and name.p001 … name.p999
//     estimated from the buckets;
//   - summary: name.count, name.sum, name.avg, name.min and name.max (the
//     0 and 1 quantiles) and name.pNN for the other quantiles;
//   - every event: meta.signal_type "metric", meta.annotation_type
//     "metric_event", the resource and scope fields as for spans, the
//     point's attributes over them, the metric columns over everything;
//     the time is the point's, truncated to the second.
//
// Points of a metric without a name, number points without a value and
// histogram points whose bucket counts do not fit their bounds (or scale)
// are rejected and counted; points flagged as having no recorded value are
// accepted and add nothing. Like ConvertLogs it refuses a request whose
// events would take more than ri.MaxDecodedBytes.
func ConvertMetrics(req *colmetricspb.ExportMetricsServiceRequest, ri RequestInfo) (Result, error) {
	points, attrs := estimateMetrics(req)
	if err := ri.admit(int64(points)*eventBytes + int64(attrs)*attrBytes); err != nil {
		return Result{}, err
	}
	mc := metricConverter{now: ri.received()}
	c := &mc.converter
	c.events = make([]model.Event, 0, points)
	c.chunk = min(attrs, maxChunk)
	c.arena = make([]model.Attr, 0, c.chunk)
	c.dataset = strings.TrimSpace(ri.Dataset)
	if c.dataset == "" {
		c.dataset = unknownMetrics
	}
	for _, rm := range req.GetResourceMetrics() {
		if rm == nil {
			continue
		}
		resAttrs := rm.GetResource().GetAttributes()
		for _, sm := range rm.GetScopeMetrics() {
			if sm == nil || len(sm.GetMetrics()) == 0 {
				continue
			}
			c.buildBase(rm.GetSchemaUrl(), sm.GetScope(), sm.GetSchemaUrl(), resAttrs)
			clear(mc.groups)
			for _, m := range sm.GetMetrics() {
				if m != nil {
					mc.metric(m)
				}
			}
		}
	}
	res := Result{Events: c.events, Accepted: mc.accepted, Rejected: c.rejected}
	if c.rejected > 0 {
		res.RejectMessage = fmt.Sprintf("%d data point(s) rejected; first: %s", c.rejected, c.firstReject)
	}
	return res, nil
}

// estimateMetrics counts the data points of a request and the attribute
// slots their events can need (one event per point at most).
func estimateMetrics(req *colmetricspb.ExportMetricsServiceRequest) (points, attrs int) {
	for _, rm := range req.GetResourceMetrics() {
		nRes := len(rm.GetResource().GetAttributes()) + 2
		for _, sm := range rm.GetScopeMetrics() {
			base := nRes + len(sm.GetScope().GetAttributes()) + 3 + huskyExtras
			for _, m := range sm.GetMetrics() {
				add := func(n, pointAttrs, cols int) {
					points += n
					attrs += n*(base+cols) + pointAttrs
				}
				switch d := m.GetData().(type) {
				case *metricspb.Metric_Gauge:
					add(len(d.Gauge.GetDataPoints()), numberAttrs(d.Gauge.GetDataPoints()), 1)
				case *metricspb.Metric_Sum:
					add(len(d.Sum.GetDataPoints()), numberAttrs(d.Sum.GetDataPoints()), 1)
				case *metricspb.Metric_Histogram:
					n := 0
					for _, dp := range d.Histogram.GetDataPoints() {
						n += len(dp.GetAttributes())
					}
					add(len(d.Histogram.GetDataPoints()), n, histogramColumns)
				case *metricspb.Metric_ExponentialHistogram:
					n := 0
					for _, dp := range d.ExponentialHistogram.GetDataPoints() {
						n += len(dp.GetAttributes())
					}
					add(len(d.ExponentialHistogram.GetDataPoints()), n, histogramColumns)
				case *metricspb.Metric_Summary:
					n := 0
					for _, dp := range d.Summary.GetDataPoints() {
						n += len(dp.GetAttributes()) + len(dp.GetQuantileValues())
					}
					add(len(d.Summary.GetDataPoints()), n, 3)
				}
			}
		}
	}
	return points, attrs
}

func numberAttrs(dps []*metricspb.NumberDataPoint) int {
	n := 0
	for _, dp := range dps {
		n += len(dp.GetAttributes())
	}
	return n
}

// metricConverter groups data points into events.
type metricConverter struct {
	converter
	now      time.Time
	accepted int
	groups   map[string]int // group key → index in events, per scope
	key      []byte         // scratch for group keys
	sorted   []*commonpb.KeyValue
	cur      int // index of the event the converter's per-event state is for
}

func (mc *metricConverter) reject(m *metricspb.Metric, why string) {
	c := &mc.converter
	if c.rejected == 0 {
		c.firstReject = fmt.Sprintf("metric %q: %s", truncate(m.GetName(), 128), why)
	}
	c.rejected++
}

func (mc *metricConverter) metric(m *metricspb.Metric) {
	name := m.GetName()
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		mc.numberPoints(m, name, d.Gauge.GetDataPoints())
	case *metricspb.Metric_Sum:
		mc.numberPoints(m, name, d.Sum.GetDataPoints())
	case *metricspb.Metric_Histogram:
		cols := distColumns(name)
		for _, dp := range d.Histogram.GetDataPoints() {
			if dp == nil {
				continue
			}
			why := ""
			if n := len(dp.BucketCounts); n != 0 && n != len(dp.ExplicitBounds)+1 {
				why = fmt.Sprintf("%d bucket counts for %d explicit bounds, want one more count than bounds", n, len(dp.ExplicitBounds))
			}
			if !mc.check(m, name, dp.GetFlags(), why) {
				continue
			}
			e := mc.event(dp.TimeUnixNano, dp.Attributes)
			mc.stats(e, &cols, dp.Count, dp.Sum, dp.Min, dp.Max)
			if dp.Count > 0 && len(dp.ExplicitBounds) > 0 && len(dp.BucketCounts) > 0 {
				for i, p := range percentiles {
					mc.value(e, cols.pct[i], model.Float(explicitPercentile(dp.Count, dp.BucketCounts, dp.ExplicitBounds, p.p)))
				}
			}
		}
	case *metricspb.Metric_ExponentialHistogram:
		cols := distColumns(name)
		for _, dp := range d.ExponentialHistogram.GetDataPoints() {
			if dp == nil {
				continue
			}
			why := ""
			if dp.Scale < -10 || dp.Scale > 20 {
				why = fmt.Sprintf("exponential histogram scale %d outside [-10, 20]", dp.Scale)
			}
			if !mc.check(m, name, dp.GetFlags(), why) {
				continue
			}
			e := mc.event(dp.TimeUnixNano, dp.Attributes)
			mc.stats(e, &cols, dp.Count, dp.Sum, dp.Min, dp.Max)
			if dp.Count > 0 {
				for i, p := range percentiles {
					if v, ok := exponentialPercentile(dp, p.p); ok {
						mc.value(e, cols.pct[i], model.Float(v))
					}
				}
			}
		}
	case *metricspb.Metric_Summary:
		cols := distColumns(name)
		for _, dp := range d.Summary.GetDataPoints() {
			if dp == nil || !mc.check(m, name, dp.GetFlags(), "") {
				continue
			}
			e := mc.event(dp.TimeUnixNano, dp.Attributes)
			sum := dp.Sum
			mc.stats(e, &cols, dp.Count, &sum, nil, nil)
			for _, q := range dp.QuantileValues {
				switch qv := q.GetQuantile(); {
				case qv == 0:
					mc.value(e, cols.min, model.Float(q.GetValue()))
				case qv == 1:
					mc.value(e, cols.max, model.Float(q.GetValue()))
				case qv > 0 && qv < 1:
					mc.value(e, quantileKey(name, qv), model.Float(q.GetValue()))
				}
			}
		}
	}
}

// check counts a point as accepted or rejected (why says why it is
// invalid, "" if it is not); false means it adds nothing (rejected, or
// flagged as having no recorded value).
func (mc *metricConverter) check(m *metricspb.Metric, name string, flags uint32, why string) bool {
	if name == "" {
		why = "a metric needs a name"
	}
	if why != "" {
		mc.reject(m, why)
		return false
	}
	mc.accepted++
	return flags&uint32(metricspb.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) == 0
}

func (mc *metricConverter) numberPoints(m *metricspb.Metric, name string, dps []*metricspb.NumberDataPoint) {
	for _, dp := range dps {
		if dp == nil {
			continue
		}
		var v model.Value
		why := ""
		switch x := dp.Value.(type) {
		case *metricspb.NumberDataPoint_AsInt:
			v = model.Int(x.AsInt)
		case *metricspb.NumberDataPoint_AsDouble:
			v = model.Float(x.AsDouble)
		default:
			if dp.GetFlags()&uint32(metricspb.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) == 0 {
				why = "a number data point without a value"
			}
		}
		if !mc.check(m, name, dp.GetFlags(), why) {
			continue
		}
		mc.value(mc.event(dp.TimeUnixNano, dp.Attributes), name, v)
	}
}

// distCols are the column names of a distribution metric, made once per
// metric rather than per point.
type distCols struct {
	count, sum, avg, min, max string
	pct                       [len(percentiles)]string
}

func distColumns(name string) distCols {
	c := distCols{count: name + ".count", sum: name + ".sum", avg: name + ".avg", min: name + ".min", max: name + ".max"}
	for i, p := range percentiles {
		c.pct[i] = name + p.suffix
	}
	return c
}

// stats writes the count, sum, average, min and max a distribution has.
func (mc *metricConverter) stats(e int, cols *distCols, count uint64, sum, lo, hi *float64) {
	mc.value(e, cols.count, model.Int(int64(min(count, math.MaxInt64))))
	if sum != nil {
		mc.value(e, cols.sum, model.Float(*sum))
		if count > 0 {
			mc.value(e, cols.avg, model.Float(*sum/float64(count)))
		}
	}
	if lo != nil {
		mc.value(e, cols.min, model.Float(*lo))
	}
	if hi != nil {
		mc.value(e, cols.max, model.Float(*hi))
	}
}

// value sets a metric column on event e; metric values win over
// attributes of the same name.
func (mc *metricConverter) value(e int, key string, v model.Value) {
	c := &mc.converter
	ev := &c.events[e]
	if mc.cur != e {
		// The per-event lookup state is for another event: rebuild it.
		mc.cur = e
		c.gen++
		c.bloom = 0
		for i := range ev.Attrs {
			c.bloom |= keyBit(ev.Attrs[i].Key)
		}
	}
	c.put(ev, key, v)
}

// event returns the index of the event for a point with this time and
// attributes in the current scope, creating it if needed.
func (mc *metricConverter) event(ts uint64, attrs []*commonpb.KeyValue) int {
	c := &mc.converter
	t := mc.now
	if ts != 0 {
		t = unixNano(ts)
	}
	t = t.Truncate(time.Second)
	mc.key = mc.groupKey(mc.key[:0], t, attrs)
	if i, ok := mc.groups[string(mc.key)]; ok {
		return i
	}
	e := model.Event{
		Dataset:        c.dataset,
		Time:           t,
		Source:         model.SourceOTLP,
		AnnotationType: annotationMetricEvnt,
		SampleRate:     1,
	}
	c.begin(&e, len(attrs)+histogramColumns)
	c.putAll(&e, attrs)
	c.add(&e, bitSignalType, fieldSignalType, model.Str(signalMetric))
	c.events = append(c.events, e)
	i := len(c.events) - 1
	if mc.groups == nil {
		mc.groups = make(map[string]int)
	}
	mc.groups[string(mc.key)] = i
	mc.cur = i
	return i
}

// groupKey encodes a point's second and attributes (sorted by key, so the
// order a sender lists them in does not matter).
func (mc *metricConverter) groupKey(dst []byte, t time.Time, attrs []*commonpb.KeyValue) []byte {
	dst = strconv.AppendInt(dst, t.Unix(), 10)
	kvs := attrs
	if !slices.IsSortedFunc(attrs, compareKV) {
		mc.sorted = append(mc.sorted[:0], attrs...)
		slices.SortStableFunc(mc.sorted, compareKV)
		kvs = mc.sorted
	}
	for _, kv := range kvs {
		if kv == nil || kv.Key == "" {
			continue
		}
		dst = append(dst, 0)
		dst = append(dst, kv.Key...)
		dst = append(dst, 1)
		dst = appendAnyJSON(dst, kv.Value, 0)
	}
	clear(mc.sorted)
	return dst
}

func compareKV(a, b *commonpb.KeyValue) int { return strings.Compare(a.GetKey(), b.GetKey()) }

// explicitPercentile estimates percentile p from explicit buckets as
// Honeycomb does: the upper bound of the last bucket whose cumulative
// share of the count is at most p, i.e. the lower bound of the bucket the
// percentile falls in (the first bucket's upper bound when it falls in the
// first bucket).
func explicitPercentile(count uint64, counts []uint64, bounds []float64, p float64) float64 {
	v := bounds[0]
	var cum uint64
	for i, n := range counts {
		cum += n
		if float64(cum)/float64(count) > p {
			break
		}
		if i < len(bounds) {
			v = bounds[i]
		}
	}
	return v
}

// exponentialPercentile estimates percentile p of an exponential histogram
// by the same rule: the lower boundary of the bucket the percentile falls
// in, walking the negative buckets (most negative first), the zero bucket
// and the positive buckets.
func exponentialPercentile(dp *metricspb.ExponentialHistogramDataPoint, p float64) (float64, bool) {
	total := float64(dp.Count)
	step := math.Exp2(-float64(dp.Scale)) // log2 of the bucket base
	lower := func(index int64) float64 { return math.Exp2(float64(index) * step) }
	var cum uint64
	over := func(n uint64) bool {
		cum += n
		return float64(cum)/total > p
	}
	neg := dp.GetNegative()
	for i := len(neg.GetBucketCounts()) - 1; i >= 0; i-- {
		if over(neg.BucketCounts[i]) {
			// (-base^(k+1), -base^k]: the lower boundary is -base^(k+1).
			return finite(-lower(int64(neg.Offset) + int64(i) + 1))
		}
	}
	if over(dp.ZeroCount) {
		return 0, true
	}
	pos := dp.GetPositive()
	for i, n := range pos.GetBucketCounts() {
		if over(n) {
			return finite(lower(int64(pos.Offset) + int64(i)))
		}
	}
	return 0, false
}

func finite(v float64) (float64, bool) { return v, !math.IsInf(v, 0) && !math.IsNaN(v) }

// quantileKey names a summary quantile as Honeycomb does: 0.5 → name.p50,
// 0.99 → name.p99, 0.999 → name.p999, 0.01 → name.p01.
func quantileKey(name string, q float64) string {
	digits := strconv.FormatFloat(q, 'f', 3, 64)[2:]
	return name + ".p" + strings.TrimSuffix(digits, "0")
}
