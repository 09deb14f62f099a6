package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// formatVersion is the on-disk format this code writes. It only moves
// forward: Open upgrades older files and refuses newer ones.
//
//	1  first format
//	2  traces_N gains ds (appended; 0 on rows written by version 1)
//	3  attr_columns gains promoted: fields start in the overflow lists and
//	   get a column once dense (Config.MinColumnDensity); the overflow MAP
//	   per type becomes two lists, key ids (overflow_keys) and values;
//	   traces_N is split into tracesBuckets tables traces_N_B, written in
//	   bulk; events_N.wseq and trace_index_state (see traceindex.go)
//	4  what came in by an environment's X-Ray doors lives in an environment
//	   of its own (store.DoorEnv); upgradeTo4 moves older X-Ray rows there
//	5  last-written times are a log, catalog_times (catalog.go), instead of
//	   rewrites of datasets and dataset_columns; retention holds the
//	   per-environment retention overrides (retention.go)
//	6  blooms_N, each environment's search filter (searchfilter.go)
const formatVersion = 6

// Config configures the DuckDB store.
type Config struct {
	// Path is the database file (created if missing), usually a file under
	// the data directory. Required.
	Path string
	// MaxAttributeColumns caps the typed attribute columns per environment;
	// fields seen after the cap live in the overflow maps. Default 1000.
	MaxAttributeColumns int
	// MaxDatasetColumns caps the distinct columns (field names, hot fields
	// included; a name written with two types is one column) of a dataset.
	// An event that would take its dataset past it is not stored: Write
	// lists it in its batch's Refused with store.ErrTooManyColumns, as
	// Honeycomb refuses events past its per-dataset column limit. Default
	// 10,000, Honeycomb's.
	MaxDatasetColumns int
	// MaxEnvColumns caps the columns of all an environment's datasets
	// together (the sum of their columns), likewise. Default 100,000.
	MaxEnvColumns int
	// MinColumnDensity is the share of an environment's events that must
	// carry a field before the field gets its own typed column; until then
	// (and for fields that never get there) it lives in the overflow maps.
	// Default 0.5, where a column and the maps cost about the same bytes:
	// a column stores a validity bit and a dictionary code for every row,
	// ~11 bits with 1000 distinct values, present or not, while a map entry
	// costs its key's and value's codes, ~17 bits, only where present.
	// Columns make filters and GROUP BY on a field ~20× faster than map
	// look-ups (measured: 5.5 vs 120 ms over 500k events), so dense fields
	// get them. Negative: every field gets a column on first sight (the
	// layout before format 3).
	MinColumnDensity float64
	// MinColumnEvents is how many events of an environment are counted
	// (since Open) before any field is judged dense. Default 1000.
	MinColumnEvents int64
	// Threads is DuckDB's worker thread count; 0 keeps DuckDB's default
	// (the number of cores).
	Threads int
	// MemoryLimit is DuckDB's memory_limit, e.g. "512MB"; "" keeps DuckDB's
	// default (80% of RAM).
	MemoryLimit string
	// DisabledCompression is DuckDB's disabled_compression_methods. Default
	// "fsst": FSST-compressed strings are ~2× smaller than dictionary ones
	// here, but fetching one vector of an FSST segment decodes the segment
	// from its start, which made reading a trace's rows (all attribute
	// columns at a random place) 10–25× slower. "none" keeps DuckDB's
	// defaults.
	DisabledCompression string
	// CatalogFlushInterval is how often the datasets' and columns'
	// last-written times are persisted (they move in memory with every
	// Write; new datasets and columns are persisted with the Write that
	// creates them). Default 5s; Close flushes too.
	CatalogFlushInterval time.Duration
	// CheckpointThreshold is the WAL size at which DuckDB checkpoints (inside
	// the commit that crosses it). Default "64MB" instead of DuckDB's 16MB:
	// BenchmarkIngestPath over 1M spans (1,000-span requests) went from
	// 10.0k to 17.0k spans/s and its peak RSS from 884 MB to 506 MB, since
	// fewer, larger checkpoints recompress each row group fewer times. A
	// restart replays at most that much WAL. A size limit (Retention)
	// lowers it to a sixteenth of the limit.
	CheckpointThreshold string
	// TraceIndexFlushRows is how many trace index rows (one per trace per
	// Write) an environment keeps in memory before a commit writes them to
	// the index tables (see traceindex.go). Default 32768 (~1 MB).
	TraceIndexFlushRows int
	// Retention is every environment's retention unless SetRetention
	// overrides it; zero keeps everything.
	Retention store.Retention
	// RetentionInterval is how often retention is enforced (and the
	// statistics /metrics reports refreshed). Default 1 minute.
	RetentionInterval time.Duration
	// CompactMinFree is the free space (blocks freed by deletes, which
	// DuckDB reuses but never gives back to the file system) from which
	// retention rewrites the file to shrink it, once more than half of the
	// file is free. Default 64 MiB.
	CompactMinFree int64
	// CompactMaxLive is the most live data retention rewrites: the rewrite
	// holds the write lock while it copies (see the package comment for
	// its rate), so beyond it the free blocks are only reused. Default
	// 128 MiB.
	CompactMaxLive int64
	// RecoveryInterval is how often the store tries to open its database
	// read-write again after a failure left it invalidated or read-only
	// (see health.go). Default 2s.
	RecoveryInterval time.Duration
	// MinFreeBytes is the free space in the data directory's file system
	// from which the store, unable to write for lack of space, tries again
	// to open its database read-write and reports itself healthy. Default
	// 32 MiB.
	MinFreeBytes int64
	// Now is the clock for created and last-written times and for
	// retention by age; default time.Now.
	Now func() time.Time
	// MaxResultBytes bounds the answer of one aggregate query as held in
	// Go (its groups' values and results, estimated); past it the query
	// fails with store.ErrQueryTooLarge. Default 64 MiB: DuckDB's memory
	// limit bounds the work, this bounds what it hands back.
	MaxResultBytes int64
	// SearchFilterCacheBytes bounds the search filter rows (one per Write,
	// ~14 bytes per span of the benchmark workload) kept in memory so a
	// search finds its candidate writes without asking blooms_N (see
	// bloomcache.go). Default 64 MiB; negative: none are kept.
	SearchFilterCacheBytes int64
	// SearchFilterBitsPerItem is the search filter's size per (service,
	// key, value) triple of a Write (searchfilter.go). Default 10 (1.8%
	// false positives, ~10–14 bytes per span of the benchmark workloads);
	// 16 makes 0.5%, which at 1M spans of 2,000 per Write cut
	// BenchmarkSearch's CPU per search from 38–47 to 28–42 ms (two rounds
	// back to back, loaded machine) for 6 more bytes per span.
	// Rows of any size are read alike, so it may change between runs.
	SearchFilterBitsPerItem int
}

func (c *Config) setDefaults() {
	if c.MaxAttributeColumns <= 0 {
		c.MaxAttributeColumns = 1000
	}
	if c.MaxDatasetColumns <= 0 {
		c.MaxDatasetColumns = 10_000
	}
	if c.MaxEnvColumns <= 0 {
		c.MaxEnvColumns = 100_000
	}
	if c.MinColumnDensity == 0 {
		c.MinColumnDensity = 0.5
	}
	if c.TraceIndexFlushRows <= 0 {
		c.TraceIndexFlushRows = 32768
	}
	if c.MinColumnEvents <= 0 {
		c.MinColumnEvents = 1000
	}
	if c.DisabledCompression == "" {
		c.DisabledCompression = "fsst"
	}
	if c.CheckpointThreshold == "" {
		c.CheckpointThreshold = "64MB"
	}
	if c.CatalogFlushInterval <= 0 {
		c.CatalogFlushInterval = 5 * time.Second
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = time.Minute
	}
	if c.CompactMinFree <= 0 {
		c.CompactMinFree = 64 << 20
	}
	if c.CompactMaxLive <= 0 {
		c.CompactMaxLive = 128 << 20
	}
	if c.RecoveryInterval <= 0 {
		c.RecoveryInterval = 2 * time.Second
	}
	if c.MinFreeBytes <= 0 {
		c.MinFreeBytes = 32 << 20
	}
	if c.MaxResultBytes <= 0 {
		c.MaxResultBytes = 64 << 20
	}
	if c.SearchFilterBitsPerItem <= 0 {
		c.SearchFilterBitsPerItem = bloomBitsPerItem
	}
	if c.SearchFilterBitsPerItem > 64 {
		c.SearchFilterBitsPerItem = 64
	}
	if c.SearchFilterCacheBytes == 0 {
		c.SearchFilterCacheBytes = 64 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Store is the DuckDB trace store. It implements store.Store.
type Store struct {
	cfg Config
	log *slog.Logger
	// noSearchFilter makes Aggregate scan without the search filter
	// (tests and benchmarks compare the two).
	noSearchFilter bool

	// hmu guards h, swapped and the handles' reference counts. h is the
	// open database; readers take it with acquire. swapped is closed (and
	// replaced) each time a new handle is published.
	hmu     sync.Mutex
	h       *handle
	swapped chan struct{}
	// db is h.db, for code that holds wmu or flushMu (no swap runs then).
	db *sql.DB

	wmu sync.Mutex // serialises writes (DuckDB has one writer)
	wc  *sql.Conn  // the write connection, guarded by wmu
	// keyStats are the field densities per environment slug; guarded by wmu.
	keyStats map[string]*keyStats
	// wseq is the sequence number of the last Write; guarded by wmu.
	wseq int64
	// wgen counts Write attempts, committed or not; guarded by wmu.
	wgen int64
	// admitSeen is admit's set of an event's new field names, reused from
	// event to event; guarded by wmu.
	admitSeen map[string]struct{}

	// flushMu serialises catalog flushes (and is held by anything that
	// swaps the handle). dirty is the catalog rows whose last-written time
	// moved since the last flush, guarded by dirtyMu. logRows and
	// logDistinct count catalog_times rows, all and distinct at the last
	// compaction; guarded by flushMu.
	flushMu            sync.Mutex
	dirtyMu            sync.Mutex
	dirty              map[dirtyRef]struct{}
	logRows            int64
	logDistinct        int64
	catalogRowsWritten atomic.Int64 // rows the flushes appended, for tests and metrics

	// retMu guards overrides, the per-environment retention overrides by
	// environment slug.
	retMu     sync.Mutex
	overrides map[string]store.Retention
	stopRet   chan struct{}
	retDone   chan struct{}

	// health is whether the store can write; kick wakes recoverLoop.
	health      health
	kick        chan struct{}
	stopRecover chan struct{}
	recoverDone chan struct{}
	// threshold is the checkpoint_threshold set; grownBytes estimates
	// what Writes added per base environment since the last retention
	// pass; deletedSince is set when events were deleted since the last
	// look at whether the file is worth rewriting. Guarded by wmu. wakeRet
	// wakes the retention loop early.
	threshold    string
	grownBytes   map[string]int64
	deletedSince bool
	wakeRet      chan struct{}
	stats        storeStats
	// idx holds trace index rows not yet in the index tables.
	idx traceIndex
	// blooms caches the newest rows of the search filter tables (nil when
	// Config.SearchFilterCacheBytes is negative).
	blooms    *bloomCache
	stopFlush chan struct{}
	flushDone chan struct{}

	// pubMu orders publishing a registry after a commit against readers
	// taking a registry and starting their query, so a reader never sees
	// rows whose columns its registry does not know.
	pubMu sync.RWMutex
	reg   atomic.Pointer[registry]

	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("duckdb store: closed")

// Open opens (or creates) the store at cfg.Path.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	cfg.setDefaults()
	if cfg.Path == "" {
		return nil, errors.New("duckdb store: Config.Path is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("duckdb store: create data directory: %w", err)
		}
	}
	s := &Store{cfg: cfg, log: logger, keyStats: map[string]*keyStats{}, idx: newTraceIndex(),
		swapped: make(chan struct{}), dirty: map[dirtyRef]struct{}{},
		stats: storeStats{deleted: map[string]int64{}}, grownBytes: map[string]int64{}, wakeRet: make(chan struct{}, 1),
		blooms: newBloomCache(cfg.SearchFilterCacheBytes),
		kick:   make(chan struct{}, 1)}
	removeCompactLeftovers(cfg.Path)
	h, _, err := s.openEither(ctx)
	if err != nil {
		return nil, err
	}
	s.publish(h)
	s.stopFlush, s.flushDone = make(chan struct{}), make(chan struct{})
	go s.flushLoop()
	s.stopRet, s.retDone = make(chan struct{}), make(chan struct{})
	go s.retentionLoop()
	s.stopRecover, s.recoverDone = make(chan struct{}), make(chan struct{})
	go s.recoverLoop()
	logger.Info("duckdb store opened", "path", cfg.Path, "environments", len(s.reg.Load().envs))
	return s, nil
}

// init brings the file of a newly opened handle to the current format and
// loads the catalog and the write connection from it. Callers hold wmu and
// flushMu, or own the store alone (Open).
func (s *Store) init(ctx context.Context, h *handle) error {
	s.db = h.db
	version, err := s.migrate(ctx)
	if err != nil {
		return err
	}
	reg, err := s.loadRegistry(ctx)
	if err != nil {
		return err
	}
	if err := s.loadOverrides(ctx, s.db); err != nil {
		return err
	}
	s.threshold = s.cfg.CheckpointThreshold
	if err := s.applyCheckpointThreshold(ctx); err != nil {
		return err
	}
	s.wseq = 0
	s.idx.reset()
	if err := s.recoverIndex(ctx, reg, true); err != nil {
		return fmt.Errorf("duckdb store: %w", err)
	}
	s.reg.Store(reg)
	wc, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("duckdb store: write connection: %w", err)
	}
	s.wc = wc
	if version < 4 {
		if err := s.upgradeTo4(ctx); err != nil {
			_ = wc.Close()
			return fmt.Errorf("duckdb store: upgrade %s to format 4: %w", s.cfg.Path, err)
		}
		s.log.Info("duckdb store upgraded", "path", s.cfg.Path, "from", version, "to", 4)
	}
	if version < 5 {
		if _, err := s.db.ExecContext(ctx, `UPDATE format SET version = 5`); err != nil {
			_ = wc.Close()
			return fmt.Errorf("duckdb store: upgrade %s to format 5: %w", s.cfg.Path, err)
		}
		s.log.Info("duckdb store upgraded", "path", s.cfg.Path, "from", max(version, 4), "to", 5)
	}
	if version < 6 {
		if err := s.upgradeTo6(ctx, s.reg.Load()); err != nil {
			_ = wc.Close()
			return fmt.Errorf("duckdb store: upgrade %s to format 6: %w", s.cfg.Path, err)
		}
		s.log.Info("duckdb store upgraded", "path", s.cfg.Path, "from", max(version, 5), "to", 6)
	}
	return nil
}

// upgradeTo6 gives every environment its search filter table holding one
// sentinel row: the last wseq of its events so far, which have no filter
// rows and are always read (searchfilter.go). Each environment's table
// and row commit together, and an interrupted upgrade redoes them.
func (s *Store) upgradeTo6(ctx context.Context, reg *registry) error {
	for _, e := range reg.envs {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		t := e.bloomsTable()
		steps := []string{
			strings.Replace(bloomsDDL(t), "CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1),
			`DELETE FROM ` + t,
			`INSERT INTO ` + t + ` SELECT max(wseq), ` + strconv.FormatInt(math.MinInt64, 10) + `, ` + strconv.FormatInt(math.MaxInt64, 10) +
				`, unhex('FFFFFFFFFFFFFFFF')::BIT FROM ` + e.eventsTable() + ` HAVING count(*) > 0`,
		}
		for _, q := range steps {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err := s.db.ExecContext(ctx, `UPDATE format SET version = 6`)
	return err
}

// flushLoop persists the catalog's last-written times periodically.
func (s *Store) flushLoop() {
	defer close(s.flushDone)
	t := time.NewTicker(s.cfg.CatalogFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopFlush:
			return
		case <-t.C:
			s.flushMu.Lock()
			if !s.closed.Load() {
				if err := s.flushCatalog(context.Background()); err != nil {
					s.log.Warn("duckdb store: persisting last-written times failed", "err", err)
				}
			}
			s.flushMu.Unlock()
		}
	}
}

// catalogDDL creates the catalog tables of the current format version.
var catalogDDL = []string{
	`CREATE TABLE format (version INTEGER NOT NULL)`,
	`CREATE TABLE envs (id INTEGER PRIMARY KEY, slug VARCHAR NOT NULL UNIQUE)`,
	// No primary keys: the store is their only writer and keeps them
	// unique, and DuckDB's index maintenance would dominate small writes.
	`CREATE TABLE datasets (env INTEGER NOT NULL, id INTEGER NOT NULL, name VARCHAR NOT NULL,
		slug VARCHAR NOT NULL, created_ns BIGINT NOT NULL, last_written_ns BIGINT NOT NULL)`,
	`CREATE TABLE attr_columns (env INTEGER NOT NULL, id INTEGER NOT NULL, key VARCHAR NOT NULL,
		kind UTINYINT NOT NULL, promoted BOOLEAN DEFAULT false)`,
	`CREATE TABLE dataset_columns (env INTEGER NOT NULL, ds INTEGER NOT NULL, key VARCHAR NOT NULL,
		kind UTINYINT NOT NULL, created_ns BIGINT NOT NULL, last_written_ns BIGINT NOT NULL)`,
	overflowKeysDDL,
	indexStateDDL,
	catalogTimesDDL,
	retentionDDL,
}

// indexStateDDL records, per environment, the last Write whose trace index
// rows are in the index tables (format 3).
const indexStateDDL = `CREATE TABLE trace_index_state (env INTEGER NOT NULL, wseq BIGINT NOT NULL)`

// overflowKeysDDL numbers the keys held in the overflow lists, per
// environment (format 3).
const overflowKeysDDL = `CREATE TABLE overflow_keys (env INTEGER NOT NULL, id INTEGER NOT NULL, key VARCHAR NOT NULL)`

// eventsDDL returns the DDL of an environment's tables.
func eventsDDL(e *envReg) []string {
	ddl := []string{
		`CREATE TABLE ` + e.eventsTable() + ` (
			ts BIGINT NOT NULL,
			ds INTEGER NOT NULL,
			source UTINYINT NOT NULL,
			trace_hi BIGINT NOT NULL,
			trace_lo BIGINT NOT NULL,
			span_id BIGINT,
			parent_id BIGINT,
			name VARCHAR,
			service_name VARCHAR,
			duration_ms DOUBLE,
			span_kind VARCHAR,
			status_code BIGINT,
			error BOOLEAN,
			annotation_type VARCHAR,
			sample_rate BIGINT,
			doc BLOB,
			wseq BIGINT,
			ovk_str INTEGER[], ovv_str VARCHAR[],
			ovk_int INTEGER[], ovv_int BIGINT[],
			ovk_flt INTEGER[], ovv_flt DOUBLE[],
			ovk_bool INTEGER[], ovv_bool BOOLEAN[])`,
	}
	for b := range tracesBuckets {
		ddl = append(ddl, tracesDDL(e.tracesTable(b)))
	}
	return append(ddl, bloomsDDL(e.bloomsTable()))
}

func tracesDDL(table string) string {
	return `CREATE TABLE ` + table + ` (
			trace_hi BIGINT NOT NULL,
			trace_lo BIGINT NOT NULL,
			min_ts BIGINT NOT NULL,
			max_ts BIGINT NOT NULL,
			ds INTEGER NOT NULL DEFAULT 0)`
}

// hotColumns are the fixed columns of an events table, in table order.
var hotColumns = []string{
	"ts", "ds", "source", "trace_hi", "trace_lo", "span_id", "parent_id", "name", "service_name",
	"duration_ms", "span_kind", "status_code", "error", "annotation_type", "sample_rate", "doc",
}

// overflowKeys and overflowVals are, per value type, the two parallel lists
// holding an event's overflow fields: key ids (overflow_keys) and values.
// Format 2 had one MAP(VARCHAR, type) per type; appending a MAP through the
// Go driver builds a Go map per entry, and two lists measured 1.7× faster
// to write (32k → 55k events/s with 11 fields each) at the same size.
// Integer key ids instead of names cost no cgo call per key when appended
// and halve a filter's time on a listed key (113 → 58 ms over 500k
// events): the key list scans as packed integers, not strings.
var (
	overflowKeys = [4]string{
		model.KindString: "ovk_str", model.KindInt: "ovk_int", model.KindFloat: "ovk_flt", model.KindBool: "ovk_bool",
	}
	overflowVals = [4]string{
		model.KindString: "ovv_str", model.KindInt: "ovv_int", model.KindFloat: "ovv_flt", model.KindBool: "ovv_bool",
	}
	formerOverflowMaps = [4]string{
		model.KindString: "ov_str", model.KindInt: "ov_int", model.KindFloat: "ov_flt", model.KindBool: "ov_bool",
	}
)

func attrSQLType(k model.Kind) string {
	switch k {
	case model.KindInt:
		return "BIGINT"
	case model.KindFloat:
		return "DOUBLE"
	case model.KindBool:
		return "BOOLEAN"
	}
	return "VARCHAR"
}

// migrate creates the schema of a new file or upgrades an older one to
// format 3, returning the file's version; upgrades past 3 need the
// registry and run in init.
func (s *Store) migrate(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'format'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("duckdb store: read format: %w", err)
	}
	if n == 0 {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("duckdb store: create schema: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		for _, q := range catalogDDL {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return 0, fmt.Errorf("duckdb store: create schema: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO format VALUES (?)`, formatVersion); err != nil {
			return 0, fmt.Errorf("duckdb store: create schema: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("duckdb store: create schema: %w", err)
		}
		return formatVersion, nil
	}
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM format`).Scan(&v); err != nil {
		return 0, fmt.Errorf("duckdb store: read format: %w", err)
	}
	if v > formatVersion {
		return 0, fmt.Errorf("duckdb store: %s has format version %d, newer than this build's %d", s.cfg.Path, v, formatVersion)
	}
	if v < 2 {
		if err := s.upgradeTo2(ctx); err != nil {
			return 0, fmt.Errorf("duckdb store: upgrade %s to format 2: %w", s.cfg.Path, err)
		}
		s.log.Info("duckdb store upgraded", "path", s.cfg.Path, "from", v, "to", 2)
		v = 2
	}
	if v < 3 {
		if err := s.upgradeTo3(ctx); err != nil {
			return 0, fmt.Errorf("duckdb store: upgrade %s to format 3: %w", s.cfg.Path, err)
		}
		s.log.Info("duckdb store upgraded", "path", s.cfg.Path, "from", v, "to", 3)
		v = 3
	}
	if v < 5 {
		// Format 5's tables; the version moves in init, after upgradeTo4.
		for _, q := range []string{catalogTimesDDL, retentionDDL} {
			if _, err := s.db.ExecContext(ctx, strings.Replace(q, "CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)); err != nil {
				return 0, fmt.Errorf("duckdb store: upgrade %s to format 5: %w", s.cfg.Path, err)
			}
		}
	}
	return v, nil
}

// upgradeTo3 adds attr_columns.promoted (false: every column of an older
// file was created at its field's first event) and turns each overflow MAP
// into a keys and a values list. DuckDB does not commit an UPDATE of a
// table altered in the same transaction, so the steps run one by one; each
// is idempotent and the version moves last, so an interrupted upgrade
// resumes on the next Open.
func (s *Store) upgradeTo3(ctx context.Context) error {
	ids, err := s.envIDs(ctx)
	if err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'overflow_keys'`).Scan(&n); err != nil {
		return err
	}
	var steps []string
	if n == 0 {
		steps = append(steps, overflowKeysDDL)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'trace_index_state'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		steps = append(steps, indexStateDDL)
	}
	for _, id := range ids {
		t := (&envReg{id: id}).eventsTable()
		steps = append(steps, `ALTER TABLE `+t+` ADD COLUMN IF NOT EXISTS wseq BIGINT DEFAULT 0`)
		for k := model.KindString; k <= model.KindBool; k++ {
			steps = append(steps,
				`ALTER TABLE `+t+` ADD COLUMN IF NOT EXISTS `+overflowKeys[k]+` INTEGER[]`,
				`ALTER TABLE `+t+` ADD COLUMN IF NOT EXISTS `+overflowVals[k]+` `+attrSQLType(k)+`[]`)
		}
	}
	for _, id := range ids {
		t := (&envReg{id: id}).eventsTable()
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?`,
			t, formerOverflowMaps[model.KindString]).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue // converted by an interrupted upgrade
		}
		// Number the maps' keys (again from scratch if an upgrade was
		// interrupted before the maps were dropped), then convert.
		env := strconv.Itoa(id)
		var keys []string
		for k := model.KindString; k <= model.KindBool; k++ {
			keys = append(keys, `SELECT unnest(map_keys(`+formerOverflowMaps[k]+`)) AS key FROM `+t)
		}
		steps = append(steps, `DELETE FROM overflow_keys WHERE env = `+env,
			`INSERT INTO overflow_keys SELECT `+env+`, row_number() OVER (ORDER BY key), key FROM (`+strings.Join(keys, " UNION ")+`)`)
		for k := model.KindString; k <= model.KindBool; k++ {
			m := formerOverflowMaps[k]
			steps = append(steps, `UPDATE `+t+` SET `+overflowKeys[k]+` = list_transform(map_keys(`+m+`), x -> km.ids[x]), `+
				overflowVals[k]+` = map_values(`+m+`) FROM (SELECT map(list(key), list(id)) AS ids FROM overflow_keys WHERE env = `+env+`) AS km WHERE `+m+` IS NOT NULL`)
		}
		for k := model.KindString; k <= model.KindBool; k++ {
			steps = append(steps, `ALTER TABLE `+t+` DROP COLUMN IF EXISTS `+formerOverflowMaps[k])
		}
	}
	// Split each trace index into its buckets.
	for _, id := range ids {
		e := &envReg{id: id}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = ?`, e.legacyTracesTable()).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		for b := range tracesBuckets {
			steps = append(steps, `DROP TABLE IF EXISTS `+e.tracesTable(b), tracesDDL(e.tracesTable(b)),
				`INSERT INTO `+e.tracesTable(b)+` SELECT trace_hi, trace_lo, min_ts, max_ts, ds FROM `+e.legacyTracesTable()+
					` WHERE (trace_lo >> 60) & 15 = `+strconv.Itoa(b))
		}
		steps = append(steps, `DROP TABLE `+e.legacyTracesTable())
	}
	steps = append(steps, `ALTER TABLE attr_columns ADD COLUMN IF NOT EXISTS promoted BOOLEAN DEFAULT false`, `UPDATE format SET version = 3`)
	for _, q := range steps {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// envIDs lists the ids of the environments in the file.
func (s *Store) envIDs(ctx context.Context) ([]int, error) {
	var ids []int
	err := s.each(ctx, `SELECT id FROM envs ORDER BY id`, func(rows *sql.Rows) error {
		var id int
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// upgradeTo2 adds traces_N.ds to every environment, in one transaction.
func (s *Store) upgradeTo2(ctx context.Context) error {
	ids, err := s.envIDs(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, id := range ids {
		e := &envReg{id: id}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+e.legacyTracesTable()+` ADD COLUMN ds INTEGER DEFAULT 0`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE format SET version = 2`); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) loadRegistry(ctx context.Context) (*registry, error) {
	reg := newRegistry()
	byID := map[int]*envReg{}
	err := s.each(ctx, `SELECT id, slug FROM envs ORDER BY id`, func(rows *sql.Rows) error {
		var id int
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			return err
		}
		e := newEnvReg(id, slug)
		reg.envs[slug] = e
		byID[id] = e
		reg.nextEnv = max(reg.nextEnv, id+1)
		return nil
	})
	if err == nil {
		err = s.each(ctx, `SELECT env, id, name, slug, created_ns, last_written_ns FROM datasets ORDER BY env, id`, func(rows *sql.Rows) error {
			var env int
			var created, last int64
			d := &dsReg{cols: map[colKey]*colTimes{}}
			if err := rows.Scan(&env, &d.id, &d.name, &d.slug, &created, &last); err != nil {
				return err
			}
			d.times = newTimes(created, last)
			e := byID[env]
			if e == nil {
				return fmt.Errorf("dataset %q of unknown environment %d", d.name, env)
			}
			e.datasets[lower(d.name)] = d
			e.dsByID[d.id] = d
			e.nextDS = max(e.nextDS, d.id+1)
			return nil
		})
	}
	if err == nil {
		err = s.each(ctx, `SELECT env, id, key, kind, promoted FROM attr_columns ORDER BY env, id`, func(rows *sql.Rows) error {
			var env int
			a := &attrCol{}
			var kind uint8
			if err := rows.Scan(&env, &a.id, &a.key, &kind, &a.promoted); err != nil {
				return err
			}
			a.kind = model.Kind(kind)
			a.name = fmt.Sprintf("a%d", a.id)
			e := byID[env]
			if e == nil {
				return fmt.Errorf("column %q of unknown environment %d", a.key, env)
			}
			k := colKey{a.key, a.kind}
			e.attrs[k] = a
			e.attrList = append(e.attrList, a)
			e.byKey[a.key] = append(e.byKey[a.key], a)
			e.nextCol = max(e.nextCol, a.id+1)
			if a.promoted {
				e.setOverflow(k)
			}
			return nil
		})
	}
	if err == nil {
		err = s.each(ctx, `SELECT env, id, key FROM overflow_keys`, func(rows *sql.Rows) error {
			var env int
			var id int32
			var key string
			if err := rows.Scan(&env, &id, &key); err != nil {
				return err
			}
			e := byID[env]
			if e == nil {
				return fmt.Errorf("overflow key %q of unknown environment %d", key, env)
			}
			e.keyIDs[key], e.keyNames[id] = id, key
			return nil
		})
	}
	if err == nil {
		err = s.each(ctx, `SELECT env, ds, key, kind, created_ns, last_written_ns FROM dataset_columns`, func(rows *sql.Rows) error {
			var env int
			var ds int32
			var key string
			var kind uint8
			var created, last int64
			if err := rows.Scan(&env, &ds, &key, &kind, &created, &last); err != nil {
				return err
			}
			e := byID[env]
			if e == nil || e.dsByID[ds] == nil {
				return fmt.Errorf("column %q of unknown dataset %d/%d", key, env, ds)
			}
			k := colKey{key, model.Kind(kind)}
			d := e.dsByID[ds]
			if !d.hasKey(key) {
				d.nkeys++
				e.ncols++
			}
			d.cols[k] = newTimes(created, last)
			if hk, hot := hotKinds[key]; !(hot && hk == k.kind) && e.attrs[k] == nil {
				e.setOverflow(k)
			}
			return nil
		})
	}
	if err == nil {
		err = s.loadTimes(ctx, s.db, byID)
	}
	if err != nil {
		return nil, fmt.Errorf("duckdb store: load catalog: %w", err)
	}
	return reg, nil
}

func (s *Store) each(ctx context.Context, q string, fn func(*sql.Rows) error) error {
	return each(ctx, s.db, q, fn)
}

// each runs query q and calls fn for every row.
func each(ctx context.Context, db *sql.DB, q string, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Close checkpoints and closes the database; safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		for _, stop := range []struct{ stop, done chan struct{} }{
			{s.stopFlush, s.flushDone}, {s.stopRet, s.retDone}, {s.stopRecover, s.recoverDone},
		} {
			if stop.stop != nil {
				close(stop.stop)
				<-stop.done
			}
		}
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.flushMu.Lock()
		defer s.flushMu.Unlock()
		s.closed.Store(true)
		var errs []error
		// What fails here for a full disk or an invalidated database loses
		// nothing: the WAL holds every commit, the trace index is rebuilt
		// from the events and the last-written times are at most a flush
		// interval old. So it is logged, not returned.
		keep := func(what string, err error) {
			if err == nil {
				return
			}
			if isNoSpace(err) || isInvalidated(err) {
				s.log.Warn("duckdb store: closing without "+what, "err", err)
				return
			}
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		if s.wc != nil {
			keep("writing the trace index", s.flushPendingIndex(context.Background()))
			keep("persisting the catalog", s.flushCatalog(context.Background()))
			_, err := s.wc.ExecContext(context.Background(), "CHECKPOINT")
			keep("a checkpoint", err)
			keep("closing the write connection", s.wc.Close())
		}
		s.hmu.Lock()
		h := s.h
		close(s.swapped) // wakes readers waiting for a handle: they see closed
		s.swapped = make(chan struct{})
		s.hmu.Unlock()
		if h != nil {
			keep("closing the database", h.close())
		}
		s.closeErr = errors.Join(errs...)
		s.log.Info("duckdb store closed", "path", s.cfg.Path, "err", s.closeErr)
	})
	return s.closeErr
}

func escapeLiteral(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}
