package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// floodEvents returns events of dataset ds carrying keys distinct field
// names in all, perEvent per event (the Events API's limit is 2,000), all
// new: what one request with a million attribute keys looks like, scaled.
func floodEvents(ds string, keys, perEvent int) []model.Event {
	var out []model.Event
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for k := 0; k < keys; {
		e := model.Event{Dataset: ds, Time: at, TraceID: model.TraceID{0xf1, byte(len(out) >> 8), byte(len(out))},
			SpanID: model.SpanID{1}, Name: "flood", SampleRate: 1}
		for i := 0; i < perEvent && k < keys; i, k = i+1, k+1 {
			e.Attrs = append(e.Attrs, model.Attr{Key: fmt.Sprintf("flood.key_%07d", k), Value: model.Str("x")})
		}
		out = append(out, e)
	}
	return out
}

// quietEvents are a normal environment's events: n spans of 20 fields.
func quietEvents(n int, at time.Time) []model.Event {
	out := make([]model.Event, n)
	for i := range out {
		e := model.Event{Dataset: "shop", Time: at.Add(time.Duration(i) * time.Millisecond), TraceID: model.TraceID{2, byte(i >> 8), byte(i)},
			SpanID: model.SpanID{1, byte(i)}, Name: "GET /cart", ServiceName: "shop", DurationMs: 3, SampleRate: 1}
		for f := range 20 {
			e.Attrs = append(e.Attrs, model.Attr{Key: fmt.Sprintf("app.field_%02d", f), Value: model.Int(int64(i))})
		}
		out[i] = e
	}
	return out
}

// flush runs one catalog flush and returns how many rows it wrote.
func (s *Store) testFlush(t testing.TB) int64 {
	t.Helper()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	before := s.catalogRowsWritten.Load()
	if err := s.flushCatalog(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.catalogRowsWritten.Load() - before
}

// TestKeyFloodIsolated: one environment's flood of distinct keys, scaled
// down (200k instead of 1M) and checks what made
// every other environment slow is gone, by counting work rather than
// timing it:
//   - the flood is capped: events past the dataset's column limit are
//     refused, the catalog keeps at most the limit;
//   - another environment's Write copies nothing of the flooded
//     environment's catalog (the published registry shares it untouched);
//   - a catalog flush writes a row per field whose time moved since the
//     last one, not the catalog: after the flood, the quiet environment's
//     write costs the same flush rows as before it.
//
// Caps raised out of reach, the flood is stored whole and the last two
// hold all the same: the isolation does not depend on the caps.
func TestKeyFloodIsolated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		capped bool
	}{
		{"capped", Config{}, true},
		{"uncapped", Config{MaxDatasetColumns: 1 << 30, MaxEnvColumns: 1 << 30}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clock := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			tc.cfg.Now = func() time.Time { return clock }
			tc.cfg.CatalogFlushInterval = time.Hour // flushed by hand
			s := openTest(t, tc.cfg)
			quiet := func() {
				t.Helper()
				clock = clock.Add(time.Second)
				if err := s.Write(ctx, []store.Batch{{Env: "b", Events: quietEvents(50, clock)}}); err != nil {
					t.Fatal(err)
				}
			}
			quiet()
			s.testFlush(t)
			quiet()
			baseline := s.testFlush(t)
			// The dataset row, its 20 fields and 6 hot ones (trace and span
			// id, name, service.name, duration_ms, status_code).
			if baseline != 27 {
				t.Fatalf("flush after a quiet write wrote %d rows, want 27", baseline)
			}

			const keys = 200_000
			flood := floodEvents("spam", keys, 2000)
			batches := []store.Batch{{Env: "a", Events: flood}}
			clock = clock.Add(time.Second)
			if err := s.Write(ctx, batches); err != nil {
				t.Fatal(err)
			}
			cols, err := s.Columns(ctx, "a", "spam")
			if err != nil {
				t.Fatal(err)
			}
			if tc.capped {
				if len(batches[0].Refused) == 0 || len(cols) > s.cfg.MaxDatasetColumns {
					t.Fatalf("flood: %d events refused, %d columns kept (limit %d)", len(batches[0].Refused), len(cols), s.cfg.MaxDatasetColumns)
				}
				var overflowKeys int
				if err := s.db.QueryRow(`SELECT count(*) FROM overflow_keys`).Scan(&overflowKeys); err != nil {
					t.Fatal(err)
				}
				if overflowKeys > s.cfg.MaxDatasetColumns+20 {
					t.Errorf("%d overflow keys numbered: refused events' keys reached the catalog", overflowKeys)
				}
			} else if len(batches[0].Refused) != 0 || len(cols) < keys {
				t.Fatalf("uncapped flood: %d refused, %d columns", len(batches[0].Refused), len(cols))
			}
			s.testFlush(t)

			aBefore := s.reg.Load().envs["a"]
			quiet()
			if s.reg.Load().envs["a"] != aBefore {
				t.Error("a write to environment b copied environment a's catalog")
			}
			if got := s.testFlush(t); got != baseline {
				t.Errorf("flush after a quiet write, once the other environment is flooded: %d rows, want %d as before", got, baseline)
			}
			// The flooded environment's next write flushes only what it touched.
			clock = clock.Add(time.Second)
			if err := s.Write(ctx, []store.Batch{{Env: "a", Events: []model.Event{flood[0]}}}); err != nil {
				t.Fatal(err)
			}
			if got := s.testFlush(t); got > 2000+10 {
				t.Errorf("flush after one event of 2000 fields wrote %d rows", got)
			}
			ds, err := s.Datasets(ctx, "b")
			if err != nil || len(ds) != 1 || ds[0].Columns != 26 {
				t.Errorf("datasets of b: %+v, %v", ds, err)
			}
		})
	}
}

// BenchmarkKeyFlood measures the quiet environment's writes and catalog
// reads before and after another environment got 200k distinct keys (caps
// raised out of reach: the worst case). go test -run '^$' -bench KeyFlood.
func BenchmarkKeyFlood(b *testing.B) {
	for _, flooded := range []bool{false, true} {
		b.Run(fmt.Sprintf("flooded=%v", flooded), func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b, Config{MaxDatasetColumns: 1 << 30, MaxEnvColumns: 1 << 30, CatalogFlushInterval: 200 * time.Millisecond})
			if flooded {
				if err := s.Write(ctx, []store.Batch{{Env: "a", Events: floodEvents("spam", 200_000, 2000)}}); err != nil {
					b.Fatal(err)
				}
			}
			// The flood's own checkpoint is not the quiet environment's cost.
			if _, err := s.db.Exec(`CHECKPOINT`); err != nil {
				b.Fatal(err)
			}
			evs := quietEvents(1000, time.Now())
			b.Run("write", func(b *testing.B) {
				for b.Loop() {
					if err := s.Write(ctx, []store.Batch{{Env: "b", Events: evs}}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "spans/s")
			})
			b.Run("small-write", func(b *testing.B) {
				for b.Loop() {
					if err := s.Write(ctx, []store.Batch{{Env: "b", Events: evs[:10]}}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "spans/s")
			})
			b.Run("datasets", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Datasets(ctx, "b"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("columns", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Columns(ctx, "b", "shop"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("flush", func(b *testing.B) {
				for b.Loop() {
					if err := s.Write(ctx, []store.Batch{{Env: "b", Events: evs[:1]}}); err != nil {
						b.Fatal(err)
					}
					s.testFlush(b)
				}
			})
		})
	}
}

// TestColumnLimitLowered: a dataset that has more columns than a limit
// lowered since (a restart with a smaller --max-dataset-columns or
// --max-env-columns) takes events of the fields it has and refuses any
// event bringing a new one. Refused events each cost admit a look-up or
// two once the dataset is full (it stops counting past the room left).
func TestColumnLimitLowered(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path})
	wide := floodEvents("spam", 50, 50)
	if err := s.Write(ctx, []store.Batch{{Env: "a", Events: wide}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{{Path: path, MaxDatasetColumns: 10}, {Path: path, MaxEnvColumns: 10}} {
		s = openTest(t, cfg)
		known := wide[0]
		known.TraceID = model.TraceID{0xee, 1}
		fresh := known
		fresh.TraceID = model.TraceID{0xee, 2}
		fresh.Attrs = append(fresh.Attrs[:1:1], model.Attr{Key: "brand.new", Value: model.Str("x")})
		b := []store.Batch{{Env: "a", Events: []model.Event{known, fresh}}}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if len(b[0].Refused) != 1 || b[0].Refused[0].Index != 1 || !errors.Is(b[0].Refused[0].Err, store.ErrTooManyColumns) {
			t.Fatalf("%+v: refused %+v, want the event with a new field", cfg, b[0].Refused)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
