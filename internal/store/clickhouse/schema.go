package clickhouse

import (
	"context"
	"fmt"
	"strings"
)

// schemaVersion is the version of the tables below; Open records it in
// schema_version and refuses a database whose version is newer.
//
//	1  events, traces (+ traces_mv), datasets, columns, column_deletes,
//	   times, retention, xray_replaced, aborted, schema_version
const schemaVersion = 1

// eventColumns are the columns of events a Write inserts, in RowBinary
// order (see encodeEvent).
const eventColumns = "env, day, ts, ds, source, trace_id, span_id, parent_id, name, service_name, span_kind, annotation_type, " +
	"duration_ms, status_code, error, sample_rate, doc, in_progress, wseq, ord, s_k, s_v, i_k, i_v, f_k, f_v, b_k, b_v"

// readColumns are the columns every read of whole events selects, in the
// order decoder.decode reads them: eventColumns without env and day.
const readColumns = "ts, ds, source, trace_id, span_id, parent_id, name, service_name, span_kind, annotation_type, " +
	"duration_ms, status_code, error, sample_rate, doc, in_progress, wseq, ord, s_k, s_v, i_k, i_v, f_k, f_v, b_k, b_v"

// ddl returns the statements creating the schema, each idempotent. tableSettings
// is appended to every MergeTree's SETTINGS (the durability settings of
// versions that have them). With a cluster, events, traces and
// xray_replaced are Distributed tables over tables of the same name with
// _local appended on every shard (cluster.go), and so are the catalog
// tables, created by the statements this returns when run on every
// shard's server. With replicated (a cluster whose shards have replicas),
// every MergeTree is its Replicated form, kept in ZooKeeper under
// /clickhouse/tracecomb/<database>/<table>/{shard} as replica {replica}
// (the servers' macros).
func ddl(tableSettings, cluster, database string, replicated bool) []string {
	set := func(extra string) string {
		s := []string{}
		if extra != "" {
			s = append(s, extra)
		}
		if tableSettings != "" {
			s = append(s, tableSettings)
		}
		if len(s) == 0 {
			return ""
		}
		return " SETTINGS " + strings.Join(s, ", ")
	}
	// lt names a table sharded by trace in cluster mode.
	lt := func(t string) string {
		if cluster == "" {
			return t
		}
		return t + "_local"
	}
	// engine is the MergeTree of kind (MergeTree, AggregatingMergeTree,
	// ReplacingMergeTree) for table, with its parameters.
	engine := func(kind, table, params string) string {
		if !replicated {
			if params == "" {
				return kind
			}
			return kind + "(" + params + ")"
		}
		var b strings.Builder
		b.WriteString("Replicated" + kind + "(")
		quoteString(&b, "/clickhouse/tracecomb/"+database+"/"+table+"/{shard}")
		b.WriteString(", '{replica}'")
		if params != "" {
			b.WriteString(", " + params)
		}
		b.WriteString(")")
		return b.String()
	}
	out := []string{
		`CREATE TABLE IF NOT EXISTS ` + lt("schema_version") + ` (version UInt32, applied_ns Int64) ENGINE = ` + engine("MergeTree", "schema_version", "") + ` ORDER BY version` + set(""),
		// One row per event. Partitions are (environment, day), so
		// retention drops an environment's old days whole.
		`CREATE TABLE IF NOT EXISTS ` + lt("events") + ` (
			env String,
			day Date,
			ts Int64,
			ds UInt32,
			source UInt8,
			trace_id FixedString(16),
			span_id FixedString(8),
			parent_id FixedString(8),
			name String,
			service_name String,
			span_kind String,
			annotation_type String,
			duration_ms Nullable(Float64),
			status_code Nullable(Int64),
			error UInt8,
			sample_rate Int64,
			doc String,
			in_progress UInt8,
			wseq UInt64,
			ord UInt32,
			s_k Array(String), s_v Array(String),
			i_k Array(String), i_v Array(Int64),
			f_k Array(String), f_v Array(Float64),
			b_k Array(String), b_v Array(UInt8)
		) ENGINE = ` + engine("MergeTree", "events", "") + ` PARTITION BY (env, day) ORDER BY (env, ts)` + set("index_granularity = 8192"),
		// The trace index: each trace's first and last event time per
		// environment and day, kept up to date by traces_mv with every
		// insert into events and folded by merges.
		`CREATE TABLE IF NOT EXISTS ` + lt("traces") + ` (
			env String,
			day Date,
			trace_id FixedString(16),
			min_ts AggregateFunction(min, Int64),
			max_ts AggregateFunction(max, Int64)
		) ENGINE = ` + engine("AggregatingMergeTree", "traces", "") + ` PARTITION BY (env, day) ORDER BY (env, trace_id)` + set("index_granularity = 1024"),
		`CREATE MATERIALIZED VIEW IF NOT EXISTS traces_mv TO ` + lt("traces") + ` AS
			SELECT env, day, trace_id, minState(ts) AS min_ts, maxState(ts) AS max_ts
			FROM ` + lt("events") + ` WHERE trace_id != unhex('00000000000000000000000000000000')
			GROUP BY env, day, trace_id`,
		// The catalog: the newest version of a row wins (argMax on read).
		`CREATE TABLE IF NOT EXISTS ` + lt("datasets") + ` (env String, id UInt32, name String, slug String, created_ns Int64, deleted UInt8, version UInt64)
			ENGINE = ` + engine("ReplacingMergeTree", "datasets", "version") + ` ORDER BY (env, id)` + set(""),
		`CREATE TABLE IF NOT EXISTS ` + lt("columns") + ` (env String, ds UInt32, key String, kind UInt8, created_ns Int64, deleted UInt8, version UInt64)
			ENGINE = ` + engine("ReplacingMergeTree", "columns", "version") + ` ORDER BY (env, ds, key, kind)` + set(""),
		// A deleted column: rows of dataset ds written up to wseq lose key.
		`CREATE TABLE IF NOT EXISTS ` + lt("column_deletes") + ` (env String, ds UInt32, key String, wseq UInt64)
			ENGINE = ` + engine("MergeTree", "column_deletes", "") + ` ORDER BY (env, ds, key)` + set(""),
		// Last-written times; kind 255 with key '' is the dataset's own.
		`CREATE TABLE IF NOT EXISTS ` + lt("times") + ` (env String, ds UInt32, key String, kind UInt8, last_ns Int64)
			ENGINE = ` + engine("ReplacingMergeTree", "times", "last_ns") + ` ORDER BY (env, ds, key, kind)` + set(""),
		`CREATE TABLE IF NOT EXISTS ` + lt("retention") + ` (env String, max_age_ns Int64, max_bytes Int64, deleted UInt8, version UInt64)
			ENGINE = ` + engine("ReplacingMergeTree", "retention", "version") + ` ORDER BY env` + set(""),
		// X-Ray events replaced by a later form of the same segment (by the
		// Write by_wseq): reads leave them out.
		`CREATE TABLE IF NOT EXISTS ` + lt("xray_replaced") + ` (env String, day Date, trace_id FixedString(16), span_id FixedString(8), wseq UInt64, by_wseq UInt64)
			ENGINE = ` + engine("MergeTree", "xray_replaced", "") + ` PARTITION BY (env, day) ORDER BY (env, trace_id, span_id)` + set(""),
		// Writes that failed after part of them was inserted: reads leave
		// their rows out.
		`CREATE TABLE IF NOT EXISTS ` + lt("aborted") + ` (wseq UInt64) ENGINE = ` + engine("MergeTree", "aborted", "") + ` ORDER BY wseq` + set(""),
	}
	if cluster != "" {
		// A trace's rows all go to one shard: the one its id hashes to.
		for _, t := range distributedTables {
			out = append(out, "CREATE TABLE IF NOT EXISTS "+t.name+" AS "+t.name+"_local ENGINE = Distributed("+
				quoteIdent(cluster)+", "+quoteIdent(database)+", "+t.name+"_local, "+t.key+")")
		}
	}
	return out
}

// migrate creates the database and the schema, and records the version.
func (s *Store) migrate(ctx context.Context) error {
	if err := s.admin.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(s.cfg.Database)); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	rows, err := s.c.rows(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_version'", s.cfg.Database)
	if err != nil {
		return err
	}
	if n, _ := rows[0][0].(int64); n == 1 {
		rows, err := s.c.rows(ctx, "SELECT max(version) FROM schema_version")
		if err != nil {
			return err
		}
		if v, _ := rows[0][0].(int64); v > schemaVersion {
			return fmt.Errorf("the database %q has schema version %d, newer than this tracecomb's %d", s.cfg.Database, v, schemaVersion)
		} else if v == schemaVersion {
			return nil
		}
	}
	if s.cfg.Cluster != "" {
		if err := s.migrateShards(ctx); err != nil {
			return err
		}
	} else {
		for _, q := range ddl(s.tableSettings, "", s.cfg.Database, false) {
			if err := s.c.exec(ctx, q); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
	}
	return s.c.exec(ctx, "INSERT INTO schema_version VALUES (?, ?)", int64(schemaVersion), s.cfg.Now().UnixNano())
}

// quoteIdent quotes an identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
