package clickhouse

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/storetest"
)

// TestAggregateConformance runs the aggregate suite against 18.16, which
// takes the reduced dialect (sqlgen.ClickHouseWithout) for REG_COUNT,
// CONCURRENCY and the time functions; TestChdbAggregateConformance runs
// it against 26.7 with the full dialect.
func TestAggregateConformance(t *testing.T) {
	t.Parallel() // the suites share no database; each waits mostly on its server
	storetest.RunAggregate(t, func(t *testing.T) store.Store { return openTest(t, Config{}) })
}
