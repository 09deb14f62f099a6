package duckdb

import (
	"context"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestColumnTypeNumbersWiden: a field written as an integer and as a float
// is a float column, whether the integer came first, in the same commit or
// in an earlier one.
func TestColumnTypeNumbersWiden(t *testing.T) {
	ev := func(ds string, v model.Value) model.Event {
		e := model.Event{Dataset: ds, Time: time.Now(), Name: "e", SampleRate: 1, Source: model.SourceEvents}
		e.Set("ratio", v)
		e.Set("label", model.Str("x"))
		return e
	}
	ctx := context.Background()
	s := openTest(t, Config{})
	writes := [][]model.Event{
		{ev("same", model.Int(0)), ev("same", model.Float(0.5))},
		{ev("earlier", model.Int(0))},
		{ev("earlier", model.Float(0.25))},
		{ev("ints", model.Int(3))},
	}
	for _, evs := range writes {
		if err := s.Write(ctx, []store.Batch{{Env: "test", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	for ds, want := range map[string]model.Kind{"same": model.KindFloat, "earlier": model.KindFloat, "ints": model.KindInt} {
		cols, err := s.Columns(ctx, "test", ds)
		if err != nil {
			t.Fatal(err)
		}
		got := model.Kind(255)
		for _, c := range cols {
			if c.KeyName == "ratio" {
				got = c.Type
			}
		}
		if got != want {
			t.Errorf("dataset %s: ratio is %v, want %v", ds, got, want)
		}
	}
}
