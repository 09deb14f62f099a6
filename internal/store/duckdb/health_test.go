package duckdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/disktest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// waitHealthy polls Healthy until it returns nil (the deadline only stops
// a broken test from hanging).
func waitHealthy(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := s.Healthy(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spanBatch returns n spans of trace number tr, with a payload of size
// bytes each.
func spanBatch(tr, n, size int) []model.Event {
	evs := make([]model.Event, n)
	for i := range evs {
		evs[i] = model.Event{Dataset: "svc", Time: time.Unix(int64(1_700_000_000+tr), int64(i)).UTC(),
			TraceID: model.TraceID{0xd1, byte(tr >> 16), byte(tr >> 8), byte(tr)}, SpanID: model.SpanID{1, byte(i >> 8), byte(i)},
			Name: "op", ServiceName: "svc", DurationMs: 1, SampleRate: 1,
			Attrs: []model.Attr{{Key: "payload", Value: model.Str(fmt.Sprintf("%0*d", size, tr*100000+i))}}}
	}
	return evs
}

// TestDurableCommitWithFailedCheckpoint reproduces a checkpoint failing
// inside a durable commit without filling a disk: DuckDB's
// debug_checkpoint_abort makes the checkpoint a commit runs fail after the
// commit reached the WAL, the way a full disk did. DuckDB then answers
// "Transaction COMMIT succeeded and is durable, but the autocheckpoint
// failed" and invalidates the database. The Write must succeed (its events
// are durable), and the store must reopen itself and go on, losing
// nothing.
func TestDurableCommitWithFailedCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	s := openTest(t, Config{Path: path, RecoveryInterval: 50 * time.Millisecond})
	write := func(tr int) error {
		return s.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(tr, 100, 10)}})
	}
	if err := write(1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SET GLOBAL debug_checkpoint_abort = 'before_header'`, `SET GLOBAL checkpoint_threshold = '1KB'`} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := write(2); err != nil {
		t.Fatalf("a commit that succeeded, whose checkpoint failed, was answered %v", err)
	}
	waitHealthy(t, s)
	if err := write(3); err != nil {
		t.Fatalf("write after the store reopened itself: %v", err)
	}
	for tr := 1; tr <= 3; tr++ {
		got, err := s.Trace(ctx, "prod", spanBatch(tr, 1, 10)[0].TraceID)
		if err != nil || len(got) != 100 {
			t.Errorf("trace %d: %d events, %v", tr, len(got), err)
		}
	}
	if v, _ := metricValue(t, s, "tracecomb_store_durable_commits_failed_checkpoint_total", ""); v != 1 {
		t.Errorf("durable commits with a failed checkpoint: %v, want 1", v)
	}
	if v, _ := metricValue(t, s, "tracecomb_store_reopens_total", ""); v < 1 {
		t.Errorf("reopens: %v, want at least 1", v)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, Config{Path: path})
	if n, _ := countEvents(t, s2, "prod"); n != 300 {
		t.Fatalf("%d events after reopening, want 300", n)
	}
}

// TestDiskFull fills a 64 MiB tmpfs (run as root): ingest until the disk is full, with checkpoints on the way,
// one of which fails on the full disk inside a commit that is durable
// (asserted: the case that once left the store broken). Every Write either succeeds
// or answers store.ErrNoSpace; reads keep working; Healthy says the store
// cannot write; once space is freed the store writes again by itself;
// nothing acknowledged is lost, and nothing answered ErrNoSpace is
// stored (a retry would store it twice). Then the
// store is closed, the disk filled completely, and it must start: reads
// work, writes answer ErrNoSpace, and it writes again once space is freed.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := disktest.Tmpfs(t, "64m")
	data := filepath.Join(dir, "data")
	path := filepath.Join(data, "db.duckdb")
	cfg := Config{Path: path, CheckpointThreshold: "4MB", RecoveryInterval: 50 * time.Millisecond, MinFreeBytes: 4 << 20}
	s := openTest(t, cfg)
	ballast := disktest.Fill(t, dir, "ballast", 12<<20)

	acked, refused := map[int]bool{}, map[int]bool{}
	var noSpace int
	tr := 0
	for noSpace < 20 && tr < 100_000 {
		tr++
		err := s.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(tr, 200, 200)}})
		switch {
		case err == nil:
			acked[tr] = true
		case errors.Is(err, store.ErrNoSpace):
			noSpace++
			refused[tr] = true
		default:
			t.Fatalf("write %d on a full disk: %v, want ErrNoSpace", tr, err)
		}
	}
	if noSpace == 0 {
		t.Fatal("the disk never filled")
	}
	if err := s.Healthy(ctx); !errors.Is(err, store.ErrNoSpace) {
		t.Errorf("Healthy on a full disk: %v, want ErrNoSpace", err)
	}
	stored, _ := countEvents(t, s, "prod")
	if stored < int64(len(acked))*200 {
		t.Fatalf("reading on a full disk: %d events, %d acknowledged", stored, len(acked)*200)
	}
	s.health.mu.Lock()
	durable, reopens := s.health.durableFailures, s.health.reopens
	s.health.mu.Unlock()
	t.Logf("%d writes acknowledged, %d answered ErrNoSpace; durable commits whose checkpoint failed: %d, reopens: %d",
		len(acked), noSpace, durable, reopens)
	// The sizes above make a checkpoint run on the full disk (the WAL
	// passes 4 MB with less than that free) inside a commit whose WAL
	// write succeeded: the case that once left the store broken. Without it this test
	// would pass without testing it.
	if durable < 1 || reopens < 1 {
		t.Fatalf("no checkpoint failed on the full disk (durable commits whose checkpoint failed: %d, reopens: %d): the test no longer reproduces a checkpoint failing on a full disk",
			durable, reopens)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, s)
	for {
		tr++
		err := s.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(tr, 200, 200)}})
		if err == nil {
			acked[tr] = true
			break
		}
		if !errors.Is(err, store.ErrNoSpace) {
			t.Fatalf("write after freeing space: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the store is reopening
	}
	checkAcked(t, s, acked)
	checkRefused(t, s, acked, refused)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Start on a full disk.
	full := disktest.Fill(t, dir, "full", 0)
	s2 := openTest(t, cfg)
	t.Logf("started on a full disk, read-only: %v", s2.h.readOnly)
	checkAcked(t, s2, acked)
	checkRefused(t, s2, acked, refused)
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(tr+1, 10, 10)}}); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("write after starting on a full disk: %v, want ErrNoSpace", err)
	}
	if err := s2.Healthy(ctx); !errors.Is(err, store.ErrNoSpace) {
		t.Errorf("Healthy after starting on a full disk: %v, want ErrNoSpace", err)
	}
	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, s2)
	tr++
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(tr, 10, 10)}}); err != nil {
		t.Fatalf("write once space is back: %v", err)
	}
	checkAcked(t, s2, acked)
	if err := s2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// checkAcked checks every acknowledged trace is there whole.
func checkAcked(t *testing.T, s *Store, acked map[int]bool) {
	t.Helper()
	for tr := range acked {
		got, err := s.Trace(context.Background(), "prod", spanBatch(tr, 1, 1)[0].TraceID)
		if err != nil || len(got) != 200 {
			t.Fatalf("acknowledged trace %d: %d of 200 events, %v", tr, len(got), err)
		}
	}
}

// checkRefused checks, scanning every stored event, that no write answered
// ErrNoSpace was stored, not even in part (its sender retries it, and
// would store it twice), and that nothing else is there but acknowledged
// traces.
func checkRefused(t *testing.T, s *Store, acked, refused map[int]bool) {
	t.Helper()
	per := map[int]int{}
	for ev, err := range s.Scan(context.Background(), "prod", store.ScanQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		per[int(ev.TraceID[1])<<16|int(ev.TraceID[2])<<8|int(ev.TraceID[3])]++
	}
	for tr, n := range per {
		switch {
		case refused[tr]:
			t.Fatalf("trace %d, whose write answered ErrNoSpace: %d events stored", tr, n)
		case !acked[tr]:
			t.Fatalf("trace %d stored (%d events), which no acknowledged write sent", tr, n)
		}
	}
}

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStartOnFullDiskAfterCrash: a data directory left by a crash (a WAL
// to replay, trace index rows to rebuild, both writes) on a disk with no
// space left. The store opens it read-only: every acknowledged event is
// readable, trace lookups included, writes answer ErrNoSpace; once space
// is freed it opens read-write by itself and writes.
func TestStartOnFullDiskAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := disktest.Tmpfs(t, "32m")
	cfg := Config{Path: filepath.Join(dir, "live", "db.duckdb"), RecoveryInterval: 50 * time.Millisecond, MinFreeBytes: 4 << 20}
	s := openTest(t, cfg)
	// 1,000 traces: their index rows, rebuilt at the next start, are more
	// than the WAL's last page can take.
	for w := 0; w < 20; w++ {
		var evs []model.Event
		for tr := 1 + w*50; tr <= 50+w*50; tr++ {
			evs = append(evs, spanBatch(tr, 10, 20)...)
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: the files as they are between two commits.
	crashed := Config{Path: filepath.Join(dir, "crashed", "db.duckdb"), RecoveryInterval: 50 * time.Millisecond, MinFreeBytes: 4 << 20}
	if err := os.MkdirAll(filepath.Dir(crashed.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	s.wmu.Lock()
	copyFile(t, cfg.Path, crashed.Path)
	copyFile(t, cfg.Path+".wal", crashed.Path+".wal")
	s.wmu.Unlock()
	if fileSize(crashed.Path+".wal") == 0 {
		t.Fatal("no WAL to replay: the test needs one")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(cfg.Path)); err != nil {
		t.Fatal(err)
	}
	full := disktest.Fill(t, dir, "full", 0)

	s2 := openTest(t, crashed)
	if !s2.h.readOnly {
		t.Fatal("opened read-write on a full disk: the test meant to fill it")
	}
	acked := map[int]bool{}
	for tr := 1; tr <= 1000; tr++ {
		acked[tr] = true
	}
	checkAcked10(t, s2, acked)
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(1001, 10, 20)}}); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("write on a full disk: %v, want ErrNoSpace", err)
	}
	if err := s2.Healthy(ctx); !errors.Is(err, store.ErrNoSpace) {
		t.Errorf("Healthy on a full disk: %v, want ErrNoSpace", err)
	}
	if ds, err := s2.Datasets(ctx, "prod"); err != nil || len(ds) != 1 {
		t.Errorf("datasets on a full disk: %+v, %v", ds, err)
	}
	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, s2)
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: spanBatch(1001, 10, 20)}}); err != nil {
		t.Fatalf("write once space is back: %v", err)
	}
	acked[1001] = true
	checkAcked10(t, s2, acked)
}

func checkAcked10(t *testing.T, s *Store, acked map[int]bool) {
	t.Helper()
	for tr := range acked {
		got, err := s.Trace(context.Background(), "prod", spanBatch(tr, 1, 1)[0].TraceID)
		if err != nil || len(got) != 10 {
			t.Fatalf("acknowledged trace %d: %d of 10 events, %v", tr, len(got), err)
		}
	}
}
