package xrayfilter

import (
	"reflect"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

// sid makes a span id from a small number.
func sid(n int) model.SpanID { return model.SpanID{6: byte(n >> 8), 7: byte(n)} }

// segment builds a segment document.
func segment(id int, name string, start, end float64, opts ...func(*Segment)) Segment {
	s := Segment{ID: sid(id), Name: name, Start: start, End: end}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// sub builds a subsegment of parent.
func sub(id, parent int, name string, start, end float64, opts ...func(*Segment)) Segment {
	s := segment(id, name, start, end, opts...)
	s.Subsegment = true
	s.ParentID = sid(parent)
	return s
}

func parent(p int) func(*Segment)     { return func(s *Segment) { s.ParentID = sid(p) } }
func origin(o string) func(*Segment)  { return func(s *Segment) { s.Origin = o } }
func account(a string) func(*Segment) { return func(s *Segment) { s.AccountID = a } }
func ns(n string) func(*Segment)      { return func(s *Segment) { s.Namespace = n } }
func table(n string) func(*Segment)   { return func(s *Segment) { s.TableName = n } }
func status(c int) func(*Segment)     { return func(s *Segment) { s.HTTP.Status = c } }
func url(u string) func(*Segment)     { return func(s *Segment) { s.HTTP.URL = u } }
func method(m string) func(*Segment)  { return func(s *Segment) { s.HTTP.Method = m } }
func user(u string) func(*Segment)    { return func(s *Segment) { s.User = u } }
func fault(s *Segment)                { s.Fault = true }
func errorFlag(s *Segment)            { s.Error = true }
func throttle(s *Segment)             { s.Throttle = true; s.Error = true }
func inProgress(s *Segment)           { s.InProgress = true; s.End = 0 }
func sqlFlag(s *Segment)              { s.SQL = true }
func inferredFlag(s *Segment)         { s.Inferred = true }
func ann(k string, v model.Value) func(*Segment) {
	return func(s *Segment) {
		if s.Annotations == nil {
			s.Annotations = map[string]model.Value{}
		}
		s.Annotations[k] = v
	}
}

func trace(segs ...Segment) *Trace { return &Trace{ID: model.TraceID{1}, Segments: segs} }

func mustParse(t testing.TB, src string) *Expr {
	t.Helper()
	e, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return e
}

// clearPos zeroes every Pos field reachable from v, so that ASTs parsed from
// differently laid out sources can be compared.
func clearPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearPos(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if v.Type().Field(i).Name == "Pos" && f.CanSet() {
				f.SetInt(0)
				continue
			}
			clearPos(f)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearPos(v.Index(i))
		}
	}
}

// sameAST reports whether two expressions are equal ignoring positions.
func sameAST(a, b *Expr) bool {
	clearPos(reflect.ValueOf(a))
	clearPos(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}
