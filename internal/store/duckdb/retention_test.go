package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// metricValue gathers the store's metrics and returns the value of name
// with label env ("" for none), and whether it was there.
func metricValue(t *testing.T, s *Store, name, env string) (float64, bool) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if env != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != env) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func countEvents(t *testing.T, s *Store, env string) (n int64, oldest time.Time) {
	t.Helper()
	for ev, err := range s.Scan(context.Background(), env, store.ScanQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		oldest = ev.Time
	}
	return n, oldest
}

// TestRetentionByAge (DuckDB never shrinks its file by itself): an hour of events under a
// 10-minute age limit keeps the last 10 minutes, the file shrinks, reads
// and writes go on, and /metrics reports it.
func TestRetentionByAge(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 5, 1, 13, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path, Now: func() time.Time { return end }, RetentionInterval: time.Hour, CompactMinFree: 1 << 20})
	// Spans of ~400 bytes (the generator's eleven fields and a random
	// payload), so that the data outweighs the store's fixed ~6 MB (every
	// table takes a block or two of 256 KiB).
	const spans = 120_000
	g := newGen(7)
	rng := rand.New(rand.NewPCG(3, 4))
	var firstTrace, lastTrace model.TraceID
	for i := 0; i < spans; i += 1000 {
		evs, ids := g.batch(1000)
		for j := range evs {
			evs[j].Time = end.Add(-time.Hour + time.Duration(i+j)*time.Hour/spans)
			evs[j].Attrs = append(evs[j].Attrs, model.Attr{Key: "payload", Value: model.Str(randomText(rng, 150))})
		}
		if i == 0 {
			firstTrace = ids[0]
		}
		lastTrace = ids[len(ids)-1]
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Exec(`CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	before := fileSize(path)
	if err := s.enforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := countEvents(t, s, "prod"); n != spans {
		t.Fatalf("without a retention limit %d of %d events are left", n, spans)
	}
	if err := s.SetRetention(ctx, "prod", &store.Retention{MaxAge: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.enforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	after := fileSize(path)
	n, oldest := countEvents(t, s, "prod")
	want := int64(spans / 6)
	if n < want-1000 || n > want+1000 || oldest.Before(end.Add(-10*time.Minute)) {
		t.Fatalf("kept %d events (want ~%d), oldest %v (cutoff %v)", n, want, oldest, end.Add(-10*time.Minute))
	}
	if after*2 > before {
		t.Errorf("file %d bytes before retention, %d after: it did not shrink", before, after)
	}
	t.Logf("1 h of %d spans, 10 min kept: %d events; file %d → %d bytes; enforcement (delete, checkpoint, compaction) took %v",
		spans, n, before, after, took)

	if got, err := s.Trace(ctx, "prod", firstTrace); err != nil || len(got) != 0 {
		t.Errorf("the first trace after retention: %d events, %v", len(got), err)
	}
	if got, err := s.Trace(ctx, "prod", lastTrace); err != nil || len(got) == 0 {
		t.Errorf("the last trace after retention: %d events, %v", len(got), err)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_retention_deleted_events_total", "prod"); !ok || int64(v) != spans-n {
		t.Errorf("deleted events metric %v (%v), want %d", v, ok, spans-n)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_oldest_event_timestamp_seconds", "prod"); !ok || int64(v) != oldest.Unix() {
		t.Errorf("oldest event metric %v (%v), want %d", v, ok, oldest.Unix())
	}
	if v, ok := metricValue(t, s, "tracecomb_store_environment_disk_bytes", "prod"); !ok || v <= 0 || int64(v) > after {
		t.Errorf("environment bytes metric %v (%v), file %d", v, ok, after)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_compactions_total", ""); !ok || v != 1 {
		t.Errorf("compactions metric %v (%v), want 1", v, ok)
	}
	// The store goes on: writes, catalog, reopen.
	evs, _ := g.batch(10)
	for i := range evs {
		evs[i].Time = end
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.Datasets(ctx, "prod"); err != nil || len(ds) != 10 {
		t.Fatalf("datasets after compaction: %d, %v", len(ds), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, Config{Path: path, Now: func() time.Time { return end }, RetentionInterval: time.Hour})
	if got, _ := countEvents(t, s2, "prod"); got != n+10 {
		t.Fatalf("after reopening: %d events, want %d", got, n+10)
	}
	if r, _ := s2.Retention(ctx, "prod"); r.MaxAge != 10*time.Minute {
		t.Errorf("the override did not survive: %+v", r)
	}
}

// randomText returns n random lowercase letters: text that compresses to
// ~60% of its length.
func randomText(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}

// dirSize is the bytes of every file in dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// TestRetentionBySize ingests twice a 32 MiB size limit while the
// retention loop runs, and checks the data directory never exceeds the
// limit by more than 10%, and that the newest events are the ones kept.
func TestRetentionBySize(t *testing.T) {
	if testing.Short() {
		t.Skip("sustained ingest")
	}
	ctx := context.Background()
	const limit = 32 << 20
	dir := filepath.Join(t.TempDir(), "data")
	s := openTest(t, Config{Path: filepath.Join(dir, "db.duckdb"), RetentionInterval: time.Second,
		Retention: store.Retention{MaxBytes: limit}, CompactMinFree: 1 << 20})

	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n := dirSize(t, dir); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	const payload = 2000
	var written int64
	for i := 0; written < 2*limit; i++ {
		evs := make([]model.Event, 100)
		for j := range evs {
			at = at.Add(time.Millisecond)
			evs[j] = model.Event{Dataset: "svc", Time: at, TraceID: model.TraceID{byte(i >> 8), byte(i), byte(j >> 8), byte(j), 9},
				SpanID: model.SpanID{1, byte(j)}, Name: "op", ServiceName: "svc", DurationMs: 1, SampleRate: 1,
				Attrs: []model.Attr{{Key: "payload", Value: model.Str(randomText(rng, payload))}}}
			written += payload
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.enforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	final := dirSize(t, dir)
	n, oldest := countEvents(t, s, "prod")
	t.Logf("wrote %d payload bytes under a %d-byte limit: directory peak %d, final %d; %d events kept, oldest %v, newest %v",
		written, limit, peak.Load(), final, n, oldest, at)
	if peak.Load() > limit*11/10 {
		t.Errorf("the data directory reached %d bytes, more than the %d limit + 10%%", peak.Load(), limit)
	}
	if n == 0 || n*payload > limit {
		t.Errorf("%d events kept", n)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_retention_deleted_events_total", "prod"); !ok || v == 0 {
		t.Errorf("deleted events metric %v (%v)", v, ok)
	}
	for ev, err := range s.Scan(ctx, "prod", store.ScanQuery{Limit: 1}) {
		if err != nil || !ev.Time.Equal(at) {
			t.Errorf("newest event %v (%v), want the last written, %v", ev.Time, err, at)
		}
	}
}

func TestParseBytes(t *testing.T) {
	f := func(in string, want int64) {
		t.Helper()
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("64MB", 64_000_000)
	f("16MiB", 16<<20)
	f("1.5GB", 1_500_000_000)
	f("512", 512)
	f(" 2 kib ", 2048)
	for _, bad := range []string{"", "MB", "12 parsecs"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) succeeded", bad)
		}
	}
}

// TestCompactLeftoversRemoved: a compaction interrupted before its rename
// leaves a partial copy, which Open deletes; the store's file is whole.
func TestCompactLeftoversRemoved(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path})
	e := model.Event{Dataset: "d", Time: time.Unix(1, 0), TraceID: model.TraceID{1}, SpanID: model.SpanID{1}, Name: "x", SampleRate: 1}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{e}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path + compactSuffix, path + compactSuffix + ".wal"} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s2 := openTest(t, Config{Path: path})
	for _, p := range []string{path + compactSuffix, path + compactSuffix + ".wal"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if n, _ := countEvents(t, s2, "prod"); n != 1 {
		t.Errorf("%d events after reopening, want 1", n)
	}
}

// TestCompactWhileReading swaps the file under readers: reads started
// before the swap finish on the old file, reads during it wait for the new
// one, and none fails; a scan joining two doors (two scans of the store
// at once) does not deadlock the swap.
func TestCompactWhileReading(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path, RetentionInterval: time.Hour, CompactMinFree: 1})
	g := newGen(11)
	var ids []model.TraceID
	for i := range 20 {
		evs, tids := g.batch(1000)
		ids = append(ids, tids...)
		env := "prod"
		if i%2 == 1 {
			env = store.DoorEnv("prod", model.DoorXRay)
		}
		if err := s.Write(ctx, []store.Batch{{Env: env, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteDataset(ctx, "prod", "service-1"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	errs := make(chan error, 100)
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Trace(ctx, "prod", ids[(r*7+i)%len(ids)]); err != nil {
					errs <- fmt.Errorf("trace: %w", err)
				}
				for _, err := range s.Scan(ctx, "prod", store.ScanQuery{Limit: 50}) {
					if err != nil {
						errs <- fmt.Errorf("scan: %w", err)
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // joined doors: two scans at once, which may be cancelled but must end
		defer wg.Done()
		both := store.DoorView(s, model.DoorHoneycomb, model.DoorXRay)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range both.Scan(ctx, "prod", store.ScanQuery{Limit: 10}) {
			}
		}
	}()
	for range 3 {
		if err := s.compact(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v, _ := metricValue(t, s, "tracecomb_store_compactions_total", ""); v != 3 {
		t.Errorf("%v compactions, want 3", v)
	}
}

// TestRetentionReport: the report names the bounds in force and where they
// come from, sums an environment's door parts, measures before the first
// pass, and SetRetention enforces the new setting at once (not at the next
// interval); /metrics has the bounds and the last pass.
func TestRetentionReport(t *testing.T) {
	ctx := context.Background()
	end := time.Now()
	def := store.Retention{MaxAge: 72 * time.Hour, MaxBytes: 1 << 30}
	s := openTest(t, Config{Path: filepath.Join(t.TempDir(), "db.duckdb"), Retention: def, RetentionInterval: time.Hour})
	g := newGen(11)
	for i, env := range []string{"prod", store.DoorEnv("prod", model.DoorXRay)} {
		evs, _ := g.batch(1000)
		for j := range evs {
			evs[j].Time = end.Add(-time.Duration(2*i+1)*time.Hour + time.Duration(j)*time.Second)
		}
		if err := s.Write(ctx, []store.Batch{{Env: env, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.RetentionReport(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != 0 || rep.WALBytes == 0 {
		t.Errorf("before a checkpoint the events are in the WAL: %d bytes in the file, WAL %d", rep.Bytes, rep.WALBytes)
	}
	if _, err := s.db.Exec(`CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	if err := s.refreshStats(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err = s.RetentionReport(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	if rep.Own || rep.Retention != def || rep.Default != def || !rep.LastPass.IsZero() || rep.Measured.IsZero() || rep.Interval != time.Hour {
		t.Errorf("before any pass: %+v", rep)
	}
	if want := end.Add(-3 * time.Hour); rep.Oldest.Sub(want).Abs() > time.Second || rep.Bytes <= 0 {
		t.Errorf("oldest %v (want %v, the X-Ray part's), bytes %d", rep.Oldest, want, rep.Bytes)
	}
	own := store.Retention{MaxAge: 2 * time.Hour}
	if err := s.SetRetention(ctx, "prod", &own); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for rep.LastPass.IsZero() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if rep, err = s.RetentionReport(ctx, "prod"); err != nil {
			t.Fatal(err)
		}
	}
	if rep.LastPass.IsZero() {
		t.Fatal("no retention pass within 30 s of SetRetention (interval 1 h)")
	}
	if !rep.Own || rep.Retention != own || rep.Default != def || rep.Deleted != 1000 || rep.Oldest.Before(end.Add(-2*time.Hour)) {
		t.Errorf("after SetRetention and a pass: %+v", rep)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_retention_max_age_seconds", "prod"); !ok || v != 7200 {
		t.Errorf("max age metric %v (%v)", v, ok)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_retention_max_bytes", "prod"); !ok || v != 0 {
		t.Errorf("max bytes metric %v (%v), want 0 (the own setting has no size bound)", v, ok)
	}
	if v, ok := metricValue(t, s, "tracecomb_store_retention_last_run_timestamp_seconds", ""); !ok || v < float64(end.Unix()) {
		t.Errorf("last run metric %v (%v)", v, ok)
	}
	if other, err := s.RetentionReport(ctx, "other"); err != nil || other.Own || other.Retention != def || other.Bytes != 0 || !other.Oldest.IsZero() {
		t.Errorf("an environment without events or a setting: %+v, %v", other, err)
	}
}
