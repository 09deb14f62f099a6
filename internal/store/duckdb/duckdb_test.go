package duckdb

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

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

// TestConformanceOverflow runs the suite with room for one attribute
// column, so nearly every attribute lives in the overflow maps.
func TestConformanceOverflow(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store { return openTest(t, Config{MaxAttributeColumns: 1}) })
}
