package xrayview_test

import (
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// xspan is an X-Ray span with a document, in progress or complete.
func xspan(t testing.TB, trace byte, id, doc string, inProgress bool) model.Event {
	t.Helper()
	sid, err := model.ParseSpanID(id)
	if err != nil {
		t.Fatal(err)
	}
	e := model.Event{Source: model.SourceXRay, TraceID: model.TraceID{trace}, SpanID: sid, Doc: []byte(doc)}
	if inProgress {
		e.Attrs = []model.Attr{{Key: xrayview.KeyInProgress, Value: model.Bool(true)}}
	}
	return e
}

func TestPrefer(t *testing.T) {
	open := xspan(t, 1, "0000000000000001", "open", true)
	done := xspan(t, 1, "0000000000000001", "done", false)
	otel := done
	otel.Source = model.SourceOTLP
	otel.Attrs = open.Attrs // an OTel span is never an in-progress segment
	for _, c := range []struct {
		name             string
		stored, incoming model.Event
		want             bool
	}{
		{"complete replaces in progress", open, done, true},
		{"in progress never replaces complete", done, open, false},
		{"the later of two complete", done, done, true},
		{"the later of two in progress", open, open, true},
		{"OTel spans: the later", otel, otel, true},
		{"an OTel span is complete", otel, open, false},
	} {
		if got := xrayview.Prefer(&c.stored, &c.incoming); got != c.want {
			t.Errorf("%s: Prefer = %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		e    model.Event
		want bool
	}{
		{open, true}, {done, false}, {otel, false},
		{model.Event{Source: model.SourceXRay, Attrs: []model.Attr{{Key: xrayview.KeyInProgress, Value: model.Str("true")}}}, false},
	} {
		if got := xrayview.InProgress(&c.e); got != c.want {
			t.Errorf("InProgress(%+v) = %v, want %v", c.e, got, c.want)
		}
	}
}

func TestDedupe(t *testing.T) {
	ev := func(id, doc string, inProgress bool) model.Event { return xspan(t, 1, id, doc, inProgress) }
	otel := func(id, doc string) model.Event {
		e := ev(id, doc, false)
		e.Source = model.SourceOTLP
		return e
	}
	tests := []struct {
		name string
		in   []model.Event
		want []string // Docs in order
	}{
		{"empty", nil, nil},
		{"one", []model.Event{ev("0000000000000001", "a", false)}, []string{"a"}},
		{"distinct", []model.Event{ev("0000000000000001", "a", false), ev("0000000000000002", "b", false)}, []string{"a", "b"}},
		{"exact duplicate", []model.Event{ev("0000000000000001", "a", false), ev("0000000000000002", "b", false), ev("0000000000000001", "a", false)}, []string{"a", "b"}},
		{"in progress then complete", []model.Event{ev("0000000000000001", "open", true), ev("0000000000000002", "b", false), ev("0000000000000001", "done", false)}, []string{"done", "b"}},
		{"complete then late in progress", []model.Event{ev("0000000000000001", "done", false), ev("0000000000000001", "open", true)}, []string{"done"}},
		{"two in progress", []model.Event{ev("0000000000000001", "open1", true), ev("0000000000000001", "open2", true)}, []string{"open2"}},
		{"two complete", []model.Event{ev("0000000000000001", "done1", false), ev("0000000000000001", "done2", false), ev("0000000000000001", "open", true)}, []string{"done2"}},
		{"same span id, other trace", []model.Event{ev("0000000000000001", "a", false), xspan(t, 2, "0000000000000001", "c", false)}, []string{"a", "c"}},
		{"OTel spans are kept as they are", []model.Event{otel("0000000000000001", "o1"), ev("0000000000000001", "x", false), otel("0000000000000001", "o2")}, []string{"o1", "x", "o2"}},
		{"span events are kept", []model.Event{{Source: model.SourceXRay, Doc: []byte("e1")}, {Source: model.SourceXRay, Doc: []byte("e2")}}, []string{"e1", "e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]model.Event(nil), tt.in...)
			out := xrayview.Dedupe(in)
			var got []string
			for _, e := range out {
				got = append(got, string(e.Doc))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, e := range in[len(out):] {
				if e.Doc != nil {
					t.Errorf("the rest of the slice is not cleared: %q", e.Doc)
				}
			}
		})
	}
}
