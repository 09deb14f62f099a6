package duckdb

import (
	"errors"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/tracecomb/tracecomb/internal/store"
)

// queryTooLarge wraps DuckDB's out-of-memory error (a query that needs
// more than Config.MemoryLimit) in store.ErrQueryTooLarge, keeping
// DuckDB's reason; other errors pass as they are.
func queryTooLarge(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory {
		return fmt.Errorf("%w: %w", store.ErrQueryTooLarge, err)
	}
	return err
}
