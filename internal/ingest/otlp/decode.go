package otlp

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Result is what one OTLP export request decodes to.
type Result struct {
	// Events holds the events to store. For traces: per accepted span, its
	// span events, then its links, then the span itself. For logs: one per
	// log record. For metrics: one per resource, scope, attribute set and
	// second, carrying every metric of that series as columns.
	Events []model.Event
	// Accepted counts the accepted items: spans, log records or data
	// points. Rejected counts those dropped (spans with an invalid trace
	// id, span id or parent span id; data points without a metric name or
	// value or with inconsistent buckets).
	Accepted int
	Rejected int
	// RejectMessage explains the rejections (OTLP partial_success
	// error_message); empty when nothing was rejected.
	RejectMessage string
}

var jsonUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// DecodeProtobuf decodes a binary protobuf ExportTraceServiceRequest
// within ri's memory bounds (see Convert). The events do not alias body.
func DecodeProtobuf(body []byte, ri RequestInfo) (Result, error) {
	return decodeProtobuf(body, ri, false)
}

// decodeProtobuf is DecodeProtobuf; with owned, body must never change
// again, and the events' strings are views of it instead of a copy.
func decodeProtobuf(body []byte, ri RequestInfo, owned bool) (Result, error) {
	d := decoders.Get().(*wireDecoder)
	defer d.release() // the events do not refer to the decoded form
	d.owned = owned
	req, form, err := d.request(body, ri)
	if err != nil {
		return Result{}, err
	}
	res, err := Convert(req, ri)
	ri.keepStrings(form, body)
	return res, err
}

// DecodeJSON decodes an OTLP/JSON ExportTraceServiceRequest: lowerCamelCase
// (or proto) field names, trace and span ids as hex, enums as integers or
// names, 64-bit integers as strings or numbers; unknown fields are ignored.
func DecodeJSON(body []byte, ri RequestInfo) (Result, error) {
	form, err := ri.admitJSON(body)
	if err != nil {
		return Result{}, err
	}
	b64, err := hexIDsToBase64(body)
	if err != nil {
		return Result{}, err
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := jsonUnmarshal.Unmarshal(b64, &req); err != nil {
		return Result{}, err
	}
	res, err := Convert(&req, ri)
	ri.keepStrings(form, body)
	return res, err
}

// Convert maps a decoded request to Honeycomb events (spec §1.5). Spans
// with invalid ids are counted in Rejected and left out; everything else is
// kept.
//
// Like ConvertLogs, it refuses (DecodedTooLargeError) a request whose
// events would take more than ri.MaxDecodedBytes before building any — the
// resource and scope attributes are counted once per event, as each event
// gets a copy — and reserves their memory on ri.Reservation first
// (ingest.ErrOverloaded if it cannot). The attributes are carved from an
// arena grown in chunks as the events are built.
func Convert(req *coltracepb.ExportTraceServiceRequest, ri RequestInfo) (Result, error) {
	nEvents, nAttrs := estimate(req)
	if err := ri.admit(int64(nEvents)*eventBytes + int64(nAttrs)*attrBytes); err != nil {
		return Result{}, err
	}
	var c converter
	c.events = make([]model.Event, 0, nEvents)
	c.chunk = min(nAttrs, maxChunk)
	c.arena = make([]model.Attr, 0, c.chunk)
	for _, rs := range req.GetResourceSpans() {
		c.resource(rs)
	}
	res := Result{Events: c.events, Accepted: c.spans, Rejected: c.rejected}
	if c.rejected > 0 {
		res.RejectMessage = fmt.Sprintf("%d span(s) rejected for invalid ids; first: %s", c.rejected, c.firstReject)
	}
	return res, nil
}

// huskyExtras bounds the fields a span, span event or link gets besides its
// attributes; it sizes the attribute arena.
const huskyExtras = 8

// estimate counts the events a request yields and the attribute slots they
// need: the resource and scope attributes once per event, as each event
// gets a copy.
func estimate(req *coltracepb.ExportTraceServiceRequest) (events, attrs int) {
	for _, rs := range req.GetResourceSpans() {
		nRes := len(rs.GetResource().GetAttributes()) + 2
		for _, ss := range rs.GetScopeSpans() {
			base := nRes + len(ss.GetScope().GetAttributes()) + 3 + huskyExtras
			for _, sp := range ss.GetSpans() {
				events += 1 + len(sp.GetEvents()) + len(sp.GetLinks())
				attrs += base + len(sp.GetAttributes())
				for _, ev := range sp.GetEvents() {
					attrs += base + len(ev.GetAttributes())
				}
				for _, l := range sp.GetLinks() {
					attrs += base + len(l.GetAttributes())
				}
			}
		}
	}
	return events, attrs
}

// Field names Honeycomb adds beside the attributes.
const (
	fieldStatusMessage    = "status_message"
	fieldNumEvents        = "span.num_events"
	fieldNumLinks         = "span.num_links"
	fieldSignalType       = "meta.signal_type"
	fieldTraceState       = "trace.trace_state"
	fieldInvalidDuration  = "meta.invalid_duration"
	fieldLibraryName      = "library.name"
	fieldLibraryVersion   = "library.version"
	fieldInstrumentation  = "telemetry.instrumentation_library"
	fieldResourceSchema   = "resource.schema_url"
	fieldScopeSchema      = "scope.schema_url"
	fieldParentName       = "parent_name"
	fieldTimeSinceStart   = "meta.time_since_span_start_ms"
	fieldInvalidSinceTime = "meta.invalid_time_since_span_start"
	fieldLinkTraceID      = "trace.link.trace_id"
	fieldLinkSpanID       = "trace.link.span_id"
	fieldExcMessage       = "exception.message"
	fieldExcType          = "exception.type"
	fieldExcStacktrace    = "exception.stacktrace"
	fieldExcEscaped       = "exception.escaped"
	keySampleRate         = "sampleRate"
	keySampleRateUpper    = "SampleRate"
	signalTrace           = "trace"
	unknownService        = "unknown_service"
)

// Bits for the keys whose presence decides whether a lower-precedence
// husky field is added (or, for the sample rate, what is removed).
const (
	bitStatusMessage uint32 = 1 << iota
	bitNumEvents
	bitNumLinks
	bitSignalType
	bitTraceState
	bitInvalidDuration
	bitLibraryName
	bitLibraryVersion
	bitInstrumentation
	bitResourceSchema
	bitScopeSchema
	bitParentName
	bitTimeSinceStart
	bitInvalidSinceTime
	bitLinkTraceID
	bitLinkSpanID
	bitExcMessage
	bitExcType
	bitExcStacktrace
	bitExcEscaped
	bitSampleRate
	bitSampleRateUpper
	bitSeverity
	bitSeverityCode
	bitSeverityText
	bitFlags
	bitEventName
	bitBody
)

// classify tells whether key is one of Event's hot fields (routed through
// Event.Set) and which tracked-key bit, if any, it has.
func classify(key string) (hot bool, bit uint32) {
	switch key {
	case model.FieldTraceID, model.FieldSpanID, model.FieldParentID, model.FieldName,
		model.FieldServiceName, model.FieldDurationMs, model.FieldSpanKind, model.FieldType,
		model.FieldStatusCode, model.FieldError, model.FieldAnnotationType:
		return true, 0
	case fieldStatusMessage:
		return false, bitStatusMessage
	case fieldNumEvents:
		return false, bitNumEvents
	case fieldNumLinks:
		return false, bitNumLinks
	case fieldSignalType:
		return false, bitSignalType
	case fieldTraceState:
		return false, bitTraceState
	case fieldInvalidDuration:
		return false, bitInvalidDuration
	case fieldLibraryName:
		return false, bitLibraryName
	case fieldLibraryVersion:
		return false, bitLibraryVersion
	case fieldInstrumentation:
		return false, bitInstrumentation
	case fieldResourceSchema:
		return false, bitResourceSchema
	case fieldScopeSchema:
		return false, bitScopeSchema
	case fieldParentName:
		return false, bitParentName
	case fieldTimeSinceStart:
		return false, bitTimeSinceStart
	case fieldInvalidSinceTime:
		return false, bitInvalidSinceTime
	case fieldLinkTraceID:
		return false, bitLinkTraceID
	case fieldLinkSpanID:
		return false, bitLinkSpanID
	case fieldExcMessage:
		return false, bitExcMessage
	case fieldExcType:
		return false, bitExcType
	case fieldExcStacktrace:
		return false, bitExcStacktrace
	case fieldExcEscaped:
		return false, bitExcEscaped
	case keySampleRate:
		return false, bitSampleRate
	case keySampleRateUpper:
		return false, bitSampleRateUpper
	case fieldSeverity:
		return false, bitSeverity
	case fieldSeverityCode:
		return false, bitSeverityCode
	case fieldSeverityText:
		return false, bitSeverityText
	case fieldFlags:
		return false, bitFlags
	case fieldEventName:
		return false, bitEventName
	case fieldBody:
		return false, bitBody
	}
	return false, 0
}

type converter struct {
	events []model.Event
	arena  []model.Attr // backing store handed out to events in pieces

	spans       int
	rejected    int
	firstReject string

	// Per ResourceSpans.
	dataset string
	service string

	// Per ScopeSpans: resource and scope attributes plus the scope-level
	// husky fields, merged once and copied into every event.
	base      []model.Attr
	baseHot   []model.Attr // hot-field attributes, applied with Event.Set in order
	baseMask  uint32
	baseBloom uint64

	// chunk is the preferred size of a new arena chunk (0: 256).
	chunk int

	// Per event being built.
	mask     uint32
	bloom    uint64 // keyBit of every attribute key the event has
	gen      int    // counts events (and bases) begun
	index    map[string]int
	indexGen int  // the gen index was built for
	deferHot bool // building base: hot keys go to baseHot
}

func (c *converter) reject(sp *tracepb.Span, why string) {
	if c.rejected == 0 {
		c.firstReject = fmt.Sprintf("span %q: %s", truncate(sp.GetName(), 128), why)
	}
	c.rejected++
}

// alloc hands out an empty slice with room for n attributes from the arena.
func (c *converter) alloc(n int) []model.Attr {
	if len(c.arena)+n > cap(c.arena) {
		c.arena = make([]model.Attr, 0, max(n, c.chunk, 256))
	}
	l := len(c.arena)
	c.arena = c.arena[:l+n]
	return c.arena[l : l : l+n]
}

func (c *converter) resource(rs *tracepb.ResourceSpans) {
	if rs == nil {
		return
	}
	resAttrs := rs.GetResource().GetAttributes()
	c.service, c.dataset = "", unknownService
	for _, kv := range resAttrs {
		if kv.GetKey() != model.FieldServiceName {
			continue
		}
		if sv, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue); ok {
			c.service = sv.StringValue
		} else {
			c.service = ""
		}
	}
	if name := strings.TrimSpace(c.service); name != "" && !strings.HasPrefix(name, unknownService) {
		c.dataset = name
	}
	if c.service == "" {
		c.service = c.dataset
	}
	for _, ss := range rs.GetScopeSpans() {
		if ss == nil || len(ss.GetSpans()) == 0 {
			continue
		}
		c.buildBase(rs.GetSchemaUrl(), ss.GetScope(), ss.GetSchemaUrl(), resAttrs)
		for _, sp := range ss.GetSpans() {
			if sp != nil {
				c.span(sp)
			}
		}
	}
}

// buildBase merges, lowest precedence first, the scope-level husky fields,
// the resource attributes and the scope attributes.
func (c *converter) buildBase(resourceSchema string, scope *commonpb.InstrumentationScope, scopeSchema string, resAttrs []*commonpb.KeyValue) {
	var e model.Event
	e.Attrs = c.base[:0]
	c.baseHot = c.baseHot[:0]
	c.mask = 0
	c.bloom = 0
	c.gen++
	c.deferHot = true
	if name := scope.GetName(); name != "" {
		c.put(&e, fieldLibraryName, model.Str(name))
		if isInstrumentationLibrary(name) {
			c.put(&e, fieldInstrumentation, model.Bool(true))
		}
	}
	if v := scope.GetVersion(); v != "" {
		c.put(&e, fieldLibraryVersion, model.Str(v))
	}
	if u := resourceSchema; u != "" {
		c.put(&e, fieldResourceSchema, model.Str(u))
	}
	if u := scopeSchema; u != "" {
		c.put(&e, fieldScopeSchema, model.Str(u))
	}
	c.putAll(&e, resAttrs)
	c.putAll(&e, scope.GetAttributes())
	c.deferHot = false
	c.base = e.Attrs
	c.baseMask = c.mask
	c.baseBloom = c.bloom
}

// instrumentationPrefixes are scope-name prefixes of the OpenTelemetry and
// Honeycomb auto-instrumentation libraries.
var instrumentationPrefixes = []string{
	"io.opentelemetry",
	"opentelemetry.instrumentation",
	"go.opentelemetry.io/contrib/instrumentation",
	"@opentelemetry/instrumentation",
	"@honeycombio/",
	"OpenTelemetry.Instrumentation",
	"OpenTelemetry::Instrumentation",
	"OpenTelemetry\\Contrib\\Instrumentation",
	"opentelemetry-instrumentation",
	"otelcol/",
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver",
	"Honeycomb.OpenTelemetry",
	"honeycomb.io/",
}

func isInstrumentationLibrary(name string) bool {
	for _, p := range instrumentationPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// begin starts an event's attributes: room for n of its own, the base
// merged in, the base's hot fields applied.
func (c *converter) begin(e *model.Event, n int) {
	e.Attrs = c.alloc(len(c.base) + n + huskyExtras)
	e.Attrs = append(e.Attrs, c.base...)
	c.mask = c.baseMask
	c.bloom = c.baseBloom
	c.gen++
	for _, a := range c.baseHot {
		c.setHot(e, a.Key, a.Value)
	}
}

// add sets a husky field unless an attribute of that name is present.
func (c *converter) add(e *model.Event, bit uint32, key string, v model.Value) {
	if c.mask&bit != 0 {
		return
	}
	c.mask |= bit
	c.putAttr(e, key, v)
}

func (c *converter) span(sp *tracepb.Span) {
	if len(sp.TraceId) != 16 || isZero(sp.TraceId) {
		c.reject(sp, fmt.Sprintf("invalid trace_id: want 16 bytes, not all zero, got %d bytes", len(sp.TraceId)))
		return
	}
	if len(sp.SpanId) != 8 || isZero(sp.SpanId) {
		c.reject(sp, fmt.Sprintf("invalid span_id: want 8 bytes, not all zero, got %d bytes", len(sp.SpanId)))
		return
	}
	if n := len(sp.ParentSpanId); n != 0 && n != 8 {
		c.reject(sp, fmt.Sprintf("invalid parent_span_id: want 8 bytes or none, got %d bytes", n))
		return
	}
	c.spans++
	tid := model.TraceID(sp.TraceId)
	sid := model.SpanID(sp.SpanId)
	var pid model.SpanID
	if len(sp.ParentSpanId) == 8 {
		pid = model.SpanID(sp.ParentSpanId)
	}
	status := sp.GetStatus()
	code := int64(status.GetCode())
	isErr := status.GetCode() == tracepb.Status_STATUS_CODE_ERROR
	start := unixNano(sp.StartTimeUnixNano)

	e := model.Event{
		Dataset:     c.dataset,
		Time:        start,
		Source:      model.SourceOTLP,
		TraceID:     tid,
		SpanID:      sid,
		ParentID:    pid,
		Name:        sp.Name,
		ServiceName: c.service,
		SpanKind:    spanKind(sp.Kind),
		StatusCode:  code,
		Error:       isErr,
	}
	invalidDuration := sp.EndTimeUnixNano < sp.StartTimeUnixNano
	if !invalidDuration {
		e.DurationMs = float64(sp.EndTimeUnixNano-sp.StartTimeUnixNano) / 1e6
	}
	c.begin(&e, len(sp.Attributes))
	c.putAll(&e, sp.Attributes)
	if m := status.GetMessage(); m != "" {
		c.add(&e, bitStatusMessage, fieldStatusMessage, model.Str(m))
	}
	c.add(&e, bitNumEvents, fieldNumEvents, model.Int(int64(len(sp.Events))))
	c.add(&e, bitNumLinks, fieldNumLinks, model.Int(int64(len(sp.Links))))
	c.add(&e, bitSignalType, fieldSignalType, model.Str(signalTrace))
	if sp.TraceState != "" {
		c.add(&e, bitTraceState, fieldTraceState, model.Str(sp.TraceState))
	}
	if invalidDuration {
		c.add(&e, bitInvalidDuration, fieldInvalidDuration, model.Bool(true))
	}
	for _, ev := range sp.Events {
		if ev.GetName() == "exception" {
			c.copyException(&e, ev.Attributes)
			break
		}
	}
	rateKey, rate := c.sampleRate(&e, sp.TraceState)
	e.SampleRate = rate

	for _, ev := range sp.Events {
		if ev != nil {
			c.spanEvent(sp, ev, &e, rateKey)
		}
	}
	for _, l := range sp.Links {
		if l != nil {
			c.link(sp, l, &e, rateKey)
		}
	}
	c.events = append(c.events, e)
}

// copyException copies the exception.* fields of the first exception span
// event onto the span, where the span has none of its own.
func (c *converter) copyException(e *model.Event, attrs []*commonpb.KeyValue) {
	for _, kv := range attrs {
		var bit uint32
		switch kv.GetKey() {
		case fieldExcMessage:
			bit = bitExcMessage
		case fieldExcType:
			bit = bitExcType
		case fieldExcStacktrace:
			bit = bitExcStacktrace
		case fieldExcEscaped:
			bit = bitExcEscaped
		default:
			continue
		}
		if c.mask&bit != 0 || kv.GetValue() == nil || kv.GetValue().GetValue() == nil {
			continue
		}
		c.mask |= bit
		c.putValue(e, kv.Key, kv.Value, 0)
	}
}

func (c *converter) spanEvent(sp *tracepb.Span, ev *tracepb.Span_Event, span *model.Event, rateKey string) {
	e := model.Event{
		Dataset:        c.dataset,
		Time:           unixNano(ev.TimeUnixNano),
		Source:         model.SourceOTLP,
		TraceID:        span.TraceID,
		ParentID:       span.SpanID,
		Name:           ev.Name,
		ServiceName:    c.service,
		Error:          span.Error,
		AnnotationType: model.AnnotationSpanEvent,
		SampleRate:     span.SampleRate,
	}
	c.begin(&e, len(ev.Attributes))
	c.putAll(&e, ev.Attributes)
	c.add(&e, bitParentName, fieldParentName, model.Str(sp.Name))
	c.add(&e, bitSignalType, fieldSignalType, model.Str(signalTrace))
	if ev.TimeUnixNano >= sp.StartTimeUnixNano {
		c.add(&e, bitTimeSinceStart, fieldTimeSinceStart, model.Float(float64(ev.TimeUnixNano-sp.StartTimeUnixNano)/1e6))
	} else {
		c.add(&e, bitTimeSinceStart, fieldTimeSinceStart, model.Float(0))
		c.add(&e, bitInvalidSinceTime, fieldInvalidSinceTime, model.Bool(true))
	}
	c.dropKey(&e, rateKey)
	c.events = append(c.events, e)
}

func (c *converter) link(sp *tracepb.Span, l *tracepb.Span_Link, span *model.Event, rateKey string) {
	e := model.Event{
		Dataset:        c.dataset,
		Time:           span.Time,
		Source:         model.SourceOTLP,
		TraceID:        span.TraceID,
		ParentID:       span.SpanID,
		ServiceName:    c.service,
		Error:          span.Error,
		AnnotationType: model.AnnotationLink,
		SampleRate:     span.SampleRate,
	}
	c.begin(&e, len(l.Attributes))
	c.putAll(&e, l.Attributes)
	c.add(&e, bitLinkTraceID, fieldLinkTraceID, model.Str(traceIDString(l.TraceId)))
	c.add(&e, bitLinkSpanID, fieldLinkSpanID, model.Str(hex.EncodeToString(l.SpanId)))
	c.add(&e, bitParentName, fieldParentName, model.Str(sp.Name))
	c.add(&e, bitSignalType, fieldSignalType, model.Str(signalTrace))
	c.dropKey(&e, rateKey)
	c.events = append(c.events, e)
}

// dropKey removes the attribute key (the span's sample-rate key) if the
// event has it.
func (c *converter) dropKey(e *model.Event, key string) {
	if key == "" {
		return
	}
	_, bit := classify(key)
	if c.mask&bit == 0 {
		return
	}
	for i := range e.Attrs {
		if e.Attrs[i].Key == key {
			e.Attrs = append(e.Attrs[:i], e.Attrs[i+1:]...)
			return
		}
	}
}

// sampleRate takes the sample rate from the sampleRate (or else SampleRate)
// attribute, removing it, or else from the tracestate threshold. It returns
// the attribute key it used ("" if none).
func (c *converter) sampleRate(e *model.Event, traceState string) (string, int64) {
	key := ""
	switch {
	case c.mask&bitSampleRate != 0:
		key = keySampleRate
	case c.mask&bitSampleRateUpper != 0:
		key = keySampleRateUpper
	default:
		return "", thresholdSampleRate(traceState)
	}
	rate := int64(1)
	for i := range e.Attrs {
		if e.Attrs[i].Key != key {
			continue
		}
		rate = parseSampleRate(e.Attrs[i].Value)
		e.Attrs = append(e.Attrs[:i], e.Attrs[i+1:]...)
		break
	}
	return key, rate
}

func parseSampleRate(v model.Value) int64 {
	var f float64
	switch v.Kind {
	case model.KindInt:
		return clampRate(v.Int)
	case model.KindFloat:
		f = v.Flt
	case model.KindString:
		p, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
		if err != nil {
			return 1
		}
		f = p
	default:
		return 1
	}
	if math.IsNaN(f) || f < 1 {
		return 1
	}
	if f >= math.MaxInt32 {
		return math.MaxInt32
	}
	return clampRate(int64(math.Round(f)))
}

func clampRate(r int64) int64 {
	if r < 1 {
		return 1
	}
	if r > math.MaxInt32 {
		return math.MaxInt32
	}
	return r
}

// thresholdSampleRate reads an OpenTelemetry sampling threshold from the W3C
// tracestate (ot=th:<hex>, or a legacy top-level th=<hex>) and returns the
// adjusted count 2^56/(2^56-T), rounded to the nearest integer, clamped to
// int32; 1 when there is none.
func thresholdSampleRate(ts string) int64 {
	if ts == "" {
		return 1
	}
	for len(ts) > 0 {
		var member string
		member, ts, _ = strings.Cut(ts, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok {
			continue
		}
		switch k {
		case "ot":
			for len(v) > 0 {
				var sub string
				sub, v, _ = strings.Cut(v, ";")
				if th, ok := strings.CutPrefix(sub, "th:"); ok {
					return rateFromThreshold(th)
				}
			}
		case "th":
			return rateFromThreshold(v)
		}
	}
	return 1
}

func rateFromThreshold(th string) int64 {
	if th == "" || len(th) > 14 {
		return 1
	}
	t, err := strconv.ParseUint(th, 16, 64)
	if err != nil {
		return 1
	}
	t <<= 4 * (14 - uint(len(th))) // the threshold is 56 bits, trailing zeros omitted
	const max = uint64(1) << 56
	if t >= max {
		return 1
	}
	r := math.Round(float64(max) / float64(max-t))
	if r >= math.MaxInt32 {
		return math.MaxInt32
	}
	return clampRate(int64(r))
}

func spanKind(k tracepb.Span_SpanKind) string {
	switch k {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return "internal"
	case tracepb.Span_SPAN_KIND_SERVER:
		return "server"
	case tracepb.Span_SPAN_KIND_CLIENT:
		return "client"
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return "producer"
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return "consumer"
	}
	return "unspecified"
}

func unixNano(ns uint64) time.Time {
	if ns > math.MaxInt64 {
		ns = math.MaxInt64
	}
	return time.Unix(0, int64(ns)).UTC()
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// traceIDString writes a trace id as Honeycomb does: a 16-byte id whose
// first 8 bytes are zero as 16 hex digits, anything else as plain hex.
func traceIDString(b []byte) string {
	if len(b) == 16 {
		return model.TraceID(b).HoneycombString()
	}
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
