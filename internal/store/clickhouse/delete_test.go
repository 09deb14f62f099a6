package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestDeleteMutations: the mutations DeleteColumn and DeleteDataset start
// remove the stored values and rows (reads hide them before that; the
// conformance suite checks that), and touch nothing else.
func TestDeleteMutations(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{})
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ev := func(ds string, n int, attrs ...model.Attr) model.Event {
		return model.Event{Dataset: ds, Time: at, TraceID: model.TraceID{15: byte(n)}, SpanID: model.SpanID{7: byte(n)},
			Name: "op", ServiceName: ds, SampleRate: 1, Attrs: attrs}
	}
	x := func(v model.Value) model.Attr { return model.Attr{Key: "x", Value: v} }
	keep := model.Attr{Key: "keep", Value: model.Str("k")}
	err := s.Write(ctx, []store.Batch{{Env: "test", Events: []model.Event{
		ev("a", 1, x(model.Str("s")), x(model.Int(1)), keep), ev("b", 2, x(model.Int(2))), ev("gone", 3, keep)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteColumn(ctx, "test", "a", "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDataset(ctx, "test", "gone"); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int64 {
		rows, err := s.c.rows(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return rows[0][0].(int64)
	}
	deadline := time.Now().Add(30 * time.Second)
	for count("SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = 'events' AND NOT is_done") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("mutations not done after 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := count("SELECT count() FROM events WHERE name = 'op' AND (has(s_k, 'x') OR has(i_k, 'x')) AND service_name = 'a'"); n != 0 {
		t.Errorf("%d rows of a still hold x", n)
	}
	if n := count("SELECT count() FROM events WHERE s_v = ['k'] AND i_k = [] AND service_name = 'a'"); n != 1 {
		t.Errorf("a's row lost more than x (%d rows as expected)", n)
	}
	if n := count("SELECT count() FROM events WHERE i_v = [2] AND service_name = 'b'"); n != 1 {
		t.Errorf("b's x is gone too (%d rows)", n)
	}
	if n := count("SELECT count() FROM events WHERE service_name = 'gone'"); n != 0 {
		t.Errorf("%d rows of the deleted dataset left", n)
	}
}
