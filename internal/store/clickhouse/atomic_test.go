package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestWriteAbortedAfterEvents: a Write whose events INSERT succeeded but
// whose catalog INSERT failed returns an error and leaves nothing
// visible (its wseq is aborted: reads leave its rows out, and the
// mutation deleting them runs); the store goes on.
func TestWriteAbortedAfterEvents(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{})
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	e := model.Event{Dataset: "svc", Time: at, TraceID: model.TraceID{15: 1}, SpanID: model.SpanID{7: 1}, Name: "op", ServiceName: "svc", SampleRate: 1,
		Attrs: []model.Attr{{Key: "k", Value: model.Str("v")}}}
	// The catalog's columns table goes away: the events INSERT works, the
	// columns INSERT of the new fields fails.
	if err := s.c.exec(ctx, "RENAME TABLE columns TO columns_away"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []store.Batch{{Env: "test", Events: []model.Event{e}}}); err == nil {
		t.Fatal("Write without a columns table succeeded")
	}
	rows, err := s.c.rows(ctx, "SELECT count() FROM aborted")
	if err != nil || rows[0][0].(int64) != 1 {
		t.Fatalf("aborted rows: %v, %v", rows, err)
	}
	if got, err := s.Trace(ctx, "test", e.TraceID); err != nil || len(got) != 0 {
		t.Fatalf("the failed Write left %d events (%v)", len(got), err)
	}
	var n int
	for _, err := range s.Scan(ctx, "test", store.ScanQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 0 {
		t.Fatalf("a scan sees %d events of the failed Write", n)
	}
	if ds, _ := s.Datasets(ctx, "test"); len(ds) != 0 {
		t.Fatalf("the failed Write left datasets %+v", ds)
	}
	if err := s.c.exec(ctx, "RENAME TABLE columns_away TO columns"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []store.Batch{{Env: "test", Events: []model.Event{e}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Trace(ctx, "test", e.TraceID); len(got) != 1 {
		t.Fatalf("after the retry: %d events, want 1", len(got))
	}
	// The aborted rows are deleted in the background.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := s.c.rows(ctx, "SELECT count() FROM events")
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0].(int64) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows stored, want the retry's 1", rows[0][0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
