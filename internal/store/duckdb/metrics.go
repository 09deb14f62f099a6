package duckdb

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeStats is what the store reports in /metrics, refreshed by each
// retention pass (and by failures and recoveries as they happen).
type storeStats struct {
	mu          sync.Mutex
	deleted     map[string]int64 // events deleted by retention, per environment
	envBytes    map[string]int64 // estimated bytes of each environment's tables
	oldest      map[string]int64 // oldest event time (unix ns) per environment
	compactions int64
	measured    time.Time // when envBytes and oldest were measured; zero: never
	lastPass    time.Time // end of the last retention pass; zero: none yet
}

var (
	descDeleted = prometheus.NewDesc("tracecomb_store_retention_deleted_events_total",
		"Events deleted by retention (age or size), per environment.", []string{"env"}, nil)
	descEnvBytes = prometheus.NewDesc("tracecomb_store_environment_disk_bytes",
		"Estimated bytes of the environment's tables in the store's file, at the last retention pass.", []string{"env"}, nil)
	descOldest = prometheus.NewDesc("tracecomb_store_oldest_event_timestamp_seconds",
		"Time of the environment's oldest stored event, at the last retention pass.", []string{"env"}, nil)
	descDiskBytes = prometheus.NewDesc("tracecomb_store_disk_bytes",
		"Bytes of the store's files on disk (database and WAL).", nil, nil)
	descCompactions = prometheus.NewDesc("tracecomb_store_compactions_total",
		"Rewrites of the store's file without its free blocks.", nil, nil)
	descCatalogRows = prometheus.NewDesc("tracecomb_store_catalog_rows_written_total",
		"Last-written-time rows the catalog flushes appended.", nil, nil)
	descLastPass = prometheus.NewDesc("tracecomb_store_retention_last_run_timestamp_seconds",
		"When the last retention pass (deletes by age and size, statistics) ended.", nil, nil)
	descMaxAge = prometheus.NewDesc("tracecomb_store_retention_max_age_seconds",
		"The environment's retention age in force (its own setting, else --retention-age); 0: none.", []string{"env"}, nil)
	descMaxBytes = prometheus.NewDesc("tracecomb_store_retention_max_bytes",
		"The environment's retention size in force (its own setting, else --retention-size); 0: none.", []string{"env"}, nil)
)

var _ prometheus.Collector = (*Store)(nil)

// Describe implements prometheus.Collector.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDeleted, descEnvBytes, descOldest, descDiskBytes, descCompactions, descCatalogRows, descLastPass, descMaxAge, descMaxBytes} {
		ch <- d
	}
	s.describeHealth(ch)
}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	s.stats.mu.Lock()
	for env, n := range s.stats.deleted {
		ch <- prometheus.MustNewConstMetric(descDeleted, prometheus.CounterValue, float64(n), env)
	}
	for env, n := range s.stats.envBytes {
		ch <- prometheus.MustNewConstMetric(descEnvBytes, prometheus.GaugeValue, float64(n), env)
	}
	for env, ts := range s.stats.oldest {
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, float64(ts)/1e9, env)
	}
	ch <- prometheus.MustNewConstMetric(descCompactions, prometheus.CounterValue, float64(s.stats.compactions))
	if !s.stats.lastPass.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastPass, prometheus.GaugeValue, float64(s.stats.lastPass.UnixNano())/1e9)
	}
	s.stats.mu.Unlock()
	for env, r := range s.retentionInForce() {
		ch <- prometheus.MustNewConstMetric(descMaxAge, prometheus.GaugeValue, r.MaxAge.Seconds(), env)
		ch <- prometheus.MustNewConstMetric(descMaxBytes, prometheus.GaugeValue, float64(r.MaxBytes), env)
	}
	ch <- prometheus.MustNewConstMetric(descDiskBytes, prometheus.GaugeValue, float64(fileSize(s.cfg.Path)+fileSize(s.cfg.Path+".wal")))
	ch <- prometheus.MustNewConstMetric(descCatalogRows, prometheus.CounterValue, float64(s.catalogRowsWritten.Load()))
	s.collectHealth(ch)
}
