// Unit tests of the span-tree builder (src/trace.ts), bundled with esbuild.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { build } from "esbuild";

let buildTree, visibleRows, parseTime, spanMatcher, criticalPath, spanLinks;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "tracecomb-trace-"));
  const out = join(dir, "trace.mjs");
  await build({ entryPoints: [fileURLToPath(new URL("../src/trace.ts", import.meta.url))], bundle: true, format: "esm", outfile: out, logLevel: "silent" });
  ({ buildTree, visibleRows, parseTime, spanMatcher, criticalPath, spanLinks } = await import(pathToFileURL(out).href));
  rmSync(dir, { recursive: true, force: true });
});

const span = (id, parent, ms, dur, extra = {}) => ({
  "trace.span_id": id,
  "trace.parent_id": parent,
  name: "s" + id,
  "service.name": "svc",
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString(),
  duration_ms: dur,
  ...extra,
});

test("parseTime keeps digits past the millisecond and reads epoch numbers", () => {
  const cases = [
    ["2026-01-01T00:00:00.123456789Z", Date.UTC(2026, 0, 1) + 123.456789],
    ["2026-01-01T00:00:00Z", Date.UTC(2026, 0, 1)],
    ["2026-01-01T01:00:00.5+01:00", Date.UTC(2026, 0, 1) + 500],
    [1767225600, 1767225600000],
    [1767225600123, 1767225600123],
  ];
  for (const [in_, want] of cases) assert.ok(Math.abs(parseTime(in_) - want) < 1e-6, `${in_}: ${parseTime(in_)} != ${want}`);
  assert.ok(Number.isNaN(parseTime(undefined)));
});

test("buildTree nests children in start order, attaches span events and links, and marks errors", () => {
  const t = buildTree([
    span("b", "a", 20, 5),
    span("a", "", 0, 100),
    span("c", "a", 10, 5, { error: true }),
    { "meta.annotation_type": "span_event", "trace.parent_id": "c", name: "retry", timestamp: "2026-01-01T00:00:00.012Z" },
    { "meta.annotation_type": "link", "trace.parent_id": "b", "trace.link.trace_id": "x" },
    span("d", "c", 11, 1, { status_code: 2 }),
  ]);
  assert.equal(t.spans.length, 4);
  assert.deepEqual(t.roots.map((s) => s.id), ["a"]);
  assert.deepEqual(t.roots[0].children.map((s) => s.id), ["c", "b"]);
  const c = t.roots[0].children[0];
  assert.equal(c.events.length, 1);
  assert.equal(t.roots[0].children[1].links.length, 1);
  assert.deepEqual(t.spans.filter((s) => s.error).map((s) => s.id).sort(), ["c", "d"]);
  assert.equal(t.roots[0].count, 4);
  assert.equal(c.children[0].depth, 2);
  assert.equal(t.end - t.start, 100);
});

test("orphans become roots and parent cycles do not loop", () => {
  const t = buildTree([span("x", "missing", 5, 1), span("p", "q", 0, 1), span("q", "p", 1, 1), span("r", "", 2, 1)]);
  assert.equal(t.spans.length, 4);
  const ids = visibleRows(t.roots, new Set()).map((s) => s.id).sort();
  assert.deepEqual(ids, ["p", "q", "r", "x"]);
});

test("visibleRows hides collapsed subtrees", () => {
  const t = buildTree([span("a", "", 0, 10), span("b", "a", 1, 1), span("c", "b", 2, 1), span("d", "a", 3, 1)]);
  const b = t.spans.find((s) => s.id === "b");
  assert.deepEqual(visibleRows(t.roots, new Set()).map((s) => s.id), ["a", "b", "c", "d"]);
  assert.deepEqual(visibleRows(t.roots, new Set([b])).map((s) => s.id), ["a", "b", "d"]);
});

test("a 10,000-deep chain builds without recursion", () => {
  const evs = [span("0", "", 0, 1)];
  for (let i = 1; i < 10000; i++) evs.push(span(String(i), String(i - 1), i, 1));
  const t = buildTree(evs);
  assert.equal(t.roots.length, 1);
  assert.equal(t.roots[0].count, 10000);
  assert.equal(visibleRows(t.roots, new Set()).length, 10000);
});

test("buildTree reads which SDK produced each span and which door it came in by", () => {
  const t = buildTree([
    span("a", "", 0, 10, { "meta.tracecomb.source": "otlp", "meta.tracecomb.door": "honeycomb" }),
    span("b", "a", 1, 5, { "meta.tracecomb.source": "xray", "meta.tracecomb.door": "xray" }),
    span("c", "a", 2, 1),
  ]);
  const by = Object.fromEntries(t.spans.map((s) => [s.id, [s.source, s.door]]));
  assert.deepEqual(by, { a: ["otlp", "honeycomb"], b: ["xray", "xray"], c: ["", ""] });
  assert.deepEqual(t.sources, ["otlp", "xray"]);
});

test("spanMatcher: text matches name, service or a field's value; field = value matches that field", async () => {
  const t = buildTree([
    span("a", "", 0, 10, { "service.name": "frontend", name: "GET /checkout", "http.status_code": 200 }),
    span("b", "a", 1, 5, { "service.name": "backend", name: "INSERT orders", "db.system": "postgresql", error: true }),
    span("c", "a", 2, 1, { "service.name": "backend", name: "SELECT stock", note: "Checkout helper" }),
  ]);
  const ids = (q) => {
    const f = spanMatcher(q);
    return f ? t.spans.filter(f).map((s) => s.id).sort() : null;
  };
  assert.equal(ids("  "), null);
  assert.deepEqual(ids("checkout"), ["a", "c"]); // a's name, c's field value
  assert.deepEqual(ids("BACKEND"), ["b", "c"]);
  assert.deepEqual(ids("postgres"), ["b"]);
  assert.deepEqual(ids("db.system = postgresql"), ["b"]);
  assert.deepEqual(ids('name="insert orders"'), ["b"]);
  assert.deepEqual(ids("http.status_code = 200"), ["a"]);
  assert.deepEqual(ids("http.status_code = 20"), []);
  assert.deepEqual(ids("error = true"), ["b"]);
  assert.deepEqual(ids("nothing-like-this"), []);
});

test("the critical path follows the child that ended last, back to the span's start", () => {
  // root 0–100: a 0–90 (its children a1 10–80 and a2 82–95, which ends
  // after a does), b 5–30 in parallel with a, c 92–99, and "late" 100–105,
  // which starts when the root ends.
  const t = buildTree([
    span("r", "", 0, 100),
    span("a", "r", 0, 90),
    span("a1", "a", 10, 70),
    span("a2", "a", 82, 13),
    span("b", "r", 5, 25),
    span("c", "r", 92, 7),
    span("late", "r", 100, 5),
  ]);
  const names = [...criticalPath(t)].map((s) => s.id).sort();
  // late starts at the root's end: off the path; a2 ends at 95, clamped to
  // a's end 90, so it is on it, and a1 before it.
  assert.deepEqual(names, ["a", "a1", "a2", "c", "r"]);
  assert.equal(criticalPath(buildTree([])).size, 0);
});

test("the critical path of a deep chain is walked without recursion", () => {
  const evs = [span("0", "", 0, 100000)];
  for (let i = 1; i < 20000; i++) evs.push(span(String(i), String(i - 1), i, 100000 - 2 * i));
  assert.equal(criticalPath(buildTree(evs)).size, 20000);
});

test("span links are read from the link events of a span", () => {
  const t = buildTree([
    span("r", "", 0, 10),
    { "trace.parent_id": "r", "meta.annotation_type": "link", "trace.link.trace_id": "abc", "trace.link.span_id": "def", "link.kind": "follows" },
    { "trace.parent_id": "r", "meta.annotation_type": "link" },
  ]);
  const links = spanLinks(t.roots[0]);
  assert.equal(links.length, 1);
  assert.equal(links[0].traceId, "abc");
  assert.equal(links[0].spanId, "def");
  assert.equal(links[0].ev["link.kind"], "follows");
});
