// Package clickhouse is tracecomb's trace store over a ClickHouse
// server's HTTP interface, implementing store.Store and store.Aggregator
// with the behaviour of the DuckDB store (package duckdb) and passing the
// same conformance suites (storetest.RunAll, storetest.RunAggregate). It
// runs on Debian's ClickHouse 18.16.1 and on current ClickHouse; the tests
// run the suites on both: on a clickhouse-server 18.16 of their own
// (server_test.go) and on ClickHouse 26.7 as libchdb in the test process
// behind chtest's own HTTP front (chdb_test.go; scripts/chdb.sh installs
// it). That front is not ClickHouse's HTTP server: what 26.7 checks
// there is the DDL, the queries and their answers, not the network
// layer, and it runs no Distributed tables (the cluster tests run on
// 18.16 only).
//
// Open(ctx, Config) takes the server's URL, a database name (created when
// missing), retention defaults, column limits and a logger; Config.Cluster
// and Config.ShardURLs spread the traces over the shards of a cluster,
// and Config.Replicated keeps them on replicas of each shard (see Cluster
// below).
//
// # Talking to the server
//
// client.go is a small net/http client of ClickHouse's HTTP interface:
// statements in the POST body (INSERTs in the query parameter, rows in
// the body as RowBinary), answers as RowBinary (whole events) or
// TabSeparatedWithNamesAndTypes (everything else). 18.16 has no query
// parameters, so values are bound client-side as literals (bind): strings
// quoted and escaped, integers typed (toInt64(…): a bare 1 would be a
// UInt8), floats by their exact bits (reinterpretAsFloat64(unhex(…)):
// 18.16 cannot parse subnormal literals and its decimal parsing is not
// always correctly rounded), and TRUE/FALSE as 1/0 (18.16 has no boolean
// literals). Identifiers never come from user text. An exception (HTTP
// 500 with "Code: N. DB::Exception: …", or written into an answer after
// rows were sent) becomes *Error, which errors.Is maps to
// store.ErrNoSpace (NOT_ENOUGH_SPACE), store.ErrQueryTooLarge
// (MEMORY_LIMIT_EXCEEDED) and ErrUnavailable (TOO_MANY_PARTS, timeouts,
// too many queries); a refused, reset or unreachable connection is
// ErrUnavailable too: retryable, so ingest answers 503, never a 4xx.
//
// # Schema (schema.go; version 1 in schema_version)
//
// Every statement is CREATE … IF NOT EXISTS, run when the database has no
// schema_version row of the current version; Open refuses a newer one.
// The statements run unchanged on 18.16 and 26.x: no LowCardinality
// (18.16 wants an experimental setting for it), DateTime64, Map, JSON,
// codecs or skip indexes. What differs by version is added by Open: the
// MergeTree fsync settings (below) and, from 22.8, a TTL on events that
// retention sets (see Retention).
//
//	events    one row per event: env, day Date, ts Int64 (Unix ns), ds
//	          (dataset id), source, trace_id FixedString(16), span_id and
//	          parent_id FixedString(8), name, service_name, span_kind,
//	          annotation_type, duration_ms and status_code Nullable (NULL
//	          where the event has none), error, sample_rate, doc (the X-Ray
//	          segment), in_progress (X-Ray), wseq (the Write's sequence
//	          number) and ord (position in it), and the attributes as
//	          parallel typed arrays s_k/s_v, i_k/i_v, f_k/f_v, b_k/b_v.
//	          MergeTree PARTITION BY (env, day) ORDER BY (env, ts).
//	traces    the trace index: (env, day, trace_id) with
//	          AggregateFunction(min/max, Int64) of ts, filled by the
//	          materialized view traces_mv with every INSERT into events
//	          and folded by merges (AggregatingMergeTree ORDER BY (env,
//	          trace_id)).
//	datasets, columns, retention   the catalog, ReplacingMergeTree by a
//	          version column (the newest version read with argMax); a deleted dataset
//	          or column is a newer row with deleted = 1.
//	times     last-written times of datasets and columns (flushed every
//	          Config.CatalogFlushInterval and on Close, as in the DuckDB
//	          store; up to one interval old after a crash).
//	column_deletes, xray_replaced, aborted   see below.
//
// Attributes: a field is looked up as arr_v[indexOf(arr_k, key)] guarded
// by has(arr_k, key) (NULL without it), in the arrays of the value types
// the environment ever wrote the key with (the in-memory catalog knows
// them). No attribute ever becomes a column, so no ALTER TABLE ADD COLUMN
// runs on writes and no key ever becomes an identifier. The DuckDB store
// promotes dense keys to columns; here a filter on any attribute reads
// the four key arrays of the rows in range.
//
// # Trace by id
//
// Trace reads the trace's first and last time from traces (a primary key
// look-up), then the events of the environment in that time range with
// that trace_id: events are ordered by (env, ts), so ClickHouse reads only
// the granules of that range. Measured (BenchmarkTraceByID, 20k spans of
// the DuckDB store's benchmark workload, 18.16 on two shared cores): p50
// 9.5–9.8 ms, p99 24–99 ms, 116 KB and 735 allocations per trace of 10
// spans; at 100k spans p50 12–17 ms under load. 105 bytes per span on
// disk (events and traces, compressed, after OPTIMIZE).
//
// # Writes and durability
//
// Write holds one mutex (the catalog has one writer per process: run one
// tracecomb per database), checks the column limits against the
// in-memory catalog (same rules and refusals as the DuckDB store), applies
// X-Ray's duplicate rule, and sends each call's events in one RowBinary
// INSERT, then the xray_replaced rows and the new datasets' and columns'
// catalog rows. It returns nil only after ClickHouse acknowledged every
// INSERT; the in-memory catalog is updated only then.
//
// What an acknowledgement means depends on the server. 18.16 has no
// MergeTree setting to fsync parts (system.merge_tree_settings lists no
// fsync_after_insert or fsync_part_directory): an INSERT is acknowledged
// once its part's files are written and the part renamed into place, so
// it survives kill -9 of clickhouse-server and of tracecomb
// (TestSurvivesServerKill kills the server with SIGKILL after 20 writes
// and finds them all after a restart), but not a power loss or kernel
// crash within the page cache's writeback delay. Servers that have
// fsync_after_insert and fsync_part_directory get both set to 1 on every
// table the store creates (Open checks system.merge_tree_settings), so an
// acknowledged part and its directory are on disk. Tables created on 18.16
// keep their settings after an upgrade.
//
// ClickHouse has no transactions. What makes "on error nothing of the call
// is visible" hold: a Write's rows all carry its wseq; if any INSERT of
// the Write fails, or the events INSERT's answer is lost, the wseq is
// marked aborted (in memory at once, in the aborted table, and an ALTER
// TABLE … DELETE mutation removes its rows in the background), and every
// read leaves aborted wseqs out (xray_replaced rows of an aborted Write
// too). A cancelled context fails the Write before anything is sent.
//
// Measured (BenchmarkWrite, 18.16 on two cores shared with other work,
// so the spread is the machine's load): 1,000-span writes 2.7–12.7k
// spans/s (1.24 MB and ~270 allocations per call), 10,000-span writes
// 15.6–32.7k spans/s. Each INSERT writes a
// new part (about 60 files for events and traces): ClickHouse wants large,
// infrequent inserts, and 18.16 has no async_insert to batch small ones
// server-side, so the ingest path should hand the store large batches.
//
// # X-Ray's duplicate rule
//
// Within a Write, one X-Ray event per trace and span id is kept
// (xrayview.Prefer). Stored ones are found with the trace index's time
// range; a stored complete segment keeps the incoming in-progress one out,
// otherwise the stored one is replaced: instead of a DELETE (a mutation,
// asynchronous and costly), a row (env, trace_id, span_id, wseq of the
// replaced row, by_wseq) goes to xray_replaced, and reads of an
// environment that ever had a replacement leave those rows out
// (NOT (source = 1 AND (trace_id, span_id, wseq) IN (SELECT … FROM
// xray_replaced WHERE env = …))). Replaced rows stay on disk until
// retention drops their partition.
//
// # Deletes
//
// ALTER TABLE … DELETE/UPDATE are mutations that ClickHouse runs
// asynchronously (18.16 has no mutations_sync). The contract holds at
// once anyway because reads never depend on the mutation: DeleteDataset
// marks the dataset deleted in the catalog and every read leaves its id
// out (dataset ids are never reused, so a later write of the name is a new
// dataset), then starts ALTER TABLE events DELETE WHERE ds = …;
// DeleteColumn records (dataset, key, wseq) in column_deletes, and reads
// leave the key out of the dataset's rows written up to that wseq (in
// filters and when decoding), then starts an ALTER TABLE events UPDATE
// that filters the key out of the arrays of those rows.
//
// # Retention
//
// Retention and SetRetention behave as in the DuckDB store (a door's part
// follows its environment; overrides persist in retention). Every
// Config.RetentionInterval, EnforceRetention drops the (environment, day)
// partitions of events, traces and xray_replaced whose whole day is older
// than MaxAge (ALTER TABLE … DROP PARTITION: the files go at once), and,
// while an environment's active parts (its doors' parts with it) take
// more than MaxBytes of ClickHouse's compressed bytes, its oldest days,
// never its newest (TestRetentionBySize). Retention by size is by whole
// days.
//
// The rows older than MaxAge in the day that straddles the limit: on
// servers before 22.8 (18.16) they are deleted by a mutation, at most one
// running at a time; until it is done a read of that range may still see
// them (TestRetentionByAge). From 22.8 (tested on 26.7) events has a TTL
// instead: a rule "toDateTime(intDiv(ts, 1000000000)) + INTERVAL MaxAge
// DELETE WHERE …" per environment whose override has a MaxAge (its doors'
// parts with it) and one for the rest when Config.Retention has one
// (ttlRules). Open sets it and EnforceRetention sets it again when the
// retentions changed (ALTER TABLE events MODIFY TTL, or REMOVE TTL when
// none has a MaxAge), with materialize_ttl_after_modify = 0 so that a
// change does not rewrite the whole table; the first pass after a change
// (and after an Open that found events without a TTL) runs ALTER TABLE …
// MATERIALIZE TTL IN PARTITION on the straddling days' partitions only, a
// mutation rewriting those. A retention changed while no tracecomb ran
// (Config.Retention) is set at Open without that rewrite: the straddling
// day's older parts lose their expired rows at their next merge, or with
// the day. The server deletes expired rows of new parts on insert and at
// merges
// (merge_with_ttl_timeout, 4 h by default, between TTL merges of a
// partition), so a row may outlive MaxAge by that much; whole days are
// still dropped by EnforceRetention. The TTL follows the server's clock,
// not Config.Now (TestChdbRetentionTTL). On a cluster these ALTERs run
// on the shards' tables like the other mutations; no test runs a current
// ClickHouse cluster.
//
// # Aggregates
//
// Aggregate compiles the query with sqlgen's ClickHouse dialect, told at
// Open which functions the server lacks (sqlgen.ClickHouseWithout: 18.16
// has no countMatches, window functions or DateTime64; REG_COUNT,
// CONCURRENCY, UNIX_TIMESTAMP and FORMAT_TIME are then spelled with
// arrays and DateTime). Percentiles are the nearest rank of the sorted
// values and FORMAT_TIME is built from the time's parts on every version. 18.16 has no boolean type: a
// group value of type UInt8 (boolean attributes, error, comparisons,
// EXISTS) is returned as a bool, which is why integers are bound typed.
// A query with relational fields (root., parent., any., none.) reads a
// derived table of the environment's visible rows, since the plan's
// self-joins are outside the scope predicate; every other query reads
// events with the environment, datasets and visibility as its scope.
//
// # Cluster (cluster.go)
//
// With Config.Cluster (a cluster of the server's remote_servers), events,
// traces and xray_replaced are Distributed tables over events_local,
// traces_local (filled by traces_mv from events_local) and
// xray_replaced_local on every shard, sharded by cityHash64(trace_id): a
// trace's rows, whichever Write brought them, are on one shard, and so
// are its xray_replaced rows, which is why reads run their xray_replaced
// subquery on each shard against its own rows (distributed_product_mode
// = 'local'). The catalog tables are Distributed too, by cityHash64(env)
// (aborted by wseq): every node sees one catalog whichever shard it
// enters through. The catalog is read with argMax(…, version) per row
// rather than FINAL, which 18.16 fails through a Distributed table when
// the rows are on another shard.
//
// ON CLUSTER DDL needs ZooKeeper (18.16 without it: "DDL background
// thread is not initialized"), so the store runs its DDL itself on a
// server of every shard, Config.ShardURLs, and Open checks (by each
// server's is_local row of system.clusters) that every shard of the
// cluster has one; mutations (deletes, retention's DROP PARTITION) run
// on each of them too, and retention reads system.parts of every shard
// through cluster(…). The tables are MergeTree: a shard is one server.
//
// With Config.Replicated, a shard is several replicas: the servers have
// ZooKeeper and the macros {shard} and {replica}, the cluster has
// internal_replication, and every MergeTree is its Replicated form
// (ReplicatedMergeTree('/clickhouse/tracecomb/<database>/<table>/{shard}',
// '{replica}'), the Aggregating and Replacing ones likewise). ShardURLs
// then lists every replica: the DDL still runs on each (no ON CLUSTER),
// while a mutation runs on one live replica of each shard, which
// replicates it. The client reads and writes with load_balancing =
// 'in_order', so both go to the first live replica of each shard in
// remote_servers order and a read sees the Writes before it; replication
// to the other replicas is asynchronous, so after that replica dies the
// last Writes it had not yet sent are missing until it returns (no
// insert_quorum). TestReplicated runs ZooKeeper (Debian's zookeeper
// package) and two 18.16 replicas of one shard: Replicated engines on
// both, a Write replicated, one delete mutation reaching both, and reads
// and writes through the second replica with the first killed. The
// conformance suites do not run on replicas.
//
// Every INSERT runs with insert_distributed_sync = 1: it returns once each
// shard has written its rows, so an acknowledged Write is on its shards.
// When a shard cannot be reached, the INSERT fails (18.16: code 210, the
// shard's address in the message) after the other shards may have written
// theirs; the Write is then aborted as any failed Write (its rows are
// never read) and the error is ErrUnavailable naming the shard, so ingest
// answers 503. Reads fail the same way (code 279, ALL_CONNECTION_TRIES_
// FAILED): skip_unavailable_shards is left off, so a read never answers
// from part of the cluster. Healthy fails while a shard is down.
//
// 18.16 has no optimize_skip_unused_shards: a trace-by-id read goes to
// every shard (each looks the id up in its own trace index and only one
// finds it); servers that have the setting get it set, and then ask only
// the trace's shard. TestClusterConformance runs the conformance suites
// on two shards; TestClusterShardsByTrace, TestClusterShardDown and
// TestClusterRetention check the placement, the failures and retention on
// every shard.
//
// # What differs from the DuckDB store
//
//   - The server is separate: a Write or read may fail with
//     ErrUnavailable while it is down, and Healthy says so; the DuckDB
//     store's disk-full recovery, read-only mode and file compaction have
//     no counterpart (ClickHouse manages its disk; a full disk is
//     store.ErrNoSpace from its NOT_ENOUGH_SPACE, and Healthy reads
//     system.disks where the server has it, not on 18.16).
//   - Deletes and the straddling day of retention by age are mutations
//     that finish in the background; reads hide what they delete at once.
//   - Retention by size is by whole days of an environment.
//   - No per-key columns: every attribute lives in the typed arrays.
//   - RetentionReport and the /metrics gauges of the DuckDB store are not
//     implemented yet.
//
// # Known limits
//
//   - Several tracecomb processes may write one database (refresh.go):
//     each keeps the catalog in memory, writes its changes to the catalog
//     tables first, and reads them again every
//     Config.CatalogRefreshInterval (Refresh), so a dataset or field one
//     creates is seen by the others within that; until then a filter
//     there does not see the new field. A new dataset's id is a hash of
//     environment and name (probing past ids in use), so processes agree
//     on it without talking; two names whose hashes meet, created by two
//     processes within one refresh, would share an id. The column limits
//     are checked against each process's catalog: processes creating
//     columns at once may together pass them by what one refresh misses.
//     Write sequence numbers carry a random 8-bit tag of the process in
//     their low bits; two processes' Writes within the same 256 ns with
//     the same tag would share one, and an abort of one would hide the
//     other. TestClusterTwoWriters.
//   - Aborted Writes are listed in every read's WHERE (wseq NOT IN …) for
//     good: the list is expected to stay short (a Write aborts only when
//     the server fails between its INSERTs).
//   - Replaced X-Ray events stay on disk until retention drops their day;
//     an environment that ever had a replacement reads xray_replaced with
//     every query.
//   - A Scan with a limit sorts the whole time range's matches (18.16
//     cannot read in primary key order), and SelectTraces groups every
//     event of the range by trace.
package clickhouse
