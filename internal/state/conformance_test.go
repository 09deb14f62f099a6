package state_test

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/state/statetest"
)

func TestFileStoreConformance(t *testing.T) {
	statetest.RunAll(t, func(t *testing.T) func() state.Store {
		dir := t.TempDir()
		return func() state.Store {
			s, err := state.OpenFile(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
			return s
		}
	})
}

func TestMemoryStoreConformance(t *testing.T) {
	statetest.RunAll(t, func(t *testing.T) func() state.Store {
		s := state.NewMemory()
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return func() state.Store { return s }
	})
}
