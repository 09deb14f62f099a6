package xrayview_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		check     func(d xrayview.Doc) string // "" when right
	}{
		{"fields", `{"name":"a","id":"1","type":"subsegment","namespace":"aws","in_progress":true,"error":true,"traced":false,"user":"u","http":{"x":1},"cause":"e"}`,
			func(d xrayview.Doc) string {
				if string(d.Name) != `"a"` || d.Type != "subsegment" || d.Namespace != "aws" || !d.InProgress || !d.Error ||
					d.Traced == nil || *d.Traced || d.User != "u" || string(d.HTTP) != `{"x":1}` || string(d.Cause) != `"e"` || d.Mistyped {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"keys match exactly, escapes decoded", `{"Name":"a","n\u0061me":"b","ERROR":true}`,
			func(d xrayview.Doc) string {
				if string(d.Name) != `"b"` || d.Error {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"the last duplicate wins", `{"user":"a","user":"b","fault":true,"fault":false}`,
			func(d xrayview.Doc) string {
				if d.User != "b" || d.Fault {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"null is absent", `{"user":null,"http":null,"namespace":null,"error":null,"subsegments":null}`,
			func(d xrayview.Doc) string {
				if d.User != "" || d.HTTP != nil || d.BadNamespace || d.Mistyped {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"a wrong type is absent and mistyped", `{"user":5,"http":[1],"error":"yes","start_time":"1"}`,
			func(d xrayview.Doc) string {
				if d.User != "" || d.HTTP != nil || d.Error || !d.Mistyped || string(d.StartTime) != `"1"` {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"a namespace that is not a string", `{"namespace":1}`,
			func(d xrayview.Doc) string {
				if !d.BadNamespace || !d.Mistyped {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
	} {
		d, err := xrayview.Read([]byte(c.doc))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if msg := c.check(d); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1`} {
		if _, err := xrayview.Read([]byte(bad)); err == nil {
			t.Errorf("Read(%q): want an error", bad)
		}
	}
}

// TestSplit: a document's own part keeps every byte but its subsegments.
func TestSplit(t *testing.T) {
	for _, c := range []struct {
		doc, own string
		children []string
		err      bool
	}{
		{`{"a":1,"subsegments":[{"id":"x"}, {"id":"y"}],"b":2}`, `{"a":1,"b":2}`, []string{`{"id":"x"}`, `{"id":"y"}`}, false},
		{`{"subsegments":[], "a" : 1 }`, `{"a" : 1 }`, nil, false},
		{`{"a":1, "subsegments":null}`, `{"a":1}`, nil, false},
		{`{ "subsegments" : [ ] }`, `{  }`, nil, false},
		{`{"sub\u0073egments":[{}],"z":true}`, `{"z":true}`, []string{`{}`}, false},
		{`{"a":{"subsegments":[{}]}}`, `{"a":{"subsegments":[{}]}}`, nil, false},
		{`{"subsegments":{}}`, `{}`, nil, true},
		{`{"subsegments":[1]}`, `{}`, nil, true},
	} {
		_, own, children, err := xrayview.Split([]byte(c.doc))
		var kids []string
		for _, k := range children {
			kids = append(kids, string(k))
		}
		if string(own) != c.own || fmt.Sprint(kids) != fmt.Sprint(c.children) || (err != nil) != c.err {
			t.Errorf("Split(%s) = %s, %q, %v; want %s, %q, error %v", c.doc, own, kids, err, c.own, c.children, c.err)
		}
	}
	if _, own, _, err := xrayview.Split([]byte(`[1]`)); own != nil || err == nil {
		t.Errorf("Split of an array: own %q, err %v", own, err)
	}
}

func TestMembers(t *testing.T) {
	list := xrayview.Members([]byte(`{"a":1, "b" : {"c":2},"a":"x","\u0064":null}`))
	if got := fmt.Sprintf("%q", list); got != `[{"a" "1"} {"b" "{\"c\":2}"} {"a" "\"x\""} {"d" "null"}]` {
		t.Errorf("Members = %s", got)
	}
	if raw, ok := xrayview.Lookup(list, "a"); !ok || string(raw) != `"x"` {
		t.Errorf("Lookup a = %s, %v; want the last", raw, ok)
	}
	if _, ok := xrayview.Lookup(list, "z"); ok {
		t.Error("Lookup z found something")
	}
	if xrayview.Members([]byte(`[1]`)) != nil || xrayview.Members(nil) != nil {
		t.Error("Members of a non-object")
	}
}

func TestScalar(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want model.Value
		ok   bool
	}{
		{`"s"`, model.Str("s"), true},
		{`"a\u00e9\n"`, model.Str("aé\n"), true},
		{`7`, model.Int(7), true},
		{` -7 `, model.Int(-7), true},
		{`1.0`, model.Float(1), true},
		{`1e3`, model.Float(1000), true},
		{`9223372036854775808`, model.Float(9223372036854775808), true},
		{`true`, model.Bool(true), true},
		{`false`, model.Bool(false), true},
		{`null`, model.Value{}, false},
		{`[1]`, model.Value{}, false},
		{`{}`, model.Value{}, false},
		{`tru`, model.Value{}, false},
		{`1x`, model.Value{}, false},
		{``, model.Value{}, false},
	} {
		got, ok := xrayview.Scalar([]byte(c.raw))
		if got != c.want || ok != c.ok {
			t.Errorf("Scalar(%s) = %+v, %v; want %+v, %v", c.raw, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		raw  string
		want int64
		ok   bool
	}{
		{`200`, 200, true}, {`200.0`, 200, true}, {`"200"`, 200, true}, {`" 200 "`, 200, true},
		{`-1`, -1, true}, {`1.5`, 0, false}, {`"x"`, 0, false}, {`1e300`, 0, false}, {`true`, 0, false},
	} {
		got, ok := xrayview.JSONInt([]byte(c.raw))
		if got != c.want || ok != c.ok {
			t.Errorf("JSONInt(%s) = %v, %v; want %v, %v", c.raw, got, ok, c.want, c.ok)
		}
	}
}

// FuzzSplit: the reader never panics, Split reads what Read reads, and the
// parts of a valid document are valid documents.
func FuzzSplit(f *testing.F) {
	if raw, err := os.ReadFile("testdata/segments.json"); err == nil {
		var docs []json.RawMessage
		_ = json.Unmarshal(raw, &docs)
		for _, d := range docs {
			f.Add([]byte(d))
		}
	}
	f.Add([]byte(`{"subsegments":[{"subsegments":[{}]}, {"a":"\"}"}], "b":[1,{"c":"]"}]}`))
	f.Add([]byte(`{"name":1,"http":{"request":[]},"sql":"x","sub\u0073egments":{}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, rerr := xrayview.Read(doc)
		d, own, children, err := xrayview.Split(doc)
		if (rerr != nil) != (own == nil) {
			t.Fatalf("Read error %v, Split own %q", rerr, own)
		}
		if own == nil {
			return
		}
		if !reflect.DeepEqual(r, d) {
			t.Fatalf("Read %+v\nSplit %+v", r, d)
		}
		if !json.Valid(doc) {
			return
		}
		if !json.Valid(own) {
			t.Fatalf("own document %q of %q is not JSON", own, doc)
		}
		for _, c := range children {
			if !json.Valid(c) || c[0] != '{' {
				t.Fatalf("child %q of %q", c, doc)
			}
		}
		if err == nil && len(children) > 0 && len(own) >= len(doc) {
			t.Fatalf("subsegments were not cut from %q", doc)
		}
	})
}

// FuzzScalar: on valid JSON, the scalar converter agrees with
// encoding/json.
func FuzzScalar(f *testing.F) {
	for _, s := range []string{`"s"`, `"a\u00e9"`, `7`, `-0`, `1.5e-3`, `9223372036854775808`, `true`, `null`, `[1]`, ` 3 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, ok := xrayview.Scalar(raw)
		if !json.Valid(raw) {
			return
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		switch w := want.(type) {
		case string:
			if !ok || v.Kind != model.KindString || v.Str != w {
				t.Fatalf("Scalar(%s) = %+v, %v; want string %q", raw, v, ok, w)
			}
		case bool:
			if !ok || v.Kind != model.KindBool || v.AsBool() != w {
				t.Fatalf("Scalar(%s) = %+v, %v; want %v", raw, v, ok, w)
			}
		case json.Number:
			f, err := w.Float64()
			switch {
			case err != nil:
				if ok {
					t.Fatalf("Scalar(%s) = %+v, a number out of range", raw, v)
				}
			case !ok:
				t.Fatalf("Scalar(%s) failed", raw)
			case v.Kind == model.KindInt:
				if n, err := w.Int64(); err != nil || n != v.Int || strings.ContainsAny(string(w), ".eE") {
					t.Fatalf("Scalar(%s) = integer %d", raw, v.Int)
				}
			case v.Kind == model.KindFloat:
				if v.Flt != f && !(math.IsNaN(v.Flt) && math.IsNaN(f)) {
					t.Fatalf("Scalar(%s) = %v, want %v", raw, v.Flt, f)
				}
			default:
				t.Fatalf("Scalar(%s) = %+v", raw, v)
			}
		default:
			if ok {
				t.Fatalf("Scalar(%s) = %+v for %T", raw, v, want)
			}
		}
	})
}

// FuzzConvert: any document the decoder accepts converts to entities
// without a panic, the graph view of its spans (from their attributes)
// agrees with the full view (from their documents), and the trace's
// documents are JSON.
func FuzzConvert(f *testing.F) {
	if raw, err := os.ReadFile("testdata/segments.json"); err == nil {
		var docs []json.RawMessage
		_ = json.Unmarshal(raw, &docs)
		for _, d := range docs {
			f.Add([]byte(d))
		}
	}
	f.Add([]byte(`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"1000000000000001","name":"a","start_time":2,"end_time":1,"in_progress":true,` +
		`"sql":{},"annotations":{"db.system":"x","aws.xray.namespace":"aws"},"aws":{"xray.fault":true,"table_name":["t"]},"http":{"response":{"status":99999999999}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		evs, err := xrayingest.Decode(doc)
		if err != nil {
			return
		}
		id := evs[0].TraceID
		full := xrayview.Convert(id, evs, xrayview.Full)
		quick := xrayview.Convert(id, evs, xrayview.GraphOnly)
		if len(full.Trace.Segments) != len(quick.Trace.Segments) || len(full.Entities) != len(full.Trace.Segments) {
			t.Fatalf("%d full, %d graph segments, %d entities", len(full.Trace.Segments), len(quick.Trace.Segments), len(full.Entities))
		}
		for i := range full.Trace.Segments {
			fs, q := full.Trace.Segments[i], quick.Trace.Segments[i]
			want := xrayview.Segment{ID: fs.ID, ParentID: fs.ParentID, Subsegment: fs.Subsegment, Inferred: fs.Inferred, Namespace: fs.Namespace,
				SQL: fs.SQL, TableName: fs.TableName, Name: fs.Name, InProgress: fs.InProgress,
				Error: fs.Error, Fault: fs.Fault, Throttle: fs.Throttle, HTTP: xrayview.HTTP{Status: fs.HTTP.Status}}
			if !fs.Subsegment {
				want.Origin, want.AccountID = fs.Origin, fs.AccountID
			}
			if math.Abs(q.Start-fs.Start) > 2e-6*max(1, math.Abs(fs.Start)/1e9) || math.Abs(q.End-fs.End) > 2e-6*max(1, math.Abs(fs.End)/1e9) {
				t.Fatalf("%s: times %v..%v, want %v..%v", fs.ID, q.Start, q.End, fs.Start, fs.End)
			}
			q.Start, q.End = 0, 0
			if g, w := fmt.Sprintf("%+v", q), fmt.Sprintf("%+v", want); g != w {
				t.Fatalf("graph view\n got %s\nwant %s", g, w)
			}
		}
		g := xrayview.BuildGraph(full.Trace.Segments)
		for _, d := range full.Documents(&g) {
			if !json.Valid(d.Doc) {
				t.Fatalf("document %s: %q", d.ID, d.Doc)
			}
		}
	})
}
