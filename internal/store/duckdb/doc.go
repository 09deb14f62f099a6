// Package duckdb is tracecomb's embedded trace store: one DuckDB database
// file under the data directory, implementing store.Store.
//
// # Schema (format version 6; see formatVersion for the history)
//
// Catalog tables, shared by all environments:
//
//	format(version)                         on-disk format; only moves forward
//	envs(id, slug)                          environments, id → tables below
//	datasets(env, id, name, slug, created_ns, last_written_ns)
//	attr_columns(env, id, key, kind, promoted)  physical attribute columns a<id>
//	dataset_columns(env, ds, key, kind, created_ns, last_written_ns)
//	overflow_keys(env, id, key)             ids of the keys in the lists
//	trace_index_state(env, wseq)            index complete up to this Write
//	catalog_times(env, ds, key, kind, last_ns)  log of last-written times
//	retention(env, max_age_ns, max_bytes)   retention overrides by slug
//
// Per environment N (so environments never share rows, columns or scans;
// what came in by an environment's X-Ray doors is an environment of its
// own, store.DoorEnv):
//
//	events_N   one row per event (span, span event, link)
//	traces_N_B the trace index, B = 0…15 by the top bits of the trace id's
//	           last 8 bytes: (trace_hi, trace_lo, min_ts, max_ts, ds), one
//	           row per trace per Write (ds 0 when the trace's events of that
//	           Write are in several datasets)
//	blooms_N   the search filter: (wseq, min_ts, max_ts, bits), one row per
//	           Write, a Bloom filter of its (service.name, key, value)
//	           triples of listed string values (searchfilter.go)
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
//	wseq BIGINT             sequence number of the Write that stored it
//	ovk_str, ovv_str, …     per value type, two parallel lists: the names
//	                        and values of the event's overflow attributes
//	a1, a2, …               one typed column per dense (attribute key, value
//	                        type)
//
// An attribute starts in the overflow lists of its type. Once at least
// Config.MinColumnEvents events of the environment were counted since Open
// and the key is on at least Config.MinColumnDensity of them (default half),
// it gets its own typed column (ALTER TABLE ADD COLUMN inside the writing
// transaction), named a<id> so no user text ever becomes an identifier;
// attr_columns maps ids to keys and marks columns created for a key already
// in the lists as promoted, so reads keep looking in both. A key written
// with a second type gets a second column, so nothing is coerced or lost;
// Config.MaxAttributeColumns caps the columns per environment.
//
// Why two layouts: a column stores a validity bit and a dictionary code for
// every row, present or not (~11 bits per row with 1000 distinct values),
// while a list entry costs its key's and its value's codes only where
// present (~17 bits). A dense key is smaller as a column and ~20× faster
// to filter and group by (DuckDB reads only the column); a sparse key is
// several times smaller in the lists. With Jaeger's benchmark workload
// (11 keys of 97 per span, each on 11% of spans) the layout with a column
// per key took 250 bytes per span and 15k spans/s to write; with the lists,
// 61 bytes and 29k spans/s (BenchmarkWrite, BenchmarkTraceByID's fixture).
// The price is that a filter on a sparse key reads the whole lists column
// (134 vs 6 ms over 500k events, BenchmarkCountAttributeFilter).
//
// # Resolving a Honeycomb field name
//
// A field name maps to, in order: the hot column (see hotExprs; trace and
// span ids are compared in their Honeycomb hex form), every a<id> column of
// that key, and the overflow lists holding the key (ovv_x[list_position(ovk_x, 'key')]). Filters are
// compiled by package sqlgen against that list; values are always
// parameters, identifiers are always quoted. A query engine should resolve
// fields the same way (see resolver) and read the ts/ds/duration_ms columns
// directly.
//
// # Trace by id
//
// Write stores each environment's events ordered by trace id (keeping
// their order within a trace), so a trace's rows are adjacent and its ids
// compress to one run. The trace index records, for each Write, each
// trace's datasets and min and max ts; rows of recent writes wait in memory
// and reach traces_N_B in bulk (traceindex.go says why and how a crash is
// survived). Trace reads the trace's time range and datasets from the
// memory rows and one bucket table (a scan of a sixteenth of one row per
// trace per write) and then reads events_N with
// "ts BETWEEN lo AND hi AND trace_hi = ? AND trace_lo = ?": events are
// appended in roughly time order, so DuckDB's per-row-group min/max (zone
// maps) on ts skip all but a few row groups. It selects only the attribute
// columns of the trace's datasets (Scan likewise with ScanQuery.Datasets)
// and orders the rows in Go; it reads only the overflow lists of value
// types the environment uses. Both statements run through prepared
// statements kept on the handle (handle.query; DuckDB binds one again
// when a column was added since). Measured (BenchmarkTraceByID, 1M spans,
// three runs back to back on the shared machine): 2.52–2.78 ms p50 before
// the prepared statements, 2.16–2.23 ms after. Of that, the index
// statement takes ~0.42 ms (0.6 unprepared) and the events statement
// ~1.4–1.55 ms: ~0.5 ms finding the rows (the same statement counting
// them), ~0.55 ms decoding the overflow lists of the rows' vector (DuckDB
// decodes the whole vector's list entries, ~11 per row, to hand back a
// few rows) and ~0.4 ms the other 16 columns.
//
// Tried and not kept (same fixture): one statement taking the time range
// from the index in a join (DuckDB runs a nested loop join and scans
// trace_hi and trace_lo of every row group: 2.3 ms at 1M, growing with
// the store); rows by rowid range (3.2 ms: no zone maps on rowid) or
// rowid list (2.4 ms); wseq = w instead of the ts range (~10% faster,
// would need the write's number in the index rows); threads = 1 (~15%
// faster here, but a global setting every other query shares).
//
// # Writes and durability
//
// Write holds one mutex (DuckDB has one writer) and runs one transaction on
// a dedicated connection: new environments' tables, new attribute columns
// (ALTER TABLE … ADD COLUMN), the X-Ray replacements (DELETE of stored X-Ray
// events with the same trace and span id, unless a stored complete one
// meets an in-progress one: X-Ray's duplicate rule, xrayview.Prefer, within
// a Write too), the events, the trace index rows when the pending ones are
// due, and the catalog rows of new datasets and columns.
//
// The X-Ray replacements first ask the trace index which of the Write's
// traces have stored events, and their time range. A Bloom filter of the
// index's trace ids (tracefilter.go: 16 bits per trace, filled from the
// index tables by an environment's first X-Ray Write after the database is
// opened, then by every committed Write, dropped after a failed one) leaves
// out the traces the store has never seen, mostly all of them with the
// X-Ray daemon's segments; for the others one statement joins the trace
// ids, passed as lists, with the index tables of their buckets (bounded by
// the ids' smallest and largest first half, which in X-Ray ids starts with
// their time), and the pending rows in memory are searched once. Only the
// keys of traces found are looked for in events_N, by a join with the key
// lists in at most 8 statements, each bounded by the time range of its
// traces (cut at the widest gaps between them). The index is what Trace
// reads, complete after a crash (traceindex.go), so no stored duplicate is
// missed. The look-up used to be, per 500 keys, a chain of ORs over the
// index tables and then over the events: with the X-Ray daemon benchmark's
// load it took most of the server's CPU. BenchmarkXRayWrite (1,000 segments
// per Write into a store of 1M X-Ray spans, three runs on the shared
// machine): a segment of a new trace each, 2.5–3.4k → 11.9–17.5k spans/s
// (212–312 → 68–79 µs of CPU per span); traces whose root comes with the
// next Write, 1.3–2.5k → 29.7–35.1k; with a tenth of the previous Write
// resent, 1.5–2.3k → 25.2–38.4k (the joins alone). The filter then took the
// first case from 57–60 to 44–54 µs of CPU per span (the filter disabled
// and enabled in one binary); its false positives (0.24%) leave a statement
// over a few keys in most Writes of 1,000 new traces, ~0.5 ms. Loading it
// took 0.35–0.44 s at 1M spans (200k index rows).
//
// Events are appended with a duckdb-go Appender restricted to the columns
// the write uses (the hot columns some event of the write has a value in,
// the overflow lists in use, the attribute columns in use), inside the
// transaction; an Appender appends into the connection's open transaction,
// so ROLLBACK drops it too. The Appender costs a cgo call per string and
// per NULL cell (numbers are written into its chunk directly), which is one
// more reason to keep sparse keys out of columns. (Lists appended as Go MAP
// values cost a Go map per entry in the driver; two plain lists are 1.7×
// faster.)
//
// Where a Write's CPU goes (BenchmarkWrite/lists, 1,000 events per Write,
// CPU profile): half in DuckDB's COMMIT (the WAL write and the
// checkpoints some commits run), 17% in the Appender's flush, 11% in its
// per-cell appends (the driver's AppendRow: a cgo call per string and per
// NULL, five per list and one per string in a list), 4% in the search
// filter's INSERT, the rest in Go (the catalog, field slots, hashing).
// duckdb-go (v2.10506.0) has no public way to hand an Appender a filled
// data chunk, and its DataChunk setters are the same per-cell code; its
// Arrow interface (RegisterView of Arrow records, then INSERT … SELECT)
// needs the duckdb_arrow build tag and the Apache Arrow module, and was
// not tried.
//
// Durability: COMMIT writes the transaction to <file>.wal and fsyncs it
// before returning (checked with strace: exactly one fsync of the WAL per
// Write), so a Write that returned nil survives kill -9 and the WAL is
// replayed on the next Open. DuckDB checkpoints the WAL into the database
// file when it passes checkpoint_threshold (Config.CheckpointThreshold, 64
// MB by default), inside a commit, which makes that one commit slow. On
// error the transaction rolls back and the in-memory catalog copy is
// dropped with it.
//
// Last-written times of datasets and columns move in memory after every
// Write's commit and are persisted by a background flush every
// Config.CatalogFlushInterval (default 5 s) and on Close: updating ~1000
// catalog rows per commit cost more than the events themselves. The flush
// appends one catalog_times row per dataset or column whose time moved
// since the previous flush (Open keeps the newest per row; the log is
// compacted once it holds more than twice its distinct rows), on a
// connection of its own, never under the write lock (catalog.go). Format 4
// rewrote both catalog tables whole under the write lock: one environment
// given 200,000 distinct keys made that 4.5 → 263 ms every 5 s, stalling
// every environment's writes. After a crash the times may be up to one
// interval old; created times and the column mapping are always committed
// with the data.
//
// The in-memory catalog (registry) is copied on write and published only
// after COMMIT, under a lock that readers hold while they start their
// query, so a reader always knows every column of the rows it can see. A
// Write copies only the environments it writes to, and in them only the
// maps it adds to (a dataset's fields only when it adds a field); times
// move atomically in shared entries. Format 4 copied every environment's
// whole catalog for each Write: after another environment got 200,000
// keys, 10-span writes went from 1,130 to 284 spans/s (BenchmarkKeyFlood,
// in process); now 991 and 899 (noise), and a flush after a quiet
// environment's write appends the same 27 rows before and after the flood
// (TestKeyFloodIsolated). Readers use the database/sql pool and run
// concurrently.
//
// # Column limits
//
// A dataset keeps at most Config.MaxDatasetColumns distinct columns
// (10,000, Honeycomb's per-dataset limit; a name with two types is one
// column, hot fields count) and an environment at most Config.MaxEnvColumns
// (100,000) over all its datasets. An event whose new fields would pass
// either is not stored: Write lists it in store.Batch.Refused with
// store.ErrTooManyColumns and commits the rest, so the ingest layer can
// answer Honeycomb's 400 "Dataset has too many columns." for it. The check
// runs before any of the event's fields is numbered, so a refused event
// leaves nothing in the catalog. DeleteColumn and DeleteDataset make room
// (delete.go): a DELETE by dataset id, or an UPDATE that nulls the column
// and filters the key out of the overflow lists, and the catalog rows, in
// one transaction. Measured over 1M spans: DeleteDataset of a tenth of
// them 41 ms, DeleteColumn of a listed field 335 ms; their space is
// reused after the next checkpoint and given back by the next rewrite.
//
// # Retention
//
// Each environment has a retention (store.Retention: a maximum age by
// event time and a maximum size; Config.Retention for all, SetRetention
// overrides per environment, kept in the retention table; a door's part
// follows its environment). Every Config.RetentionInterval (1 min), and
// sooner when Writes added a twentieth of a size limit since the last
// pass, retention.go deletes under the write lock: by age, then by size,
// each followed by a CHECKPOINT, and refreshes what /metrics reports
// (tracecomb_store_retention_deleted_events_total, _environment_disk_bytes,
// _oldest_event_timestamp_seconds, _disk_bytes, _compactions_total, and per
// environment _retention_max_age_seconds and _retention_max_bytes, with
// _retention_last_run_timestamp_seconds); RetentionReport gives the same
// per environment to the UI.
//
// What DuckDB 1.5.6 does with deleted rows, measured on 600k spans (37.7 MB
// of used blocks, one environment, 2 cores): DELETE of the oldest five
// sixths took 23–30 ms and the CHECKPOINT after it 14 ms; the used blocks
// went from 150 to 48, but the file stayed 41 MB: DuckDB keeps freed
// blocks in a free list and truncates the file only when its last blocks
// are free. The next writes reuse the free blocks (ten more minutes of
// spans: file unchanged, 78 used, 80 free), so DELETE + CHECKPOINT bounds
// the file but never shrinks it. Shrinking takes a rewrite: CREATE TABLE
// AS + DROP + RENAME in place took 1.7–4.4 s and left 29 MB (only the
// blocks that ended up last are truncated); COPY FROM DATABASE into a new
// file took 0.8–1.5 s and gave 17 MB. compact uses the latter, under the
// write lock: checkpoint, copy into <file>.compact, close the store's
// database (readers get up to 2 s to finish, then their queries are
// cancelled; handle.go), rename the copy over the file, open it again.
// A crash before the rename leaves the old file whole and Open deletes the
// copy; after it, the new one. It runs when a rewrite would free more
// than half of the file and at least Config.CompactMinFree (64 MiB), the
// free blocks plus the share of each table's rows that are deleted, and
// the live data is at most Config.CompactMaxLive (128 MiB: the copy ran at
// 8–90 MB/s here, a 55 MB file of 0.9M spans in 6.3 s on two shared
// cores, and writers wait for it; past that the free blocks are only
// reused). Time partitions
// (a table per period, dropped whole) would have freed blocks without a
// DELETE but not shrunk the file either, and every read would have had
// to span the tables. TestRetentionByAge: an hour of 120k spans of ~400
// bytes under a 10-minute age limit keeps the last 20k; the file goes
// from 27.5 to 11.3 MB, and the pass (deletes, checkpoint, rewrite) takes
// 0.4–0.5 s.
//
// A size limit bounds what the file must hold for the environment: its
// tables' blocks, the catalog's, and what a checkpoint writes before it
// frees what it replaces. DuckDB rewrites every row group that gained or
// lost rows, new blocks first, so the file needs up to two row groups
// more (twice the data of an environment smaller than one row group,
// 122,880 rows). Retention deletes the oldest events once that passes 85%
// of the limit, down to 70%, and lowers DuckDB's checkpoint threshold to a
// sixteenth of the smallest limit so the WAL stays small too. While every
// environment has a size limit, the file is not rewritten unless it is
// past the limits' sum (a rewrite needs room for the copy). Each
// environment also costs a fixed ~6 MB once its trace index is flushed:
// every table takes a block or two of 256 KiB. TestRetentionBySize writes
// 67 MB of spans under a 32 MiB limit while retention runs: the data
// directory peaks at 31.0–31.3 MB.
//
// # A full disk, an invalidated database
//
// A commit whose WAL write finds the disk full fails and is rolled back:
// Write answers store.ErrNoSpace, retryable, and reads go on. A failed
// checkpoint is worse: DuckDB invalidates the database and every later
// statement fails until it is closed and opened again. When that
// checkpoint ran inside a commit (the WAL passed checkpoint_threshold),
// DuckDB reports "Transaction COMMIT succeeded and is durable, but the
// autocheckpoint failed": Write returns nil for it, since its events are
// in the WAL (format 4 answered an error, so the client retried and stored
// them twice). Either way the store reopens itself (health.go): under the
// write lock it closes the database, readers' queries cancelled after 2 s,
// and opens it again, which replays the WAL. If a full disk prevents a
// read-write open (the store's start-up writes, or a checkpoint of the
// replayed WAL), it opens the file read-only: reads work, including traces
// whose index rows are rebuilt in memory, writes and catalog changes
// answer store.ErrNoSpace, and a read-write open is tried again every
// Config.RecoveryInterval once Config.MinFreeBytes are free. Open does the
// same, so tracecomb starts on a full disk. Close logs, and does not
// return, what a full disk or an invalidated database makes fail (the
// final checkpoint, the catalog flush): the WAL holds every commit.
// Healthy reports all of it for /healthz. TestDurableCommitWithFailedCheckpoint
// makes DuckDB's checkpoint fail with its debug_checkpoint_abort setting;
// TestDiskFull (root: a 64 MiB tmpfs) ingests until the disk is full with
// 4 MB checkpoints on the way (652 writes acknowledged, then 20 answered
// ErrNoSpace, one durable commit whose checkpoint failed, one reopen),
// frees space, writes again and finds every acknowledged event;
// TestStartOnFullDiskAfterCrash opens a crashed data directory on a full
// disk read-only and recovers once space is freed.
//
// # Scans
//
// Scan compiles ScanQuery into one WHERE clause (ts range, ds IN (…), trace
// id pairs, then the filters via sqlgen). Without a limit it streams whole
// rows ordered by ts DESC. With a limit it runs two statements in one read
// transaction: the row ids of the newest matches (reading only ts and the
// filtered columns), then those rows whole by rowid.
//
// # Selecting traces
//
// SelectTraces (traces.go) answers which traces have events in a range
// meeting some conditions without reading whole events: its statements
// read ts, trace_hi, trace_lo, source and the filtered columns only, in
// one read transaction. Without conditions it groups newest-first slices
// of the range by trace and stops once it knows Limit+1 traces. With
// conditions one statement filters the range's rows by any condition,
// groups the survivors by trace and keeps the traces meeting each
// (HAVING bool_or); a second one finds the newest event of the matched
// traces, reading only from the (Limit+1)th newest match on. After
// (paging) ends both at the previous page's last time; the trace index
// tells which traces read below it may have a newer event, and only
// those are looked up above it. Count adds a COUNT of the distinct trace
// ids in range. Measured over 1M X-Ray spans in one hour
// (BenchmarkXRaySelect, docs/benchmarks.md): the filter
// service("svc-07") AND annotation.customer = "cust-0042" selects its 3
// traces in ~30 ms (the first statement scans the 1M rows' narrow
// columns, 25k pass the filter, 10.5k traces are grouped), and the scan
// of those traces reads 25 events, where reading the window's events
// took 7.5 s; the newest 100 traces take 3 ms; Count 23 ms more.
//
// # Searching one service's events for a listed value
//
// A query whose ANDed filters include service.name = "x" and key = "y",
// for a key kept only in the string overflow lists, is what a trace search
// asks ("the traces where svc-3 had customer = c-42"), and without help it
// reads every event's lists. The search filter (searchfilter.go) answers
// which Writes may hold such an event: each Write adds one row to
// blooms_N in its transaction, a blocked Bloom filter (10 bits per triple
// by default, 4 bits in one 64-bit word, 1.8% false positives measured; a BIT value
// get_bit reads) of its events' triples. Aggregate finds the filter rows
// overlapping the query's range that may hold the triple and, when at most 64
// writes may match, runs the query over those writes only: a UNION ALL
// of one "wseq = w" (or "wseq BETWEEN", for writes a few apart) branch per
// write, whose zone maps skip the rest of the table. A single IN over the
// writes' numbers would be checked by its smallest and largest value and
// read everything between (at 1M spans an IN took 3.5× the CPU of the
// branches, an OR of the writes' conditions 1.25×). The query's filters still run on the rows, so
// a false positive costs a read, not a wrong answer; filters and events
// are read in one transaction. Writes of a file from before format 6 have
// no filter rows and are always read (a sentinel row holds their last
// wseq). Retention deletes the rows of writes wholly before its cutoff;
// other deletes leave them, which only adds false positives.
//
// The newest filter rows, up to Config.SearchFilterCacheBytes (64 MiB,
// ~5M spans of the harness's workload) over all environments, are kept
// in memory (bloomcache.go): loaded by an environment's first search,
// then added by each Write after its commit, dropped oldest first past
// the budget and by retention. A search checks them in Go and asks
// blooms_N only about older writes. BenchmarkSearch at 125k spans (three
// runs each, back to back, under load): 15.4–16.3 → 10.2–10.6 ms of CPU
// per search; at 1M the statement cost ~6 ms of CPU, the check 0.14.
//
// What a search costs beyond that is one read per candidate write (the
// branch's scan decodes its vector's overflow lists), and at 1M spans
// about half of the candidates are false positives. The filter's bits per
// triple are Config.SearchFilterBitsPerItem (10 by default; rows of any
// size are probed alike): 16 take the false positives from 1.8% to 0.5%
// and, at 1M spans, BenchmarkSearch from 38–47 to 28–42 ms of CPU per
// search (-bench.filterbits 16, two rounds back to back on the loaded
// machine) for 6 more bytes per span (used blocks 219 → 242 of 256 KiB).
//
// Measured over 1M spans written 2,000 per Write (BenchmarkSearch,
// modeltest's workload: 70 string keys of 97, each on ~11% of spans; the
// 50 searches find 6–18 traces each and read 10–27 writes), three runs on
// the shared 2-core machine: 54–58 ms of CPU per search and 59–62 ms p50
// through the filter, against 125–135 ms of CPU and 172–252 ms p50 for
// the scan of every event's lists; of that, the filter statement took
// 2.6–4.2 ms (500 rows; the cache above replaced it), and the filter 9.9
// bytes per span. Each branch costs ~1.3 ms
// whatever the write's size, so a search's cost follows the number of
// candidate writes (the matching events' writes plus the false positives),
// not the store's size. A Write pays for it ~1.8 ms per 1,000 spans
// (hashing 0.5, building 0.3, the INSERT 1 ms; BenchmarkWrite's profile),
// ~18% of the Write's own CPU before its COMMIT.
//
// In the benchmark harness (bench/cmd/tcbench -systems tracecomb -reps 1,
// 1M spans of its workload, whose 11 attributes per span are all strings,
// two runs each on the shared machine) the search went from 210 and 390
// ms p50 to 66 and 106 ms, and the data directory from 69 and 75 to 96
// bytes per span: more than the filter's 13.75 bytes of bits per span
// (11 triples of 10 bits); where the rest goes is not measured yet.
//
// # Queries past the memory limit
//
// A read whose DuckDB statement runs out of Config.MemoryLimit (a hash
// table of many distinct groups or values, a large sort that cannot
// spill) fails with an error wrapping store.ErrQueryTooLarge and DuckDB's
// reason (errors.go), so the query API can answer a client error: the
// same query fails again, a narrower one may not.
//
// # Known limits (measured, see the benchmarks in bench_test.go)
//
//   - Span and parent ids are random 64-bit values DuckDB stores as they
//     are: 16 of the ~61 bytes per span of the benchmark workload. The
//     attribute lists are ~25 more (dictionary codes of keys and values).
//   - A filter or GROUP BY on a key in the lists reads every event's lists,
//     except a search the search filter serves (see above).
//   - Materialising whole events (Trace, Scan) reads every attribute column
//     at the rows' positions, so its cost grows with the number of
//     attribute columns. FSST string compression is disabled by default
//     (Config.DisabledCompression) because its segments cannot be read at a
//     random position without decoding from the segment's start.
//   - Aggregations and filters read only the columns they name and are the
//     fast path (a filtered COUNT reads two columns).
package duckdb
