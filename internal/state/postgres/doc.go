// Package postgres owns the state store that several tracecomb nodes
// share: a state.Store kept in a PostgreSQL database, for the scale-out
// mode where nodes behind a load balancer keep their telemetry in a shared
// ClickHouse cluster and everything else (keys, sampling rules and the
// statistics that split their reservoirs, markers, derived columns,
// triggers, SLOs, the leases that let one node evaluate each trigger)
// here. It passes the conformance suite statetest.RunAll.
//
// # Why PostgreSQL, not the ClickHouse cluster the telemetry is in
//
// The state contract needs, per record, a compare-and-set that is
// linearizable; transactions over several records (Update, DeleteScope)
// that commit whole or not at all; leases decided by one clock; and a
// change feed that reaches every node within a second. ClickHouse's own
// documentation ("Transactional (ACID) support") gives atomicity to one
// INSERT block into one partition of a MergeTree table; its
// BEGIN TRANSACTION / COMMIT statements are experimental (behind
// allow_experimental_transactions, since 22.4), not available in
// ClickHouse Cloud, and writes made outside a transaction are read
// uncommitted; a Distributed table's INSERT is not transactional as a
// whole. There is no conditional row update to build a version check on:
// its updates and deletes (ALTER TABLE … UPDATE/DELETE, "mutations") are
// asynchronous rewrites of whole parts, without atomicity, that return
// before they are applied and do not block inserts. Its Keeper (ZooKeeper's
// protocol) is linearizable, and the KeeperMap table engine exposes it as
// a key-value table (linearizable writes, sequentially consistent reads,
// keeper_map_strict_mode to refuse overwriting an existing key), but with
// a single-column key, no version compare of a stored value, no
// transaction over several keys or tables, and no change feed for SQL
// clients; and it needs a Keeper ensemble configured beside the servers.
// (The clickhouse-server 18.16 that the ClickHouse store's tests run
// predates both BEGIN TRANSACTION and KeeperMap.)
//
// PostgreSQL gives each piece directly:
//
//   - compare-and-set: one conditional statement per write: UPDATE … WHERE
//     version = $expected, INSERT … ON CONFLICT DO NOTHING for "must not
//     exist", INSERT … ON CONFLICT DO UPDATE for "any version"; no rows
//     returned is ErrConflict. The transaction stays usable after a
//     conflict (no SQL error is raised), so fn may go on.
//   - Update: a READ COMMITTED transaction in which reads lock the rows
//     they return (SELECT … FOR UPDATE), so a read-modify-write of one
//     record through two nodes is serialised and loses no update. When the
//     server ends a transaction for a deadlock or a serialisation failure,
//     the error wraps state.ErrConflict, as a stale version does: the
//     caller retries the same way.
//   - Watch: a row trigger on the records table calls pg_notify with the
//     record's kind, scope and key (as a JSON array); PostgreSQL delivers
//     a notification only when the writing transaction commits, and drops
//     it on rollback, so watchers hear exactly of committed writes, of any
//     node or of anyone editing the table by hand. A payload at or over
//     8000 bytes (PostgreSQL's limit) becomes an empty one, which (like a
//     TRUNCATE) means "reload everything". Each Store keeps one dedicated
//     connection that LISTENs; when it breaks, the store dials again
//     (backing off) and, once listening, tells every watcher to reload
//     everything, since changes may have been missed meanwhile.
//   - Acquire: one INSERT … ON CONFLICT DO UPDATE … WHERE the holder is
//     the same or the lease has expired, with now() + ttl, so the server's
//     clock alone decides and a running lease is granted to one holder only.
//
// # Schema
//
// Open creates or upgrades the schema in one transaction under a
// transaction-scoped advisory lock (pg_advisory_xact_lock), so nodes that
// start at once do not race: tables tracecomb_state_records,
// tracecomb_state_leases and tracecomb_state_schema (one row: the schema
// version; a database of a newer version is refused). Text columns use
// the "C" collation, so keys are ordered by their bytes as in the other
// stores; they hold UTF-8 without NUL, so a record named otherwise is
// never found and cannot be written.
//
// # Errors
//
// ErrNotFound and ErrConflict are the state package's. A server that
// cannot be reached, or a connection that broke, gives an error wrapping
// ErrUnavailable; a context that ended gives one wrapping its error.
package postgres
