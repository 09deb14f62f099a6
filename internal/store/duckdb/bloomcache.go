package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"sync"
)

// bloomCache keeps the newest rows of each environment's search filter
// (blooms_N) in memory, up to a number of bytes over all environments, so
// that a search finds its candidate writes without a statement: asking
// blooms_N cost ~1.5 ms per search (a scan of every row's bits through
// get_bit), checking the rows here costs microseconds.
//
// An environment's rows are loaded by its first search (newest first,
// until the budget), and every committed Write adds its row (published,
// under pubMu's write side: a search that reads the cache afterwards sees
// the write's events in its transaction). Rows older than the cached ones
// (from) are still asked of blooms_N. Past the budget the oldest rows of
// the largest environment are dropped; retention drops the rows it
// deletes. The cache only ever holds rows of committed Writes, so a
// reopen (which replays every commit from the WAL) keeps it valid; Open
// starts it empty.
type bloomCache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	envs     map[int]*envBlooms
}

// bloomRow is one row of blooms_N.
type bloomRow struct {
	wseq, lo, hi int64
	bits         []byte
}

// bloomRowOverhead is what a cached row costs besides its bits.
const bloomRowOverhead = 56

func (r *bloomRow) size() int64 { return int64(len(r.bits)) + bloomRowOverhead }

// sentinel reports whether r is the row standing for the writes from
// before format 6 (always read).
func (r *bloomRow) sentinel() bool { return r.lo == math.MinInt64 }

type envBlooms struct {
	loading, loaded bool
	// rows are ordered by wseq. Once loaded, they are every row of the
	// table with wseq >= from.
	rows  []bloomRow
	from  int64
	bytes int64
}

// newBloomCache returns a cache of maxBytes, nil when maxBytes is not
// positive.
func newBloomCache(maxBytes int64) *bloomCache {
	if maxBytes <= 0 {
		return nil
	}
	return &bloomCache{maxBytes: maxBytes, envs: map[int]*envBlooms{}}
}

// add records a committed Write's row of env, if env's rows are cached or
// being loaded.
func (c *bloomCache) add(env int, r bloomRow) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	eb := c.envs[env]
	if eb == nil || !(eb.loaded || eb.loading) {
		return
	}
	eb.rows = append(eb.rows, r)
	eb.bytes += r.size()
	c.bytes += r.size()
	c.evict()
}

// evict drops the oldest rows of the largest environments until the
// cache is within its budget. Callers hold mu.
func (c *bloomCache) evict() {
	for c.bytes > c.maxBytes {
		var big *envBlooms
		for _, eb := range c.envs {
			if len(eb.rows) > 0 && (big == nil || eb.bytes > big.bytes) {
				big = eb
			}
		}
		if big == nil {
			return
		}
		r := big.rows[0]
		big.rows[0] = bloomRow{}
		big.rows = big.rows[1:]
		big.from = max(big.from, r.wseq+1)
		big.bytes -= r.size()
		c.bytes -= r.size()
	}
}

// dropBefore forgets env's rows of writes wholly before cutoff (retention
// deleted them from blooms_N).
func (c *bloomCache) dropBefore(env int, cutoff int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	eb := c.envs[env]
	if eb == nil {
		return
	}
	eb.rows = slices.DeleteFunc(eb.rows, func(r bloomRow) bool {
		if r.hi < cutoff {
			eb.bytes -= r.size()
			c.bytes -= r.size()
			return true
		}
		return false
	})
}

// forget drops every cached row (the database was replaced by one whose
// rows may differ).
func (c *bloomCache) forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.envs)
	c.bytes = 0
}

// bloomProbeResult is what the cache knows about a search's candidates.
type bloomProbeResult struct {
	// seqs are the candidate writes among the cached rows (in wseq order),
	// old the largest wseq of a sentinel row among them (math.MinInt64:
	// none).
	seqs []int64
	old  int64
	// below is the first cached wseq: rows of earlier writes must be
	// asked of blooms_N (math.MinInt64: none are left out).
	below int64
}

// probe finds env's cached rows overlapping [start, end) that may hold h,
// stopping past limit candidates. ok is false when env's rows are not
// cached (yet).
func (c *bloomCache) probe(env int, start, end int64, h uint64, limit int) (res bloomProbeResult, ok bool) {
	if c == nil {
		return res, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	eb := c.envs[env]
	if eb == nil || !eb.loaded {
		return res, false
	}
	res.old, res.below = math.MinInt64, eb.from
	for i := range eb.rows {
		r := &eb.rows[i]
		if r.hi < start || r.lo >= end || !mayHold(r.bits, h) {
			continue
		}
		if r.sentinel() {
			res.old = max(res.old, r.wseq)
			continue
		}
		res.seqs = append(res.seqs, r.wseq)
		if len(res.seqs) > limit {
			break
		}
	}
	return res, true
}

// load reads env's newest rows from table into the cache, unless they are
// cached or being loaded.
func (c *bloomCache) load(ctx context.Context, qr querier, env int, table string) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	eb := c.envs[env]
	if eb != nil && (eb.loaded || eb.loading) {
		c.mu.Unlock()
		return nil
	}
	eb = &envBlooms{loading: true, from: math.MinInt64}
	c.envs[env] = eb
	c.mu.Unlock()

	loaded, from, err := readBlooms(ctx, qr, table, c.maxBytes)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.envs[env] != eb {
		return err // forgotten meanwhile
	}
	if err != nil {
		delete(c.envs, env)
		c.bytes -= eb.bytes
		return err
	}
	// Rows of writes committed while loading are in eb.rows, some of them
	// in loaded too.
	all := append(loaded, eb.rows...)
	slices.SortFunc(all, func(a, b bloomRow) int { return cmp.Compare(a.wseq, b.wseq) })
	all = slices.CompactFunc(all, func(a, b bloomRow) bool { return a.wseq == b.wseq })
	from = max(from, eb.from)
	all = slices.DeleteFunc(all, func(r bloomRow) bool { return r.wseq < from })
	c.bytes -= eb.bytes
	eb.rows, eb.from, eb.bytes = all, from, 0
	for i := range all {
		eb.bytes += all[i].size()
	}
	c.bytes += eb.bytes
	eb.loading, eb.loaded = false, true
	c.evict()
	return nil
}

// readBlooms reads a search filter table's newest rows, as many as fit
// maxBytes; from is the oldest wseq read when it left rows out
// (math.MinInt64 when it read every row). It finds where to start from
// the rows' sizes first (sorting the rows' bits by wseq would hold them
// all in DuckDB's memory at once), then reads the rows from there.
func readBlooms(ctx context.Context, qr querier, table string, maxBytes int64) (rows []bloomRow, from int64, err error) {
	from = math.MinInt64
	err = func() error {
		rs, err := qr.QueryContext(ctx, `SELECT wseq, bit_length(bits) // 8 FROM `+table+` ORDER BY wseq DESC`)
		if err != nil {
			return err
		}
		defer rs.Close()
		var n int64
		for rs.Next() {
			var w, size int64
			if err := rs.Scan(&w, &size); err != nil {
				return err
			}
			if n += size + bloomRowOverhead; n > maxBytes {
				from = w + 1
				break
			}
		}
		return rs.Err()
	}()
	if err != nil {
		return nil, 0, err
	}
	rs, err := qr.QueryContext(ctx, `SELECT wseq, min_ts, max_ts, bits::BLOB FROM `+table+` WHERE wseq >= ?`, from)
	if err != nil {
		return nil, 0, err
	}
	defer rs.Close()
	for rs.Next() {
		var r bloomRow
		if err := rs.Scan(&r.wseq, &r.lo, &r.hi, &r.bits); err != nil {
			return nil, 0, err
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, 0, err
	}
	slices.SortFunc(rows, func(a, b bloomRow) int { return cmp.Compare(a.wseq, b.wseq) })
	return rows, from, nil
}

// bloomProbeSQL is the condition that a blooms_N row may hold h.
func bloomProbeSQL(h uint64) string {
	// The probe is written into the statement (numbers only): as
	// parameters, a list index computed from them made DuckDB take
	// 65–275 ms instead of ~2 ms over 500 rows.
	word, pos := bloomProbe(h)
	base := `(` + strconv.FormatInt(word, 10) + ` % (bit_length(bits) // 64)) * 64 + `
	out := ""
	for i, p := range pos {
		if i > 0 {
			out += " AND "
		}
		out += `get_bit(bits, (` + base + strconv.Itoa(p) + `)::INTEGER) = 1`
	}
	return out
}

var _ querier = (*sql.Tx)(nil)
