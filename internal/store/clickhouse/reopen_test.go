package clickhouse

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// TestReopen: the catalog (datasets, columns, their times, deletes,
// retention overrides) and the X-Ray replacements survive Close and Open,
// and writes after reopening extend it.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{Database: newDatabase(), Now: func() time.Time { return clock }}
	s := openTest(t, cfg)
	ev := func(n int, attrs ...model.Attr) model.Event {
		return model.Event{Dataset: "Shop", Time: time.Unix(int64(n), 0).UTC(), TraceID: model.TraceID{1, byte(n)},
			SpanID: model.SpanID{1, byte(n)}, Name: "op", ServiceName: "shop", SampleRate: 1, Attrs: attrs}
	}
	e1 := ev(1, model.Attr{Key: "a", Value: model.Str("x")}, model.Attr{Key: "b", Value: model.Int(1)})
	x1 := ev(5)
	x1.Source, x1.Attrs = model.SourceXRay, []model.Attr{{Key: xrayview.KeyInProgress, Value: model.Bool(true)}}
	x2 := x1
	x2.Attrs, x2.DurationMs = nil, 5
	for _, evs := range [][]model.Event{{e1, x1}, {ev(2, model.Attr{Key: "a", Value: model.Str("y")}), x2}} {
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Hour)
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{func() model.Event { e := ev(3); e.Dataset = "gone"; return e }()}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDataset(ctx, "prod", "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteColumn(ctx, "prod", "shop", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(ctx, "prod", &store.Retention{MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	wantDS, _ := s.Datasets(ctx, "prod")
	wantCols, _ := s.Columns(ctx, "prod", "shop")
	wantTrace, _ := s.Trace(ctx, "prod", x1.TraceID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(ctx, Config{URL: s.cfg.URL, Database: cfg.Database, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	gotDS, _ := s2.Datasets(ctx, "prod")
	gotCols, _ := s2.Columns(ctx, "prod", "shop")
	if !reflect.DeepEqual(gotDS, wantDS) || len(gotDS) != 1 {
		t.Errorf("datasets after reopen:\n got %+v\nwant %+v", gotDS, wantDS)
	}
	if !reflect.DeepEqual(gotCols, wantCols) {
		t.Errorf("columns after reopen:\n got %+v\nwant %+v", gotCols, wantCols)
	}
	if got, _ := s2.Trace(ctx, "prod", x1.TraceID); len(got) != 1 || len(wantTrace) != 1 || got[0].DurationMs != 5 {
		t.Errorf("the X-Ray segment after reopen: %+v (before: %+v)", got, wantTrace)
	}
	if got, _ := s2.Trace(ctx, "prod", e1.TraceID); len(got) != 1 || len(got[0].Attrs) != 1 || got[0].Attrs[0].Key != "a" {
		t.Errorf("the deleted column after reopen: %+v", got)
	}
	if r, _ := s2.Retention(ctx, "prod"); r.MaxAge != time.Hour {
		t.Errorf("retention after reopen: %+v", r)
	}
	// A new dataset after reopening gets a new id: the deleted one's rows
	// stay hidden.
	e4 := ev(4)
	e4.Dataset = "GONE"
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e4}}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for e, err := range s2.Scan(ctx, "prod", store.ScanQuery{Datasets: []string{"gone"}}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Dataset)
	}
	if len(names) != 1 || names[0] != "GONE" {
		t.Errorf("dataset written again after reopen: %v", names)
	}
}
