// The time buckets of a query and the filling of the buckets where a group
// has no events (the query API leaves them out of `series`).
import type { Spec } from "./querySpec";

// autoGranularity is the server's choice of bucket width when a query names
// none (internal/query AutoGranularity): a round width giving at most about
// 100 buckets over a range of span seconds.
export function autoGranularity(span: number): number {
  for (const st of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]) {
    if (Math.floor(span / st) <= 100) return st;
  }
  return Math.ceil(span / 100);
}

export interface Window {
  start: number; // ms
  end: number; // ms, exclusive
  granularity: number; // ms
}

// queryWindow resolves a spec's time range as the server does; a relative
// range ends at ranAt (when the query was run) rounded up to the second.
export function queryWindow(spec: Spec, ranAt: number): Window {
  const range = spec.time_range ?? 7200;
  const now = Math.floor(ranAt / 1000) + 1;
  let start: number, end: number;
  if (spec.start_time !== undefined && spec.end_time !== undefined) [start, end] = [spec.start_time, spec.end_time];
  else if (spec.start_time !== undefined) [start, end] = [spec.start_time, spec.time_range !== undefined ? spec.start_time + range : Math.max(now, spec.start_time)];
  else if (spec.end_time !== undefined) [start, end] = [spec.end_time - range, spec.end_time];
  else [start, end] = [now - range, now];
  const span = Math.max(end - start, 1);
  const g = spec.granularity ? spec.granularity : autoGranularity(span);
  return { start: start * 1000, end: end * 1000, granularity: g * 1000 };
}

// bucketTimes lists the start of every bucket of a window: buckets are
// aligned to multiples of the granularity since the epoch, so the first may
// begin before the window does. Times seen in a result (extra) are merged
// in, so a bucket the server drew is never dropped.
export function bucketTimes(w: Window, extra: number[] = []): number[] {
  const g = w.granularity;
  const out = new Set<number>();
  if (g > 0 && w.end > w.start && (w.end - w.start) / g <= 100_000) {
    for (let t = Math.floor(w.start / g) * g; t < w.end; t += g) out.add(t);
  }
  for (const t of extra) out.add(t);
  return [...out].sort((a, b) => a - b);
}

// Calculations whose value over no events is 0: a bucket without events
// counted nothing, summed nothing, had nothing in flight.
const COUNTING = new Set(["COUNT", "SUM", "CONCURRENCY", "COUNT_DISTINCT", "RATE_AVG", "RATE_SUM", "RATE_MAX"]);

export function isCounting(op: string): boolean {
  return COUNTING.has(op);
}

// fillPoints gives a series a point in every bucket. An empty bucket is 0,
// as Honeycomb's graphs draw it; with omitMissing, the empty buckets of a
// calculation that is not a count (AVG, P99, MIN, MAX…) are null instead, and
// the chart draws its line straight across them (Honeycomb's "Omit missing
// values"). Counts stay 0: no events is a count of zero, not a missing value.
export function fillPoints(op: string, points: [number, number | null][], buckets: number[], omitMissing = false): [number, number | null][] {
  const have = new Map(points);
  const empty = omitMissing && !isCounting(op) ? null : 0;
  return buckets.map((t) => {
    const v = have.get(t);
    return [t, v === undefined ? empty : v];
  });
}
