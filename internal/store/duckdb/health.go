package duckdb

import "context"

// Healthy returns nil when the store can write.
func (s *Store) Healthy(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}
