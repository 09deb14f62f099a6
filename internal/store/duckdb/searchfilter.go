package duckdb

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

// The search filter (blooms_N) lets a query for one service's events with
// one listed string value read only the writes that may hold such an
// event. A filter on a key kept in the overflow lists reads every event's
// lists (the lists have no zone maps worth the name), while DuckDB reads a
// single Write's rows (one wseq value, contiguous) cheaply: its zone maps
// on wseq skip the rest. So each Write appends, per environment, one row:
// a Bloom filter of the (service.name, key, value) triples of the string
// values in its events' overflow lists, with the Write's time range.
//
// Aggregate uses it when the query's filters are ANDed and include
// service.name = "x" and key = "y" for a key kept only in the string
// lists (not promoted to a column, no other type): it asks blooms_N which
// writes may hold the triple and reads those writes' rows only, as a
// UNION ALL of one branch per write (a single IN over wseq values is
// checked against zone maps by its minimum and maximum, so it reads every
// write in between). The filters still run on the rows, so a false
// positive costs a read, never a wrong answer. More than maxSearchWrites
// candidate writes, or a query the filter cannot serve, runs as before.
//
// The filter is written in the Write's transaction, so it commits with
// the events or not at all: nothing to rebuild after a crash. Events
// written before format 6 have no filter rows; the upgrade records a
// sentinel row (min_ts the smallest BIGINT, 64 bits all set) holding the
// last such wseq, and those writes are always read. Deletes leave the filters as they are (a filter may
// then match a write with no such event, a false positive), except
// retention, which drops the rows of writes wholly before its cutoff.

// Blocked Bloom filter: each triple sets bloomK bits of one 64-bit word;
// bloomBitsPerItem bits per triple (Config.SearchFilterBitsPerItem) give
// ~1.8% false positives, 12 give 1.2%, 16 give 0.5%. The probe depends on
// the filter's length only, so rows of different sizes are read alike.
const (
	bloomBitsPerItem = 10
	bloomK           = 4
	// maxSearchWrites is the most candidate writes a query reads through
	// the filter; past it the full scan is cheaper.
	maxSearchWrites = 64
	// searchGap is the widest gap between candidate writes read as one
	// range.
	searchGap = 4
)

func bloomsDDL(table string) string {
	return `CREATE TABLE ` + table + ` (
			wseq BIGINT NOT NULL,
			min_ts BIGINT NOT NULL,
			max_ts BIGINT NOT NULL,
			bits BIT NOT NULL)`
}

// searchHash hashes a (service, key id, value) triple: FNV-1a, then a
// 64-bit finaliser so every bit depends on every input byte.
func searchHash(service string, key int32, value string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(service); i++ {
		h = (h ^ uint64(service[i])) * prime
	}
	h = (h ^ 0xff) * prime
	for i := 0; i < 4; i++ {
		h = (h ^ uint64(byte(key>>(8*i)))) * prime
	}
	for i := 0; i < len(value); i++ {
		h = (h ^ uint64(value[i])) * prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// bloomProbe is where h lives: its word is word mod the filter's length
// in 64-bit words (a non-negative value, so SQL computes the same), and
// bits are the positions in that word that must all be set. Bit p of the
// filter is bit 7-p%8 of byte p/8, as DuckDB casts a BLOB to BIT.
func bloomProbe(h uint64) (word int64, bits [bloomK]int) {
	for i := range bloomK {
		bits[i] = int((h >> (6 * i)) & 63)
	}
	return int64(h >> 33), bits
}

// searchBloom collects one Write's triples of one environment.
type searchBloom struct {
	hashes []uint64
	lo, hi int64
}

func (b *searchBloom) add(service string, key int32, value string, ts int64) {
	if len(b.hashes) == 0 {
		b.lo, b.hi = ts, ts
	}
	b.lo, b.hi = min(b.lo, ts), max(b.hi, ts)
	b.hashes = append(b.hashes, searchHash(service, key, value))
}

// bits builds the filter. It is passed as one BLOB and stored as BIT,
// which get_bit reads without a cast: a BIGINT[] parameter cost the driver
// a value per element (1.7 ms per Write of 1,000 spans), and casting BLOB
// to BIT when probing tripled the probe's time.
func (b *searchBloom) bits(perItem int) []byte {
	n := max(1, (len(b.hashes)*perItem+63)/64)
	out := make([]byte, 8*n)
	for _, h := range b.hashes {
		w, bits := bloomProbe(h)
		for _, i := range bits {
			p := (w%int64(n))*64 + int64(i)
			out[p/8] |= 0x80 >> (p % 8)
		}
	}
	return out
}

// mayHold reports whether bits may hold h (the check the SQL makes).
func mayHold(bits []byte, h uint64) bool {
	n := int64(len(bits) / 8)
	if n == 0 {
		return false
	}
	w, pos := bloomProbe(h)
	for _, i := range pos {
		p := (w%n)*64 + int64(i)
		if bits[p/8]&(0x80>>(p%8)) == 0 {
			return false
		}
	}
	return true
}

// searchTriple finds in q the service and listed string value the search
// filter can serve; ok is false when it cannot serve q.
func searchTriple(e *envReg, q store.AggregateQuery) (service string, key int32, value string, ok bool) {
	if q.Combination != store.And || len(q.CalculatedFields) > 0 || len(q.CalcFilters) > 0 {
		return "", 0, "", false
	}
	for _, b := range q.Breakdowns {
		if sqlgen.IsRelational(b) {
			return "", 0, "", false
		}
	}
	for _, c := range q.Calcs {
		if c.Column != "" && sqlgen.IsRelational(c.Column) {
			return "", 0, "", false
		}
	}
	res := resolver(e)
	haveSvc, haveKey := false, false
	for _, f := range q.Filters {
		if sqlgen.IsRelational(f.Column) {
			return "", 0, "", false
		}
		if f.Op != store.OpEq || f.Value.Kind != model.KindString {
			continue
		}
		if f.Column == model.FieldServiceName {
			if cols := res(f.Column); !haveSvc && len(cols) == 1 && cols[0].Expr == hotExprs[model.FieldServiceName].Expr {
				service, haveSvc = f.Value.Str, true
			}
			continue
		}
		if haveKey {
			continue
		}
		id, listed := e.keyIDs[f.Column]
		if !listed || !e.overflow[colKey{f.Column, model.KindString}] || len(res(f.Column)) != 1 {
			continue
		}
		key, value, haveKey = id, f.Value.Str, true
	}
	return service, key, value, haveSvc && haveKey
}

// searchSource narrows src to the writes that may hold q's triple: ok is
// false when the filter cannot serve q or would not pay. The rows of the
// filter cached in memory (bloomCache) are checked there; only older ones
// are asked of blooms_N.
func (s *Store) searchSource(ctx context.Context, qr querier, e *envReg, q store.AggregateQuery, src *sqlgen.AggSource) (bool, error) {
	service, key, value, ok := searchTriple(e, q)
	if !ok {
		return false, nil
	}
	h := searchHash(service, key, value)
	start, end := q.Start.UnixNano(), q.End.UnixNano()
	if err := s.blooms.load(ctx, qr, e.id, e.bloomsTable()); err != nil {
		return false, err
	}
	var seqs []int64
	old := int64(math.MinInt64)
	below := int64(math.MaxInt64) // rows of writes before it are asked of blooms_N
	if c, ok := s.blooms.probe(e.id, start, end, h, maxSearchWrites); ok {
		seqs, old, below = c.seqs, c.old, c.below
	}
	if below != math.MinInt64 && len(seqs) <= maxSearchWrites {
		rows, err := qr.QueryContext(ctx, `SELECT wseq, min_ts = `+strconv.FormatInt(math.MinInt64, 10)+` FROM `+e.bloomsTable()+
			` WHERE wseq < ? AND max_ts >= ? AND min_ts < ? AND `+bloomProbeSQL(h)+
			` LIMIT `+strconv.Itoa(maxSearchWrites+1), below, start, end)
		if err != nil {
			return false, err
		}
		defer rows.Close()
		for rows.Next() {
			var w int64
			var sentinel bool
			if err := rows.Scan(&w, &sentinel); err != nil {
				return false, err
			}
			if sentinel {
				old = max(old, w)
			} else {
				seqs = append(seqs, w)
			}
		}
		if err := rows.Err(); err != nil {
			return false, err
		}
	}
	if len(seqs) > maxSearchWrites {
		return false, nil
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	t := e.eventsTable()
	var branches []string
	if old != math.MinInt64 {
		branches = append(branches, `SELECT * FROM `+t+` WHERE wseq <= `+strconv.FormatInt(old, 10))
	}
	seqs = slices.DeleteFunc(seqs, func(w int64) bool { return w <= old })
	for i := 0; i < len(seqs); {
		// Writes a few apart are read as one range: a branch costs more
		// than reading the few writes between (~1.3 ms against ~0.25 ms
		// per write of 2,000 spans).
		j := i
		for j+1 < len(seqs) && seqs[j+1]-seqs[j] <= searchGap {
			j++
		}
		if i == j {
			branches = append(branches, `SELECT * FROM `+t+` WHERE wseq = `+strconv.FormatInt(seqs[i], 10))
		} else {
			branches = append(branches, `SELECT * FROM `+t+` WHERE wseq BETWEEN `+strconv.FormatInt(seqs[i], 10)+` AND `+strconv.FormatInt(seqs[j], 10))
		}
		i = j + 1
	}
	if len(branches) == 0 {
		branches = append(branches, `SELECT * FROM `+t+` WHERE false`)
	}
	src.Table = "(" + strings.Join(branches, " UNION ALL ") + ")"
	return true, nil
}

// querier runs a read statement: a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
