package clickhouse

import (
	"context"
	"os"
	"sync"
	"testing"

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
	rows, err := s.c.rows(context.Background(), "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", rows)
}

func TestChdbConformance(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store { return openChdb(t, Config{}) })
}

func TestChdbAggregateConformance(t *testing.T) {
	storetest.RunAggregate(t, func(t *testing.T) store.Store { return openChdb(t, Config{}) })
}
