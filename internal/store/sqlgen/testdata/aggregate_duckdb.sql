-- count: rows
SELECT * FROM (SELECT CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS c0, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2)) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST LIMIT 1000;
-- args: [1767322800000000000 1767326400000000000]

-- count_p99_by_name: rows
SELECT * FROM (SELECT "name" AS g0, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS c0, quantile_disc("duration_ms", 0.99) AS c1, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("a1" IS NOT NULL AND "a1" >= ?) OR ("a2" IS NOT NULL AND "a2" >= ?)) GROUP BY g0) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST LIMIT 1000;
-- args: [1767322800000000000 1767326400000000000 500 500]

-- every_sql_calc_usage_mode: rows
SELECT * FROM (SELECT CAST(count(*) AS DOUBLE) AS c0, sum("ov_flt"[?]) AS c1, avg("duration_ms") AS c2, min(CAST("a1" AS DOUBLE)) AS c3, max(CAST("a1" AS DOUBLE)) AS c4, CAST(count(DISTINCT COALESCE(CAST("a1" AS VARCHAR), "a2")) AS DOUBLE) AS c5, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2)) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST LIMIT 1000;
-- args: [rare 1767322800000000000 1767326400000000000]

-- weighted_avg_having_order_limit: rows
SELECT * FROM (SELECT COALESCE(CAST("a1" AS VARCHAR), "a2") AS g0, "name" AS g1, (sum("duration_ms" * (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) / sum(CASE WHEN "duration_ms" IS NOT NULL THEN (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) END)) AS c0, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS c1, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) GROUP BY g0, g1) AS q WHERE n_ > 0 AND c1 > ? ORDER BY g1 DESC NULLS LAST, g0 ASC NULLS LAST LIMIT 5;
-- args: [1767322800000000000 1767326400000000000 10]

-- heatmap_concurrency_series: rows
SELECT * FROM (SELECT "name" AS g0, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) GROUP BY g0) AS q WHERE n_ > 0;
-- args: [1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: series
SELECT (("ts" - ?) // ?) AS tb, "name" AS g0, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) GROUP BY tb, g0;
-- args: [1767322800000000000 60000000000 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: heatmap-bounds
SELECT min((CASE WHEN isfinite("duration_ms") THEN "duration_ms" END)), max((CASE WHEN isfinite("duration_ms") THEN "duration_ms" END)) FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL));
-- args: [1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: heatmap
SELECT "name" AS g0, least(CAST(floor(((CASE WHEN isfinite("duration_ms") THEN "duration_ms" END) - ?) / ?) AS BIGINT), ?) AS hb, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS n FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) AND (CASE WHEN isfinite("duration_ms") THEN "duration_ms" END) IS NOT NULL GROUP BY hb, g0;
-- args: [0 1 29 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: heatmap
SELECT (("ts" - ?) // ?) AS tb, "name" AS g0, least(CAST(floor(((CASE WHEN isfinite("duration_ms") THEN "duration_ms" END) - ?) / ?) AS BIGINT), ?) AS hb, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS n FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) AND (CASE WHEN isfinite("duration_ms") THEN "duration_ms" END) IS NOT NULL GROUP BY tb, hb, g0;
-- args: [1767322800000000000 60000000000 0 1 29 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: concurrency
SELECT g0, CAST(max(c) AS DOUBLE) AS c FROM (SELECT g0, t, sum(d) OVER (PARTITION BY g0 ORDER BY t, d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c FROM (SELECT "name" AS g0, "ts" AS t, (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) AS d FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) AND isfinite("duration_ms") UNION ALL SELECT "name" AS g0, "ts" + CAST(floor(least("duration_ms" * 1000000, 1e15)) AS BIGINT) AS t, -(CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) AS d FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) AND isfinite("duration_ms")) AS u) AS w GROUP BY g0;
-- args: [1767322800000000000 1767326400000000000 GET rare 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: concurrency
SELECT ((t - ?) // ?) AS tb, g0, CAST(max(c) AS DOUBLE) AS c FROM (SELECT g0, t, sum(d) OVER (PARTITION BY g0 ORDER BY t, d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c FROM (SELECT "name" AS g0, "ts" AS t, (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) AS d FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) AND isfinite("duration_ms") UNION ALL SELECT "name" AS g0, "ts" + CAST(floor(least("duration_ms" * 1000000, 1e15)) AS BIGINT) AS t, -(CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) AS d FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND (("name" IS NOT NULL AND starts_with("name", ?)) OR ("ov_flt"[?] IS NOT NULL)) AND isfinite("duration_ms")) AS u) AS w WHERE t < ? GROUP BY tb, g0;
-- args: [1767322800000000000 60000000000 1767322800000000000 1767326400000000000 GET rare 1767322800000000000 1767326400000000000 GET rare 1767326400000000000]

-- rate: rows
SELECT * FROM (SELECT sum("duration_ms" * (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS c0, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2)) AS q WHERE n_ > 0;
-- args: [1767322800000000000 1767326400000000000]

-- rate: series
SELECT (("ts" - ?) // ?) AS tb, sum("duration_ms" * (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS c0, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) GROUP BY tb;
-- args: [1767322800000000000 36000000000 1767322800000000000 1767326400000000000]

-- calc_filters_series: rows
SELECT * FROM (SELECT "name" AS g0, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS c0, CAST(sum(CASE WHEN ((("a1" IS NOT NULL AND "a1" >= ?) OR ("a2" IS NOT NULL AND "a2" >= ?))) THEN (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) ELSE 0 END) AS DOUBLE) AS c1, (sum((CASE WHEN ((("name" IS NOT NULL AND "name" = ?) OR ("ov_flt"[?] IS NOT NULL))) THEN "duration_ms" END) * (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) / sum(CASE WHEN (CASE WHEN ((("name" IS NOT NULL AND "name" = ?) OR ("ov_flt"[?] IS NOT NULL))) THEN "duration_ms" END) IS NOT NULL THEN (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) END)) AS c2, CAST(count(DISTINCT (CASE WHEN ((("a1" IS NOT NULL AND "a1" >= ?) OR ("a2" IS NOT NULL AND "a2" >= ?))) THEN COALESCE(CAST("a1" AS VARCHAR), "a2") END)) AS DOUBLE) AS c3, max((CASE WHEN ((("name" IS NOT NULL AND "name" = ?) OR ("ov_flt"[?] IS NOT NULL))) THEN "duration_ms" END)) AS c4, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) GROUP BY g0) AS q WHERE n_ > 0 AND c1 > ? ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST LIMIT 1000;
-- args: [500 500 GET / rare GET / rare 500 500 GET / rare 1767322800000000000 1767326400000000000 0]

-- calc_filters_series: series
SELECT (("ts" - ?) // ?) AS tb, "name" AS g0, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS c0, CAST(sum(CASE WHEN ((("a1" IS NOT NULL AND "a1" >= ?) OR ("a2" IS NOT NULL AND "a2" >= ?))) THEN (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) ELSE 0 END) AS DOUBLE) AS c1, (sum((CASE WHEN ((("name" IS NOT NULL AND "name" = ?) OR ("ov_flt"[?] IS NOT NULL))) THEN "duration_ms" END) * (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) / sum(CASE WHEN (CASE WHEN ((("name" IS NOT NULL AND "name" = ?) OR ("ov_flt"[?] IS NOT NULL))) THEN "duration_ms" END) IS NOT NULL THEN (CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END) END)) AS c2, CAST(count(DISTINCT (CASE WHEN ((("a1" IS NOT NULL AND "a1" >= ?) OR ("a2" IS NOT NULL AND "a2" >= ?))) THEN COALESCE(CAST("a1" AS VARCHAR), "a2") END)) AS DOUBLE) AS c3, max((CASE WHEN ((("name" IS NOT NULL AND "name" = ?) OR ("ov_flt"[?] IS NOT NULL))) THEN "duration_ms" END)) AS c4, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) GROUP BY tb, g0;
-- args: [1767322800000000000 60000000000 500 500 GET / rare GET / rare 500 500 GET / rare 1767322800000000000 1767326400000000000]

-- calc_filter_usage_mode: rows
SELECT * FROM (SELECT CAST(sum(CASE WHEN (("name" IS NOT NULL AND starts_with("name", ?))) THEN 1 ELSE 0 END) AS DOUBLE) AS c0, sum((CASE WHEN (("name" IS NOT NULL AND starts_with("name", ?))) THEN "ov_flt"[?] END)) AS c1, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2)) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST LIMIT 1000;
-- args: [GET GET rare 1767322800000000000 1767326400000000000]

-- derived_text_and_time: rows
SELECT * FROM (SELECT (CASE WHEN COALESCE(("name") <> '' AND regexp_matches("name", ?), FALSE) THEN (CASE WHEN regexp_matches("name", ?) THEN regexp_extract("name", ?, 1) END) WHEN ("ov_flt"[?] IS NOT NULL) THEN CAST(? AS VARCHAR) ELSE CAST(? AS VARCHAR) END) AS g0, (CASE WHEN TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))) IS NOT NULL THEN (strftime(TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))), '%Y') || CAST(? AS VARCHAR) || strftime(TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))), '%m') || CAST(? AS VARCHAR) || strftime(TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))), '%d') || CAST(? AS VARCHAR) || lpad(CAST(strftime(TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))), '%-d') AS VARCHAR), 2, ' ') || CAST(? AS VARCHAR) || lpad(CAST(strftime(TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))), '%-H') AS VARCHAR), 2, ' ') || CAST(? AS VARCHAR) || strftime(TRY(make_timestamp(TRY_CAST(round("duration_ms" * 1e6) AS BIGINT))), '%A')) END) AS g1, (CASE WHEN COALESCE(CAST("a1" AS VARCHAR), "a2") = CAST(? AS VARCHAR) THEN CAST(? AS VARCHAR) WHEN COALESCE(CAST("a1" AS VARCHAR), "a2") = CAST(? AS VARCHAR) THEN CAST(? AS VARCHAR) ELSE CAST(? AS VARCHAR) END) AS g2, max(CAST(COALESCE(len(regexp_extract_all("name", ?)), 0) AS DOUBLE)) AS c0, min((CASE WHEN regexp_matches("name", ?) THEN epoch(TRY_CAST(upper("name") AS TIMESTAMPTZ)) END)) AS c1, count(*) AS n_ FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) GROUP BY g0, g1, g2) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST, g1 ASC NULLS LAST, g2 ASC NULLS LAST LIMIT 1000;
-- args: [^GET  ^GET (/[a-z]*) ^GET (/[a-z]*) rare rare other - -   |   200 ok 500 error ? / ^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$ 1767322800000000000 1767326400000000000]

-- relational: rows
SELECT * FROM (SELECT rel_4 AS g0, COALESCE(CAST(rel_5 AS VARCHAR), rel_6) AS g1, rel_7 AS g2, CAST(sum((CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END)) AS DOUBLE) AS c0, count(*) AS n_ FROM (SELECT e.*, t.rel_0 AS rel_0, t.rel_1 AS rel_1, t.rel_2 AS rel_2, t.rel_4 AS rel_4, t.rel_7 AS rel_7, pa.rel_3 AS rel_3, pa.rel_5 AS rel_5, pa.rel_6 AS rel_6 FROM "events_1" e LEFT JOIN (SELECT "trace_hi" AS tk_0, "trace_lo" AS tk_1, max(CASE WHEN ("span_id" IS NOT NULL AND "parent_id" IS NULL) AND (("name" IS NOT NULL AND "name" = ?)) THEN 1 ELSE 0 END) AS rel_0, max(CASE WHEN (("ov_flt"[?] IS NOT NULL)) THEN 1 ELSE 0 END) AS rel_1, max(CASE WHEN (("name" IS NOT NULL AND "name" = ?)) THEN 1 ELSE 0 END) AS rel_2, max(CASE WHEN "span_id" IS NOT NULL AND "parent_id" IS NULL THEN "name" END) AS rel_4, max(CASE WHEN (("ov_flt"[?] IS NOT NULL)) THEN "name" END) AS rel_7 FROM "events_1" WHERE "ts" >= ? AND "ts" < ? GROUP BY "trace_hi", "trace_lo") t ON e."trace_hi" = t.tk_0 AND e."trace_lo" = t.tk_1 LEFT JOIN (SELECT "trace_hi" AS pk_0, "trace_lo" AS pk_1, "span_id" AS pk_span, max(CASE WHEN (("ov_flt"[?] IS NOT NULL AND "ov_flt"[?] > ?)) THEN 1 ELSE 0 END) AS rel_3, max("a1") AS rel_5, max("a2") AS rel_6 FROM "events_1" WHERE "ts" >= ? AND "ts" < ? AND "span_id" IS NOT NULL GROUP BY "trace_hi", "trace_lo", "span_id") pa ON e."trace_hi" = pa.pk_0 AND e."trace_lo" = pa.pk_1 AND e."parent_id" = pa.pk_span WHERE e."ts" >= ? AND e."ts" < ?) rel WHERE "ts" >= ? AND "ts" < ? AND "ds" IN (1, 2) AND coalesce(rel_0, 0) = 1 AND coalesce(rel_1, 0) = 1 AND coalesce(rel_2, 0) = 0 AND coalesce(rel_3, 0) = 1 AND ("name" IS NOT NULL) GROUP BY g0, g1, g2) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST, g1 ASC NULLS LAST, g2 ASC NULLS LAST LIMIT 1000;
-- args: [GET / rare retry rare 1767319200000000000 1767330000000000000 rare rare 1.5 1767319200000000000 1767330000000000000 1767322800000000000 1767326400000000000 1767322800000000000 1767326400000000000]

