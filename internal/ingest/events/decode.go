package events

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Honeycomb's messages, the text its clients see.
const (
	MsgEmpty          = "Request body should not be empty."
	MsgMalformed      = "Request body is malformed and cannot be read."
	MsgTooLarge       = "Request body is too large."
	MsgTooManyColumns = "Event has too many columns."
	MsgRateLimited    = "Request dropped due to rate limiting."
	MsgNotFound       = "dataset not found"
)

// Format is a body's encoding.
type Format uint8

// Formats.
const (
	FormatJSON Format = iota
	FormatMsgpack
)

func (f Format) String() string {
	if f == FormatMsgpack {
		return "msgpack"
	}
	return "json"
}

// FormatOf picks the body format from a Content-Type header: msgpack for
// application/msgpack and application/x-msgpack, JSON for anything else
// (Honeycomb reads curl's default application/x-www-form-urlencoded, and
// no content type at all, as JSON).
func FormatOf(contentType string) Format {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	if strings.EqualFold(mt, "application/msgpack") || strings.EqualFold(mt, "application/x-msgpack") {
		return FormatMsgpack
	}
	return FormatJSON
}

// Options steer the decoding of one request.
type Options struct {
	// Dataset is the dataset every event goes to.
	Dataset string
	// Now is when the request arrived: the time of an event without a
	// usable one.
	Now time.Time
	// ExpandDepth is the dataset's expand_json_depth (0..MaxExpandDepth).
	ExpandDepth int
	// FieldNames are the dataset's own names of hot fields, from its
	// dataset definitions: a column name → the field it is defined as
	// (model.FieldTraceID, …). A field sent under such a name fills that
	// field of the event (trace id, duration, …) and is kept under its own
	// name as well. Nil: the fields' own names only.
	FieldNames map[string]string
	// MaxEventBytes and MaxFields cap one event; zero takes Honeycomb's
	// 1,000,000 bytes and 2,000 fields.
	MaxEventBytes int
	MaxFields     int
	// MaxEvents caps a batch's events (a bigger batch is too large); zero
	// takes 100,000.
	MaxEvents int
}

func (o Options) withDefaults() Options {
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = DefaultConfig().MaxEventBytes
	}
	if o.MaxFields <= 0 {
		o.MaxFields = DefaultConfig().MaxFields
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultConfig().MaxBatchEvents
	}
	o.ExpandDepth = min(max(o.ExpandDepth, 0), MaxExpandDepth)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// Status is one event's answer in a batch response.
type Status struct {
	Code  int    `json:"status"`
	Error string `json:"error,omitempty"`
	// Detail says what exactly was wrong, for the server's log; it is not
	// sent.
	Detail string `json:"-"`
}

// Batch is a decoded /1/batch body.
type Batch struct {
	// Events are the valid events, in order.
	Events []model.Event
	// Status has one entry per event sent, in order: 202 for each of
	// Events, 400 with Honeycomb's message for each event that was not
	// valid.
	Status []Status
}

// Rejected counts the events answered 400.
func (b *Batch) Rejected() int { return len(b.Status) - len(b.Events) }

// Error is a failure of a whole request: Honeycomb's status and message,
// and what exactly was wrong for the server's log.
type Error struct {
	Status  int
	Message string
	Detail  string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Message
	}
	return e.Message + " (" + e.Detail + ")"
}

func badRequest(msg, detail string) *Error { return &Error{Status: 400, Message: msg, Detail: detail} }

func tooManyEvents(max int) *Error {
	return badRequest(MsgTooLarge, "more than "+strconv.Itoa(max)+" events in a batch")
}

// DecodeBatch decodes a /1/batch body. A body that cannot be read as an
// array of events is an *Error (400); a bad event is a 400 in its Status
// and leaves the others alone. The events do not alias body.
func DecodeBatch(body []byte, f Format, opt Options) (Batch, error) {
	opt = opt.withDefaults()
	if isBlank(body) {
		return Batch{}, badRequest(MsgEmpty, "empty body")
	}
	b := newBuilder(&opt)
	if f == FormatMsgpack {
		return b.msgpackBatch(body)
	}
	return b.jsonBatch(body)
}

// DecodeEvent decodes a /1/events body: one event's fields, with the time
// and sample rate from the X-Honeycomb-Event-Time and
// X-Honeycomb-Samplerate headers (empty when absent). Any problem is an
// *Error with Honeycomb's status and message. The event does not alias
// body.
func DecodeEvent(body []byte, f Format, eventTime, sampleRate string, opt Options) (model.Event, error) {
	opt = opt.withDefaults()
	if isBlank(body) {
		return model.Event{}, badRequest(MsgEmpty, "empty body")
	}
	if len(body) > opt.MaxEventBytes {
		return model.Event{}, badRequest(MsgTooLarge, "event of "+strconv.Itoa(len(body))+" bytes, the limit is "+strconv.Itoa(opt.MaxEventBytes))
	}
	b := newBuilder(&opt)
	var err *Error
	if f == FormatMsgpack {
		err = b.msgpackEvent(body)
	} else {
		err = b.jsonEvent(body)
	}
	if err != nil {
		return model.Event{}, err
	}
	t := opt.Now
	if eventTime != "" {
		t = parseTimeString(eventTime, opt.Now)
	}
	rate := int64(1)
	if n, perr := strconv.ParseInt(strings.TrimSpace(sampleRate), 10, 64); perr == nil {
		rate = clampRate(n)
	}
	ev, st := b.finish(t, rate)
	if st.Code != 202 {
		return model.Event{}, &Error{Status: st.Code, Message: st.Error, Detail: st.Detail}
	}
	return ev, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// clampRate keeps a sample rate in 1..MaxInt32, as Honeycomb stores it.
func clampRate(n int64) int64 {
	switch {
	case n < 1:
		return 1
	case n > math.MaxInt32:
		return math.MaxInt32
	}
	return n
}

// floatRate rounds a float sample rate.
func floatRate(f float64) int64 {
	if math.IsNaN(f) || f < 1 {
		return 1
	}
	if f > math.MaxInt32 {
		return math.MaxInt32
	}
	return int64(math.Round(f))
}

// parseTimeString reads an event time: RFC 3339, an integer epoch (by its
// digits) or float seconds. Anything else is now.
func parseTimeString(s string, now time.Time) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return now
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return checkTime(t, now)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return epochTime(n, now)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return floatTime(f, now)
	}
	return now
}

// epochTime reads an integer epoch by its magnitude: up to 10 digits are
// seconds, 11-13 milliseconds, 14-16 microseconds, more nanoseconds.
func epochTime(n int64, now time.Time) time.Time {
	a := n
	if a < 0 {
		if n == math.MinInt64 {
			return now
		}
		a = -a
	}
	var t time.Time
	switch {
	case a < 1e10:
		t = time.Unix(n, 0)
	case a < 1e13:
		t = time.UnixMilli(n)
	case a < 1e16:
		t = time.UnixMicro(n)
	default:
		t = time.Unix(0, n)
	}
	return checkTime(t, now)
}

// floatTime reads float seconds; a float too big to be seconds is read by
// its magnitude as epochTime reads integers.
func floatTime(f float64, now time.Time) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 9.2e18 {
		return now
	}
	if math.Abs(f) >= 1e10 {
		return epochTime(int64(f), now)
	}
	sec, frac := math.Modf(f)
	return checkTime(time.Unix(int64(sec), int64(frac*1e9)), now)
}

// checkTime replaces a zero time, or one more than an hour ahead of now,
// with now, as Honeycomb does.
func checkTime(t, now time.Time) time.Time {
	if t.IsZero() || t.After(now.Add(time.Hour)) {
		return now
	}
	return t.UTC()
}
