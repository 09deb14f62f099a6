// Package storetest is the conformance suite every store.Store passes:
// round trips of every field and value kind, traces by id, environment
// isolation, each door's events apart (store.DoorEnv, store.DoorView),
// datasets and columns, duplicate and X-Ray replacement rules,
// scans with every filter operator, large traces, concurrent writers, the
// column limit, deleting datasets and columns, retention settings, health
// and Close; and selecting traces by their events (traces.go). A store's own test calls RunAll with a function that opens a fresh,
// empty store for each subtest.
//
// Stores need not keep the order of an event's Attrs; the suite compares
// attributes as sets.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// RunAll runs the whole suite. open returns a new empty store and arranges
// for it to be closed when the test ends.
func RunAll(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"TypeConflicts", testTypeConflicts},
		{"TraceAcrossDatasets", testTraceAcrossDatasets},
		{"UnknownTrace", testUnknownTrace},
		{"EnvironmentIsolation", testEnvironmentIsolation},
		{"Doors", testDoors},
		{"Datasets", testDatasets},
		{"Columns", testColumns},
		{"DuplicatesKept", testDuplicatesKept},
		{"XRayReplace", testXRayReplace},
		{"ScanFilters", testScanFilters},
		{"ScanQuery", testScanQuery},
		{"ScanStopEarly", testScanStopEarly},
		{"DocBytes", testDocBytes},
		{"LargeTrace", testLargeTrace},
		{"WriteAtomic", testWriteAtomic},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ColumnLimit", testColumnLimit},
		{"DeleteDataset", testDeleteDataset},
		{"DeleteColumn", testDeleteColumn},
		{"RetentionSettings", testRetentionSettings},
		{"Healthy", testHealthy},
	}
	tests = append(tests, traceTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
	t.Run("CloseTwice", func(t *testing.T) {
		s := open(t)
		write(t, s, "test", span("svc", tid(1), sid(1), model.SpanID{}, base, "root"))
		if err := s.Close(); err != nil {
			t.Fatalf("first Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// base is the time of the suite's events: nanosecond precision on purpose.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

func tid(n uint64) model.TraceID {
	var t model.TraceID
	for i := range 8 {
		t[i] = byte(0xa0 + n>>(8*(7-i))&0x0f)
		t[8+i] = byte(n >> (8 * (7 - i)))
	}
	return t
}

func sid(n uint64) model.SpanID {
	var s model.SpanID
	for i := range 8 {
		s[i] = byte(n >> (8 * (7 - i)))
	}
	s[0] |= 0x80
	return s
}

func span(dataset string, trace model.TraceID, id, parent model.SpanID, at time.Time, name string, attrs ...model.Attr) model.Event {
	return model.Event{
		Dataset: dataset, Time: at, Source: model.SourceOTLP,
		TraceID: trace, SpanID: id, ParentID: parent,
		Name: name, ServiceName: dataset, DurationMs: 12.5, SpanKind: "server",
		SampleRate: 1, Attrs: attrs,
	}
}

func a(key string, v model.Value) model.Attr { return model.Attr{Key: key, Value: v} }

func write(t *testing.T, s store.Store, env string, events ...model.Event) {
	t.Helper()
	if err := s.Write(context.Background(), []store.Batch{{Env: env, Events: events}}); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func trace(t *testing.T, s store.Store, env string, id model.TraceID) []model.Event {
	t.Helper()
	got, err := s.Trace(context.Background(), env, id)
	if err != nil {
		t.Fatalf("Trace(%s, %s): %v", env, id, err)
	}
	return got
}

func scan(t *testing.T, s store.Store, env string, q store.ScanQuery) []model.Event {
	t.Helper()
	var out []model.Event
	for ev, err := range s.Scan(context.Background(), env, q) {
		if err != nil {
			t.Fatalf("Scan(%+v): %v", q, err)
		}
		out = append(out, ev)
	}
	return out
}

// norm makes an event comparable: attributes sorted, times in UTC, empty
// docs nil.
func norm(e model.Event) model.Event {
	e.Time = e.Time.UTC()
	e.Attrs = slices.Clone(e.Attrs)
	sort.SliceStable(e.Attrs, func(i, j int) bool {
		if e.Attrs[i].Key != e.Attrs[j].Key {
			return e.Attrs[i].Key < e.Attrs[j].Key
		}
		return e.Attrs[i].Value.Kind < e.Attrs[j].Value.Kind
	})
	if len(e.Attrs) == 0 {
		e.Attrs = nil
	}
	if len(e.Doc) == 0 {
		e.Doc = nil
	}
	return e
}

func sameEvent(got, want model.Event) bool {
	g, w := norm(got), norm(want)
	if !g.Time.Equal(w.Time) {
		return false
	}
	g.Time, w.Time = time.Time{}, time.Time{}
	return reflect.DeepEqual(g, w)
}

func assertEvents(t *testing.T, got, want []model.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d\ngot:  %s\nwant: %s", len(got), len(want), names(got), names(want))
	}
	for i := range got {
		if !sameEvent(got[i], want[i]) {
			t.Fatalf("event %d differs\ngot:  %s\nwant: %s", i, show(got[i]), show(want[i]))
		}
	}
}

// show formats an event for a failure message, eliding long values.
func show(e model.Event) string {
	e = norm(e)
	for i := range e.Attrs {
		if v := &e.Attrs[i].Value; len(v.Str) > 80 {
			v.Str = fmt.Sprintf("%s…(%d bytes)", v.Str[:40], len(v.Str))
		}
	}
	if len(e.Doc) > 80 {
		e.Doc = append(e.Doc[:40:40], "…"...)
	}
	return fmt.Sprintf("%+v", e)
}

func names(evs []model.Event) string {
	var ns []string
	for _, e := range evs {
		ns = append(ns, e.Name)
	}
	return strings.Join(ns, ",")
}

func testRoundTrip(t *testing.T, s store.Store) {
	big := strings.Repeat("héllo wörld 🚀 ", 8000) // > 100 KiB
	root := model.Event{
		Dataset: "frontend", Time: base, Source: model.SourceOTLP,
		TraceID: tid(7), SpanID: sid(1),
		Name: "GET /api/ünïcode 🚀", ServiceName: "frontend", DurationMs: 1234.5678,
		SpanKind: "server", StatusCode: 2, Error: true, SampleRate: 20,
		Attrs: []model.Attr{
			a("http.method", model.Str("GET")),
			a("empty", model.Str("")),
			a("unicode", model.Str("日本語 текст ✓ \x00 nul")),
			a("quote\"key'; DROP TABLE x; --", model.Str("it's \"quoted\"")),
			a("big", model.Str(big)),
			a("http.status_code", model.Int(500)),
			a("int.max", model.Int(math.MaxInt64)),
			a("int.min", model.Int(math.MinInt64)),
			a("int.zero", model.Int(0)),
			a("float.pi", model.Float(3.141592653589793)),
			a("float.big", model.Float(1e300)),
			a("float.tiny", model.Float(5e-324)),
			a("float.neg", model.Float(-2.5)),
			a("float.inf", model.Float(math.Inf(1))),
			a("bool.t", model.Bool(true)),
			a("bool.f", model.Bool(false)),
		},
	}
	child := model.Event{
		Dataset: "frontend", Time: base.Add(time.Millisecond + 1), Source: model.SourceOTLP,
		TraceID: tid(7), SpanID: sid(2), ParentID: sid(1),
		Name: "db.query", ServiceName: "frontend", DurationMs: 0.001, SpanKind: "client",
		StatusCode: 1, SampleRate: 1,
		Attrs: []model.Attr{a("db.system", model.Str("postgresql"))},
	}
	spanEvent := model.Event{
		Dataset: "frontend", Time: base.Add(2 * time.Millisecond), Source: model.SourceOTLP,
		TraceID: tid(7), ParentID: sid(2), Name: "exception", ServiceName: "frontend",
		AnnotationType: model.AnnotationSpanEvent, SampleRate: 1,
		Attrs: []model.Attr{a("exception.message", model.Str("boom"))},
	}
	link := model.Event{
		Dataset: "frontend", Time: base.Add(3 * time.Millisecond), Source: model.SourceOTLP,
		TraceID: tid(7), ParentID: sid(2), AnnotationType: model.AnnotationLink, SampleRate: 1,
		Attrs: []model.Attr{a("trace.link.trace_id", model.Str(tid(8).String()))},
	}
	seg := model.Event{
		Dataset: "xray-svc", Time: base.Add(4 * time.Millisecond), Source: model.SourceXRay,
		TraceID: tid(7), SpanID: sid(3), ParentID: sid(1), Name: "xray-svc", ServiceName: "xray-svc",
		DurationMs: 7, SpanKind: "server", SampleRate: 1,
		Doc: []byte(`{"name":"xray-svc","id":"8000000000000003"}`),
	}
	ev := model.Event{
		Dataset: "events", Time: base.Add(5 * time.Millisecond), Source: model.SourceEvents,
		TraceID: tid(7), Name: "plain event", SampleRate: 3,
		Attrs: []model.Attr{a("customer", model.Str("acme"))},
	}
	want := []model.Event{root, child, spanEvent, link, seg, ev}
	// Written out of order and in two calls: Trace orders by time.
	write(t, s, "test", ev, link, root)
	write(t, s, "test", child, seg, spanEvent)
	assertEvents(t, trace(t, s, "test", tid(7)), want)

	// Returned events belong to the caller.
	got := trace(t, s, "test", tid(7))
	got[0].Attrs[0].Value = model.Str("changed")
	got[4].Doc[0] = 'X'
	assertEvents(t, trace(t, s, "test", tid(7)), want)
}

func testTypeConflicts(t *testing.T, s store.Store) {
	e1 := span("svc", tid(1), sid(1), model.SpanID{}, base, "int", a("http.status", model.Int(500)))
	e2 := span("svc", tid(1), sid(2), sid(1), base.Add(time.Second), "string", a("http.status", model.Str("500 Internal")))
	e3 := span("svc", tid(1), sid(3), sid(1), base.Add(2*time.Second), "bool", a("http.status", model.Bool(true)))
	e4 := span("svc", tid(1), sid(4), sid(1), base.Add(3*time.Second), "float", a("http.status", model.Float(1.5)))
	// A hot field with the wrong type is an ordinary attribute.
	e5 := span("svc", tid(1), sid(5), sid(1), base.Add(4*time.Second), "hot-as-attr", a("status_code", model.Str("OK")))
	// A key written as a string first and as an integer later.
	e6 := span("svc", tid(1), sid(6), sid(1), base.Add(5*time.Second), "str-first", a("retries", model.Str("none")))
	e7 := span("svc", tid(1), sid(7), sid(1), base.Add(6*time.Second), "int-later", a("retries", model.Int(3)))
	// The first type seen is the column's type, except that numbers widen:
	// a key written as integers and as floats is a float column.
	write(t, s, "test", e1, e6)
	write(t, s, "test", e2, e3, e4, e5, e7)
	assertEvents(t, trace(t, s, "test", tid(1)), []model.Event{e1, e2, e3, e4, e5, e6, e7})
	cols, err := s.Columns(context.Background(), "test", "svc")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]model.Kind{"http.status": model.KindFloat, "retries": model.KindString}
	seen := map[string]int{}
	for _, c := range cols {
		if w, ok := want[c.KeyName]; ok {
			seen[c.KeyName]++
			if c.Type != w {
				t.Errorf("%s type %v, want %v", c.KeyName, c.Type, w)
			}
		}
	}
	for k := range want {
		if seen[k] != 1 {
			t.Errorf("%s listed %d times, want once", k, seen[k])
		}
	}
}

func testTraceAcrossDatasets(t *testing.T, s store.Store) {
	var want []model.Event
	var batches []store.Batch
	for i, ds := range []string{"frontend", "backend", "db", "frontend"} {
		e := span(ds, tid(42), sid(uint64(i+1)), sid(uint64(i)), base.Add(time.Duration(10-i)*time.Second), fmt.Sprintf("s%d", i))
		want = append([]model.Event{e}, want...)
		batches = append(batches, store.Batch{Env: "test", Events: []model.Event{e}})
	}
	// Noise: other traces in the same datasets, one sharing the low half.
	noise := span("frontend", tid(43), sid(9), model.SpanID{}, base.Add(5*time.Second), "other")
	half := tid(42)
	half[0] ^= 0xff
	noise2 := span("backend", half, sid(10), model.SpanID{}, base.Add(6*time.Second), "half")
	batches = append(batches, store.Batch{Env: "test", Events: []model.Event{noise, noise2}})
	if err := s.Write(context.Background(), batches); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, trace(t, s, "test", tid(42)), want)
	assertEvents(t, trace(t, s, "test", half), []model.Event{noise2})
}

func testUnknownTrace(t *testing.T, s store.Store) {
	if got := trace(t, s, "test", tid(1)); len(got) != 0 {
		t.Fatalf("empty store: got %d events", len(got))
	}
	write(t, s, "test", span("svc", tid(1), sid(1), model.SpanID{}, base, "root"))
	if got := trace(t, s, "test", tid(2)); len(got) != 0 {
		t.Fatalf("unknown trace: got %d events", len(got))
	}
	if got := trace(t, s, "nope", tid(1)); len(got) != 0 {
		t.Fatalf("unknown environment: got %d events", len(got))
	}
	if got := scan(t, s, "nope", store.ScanQuery{}); len(got) != 0 {
		t.Fatalf("scan of unknown environment: got %d events", len(got))
	}
}

func testEnvironmentIsolation(t *testing.T, s store.Store) {
	ea := span("shop", tid(5), sid(1), model.SpanID{}, base, "in-a", a("only.a", model.Str("x")))
	eb := span("Shop", tid(5), sid(1), model.SpanID{}, base.Add(time.Second), "in-b", a("only.b", model.Int(1)))
	eb2 := span("billing", tid(6), sid(2), model.SpanID{}, base, "b-only")
	// One Write may carry several environments.
	err := s.Write(context.Background(), []store.Batch{
		{Env: "a", Events: []model.Event{ea}},
		{Env: "b", Events: []model.Event{eb, eb2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, trace(t, s, "a", tid(5)), []model.Event{ea})
	assertEvents(t, trace(t, s, "b", tid(5)), []model.Event{eb})
	if got := trace(t, s, "a", tid(6)); len(got) != 0 {
		t.Fatalf("env a sees env b's trace")
	}
	dsA, _ := s.Datasets(context.Background(), "a")
	dsB, _ := s.Datasets(context.Background(), "b")
	if len(dsA) != 1 || dsA[0].Name != "shop" {
		t.Errorf("datasets of a: %+v", dsA)
	}
	if len(dsB) != 2 || dsB[0].Name != "Shop" || dsB[1].Name != "billing" {
		t.Errorf("datasets of b: %+v (a dataset's first casing is per environment)", dsB)
	}
	colsA, _ := s.Columns(context.Background(), "a", "")
	colsB, _ := s.Columns(context.Background(), "b", "")
	if hasColumn(colsA, "only.b") || !hasColumn(colsA, "only.a") {
		t.Errorf("columns of a: %v", colsA)
	}
	if hasColumn(colsB, "only.a") || !hasColumn(colsB, "only.b") {
		t.Errorf("columns of b: %v", colsB)
	}
	if _, err := s.Columns(context.Background(), "a", "billing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Columns of b's dataset in a: err %v, want ErrNotFound", err)
	}
	got := scan(t, s, "a", store.ScanQuery{Filters: []store.Filter{{Column: "only.b", Op: store.OpExists}}})
	if len(got) != 0 {
		t.Errorf("scan in a matched b's column: %s", names(got))
	}
	assertEvents(t, scan(t, s, "a", store.ScanQuery{}), []model.Event{ea})
}

func hasColumn(cols []store.Column, key string) bool {
	for _, c := range cols {
		if c.KeyName == key {
			return true
		}
	}
	return false
}

func testDatasets(t *testing.T, s store.Store) {
	ctx := context.Background()
	if ds, err := s.Datasets(ctx, "test"); err != nil || len(ds) != 0 {
		t.Fatalf("empty store: %v, %v", ds, err)
	}
	before := time.Now().Truncate(time.Millisecond)
	write(t, s, "test",
		span("Frontend", tid(1), sid(1), model.SpanID{}, base, "a"),
		span("My Service.v2", tid(1), sid(2), sid(1), base, "b"),
	)
	after := time.Now()
	time.Sleep(20 * time.Millisecond)
	before2 := time.Now().Truncate(time.Millisecond)
	write(t, s, "test", span("FRONTEND", tid(2), sid(3), model.SpanID{}, base, "c"))
	after2 := time.Now()

	ds, err := s.Datasets(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("datasets: %+v", ds)
	}
	fe, my := ds[0], ds[1]
	if fe.Name != "Frontend" || fe.Slug != "frontend" || my.Name != "My Service.v2" || my.Slug != "my-service-v2" {
		t.Errorf("names/slugs: %+v", ds)
	}
	if fe.CreatedAt.Before(before) || fe.CreatedAt.After(after) {
		t.Errorf("Frontend created %v, want in [%v, %v]", fe.CreatedAt, before, after)
	}
	if fe.LastWrittenAt.Before(before2) || fe.LastWrittenAt.After(after2) {
		t.Errorf("Frontend last written %v, want in [%v, %v]", fe.LastWrittenAt, before2, after2)
	}
	if my.LastWrittenAt.After(after) {
		t.Errorf("My Service.v2 last written %v after its only write", my.LastWrittenAt)
	}
	cols, err := s.Columns(ctx, "test", "frontend")
	if err != nil {
		t.Fatal(err)
	}
	if fe.Columns != len(cols) || fe.Columns == 0 {
		t.Errorf("Dataset.Columns %d, Columns() lists %d", fe.Columns, len(cols))
	}
	// Events carry the dataset's first-seen name.
	for _, e := range trace(t, s, "test", tid(2)) {
		if e.Dataset != "Frontend" {
			t.Errorf("event dataset %q, want Frontend", e.Dataset)
		}
	}
	// Any casing of the name selects it.
	got := scan(t, s, "test", store.ScanQuery{Datasets: []string{"fRoNtEnD"}})
	if len(got) != 2 {
		t.Errorf("scan of dataset fRoNtEnD: %d events, want 2", len(got))
	}
}

func testColumns(t *testing.T, s store.Store) {
	ctx := context.Background()
	before := time.Now().Truncate(time.Millisecond)
	write(t, s, "test",
		span("api", tid(1), sid(1), model.SpanID{}, base, "root",
			a("s", model.Str("x")), a("i", model.Int(1)), a("f", model.Float(1.5)), a("b", model.Bool(true))),
		model.Event{Dataset: "worker", Time: base, TraceID: tid(1), ParentID: sid(1),
			AnnotationType: model.AnnotationSpanEvent, Name: "ev", SampleRate: 1, Attrs: []model.Attr{a("w", model.Str("y"))}},
	)
	after := time.Now()
	time.Sleep(20 * time.Millisecond)
	before2 := time.Now().Truncate(time.Millisecond)
	write(t, s, "test", span("api", tid(2), sid(2), model.SpanID{}, base, "root2", a("i", model.Int(2))))

	cols, err := s.Columns(ctx, "test", "api")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]model.Kind{
		"s": model.KindString, "i": model.KindInt, "f": model.KindFloat, "b": model.KindBool,
		model.FieldTraceID: model.KindString, model.FieldSpanID: model.KindString,
		model.FieldName: model.KindString, model.FieldServiceName: model.KindString,
		model.FieldDurationMs: model.KindFloat, model.FieldSpanKind: model.KindString,
		model.FieldStatusCode: model.KindInt,
	}
	got := map[string]store.Column{}
	for i, c := range cols {
		if i > 0 && cols[i-1].KeyName >= c.KeyName {
			t.Errorf("columns not ordered by key: %q before %q", cols[i-1].KeyName, c.KeyName)
		}
		got[c.KeyName] = c
	}
	for k, kind := range want {
		c, ok := got[k]
		if !ok {
			t.Errorf("column %q missing from %v", k, cols)
			continue
		}
		if c.Type != kind {
			t.Errorf("column %q type %v, want %v", k, c.Type, kind)
		}
		if c.CreatedAt.Before(before) || c.CreatedAt.After(after) {
			t.Errorf("column %q created %v, want in [%v, %v]", k, c.CreatedAt, before, after)
		}
	}
	for _, k := range []string{"w", model.FieldAnnotationType, model.FieldParentID, model.FieldError} {
		if _, ok := got[k]; ok {
			t.Errorf("column %q listed for api, which never had it", k)
		}
	}
	if c := got["i"]; c.LastWritten.Before(before2) {
		t.Errorf("i last written %v, want ≥ %v", c.LastWritten, before2)
	}
	if c := got["s"]; c.LastWritten.After(after) {
		t.Errorf("s last written %v, after its only write", c.LastWritten)
	}
	all, err := s.Columns(ctx, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if !hasColumn(all, "w") || !hasColumn(all, "s") || !hasColumn(all, model.FieldAnnotationType) {
		t.Errorf("union columns: %v", all)
	}
	if _, err := s.Columns(ctx, "test", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown dataset: err %v, want ErrNotFound", err)
	}
	if _, err := s.Columns(ctx, "other-env", "api"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dataset of another environment: err %v, want ErrNotFound", err)
	}
}

func testDuplicatesKept(t *testing.T, s store.Store) {
	e := span("svc", tid(1), sid(1), model.SpanID{}, base, "dup")
	write(t, s, "test", e)
	write(t, s, "test", e)
	h := e
	h.Source = model.SourceEvents
	write(t, s, "test", h, h)
	assertEvents(t, trace(t, s, "test", tid(1)), []model.Event{e, e, h, h})
}

func testXRayReplace(t *testing.T, s store.Store) {
	inProgress := model.Event{
		Dataset: "xsvc", Time: base, Source: model.SourceXRay, TraceID: tid(9), SpanID: sid(1),
		Name: "xsvc", ServiceName: "xsvc", SampleRate: 1,
		Attrs: []model.Attr{a(xrayview.KeyInProgress, model.Bool(true))},
		Doc:   []byte(`{"in_progress":true}`),
	}
	complete := inProgress
	complete.DurationMs = 250
	complete.Attrs = []model.Attr{a("http.status", model.Int(200))}
	complete.Doc = []byte(`{"end_time":1}`)
	sub := model.Event{
		Dataset: "xsvc", Time: base.Add(time.Millisecond), Source: model.SourceXRay, TraceID: tid(9),
		SpanID: sid(2), ParentID: sid(1), Name: "sub", ServiceName: "xsvc", SampleRate: 1,
	}
	otlp := span("xsvc", tid(9), sid(1), model.SpanID{}, base.Add(2*time.Millisecond), "otlp-same-ids")
	write(t, s, "test", inProgress, sub, otlp)
	// The same segment in another environment is a different segment.
	write(t, s, "other", inProgress)
	write(t, s, "test", complete)
	assertEvents(t, trace(t, s, "test", tid(9)), []model.Event{complete, sub, otlp})
	assertEvents(t, trace(t, s, "other", tid(9)), []model.Event{inProgress})

	// Twice in one batch: the last wins.
	sub2 := sub
	sub2.Name = "sub-final"
	write(t, s, "test", sub, sub2)
	assertEvents(t, trace(t, s, "test", tid(9)), []model.Event{complete, sub2, otlp})
	// Across batches of one Write, too.
	sub3 := sub
	sub3.Name = "sub-3"
	err := s.Write(context.Background(), []store.Batch{{Env: "test", Events: []model.Event{sub}}, {Env: "test", Events: []model.Event{sub3}}})
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, trace(t, s, "test", tid(9)), []model.Event{complete, sub3, otlp})

	// X-Ray's duplicate rule (xrayview.Prefer): an in-progress form never
	// replaces a complete one, stored, in the same batch or in another
	// batch of the same Write; a later in-progress form replaces an
	// earlier one.
	write(t, s, "test", inProgress)
	assertEvents(t, trace(t, s, "test", tid(9)), []model.Event{complete, sub3, otlp})
	complete2 := complete
	complete2.DurationMs = 300
	write(t, s, "test", complete2, inProgress)
	assertEvents(t, trace(t, s, "test", tid(9)), []model.Event{complete2, sub3, otlp})
	err = s.Write(context.Background(), []store.Batch{{Env: "test", Events: []model.Event{complete}}, {Env: "test", Events: []model.Event{inProgress}}})
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, trace(t, s, "test", tid(9)), []model.Event{complete, sub3, otlp})
	inProgress2 := inProgress
	inProgress2.Name = "xsvc-later"
	write(t, s, "other", inProgress2)
	assertEvents(t, trace(t, s, "other", tid(9)), []model.Event{inProgress2})
}

// manyTraceIDs returns n trace ids from tid(from) on.
func manyTraceIDs(n int, from uint64) []model.TraceID {
	out := make([]model.TraceID, n)
	for i := range out {
		out[i] = tid(from + uint64(i))
	}
	return out
}

// filterFixture is a small table of events with known fields; names are
// unique so scans can be compared by name.
func filterFixture() []model.Event {
	mk := func(n int, name string, attrs ...model.Attr) model.Event {
		e := span("api", tid(uint64(100+n)), sid(uint64(n+1)), model.SpanID{}, base.Add(time.Duration(n)*time.Second), name, attrs...)
		e.DurationMs = float64(n * 10)
		return e
	}
	evs := []model.Event{
		mk(0, "e0", a("http.method", model.Str("GET")), a("code", model.Int(200)), a("ratio", model.Float(0.5)), a("cached", model.Bool(true)), a("path", model.Str("/api/users"))),
		mk(1, "e1", a("http.method", model.Str("POST")), a("code", model.Int(500)), a("ratio", model.Float(1.5)), a("cached", model.Bool(false)), a("path", model.Str("/api/orders"))),
		mk(2, "e2", a("http.method", model.Str("get")), a("code", model.Int(404)), a("path", model.Str("/health"))),
		mk(3, "e3", a("code", model.Int(201)), a("ratio", model.Float(-2))),
		mk(4, "e4"),
	}
	evs[1].Error = true
	evs[1].StatusCode = 2
	evs[2].ParentID = sid(1)
	evs[3].SpanKind = "client"
	evs[4].Dataset, evs[4].ServiceName = "worker", "worker"
	return evs
}

func testScanFilters(t *testing.T, s store.Store) {
	write(t, s, "test", filterFixture()...)
	f := func(col string, op store.Op, v model.Value) store.Filter {
		return store.Filter{Column: col, Op: op, Value: v}
	}
	in := func(col string, op store.Op, vs ...model.Value) store.Filter {
		return store.Filter{Column: col, Op: op, Values: vs}
	}
	S, I, F, B := model.Str, model.Int, model.Float, model.Bool
	tests := []struct {
		name    string
		filters []store.Filter
		comb    store.Combination
		want    string // names, newest first
	}{
		{"no filter", nil, store.And, "e4,e3,e2,e1,e0"},
		{"str =", []store.Filter{f("http.method", store.OpEq, S("GET"))}, store.And, "e0"},
		{"str = is case-sensitive", []store.Filter{f("http.method", store.OpEq, S("get"))}, store.And, "e2"},
		{"str != (missing matches)", []store.Filter{f("http.method", store.OpNe, S("GET"))}, store.And, "e4,e3,e2,e1"},
		{"str >", []store.Filter{f("http.method", store.OpGt, S("GET"))}, store.And, "e2,e1"},
		{"str <=", []store.Filter{f("http.method", store.OpLe, S("POST"))}, store.And, "e1,e0"},
		{"int =", []store.Filter{f("code", store.OpEq, I(500))}, store.And, "e1"},
		{"int = from string", []store.Filter{f("code", store.OpEq, S("404"))}, store.And, "e2"},
		{"int = from integral float", []store.Filter{f("code", store.OpEq, F(200))}, store.And, "e0"},
		{"int = non-integral float", []store.Filter{f("code", store.OpEq, F(200.5))}, store.And, ""},
		{"int > float", []store.Filter{f("code", store.OpGt, F(200.5))}, store.And, "e3,e2,e1"},
		{"int >=", []store.Filter{f("code", store.OpGe, I(404))}, store.And, "e2,e1"},
		{"int <", []store.Filter{f("code", store.OpLt, I(404))}, store.And, "e3,e0"},
		{"int unconvertible", []store.Filter{f("code", store.OpEq, S("abc"))}, store.And, ""},
		{"int != unconvertible", []store.Filter{f("code", store.OpNe, S("abc"))}, store.And, "e4,e3,e2,e1,e0"},
		{"int !=", []store.Filter{f("code", store.OpNe, I(200))}, store.And, "e4,e3,e2,e1"},
		{"float >", []store.Filter{f("ratio", store.OpGt, F(0))}, store.And, "e1,e0"},
		{"float = from int", []store.Filter{f("ratio", store.OpEq, I(-2))}, store.And, "e3"},
		{"float <", []store.Filter{f("ratio", store.OpLt, S("1"))}, store.And, "e3,e0"},
		{"bool = true", []store.Filter{f("cached", store.OpEq, B(true))}, store.And, "e0"},
		{"bool = false", []store.Filter{f("cached", store.OpEq, B(false))}, store.And, "e1"},
		{"bool = from string", []store.Filter{f("cached", store.OpEq, S("true"))}, store.And, "e0"},
		{"bool !=", []store.Filter{f("cached", store.OpNe, B(true))}, store.And, "e4,e3,e2,e1"},
		{"starts-with", []store.Filter{f("path", store.OpStartsWith, S("/api/"))}, store.And, "e1,e0"},
		{"does-not-start-with", []store.Filter{f("path", store.OpNotStartsWith, S("/api/"))}, store.And, "e4,e3,e2"},
		{"ends-with", []store.Filter{f("path", store.OpEndsWith, S("s"))}, store.And, "e1,e0"},
		{"does-not-end-with", []store.Filter{f("path", store.OpNotEndsWith, S("s"))}, store.And, "e4,e3,e2"},
		{"contains", []store.Filter{f("path", store.OpContains, S("ord"))}, store.And, "e1"},
		{"contains is literal", []store.Filter{f("path", store.OpContains, S("%"))}, store.And, ""},
		{"does-not-contain", []store.Filter{f("path", store.OpNotContains, S("ord"))}, store.And, "e4,e3,e2,e0"},
		{"exists", []store.Filter{{Column: "ratio", Op: store.OpExists}}, store.And, "e3,e1,e0"},
		{"does-not-exist", []store.Filter{{Column: "ratio", Op: store.OpNotExists}}, store.And, "e4,e2"},
		{"in", []store.Filter{in("http.method", store.OpIn, S("GET"), S("POST"), S("PUT"))}, store.And, "e1,e0"},
		{"in ints", []store.Filter{in("code", store.OpIn, I(200), S("404"), S("x"))}, store.And, "e2,e0"},
		{"not-in", []store.Filter{in("code", store.OpNotIn, I(200), I(404))}, store.And, "e4,e3,e1"},
		{"unknown column =", []store.Filter{f("nope", store.OpEq, S("x"))}, store.And, ""},
		{"unknown column !=", []store.Filter{f("nope", store.OpNe, S("x"))}, store.And, "e4,e3,e2,e1,e0"},
		{"unknown column exists", []store.Filter{{Column: "nope", Op: store.OpExists}}, store.And, ""},
		{"unknown column does-not-exist", []store.Filter{{Column: "nope", Op: store.OpNotExists}}, store.And, "e4,e3,e2,e1,e0"},
		{"unknown column not-in", []store.Filter{in("nope", store.OpNotIn, S("x"))}, store.And, "e4,e3,e2,e1,e0"},
		{"hot name =", []store.Filter{f(model.FieldName, store.OpEq, S("e3"))}, store.And, "e3"},
		{"hot duration_ms >=", []store.Filter{f(model.FieldDurationMs, store.OpGe, I(30))}, store.And, "e4,e3"},
		{"hot error = true", []store.Filter{f(model.FieldError, store.OpEq, B(true))}, store.And, "e1"},
		{"hot error != true", []store.Filter{f(model.FieldError, store.OpNe, B(true))}, store.And, "e4,e3,e2,e0"},
		{"hot status_code", []store.Filter{f(model.FieldStatusCode, store.OpEq, I(2))}, store.And, "e1"},
		{"hot span.kind", []store.Filter{f(model.FieldSpanKind, store.OpEq, S("client"))}, store.And, "e3"},
		{"hot type", []store.Filter{f(model.FieldType, store.OpEq, S("client"))}, store.And, "e3"},
		{"hot service.name", []store.Filter{f(model.FieldServiceName, store.OpEq, S("worker"))}, store.And, "e4"},
		{"hot trace id =", []store.Filter{f(model.FieldTraceID, store.OpEq, S(tid(102).HoneycombString()))}, store.And, "e2"},
		{"hot span id =", []store.Filter{f(model.FieldSpanID, store.OpEq, S(sid(4).String()))}, store.And, "e3"},
		{"hot parent_id does-not-exist", []store.Filter{{Column: model.FieldParentID, Op: store.OpNotExists}}, store.And, "e4,e3,e1,e0"},
		{"hot parent_id =", []store.Filter{f(model.FieldParentID, store.OpEq, S(sid(1).String()))}, store.And, "e2"},
		{"hot annotation type does-not-exist", []store.Filter{{Column: model.FieldAnnotationType, Op: store.OpNotExists}}, store.And, "e4,e3,e2,e1,e0"},
		{"and", []store.Filter{f("code", store.OpGe, I(200)), f("http.method", store.OpEq, S("POST"))}, store.And, "e1"},
		{"or", []store.Filter{f("code", store.OpEq, I(201)), f("http.method", store.OpEq, S("POST"))}, store.Or, "e3,e1"},
		{"or with negative", []store.Filter{f("code", store.OpEq, I(200)), {Column: "code", Op: store.OpNotExists}}, store.Or, "e4,e0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := names(scan(t, s, "test", store.ScanQuery{Filters: tc.filters, Combination: tc.comb}))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for ev, err := range s.Scan(context.Background(), "test", store.ScanQuery{Filters: []store.Filter{{Column: "x", Op: "~~"}}}) {
		if err == nil {
			t.Errorf("unknown operator: got event %q, want an error", ev.Name)
		}
		break
	}
}

func testScanQuery(t *testing.T, s store.Store) {
	evs := filterFixture()
	write(t, s, "test", evs...)
	tests := []struct {
		name string
		q    store.ScanQuery
		want string
	}{
		{"time range [start, end)", store.ScanQuery{Start: base.Add(time.Second), End: base.Add(3 * time.Second)}, "e2,e1"},
		{"start only", store.ScanQuery{Start: base.Add(3 * time.Second)}, "e4,e3"},
		{"end only, ns precision", store.ScanQuery{End: base.Add(time.Second + 1)}, "e1,e0"},
		{"datasets", store.ScanQuery{Datasets: []string{"worker"}}, "e4"},
		{"datasets several", store.ScanQuery{Datasets: []string{"worker", "API", "unknown"}}, "e4,e3,e2,e1,e0"},
		{"unknown dataset", store.ScanQuery{Datasets: []string{"unknown"}}, ""},
		{"trace ids", store.ScanQuery{TraceIDs: []model.TraceID{tid(101), tid(103), tid(999)}}, "e3,e1"},
		{"many trace ids", store.ScanQuery{TraceIDs: append(manyTraceIDs(500, 1000), tid(102), tid(104))}, "e4,e2"},
		{"limit keeps the newest", store.ScanQuery{Limit: 2}, "e4,e3"},
		{"everything", store.ScanQuery{
			Start: base, End: base.Add(time.Hour), Datasets: []string{"api"},
			Filters:  []store.Filter{{Column: "code", Op: store.OpGt, Value: model.Int(200)}},
			TraceIDs: []model.TraceID{tid(101), tid(102), tid(103)}, Limit: 2}, "e3,e2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(scan(t, s, "test", tc.q)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Scan returns whole events, with or without datasets and a limit.
	got := scan(t, s, "test", store.ScanQuery{TraceIDs: []model.TraceID{tid(100)}})
	assertEvents(t, got, evs[:1])
	got = scan(t, s, "test", store.ScanQuery{Datasets: []string{"api"}, TraceIDs: []model.TraceID{tid(100)}, Limit: 5})
	assertEvents(t, got, evs[:1])
	got = scan(t, s, "test", store.ScanQuery{Datasets: []string{"worker", "api"}, Limit: 2})
	assertEvents(t, got, []model.Event{evs[4], evs[3]})
}

func testScanStopEarly(t *testing.T, s store.Store) {
	write(t, s, "test", filterFixture()...)
	n := 0
	for _, err := range s.Scan(context.Background(), "test", store.ScanQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	// The store is still usable: nothing is left locked.
	write(t, s, "test", span("api", tid(1), sid(1), model.SpanID{}, base, "after"))
	if got := scan(t, s, "test", store.ScanQuery{}); len(got) != 6 {
		t.Errorf("after an early stop: %d events, want 6", len(got))
	}
}

func testDocBytes(t *testing.T, s store.Store) {
	doc := make([]byte, 0, 256*3)
	for i := range 256 {
		doc = append(doc, byte(i))
	}
	doc = append(doc, bytes.Repeat([]byte{0}, 300)...)
	e := span("x", tid(3), sid(3), model.SpanID{}, base, "doc")
	e.Source = model.SourceXRay
	e.Doc = doc
	write(t, s, "test", e)
	got := trace(t, s, "test", tid(3))
	if len(got) != 1 || !bytes.Equal(got[0].Doc, doc) {
		t.Fatalf("doc did not round-trip: %d events", len(got))
	}
}

func testLargeTrace(t *testing.T, s store.Store) {
	const n = 10000
	evs := make([]model.Event, n)
	for i := range evs {
		evs[i] = span(fmt.Sprintf("svc%d", i%7), tid(77), sid(uint64(i+1)), sid(uint64(i/10+1)), base.Add(time.Duration(i)*time.Microsecond),
			fmt.Sprintf("op%d", i), a("i", model.Int(int64(i))), a(fmt.Sprintf("k%d", i%13), model.Str("v")))
	}
	write(t, s, "test", evs[n/2:]...)
	write(t, s, "test", evs[:n/2]...)
	write(t, s, "test", span("svc0", tid(78), sid(1), model.SpanID{}, base, "other"))
	got := trace(t, s, "test", tid(77))
	if len(got) != n {
		t.Fatalf("got %d events, want %d", len(got), n)
	}
	for i := range got {
		if !sameEvent(got[i], evs[i]) {
			t.Fatalf("event %d differs\ngot:  %s\nwant: %s", i, show(got[i]), show(evs[i]))
		}
	}
}

// testWriteAtomic checks a failed Write leaves nothing: a cancelled context
// must fail the call, and then nothing of it may be visible.
func testWriteAtomic(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := span("atomic", tid(1), sid(1), model.SpanID{}, base, "x", a("new.col", model.Str("v")))
	err := s.Write(ctx, []store.Batch{{Env: "test", Events: []model.Event{e}}})
	if err == nil {
		// A store may commit before it looks at the context; then it is all there.
		assertEvents(t, trace(t, s, "test", tid(1)), []model.Event{e})
		return
	}
	if got := trace(t, s, "test", tid(1)); len(got) != 0 {
		t.Fatalf("failed Write left %d events", len(got))
	}
	if ds, _ := s.Datasets(context.Background(), "test"); len(ds) != 0 {
		t.Fatalf("failed Write left datasets %+v", ds)
	}
	// And the store still works, with the same new column.
	write(t, s, "test", e)
	assertEvents(t, trace(t, s, "test", tid(1)), []model.Event{e})
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	const writers, writes, perWrite = 6, 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes+writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				evs := make([]model.Event, perWrite)
				for j := range evs {
					n := uint64(w*writes*perWrite + i*perWrite + j)
					evs[j] = span(fmt.Sprintf("svc%d", w%3), tid(n/10), sid(n+1), model.SpanID{}, base.Add(time.Duration(n)*time.Millisecond),
						fmt.Sprintf("w%d", w), a(fmt.Sprintf("key%d", (w+i)%17), model.Int(int64(n))))
				}
				if err := s.Write(context.Background(), []store.Batch{{Env: "test", Events: evs}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Readers run alongside.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			for _, err := range s.Scan(context.Background(), "test", store.ScanQuery{Limit: 100}) {
				if err != nil {
					errs <- err
					return
				}
			}
			if _, err := s.Trace(context.Background(), "test", tid(3)); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := scan(t, s, "test", store.ScanQuery{})
	if len(got) != writers*writes*perWrite {
		t.Fatalf("got %d events, want %d", len(got), writers*writes*perWrite)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.After(got[i-1].Time) {
			t.Fatalf("scan not newest first at %d", i)
		}
	}
	if tr := trace(t, s, "test", tid(3)); len(tr) != 10 {
		t.Fatalf("trace 3: %d events, want 10", len(tr))
	}
}

// testDoors: what was sent to X-Ray's doors lives in DoorEnv(env, DoorXRay)
// and nothing of it reaches the Honeycomb door's reads; DoorView joins them.
func testDoors(t *testing.T, s store.Store) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hcEnv, xrEnv := store.DoorEnv("test", model.DoorHoneycomb), store.DoorEnv("test", model.DoorXRay)
	if hcEnv != "test" || xrEnv == hcEnv {
		t.Fatalf("DoorEnv: honeycomb %q, xray %q", hcEnv, xrEnv)
	}
	otel := span("backend-flask", tid(1), sid(1), model.SpanID{}, base, "GET /api/activities/home", a("shared", model.Int(1)), a("otel.only", model.Str("x")))
	seg := span("127.0.0.1:4567", tid(1), sid(2), model.SpanID{}, base.Add(time.Millisecond), "127.0.0.1:4567", a("shared", model.Int(2)))
	seg.Source, seg.Doc = model.SourceXRay, []byte(`{"name":"127.0.0.1:4567"}`)
	seg2 := span("backend-flask", tid(2), sid(3), model.SpanID{}, base.Add(2*time.Millisecond), "backend-flask", a("xray.only", model.Bool(true)))
	seg2.Source = model.SourceXRay
	write(t, s, hcEnv, otel)
	write(t, s, xrEnv, seg, seg2)

	ctx := context.Background()
	hc := store.DoorView(s, model.DoorHoneycomb)
	xr := store.DoorView(s, model.DoorXRay)
	both := store.DoorView(s, model.DoorHoneycomb, model.DoorXRay)

	dsNames := func(r store.Reader) string {
		list, err := r.Datasets(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range list {
			out = append(out, d.Name)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		name string
		r    store.Reader
		want string
	}{{"honeycomb", hc, "backend-flask"}, {"xray", xr, "127.0.0.1:4567,backend-flask"}, {"both", both, "127.0.0.1:4567,backend-flask"}} {
		if got := dsNames(c.r); got != c.want {
			t.Errorf("%s: datasets %s, want %s", c.name, got, c.want)
		}
	}
	if got := dsNames(s); got != "backend-flask" {
		t.Errorf("the environment itself (Honeycomb's door) lists %s", got)
	}

	colKeys := func(r store.Reader, ds string) map[string]bool {
		cols, err := r.Columns(ctx, "test", ds)
		if err != nil {
			t.Fatalf("Columns(%q): %v", ds, err)
		}
		m := map[string]bool{}
		for _, c := range cols {
			m[c.KeyName] = true
		}
		return m
	}
	if c := colKeys(hc, "backend-flask"); !c["otel.only"] || c["xray.only"] {
		t.Errorf("honeycomb columns of backend-flask: %v", c)
	}
	if c := colKeys(both, "backend-flask"); !c["otel.only"] || !c["xray.only"] || !c["shared"] {
		t.Errorf("joined columns of backend-flask: %v", c)
	}
	if _, err := hc.Columns(ctx, "test", "127.0.0.1:4567"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("honeycomb columns of an X-Ray-only dataset: %v, want ErrNotFound", err)
	}
	if _, err := both.Columns(ctx, "test", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("joined columns of an unknown dataset: %v, want ErrNotFound", err)
	}

	assertEvents(t, trace(t, s, hcEnv, tid(1)), []model.Event{otel})
	joined, err := both.Trace(ctx, "test", tid(1))
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, joined, []model.Event{otel, seg})
	if got, err := xr.Trace(ctx, "test", tid(1)); err != nil || len(got) != 1 || got[0].Source != model.SourceXRay {
		t.Errorf("X-Ray door's trace: %d events, %v", len(got), err)
	}

	var got []model.Event
	for ev, err := range both.Scan(ctx, "test", store.ScanQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	assertEvents(t, got, []model.Event{seg2, seg, otel}) // newest first across doors
	got = got[:0]
	for ev, err := range both.Scan(ctx, "test", store.ScanQuery{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	assertEvents(t, got, []model.Event{seg2, seg})
	for ev, err := range both.Scan(ctx, "test", store.ScanQuery{}) { // stopping early releases both scans
		if err != nil {
			t.Fatal(err)
		}
		_ = ev
		break
	}
}

// testColumnLimit writes a dataset ever more fields until the store
// refuses an event (every store caps columns per dataset, as Honeycomb
// does), then checks the refusal: only that event is left out, the same
// call's other events are stored, known fields still are, another
// environment is untouched, and deleting a column makes room again.
func testColumnLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	const perEvent, most = 500, 200_000
	keys := 0
	newEvent := func(n uint64, fresh int) model.Event {
		var attrs []model.Attr
		for range fresh {
			attrs = append(attrs, a(fmt.Sprintf("k%06d", keys), model.Str("v")))
			keys++
		}
		return span("wide", tid(n), sid(n), model.SpanID{}, base.Add(time.Duration(n)*time.Millisecond), "op", attrs...)
	}
	var refused []store.Refusal
	var known, over model.Event
	for n := uint64(1); keys < most; n += 2 {
		over = newEvent(n, perEvent)
		known = span("wide", tid(n+1), sid(n+1), model.SpanID{}, base, "known", a("k000000", model.Str("again")))
		batches := []store.Batch{{Env: "test", Events: []model.Event{over, known}}}
		if err := s.Write(ctx, batches); err != nil {
			t.Fatalf("Write after %d fields: %v", keys, err)
		}
		if refused = batches[0].Refused; len(refused) > 0 {
			break
		}
	}
	if len(refused) == 0 {
		t.Fatalf("%d fields in one dataset and no event refused: the store must cap columns per dataset", keys)
	}
	if len(refused) != 1 || refused[0].Index != 0 || !errors.Is(refused[0].Err, store.ErrTooManyColumns) {
		t.Fatalf("refused %+v, want the first event with ErrTooManyColumns", refused)
	}
	if got := trace(t, s, "test", over.TraceID); len(got) != 0 {
		t.Errorf("the refused event was stored: %d events", len(got))
	}
	assertEvents(t, trace(t, s, "test", known.TraceID), []model.Event{known})
	cols, err := s.Columns(ctx, "test", "wide")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Datasets(ctx, "test")
	if err != nil || len(ds) != 1 || ds[0].Columns != len(cols) {
		t.Fatalf("Datasets %+v (%v) for %d columns", ds, err, len(cols))
	}
	// Fill the dataset to its limit, halving the fields per event at each
	// refusal, until one new field on its own is refused.
	var one model.Event
	for n, fresh := uint64(1_000_001), perEvent/2; ; n++ {
		one = newEvent(n, fresh)
		batches := []store.Batch{{Env: "test", Events: []model.Event{one}}}
		if err := s.Write(ctx, batches); err != nil {
			t.Fatal(err)
		}
		if len(batches[0].Refused) == 0 {
			continue
		}
		if fresh == 1 {
			break
		}
		fresh /= 2
	}
	if cols, _ := s.Columns(ctx, "test", "wide"); len(cols) >= keys {
		t.Fatalf("%d columns listed of %d fields sent", len(cols), keys)
	}
	// Another environment is not concerned.
	other := newEvent(2_000_001, 20)
	batches := []store.Batch{{Env: "other", Events: []model.Event{other}}}
	if err := s.Write(ctx, batches); err != nil || len(batches[0].Refused) != 0 {
		t.Fatalf("another environment: %v, refused %+v", err, batches[0].Refused)
	}
	assertEvents(t, trace(t, s, "other", other.TraceID), []model.Event{other})
	// Deleting a column makes room for one.
	if err := s.DeleteColumn(ctx, "test", "wide", "k000001"); err != nil {
		t.Fatal(err)
	}
	batches = []store.Batch{{Env: "test", Events: []model.Event{one}}}
	if err := s.Write(ctx, batches); err != nil || len(batches[0].Refused) != 0 {
		t.Fatalf("a field after deleting one: %v, refused %+v", err, batches[0].Refused)
	}
	assertEvents(t, trace(t, s, "test", one.TraceID), []model.Event{one})
}

// testDeleteDataset deletes one of two datasets: its events, columns and
// name go, the other's stay, and writing the name again starts afresh.
func testDeleteDataset(t *testing.T, s store.Store) {
	ctx := context.Background()
	root := span("gone", tid(1), sid(1), model.SpanID{}, base, "root", a("only.gone", model.Int(1)), a("shared", model.Str("g")))
	child := span("kept", tid(1), sid(2), sid(1), base.Add(time.Millisecond), "child", a("shared", model.Str("k")))
	write(t, s, "test", root, child)
	write(t, s, "other", root)
	if err := s.DeleteDataset(ctx, "test", "GONE"); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Datasets(ctx, "test")
	if err != nil || len(ds) != 1 || ds[0].Name != "kept" {
		t.Fatalf("datasets after the delete: %+v, %v", ds, err)
	}
	if _, err := s.Columns(ctx, "test", "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("columns of the deleted dataset: %v, want ErrNotFound", err)
	}
	if all, _ := s.Columns(ctx, "test", ""); hasColumn(all, "only.gone") {
		t.Errorf("the environment still lists only.gone: %v", all)
	}
	assertEvents(t, trace(t, s, "test", tid(1)), []model.Event{child})
	assertEvents(t, scan(t, s, "test", store.ScanQuery{}), []model.Event{child})
	assertEvents(t, scan(t, s, "test", store.ScanQuery{Filters: []store.Filter{{Column: "only.gone", Op: store.OpExists}}}), nil)
	assertEvents(t, trace(t, s, "other", tid(1)), []model.Event{root})
	if err := s.DeleteDataset(ctx, "test", "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting it twice: %v, want ErrNotFound", err)
	}
	if err := s.DeleteDataset(ctx, "nowhere", "kept"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting in an unknown environment: %v, want ErrNotFound", err)
	}
	time.Sleep(5 * time.Millisecond)
	before := time.Now().Truncate(time.Millisecond)
	again := span("Gone", tid(2), sid(3), model.SpanID{}, base, "again")
	write(t, s, "test", again)
	ds, _ = s.Datasets(ctx, "test")
	if len(ds) != 2 || ds[0].Name != "Gone" || ds[0].CreatedAt.Before(before) {
		t.Fatalf("datasets after writing the name again: %+v (created before %v?)", ds, before)
	}
	if cols, _ := s.Columns(ctx, "test", "gone"); hasColumn(cols, "only.gone") || hasColumn(cols, "shared") {
		t.Errorf("the new dataset inherited columns: %v", cols)
	}
	assertEvents(t, scan(t, s, "test", store.ScanQuery{Datasets: []string{"gone"}}), []model.Event{again})
}

// testDeleteColumn deletes a field from one dataset: gone from its
// columns and events (whether the field lives in a column of its own or
// not), kept in another dataset, and written again it comes back.
func testDeleteColumn(t *testing.T, s store.Store) {
	ctx := context.Background()
	var mine, theirs []model.Event
	for i := range 20 {
		n := uint64(i + 1)
		attrs := []model.Attr{a("dense", model.Int(int64(i))), a("keep", model.Str("k"))}
		if i%5 == 0 {
			attrs = append(attrs, a("dense", model.Str("typed twice")))
		}
		mine = append(mine, span("mine", tid(n), sid(n), model.SpanID{}, base.Add(time.Duration(i)*time.Second), "m", attrs...))
		theirs = append(theirs, span("theirs", tid(100+n), sid(100+n), model.SpanID{}, base.Add(time.Duration(i)*time.Second), "t", a("dense", model.Int(7))))
	}
	write(t, s, "test", mine...)
	write(t, s, "test", theirs...)
	if err := s.DeleteColumn(ctx, "test", "mine", "dense"); err != nil {
		t.Fatal(err)
	}
	cols, err := s.Columns(ctx, "test", "mine")
	if err != nil || hasColumn(cols, "dense") || !hasColumn(cols, "keep") {
		t.Fatalf("columns of mine after the delete: %v, %v", cols, err)
	}
	if ds, _ := s.Datasets(ctx, "test"); len(ds) != 2 || ds[0].Columns != len(cols) {
		t.Errorf("Datasets after the delete: %+v, %d columns", ds, len(cols))
	}
	var want []model.Event
	for _, e := range mine {
		e.Attrs = []model.Attr{a("keep", model.Str("k"))}
		want = append(want, e)
	}
	assertEvents(t, scan(t, s, "test", store.ScanQuery{Datasets: []string{"mine"}}), reversed(want))
	assertEvents(t, scan(t, s, "test", store.ScanQuery{Filters: []store.Filter{{Column: "dense", Op: store.OpExists}}}),
		reversed(theirs))
	if cols, _ := s.Columns(ctx, "test", "theirs"); !hasColumn(cols, "dense") {
		t.Errorf("theirs lost dense: %v", cols)
	}
	for _, c := range []struct{ ds, col string }{{"mine", "dense"}, {"mine", "nope"}, {"nope", "keep"}} {
		if err := s.DeleteColumn(ctx, "test", c.ds, c.col); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteColumn(%s, %s): %v, want ErrNotFound", c.ds, c.col, err)
		}
	}
	if err := s.DeleteColumn(ctx, "test", "mine", model.FieldTraceID); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("deleting trace.trace_id: %v, want ErrUnsupported", err)
	}
	back := span("mine", tid(50), sid(50), model.SpanID{}, base.Add(time.Hour), "back", a("dense", model.Int(1)))
	write(t, s, "test", back)
	if cols, _ := s.Columns(ctx, "test", "mine"); !hasColumn(cols, "dense") {
		t.Errorf("dense written again is not listed: %v", cols)
	}
	assertEvents(t, trace(t, s, "test", tid(50)), []model.Event{back})
}

// testRetentionSettings: the default applies until an override replaces
// it; removing the override restores the default; a door's part follows
// its environment.
func testRetentionSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	def, err := s.Retention(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Retention{MaxAge: 90 * time.Minute, MaxBytes: 1 << 30}
	if err := s.SetRetention(ctx, "test", &want); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"test", store.DoorEnv("test", model.DoorXRay)} {
		if got, err := s.Retention(ctx, env); err != nil || got != want {
			t.Errorf("Retention(%s) = %+v, %v; want %+v", env, got, err, want)
		}
	}
	if got, _ := s.Retention(ctx, "other"); got != def {
		t.Errorf("another environment's retention %+v, want the default %+v", got, def)
	}
	if err := s.SetRetention(ctx, "test", &store.Retention{MaxAge: -time.Second}); err == nil {
		t.Error("a negative age was accepted")
	}
	if err := s.SetRetention(ctx, "test", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Retention(ctx, "test"); got != def {
		t.Errorf("after removing the override: %+v, want the default %+v", got, def)
	}
}

func testHealthy(t *testing.T, s store.Store) {
	if err := s.Healthy(context.Background()); err != nil {
		t.Fatalf("a new store is not healthy: %v", err)
	}
	write(t, s, "test", span("svc", tid(1), sid(1), model.SpanID{}, base, "root"))
	if err := s.Healthy(context.Background()); err != nil {
		t.Fatalf("after a write: %v", err)
	}
}

// reversed returns evs newest first (as a scan returns them) when they were
// written oldest first.
func reversed(evs []model.Event) []model.Event {
	out := slices.Clone(evs)
	slices.Reverse(out)
	return out
}
