package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestQueryTooLarge runs queries that need more memory than a tiny
// Config.MemoryLimit allows (hash tables over 200,000 distinct values):
// Aggregate, Scan and SelectTraces answer an error that wraps
// store.ErrQueryTooLarge and keeps DuckDB's reason, and the store goes
// on answering queries that fit.
func TestQueryTooLarge(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path})
	start := time.Unix(1000, 0).UTC()
	const n = 200_000
	evs := make([]model.Event, 0, n)
	for i := range n {
		evs = append(evs, model.Event{Dataset: "svc", Time: start.Add(time.Duration(i) * time.Millisecond),
			TraceID: model.TraceID{1, 15: byte(i), 14: byte(i >> 8), 13: byte(i >> 16)}, SpanID: model.SpanID{1},
			Name: fmt.Sprintf("op-%d", i), SampleRate: 1,
			Attrs: []model.Attr{{Key: "id", Value: model.Str(fmt.Sprintf("value-%08d-%s", i, "padding-to-make-the-strings-longer"))}}})
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, Config{Path: path, MemoryLimit: "2MB", Threads: 1})
	end := start.Add(n * time.Millisecond)

	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrQueryTooLarge) {
			t.Fatalf("%s: %v, want an error wrapping store.ErrQueryTooLarge", what, err)
		}
		if msg := err.Error(); !containsAll(msg, store.ErrQueryTooLarge.Error(), "Out of Memory") {
			t.Errorf("%s: the message %q lacks the sentinel's text or DuckDB's reason", what, msg)
		}
	}
	_, err := s.Aggregate(ctx, "prod", store.AggregateQuery{Start: start, End: end,
		Calcs: []store.Calc{{Op: store.CalcCountDistinct, Column: "id"}}, Breakdowns: []string{"name"}})
	check("Aggregate COUNT_DISTINCT by name", err)

	var scanErr error
	for _, err := range s.Scan(ctx, "prod", store.ScanQuery{Start: start, End: end, Limit: n}) {
		if err != nil {
			scanErr = err
			break
		}
	}
	check("Scan of every event, newest first", scanErr)

	// What fits still works.
	res, err := s.Aggregate(ctx, "prod", store.AggregateQuery{Start: start, End: end, Calcs: []store.Calc{{Op: store.CalcCount}}})
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Values[0].Num != n {
		t.Fatalf("a COUNT after: %+v, %v", res.Rows, err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestResultTooLarge: a query whose answer fits DuckDB's memory but not
// Config.MaxResultBytes (2,000 groups of 10 KB values against 1 MiB) fails
// with store.ErrQueryTooLarge instead of holding the answer in Go; the
// same query with fewer groups is answered.
func TestResultTooLarge(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{Path: filepath.Join(t.TempDir(), "db.duckdb"), MaxResultBytes: 1 << 20})
	start := time.Unix(1000, 0).UTC()
	const n = 2000
	evs := make([]model.Event, 0, n)
	for i := range n {
		evs = append(evs, model.Event{Dataset: "svc", Time: start.Add(time.Duration(i) * time.Millisecond),
			Name: "op", SampleRate: 1,
			Attrs: []model.Attr{{Key: "blob", Value: model.Str(fmt.Sprintf("%05d%s", i, strings.Repeat("x", 10_000)))}}})
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	q := store.AggregateQuery{Start: start, End: start.Add(time.Hour),
		Calcs: []store.Calc{{Op: store.CalcCount}}, Breakdowns: []string{"blob"}, Limit: n}
	if _, err := s.Aggregate(ctx, "prod", q); !errors.Is(err, store.ErrQueryTooLarge) || !strings.Contains(err.Error(), "MaxResultBytes") {
		t.Fatalf("2,000 groups of 10 KB: %v, want the answer's size refused with store.ErrQueryTooLarge", err)
	}
	q.Limit = 10
	res, err := s.Aggregate(ctx, "prod", q)
	if err != nil {
		t.Fatalf("10 groups: %v", err)
	}
	if len(res.Rows) != 10 {
		t.Errorf("10 groups: %d rows", len(res.Rows))
	}
}
