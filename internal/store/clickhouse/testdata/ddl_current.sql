CREATE TABLE IF NOT EXISTS schema_version (version UInt32, applied_ns Int64) ENGINE = MergeTree ORDER BY version SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS events (
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
		) ENGINE = MergeTree PARTITION BY (env, day) ORDER BY (env, ts) SETTINGS index_granularity = 8192, fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS traces (
			env String,
			day Date,
			trace_id FixedString(16),
			min_ts AggregateFunction(min, Int64),
			max_ts AggregateFunction(max, Int64)
		) ENGINE = AggregatingMergeTree PARTITION BY (env, day) ORDER BY (env, trace_id) SETTINGS index_granularity = 1024, fsync_after_insert = 1, fsync_part_directory = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS traces_mv TO traces AS
			SELECT env, day, trace_id, minState(ts) AS min_ts, maxState(ts) AS max_ts
			FROM events WHERE trace_id != unhex('00000000000000000000000000000000')
			GROUP BY env, day, trace_id;

CREATE TABLE IF NOT EXISTS datasets (env String, id UInt32, name String, slug String, created_ns Int64, deleted UInt8, version UInt64)
			ENGINE = ReplacingMergeTree(version) ORDER BY (env, id) SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS columns (env String, ds UInt32, key String, kind UInt8, created_ns Int64, deleted UInt8, version UInt64)
			ENGINE = ReplacingMergeTree(version) ORDER BY (env, ds, key, kind) SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS column_deletes (env String, ds UInt32, key String, wseq UInt64)
			ENGINE = MergeTree ORDER BY (env, ds, key) SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS times (env String, ds UInt32, key String, kind UInt8, last_ns Int64)
			ENGINE = ReplacingMergeTree(last_ns) ORDER BY (env, ds, key, kind) SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS retention (env String, max_age_ns Int64, max_bytes Int64, deleted UInt8, version UInt64)
			ENGINE = ReplacingMergeTree(version) ORDER BY env SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS xray_replaced (env String, day Date, trace_id FixedString(16), span_id FixedString(8), wseq UInt64, by_wseq UInt64)
			ENGINE = MergeTree PARTITION BY (env, day) ORDER BY (env, trace_id, span_id) SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;

CREATE TABLE IF NOT EXISTS aborted (wseq UInt64) ENGINE = MergeTree ORDER BY wseq SETTINGS fsync_after_insert = 1, fsync_part_directory = 1;
