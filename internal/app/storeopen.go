package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/clickhouse"
)

// The trace store behind every door: the embedded DuckDB file in the data
// directory (--store duckdb, the default), or a ClickHouse server or
// cluster (--store clickhouse, package clickhouse). The key registry and
// the rest of the state stay where --state-url says either way.

// Store kinds --store takes.
const (
	StoreDuckDB     = "duckdb"
	StoreClickHouse = "clickhouse"
)

// StoreConfig chooses the trace store and holds the ClickHouse store's
// settings.
type StoreConfig struct {
	// Kind is StoreDuckDB (empty means it too) or StoreClickHouse.
	Kind string
	// ClickHouseURL is the server's HTTP interface
	// (http://user:password@host:8123); ClickHouseDatabase holds the
	// tables (default "tracecomb"); ClickHouseCluster, when set, is the
	// cluster of the server's remote_servers the traces are spread over,
	// and ClickHouseShardURLs (comma-separated) the HTTP interface of a
	// server of each of its shards (clickhouse.Config.Cluster, ShardURLs).
	ClickHouseURL, ClickHouseDatabase, ClickHouseCluster, ClickHouseShardURLs string
	// ClickHouseReplicated says the cluster's shards have replicas (the
	// servers have ZooKeeper or Keeper and the {shard} and {replica}
	// macros): the tables are Replicated*MergeTree, and
	// ClickHouseShardURLs lists every replica of every shard
	// (clickhouse.Config.Replicated).
	ClickHouseReplicated bool
}

// shardURLs splits --clickhouse-shard-urls.
func (c *StoreConfig) shardURLs() []string {
	var out []string
	for _, u := range strings.Split(c.ClickHouseShardURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// storeUnsupported is what the ClickHouse store does not offer that the
// embedded one does; serve logs it at start.
const storeUnsupported = "the ClickHouse store has no retention report (the UI's retention settings answer 404 " +
	"\"retention is not available with this store\"; --retention-age and --retention-size are enforced) " +
	"and no store gauges on /metrics; --store-memory-limit, --store-column-density and " +
	"--retention-compact-max-live apply to the embedded store only"

// bindFlags registers the store's flags on fs, each with its environment
// variable as default.
func (c *StoreConfig) bindFlags(fs *flag.FlagSet) {
	str := func(p *string, name, env, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" (env "+env+")")
	}
	if c.Kind == "" {
		c.Kind = StoreDuckDB
	}
	str(&c.Kind, "store", "TRACECOMB_STORE", "trace store: duckdb (embedded, in the data directory) or clickhouse (--clickhouse-url)")
	// The URL may hold a password: an environment variable's value is not
	// shown as the flag's default in -h.
	fs.StringVar(&c.ClickHouseURL, "clickhouse-url", "",
		"ClickHouse HTTP interface of --store clickhouse, e.g. http://user:password@host:8123; prefer the environment variable to a password in the flag (env TRACECOMB_CLICKHOUSE_URL)")
	if v, ok := os.LookupEnv("TRACECOMB_CLICKHOUSE_URL"); ok {
		c.ClickHouseURL = v
	}
	str(&c.ClickHouseDatabase, "clickhouse-database", "TRACECOMB_CLICKHOUSE_DATABASE", "ClickHouse database of --store clickhouse, created when missing (empty: tracecomb)")
	str(&c.ClickHouseCluster, "clickhouse-cluster", "TRACECOMB_CLICKHOUSE_CLUSTER",
		"ClickHouse cluster (of the server's remote_servers) whose shards hold the traces, each trace on one shard, with --clickhouse-shard-urls (empty: the one server)")
	fs.StringVar(&c.ClickHouseShardURLs, "clickhouse-shard-urls", "",
		"with --clickhouse-cluster: the HTTP interface of a server of every shard, comma-separated; the tables are created and trimmed on each (env TRACECOMB_CLICKHOUSE_SHARD_URLS)")
	if v, ok := os.LookupEnv("TRACECOMB_CLICKHOUSE_SHARD_URLS"); ok {
		c.ClickHouseShardURLs = v
	}
	if v, ok := os.LookupEnv("TRACECOMB_CLICKHOUSE_REPLICATED"); ok {
		c.ClickHouseReplicated, _ = strconv.ParseBool(v)
	}
	fs.BoolVar(&c.ClickHouseReplicated, "clickhouse-replicated", c.ClickHouseReplicated,
		"with --clickhouse-cluster: the shards have replicas (ZooKeeper or Keeper, macros {shard} and {replica}); the tables are Replicated*MergeTree and --clickhouse-shard-urls lists every replica (env TRACECOMB_CLICKHOUSE_REPLICATED)")
}

// validate checks the store flags.
func (c *StoreConfig) validate() []error {
	var errs []error
	switch c.Kind {
	case "", StoreDuckDB:
		for _, f := range []struct{ flag, v string }{{"--clickhouse-url", c.ClickHouseURL}, {"--clickhouse-database", c.ClickHouseDatabase},
			{"--clickhouse-cluster", c.ClickHouseCluster}, {"--clickhouse-shard-urls", c.ClickHouseShardURLs}} {
			if f.v != "" {
				errs = append(errs, fmt.Errorf("%s is set but the store is duckdb: add --store clickhouse", f.flag))
			}
		}
		if c.ClickHouseReplicated {
			errs = append(errs, errors.New("--clickhouse-replicated is set but the store is duckdb: add --store clickhouse"))
		}
	case StoreClickHouse:
		u, err := url.Parse(c.ClickHouseURL)
		switch {
		case c.ClickHouseURL == "":
			errs = append(errs, errors.New("--store clickhouse needs --clickhouse-url (or TRACECOMB_CLICKHOUSE_URL), e.g. http://127.0.0.1:8123"))
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, errors.New("--clickhouse-url: want the HTTP interface's URL, http://host:8123 or https://host:8443"))
		}
		for _, su := range c.shardURLs() {
			if u, err := url.Parse(su); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, errors.New("--clickhouse-shard-urls: want HTTP interfaces' URLs, http://host:8123,http://host2:8123"))
				break
			}
		}
		switch {
		case c.ClickHouseCluster != "" && c.ClickHouseShardURLs == "":
			errs = append(errs, errors.New("--clickhouse-cluster needs --clickhouse-shard-urls: the HTTP interface of a server of every shard"))
		case c.ClickHouseCluster == "" && c.ClickHouseShardURLs != "":
			errs = append(errs, errors.New("--clickhouse-shard-urls is set without --clickhouse-cluster"))
		case c.ClickHouseCluster == "" && c.ClickHouseReplicated:
			errs = append(errs, errors.New("--clickhouse-replicated is set without --clickhouse-cluster"))
		}
	default:
		errs = append(errs, fmt.Errorf("--store %q: want duckdb or clickhouse", c.Kind))
	}
	return errs
}

// catalogRefresh is how often a node reads the ClickHouse store's catalog
// again (clickhouse.Config.CatalogRefreshInterval).
const catalogRefresh = 2 * time.Second

// openClickHouse opens the ClickHouse store of cfg.Store.
func openClickHouse(ctx context.Context, cfg Config, logger *slog.Logger) (store.Store, error) {
	st, err := clickhouse.Open(ctx, clickhouse.Config{
		URL:               cfg.Store.ClickHouseURL,
		Database:          cfg.Store.ClickHouseDatabase,
		Cluster:           cfg.Store.ClickHouseCluster,
		ShardURLs:         cfg.Store.shardURLs(),
		Replicated:        cfg.Store.ClickHouseReplicated,
		Retention:         store.Retention{MaxAge: cfg.RetentionAge, MaxBytes: cfg.RetentionSize},
		MaxDatasetColumns: cfg.MaxDatasetColumns,
		MaxEnvColumns:     cfg.MaxEnvColumns,
		// Other tracecomb nodes may write the same database: their
		// datasets and fields are seen within this.
		CatalogRefreshInterval: catalogRefresh,
		Logger:                 logger.With("component", "store"),
	})
	if err != nil {
		return nil, err
	}
	logger.Info("store: ClickHouse", "url", redactURL(cfg.Store.ClickHouseURL), "database", cfg.Store.ClickHouseDatabase,
		"cluster", cfg.Store.ClickHouseCluster, "replicated", cfg.Store.ClickHouseReplicated, "server_version", st.Version())
	logger.Warn(storeUnsupported)
	return st, nil
}

// redactURL is u without its password, for logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
