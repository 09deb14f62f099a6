// Package clickhouse is tracecomb's trace store over a ClickHouse server's
// HTTP interface, implementing store.Store and store.Aggregator. It runs
// on ClickHouse 18.16 (Debian's package) and later.
package clickhouse
