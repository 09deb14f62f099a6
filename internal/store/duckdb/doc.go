// Package duckdb is tracecomb's embedded trace store: one DuckDB database
// file under the data directory, implementing store.Store.
//
// # Schema (format version 2; see formatVersion for the history)
//
// Catalog tables, shared by all environments:
//
//	format(version)                         on-disk format; only moves forward
//	envs(id, slug)                          environments, id → tables below
//	datasets(env, id, name, slug, created_ns, last_written_ns)
//	attr_columns(env, id, key, kind)        physical attribute columns a<id>
//	dataset_columns(env, ds, key, kind, created_ns, last_written_ns)
//
// Per environment N (so environments never share rows, columns or scans):
//
//	events_N   one row per event (span, span event, link)
//	traces_N   (trace_hi, trace_lo, min_ts, max_ts, ds), one row per trace and
//	           dataset per Write
//
// events_N columns:
//
//	ts BIGINT               event time, unix nanoseconds
//	ds INTEGER              dataset id (datasets.id)
//	source UTINYINT         model.Source: 0 otlp, 1 xray, 2 events
//	trace_hi, trace_lo      the 16-byte trace id as two big-endian BIGINTs
//	                        (two's complement: DuckDB parameters cannot carry
//	                        uint64 values above 2^63)
//	span_id, parent_id      BIGINT, NULL when zero
//	name, service_name, span_kind, annotation_type   VARCHAR, NULL when ""
//	duration_ms DOUBLE, status_code BIGINT           NULL for span events and
//	                                                 links (unless non-zero)
//	error BOOLEAN           TRUE or NULL (Honeycomb writes error only when true)
//	sample_rate BIGINT, doc BLOB (the X-Ray segment document, NULL otherwise)
//	ov_str, ov_int, ov_flt, ov_bool   MAP(VARCHAR, <type>): overflow attributes
//	a1, a2, …               one typed column per (attribute key, value type)
//
// Every attribute key gets its own typed column the first time it is
// written (ALTER TABLE ADD COLUMN inside the writing transaction), named
// a<id> so no user text ever becomes an identifier; attr_columns maps ids to
// keys. A key written with a second type gets a second column, so nothing is
// coerced or lost. Once an environment has Config.MaxAttributeColumns
// attribute columns, new keys go into the ov_* map of their type. One column
// per key is what makes attribute filters and GROUP BY fast: DuckDB reads
// only the columns a query names, and low-cardinality strings are
// dictionary-compressed. A NULL costs next to nothing on disk.
//
// # Resolving a Honeycomb field name
//
// A field name maps to, in order: the hot column (see hotExprs; trace and
// span ids are compared in their Honeycomb hex form), every a<id> column of
// that key, and the overflow maps holding the key (ov_x['key']). Filters are
// compiled by package sqlgen against that list; values are always
// parameters, identifiers are always quoted. A query engine should resolve
// fields the same way (see resolver) and read the ts/ds/duration_ms columns
// directly.
//
// # Trace by id
//
// traces_N records, for each Write, each trace's datasets and min and max
// ts. Trace reads the trace's time range and datasets from it (a scan of one row per trace per write,
// about a tenth of the events) and then reads events_N with
// "ts BETWEEN lo AND hi AND trace_hi = ? AND trace_lo = ?": events are
// appended in roughly time order, so DuckDB's per-row-group min/max (zone
// maps) on ts skip all but a few row groups. It selects only the attribute
// columns of the trace's datasets (Scan likewise with ScanQuery.Datasets).
//
// # Writes and durability
//
// Write holds one mutex (DuckDB has one writer) and runs one transaction on
// a dedicated connection: new environments' tables, new attribute columns
// (ALTER TABLE … ADD COLUMN), the X-Ray replacements (DELETE of stored X-Ray
// events with the same trace and span id, bounded by traces_N's time range;
// within one Write the last one wins), the events, their traces_N rows, and
// the catalog rows of new datasets and columns.
//
// Events are appended with a duckdb-go Appender restricted to the columns
// the write uses (hot columns, the overflow maps in use, the attribute
// columns in use), inside the transaction; an Appender appends into the
// connection's open transaction, so ROLLBACK drops it too. The Appender
// costs one cgo call per cell, NULLs included, and with one column per
// attribute most cells are NULL. stage.go has the alternative (an
// unexported Config switch): narrow rows with attributes as lists into a
// temporary table, then one INSERT … SELECT spreading them into columns
// inside DuckDB. It measured ~2× faster while the machine was saturated by
// other processes (fewer cgo calls) but 15–25% slower on a quiet machine,
// so the direct Appender is the default.
//
// Durability: COMMIT writes the transaction to <file>.wal and fsyncs it
// before returning (checked with strace: exactly one fsync of the WAL per
// Write), so a Write that returned nil survives kill -9 and the WAL is
// replayed on the next Open. DuckDB checkpoints the WAL into the database
// file when it passes checkpoint_threshold (16 MB), inside a commit, which
// makes that one commit slow. On error the transaction rolls back and the
// in-memory catalog copy is dropped with it.
//
// Last-written times of datasets and columns move in memory with every
// Write and are persisted by a background flush every
// Config.CatalogFlushInterval (default 5 s; rewriting the two small catalog
// tables by Appender) and on Close: updating ~1000 catalog rows per commit
// cost more than the events themselves. After a crash they may be up to one
// interval old; created times and the column mapping are always committed
// with the data.
//
// The in-memory catalog (registry) is copied for each write and published
// only after COMMIT, under a lock that readers hold while they start their
// query, so a reader always knows every column of the rows it can see.
// Readers use the database/sql pool and run concurrently.
//
// # Scans
//
// Scan compiles ScanQuery into one WHERE clause (ts range, ds IN (…), trace
// id pairs, then the filters via sqlgen). Without a limit it streams whole
// rows ordered by ts DESC. With a limit it runs two statements in one read
// transaction: the row ids of the newest matches (reading only ts and the
// filtered columns), then those rows whole by rowid.
//
// # Known limits (measured, see the benchmarks in bench_test.go)
//
//   - Sparse attribute columns are not free: DuckDB stores every row of
//     every column (dictionary codes plus a validity mask), so with 97
//     attribute keys of which 11 are set per span, each span costs roughly
//     one to two bytes per attribute column. The benchmark workload (random
//     keys) therefore takes several hundred bytes per span on disk; services
//     that always send the same keys fill their columns and compress far
//     better. Splitting events tables per dataset, or keeping only
//     frequently queried keys as columns, are the next steps.
//   - Materialising whole events (Trace, Scan) reads every attribute column
//     at the rows' positions, so its cost grows with the number of
//     attribute columns. FSST string compression is disabled by default
//     (Config.DisabledCompression) because its segments cannot be read at a
//     random position without decoding from the segment's start.
//   - Aggregations and filters read only the columns they name and are the
//     fast path (a filtered COUNT reads two columns).
package duckdb
