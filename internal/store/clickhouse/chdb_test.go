package clickhouse

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/clickhouse/chtest"
	"github.com/tracecomb/tracecomb/internal/store/storetest"
)

// The tests of a current ClickHouse run on libchdb (ClickHouse 26.7 in
// this process, behind chtest's HTTP front): one session per test binary,
// a database per store.
var (
	chdbShared *chtest.Chdb
	chdbErr    error
	chdbOnce   sync.Once
	chdbDir    string
)

// chdbServer returns the package's libchdb front, started on first use
// and stopped by TestMain. A missing library fails the test, naming
// scripts/chdb.sh.
func chdbServer(t testing.TB) *chtest.Chdb {
	t.Helper()
	chdbOnce.Do(func() {
		chdbDir, chdbErr = os.MkdirTemp("", "tracecomb-chdb-")
		if chdbErr == nil {
			chdbShared, chdbErr = chtest.StartChdb(chdbDir)
		}
	})
	if chdbErr != nil {
		t.Fatalf("libchdb: %v", chdbErr)
	}
	return chdbShared
}

// openChdb opens a store on a fresh database of the libchdb session.
func openChdb(t testing.TB, cfg Config) *Store {
	t.Helper()
	cfg.URL = chdbServer(t).URL
	return openTest(t, cfg)
}

func TestChdbVersion(t *testing.T) {
	s := openChdb(t, Config{})
	if v := s.Version(); v < 26_000_000 {
		t.Fatalf("Version() = %d, want ClickHouse 26 or later", v)
	}
	if s.tableSettings != "fsync_after_insert = 1, fsync_part_directory = 1" {
		t.Errorf("tableSettings = %q", s.tableSettings)
	}
	// The full dialect: the server lacks none of its functions.
	missing, err := s.missingFunctions(context.Background())
	if err != nil || len(missing) != 0 {
		t.Errorf("missingFunctions = %v, %v; want none", missing, err)
	}
	rows, err := s.c.rows(context.Background(), "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'")
	if err != nil {
		t.Fatal(err)
	}
	if e := rows[0][0].(string); !strings.Contains(e, "fsync_after_insert = 1, fsync_part_directory = 1") {
		t.Errorf("events: %s", e)
	}
}

func TestChdbConformance(t *testing.T) {
	t.Parallel() // the suites share no database; each waits mostly on its server
	storetest.RunAll(t, func(t *testing.T) store.Store { return openChdb(t, Config{}) })
}

func TestChdbAggregateConformance(t *testing.T) {
	t.Parallel() // the suites share no database; each waits mostly on its server
	storetest.RunAggregate(t, func(t *testing.T) store.Store { return openChdb(t, Config{}) })
}

// TestChdbRetentionTTL: on a server with TTL … DELETE WHERE, retention by
// age sets a TTL rule per environment on events (its door's part
// following it): rows written before the rule in the straddling day are
// rewritten once, rows written after it are deleted by the server when
// they are past MaxAge, other environments keep theirs, and removing the
// override removes the rule. The server's clock decides, so the events
// are placed around the real time.
func TestChdbRetentionTTL(t *testing.T) {
	ctx := context.Background()
	s := openChdb(t, Config{RetentionInterval: time.Hour})
	if !s.ttl {
		t.Fatalf("version %d: no TTL", s.Version())
	}
	// older is a minute past MaxAge (in the day that straddles it, or the
	// whole day before, dropped), newer stays within it for the test.
	now := time.Now().UTC()
	maxAge := 10 * time.Minute
	older, newer := now.Add(-maxAge-time.Minute), now.Add(-time.Second)
	write := func(n byte, at time.Time, envs ...string) {
		for _, env := range envs {
			ev := model.Event{Dataset: "svc", Time: at, TraceID: model.TraceID{15: n}, SpanID: model.SpanID{7: n}, Name: "op", ServiceName: "svc", SampleRate: 1}
			if err := s.Write(ctx, []store.Batch{{Env: env, Events: []model.Event{ev}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	prodX := store.DoorEnv("prod", model.DoorXRay)
	write(1, older, "prod", prodX, "dev")
	write(2, newer, "prod", prodX, "dev")
	ttlText := func() string {
		rows, err := s.c.rows(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = 'events'", s.cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		return rows[0][0].(string)
	}
	if strings.Contains(ttlText(), " TTL ") {
		t.Fatalf("events has a TTL without any retention: %s", ttlText())
	}
	if err := s.SetRetention(ctx, "prod", &store.Retention{MaxAge: maxAge}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if text := ttlText(); !strings.Contains(text, " TTL ") || !strings.Contains(text, "startsWith(env, 'prod/')") {
		t.Fatalf("events' TTL does not name prod: %s", text)
	}
	count := func(env string, n byte) int {
		got, err := s.Trace(ctx, env, model.TraceID{15: n})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	waitFor := func(env string, n byte, want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second) // MATERIALIZE TTL is a mutation
		for count(env, n) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: trace %d has %d events, want %d", env, n, count(env, n), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Written before the rule: the straddling day's parts are rewritten.
	waitFor("prod", 1, 0)
	waitFor(prodX, 1, 0)
	for _, env := range []string{"prod", prodX} {
		if count(env, 2) != 1 {
			t.Errorf("%s lost its event newer than MaxAge", env)
		}
	}
	for _, n := range []byte{1, 2} {
		if count("dev", n) != 1 {
			t.Errorf("dev lost event %d", n)
		}
	}
	// Reopened, the store sets the same TTL without rewriting the
	// straddling days again.
	materializes := func() int64 {
		rows, err := s.c.rows(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = 'events' AND command LIKE '%MATERIALIZE TTL%'", s.cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		return rows[0][0].(int64)
	}
	n := materializes()
	if n == 0 {
		t.Fatal("no MATERIALIZE TTL mutation after the retention change")
	}
	s2, err := Open(ctx, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if m := materializes(); m != n {
		t.Errorf("reopening ran %d more MATERIALIZE TTL mutations", m-n)
	}
	// Written after the rule: the server deletes it (on insert or merge).
	write(3, older, "prod", "dev")
	if err := s.c.exec(ctx, "OPTIMIZE TABLE events FINAL"); err != nil {
		t.Fatal(err)
	}
	waitFor("prod", 3, 0)
	if count("dev", 3) != 1 {
		t.Error("dev lost event 3")
	}
	// No MaxAge any more: no TTL.
	if err := s.SetRetention(ctx, "prod", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if text := ttlText(); strings.Contains(text, " TTL ") {
		t.Errorf("events keeps a TTL without any retention: %s", text)
	}
}
