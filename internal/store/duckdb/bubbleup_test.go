package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestBubbleUpCounts checks the single-pass count by hand: a key written
// with two types (counted as text), a bucketed float, a column no event
// has, sample rates, usage mode, the limit and the datasets; with the
// attributes in the overflow lists and in columns of their own.
func TestBubbleUpCounts(t *testing.T) {
	for name, cfg := range map[string]Config{
		"overflow lists": {},
		"columns":        {MinColumnEvents: 2, MinColumnDensity: 0.2},
	} {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, cfg)
			ctx := context.Background()
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			var evs []model.Event
			for i := range 10 {
				k := model.Str("a")
				if i >= 5 {
					k = model.Int(7)
				}
				rate := int64(1)
				if i == 9 {
					rate = 4
				}
				e := model.Event{Dataset: "d", Name: "n", Time: t0.Add(time.Duration(i) * time.Second), SampleRate: rate, Source: model.SourceOTLP,
					Attrs: []model.Attr{{Key: "k", Value: k}, {Key: "n", Value: model.Float(float64(i))}}}
				e.SpanID[0] = byte(i + 1)
				evs = append(evs, e)
			}
			if err := s.Write(ctx, []store.Batch{{Env: "e", Events: evs}}); err != nil {
				t.Fatal(err)
			}
			q := store.AggregateQuery{Start: t0, End: t0.Add(time.Minute), Datasets: []string{"d"}}
			// Selected: n >= 5 from t0+6s: events 6, 7, 8, 9 (weights 1, 1, 1, 4).
			sel := []store.Filter{{Column: "n", Op: store.OpGe, Value: model.Float(5)}}
			cols := []string{"k", "n", "missing", ""}
			buckets := map[string][2]float64{"n": {0, 2.5}}
			got, err := s.BubbleUpCounts(ctx, "e", q, sel, t0.Add(6*time.Second), time.Time{}, cols, buckets, 1000)
			if err != nil {
				t.Fatal(err)
			}
			want := [][]string{
				{"7: 7/8", "a: 0/5"},
				{"7.5: 5/5", "5: 2/3", "0: 0/3", "2.5: 0/2"},
				{"<nil>: 7/13"},
				{"<nil>: 7/13"},
			}
			check := func(what string, got [][]store.Row, want [][]string) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d columns, want %d", what, len(got), len(want))
				}
				for i := range want {
					var g []string
					for _, r := range got[i] {
						g = append(g, fmt.Sprintf("%v: %v/%v", r.Group[0], r.Values[0].Num, r.Values[1].Num))
					}
					if fmt.Sprint(g) != fmt.Sprint(want[i]) {
						t.Errorf("%s: column %q: %v, want %v", what, cols[i], g, want[i])
					}
				}
			}
			check("weighted", got, want)

			q.UsageMode = true
			got, err = s.BubbleUpCounts(ctx, "e", q, sel, t0.Add(6*time.Second), time.Time{}, cols[:1], nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			check("usage mode, limit 1", got, [][]string{{"7: 4/5"}})

			q.Datasets = []string{"nope"}
			got, err = s.BubbleUpCounts(ctx, "e", q, sel, time.Time{}, time.Time{}, cols, buckets, 10)
			if err != nil || len(got) != len(cols) || len(got[0]) != 0 {
				t.Errorf("unknown dataset: %v %v, want no rows", got, err)
			}
			q.Datasets = nil
			q.CalculatedFields = []store.CalculatedField{{Name: "x", Expr: store.Expr{Column: "n"}}}
			if _, err := s.BubbleUpCounts(ctx, "e", q, sel, time.Time{}, time.Time{}, cols, buckets, 10); err == nil {
				t.Error("calculated fields were taken")
			}
		})
	}
}
