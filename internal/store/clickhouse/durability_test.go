package clickhouse

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestSurvivesServerKill: what Write acknowledged is there after the
// server is killed (SIGKILL) and started again on the same data, with
// the catalog; writes while the server is down fail retryably
// (ErrUnavailable) and store nothing.
func TestSurvivesServerKill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ts, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ts.stop() }()
	cfg := Config{URL: ts.url, Database: "crash"}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var want []model.Event
	for i := range 20 {
		e := model.Event{Dataset: "Shop", Time: base.Add(time.Duration(i) * time.Millisecond), TraceID: model.TraceID{15: 1},
			SpanID: model.SpanID{7: byte(i + 1)}, Name: "op", ServiceName: "shop", SampleRate: 1,
			Attrs: []model.Attr{{Key: "i", Value: model.Int(int64(i))}}}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e}}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	ts.kill()
	// The server is gone: a write fails, retryably.
	e := want[0]
	e.TraceID = model.TraceID{15: 2}
	err = s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e}}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("write to a killed server: %v, want ErrUnavailable", err)
	}
	if err := s.Healthy(ctx); err == nil {
		t.Error("Healthy with the server down")
	}
	_ = s.Close()

	ts, err = startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL = ts.url
	s2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Trace(ctx, "prod", want[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("after kill -9 and restart: %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Time.Equal(want[i].Time) || got[i].Dataset != "Shop" || len(got[i].Attrs) != 1 || got[i].Attrs[0].Value.Int != int64(i) {
			t.Fatalf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, _ := s2.Trace(ctx, "prod", e.TraceID); len(got) != 0 {
		t.Errorf("the failed write left %d events", len(got))
	}
	ds, err := s2.Datasets(ctx, "prod")
	if err != nil || len(ds) != 1 || ds[0].Name != "Shop" {
		t.Fatalf("datasets after restart: %+v, %v", ds, err)
	}
}
