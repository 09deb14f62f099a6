package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestTraceIndexStateFailure makes recording the rebuilt trace index fail
// at Open (trace_index_state is swapped for a view, which takes no
// DELETE or INSERT): Open must fail and leave no rebuilt rows behind,
// since rows committed without their sequence would be rebuilt, and so
// doubled, by the next Open. Once the table is back, Open rebuilds them
// once.
func TestTraceIndexStateFailure(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	cfg := Config{Path: path, TraceIndexFlushRows: 1 << 20, Threads: 2}
	s := openTest(t, cfg)
	var ids []model.TraceID
	for w := range 3 {
		var evs []model.Event
		for tr := range 4 {
			id := model.TraceID{1, byte(w), byte(tr), 15: byte(16*tr + w)}
			id[8] = byte(tr * 64) // several buckets
			ids = append(ids, id)
			evs = append(evs, model.Event{Dataset: "svc", Time: time.Unix(int64(100+10*w+tr), 0).UTC(), TraceID: id,
				SpanID: model.SpanID{byte(tr + 1)}, Name: "op", SampleRate: 1})
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	s.idx = newTraceIndex() // a crash: the pending index rows are lost
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	indexRows := func() (rows int, seq sql.NullInt64) {
		t.Helper()
		db, err := sql.Open("duckdb", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for b := range tracesBuckets {
			var n int
			if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM traces_1_%d`, b)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			rows += n
		}
		if err := db.QueryRow(`SELECT max(wseq) FROM trace_index_state WHERE env = 1`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		return rows, seq
	}
	exec := func(qs ...string) {
		t.Helper()
		db, err := sql.Open("duckdb", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range qs {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	if n, seq := indexRows(); n != 0 || seq.Valid {
		t.Fatalf("before the test: %d index rows, indexed up to %v; want none", n, seq)
	}
	exec(`DROP TABLE trace_index_state`,
		`CREATE VIEW trace_index_state AS SELECT 1::INTEGER AS env, 0::BIGINT AS wseq WHERE false`)
	if s, err := Open(ctx, cfg, nil); err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded although recording the rebuilt trace index failed")
	}
	if n, _ := indexRows(); n != 0 {
		t.Fatalf("the failed Open left %d index rows", n)
	}
	exec(`DROP VIEW trace_index_state`, indexStateDDL)
	s2 := openTest(t, cfg)
	for _, id := range ids {
		if got, err := s2.Trace(ctx, "prod", id); err != nil || len(got) != 1 {
			t.Fatalf("trace %s after the rebuild: %d events, %v", id, len(got), err)
		}
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if n, seq := indexRows(); n != len(ids) || seq.Int64 != 3 {
		t.Fatalf("after the rebuild: %d index rows (want one per trace, %d), indexed up to %d (want 3)", n, len(ids), seq.Int64)
	}
}

// TestTracePreparedAcrossColumns reads a trace through the handle's
// prepared statements, then makes the events table change under them (a
// new attribute column, dense from the start, in another dataset; a new
// overflow type) and reads it and a trace of the new rows again: DuckDB
// must bind the kept statements again, and every value must come back.
func TestTracePreparedAcrossColumns(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{MinColumnEvents: 1})
	ev := func(id byte, ds string, attrs ...model.Attr) model.Event {
		return model.Event{Dataset: ds, ServiceName: ds, Time: time.Unix(int64(100+int(id)), 0).UTC(), TraceID: model.TraceID{15: id},
			SpanID: model.SpanID{id}, Name: "op", SampleRate: 1, Attrs: attrs}
	}
	write := func(evs ...model.Event) {
		t.Helper()
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(id byte, want string) {
		t.Helper()
		for range 2 { // the second read runs the kept statements
			evs, err := s.Trace(ctx, "prod", model.TraceID{15: id})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || fmt.Sprint(evs[0].Attrs) != want {
				t.Fatalf("trace %d: %d events %v, want %s", id, len(evs), evs, want)
			}
		}
	}
	write(ev(1, "a", model.Attr{Key: "k", Value: model.Str("v1")}))
	read(1, fmt.Sprint([]model.Attr{{Key: "k", Value: model.Str("v1")}}))
	kept := len(s.h.stmts)
	if kept == 0 {
		t.Fatal("no statement kept")
	}
	write(ev(2, "b", model.Attr{Key: "dense", Value: model.Str("d")}, model.Attr{Key: "n", Value: model.Int(7)}))
	if e := s.reg.Load().envs["prod"]; len(e.byKey["dense"]) == 0 {
		t.Fatal("no column for the dense key")
	}
	read(1, fmt.Sprint([]model.Attr{{Key: "k", Value: model.Str("v1")}}))
	read(2, fmt.Sprint([]model.Attr{{Key: "dense", Value: model.Str("d")}, {Key: "n", Value: model.Int(7)}}))
	if len(s.h.stmts) <= kept {
		t.Fatalf("%d statements kept, had %d", len(s.h.stmts), kept)
	}
}
