package duckdb

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/storetest"
)

func openAggregate(t testing.TB, cfg Config) *Store {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "agg.duckdb")
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

func TestAggregateConformance(t *testing.T) {
	storetest.RunAggregate(t, func(t *testing.T) store.Store { return openAggregate(t, Config{}) })
}

// TestAggregateConformanceOverflow keeps nearly every attribute in the
// overflow maps.
func TestAggregateConformanceOverflow(t *testing.T) {
	storetest.RunAggregate(t, func(t *testing.T) store.Store {
		return openAggregate(t, Config{MaxAttributeColumns: 1, MinColumnDensity: -1})
	})
}
