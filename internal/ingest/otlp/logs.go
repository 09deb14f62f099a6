package otlp

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unsafe"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// RequestInfo is what decoding a request needs besides its body.
type RequestInfo struct {
	// Dataset is the request's x-honeycomb-dataset header: the dataset of
	// logs whose resource has no usable service.name, and of every metric.
	Dataset string
	// Received is when the request came in: the time of log records that
	// carry neither a time nor an observed time, and of data points
	// without a time. Zero means now.
	Received time.Time
	// MaxDecodedBytes bounds the memory of the decoded events, and that of
	// the request's decoded protobuf form; 0 means DefaultMaxDecodedBytes.
	MaxDecodedBytes int64
	// Reservation, if not nil, is grown by the memory the decoding takes
	// (the request's decoded form while it is converted, then the events
	// and the strings they keep) before it is allocated; when its budget
	// has no room the decoder stops with ingest.ErrOverloaded. What it
	// holds after a successful decode stands for the events: hand it to
	// the consumer with ingest.WithReservation.
	Reservation *ingest.Reservation
}

func (ri RequestInfo) received() time.Time {
	if ri.Received.IsZero() {
		return time.Now().UTC()
	}
	return ri.Received.UTC()
}

func (ri RequestInfo) limit() int64 {
	if ri.MaxDecodedBytes <= 0 {
		return DefaultMaxDecodedBytes
	}
	return ri.MaxDecodedBytes
}

// admit checks that need bytes of events fit under the limit, and
// reserves them: DecodedTooLargeError (permanent) or ingest.ErrOverloaded
// (retry later).
func (ri RequestInfo) admit(need int64) error {
	if need > ri.limit() {
		return &DecodedTooLargeError{Need: need, Limit: ri.limit()}
	}
	if !ri.Reservation.TryGrow(need) {
		return ingest.ErrOverloaded
	}
	return nil
}

// jsonObjectBytes is what one JSON object of an OTLP request is taken to
// cost once decoded into the protobuf types (a span with its status, an
// attribute with its value): JSON requests are admitted on that estimate,
// as their decoding allocates every message on its own.
const jsonObjectBytes = 200

// admitJSON checks and reserves the memory a JSON body will take while it
// is decoded, returning the bytes reserved; the body's strings are copied
// once (and the ids once more, by hexIDsToBase64).
func (ri RequestInfo) admitJSON(body []byte) (int64, error) {
	est := int64(bytes.Count(body, []byte{'{'}))*jsonObjectBytes + 2*int64(len(body))
	if est > ri.limit() {
		return 0, &DecodedTooLargeError{Need: est, Limit: ri.limit()}
	}
	if !ri.Reservation.TryGrow(est) {
		return 0, ingest.ErrOverloaded
	}
	return est, nil
}

// keepStrings gives back, once the events are built, what was reserved
// for the request's decoded form (formBytes), except the strings the
// events still refer to (about the body's size).
func (ri RequestInfo) keepStrings(formBytes int64, body []byte) {
	ri.Reservation.Shrink(formBytes - int64(len(body)))
}

// DecodedTooLargeError reports a request whose events (or decoded
// protobuf form) would take more memory than RequestInfo.MaxDecodedBytes.
// It is permanent: the same request can never fit (HTTP 413, gRPC
// InvalidArgument).
type DecodedTooLargeError struct {
	Need, Limit int64
}

func (e *DecodedTooLargeError) Error() string {
	return fmt.Sprintf("request expands to about %d bytes of events, over the limit of %d: send fewer items per request or fewer resource attributes", e.Need, e.Limit)
}

// Sizes used to bound the memory of decoded events.
const (
	eventBytes = int64(unsafe.Sizeof(model.Event{}))
	attrBytes  = int64(unsafe.Sizeof(model.Attr{}))
	// maxChunk caps one arena allocation (in attributes), so a large but
	// legal request grows its arena in steps instead of all at once.
	maxChunk = 1 << 16
)

// Field names of log events (husky otlp/logs.go).
const (
	fieldSeverity     = "severity"
	fieldSeverityCode = "severity_code"
	fieldSeverityText = "severity_text"
	fieldFlags        = "flags"
	fieldEventName    = "event.name"
	fieldBody         = "body"
	signalLog         = "log"
	unknownLogSource  = "unknown_log_source"
)

// DecodeLogsProtobuf decodes a binary protobuf ExportLogsServiceRequest.
// The events do not alias body.
func DecodeLogsProtobuf(body []byte, ri RequestInfo) (Result, error) {
	req, form, err := decodeLogsRequest(body, ri)
	if err != nil {
		return Result{}, err
	}
	res, err := ConvertLogs(req, ri)
	ri.keepStrings(form, body)
	return res, err
}

// DecodeLogsJSON decodes an OTLP/JSON ExportLogsServiceRequest, with the
// same rules as DecodeJSON (hex ids, integer enums, unknown fields
// ignored).
func DecodeLogsJSON(body []byte, ri RequestInfo) (Result, error) {
	form, err := ri.admitJSON(body)
	if err != nil {
		return Result{}, err
	}
	b64, err := hexIDsToBase64(body)
	if err != nil {
		return Result{}, err
	}
	var req collogspb.ExportLogsServiceRequest
	if err := jsonUnmarshal.Unmarshal(b64, &req); err != nil {
		return Result{}, err
	}
	res, err := ConvertLogs(&req, ri)
	ri.keepStrings(form, body)
	return res, err
}

// ConvertLogs maps a decoded logs request to Honeycomb events, one per log
// record (spec §1.5, husky otlp/logs.go):
//
//   - dataset: the resource's trimmed service.name, else the
//     x-honeycomb-dataset header, else unknown_log_source;
//   - severity (text from the number), severity_code, severity_text,
//     flags, event.name, meta.signal_type "log";
//   - body: a string, number or boolean as such, a kvlist flattened as
//     body.* (and the whole kvlist as JSON text in body), anything else as
//     JSON text;
//   - with a valid trace id: trace.trace_id and meta.annotation_type
//     "span_event", so the log shows on its trace's waterfall; a valid
//     span id: trace.parent_id (the span the log was written in). An
//     invalid id is treated as absent, as the OTLP logs spec says, so no
//     log record is ever rejected;
//   - resource, scope and record attributes flattened as for spans, each
//     overriding the fields above; sampleRate/SampleRate is the sample
//     rate;
//   - time: the record's time, else its observed time, else ri.Received.
//
// It refuses (DecodedTooLargeError) a request whose events would take more
// than ri.MaxDecodedBytes, before building any, and reserves their memory
// on ri.Reservation first (ingest.ErrOverloaded if it cannot).
func ConvertLogs(req *collogspb.ExportLogsServiceRequest, ri RequestInfo) (Result, error) {
	records, attrs := estimateLogs(req)
	if err := ri.admit(int64(records)*eventBytes + int64(attrs)*attrBytes); err != nil {
		return Result{}, err
	}
	var c converter
	c.events = make([]model.Event, 0, records)
	c.chunk = min(attrs, maxChunk)
	c.arena = make([]model.Attr, 0, c.chunk)
	now := ri.received()
	for _, rl := range req.GetResourceLogs() {
		c.resourceLogs(rl, ri.Dataset, now)
	}
	return Result{Events: c.events, Accepted: c.spans}, nil
}

// estimateLogs counts the events of a logs request and the attribute
// slots they need: the resource and scope attributes once per record that
// carries them, as they are copied.
func estimateLogs(req *collogspb.ExportLogsServiceRequest) (records, attrs int) {
	for _, rl := range req.GetResourceLogs() {
		nRes := len(rl.GetResource().GetAttributes()) + 2
		for _, sl := range rl.GetScopeLogs() {
			base := nRes + len(sl.GetScope().GetAttributes()) + 3 + huskyExtras
			for _, lr := range sl.GetLogRecords() {
				records++
				attrs += base + len(lr.GetAttributes()) + countLeaves(lr.GetBody(), 0)
			}
		}
	}
	return records, attrs
}

// countLeaves counts the fields a kvlist body flattens to (1 for any
// other value).
func countLeaves(av *commonpb.AnyValue, depth int) int {
	kvl, ok := av.GetValue().(*commonpb.AnyValue_KvlistValue)
	if !ok || depth >= maxFlattenDepth {
		return 1
	}
	n := 1 // the body's own JSON text
	for _, kv := range kvl.KvlistValue.GetValues() {
		n += countLeaves(kv.GetValue(), depth+1)
	}
	return n
}

// logsDataset picks a ResourceLogs' dataset and service name.
func logsDataset(resAttrs []*commonpb.KeyValue, header string) (dataset, service string) {
	for _, kv := range resAttrs {
		if kv.GetKey() != model.FieldServiceName {
			continue
		}
		if sv, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue); ok {
			service = sv.StringValue
		} else {
			service = ""
		}
	}
	switch name := strings.TrimSpace(service); {
	case name != "" && !strings.HasPrefix(name, unknownService):
		dataset = name
	case strings.TrimSpace(header) != "":
		dataset = header
	default:
		dataset = unknownLogSource
	}
	if service == "" {
		service = dataset
	}
	return dataset, service
}

func (c *converter) resourceLogs(rl *logspb.ResourceLogs, header string, now time.Time) {
	if rl == nil {
		return
	}
	resAttrs := rl.GetResource().GetAttributes()
	c.dataset, c.service = logsDataset(resAttrs, header)
	for _, sl := range rl.GetScopeLogs() {
		if sl == nil || len(sl.GetLogRecords()) == 0 {
			continue
		}
		c.buildBase(rl.GetSchemaUrl(), sl.GetScope(), sl.GetSchemaUrl(), resAttrs)
		for _, lr := range sl.GetLogRecords() {
			if lr != nil {
				c.logRecord(lr, now)
			}
		}
	}
}

func (c *converter) logRecord(lr *logspb.LogRecord, now time.Time) {
	c.spans++
	t := now
	switch {
	case lr.TimeUnixNano != 0:
		t = unixNano(lr.TimeUnixNano)
	case lr.ObservedTimeUnixNano != 0:
		t = unixNano(lr.ObservedTimeUnixNano)
	}
	e := model.Event{
		Dataset:     c.dataset,
		Time:        t,
		Source:      model.SourceOTLP,
		ServiceName: c.service,
	}
	if len(lr.TraceId) == 16 && !isZero(lr.TraceId) {
		e.TraceID = model.TraceID(lr.TraceId)
		e.AnnotationType = model.AnnotationSpanEvent
	}
	if len(lr.SpanId) == 8 && !isZero(lr.SpanId) {
		e.ParentID = model.SpanID(lr.SpanId)
	}
	c.begin(&e, len(lr.Attributes)+countLeaves(lr.Body, 0))
	c.putAll(&e, lr.Attributes)
	sev := lr.SeverityNumber
	c.add(&e, bitSeverity, fieldSeverity, model.Str(severityText(sev)))
	c.add(&e, bitSeverityCode, fieldSeverityCode, model.Int(int64(sev)))
	c.add(&e, bitSignalType, fieldSignalType, model.Str(signalLog))
	c.add(&e, bitFlags, fieldFlags, model.Int(int64(lr.Flags)))
	if lr.SeverityText != "" {
		c.add(&e, bitSeverityText, fieldSeverityText, model.Str(lr.SeverityText))
	}
	if lr.EventName != "" {
		c.add(&e, bitEventName, fieldEventName, model.Str(lr.EventName))
	}
	if lr.Body != nil {
		c.body(&e, lr.Body)
	}
	_, e.SampleRate = c.sampleRate(&e, "")
	c.events = append(c.events, e)
}

// body adds a log body below the attributes' precedence: a kvlist is
// flattened into body.* keys no attribute has, and body gets the JSON text
// of anything that is not a scalar.
func (c *converter) body(e *model.Event, av *commonpb.AnyValue) {
	if kvl, ok := av.GetValue().(*commonpb.AnyValue_KvlistValue); ok {
		for _, kv := range kvl.KvlistValue.GetValues() {
			if kv == nil || kv.Key == "" {
				continue
			}
			c.addValue(e, fieldBody+"."+kv.Key, kv.Value, 1)
		}
	}
	if c.mask&bitBody != 0 {
		return
	}
	switch av.GetValue().(type) {
	case *commonpb.AnyValue_StringValue, *commonpb.AnyValue_BoolValue, *commonpb.AnyValue_IntValue, *commonpb.AnyValue_DoubleValue:
		c.putValue(e, fieldBody, av, 0)
	default:
		c.put(e, fieldBody, model.Str(jsonText(av)))
	}
}

// addValue is putValue for fields below the attributes' precedence: it
// sets only keys the event does not have yet.
func (c *converter) addValue(e *model.Event, key string, av *commonpb.AnyValue, depth int) {
	var v model.Value
	switch x := av.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		v = model.Str(x.StringValue)
	case *commonpb.AnyValue_BoolValue:
		v = model.Bool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		v = model.Int(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		v = model.Float(x.DoubleValue)
	case *commonpb.AnyValue_KvlistValue:
		if depth < maxFlattenDepth {
			for _, kv := range x.KvlistValue.GetValues() {
				if kv == nil || kv.Key == "" {
					continue
				}
				c.addValue(e, key+"."+kv.Key, kv.Value, depth+1)
			}
			return
		}
		v = model.Str(jsonText(av))
	case *commonpb.AnyValue_BytesValue, *commonpb.AnyValue_ArrayValue:
		v = model.Str(jsonText(av))
	default:
		return
	}
	if !c.has(e, key) {
		c.put(e, key, v)
	}
}

// has reports whether the event being built has an ordinary attribute key.
func (c *converter) has(e *model.Event, key string) bool {
	if hot, bit := classify(key); hot {
		_, ok := e.Get(key)
		return ok
	} else if bit != 0 {
		return c.mask&bit != 0
	}
	if len(e.Attrs) >= indexFrom {
		c.ensureIndex(e)
		_, ok := c.index[key]
		return ok
	}
	if c.bloom&keyBit(key) == 0 {
		return false
	}
	for i := range e.Attrs {
		if e.Attrs[i].Key == key {
			return true
		}
	}
	return false
}

// severityText names a severity number as Honeycomb does.
func severityText(n logspb.SeverityNumber) string {
	switch {
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_TRACE && n <= logspb.SeverityNumber_SEVERITY_NUMBER_TRACE4:
		return "trace"
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG && n <= logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG4:
		return "debug"
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_INFO && n <= logspb.SeverityNumber_SEVERITY_NUMBER_INFO4:
		return "info"
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_WARN && n <= logspb.SeverityNumber_SEVERITY_NUMBER_WARN4:
		return "warn"
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_ERROR && n <= logspb.SeverityNumber_SEVERITY_NUMBER_ERROR4:
		return "error"
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_FATAL && n <= logspb.SeverityNumber_SEVERITY_NUMBER_FATAL4:
		return "fatal"
	}
	return "unspecified"
}
