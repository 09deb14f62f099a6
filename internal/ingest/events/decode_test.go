package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/honeycombio/libhoney-go/transmission"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tracecomb/tracecomb/internal/model"
)

// now is the receive time of every decode in these tests.
var now = time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)

func opts(depth int) Options {
	return Options{Dataset: "ds", Now: now, ExpandDepth: depth}
}

// fields is an event's fields as Range (and so the JSON form) shows them.
func fields(e *model.Event) map[string]any {
	m := map[string]any{}
	e.Range(func(k string, v model.Value) bool {
		if _, dup := m[k]; dup {
			m["DUPLICATE "+k] = v.Any()
		}
		m[k] = v.Any()
		return true
	})
	return m
}

func batchJSON(t *testing.T, body string, depth int) Batch {
	t.Helper()
	b, err := DecodeBatch([]byte(body), FormatJSON, opts(depth))
	if err != nil {
		t.Fatalf("DecodeBatch(%s): %v", body, err)
	}
	return b
}

// one decodes a batch of one valid event and returns it.
func one(t *testing.T, body string, depth int) model.Event {
	t.Helper()
	b := batchJSON(t, body, depth)
	if len(b.Events) != 1 || len(b.Status) != 1 || b.Status[0].Code != 202 {
		t.Fatalf("%s: want one accepted event, got %+v", body, b.Status)
	}
	e := b.Events[0]
	if e.Dataset != "ds" || e.Source != model.SourceEvents {
		t.Fatalf("dataset %q source %v", e.Dataset, e.Source)
	}
	return e
}

func TestFieldTypes(t *testing.T) {
	f := func(data string, want map[string]any) {
		t.Helper()
		e := one(t, `[{"data":`+data+`}]`, 0)
		if got := fields(&e); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", data, got, want)
		}
	}
	// Integer literals stay integers, other numbers are floats.
	f(`{"i":1,"neg":-5,"f":1.0,"e":1e3,"frac":0.25,"max":9223372036854775807,"big":12345678901234567890}`,
		map[string]any{"i": int64(1), "neg": int64(-5), "f": 1.0, "e": 1000.0, "frac": 0.25, "max": int64(math.MaxInt64), "big": 12345678901234567890.0})
	// null drops the field; booleans and strings as sent; escapes decoded.
	f(`{"gone":null,"t":true,"no":false,"s":"a\"b\u00e9\n","empty":""}`,
		map[string]any{"t": true, "no": false, "s": "a\"bé\n", "empty": ""})
	// A later duplicate replaces the earlier value; an empty key is dropped.
	f(`{"k":1,"k":"two","":3}`, map[string]any{"k": "two"})
	// Arrays are kept as compact JSON text.
	f(`{"arr":[1, "x", {"y" : null}]}`, map[string]any{"arr": `[1,"x",{"y":null}]`})
	// Invalid UTF-8 becomes U+FFFD, as encoding/json reads it.
	f("{\"bad\":\"a\xffb\"}", map[string]any{"bad": "a\ufffdb"})
	// Strings are cut to 65,535 bytes at a UTF-8 boundary.
	long := strings.Repeat("é", 40000) // 80,000 bytes
	e := one(t, `[{"data":{"long":"`+long+`"}}]`, 0)
	if v, _ := e.Get("long"); len(v.Str) != 65534 || !strings.HasPrefix(long, v.Str) {
		t.Errorf("long string: %d bytes", len(v.Str))
	}
}

func TestExpandJSONDepth(t *testing.T) {
	const data = `{"a":{"b":{"c":{"d":1}},"s":"x"},"top":2,"arr":[{"x":1}],"e":{}}`
	for _, tc := range []struct {
		depth int
		want  map[string]any
	}{
		{0, map[string]any{"a": `{"b":{"c":{"d":1}},"s":"x"}`, "top": int64(2), "arr": `[{"x":1}]`, "e": `{}`}},
		{1, map[string]any{"a.b": `{"c":{"d":1}}`, "a.s": "x", "top": int64(2), "arr": `[{"x":1}]`}},
		{2, map[string]any{"a.b.c": `{"d":1}`, "a.s": "x", "top": int64(2), "arr": `[{"x":1}]`}},
		{10, map[string]any{"a.b.c.d": int64(1), "a.s": "x", "top": int64(2), "arr": `[{"x":1}]`}},
	} {
		for _, format := range []Format{FormatJSON, FormatMsgpack} {
			var body []byte
			if format == FormatJSON {
				body = []byte(`[{"data":` + data + `}]`)
			} else {
				var m map[string]any
				if err := json.Unmarshal([]byte(data), &m); err != nil {
					t.Fatal(err)
				}
				body = mustMsgpack(t, []map[string]any{{"data": m}})
			}
			b, err := DecodeBatch(body, format, opts(tc.depth))
			if err != nil || len(b.Events) != 1 {
				t.Fatalf("depth %d %v: %v %+v", tc.depth, format, err, b.Status)
			}
			got := fields(&b.Events[0])
			if format == FormatMsgpack {
				// msgpack maps carry no order and JSON numbers decode as floats here:
				// compare the JSON values.
				got, tc.want = normalize(t, got), normalize(t, tc.want)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("depth %d %v:\n got %#v\nwant %#v", tc.depth, format, got, tc.want)
			}
		}
	}
}

// normalize parses JSON-text values so that key order does not matter.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range m {
		if s, ok := v.(string); ok && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
			var x any
			if err := json.Unmarshal([]byte(s), &x); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			v = x
		}
		if f, ok := v.(float64); ok && f == math.Trunc(f) {
			v = int64(f)
		}
		out[k] = v
	}
	return out
}

func mustMsgpack(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTimes(t *testing.T) {
	at := time.Date(2016, 1, 14, 8, 15, 30, 0, time.UTC) // 1452759330
	f := func(timeJSON string, want time.Time) {
		t.Helper()
		body := `[{"data":{"x":1}` + timeJSON + `}]`
		e := one(t, body, 0)
		if !e.Time.Equal(want) {
			t.Errorf("%s: time %v, want %v", timeJSON, e.Time, want)
		}
	}
	f(``, now)
	f(`,"time":null`, now)
	f(`,"time":"2016-01-14T08:15:30Z"`, at)
	f(`,"time":"2016-01-14T09:15:30.123456789+01:00"`, at.Add(123456789))
	f(`,"time":1452759330`, at)
	f(`,"time":1452759330927`, at.Add(927*time.Millisecond))
	f(`,"time":1452759330927123`, at.Add(927123*time.Microsecond))
	f(`,"time":1452759330927123456`, at.Add(927123456))
	f(`,"time":1452759330.5`, at.Add(500*time.Millisecond))
	f(`,"time":"1452759330927"`, at.Add(927*time.Millisecond))
	f(`,"time":"1452759330.25"`, at.Add(250*time.Millisecond))
	f(`,"time":"yesterday"`, now)
	f(`,"time":"2026-05-25T12:59:00Z"`, now.Add(59*time.Minute)) // less than an hour ahead: kept
	f(`,"time":"2026-05-25T13:01:00Z"`, now)                     // more: receive time
	f(`,"time":1e300`, now)
}

func TestSampleRates(t *testing.T) {
	f := func(rateJSON string, want int64) {
		t.Helper()
		e := one(t, `[{"data":{"x":1}`+rateJSON+`}]`, 0)
		if e.SampleRate != want {
			t.Errorf("%s: sample rate %d, want %d", rateJSON, e.SampleRate, want)
		}
	}
	f(``, 1)
	f(`,"samplerate":null`, 1)
	f(`,"samplerate":10`, 10)
	f(`,"samplerate":0`, 1)
	f(`,"samplerate":-3`, 1)
	f(`,"samplerate":2.6`, 3)
	f(`,"samplerate":99999999999`, math.MaxInt32)
}

// Honeycomb's hot field names fill Event's members only when the value is
// of their type and reads back as sent; anything else stays an attribute
// of the same name, so the JSON form shows exactly what was sent.
func TestHotFields(t *testing.T) {
	const (
		tid  = "5759e988bd862e3fe1be46a994272793"
		sid  = "53995c3f42cd8ad8"
		pid  = "0123456789abcdef"
		uuid = "7f8c2b8e-6a3e-4a35-9a63-1d2e0d4b5c6a"
	)
	f := func(data string, check func(e *model.Event) string, want map[string]any) {
		t.Helper()
		e := one(t, `[{"data":`+data+`}]`, 0)
		if msg := check(&e); msg != "" {
			t.Errorf("%s: %s", data, msg)
		}
		if got := fields(&e); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", data, got, want)
		}
	}
	// A beeline span: ids, name, service, duration go to the members.
	f(`{"trace.trace_id":"`+tid+`","trace.span_id":"`+sid+`","trace.parent_id":"`+pid+`","name":"GET /","service.name":"api","duration_ms":12,"status_code":200,"error":true}`,
		func(e *model.Event) string {
			if e.TraceID.String() != tid || e.SpanID.String() != sid || e.ParentID.String() != pid || e.Name != "GET /" ||
				e.ServiceName != "api" || e.DurationMs != 12 || e.StatusCode != 200 || !e.Error || !e.IsSpan() || len(e.Attrs) != 0 {
				return fmt.Sprintf("members %+v", *e)
			}
			return ""
		},
		map[string]any{"trace.trace_id": tid, "trace.span_id": sid, "trace.parent_id": pid, "name": "GET /", "service.name": "api",
			"duration_ms": 12.0, "status_code": int64(200), "error": true})
	// A beeline UUID trace id, an upper-case id, an X-Ray id and a zero id
	// are kept as sent.
	for _, id := range []string{uuid, strings.ToUpper(tid), "1-5759e988-bd862e3fe1be46a994272793", strings.Repeat("0", 32), "0000000000000000bd862e3fe1be4679"} {
		f(`{"trace.trace_id":"`+id+`"}`, func(e *model.Event) string {
			if !e.TraceID.IsZero() {
				return "trace id parsed into the member"
			}
			return ""
		}, map[string]any{"trace.trace_id": id})
	}
	f(`{"trace.span_id":"`+uuid+`","trace.parent_id":5}`, func(e *model.Event) string {
		if !e.SpanID.IsZero() || e.IsSpan() {
			return "span id parsed"
		}
		return ""
	}, map[string]any{"trace.span_id": uuid, "trace.parent_id": int64(5)})
	// A plain event (no span id) has no duration_ms or status_code unless
	// sent, and keeps what was sent, zeros and falses included.
	f(`{"endpoint":"/foo"}`, func(e *model.Event) string { return "" }, map[string]any{"endpoint": "/foo"})
	f(`{"duration_ms":0,"status_code":0,"error":false,"name":""}`, func(e *model.Event) string {
		if e.DurationMs != 0 || e.Error {
			return "members set"
		}
		return ""
	}, map[string]any{"duration_ms": int64(0), "status_code": int64(0), "error": false, "name": ""})
	f(`{"duration_ms":32,"status_code":"200","name":7,"service.name":true}`, func(e *model.Event) string { return "" },
		map[string]any{"duration_ms": 32.0, "status_code": "200", "name": int64(7), "service.name": true})
	// type repeats span.kind in OTel's events; another type is kept.
	f(`{"type":"server","span.kind":"server"}`, func(e *model.Event) string {
		if e.SpanKind != "server" {
			return "span kind " + e.SpanKind
		}
		return ""
	}, map[string]any{"span.kind": "server", "type": "server"})
	f(`{"type":"http_request","meta.annotation_type":"span_event","trace.trace_id":"`+tid+`","trace.parent_id":"`+sid+`"}`,
		func(e *model.Event) string {
			if e.AnnotationType != model.AnnotationSpanEvent || e.IsSpan() || e.ParentID.String() != sid {
				return fmt.Sprintf("span event %+v", *e)
			}
			return ""
		}, map[string]any{"type": "http_request", "meta.annotation_type": "span_event", "trace.trace_id": tid, "trace.parent_id": sid})
}

// Every batch element gets a status in order; a bad one loses nothing else.
func TestBatchStatuses(t *testing.T) {
	many := make([]string, 2001)
	for i := range many {
		many[i] = fmt.Sprintf(`"f%d":%d`, i, i)
	}
	huge := `{"data":{"s":"` + strings.Repeat("x", 600_000) + `","t":"` + strings.Repeat("y", 500_000) + `"}}`
	body := `[
		{"data":{"n":1}},
		"not an object",
		{"data":"not an object"},
		{"time":"2016-01-14T08:15:30Z"},
		{"data":{}},
		{"data":{"n":2},"samplerate":"10"},
		{"data":{"n":3},"time":{}},
		{"data":{` + strings.Join(many, ",") + `}},
		` + huge + `,
		{"data":{"n":4, "x":1e999}},
		{"data":null},
		{"data":{"n":5},"unknown":[1,2]}
	]`
	b := batchJSON(t, body, 0)
	want := []Status{
		{Code: 202},
		{Code: 400, Error: MsgMalformed},
		{Code: 400, Error: MsgMalformed},
		{Code: 400, Error: MsgEmpty},
		{Code: 400, Error: MsgEmpty},
		{Code: 400, Error: MsgMalformed},
		{Code: 400, Error: MsgMalformed},
		{Code: 400, Error: MsgTooManyColumns},
		{Code: 400, Error: MsgTooLarge},
		{Code: 400, Error: MsgMalformed},
		{Code: 400, Error: MsgEmpty},
		{Code: 202},
	}
	if len(b.Status) != len(want) {
		t.Fatalf("%d statuses, want %d: %+v", len(b.Status), len(want), b.Status)
	}
	for i := range want {
		if b.Status[i].Code != want[i].Code || b.Status[i].Error != want[i].Error {
			t.Errorf("event %d: %+v, want %+v", i, b.Status[i], want[i])
		}
		if b.Status[i].Code == 400 && b.Status[i].Detail == "" {
			t.Errorf("event %d: no detail for the log", i)
		}
	}
	if len(b.Events) != 2 || b.Rejected() != 10 {
		t.Fatalf("%d events, %d rejected", len(b.Events), b.Rejected())
	}
	for i, n := range []int64{1, 5} {
		if v, _ := b.Events[i].Get("n"); v.Int != n || len(b.Events[i].Attrs) != 1 {
			t.Errorf("event %d: %v", i, fields(&b.Events[i]))
		}
	}
	// 2,000 fields are allowed.
	b = batchJSON(t, `[{"data":{`+strings.Join(many[:2000], ",")+`}}]`, 0)
	if len(b.Events) != 1 || len(b.Events[0].Attrs) != 2000 {
		t.Fatalf("2,000 fields: %+v", b.Status)
	}
}

// A body that cannot be read as a batch is one whole-request error.
func TestBatchErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		format     Format
		msg        string
	}{
		{"empty", ``, FormatJSON, MsgEmpty},
		{"blank", " \n\t", FormatJSON, MsgEmpty},
		{"not JSON", `data=1`, FormatJSON, MsgMalformed},
		{"truncated", `[{"data":{"a":1}},{"data":{"b":`, FormatJSON, MsgMalformed},
		{"an object", `{"data":{"a":1}}`, FormatJSON, MsgMalformed},
		{"a string", `"x"`, FormatJSON, MsgMalformed},
		{"trailing bytes", `[{"data":{"a":1}}] x`, FormatJSON, MsgMalformed},
		{"protobuf", "\x0a\x0b\x12\x09", FormatJSON, MsgMalformed},
		{"msgpack empty", ``, FormatMsgpack, MsgEmpty},
		{"msgpack not an array", string(mustMsgpack(t, map[string]any{"data": map[string]any{"a": 1}})), FormatMsgpack, MsgMalformed},
		{"msgpack truncated", string(mustMsgpack(t, []any{map[string]any{"data": map[string]any{"a": "bcdef"}}})[:12]), FormatMsgpack, MsgMalformed},
		{"msgpack trailing bytes", string(append(mustMsgpack(t, []any{}), 0xc0)), FormatMsgpack, MsgMalformed},
		{"msgpack array claims more", "\xdd\xff\xff\xff\xff\x80", FormatMsgpack, MsgMalformed},
		{"msgpack reserved code", "\x91\x81\xa4data\xc1", FormatMsgpack, MsgMalformed},
		{"msgpack string runs past the end", "\x91\x81\xa4data\x81\xdb\xff\xff\xff\xff", FormatMsgpack, MsgMalformed},
		{"JSON sent as msgpack", `[{"data":{"a":1}}]`, FormatMsgpack, MsgMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatch([]byte(tc.body), tc.format, opts(0))
			e, ok := err.(*Error)
			if !ok || e.Status != 400 || e.Message != tc.msg || e.Detail == "" {
				t.Fatalf("got %+v %v, want 400 %q with a detail", b, err, tc.msg)
			}
		})
	}
	// Past MaxEvents a batch is too large, in either format.
	o := opts(0)
	o.MaxEvents = 3
	four := []map[string]any{{"data": map[string]any{"a": 1}}, {}, {}, {}}
	for format, body := range map[Format][]byte{FormatJSON: []byte(`[{"data":{"a":1}},{},{},{}]`), FormatMsgpack: mustMsgpack(t, four)} {
		if _, err := DecodeBatch(body, format, o); err == nil || err.(*Error).Message != MsgTooLarge {
			t.Errorf("%v: 4 events past a limit of 3: %v", format, err)
		}
		if b, err := DecodeBatch(body, format, Options{Dataset: "ds", Now: now, MaxEvents: 4}); err != nil || len(b.Status) != 4 {
			t.Errorf("%v: 4 events within a limit of 4: %v", format, err)
		}
	}
	// An empty array is an empty answer.
	if b := batchJSON(t, `[]`, 0); len(b.Status) != 0 {
		t.Fatalf("[] → %+v", b.Status)
	}
}

// msgpack as libhoney-go encodes it (transmission.Event.MarshalMsgpack),
// and the value types JSON cannot carry.
func TestMsgpackBatch(t *testing.T) {
	at := time.Date(2026, 5, 25, 11, 30, 0, 123456789, time.UTC)
	evs := []*transmission.Event{
		{Timestamp: at, SampleRate: 10, Data: map[string]any{
			"i8": int8(-3), "u64": uint64(math.MaxUint64), "u32": uint32(7), "f32": float32(0.1), "f64": 2.5, "whole": 2.0,
			"s": "x", "b": []byte("raw"), "t": true, "nil": nil, "when": at,
			"nested": map[string]any{"k": []int{1, 2}}, "list": []any{"a", 1.5, nil, map[string]any{"z": false}},
			"trace.trace_id": "5759e988bd862e3fe1be46a994272793", "trace.span_id": "53995c3f42cd8ad8",
		}},
		{Data: map[string]any{"n": 1}}, // no time, sample rate 1 (omitted)
	}
	var body []byte
	body = append(body, 0x92)
	for _, ev := range evs {
		b, err := ev.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, b...)
	}
	for _, ct := range []string{"application/msgpack", "application/x-msgpack; charset=binary"} {
		b, err := DecodeBatch(body, FormatOf(ct), opts(0))
		if err != nil || len(b.Events) != 2 {
			t.Fatalf("%s: %v %+v", ct, err, b.Status)
		}
		e := b.Events[0]
		if !e.Time.Equal(at) || e.SampleRate != 10 || e.TraceID.String() != "5759e988bd862e3fe1be46a994272793" || !e.IsSpan() {
			t.Errorf("envelope: time %v rate %d trace %v", e.Time, e.SampleRate, e.TraceID)
		}
		want := map[string]any{
			"i8": int64(-3), "u64": float64(math.MaxUint64), "u32": int64(7), "f32": 0.1, "f64": 2.5, "whole": 2.0,
			"s": "x", "b": "raw", "t": true, "when": "2026-05-25T11:30:00.123456789Z",
			"nested": `{"k":[1,2]}`, "list": `["a",1.5,null,{"z":false}]`,
			"trace.trace_id": "5759e988bd862e3fe1be46a994272793", "trace.span_id": "53995c3f42cd8ad8",
			"duration_ms": 0.0, "status_code": int64(0), // a span always has them
		}
		if got := fields(&e); !reflect.DeepEqual(got, want) {
			t.Errorf("fields:\n got %#v\nwant %#v", got, want)
		}
		if e := b.Events[1]; !e.Time.Equal(now) || e.SampleRate != 1 {
			t.Errorf("second event: time %v rate %d", e.Time, e.SampleRate)
		}
	}
}

func TestMsgpackBadEvents(t *testing.T) {
	enc := func(v any) []byte { return mustMsgpack(t, v) }
	ok := enc(map[string]any{"data": map[string]any{"n": 1}})
	elems := [][]byte{
		ok,
		enc("not a map"),
		enc(map[string]any{"data": "not a map"}),
		enc(map[string]any{"data": map[any]any{1: "int key"}}),
		enc(map[string]any{"data": map[string]any{"a": 1}, "samplerate": "10"}),
		enc(map[string]any{"data": map[string]any{"a": 1}, "time": []int{1}}),
		append([]byte("\x81\xa4data\x81\xa1e"), 0xd4, 5, 0), // an unknown extension type in data
		enc(map[string]any{"data": map[string]any{}}),
		enc(map[string]any{"data": nil}),
		ok,
	}
	body := []byte{0x9a}
	for _, e := range elems {
		body = append(body, e...)
	}
	b, err := DecodeBatch(body, FormatMsgpack, opts(0))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", MsgMalformed, MsgMalformed, MsgMalformed, MsgMalformed, MsgMalformed, MsgMalformed, MsgEmpty, MsgEmpty, ""}
	if len(b.Status) != len(want) || len(b.Events) != 2 {
		t.Fatalf("statuses %+v", b.Status)
	}
	for i, msg := range want {
		if b.Status[i].Error != msg {
			t.Errorf("event %d: %+v, want %q", i, b.Status[i], msg)
		}
	}
	// Times: a string, integer epochs, float seconds.
	at := time.Date(2016, 1, 14, 8, 15, 30, 0, time.UTC)
	for _, tv := range []any{"2016-01-14T08:15:30Z", int64(1452759330), int64(1452759330000), 1452759330.0, uint32(1452759330)} {
		b, err := DecodeBatch(enc([]any{map[string]any{"time": tv, "data": map[string]any{"a": 1}}}), FormatMsgpack, opts(0))
		if err != nil || len(b.Events) != 1 || !b.Events[0].Time.Equal(at) {
			t.Errorf("time %#v: %v %+v", tv, err, b)
		}
	}
	// Deep nesting is refused for that event without recursion.
	deep := bytes.Repeat([]byte{0x91}, 200_000) // [[[[…]]]] 200,000 deep
	deep = append(deep, 0x01)
	elem := append([]byte("\x81\xa4data\x81\xa1d"), deep...)
	b, err = DecodeBatch(append([]byte{0x92}, append(elem, ok...)...), FormatMsgpack, opts(0))
	if err != nil || len(b.Status) != 2 || b.Status[0].Error != MsgMalformed || b.Status[1].Code != 202 {
		t.Fatalf("deep: %v %+v", err, b.Status)
	}
}

func TestDecodeEvent(t *testing.T) {
	at := time.Date(2016, 1, 14, 8, 15, 30, 0, time.UTC)
	e, err := DecodeEvent([]byte(`{"method":"GET","duration_ms":32}`), FormatJSON, "2016-01-14T08:15:30Z", "5", opts(0))
	if err != nil || !e.Time.Equal(at) || e.SampleRate != 5 || e.DurationMs != 32 || e.Dataset != "ds" {
		t.Fatalf("%v %+v", err, e)
	}
	e, err = DecodeEvent([]byte(`{"method":"GET"}`), FormatJSON, "", "nope", opts(0))
	if err != nil || !e.Time.Equal(now) || e.SampleRate != 1 {
		t.Fatalf("defaults: %v %+v", err, e)
	}
	e, err = DecodeEvent(mustMsgpack(t, map[string]any{"method": "GET", "n": 3}), FormatMsgpack, "1452759330", "", opts(0))
	if err != nil || !e.Time.Equal(at) || len(e.Attrs) != 2 {
		t.Fatalf("msgpack: %v %+v", err, e)
	}
	many := make([]string, 2001)
	for i := range many {
		many[i] = fmt.Sprintf(`"f%d":1`, i)
	}
	for _, tc := range []struct {
		body   string
		format Format
		msg    string
	}{
		{``, FormatJSON, MsgEmpty},
		{`{}`, FormatJSON, MsgEmpty},
		{`[{"a":1}]`, FormatJSON, MsgMalformed},
		{`{"a":`, FormatJSON, MsgMalformed},
		{`{"a":1e999}`, FormatJSON, MsgMalformed},
		{`{` + strings.Join(many, ",") + `}`, FormatJSON, MsgTooManyColumns},
		{`{"s":"` + strings.Repeat("x", 1_000_000) + `"}`, FormatJSON, MsgTooLarge},
		{string(mustMsgpack(t, []int{1})), FormatMsgpack, MsgMalformed},
		{string(mustMsgpack(t, map[string]any{"a": 1})) + "x", FormatMsgpack, MsgMalformed},
		{"\x82\xa1a\x01", FormatMsgpack, MsgMalformed},
	} {
		_, err := DecodeEvent([]byte(tc.body), tc.format, "", "", opts(0))
		if e, ok := err.(*Error); !ok || e.Status != 400 || e.Message != tc.msg {
			t.Errorf("%.60q: %v, want 400 %q", tc.body, err, tc.msg)
		}
	}
}

// libhoney-go's JSON and msgpack encodings of the same events decode to
// the same events.
func TestJSONAndMsgpackAgree(t *testing.T) {
	at := time.Date(2026, 5, 25, 11, 0, 0, 5000, time.UTC)
	var evs []*transmission.Event
	for i := range 20 {
		evs = append(evs, &transmission.Event{Timestamp: at.Add(time.Duration(i) * time.Second), SampleRate: uint(i%3 + 1), Data: map[string]any{
			"i": i, "f": float64(i) + 0.5, "s": fmt.Sprint("v", i), "b": i%2 == 0, "obj": map[string]any{"x": i},
			"name": "op", "service.name": "svc", "duration_ms": 1.25,
		}})
	}
	js, mp := []byte{'['}, []byte{0xdc, 0, byte(len(evs))}
	for i, ev := range evs {
		j, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			js = append(js, ',')
		}
		js = append(js, j...)
		m, err := ev.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		mp = append(mp, m...)
	}
	js = append(js, ']')
	for _, depth := range []int{0, 1} {
		bj, err := DecodeBatch(js, FormatJSON, opts(depth))
		if err != nil {
			t.Fatal(err)
		}
		bm, err := DecodeBatch(mp, FormatMsgpack, opts(depth))
		if err != nil {
			t.Fatal(err)
		}
		if len(bj.Events) != len(evs) || len(bm.Events) != len(evs) {
			t.Fatalf("depth %d: %d JSON, %d msgpack events", depth, len(bj.Events), len(bm.Events))
		}
		for i := range evs {
			ej, em := bj.Events[i], bm.Events[i]
			if !ej.Time.Equal(em.Time) || ej.SampleRate != em.SampleRate || ej.SampleRate != int64(evs[i].SampleRate) {
				t.Errorf("event %d: JSON %v/%d, msgpack %v/%d", i, ej.Time, ej.SampleRate, em.Time, em.SampleRate)
			}
			if fj, fm := fields(&ej), fields(&em); !reflect.DeepEqual(fj, fm) {
				t.Errorf("event %d depth %d:\n JSON    %#v\n msgpack %#v", i, depth, fj, fm)
			}
		}
	}
}

func TestDatasetName(t *testing.T) {
	f := func(in, want string, ok bool) {
		t.Helper()
		got, bad := DatasetName(in)
		if (bad == "") != ok || (ok && got != want) {
			t.Errorf("DatasetName(%q) = %q, %q", in, got, bad)
		}
	}
	f("my-service", "my-service", true)
	f("My Dataset", "My Dataset", true)
	f("  padded ", "padded", true)
	f("ünïcode 🚀", "ünïcode 🚀", true)
	f(strings.Repeat("é", 255), strings.Repeat("é", 255), true)
	f(strings.Repeat("é", 256), "", false)
	f("", "", false)
	f("   ", "", false)
	f("a/b", "", false)
	f("a\x00b", "", false)
	f("a\nb", "", false)
	f("\xff", "", false)
	f("__all__", "", false)
}
