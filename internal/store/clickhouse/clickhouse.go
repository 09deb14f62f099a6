package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("clickhouse store: closed")

// Config configures the store.
type Config struct {
	// URL is the server's HTTP interface, e.g. http://127.0.0.1:8123;
	// credentials may be given as its user info.
	URL string
	// Database holds the store's tables; created when missing. Default
	// "tracecomb".
	Database string
	// Cluster names a cluster of the server's remote_servers: events,
	// traces and xray_replaced become Distributed tables over a table on
	// every shard, sharded by trace id (see the package comment).
	// ShardURLs then lists the HTTP interface of a server of every shard
	// (URL's server may be one): the store creates the tables and runs
	// its mutations on each, since ON CLUSTER DDL needs ZooKeeper.
	Cluster   string
	ShardURLs []string
	// Replicated says the cluster's shards have replicas: the servers have
	// ZooKeeper and the macros {shard} and {replica}, the cluster has
	// internal_replication, and the tables are Replicated*MergeTree.
	// ShardURLs then lists every replica of every shard (the tables are
	// created on each; a mutation runs on one live replica of each shard).
	Replicated bool
	// Retention is every environment's retention unless SetRetention
	// overrides it; zero keeps everything.
	Retention store.Retention
	// RetentionInterval is how often retention is enforced. Default 1 min.
	RetentionInterval time.Duration
	// MaxDatasetColumns caps the distinct columns of a dataset (10,000,
	// Honeycomb's limit) and MaxEnvColumns those of an environment over
	// its datasets (100,000).
	MaxDatasetColumns int
	MaxEnvColumns     int
	// CatalogFlushInterval is how often the datasets' and columns'
	// last-written times are persisted. Default 5s; Close flushes too.
	CatalogFlushInterval time.Duration
	// CatalogRefreshInterval is how often the catalog is read again from
	// the server (Refresh), for processes that share the database with
	// other tracecomb processes; 0 (the default) never: one process
	// writes the database.
	CatalogRefreshInterval time.Duration
	// MaxResultBytes bounds an answer the store reads whole (an aggregate
	// query's groups, a trace selection); past it the query fails with
	// store.ErrQueryTooLarge. Default 64 MiB.
	MaxResultBytes int64
	// Logger gets what the store does in the background; default discards.
	Logger *slog.Logger
	// Now is the clock for created and last-written times and retention;
	// default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Database == "" {
		c.Database = "tracecomb"
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = time.Minute
	}
	if c.MaxDatasetColumns <= 0 {
		c.MaxDatasetColumns = 10_000
	}
	if c.MaxEnvColumns <= 0 {
		c.MaxEnvColumns = 100_000
	}
	if c.CatalogFlushInterval <= 0 {
		c.CatalogFlushInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Store is the ClickHouse trace store; see the package comment.
type Store struct {
	cfg   Config
	c     *client // scoped to cfg.Database
	admin *client // no database (CREATE DATABASE)

	version       int64  // VERSION_INTEGER, e.g. 18016001
	tableSettings string // MergeTree settings for durability, by version
	// ttl: the server takes TTL … DELETE WHERE (version ttlVersion and
	// later), so retention by age sets a TTL on events (retention.go).
	// ttlRule is the TTL this process last set and ttlSet whether it set
	// one; ttlPending asks EnforceRetention to apply a changed TTL to the
	// parts of the days that straddle the limit. Under wmu.
	ttl                bool
	ttlRule            string
	ttlSet, ttlPending bool
	// dialect is sqlgen's ClickHouse dialect, told which functions the
	// server lacks.
	dialect sqlgen.Dialect

	// wmu serialises Writes, deletes and retention changes: the catalog
	// has one writer.
	// shards and shardAdmins talk to a server of every shard of
	// cfg.Cluster (scoped to the database, and not), shardURLs are their
	// URLs without passwords; empty without a cluster.
	shards, shardAdmins []*client
	shardURLs           []string
	// shardOf is the shard number of each of shards (Replicated only).
	shardOf []int64

	wmu  sync.Mutex
	wseq uint64 // the last Write sequence number used; under wmu
	node uint64 // low bits of this process's sequence numbers, random

	cmu sync.RWMutex // guards cat
	cat *catalog

	closed atomic.Bool
	stop   chan struct{}
	done   sync.WaitGroup
	once   sync.Once
}

var _ store.Store = (*Store)(nil)
var _ store.Aggregator = (*Store)(nil)

// Open connects to the server, creates the schema when missing and loads
// the catalog.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if cfg.Cluster != "" && len(cfg.ShardURLs) == 0 {
		return nil, fmt.Errorf("clickhouse store: cluster %q: no shard URLs (the HTTP interface of a server of every shard)", cfg.Cluster)
	}
	if cfg.URL == "" {
		return nil, errors.New("clickhouse store: no URL")
	}
	if cfg.Replicated && cfg.Cluster == "" {
		return nil, errors.New("clickhouse store: Replicated needs a Cluster (its shards' replicas)")
	}
	c, err := newClient(cfg.URL, cfg.Database)
	if err != nil {
		return nil, err
	}
	admin, err := newClient(cfg.URL, "")
	if err != nil {
		return nil, err
	}
	c.maxAnswer = cfg.MaxResultBytes
	s := &Store{cfg: cfg, c: c, admin: admin, stop: make(chan struct{}), node: rand.Uint64N(256)}
	if cfg.Cluster != "" {
		// An INSERT into a Distributed table returns once every shard has
		// its rows (not when they are queued on this server); the
		// xray_replaced subquery of reads runs on each shard against its
		// own rows, which are the rows of its traces.
		c.settings.Set("insert_distributed_sync", "1")
		c.settings.Set("distributed_product_mode", "local")
		c.cluster = cfg.Cluster
		if cfg.Replicated {
			// Reads and INSERTs go to the first live replica of each shard
			// in remote_servers order, so a read sees the Writes before it
			// (replication to the others is asynchronous).
			c.settings.Set("load_balancing", "in_order")
		}
		for _, u := range cfg.ShardURLs {
			sc, err := newClient(u, cfg.Database)
			if err != nil {
				s.closeClients()
				return nil, err
			}
			sa, _ := newClient(u, "")
			s.shards, s.shardAdmins, s.shardURLs = append(s.shards, sc), append(s.shardAdmins, sa), append(s.shardURLs, redacted(u))
		}
	}
	if err := s.init(ctx); err != nil {
		s.closeClients()
		return nil, fmt.Errorf("clickhouse store: open %s: %w", c.base.Redacted(), err)
	}
	s.done.Add(2)
	go s.every(s.cfg.CatalogFlushInterval, 30*time.Second, "persist last-written times", s.flushTimesLocked)
	go s.every(s.cfg.RetentionInterval, s.cfg.RetentionInterval, "retention", s.EnforceRetention)
	if cfg.CatalogRefreshInterval > 0 {
		s.done.Add(1)
		go s.every(s.cfg.CatalogRefreshInterval, 30*time.Second, "refresh the catalog", s.Refresh)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	rows, err := s.admin.rows(ctx, "SELECT value FROM system.build_options WHERE name = 'VERSION_INTEGER'")
	if err != nil {
		return err
	}
	if len(rows) == 1 {
		if v, ok := rows[0][0].(string); ok {
			s.version, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	// Durability: versions whose MergeTree has fsync_after_insert fsync
	// each inserted part (and its directory) before acknowledging.
	rows, err = s.admin.rows(ctx, "SELECT name FROM system.merge_tree_settings WHERE name IN ('fsync_after_insert', 'fsync_part_directory')")
	if err != nil {
		return err
	}
	var sets []string
	for _, r := range rows {
		if n, ok := r[0].(string); ok {
			sets = append(sets, n+" = 1")
		}
	}
	s.tableSettings = strings.Join(sets, ", ")
	missing, err := s.missingFunctions(ctx)
	if err != nil {
		return err
	}
	s.dialect = sqlgen.ClickHouseWithout(missing...)
	if s.cfg.Cluster != "" {
		// Servers that can tell from a query's WHERE which shards hold its
		// rows (a trace id) ask only those; 18.16 asks every shard.
		rows, err := s.admin.rows(ctx, "SELECT count() FROM system.settings WHERE name = 'optimize_skip_unused_shards'")
		if err != nil {
			return err
		}
		if n, _ := rows[0][0].(int64); n == 1 {
			s.c.settings.Set("optimize_skip_unused_shards", "1")
		}
	}
	if s.cfg.Replicated {
		for i, sa := range s.shardAdmins {
			rows, err := sa.rows(ctx, "SELECT DISTINCT shard_num FROM system.clusters WHERE cluster = ? AND is_local", s.cfg.Cluster)
			if err != nil {
				return fmt.Errorf("shard server %s: %w", s.shardURLs[i], err)
			}
			if len(rows) != 1 {
				return fmt.Errorf("shard server %s: %d shards of cluster %q are local, want 1", s.shardURLs[i], len(rows), s.cfg.Cluster)
			}
			s.shardOf = append(s.shardOf, rows[0][0].(int64))
		}
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	cat, wseq, err := s.loadCatalog(ctx, true)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	s.cat, s.wseq = cat, wseq
	if s.ttl = s.version >= ttlVersion; s.ttl {
		// A table with a TTL already had one set by an earlier Open: its
		// straddling days are not rewritten again (see applyTTL).
		rows, err := s.c.rows(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", s.cfg.Database, s.local("events"))
		if err != nil {
			return err
		}
		hadTTL := len(rows) == 1 && strings.Contains(fmt.Sprint(rows[0][0]), " TTL ")
		if err := s.applyTTL(ctx); err != nil {
			return fmt.Errorf("set the TTL of events: %w", err)
		}
		if hadTTL {
			s.ttlPending = false
		}
	}
	return nil
}

// missingFunctions lists what sqlgen.ClickHouseWithout needs to know:
// the functions of the ClickHouse dialect this server lacks.
func (s *Store) missingFunctions(ctx context.Context) ([]string, error) {
	rows, err := s.admin.rows(ctx, "SELECT name FROM system.functions WHERE name IN ('countMatches', 'toUnixTimestamp64Micro')")
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range rows {
		if n, ok := r[0].(string); ok {
			have[n] = true
		}
	}
	var missing []string
	if !have["countMatches"] {
		missing = append(missing, "countMatches")
	}
	if !have["toUnixTimestamp64Micro"] {
		missing = append(missing, "DateTime64")
	}
	if err := s.admin.exec(ctx, "SELECT sum(1) OVER () FROM system.one"); err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			return nil, err
		}
		missing = append(missing, "window")
	}
	return missing, nil
}

// Version is the server's VERSION_INTEGER (e.g. 18016001 for 18.16.1).
func (s *Store) Version() int64 { return s.version }

// nextSeq returns the next Write sequence number. Callers hold wmu.
// Sequence numbers are the Unix nanosecond time of the Write when that is
// larger than the last one, so they keep growing across restarts, with
// their low 8 bits replaced by the process's node tag: two processes
// writing one database collide only within the same 256 ns and with the
// same tag (1 in 256).
func (s *Store) nextSeq() uint64 {
	n := uint64(max(time.Now().UnixNano(), 0))&^0xff | s.node
	if n <= s.wseq {
		n = (s.wseq | 0xff + 1) | s.node
	}
	s.wseq = n
	return n
}

// Healthy reports whether the server answers and can take writes.
func (s *Store) Healthy(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.cfg.Cluster != "" {
		// Every shard must answer for writes and reads to work.
		if err := s.c.exec(ctx, "SELECT count() FROM cluster(?, system.one)", s.cfg.Cluster); err != nil {
			return fmt.Errorf("clickhouse store: %w", err)
		}
	}
	rows, err := s.c.rows(ctx, "SELECT free_space FROM system.disks WHERE name = 'default'")
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Code != 0 {
			// 18.16 has no system.disks: the server answering is enough.
			return s.c.exec(ctx, "SELECT 1")
		}
		return fmt.Errorf("clickhouse store: %w", err)
	}
	if len(rows) == 1 {
		if free, ok := rows[0][0].(int64); ok && free < 32<<20 {
			return fmt.Errorf("clickhouse store: %d bytes free on the server's disk: %w", free, store.ErrNoSpace)
		}
	}
	return nil
}

// Close stops the background work, flushes the last-written times and
// closes the connections. Safe to call twice.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.done.Wait()
		s.wmu.Lock()
		s.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.flushTimes(ctx)
		cancel()
		s.wmu.Unlock()
		s.closeClients()
		if err != nil {
			err = fmt.Errorf("clickhouse store: close: %w", err)
		}
	})
	return err
}

// closeClients closes every connection of the store.
func (s *Store) closeClients() {
	s.c.close()
	s.admin.close()
	for i := range s.shards {
		s.shards[i].close()
		s.shardAdmins[i].close()
	}
}

// every runs fn every interval, each run bounded by timeout, until
// Close; a failed run is logged as what and tried again at the next tick.
func (s *Store) every(interval, timeout time.Duration, what string, fn func(context.Context) error) {
	defer s.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			if err := fn(ctx); err != nil {
				s.cfg.Logger.Warn("clickhouse store: "+what, "err", err)
			}
			cancel()
		}
	}
}

// flushTimesLocked persists the last-written times under the write lock.
func (s *Store) flushTimesLocked(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.flushTimes(ctx)
}

// wrap adds the store's prefix to an error.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("clickhouse store: %s: %w", what, err)
}
