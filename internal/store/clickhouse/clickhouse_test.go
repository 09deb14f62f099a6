package clickhouse

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel() // the suites share no database; each waits mostly on its server
	storetest.RunAll(t, func(t *testing.T) store.Store { return openTest(t, Config{}) })
}
