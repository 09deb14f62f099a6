-- match
SELECT trace_hi, trace_lo, max(ts) FROM events_3 WHERE ts >= ? AND ts < ? AND NOT (trace_hi = 0 AND trace_lo = 0) AND (("service_name" IS NOT NULL AND "service_name" = ?) OR ((("a1" IS NOT NULL AND "a1" = ?) OR ("ovv_str"[list_position("ovk_str", ?)] IS NOT NULL AND "ovv_str"[list_position("ovk_str", ?)] = ?)) OR source NOT IN (1))) GROUP BY trace_hi, trace_lo HAVING bool_or(("service_name" IS NOT NULL AND "service_name" = ?)) AND bool_or(((("a1" IS NOT NULL AND "a1" = ?) OR ("ovv_str"[list_position("ovk_str", ?)] IS NOT NULL AND "ovv_str"[list_position("ovk_str", ?)] = ?)) OR source NOT IN (1)))
-- args: []interface {}{100000000000, 160000000001, "api", "c1", 1, 1, "c1", "api", "c1", 1, 1, "c1"}
-- slice
SELECT trace_hi, trace_lo, max(ts) FROM events_3 WHERE ts >= ? AND ts < ? AND NOT (trace_hi = 0 AND trace_lo = 0) GROUP BY trace_hi, trace_lo
-- last
SELECT trace_hi, trace_lo, max(ts) FROM events_3 SEMI JOIN (SELECT unnest(?::BIGINT[]) AS h, unnest(?::BIGINT[]) AS l) AS ids ON trace_hi = ids.h AND trace_lo = ids.l WHERE ts >= ? AND ts < ? GROUP BY trace_hi, trace_lo
-- newer
SELECT DISTINCT trace_hi, trace_lo FROM events_3 SEMI JOIN (SELECT unnest(?::BIGINT[]) AS h, unnest(?::BIGINT[]) AS l) AS ids ON trace_hi = ids.h AND trace_lo = ids.l WHERE ts >= ? AND ts < ?
-- extents
SELECT trace_hi, trace_lo, max(max_ts) FROM traces_3_0 SEMI JOIN (SELECT unnest(?::BIGINT[]) AS h, unnest(?::BIGINT[]) AS l) AS ids ON trace_hi = ids.h AND trace_lo = ids.l GROUP BY trace_hi, trace_lo UNION ALL SELECT trace_hi, trace_lo, max(max_ts) FROM traces_3_15 SEMI JOIN (SELECT unnest(?::BIGINT[]) AS h, unnest(?::BIGINT[]) AS l) AS ids ON trace_hi = ids.h AND trace_lo = ids.l GROUP BY trace_hi, trace_lo
-- args: []interface {}{[]int64{1}, []int64{2}, []int64{3}, []int64{-4}}
-- count
SELECT count(*) FROM (SELECT DISTINCT trace_hi, trace_lo FROM events_3 WHERE ts >= ? AND ts < ? AND NOT (trace_hi = 0 AND trace_lo = 0))
