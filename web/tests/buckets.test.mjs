// Unit tests of the query buckets and their filling (src/buckets.ts), bundled with esbuild.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { build } from "esbuild";

let m;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "tracecomb-buckets-"));
  const out = join(dir, "buckets.mjs");
  await build({ entryPoints: [fileURLToPath(new URL("../src/buckets.ts", import.meta.url))], bundle: true, format: "esm", outfile: out, logLevel: "silent" });
  m = await import(pathToFileURL(out).href);
  rmSync(dir, { recursive: true, force: true });
});

test("autoGranularity matches the server's choices", () => {
  // internal/query TestAutoGranularity
  for (const [span, want] of [[1, 1], [100, 1], [101, 2], [7200, 120], [86400, 900], [30 * 86400, 43200], [1000 * 86400, 864000]]) {
    assert.equal(m.autoGranularity(span), want, `span ${span}`);
  }
});

test("queryWindow resolves absolute and relative ranges and the granularity", () => {
  assert.deepEqual(m.queryWindow({ start_time: 1000, end_time: 1600 }, 0), { start: 1_000_000, end: 1_600_000, granularity: 10_000 });
  assert.deepEqual(m.queryWindow({ start_time: 1000, end_time: 1600, granularity: 60 }, 0), { start: 1_000_000, end: 1_600_000, granularity: 60_000 });
  // A relative range ends at the run's second, rounded up, as the server's does.
  assert.deepEqual(m.queryWindow({ time_range: 600 }, 5_000_400), { start: (5001 - 600) * 1000, end: 5_001_000, granularity: 10_000 });
  assert.deepEqual(m.queryWindow({ end_time: 7200 }, 0), { start: 0, end: 7_200_000, granularity: 120_000 });
});

test("bucketTimes are aligned to the epoch and cover the window", () => {
  const b = m.bucketTimes({ start: 65_000, end: 125_000, granularity: 30_000 });
  assert.deepEqual(b, [60_000, 90_000, 120_000]);
  // A time the result has is kept even off the grid.
  assert.deepEqual(m.bucketTimes({ start: 60_000, end: 90_000, granularity: 30_000 }, [75_000]), [60_000, 75_000]);
});

test("fillPoints: empty buckets are 0, or null for non-counts when missing values are omitted", () => {
  const buckets = [0, 10, 20, 30];
  const pts = [[0, 4], [30, 2]];
  assert.deepEqual(m.fillPoints("COUNT", pts, buckets), [[0, 4], [10, 0], [20, 0], [30, 2]]);
  assert.deepEqual(m.fillPoints("P99", pts, buckets), [[0, 4], [10, 0], [20, 0], [30, 2]]);
  assert.deepEqual(m.fillPoints("P99", pts, buckets, true), [[0, 4], [10, null], [20, null], [30, 2]]);
  assert.deepEqual(m.fillPoints("SUM", pts, buckets, true), [[0, 4], [10, 0], [20, 0], [30, 2]]);
  for (const op of ["COUNT", "SUM", "CONCURRENCY", "COUNT_DISTINCT", "RATE_AVG", "RATE_SUM", "RATE_MAX"]) assert.ok(m.isCounting(op), op);
  for (const op of ["AVG", "P99", "MIN", "MAX", "HEATMAP"]) assert.ok(!m.isCounting(op), op);
});
