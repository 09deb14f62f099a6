package events

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/honeycombio/libhoney-go/transmission"

	"github.com/tracecomb/tracecomb/internal/model"
)

// seedEvents are libhoney-go events of every value type.
func seedEvents() []*transmission.Event {
	at := time.Date(2026, 5, 25, 11, 0, 0, 0, time.UTC)
	return []*transmission.Event{
		{Timestamp: at, SampleRate: 10, Data: map[string]any{"name": "GET /", "duration_ms": 1.5, "trace.trace_id": "5759e988bd862e3fe1be46a994272793",
			"trace.span_id": "53995c3f42cd8ad8", "n": 3, "ok": true, "nested": map[string]any{"a": []any{1, "x", nil}}}},
		{Data: map[string]any{"trace.trace_id": "7f8c2b8e-6a3e-4a35-9a63-1d2e0d4b5c6a", "error": false, "type": "x", "when": at}},
		{SampleRate: 1, Data: map[string]any{"u": uint64(1 << 63), "f32": float32(0.1), "b": []byte{0xff, 'a'}}},
	}
}

func seedJSONBatch(t testing.TB) []byte {
	out := []byte{'['}
	for i, ev := range seedEvents() {
		if i > 0 {
			out = append(out, ',')
		}
		b, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return append(out, ']')
}

func seedMsgpackBatch(t testing.TB) []byte {
	evs := seedEvents()
	out := []byte{0x90 | byte(len(evs))}
	for _, ev := range evs {
		b, err := ev.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// checkBatch holds for any body: a request error is a 400 with Honeycomb's
// message; otherwise one status per event, a 202 for each event returned
// and a 400 with a message for the others, and every event within the
// limits, in the dataset, with valid strings.
func checkBatch(t *testing.T, b Batch, err error, opt Options) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || (e.Message != MsgMalformed && e.Message != MsgEmpty) {
			t.Fatalf("request error %v", err)
		}
		return
	}
	accepted := 0
	for _, st := range b.Status {
		switch {
		case st.Code == 202 && st.Error == "":
			accepted++
		case st.Code == 400 && st.Error != "":
		default:
			t.Fatalf("status %+v", st)
		}
	}
	if accepted != len(b.Events) {
		t.Fatalf("%d accepted, %d events", accepted, len(b.Events))
	}
	for i := range b.Events {
		checkEvent(t, &b.Events[i], opt)
	}
}

func checkEvent(t *testing.T, e *model.Event, opt Options) {
	t.Helper()
	if e.Dataset != opt.Dataset || e.Source != model.SourceEvents || e.SampleRate < 1 || e.Time.IsZero() || e.Time.After(opt.Now.Add(time.Hour)) {
		t.Fatalf("event %+v", *e)
	}
	n := 0
	e.Range(func(k string, v model.Value) bool {
		n++
		if k == "" {
			t.Fatal("empty field name")
		}
		if v.Kind == model.KindString && (len(v.Str) > maxString || !utf8.ValidString(v.Str)) {
			t.Fatalf("field %q: bad string of %d bytes", k, len(v.Str))
		}
		return true
	})
	if n == 0 || n > opt.MaxFields+1 { // +1: a span's duration_ms or status_code may be implied
		t.Fatalf("%d fields", n)
	}
}

func fuzzOpts(depth uint8) Options {
	o := Options{Dataset: "fuzz", Now: now, ExpandDepth: int(depth % (MaxExpandDepth + 2)), MaxFields: 50, MaxEventBytes: 4096}
	return o.withDefaults()
}

func FuzzDecodeBatchJSON(f *testing.F) {
	f.Add(seedJSONBatch(f), uint8(0))
	f.Add(seedJSONBatch(f), uint8(3))
	f.Add([]byte(`[{"data":{"a":{"b":{"c":1}}},"time":1452759330927,"samplerate":2.5},{"data":"x"},7,{"time":true}]`), uint8(2))
	f.Add([]byte(`[{"data":{"k":1,"k":"\u00e9\ud83d\ude80","":null,"e":1e999}}]`), uint8(0))
	f.Add([]byte(`[]`), uint8(0))
	f.Add([]byte(`{"data":{}}`), uint8(0))
	f.Add([]byte(`[{"data":{`+strings.Repeat(`"a":[`, 50)+strings.Repeat(`]`, 50)+`}}]`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, depth uint8) {
		opt := fuzzOpts(depth)
		b, err := DecodeBatch(body, FormatJSON, opt)
		checkBatch(t, b, err, opt)
	})
}

func FuzzDecodeBatchMsgpack(f *testing.F) {
	f.Add(seedMsgpackBatch(f), uint8(0))
	f.Add(seedMsgpackBatch(f), uint8(2))
	f.Add(mustMsgpack(f, []any{map[string]any{"data": map[string]any{"a": map[string]any{"b": 1}}, "time": "2016-01-14T08:15:30Z", "samplerate": 3.5}, "x", map[string]any{"data": []int{1}}}), uint8(1))
	f.Add([]byte("\x92\x81\xa4data\x81\xa1e\xd4\x05\x00\x81\xa4data\x81\xa1t\xd6\xff\x00\x00\x00\x01"), uint8(0))
	f.Add([]byte("\xdd\xff\xff\xff\xff"), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, depth uint8) {
		opt := fuzzOpts(depth)
		b, err := DecodeBatch(body, FormatMsgpack, opt)
		checkBatch(t, b, err, opt)
	})
}

// checkSingle holds for any /1/events body: an event within the limits or
// a 400 with one of Honeycomb's messages.
func checkSingle(t *testing.T, e model.Event, err error, opt Options) {
	t.Helper()
	if err != nil {
		var he *Error
		if !errors.As(err, &he) || he.Status != 400 || he.Message == "" || !strings.HasSuffix(he.Message, ".") {
			t.Fatalf("error %v", err)
		}
		return
	}
	checkEvent(t, &e, opt)
}

func FuzzDecodeEventJSON(f *testing.F) {
	f.Add([]byte(`{"method":"GET","duration_ms":32,"nested":{"a":[1,2]}}`), "2016-01-14T08:15:30Z", "5", uint8(1))
	f.Add([]byte(`{"trace.trace_id":"AB","error":false}`), "1452759330.5", "x", uint8(0))
	f.Add([]byte(`[1]`), "", "", uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, eventTime, rate string, depth uint8) {
		opt := fuzzOpts(depth)
		e, err := DecodeEvent(body, FormatJSON, eventTime, rate, opt)
		checkSingle(t, e, err, opt)
	})
}

func FuzzDecodeEventMsgpack(f *testing.F) {
	f.Add(mustMsgpack(f, map[string]any{"method": "GET", "duration_ms": 32, "nested": map[string]any{"a": []int{1, 2}}}), "1452759330927", "10", uint8(1))
	f.Add([]byte("\x81\x01\x02"), "", "", uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, eventTime, rate string, depth uint8) {
		opt := fuzzOpts(depth)
		e, err := DecodeEvent(body, FormatMsgpack, eventTime, rate, opt)
		checkSingle(t, e, err, opt)
	})
}
