CREATE TABLE IF NOT EXISTS schema_version_local (version UInt32, applied_ns Int64) ENGINE = ReplicatedMergeTree('/clickhouse/tracecomb/db/schema_version/{shard}', '{replica}') ORDER BY version;

CREATE TABLE IF NOT EXISTS events_local (
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
		) ENGINE = ReplicatedMergeTree('/clickhouse/tracecomb/db/events/{shard}', '{replica}') PARTITION BY (env, day) ORDER BY (env, ts) SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS traces_local (
			env String,
			day Date,
			trace_id FixedString(16),
			min_ts AggregateFunction(min, Int64),
			max_ts AggregateFunction(max, Int64)
		) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tracecomb/db/traces/{shard}', '{replica}') PARTITION BY (env, day) ORDER BY (env, trace_id) SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS traces_mv TO traces_local AS
			SELECT env, day, trace_id, minState(ts) AS min_ts, maxState(ts) AS max_ts
			FROM events_local WHERE trace_id != unhex('00000000000000000000000000000000')
			GROUP BY env, day, trace_id;

CREATE TABLE IF NOT EXISTS datasets_local (env String, id UInt32, name String, slug String, created_ns Int64, deleted UInt8, version UInt64)
			ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tracecomb/db/datasets/{shard}', '{replica}', version) ORDER BY (env, id);

CREATE TABLE IF NOT EXISTS columns_local (env String, ds UInt32, key String, kind UInt8, created_ns Int64, deleted UInt8, version UInt64)
			ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tracecomb/db/columns/{shard}', '{replica}', version) ORDER BY (env, ds, key, kind);

CREATE TABLE IF NOT EXISTS column_deletes_local (env String, ds UInt32, key String, wseq UInt64)
			ENGINE = ReplicatedMergeTree('/clickhouse/tracecomb/db/column_deletes/{shard}', '{replica}') ORDER BY (env, ds, key);

CREATE TABLE IF NOT EXISTS times_local (env String, ds UInt32, key String, kind UInt8, last_ns Int64)
			ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tracecomb/db/times/{shard}', '{replica}', last_ns) ORDER BY (env, ds, key, kind);

CREATE TABLE IF NOT EXISTS retention_local (env String, max_age_ns Int64, max_bytes Int64, deleted UInt8, version UInt64)
			ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tracecomb/db/retention/{shard}', '{replica}', version) ORDER BY env;

CREATE TABLE IF NOT EXISTS xray_replaced_local (env String, day Date, trace_id FixedString(16), span_id FixedString(8), wseq UInt64, by_wseq UInt64)
			ENGINE = ReplicatedMergeTree('/clickhouse/tracecomb/db/xray_replaced/{shard}', '{replica}') PARTITION BY (env, day) ORDER BY (env, trace_id, span_id);

CREATE TABLE IF NOT EXISTS aborted_local (wseq UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tracecomb/db/aborted/{shard}', '{replica}') ORDER BY wseq;

CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = Distributed(`tc`, `db`, events_local, cityHash64(trace_id));

CREATE TABLE IF NOT EXISTS traces AS traces_local ENGINE = Distributed(`tc`, `db`, traces_local, cityHash64(trace_id));

CREATE TABLE IF NOT EXISTS xray_replaced AS xray_replaced_local ENGINE = Distributed(`tc`, `db`, xray_replaced_local, cityHash64(trace_id));

CREATE TABLE IF NOT EXISTS datasets AS datasets_local ENGINE = Distributed(`tc`, `db`, datasets_local, cityHash64(env));

CREATE TABLE IF NOT EXISTS columns AS columns_local ENGINE = Distributed(`tc`, `db`, columns_local, cityHash64(env));

CREATE TABLE IF NOT EXISTS column_deletes AS column_deletes_local ENGINE = Distributed(`tc`, `db`, column_deletes_local, cityHash64(env));

CREATE TABLE IF NOT EXISTS times AS times_local ENGINE = Distributed(`tc`, `db`, times_local, cityHash64(env));

CREATE TABLE IF NOT EXISTS retention AS retention_local ENGINE = Distributed(`tc`, `db`, retention_local, cityHash64(env));

CREATE TABLE IF NOT EXISTS aborted AS aborted_local ENGINE = Distributed(`tc`, `db`, aborted_local, wseq);

CREATE TABLE IF NOT EXISTS schema_version AS schema_version_local ENGINE = Distributed(`tc`, `db`, schema_version_local, version);
