package events

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/model"
)

// maxString is Honeycomb's cap on a string field (64 KB): longer strings,
// JSON text of arrays and deep objects included, are cut at a UTF-8
// boundary.
const maxString = 65535

// hot field slots: the values of Honeycomb's hot field names are held
// until the event is complete, then routed to model.Event's members or
// kept as attributes (finish).
const (
	hTraceID = iota
	hSpanID
	hParentID
	hName
	hService
	hDuration
	hSpanKind
	hType
	hStatus
	hError
	hAnnotation
	numHot
)

var hotKeys = [numHot]string{
	model.FieldTraceID, model.FieldSpanID, model.FieldParentID, model.FieldName, model.FieldServiceName,
	model.FieldDurationMs, model.FieldSpanKind, model.FieldType, model.FieldStatusCode, model.FieldError,
	model.FieldAnnotationType,
}

func hotSlot(key string) int {
	switch key {
	case model.FieldTraceID:
		return hTraceID
	case model.FieldSpanID:
		return hSpanID
	case model.FieldParentID:
		return hParentID
	case model.FieldName:
		return hName
	case model.FieldServiceName:
		return hService
	case model.FieldDurationMs:
		return hDuration
	case model.FieldSpanKind:
		return hSpanKind
	case model.FieldType:
		return hType
	case model.FieldStatusCode:
		return hStatus
	case model.FieldError:
		return hError
	case model.FieldAnnotationType:
		return hAnnotation
	}
	return -1
}

// indexFrom is the attribute count from which an event's keys are looked
// up in a map rather than scanned.
const indexFrom = 24

// maxInterned bounds the strings one request shares between its events.
const maxInterned = 8192

// builder turns the fields of one event after another into model.Events.
// Attributes of all events of a request share one backing array.
type builder struct {
	opt *Options

	arena []model.Attr
	start int // the current event's first attribute in arena

	hot    [numHot]model.Value
	hotKey [numHot]string // the name each hot value was sent under
	hotSet uint16

	fields int            // distinct fields of the current event
	index  map[string]int // key → arena position, once the event has indexFrom attributes
	err    Status         // the current event's first problem (Code 0: none)

	intern map[string]string
	key    []byte // the dotted key being built
	buf    []byte // scratch for JSON text
}

func newBuilder(opt *Options) *builder {
	return &builder{opt: opt, intern: make(map[string]string, 64)}
}

// presize guesses, from a batch body's size, room for its events and
// their attributes (a libhoney event of a dozen fields is ~400 bytes).
func (b *builder) presize(bodyLen int) Batch {
	n := min(bodyLen/300+1, 20_000)
	b.arena = make([]model.Attr, 0, min(bodyLen/24+1, 1<<20))
	return Batch{Events: make([]model.Event, 0, n), Status: make([]Status, 0, n)}
}

// begin starts an event.
func (b *builder) begin() {
	b.start = len(b.arena)
	b.hotSet = 0
	b.fields = 0
	b.index = nil
	b.err = Status{}
}

// fail records the event's first problem; the rest of it is still read
// (to find where it ends) but no longer kept.
func (b *builder) fail(msg, detail string) {
	if b.err.Code == 0 {
		b.err = Status{Code: 400, Error: msg, Detail: detail}
	}
}

func (b *builder) failed() bool { return b.err.Code != 0 }

// str returns bs as a string, shared with earlier equal strings of the
// request when short.
func (b *builder) str(bs []byte) string {
	if len(bs) > 64 {
		return string(bs)
	}
	if s, ok := b.intern[string(bs)]; ok {
		return s
	}
	s := string(bs)
	if len(b.intern) < maxInterned {
		b.intern[s] = s
	}
	return s
}

// keyString returns the key being built (b.key) as a string.
func (b *builder) keyString() string {
	if !utf8.Valid(b.key) {
		return string([]rune(string(b.key)))
	}
	return b.str(b.key)
}

// text returns a string value: invalid UTF-8 replaced, cut to maxString.
func (b *builder) text(bs []byte) string {
	if !utf8.Valid(bs) {
		bs = []byte(string([]rune(string(bs)))) // each invalid byte becomes U+FFFD, as encoding/json does
	}
	return b.str(truncate(bs, maxString))
}

// truncate cuts bs to at most n bytes without splitting a UTF-8 sequence.
func truncate(bs []byte, n int) []byte {
	if len(bs) <= n {
		return bs
	}
	for n > 0 && !utf8.RuneStart(bs[n]) {
		n--
	}
	return bs[:n]
}

// slot is the hot field a key fills, or -1. A hot field's own name keeps
// its meaning; a column the dataset's definitions name for a hot field
// (Options.FieldNames) is one more name of it.
func (b *builder) slot(key string) int {
	h := hotSlot(key)
	if h < 0 && b.opt.FieldNames != nil {
		if f, ok := b.opt.FieldNames[key]; ok {
			return hotSlot(f)
		}
	}
	return h
}

// field adds one field of the current event; a later field of the same
// name replaces an earlier one. When an event has both names of a hot
// field, the field's own name fills it and the defined column stays an
// ordinary field, so nothing sent is lost.
func (b *builder) field(key string, v model.Value) {
	if b.failed() || key == "" {
		return
	}
	if h := b.slot(key); h >= 0 {
		switch {
		case b.hotSet&(1<<h) == 0:
			b.hotSet |= 1 << h
			b.count()
		case b.opt.FieldNames == nil || b.hotKey[h] == key:
			// the same name again: it replaces the value
		case key != hotKeys[h]:
			// The defined column after the field's own name: the own
			// name's value stays, the column is an ordinary field.
			if b.put(key, v) {
				b.count()
			}
			return
		default:
			// The field's own name after the defined column: the
			// column's value becomes an ordinary field.
			if b.put(b.hotKey[h], b.hot[h]) {
				b.count()
			}
		}
		b.hot[h], b.hotKey[h] = v, key
		return
	}
	if b.put(key, v) {
		b.count()
	}
}

// put sets an ordinary field of the current event, replacing one of the
// same name, and reports whether it is a new one.
func (b *builder) put(key string, v model.Value) bool {
	n := len(b.arena) - b.start
	if n < indexFrom {
		for i := b.start; i < len(b.arena); i++ {
			if b.arena[i].Key == key {
				b.arena[i].Value = v
				return false
			}
		}
		if n == indexFrom-1 {
			b.index = make(map[string]int, 2*indexFrom)
			for i := b.start; i < len(b.arena); i++ {
				b.index[b.arena[i].Key] = i
			}
			b.index[key] = len(b.arena)
		}
	} else {
		if i, ok := b.index[key]; ok {
			b.arena[i].Value = v
			return false
		}
		b.index[key] = len(b.arena)
	}
	b.arena = append(b.arena, model.Attr{Key: key, Value: v})
	return true
}

func (b *builder) count() {
	b.fields++
	if b.fields > b.opt.MaxFields {
		b.fail(MsgTooManyColumns, "more than "+strconv.Itoa(b.opt.MaxFields)+" fields")
	}
}

// attr appends a hot-named field kept as an ordinary attribute.
func (b *builder) attr(key string, v model.Value) {
	b.arena = append(b.arena, model.Attr{Key: key, Value: v})
}

// asSent keeps hot field h's value as an ordinary attribute under the
// name it was sent with.
func (b *builder) asSent(h int, v model.Value) {
	if b.opt.FieldNames != nil && b.hotKey[h] != hotKeys[h] {
		b.put(b.hotKey[h], v)
		return
	}
	b.attr(hotKeys[h], v)
}

// member routes hot field h's value to the event's member; a value sent
// under a defined column's name is kept under that name too, so the
// dataset's queries of that column still find it.
func (b *builder) member(e *model.Event, h int, v model.Value) {
	e.Set(hotKeys[h], v)
	if b.opt.FieldNames != nil && b.hotKey[h] != hotKeys[h] {
		b.put(b.hotKey[h], v)
	}
}

// finish completes the current event: 202 and the event, or the event's
// 400.
func (b *builder) finish(t time.Time, rate int64) (model.Event, Status) {
	if !b.failed() && b.fields == 0 {
		b.fail(MsgEmpty, "an event without fields")
	}
	if b.failed() {
		b.arena = b.arena[:b.start]
		return model.Event{}, b.err
	}
	e := model.Event{Dataset: b.opt.Dataset, Time: t, Source: model.SourceEvents, SampleRate: rate}
	has := func(h int) bool { return b.hotSet&(1<<h) != 0 }
	// Ids fill the members only when they read back as sent.
	for _, h := range [...]int{hTraceID, hSpanID, hParentID} {
		if !has(h) {
			continue
		}
		v := b.hot[h]
		if v.Kind == model.KindString && canonicalID(h, v.Str) {
			b.member(&e, h, v)
		} else {
			b.asSent(h, v)
		}
	}
	for _, h := range [...]int{hName, hService, hSpanKind, hAnnotation} {
		if !has(h) {
			continue
		}
		if v := b.hot[h]; v.Kind == model.KindString && v.Str != "" {
			b.member(&e, h, v)
		} else {
			b.asSent(h, v) // "" or another type: as sent
		}
	}
	if has(hError) {
		if v := b.hot[hError]; v.Kind == model.KindBool && v.AsBool() {
			b.member(&e, hError, v)
		} else {
			b.asSent(hError, v) // error: false is kept as sent
		}
	}
	// Whether the event is a span is known now (span id, annotation type).
	if has(hDuration) {
		v := b.hot[hDuration]
		if (v.Kind == model.KindFloat || v.Kind == model.KindInt) && (e.IsSpan() || !isZero(v)) {
			b.member(&e, hDuration, v)
		} else {
			b.asSent(hDuration, v)
		}
	}
	if has(hStatus) {
		v := b.hot[hStatus]
		if v.Kind == model.KindInt && (e.IsSpan() || v.Int != 0) {
			b.member(&e, hStatus, v)
		} else {
			b.asSent(hStatus, v)
		}
	}
	if has(hType) {
		// type repeats span.kind in OTel's events; any other type is kept.
		if v := b.hot[hType]; !(v.Kind == model.KindString && v.Str != "" && v.Str == e.SpanKind) {
			b.asSent(hType, v)
		}
	}
	if len(b.arena) > b.start {
		e.Attrs = b.arena[b.start:len(b.arena):len(b.arena)]
	}
	return e, Status{Code: 202}
}

func isZero(v model.Value) bool {
	if v.Kind == model.KindInt {
		return v.Int == 0
	}
	return v.Flt == 0
}

// canonicalID reports whether s is an id that Event's member holds and
// writes back exactly as s (lower-case hex, not all zeros; a 32-digit
// trace id whose first half is zero would come back as 16 digits).
func canonicalID(h int, s string) bool {
	if h == hTraceID {
		id, err := model.ParseTraceID(s)
		return err == nil && !id.IsZero() && id.HoneycombString() == s
	}
	id, err := model.ParseSpanID(s)
	return err == nil && !id.IsZero() && id.String() == s
}
