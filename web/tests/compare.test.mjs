// Unit tests of the trace comparison (src/compare.ts) and of the query
// history (src/queryHistory.ts), bundled with esbuild.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { build } from "esbuild";

let buildTree, compareTrees, flatten, diff, pct, status, sortRows, summarize, pathNames;
let addEntry, parseHistory, summary;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "tracecomb-compare-"));
  const entry = join(dir, "entry.ts");
  const src = (f) => JSON.stringify(fileURLToPath(new URL("../src/" + f, import.meta.url)));
  writeFileSync(entry, `export * from ${src("compare.ts")};\nexport { buildTree } from ${src("trace.ts")};\nexport { addEntry, parseHistory, summary } from ${src("queryHistory.ts")};\n`);
  const out = join(dir, "compare.mjs");
  await build({ entryPoints: [entry], bundle: true, format: "esm", outfile: out, logLevel: "silent" });
  ({ buildTree, compareTrees, flatten, diff, pct, status, sortRows, summarize, pathNames, addEntry, parseHistory, summary } = await import(pathToFileURL(out).href));
  rmSync(dir, { recursive: true, force: true });
});

const span = (id, parent, svc, name, ms, dur, extra = {}) => ({
  "trace.span_id": id,
  "trace.parent_id": parent,
  name,
  "service.name": svc,
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString(),
  duration_ms: dur,
  ...extra,
});

// A: GET /cart (100) > auth (10), 3 × SELECT (5 each), cache (4)
// B: GET /cart (150) > auth (10.5), 2 × SELECT (30, 40), render (20); no cache
const A = () =>
  buildTree([
    span("r", "", "web", "GET /cart", 0, 100),
    span("a", "r", "auth", "check", 1, 10),
    span("q1", "r", "db", "SELECT", 20, 5),
    span("q2", "r", "db", "SELECT", 30, 5),
    span("q3", "r", "db", "SELECT", 40, 5),
    span("c", "r", "web", "cache", 50, 4),
  ]);
const B = () =>
  buildTree([
    span("R", "", "web", "GET /cart", 0, 150),
    span("A", "R", "auth", "check", 1, 10.5),
    span("Q1", "R", "db", "SELECT", 20, 30),
    span("Q2", "R", "db", "SELECT", 60, 40, { error: true }),
    span("N", "R", "web", "render", 110, 20),
  ]);

const byName = (rows, name) => rows.find((n) => n.name === name);

test("compareTrees matches spans by service and name along the path, adding up repeats", () => {
  const rows = flatten(compareTrees(A(), B()));
  assert.deepEqual(rows.map((n) => [n.depth, n.service, n.name]), [
    [0, "web", "GET /cart"],
    [1, "auth", "check"],
    [1, "db", "SELECT"],
    [1, "web", "cache"],
    [1, "web", "render"],
  ]);
  const sel = byName(rows, "SELECT");
  assert.deepEqual([sel.a.count, sel.a.dur, sel.b.count, sel.b.dur, sel.a.error, sel.b.error], [3, 15, 2, 70, false, true]);
  assert.equal(diff(sel), 55);
  assert.ok(Math.abs(pct(sel) - (55 / 15) * 100) < 1e-9);
  assert.equal(byName(rows, "cache").b, null);
  assert.equal(byName(rows, "render").a, null);
  assert.equal(diff(byName(rows, "cache")), -4);
  assert.equal(diff(byName(rows, "render")), 20);
  assert.equal(pct(byName(rows, "render")), null);
  assert.deepEqual(pathNames(sel), ["web GET /cart", "db SELECT"]);
});

test("the same name under different parents is a different path", () => {
  const a = buildTree([span("r", "", "s", "root", 0, 10), span("x", "r", "s", "x", 1, 5), span("y", "x", "s", "leaf", 2, 1)]);
  const b = buildTree([span("r", "", "s", "root", 0, 10), span("x", "r", "s", "x", 1, 5), span("z", "r", "s", "leaf", 7, 1)]);
  const rows = flatten(compareTrees(a, b));
  const leaves = rows.filter((n) => n.name === "leaf");
  assert.equal(leaves.length, 2);
  assert.deepEqual(leaves.map((n) => [n.depth, n.a !== null, n.b !== null]), [
    [2, true, false],
    [1, false, true],
  ]);
  assert.notEqual(leaves[0].id, leaves[1].id);
  // A service with the name of another's span does not match it.
  const c = buildTree([span("r", "", "s", "root", 0, 10)]);
  const d = buildTree([span("r", "", "t", "root", 0, 10)]);
  assert.deepEqual(flatten(compareTrees(c, d)).map((n) => status(n)), ["only-a", "only-b"]);
});

test("status: slower and faster past both thresholds, else same; only in A or B", () => {
  const rows = flatten(compareTrees(A(), B()));
  const t = { pct: 10, ms: 1 };
  assert.equal(status(byName(rows, "GET /cart"), t), "slower");
  assert.equal(status(byName(rows, "check"), t), "same"); // +0.5ms, under 1ms
  assert.equal(status(byName(rows, "check"), { pct: 1, ms: 0.1 }), "slower"); // +5%
  assert.equal(status(byName(rows, "check"), { pct: 10, ms: 0.1 }), "same"); // 5% <= 10%
  assert.equal(status(byName(rows, "cache"), t), "only-a");
  assert.equal(status(byName(rows, "render"), t), "only-b");
  const flip = flatten(compareTrees(B(), A()));
  assert.equal(status(byName(flip, "SELECT"), t), "faster");
  assert.equal(status(byName(flip, "GET /cart"), t), "faster");
});

test("sortRows orders by the difference and keeps tree order for ties", () => {
  const rows = flatten(compareTrees(A(), B()));
  const names = (k) => sortRows(rows, k).map((n) => n.name);
  assert.deepEqual(names("tree"), ["GET /cart", "check", "SELECT", "cache", "render"]);
  assert.deepEqual(names("diff-desc"), ["SELECT", "GET /cart", "render", "check", "cache"]);
  assert.deepEqual(names("diff-asc"), ["cache", "check", "render", "GET /cart", "SELECT"]);
  assert.deepEqual(names("abs-diff"), ["SELECT", "GET /cart", "render", "cache", "check"]);
  // Percentages: SELECT +366.7%, GET /cart +50%, check +5%; none for the others.
  assert.deepEqual(names("pct-desc"), ["SELECT", "GET /cart", "check", "cache", "render"]);
  assert.deepEqual(rows.map((n) => n.name), names("tree"), "sortRows does not reorder its input");
});

test("summarize: totals, spans only in A and B, biggest differences first", () => {
  const a = A(),
    b = B();
  const roots = compareTrees(a, b);
  const s = summarize(a, b, roots, { pct: 10, ms: 1 });
  assert.equal(s.aTotal, 100);
  assert.equal(s.bTotal, 150);
  assert.equal(s.aSpans, 6);
  assert.equal(s.bSpans, 5);
  assert.equal(s.onlyA, 1);
  assert.equal(s.onlyB, 1);
  assert.equal(s.slower, 2);
  assert.equal(s.faster, 0);
  assert.deepEqual(s.biggest.map((n) => n.name), ["SELECT", "GET /cart", "check"]);
  assert.deepEqual(summarize(a, b, roots, { pct: 10, ms: 1 }, 1).biggest.map((n) => n.name), ["SELECT"]);
  // A subtree only in B counts every span of it.
  const c = buildTree([span("r", "", "s", "root", 0, 10)]);
  const d = buildTree([span("r", "", "s", "root", 0, 10), span("x", "r", "s", "x", 1, 5), span("y", "x", "s", "y", 2, 1), span("z", "x", "s", "y", 3, 1)]);
  const s2 = summarize(c, d, compareTrees(c, d));
  assert.deepEqual([s2.onlyA, s2.onlyB, s2.slower, s2.biggest.length], [0, 3, 0, 0]);
});

test("a deep trace compares without recursion limits", () => {
  const evs = (n, dur) => Array.from({ length: n }, (_, i) => span("s" + i, i ? "s" + (i - 1) : "", "svc", "step", i, dur));
  const a = buildTree(evs(20000, 1));
  const b = buildTree(evs(20001, 2));
  const rows = flatten(compareTrees(a, b));
  assert.equal(rows.length, 20001);
  assert.equal(rows[20000].a, null);
  assert.equal(rows[19999].depth, 19999);
  assert.equal(diff(rows[0]), 1);
});

test("query history: newest first, a query run again moves up, bounded", () => {
  const e = (n, at, dataset = "d") => ({ dataset, spec: { calculations: [{ op: "COUNT" }], limit: n }, at });
  let h = [];
  h = addEntry(h, e(1, 1), 3);
  h = addEntry(h, e(2, 2), 3);
  h = addEntry(h, e(1, 3), 3);
  assert.deepEqual(h.map((x) => [x.spec.limit, x.at]), [
    [1, 3],
    [2, 2],
  ]);
  h = addEntry(h, e(1, 4, "other"), 3);
  h = addEntry(h, e(3, 5), 3);
  assert.deepEqual(h.map((x) => [x.dataset, x.spec.limit]), [
    ["d", 3],
    ["other", 1],
    ["d", 1],
  ]);
  assert.deepEqual(parseHistory(JSON.stringify(h)), h);
  assert.deepEqual(parseHistory("not json"), []);
  assert.deepEqual(parseHistory('{"a":1}'), []);
  assert.deepEqual(parseHistory(JSON.stringify([{ dataset: "d", at: 1 }, null, { dataset: "d", at: 2, spec: {} }])), [{ dataset: "d", at: 2, spec: {} }]);
});

test("query history: the one-line summary of a spec", () => {
  assert.equal(summary({}), "COUNT · last 2h");
  assert.equal(
    summary({
      calculations: [{ op: "COUNT" }, { op: "P99", column: "duration_ms" }],
      filters: [
        { column: "service.name", op: "=", value: "api" },
        { column: "error", op: "exists" },
        { column: "http.status_code", op: "in", value: [500, 503] },
      ],
      breakdowns: ["name"],
      orders: [{ op: "P99", column: "duration_ms", order: "descending" }],
      havings: [{ calculate_op: "COUNT", op: ">", value: 5 }],
      limit: 20,
      time_range: 600,
    }),
    'COUNT, P99(duration_ms) WHERE service.name = "api" AND error exists AND http.status_code in (500, 503) GROUP BY name ORDER BY P99(duration_ms) desc HAVING COUNT > 5 LIMIT 20 · last 10m',
  );
  assert.equal(summary({ filters: [{ column: "a", op: "=", value: 1 }, { column: "b", op: "=", value: true }], filter_combination: "OR", time_range: 86400 }), "COUNT WHERE a = 1 OR b = true · last 1d");
  assert.equal(summary({ start_time: 1767225600, end_time: 1767229200 }), "COUNT · 2026-01-01 00:00 – 01:00 UTC");
});
