package duckdb

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Healthy returns nil when the store can write.
func (s *Store) Healthy(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (s *Store) describeHealth(ch chan<- *prometheus.Desc) {}

func (s *Store) collectHealth(ch chan<- prometheus.Metric) {}
