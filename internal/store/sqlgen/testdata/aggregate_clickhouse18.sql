-- count: rows
SELECT * FROM (SELECT toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS c0, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2)) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST LIMIT 1000;
-- args: [1767322800000000000 1767326400000000000]

-- count_p99_by_name: rows
SELECT * FROM (SELECT `name` AS g0, toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS c0, arrayMap(a_ -> if(length(a_) = 0, NULL, a_[toUInt64(greatest(1, ceil(round(0.99 * length(a_), 9))))]), [arraySort(groupArray(`duration_ms`))])[1] AS c1, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`a1` IS NOT NULL AND ifNull(`a1` >= ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` >= ?, 0))) GROUP BY g0) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST LIMIT 1000;
-- args: [1767322800000000000 1767326400000000000 500 500]

-- every_sql_calc_usage_mode: rows
SELECT * FROM (SELECT toFloat64(count(*)) AS c0, sum(`ov_flt`[?]) AS c1, avg(`duration_ms`) AS c2, min(toFloat64(`a1`)) AS c3, max(toFloat64(`a1`)) AS c4, toFloat64(ifNull(uniqExact(COALESCE(toString(`a1`), `a2`)), 0)) AS c5, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2)) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST LIMIT 1000;
-- args: [rare 1767322800000000000 1767326400000000000]

-- weighted_avg_having_order_limit: rows
SELECT * FROM (SELECT COALESCE(toString(`a1`), `a2`) AS g0, `name` AS g1, (sum(`duration_ms` * (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END)) / sum(CASE WHEN `duration_ms` IS NOT NULL THEN (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) END)) AS c0, toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS c1, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) GROUP BY g0, g1) AS q WHERE n_ > 0 AND c1 > ? ORDER BY g1 DESC NULLS LAST, g0 ASC NULLS LAST LIMIT 5;
-- args: [1767322800000000000 1767326400000000000 10]

-- heatmap_concurrency_series: rows
SELECT * FROM (SELECT `name` AS g0, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) GROUP BY g0) AS q WHERE n_ > 0;
-- args: [1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: series
SELECT intDiv((`ts` - ?), ?) AS tb, `name` AS g0, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) GROUP BY tb, g0;
-- args: [1767322800000000000 60000000000 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: heatmap-bounds
SELECT min((CASE WHEN isFinite(`duration_ms`) THEN `duration_ms` END)), max((CASE WHEN isFinite(`duration_ms`) THEN `duration_ms` END)) FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL));
-- args: [1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: heatmap
SELECT `name` AS g0, least(toInt64(floor(((CASE WHEN isFinite(`duration_ms`) THEN `duration_ms` END) - ?) / ?)), ?) AS hb, toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS n FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) AND (CASE WHEN isFinite(`duration_ms`) THEN `duration_ms` END) IS NOT NULL GROUP BY hb, g0;
-- args: [0 1 29 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: heatmap
SELECT intDiv((`ts` - ?), ?) AS tb, `name` AS g0, least(toInt64(floor(((CASE WHEN isFinite(`duration_ms`) THEN `duration_ms` END) - ?) / ?)), ?) AS hb, toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS n FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) AND (CASE WHEN isFinite(`duration_ms`) THEN `duration_ms` END) IS NOT NULL GROUP BY tb, hb, g0;
-- args: [1767322800000000000 60000000000 0 1 29 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: concurrency
SELECT g0, toFloat64(max(c)) AS c FROM (SELECT g0, t, c FROM (SELECT g0, arraySort(groupArray((t, d))) AS s_ FROM (SELECT `name` AS g0, `ts` AS t, (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) AS d FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) AND isFinite(`duration_ms`) UNION ALL SELECT `name` AS g0, `ts` + toInt64(floor(least(`duration_ms` * 1000000, 1e15))) AS t, -(CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) AS d FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) AND isFinite(`duration_ms`)) AS u GROUP BY g0) ARRAY JOIN arrayMap(x_ -> x_.1, s_) AS t, arrayCumSum(arrayMap(x_ -> x_.2, s_)) AS c) AS w GROUP BY g0;
-- args: [1767322800000000000 1767326400000000000 GET rare 1767322800000000000 1767326400000000000 GET rare]

-- heatmap_concurrency_series: concurrency
SELECT intDiv((t - ?), ?) AS tb, g0, toFloat64(max(c)) AS c FROM (SELECT g0, t, c FROM (SELECT g0, arraySort(groupArray((t, d))) AS s_ FROM (SELECT `name` AS g0, `ts` AS t, (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) AS d FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) AND isFinite(`duration_ms`) UNION ALL SELECT `name` AS g0, `ts` + toInt64(floor(least(`duration_ms` * 1000000, 1e15))) AS t, -(CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) AS d FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) AND ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0)) OR (`ov_flt`[?] IS NOT NULL)) AND isFinite(`duration_ms`)) AS u GROUP BY g0) ARRAY JOIN arrayMap(x_ -> x_.1, s_) AS t, arrayCumSum(arrayMap(x_ -> x_.2, s_)) AS c) AS w WHERE t < ? GROUP BY tb, g0;
-- args: [1767322800000000000 60000000000 1767322800000000000 1767326400000000000 GET rare 1767322800000000000 1767326400000000000 GET rare 1767326400000000000]

-- rate: rows
SELECT * FROM (SELECT sum(`duration_ms` * (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END)) AS c0, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2)) AS q WHERE n_ > 0;
-- args: [1767322800000000000 1767326400000000000]

-- rate: series
SELECT intDiv((`ts` - ?), ?) AS tb, sum(`duration_ms` * (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END)) AS c0, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) GROUP BY tb;
-- args: [1767322800000000000 36000000000 1767322800000000000 1767326400000000000]

-- calc_filters_series: rows
SELECT * FROM (SELECT `name` AS g0, toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS c0, toFloat64(sum(CASE WHEN (((`a1` IS NOT NULL AND ifNull(`a1` >= ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` >= ?, 0)))) THEN (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) ELSE 0 END)) AS c1, (sum((CASE WHEN (((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR (`ov_flt`[?] IS NOT NULL))) THEN `duration_ms` END) * (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END)) / sum(CASE WHEN (CASE WHEN (((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR (`ov_flt`[?] IS NOT NULL))) THEN `duration_ms` END) IS NOT NULL THEN (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) END)) AS c2, toFloat64(ifNull(uniqExact((CASE WHEN (((`a1` IS NOT NULL AND ifNull(`a1` >= ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` >= ?, 0)))) THEN COALESCE(toString(`a1`), `a2`) END)), 0)) AS c3, max((CASE WHEN (((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR (`ov_flt`[?] IS NOT NULL))) THEN `duration_ms` END)) AS c4, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) GROUP BY g0) AS q WHERE n_ > 0 AND c1 > ? ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST LIMIT 1000;
-- args: [500 500 GET / rare GET / rare 500 500 GET / rare 1767322800000000000 1767326400000000000 0]

-- calc_filters_series: series
SELECT intDiv((`ts` - ?), ?) AS tb, `name` AS g0, toFloat64(sum((CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END))) AS c0, toFloat64(sum(CASE WHEN (((`a1` IS NOT NULL AND ifNull(`a1` >= ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` >= ?, 0)))) THEN (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) ELSE 0 END)) AS c1, (sum((CASE WHEN (((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR (`ov_flt`[?] IS NOT NULL))) THEN `duration_ms` END) * (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END)) / sum(CASE WHEN (CASE WHEN (((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR (`ov_flt`[?] IS NOT NULL))) THEN `duration_ms` END) IS NOT NULL THEN (CASE WHEN `sample_rate` IS NULL OR `sample_rate` < 1 THEN 1 ELSE `sample_rate` END) END)) AS c2, toFloat64(ifNull(uniqExact((CASE WHEN (((`a1` IS NOT NULL AND ifNull(`a1` >= ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` >= ?, 0)))) THEN COALESCE(toString(`a1`), `a2`) END)), 0)) AS c3, max((CASE WHEN (((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR (`ov_flt`[?] IS NOT NULL))) THEN `duration_ms` END)) AS c4, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) GROUP BY tb, g0;
-- args: [1767322800000000000 60000000000 500 500 GET / rare GET / rare 500 500 GET / rare 1767322800000000000 1767326400000000000]

-- calc_filter_usage_mode: rows
SELECT * FROM (SELECT toFloat64(sum(CASE WHEN ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0))) THEN 1 ELSE 0 END)) AS c0, sum((CASE WHEN ((`name` IS NOT NULL AND ifNull(startsWith(`name`, ?), 0))) THEN `ov_flt`[?] END)) AS c1, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2)) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST LIMIT 1000;
-- args: [GET GET rare 1767322800000000000 1767326400000000000]

-- derived_text_and_time: rows
SELECT * FROM (SELECT (CASE WHEN COALESCE((`name`) <> '' AND match(`name`, ?), FALSE) THEN (CASE WHEN match(`name`, ?) THEN extract(`name`, ?) END) WHEN (`ov_flt`[?] IS NOT NULL) THEN toString(?) ELSE toString(?) END) AS g0, (CASE WHEN fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC') IS NOT NULL THEN (formatDateTime(fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC'), '%Y', 'UTC') || toString(?) || formatDateTime(fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC'), '%m', 'UTC') || toString(?) || formatDateTime(fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC'), '%d', 'UTC') || toString(?) || formatDateTime(fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC'), '%e', 'UTC') || toString(?) || formatDateTime(fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC'), '%k', 'UTC') || toString(?) || dateName('weekday', fromUnixTimestamp64Micro(toInt64OrNull(toString(round(`duration_ms` * 1e6))), 'UTC'))) END) AS g1, (CASE WHEN COALESCE(toString(`a1`), `a2`) = toString(?) THEN toString(?) WHEN COALESCE(toString(`a1`), `a2`) = toString(?) THEN toString(?) ELSE toString(?) END) AS g2, max(toFloat64(COALESCE(arrayMap(v_ -> if(isNull(v_), NULL, length(extractAll(assumeNotNull(v_), ?))), [`name`])[1], 0))) AS c0, min((CASE WHEN match(`name`, ?) THEN (toUnixTimestamp64Micro(parseDateTime64BestEffortOrNull(`name`, 6, 'UTC')) / 1e6) END)) AS c1, count(*) AS n_ FROM `events_1` WHERE `ts` >= ? AND `ts` < ? AND `ds` IN (1, 2) GROUP BY g0, g1, g2) AS q WHERE n_ > 0 ORDER BY c0 DESC NULLS LAST, g0 ASC NULLS LAST, g1 ASC NULLS LAST, g2 ASC NULLS LAST LIMIT 1000;
-- args: [^GET  ^GET (/[a-z]*) ^GET (/[a-z]*) rare rare other - -   |   200 ok 500 error ? / ^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$ 1767322800000000000 1767326400000000000]

