package duckdb

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/storetest"
)

func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "data", "tracecomb.duckdb")
	}
	if cfg.Threads == 0 {
		cfg.Threads = 2
	}
	s, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store { return openTest(t, Config{}) })
}

// TestConformanceOverflow runs the suite with columns created eagerly but
// room for only one, so every other attribute lives in the overflow maps.
func TestConformanceOverflow(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store {
		return openTest(t, Config{MaxAttributeColumns: 1, MinColumnDensity: -1})
	})
}

// TestConformancePromotion runs the suite with fields judged dense after
// two events, so most fields are promoted from the overflow maps to
// columns partway through a test and reads must see both.
func TestConformancePromotion(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store {
		return openTest(t, Config{MinColumnEvents: 2, MinColumnDensity: 0.2})
	})
}

// TestReopen checks that everything, the catalog included, survives Close
// and Open, and that writes after reopening extend it.
func TestReopen(t *testing.T) {
	for _, maxCols := range []int{1000, 1} {
		t.Run(fmt.Sprintf("maxcols=%d", maxCols), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "db.duckdb")
			clock := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			cfg := Config{Path: path, MaxAttributeColumns: maxCols, Now: now, Threads: 2}
			ev := func(n int, attrs ...model.Attr) model.Event {
				return model.Event{Dataset: "Shop", Time: time.Unix(int64(n), 0).UTC(), TraceID: model.TraceID{1, byte(n)},
					SpanID: model.SpanID{1, byte(n)}, Name: "op", ServiceName: "shop", SampleRate: 1, Attrs: attrs}
			}
			s := openTest(t, cfg)
			e1 := ev(1, model.Attr{Key: "a", Value: model.Str("x")}, model.Attr{Key: "b", Value: model.Int(1)})
			if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e1}}}); err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(time.Hour)
			if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{ev(2, model.Attr{Key: "a", Value: model.Str("y")})}}}); err != nil {
				t.Fatal(err)
			}
			wantDS, _ := s.Datasets(ctx, "prod")
			wantCols, _ := s.Columns(ctx, "prod", "shop")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s2 := openTest(t, cfg)
			gotDS, _ := s2.Datasets(ctx, "prod")
			gotCols, _ := s2.Columns(ctx, "prod", "shop")
			if !reflect.DeepEqual(gotDS, wantDS) {
				t.Errorf("datasets after reopen:\n got %+v\nwant %+v", gotDS, wantDS)
			}
			if !reflect.DeepEqual(gotCols, wantCols) {
				t.Errorf("columns after reopen:\n got %+v\nwant %+v", gotCols, wantCols)
			}
			for _, c := range gotCols {
				if c.KeyName == "a" && !c.LastWritten.Equal(clock) {
					t.Errorf("a last written %v, want %v", c.LastWritten, clock)
				}
				if c.KeyName == "b" && !c.LastWritten.Equal(clock.Add(-time.Hour)) {
					t.Errorf("b last written %v, want %v", c.LastWritten, clock.Add(-time.Hour))
				}
			}
			// New columns and datasets continue the numbering.
			e3 := ev(3, model.Attr{Key: "c", Value: model.Bool(true)}, model.Attr{Key: "a", Value: model.Str("z")})
			e3.Dataset = "other"
			if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e3}}}); err != nil {
				t.Fatal(err)
			}
			got, err := s2.Trace(ctx, "prod", e1.TraceID)
			if err != nil || len(got) != 1 || len(got[0].Attrs) != 2 {
				t.Fatalf("trace after reopen: %+v, %v", got, err)
			}
			got, err = s2.Trace(ctx, "prod", e3.TraceID)
			if err != nil || len(got) != 1 || len(got[0].Attrs) != 2 || got[0].Dataset != "other" {
				t.Fatalf("new trace after reopen: %+v, %v", got, err)
			}
			ds, _ := s2.Datasets(ctx, "prod")
			if len(ds) != 2 {
				t.Fatalf("datasets: %+v", ds)
			}
		})
	}
}

// TestCatalogFlushedPeriodically checks last-written times reach the disk
// without a Close (a crash keeps at most one flush interval of them).
func TestCatalogFlushedPeriodically(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{CatalogFlushInterval: 10 * time.Millisecond})
	e := model.Event{Dataset: "d", Time: time.Now(), TraceID: model.TraceID{1}, SpanID: model.SpanID{1}, Name: "x", SampleRate: 1}
	for range 2 {
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e}}}); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := s.Datasets(ctx, "prod")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var last int64
		if err := s.db.QueryRow(`SELECT coalesce(max(last_ns), 0) FROM catalog_times WHERE kind = 255`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last == want[0].LastWrittenAt.UnixNano() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("persisted last written %d, want %d", last, want[0].LastWrittenAt.UnixNano())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path})
	if _, err := s.db.Exec(`UPDATE format SET version = ?`, formatVersion+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Config{Path: path}, nil)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer format: err %v, want a refusal", err)
	}
}

func TestConfigPathRequired(t *testing.T) {
	if _, err := Open(context.Background(), Config{}, nil); err == nil {
		t.Fatal("Open without a path succeeded")
	}
}

// TestScanSQLGolden pins the SQL a scan compiles to.
func TestScanSQLGolden(t *testing.T) {
	reg := newRegistry()
	reg.nextEnv = 3
	e := reg.ownEnv("prod", true)
	// Only the dataset's own columns are read: a1, not a2.
	e.addField(e.newDataset("api", 1), colKey{"http.status", model.KindInt}, 1)
	e.attr(colKey{"http.status", model.KindInt}, 10, true)
	e.attr(colKey{"http.status", model.KindString}, 10, true)
	e.attr(colKey{"rare", model.KindFloat}, 10, false) // sparse: an overflow list
	start := time.Unix(100, 0)
	q := store.ScanQuery{
		Start: start, End: start.Add(time.Hour), Datasets: []string{"API"},
		TraceIDs:    []model.TraceID{{1}},
		Combination: store.Or,
		Filters: []store.Filter{
			{Column: "http.status", Op: store.OpGe, Value: model.Int(500)},
			{Column: "rare", Op: store.OpLt, Value: model.Float(0.5)},
			{Column: "trace.parent_id", Op: store.OpNotExists},
			{Column: "error", Op: store.OpEq, Value: model.Bool(true)},
		},
		Limit: 50,
	}
	query, args, _, ok, err := scanSQL(e, q)
	if err != nil || !ok {
		t.Fatalf("scanSQL: %v, %v", ok, err)
	}
	got := fmt.Sprintf("%s\n-- args: %#v\n", query, args)
	path := filepath.Join("testdata", "scan.sql")
	golden.Check(t, path, []byte(got))
}

// TestConformanceEagerColumns covers the layout where every field gets a
// column at its first event (MinColumnDensity < 0).
func TestConformanceEagerColumns(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store { return openTest(t, Config{MinColumnDensity: -1}) })
}

// TestUpgradeFrom1 turns a store back into format 1 (no traces_N.ds, no
// attr_columns.promoted, a column per field, overflow fields in MAPs) and
// checks Open upgrades it and reads its traces whole.
func TestUpgradeFrom1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	ev := model.Event{Dataset: "shop", Time: time.Unix(10, 0).UTC(), TraceID: model.TraceID{9}, SpanID: model.SpanID{1},
		Name: "op", SampleRate: 1, Attrs: []model.Attr{{Key: "k", Value: model.Str("v")}, {Key: "o", Value: model.Int(7)}}}
	s := openTest(t, Config{Path: path, MinColumnDensity: -1, MaxAttributeColumns: 1, TraceIndexFlushRows: 1})
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{ev}}}); err != nil {
		t.Fatal(err)
	}
	var buckets []string
	for b := range tracesBuckets {
		buckets = append(buckets, fmt.Sprintf(`SELECT trace_hi, trace_lo, min_ts, max_ts FROM traces_1_%d`, b))
	}
	back := []string{`CREATE TABLE traces_1 AS ` + strings.Join(buckets, " UNION ALL "), `ALTER TABLE attr_columns DROP COLUMN promoted`}
	for b := range tracesBuckets {
		back = append(back, fmt.Sprintf(`DROP TABLE traces_1_%d`, b))
	}
	for k := model.KindString; k <= model.KindBool; k++ {
		m, ks, vs := formerOverflowMaps[k], overflowKeys[k], overflowVals[k]
		back = append(back,
			`ALTER TABLE events_1 ADD COLUMN `+m+` MAP(VARCHAR, `+attrSQLType(k)+`)`,
			`UPDATE events_1 SET `+m+` = map(list_transform(`+ks+`, x -> km.names[x]), `+vs+`) FROM (SELECT map(list(id), list(key)) AS names FROM overflow_keys WHERE env = 1) AS km WHERE `+ks+` IS NOT NULL`,
			`ALTER TABLE events_1 DROP COLUMN `+ks, `ALTER TABLE events_1 DROP COLUMN `+vs)
	}
	back = append(back, `DROP TABLE overflow_keys`, `DROP TABLE trace_index_state`, `ALTER TABLE events_1 DROP COLUMN wseq`,
		`UPDATE format SET version = 1`)
	for _, q := range back {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, Config{Path: path})
	var v int
	if err := s2.db.QueryRow(`SELECT version FROM format`).Scan(&v); err != nil || v != formatVersion {
		t.Fatalf("format version %d (%v), want %d", v, err, formatVersion)
	}
	ev2 := ev
	ev2.SpanID = model.SpanID{2}
	ev2.Time = ev.Time.Add(time.Second)
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{ev2}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s2.Trace(ctx, "prod", ev.TraceID)
	if err != nil || len(got) != 2 {
		t.Fatalf("trace after upgrade: %+v, %v", got, err)
	}
	for _, g := range got {
		if !reflect.DeepEqual(g.Attrs, ev.Attrs) {
			t.Errorf("attributes after upgrade %+v, want %+v", g.Attrs, ev.Attrs)
		}
	}
	n := 0
	for _, err := range s2.Scan(ctx, "prod", store.ScanQuery{Filters: []store.Filter{{Column: "o", Op: store.OpEq, Value: model.Int(7)}}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("filter on the overflow field after upgrade matched %d events, want 2", n)
	}
}

// TestConformanceIndexEveryWrite runs the suite with the trace index
// written to its tables in every commit (the default keeps the rows of
// small writes in memory until Close).
func TestConformanceIndexEveryWrite(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store { return openTest(t, Config{TraceIndexFlushRows: 1}) })
}

// TestTraceIndexRecovery loses the in-memory trace index rows, as a crash
// would, and checks Open rebuilds them from the events: every trace is
// found again, and later writes and lookups work.
func TestTraceIndexRecovery(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	cfg := Config{Path: path, TraceIndexFlushRows: 25}
	s := openTest(t, cfg)
	var ids []model.TraceID
	for w := 0; w < 5; w++ {
		var evs []model.Event
		for tr := 0; tr < 10; tr++ {
			id := model.TraceID{byte(w), byte(tr), 0xf0 + byte(tr)} // spread over buckets via the last bytes
			id[8] = byte(tr * 17)
			ids = append(ids, id)
			for sp := 0; sp < 3; sp++ {
				evs = append(evs, model.Event{Dataset: fmt.Sprint("svc-", sp), Time: time.Unix(int64(1000+w*10+sp), 0).UTC(),
					TraceID: id, SpanID: model.SpanID{byte(sp + 1)}, Name: "op", SampleRate: 1})
			}
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	var inTables int
	for b := range tracesBuckets {
		var n int
		if err := s.db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM traces_1_%d`, b)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		inTables += n
	}
	if inTables == 0 || inTables >= len(ids) {
		t.Fatalf("%d of %d traces in the index tables; want some but not all (the rest pending)", inTables, len(ids))
	}
	s.idx = newTraceIndex() // the crash: pending rows gone
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, cfg)
	for _, id := range ids {
		got, err := s2.Trace(ctx, "prod", id)
		if err != nil || len(got) != 3 {
			t.Fatalf("trace %s after recovery: %d events, %v", id, len(got), err)
		}
	}
	var indexed int64
	if err := s2.db.QueryRow(`SELECT wseq FROM trace_index_state WHERE env = 1`).Scan(&indexed); err != nil || indexed != 5 {
		t.Fatalf("indexed up to write %d (%v), want 5", indexed, err)
	}
	id := model.TraceID{9, 9, 9}
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{{Dataset: "svc-0", Time: time.Unix(5000, 0).UTC(),
		TraceID: id, SpanID: model.SpanID{1}, Name: "op", SampleRate: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if s2.wseq != 6 {
		t.Errorf("write sequence %d after reopen and one write, want 6", s2.wseq)
	}
	if got, err := s2.Trace(ctx, "prod", id); err != nil || len(got) != 1 {
		t.Fatalf("new trace: %d events, %v", len(got), err)
	}
}

// TestPromotion writes a field on every event and one on a tenth of them:
// both start in the overflow map; after MinColumnEvents events the dense
// one gets a column, marked promoted, and the sparse one never does.
// Filters and traces see every value, before and after a reopen.
func TestPromotion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	cfg := Config{Path: path, MinColumnEvents: 100}
	s := openTest(t, cfg)
	const n = 300
	var traceOfFirst model.TraceID
	for b := 0; b < n/50; b++ {
		evs := make([]model.Event, 50)
		for i := range evs {
			k := b*50 + i
			evs[i] = model.Event{Dataset: "shop", Time: time.Unix(int64(100+k), 0).UTC(),
				TraceID: model.TraceID{byte(k >> 8), byte(k), 1}, SpanID: model.SpanID{1}, Name: "op", SampleRate: 1,
				Attrs: []model.Attr{{Key: "dense", Value: model.Str(fmt.Sprint("v", k%7))}}}
			if k%10 == 0 {
				evs[i].Attrs = append(evs[i].Attrs, model.Attr{Key: "sparse", Value: model.Int(int64(k))})
			}
			if k == 0 {
				traceOfFirst = evs[i].TraceID
			}
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store, when string) {
		t.Helper()
		var cols []string
		rows, err := s.db.Query(`SELECT key || ':' || promoted FROM attr_columns ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, c)
		}
		rows.Close()
		if fmt.Sprint(cols) != "[dense:true]" {
			t.Errorf("%s: attribute columns %v, want [dense:true]", when, cols)
		}
		for _, tc := range []struct {
			f    store.Filter
			want int
		}{
			{store.Filter{Column: "dense", Op: store.OpEq, Value: model.Str("v3")}, 43},
			{store.Filter{Column: "dense", Op: store.OpExists}, n},
			{store.Filter{Column: "sparse", Op: store.OpGe, Value: model.Int(150)}, 15},
		} {
			got := 0
			for _, err := range s.Scan(ctx, "prod", store.ScanQuery{Filters: []store.Filter{tc.f}}) {
				if err != nil {
					t.Fatal(err)
				}
				got++
			}
			if got != tc.want {
				t.Errorf("%s: %v matched %d events, want %d", when, tc.f, got, tc.want)
			}
		}
		tr, err := s.Trace(ctx, "prod", traceOfFirst)
		if err != nil || len(tr) != 1 || len(tr[0].Attrs) != 2 {
			t.Errorf("%s: first trace %+v, %v", when, tr, err)
		}
	}
	check(s, "before reopen")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openTest(t, cfg), "after reopen")
}

// TestUpgradeTo4 stores X-Ray and OTel events in one environment as format
// 3 did, and checks Open moves the X-Ray ones into the environment's X-Ray
// part, with the datasets and columns only they had.
func TestUpgradeTo4(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	at := time.Unix(1795608000, 0).UTC()
	otel := model.Event{Dataset: "backend-flask", Time: at, Source: model.SourceOTLP, TraceID: model.TraceID{1}, SpanID: model.SpanID{1},
		Name: "GET /api/activities/home", ServiceName: "backend-flask", SpanKind: "server", SampleRate: 1,
		Attrs: []model.Attr{{Key: "http.route", Value: model.Str("/api/activities/home")}}}
	seg := func(ds string, span byte, key string) model.Event {
		return model.Event{Dataset: ds, Time: at.Add(time.Millisecond), Source: model.SourceXRay, TraceID: model.TraceID{2}, SpanID: model.SpanID{span},
			Name: ds, ServiceName: ds, SpanKind: "server", SampleRate: 1, Doc: []byte(`{"name":"` + ds + `"}`),
			Attrs: []model.Attr{{Key: key, Value: model.Bool(true)}}}
	}
	s := openTest(t, Config{Path: path})
	if err := s.Write(ctx, []store.Batch{{Env: "test", Events: []model.Event{
		otel, seg("127.0.0.1:4567", 2, "aws.xray.sampled"), seg("backend-flask", 3, "aws.xray.only"),
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE format SET version = 3`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openTest(t, Config{Path: path})
	var v int
	if err := s2.db.QueryRow(`SELECT version FROM format`).Scan(&v); err != nil || v != formatVersion {
		t.Fatalf("format version %d (%v), want %d", v, err, formatVersion)
	}
	names := func(env string) []string {
		list, err := s2.Datasets(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range list {
			out = append(out, d.Name)
		}
		return out
	}
	xrayEnv := store.DoorEnv("test", model.DoorXRay)
	if got := names("test"); !reflect.DeepEqual(got, []string{"backend-flask"}) {
		t.Errorf("Honeycomb's datasets after the upgrade: %v", got)
	}
	if got := names(xrayEnv); !reflect.DeepEqual(got, []string{"127.0.0.1:4567", "backend-flask"}) {
		t.Errorf("X-Ray's datasets after the upgrade: %v", got)
	}
	cols, err := s2.Columns(ctx, "test", "backend-flask")
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, c := range cols {
		has[c.KeyName] = true
	}
	if !has["http.route"] || has["aws.xray.only"] {
		t.Errorf("Honeycomb's columns of backend-flask after the upgrade: %v", has)
	}
	if got, err := s2.Trace(ctx, "test", model.TraceID{2}); err != nil || len(got) != 0 {
		t.Errorf("the X-Ray trace is still in Honeycomb's part: %d events, %v", len(got), err)
	}
	got, err := s2.Trace(ctx, xrayEnv, model.TraceID{2})
	if err != nil || len(got) != 2 {
		t.Fatalf("the X-Ray trace in its part: %d events, %v", len(got), err)
	}
	for _, g := range got {
		if g.Source != model.SourceXRay || string(g.Doc) != `{"name":"`+g.Dataset+`"}` {
			t.Errorf("moved event %+v", g)
		}
	}
	if got, err := s2.Trace(ctx, "test", model.TraceID{1}); err != nil || len(got) != 1 || got[0].Name != otel.Name {
		t.Errorf("the OTel trace after the upgrade: %+v, %v", got, err)
	}
	if err := s2.Close(); err != nil { // the catalog flush keeps the cut datasets out
		t.Fatal(err)
	}
	s3 := openTest(t, Config{Path: path})
	if list, _ := s3.Datasets(ctx, "test"); len(list) != 1 {
		t.Errorf("after reopening, Honeycomb's datasets: %+v", list)
	}
}
