package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// distributedTables are the tables a cluster spreads over its shards, and
// their sharding keys: a trace's rows on one shard, an environment's
// catalog rows on one shard.
var distributedTables = []struct{ name, key string }{
	{"events", "cityHash64(trace_id)"},
	{"traces", "cityHash64(trace_id)"},
	{"xray_replaced", "cityHash64(trace_id)"},
	{"datasets", "cityHash64(env)"},
	{"columns", "cityHash64(env)"},
	{"column_deletes", "cityHash64(env)"},
	{"times", "cityHash64(env)"},
	{"retention", "cityHash64(env)"},
	{"aborted", "wseq"},
	{"schema_version", "version"},
}

// local names the table mutations and system tables see: in cluster mode
// the shards' own table behind the Distributed one.
func (s *Store) local(table string) string {
	if s.cfg.Cluster == "" {
		return table
	}
	return table + "_local"
}

// alter runs "ALTER TABLE <table> <rest>" where table's rows are: the one
// server, or every shard's server (ALTER does not go through Distributed
// tables, and without ZooKeeper there is no ON CLUSTER); with replicas,
// on one live replica of each shard, which replicates it.
func (s *Store) alter(ctx context.Context, table, rest string, args ...any) error {
	if s.cfg.Cluster == "" {
		return s.c.exec(ctx, "ALTER TABLE "+table+" "+rest, args...)
	}
	var errs []error
	if s.cfg.Replicated {
		done := map[int64]bool{}
		failed := map[int64][]error{}
		for i, c := range s.shards {
			n := s.shardOf[i]
			if done[n] {
				continue
			}
			if err := c.exec(ctx, "ALTER TABLE "+table+"_local "+rest, args...); err != nil {
				failed[n] = append(failed[n], fmt.Errorf("replica %s: %w", s.shardURLs[i], err))
				continue
			}
			done[n] = true
		}
		for n, es := range failed {
			if !done[n] {
				errs = append(errs, es...)
			}
		}
		return errors.Join(errs...)
	}
	for i, c := range s.shards {
		if err := c.exec(ctx, "ALTER TABLE "+table+"_local "+rest, args...); err != nil {
			errs = append(errs, fmt.Errorf("shard server %s: %w", s.shardURLs[i], err))
		}
	}
	return errors.Join(errs...)
}

// system names a system table: the server's own, or in cluster mode the
// union of every shard's (the cluster table function).
func (s *Store) system(table string) (string, error) {
	if s.cfg.Cluster == "" {
		return "system." + table, nil
	}
	return bind("cluster(?, system."+table+")", []any{s.cfg.Cluster})
}

// migrateShards creates the schema on every shard's server (and on the
// server of Config.URL, when it is not one of them), then checks that
// Config.ShardURLs has a server of every shard of the cluster.
func (s *Store) migrateShards(ctx context.Context) error {
	rows, err := s.admin.rows(ctx, "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num", s.cfg.Cluster)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("the server has no cluster %q in its remote_servers", s.cfg.Cluster)
	}
	want := map[int64]string{}
	for _, r := range rows {
		want[r[0].(int64)] = fmt.Sprintf("%v:%v", r[1], r[2])
	}
	stmts := ddl(s.tableSettings, s.cfg.Cluster, s.cfg.Database, s.cfg.Replicated)
	run := func(admin, c *client) error {
		if err := admin.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(s.cfg.Database)); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
		for _, q := range stmts {
			if err := c.exec(ctx, q); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
		return nil
	}
	if err := run(s.admin, s.c); err != nil {
		return err
	}
	have := map[int64]bool{}
	for i, c := range s.shards {
		if err := run(s.shardAdmins[i], c); err != nil {
			return fmt.Errorf("shard server %s: %w", s.shardURLs[i], err)
		}
		rows, err := s.shardAdmins[i].rows(ctx, "SELECT shard_num FROM system.clusters WHERE cluster = ? AND is_local", s.cfg.Cluster)
		if err != nil {
			return fmt.Errorf("shard server %s: %w", s.shardURLs[i], err)
		}
		for _, r := range rows {
			have[r[0].(int64)] = true
		}
	}
	var missing []string
	for n, addr := range want {
		if !have[n] {
			missing = append(missing, fmt.Sprintf("shard %d (%s)", n, addr))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("cluster %q: no server of %s among the shard URLs (Config.ShardURLs must name a server of every shard: the tables are created on each)",
			s.cfg.Cluster, strings.Join(missing, ", "))
	}
	return nil
}

// shardAddrRE finds the address ClickHouse names in a connection error to
// a shard, e.g. "Connection refused (127.0.0.1:9000)".
var shardAddrRE = regexp.MustCompile(`\(([^()\s]+:\d+)\)`)

// shardError is an exception of a Distributed query or INSERT that could
// not reach a shard: ErrUnavailable (retryable; nothing partial is
// returned or kept), naming the shard's address.
type shardError struct {
	cluster, addr string
	err           *Error
}

func (e *shardError) Error() string {
	where := "a shard"
	if e.addr != "" {
		where = "shard " + e.addr
	}
	return fmt.Sprintf("%s of cluster %q cannot be reached: %v", where, e.cluster, e.err)
}

func (e *shardError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// asShardError turns a network exception of a cluster's query into a
// *shardError; other errors are returned as they are.
func asShardError(cluster string, e *Error) error {
	switch e.Code {
	case codeAllConnectionTriesFailed, codeNetworkError, codeSocketTimeout:
	default:
		return e
	}
	se := &shardError{cluster: cluster, err: e}
	if m := shardAddrRE.FindStringSubmatch(e.Message); m != nil {
		se.addr = m[1]
	}
	return se
}

// redacted is u without its password, for messages.
func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
