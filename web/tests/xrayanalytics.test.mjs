// Browser tests of the X-Ray page's Analytics tab and of the service map's
// group picker, against a tracecomb of their own fed real X-Ray segments
// on its daemon door.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { build } from "esbuild";
import { startServer, launchBrowser, waitFor, shot, newTraceHex, randomHex, xrayTraceId, putSegments, xrayAPI } from "./harness.mjs";

let server, browser;

// 40 traces of slow-svc: 20 of 1.3–1.7 s, 20 of 2.5–2.8 s; a quarter POST,
// a quarter by user alice. 60 traces of fast-svc: 30 of 12–16 ms, 30 of
// 25–31 ms, every one GET; 6 of them faults with a TimeoutError.
const SLOW = 40;
const FAST = 60;
const FAULTS = 6;

function segment(traceHex, name, start, dur, extra = {}) {
  return { name, id: randomHex(16), trace_id: xrayTraceId(traceHex), start_time: start, end_time: start + dur, ...extra };
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const now = Date.now() / 1000;
  const docs = [];
  for (let i = 0; i < SLOW; i++) {
    const start = now - 1500 + i * 20;
    const rt = i % 2 === 0 ? 1.3 + (i % 5) * 0.1 : 2.5 + (i % 4) * 0.1;
    docs.push(
      segment(newTraceHex(Math.floor(start)), "slow-svc", start, rt, {
        http: { request: { method: i % 4 === 1 ? "POST" : "GET", url: "http://slow.example/report" }, response: { status: 200 } },
        ...(i % 4 === 0 ? { user: "alice" } : {}),
      }),
    );
  }
  for (let i = 0; i < FAST; i++) {
    const start = now - 1500 + i * 15;
    const rt = i % 2 === 0 ? 0.012 + (i % 5) / 1000 : 0.025 + (i % 7) / 1000;
    const fault = i % 10 === 3;
    docs.push(
      segment(newTraceHex(Math.floor(start)), "fast-svc", start, rt, {
        http: { request: { method: "GET", url: "http://fast.example/ping" }, response: { status: fault ? 500 : 200 } },
        ...(fault ? { fault: true, cause: { exceptions: [{ id: randomHex(16), type: "TimeoutError", message: "upstream timed out" }] } } : {}),
      }),
    );
  }
  await putSegments(server, docs);
  const end = Math.ceil(Date.now() / 1000) + 1;
  await waitFor(async () => (await xrayAPI(server, "TraceSummaries", { StartTime: end - 3600, EndTime: end })).body.TracesProcessedCount === SLOW + FAST, "the X-Ray API to see every trace", 60_000);
});

// The page's pure helpers, bundled with esbuild.
async function analyticsModule() {
  const dir = mkdtempSync(join(tmpdir(), "tracecomb-xa-"));
  try {
    const out = join(dir, "xa.mjs");
    await build({ entryPoints: [fileURLToPath(new URL("../src/pages/XRayAnalytics.tsx", import.meta.url))], bundle: true, format: "esm", jsx: "automatic", outfile: out, logLevel: "silent" });
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("response-time buckets: a 1-2-5 series from 1 µs, each holding its lower edge; root-cause values back to filter clauses", async () => {
  const m = await analyticsModule();
  assert.deepEqual([0, 1, 2, 3, 9, 10, 11, 18, 19, 20].map(m.edge), [1e-6, 2e-6, 5e-6, 1e-5, 0.001, 0.002, 0.005, 1, 2, 5]);
  for (const [v, k] of [[0, 0], [-1, 0], [1e-7, 0], [0.001, 9], [0.0019999, 9], [0.002, 10], [0.0049, 10], [0.005, 11], [0.019999, 12], [0.02, 13], [1, 18], [1.5, 18], [2.5, 19], [1e9, 29]]) {
    assert.equal(m.bucketOf(v), k, `bucketOf(${v})`);
  }
  // Every value falls in [edge(k), edge(k+1)) below the last bucket.
  for (let v = 1.3e-6; v < 500; v *= 1.37) {
    const k = m.bucketOf(v);
    assert.ok(m.edge(k) <= v && v < m.edge(k + 1), `${v} in bucket ${k}`);
  }
  assert.equal(m.rootCauseClause("fault", "api: TimeoutError"), 'rootcause.fault.service { name = "api" AND last } AND rootcause.fault.exception { name = "TimeoutError" }');
  assert.equal(m.rootCauseClause("error", "db.internal:5432"), 'rootcause.error.service { name = "db.internal:5432" AND last }');
  assert.equal(m.rootCauseClause("error", "a: b c"), 'rootcause.error.service { name = "a: b c" AND last }');
  assert.equal(m.rootCauseClause("responsetime", "api"), 'rootcause.responsetime.service { name = "api" AND last }');
  const status = m.DIMENSIONS.find((d) => d.key === "status");
  assert.equal(status.clause("500"), "http.status = 500");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// bins reads a chart's bars: [lo, hi, A, B] per bucket (times in seconds).
async function bins(p, testId) {
  return JSON.parse(await p.getByTestId(testId).getAttribute("data-bins"));
}

const sumA = (bs) => bs.reduce((s, b) => s + b[2], 0);
const sumB = (bs) => bs.reduce((s, b) => s + b[3], 0);

async function row(p, dim, value) {
  const r = p.getByTestId("breakdown-" + dim).locator(`tr[data-value="${value}"]`);
  await r.waitFor();
  return Object.fromEntries(
    await Promise.all(["a-count", "a-share", "b-count", "b-share", "diff"].map(async (k) => [k, await r.getAttribute("data-" + k)])),
  );
}

// dragBins drags across a chart's buckets from index i to j.
async function dragBins(p, testId, i, j) {
  const box = async (k) => p.getByTestId(testId).locator(`.xa-bin[data-bin="${k}"]`).boundingBox();
  const a = await box(i);
  const b = await box(j);
  await p.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await p.mouse.down();
  await p.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 4 });
  await p.mouse.up();
}

test("analytics: a filter's response-time distribution and breakdowns; Compare overlays a second filter; a range of the distribution narrows the tables", async () => {
  const p = await browser.page();
  await p.goto(server.uiURL + "/xray/analytics?" + new URLSearchParams({ filter: 'service("slow-svc")' }));
  const countA = p.getByTestId("xa-count-a");
  await waitFor(async () => (await countA.getAttribute("data-matching")) === String(SLOW), "slow-svc's traces");
  assert.equal(await countA.getAttribute("data-capped"), "0");
  assert.equal(await p.getByRole("link", { name: "Analytics" }).getAttribute("class"), "active");

  // Every slow trace sits in the 1 s – 2 s and 2 s – 5 s buckets, 20 each.
  let rt = await bins(p, "rt-dist");
  assert.equal(sumA(rt), SLOW);
  for (const [lo, hi, a] of rt) if (a) assert.ok(lo >= 1, `A traces in bucket ${lo}–${hi}`);
  assert.deepEqual(rt.filter((b) => b[2]).map((b) => [b[0], b[1], b[2]]), [[1, 2, 20], [2, 5, 20]]);
  assert.equal(sumA(await bins(p, "time-series")), SLOW);
  assert.deepEqual(await row(p, "method", "GET"), { "a-count": "30", "a-share": "75.0", "b-count": null, "b-share": null, diff: null });
  assert.equal((await row(p, "method", "POST"))["a-count"], "10");
  assert.deepEqual(await row(p, "user", "alice"), { "a-count": "10", "a-share": "25.0", "b-count": null, "b-share": null, diff: null });
  assert.equal((await row(p, "service", "slow-svc"))["a-share"], "100.0");

  // Compare with the fast traces: both sets in the distribution, each in
  // its own buckets, and both shares with their difference in the tables.
  await p.getByRole("button", { name: "Compare" }).click();
  await p.locator("textarea[name=compare]").fill('service("fast-svc")');
  await p.getByRole("button", { name: "Analyse" }).click();
  const countB = p.getByTestId("xa-count-b");
  await waitFor(async () => (await countB.count()) && (await countB.getAttribute("data-matching")) === String(FAST), "fast-svc's traces");
  assert.equal(new URL(p.url()).searchParams.get("compare"), 'service("fast-svc")');
  rt = await bins(p, "rt-dist");
  assert.equal(sumA(rt), SLOW);
  assert.equal(sumB(rt), FAST);
  for (const [lo, hi, , b] of rt) if (b) assert.ok(hi <= 0.05, `B traces in bucket ${lo}–${hi}`);
  assert.deepEqual(rt.filter((b) => b[3]).map((b) => [b[0], b[1], b[3]]), [[0.01, 0.02, 30], [0.02, 0.05, 30]]);
  assert.deepEqual(rt.filter((b) => b[2]).map((b) => [b[0], b[1], b[2]]), [[1, 2, 20], [2, 5, 20]]);
  assert.deepEqual(await row(p, "method", "GET"), { "a-count": "30", "a-share": "75.0", "b-count": "60", "b-share": "100.0", diff: "25.0" });
  assert.deepEqual(await row(p, "fault", "fast-svc: TimeoutError"), { "a-count": "0", "a-share": "0.0", "b-count": String(FAULTS), "b-share": "10.0", diff: "10.0" });
  assert.deepEqual(await row(p, "status", "500"), { "a-count": "0", "a-share": "0.0", "b-count": String(FAULTS), "b-share": "10.0", diff: "10.0" });
  await shot(p, "xray-analytics");

  // A time range with no trace in it (the traces started 10–25 minutes
  // ago; the first six minutes of the hour are empty) empties the tables;
  // Clear brings every trace back.
  const ts = await bins(p, "time-series");
  assert.equal(ts.length, 60);
  assert.equal(sumA(ts.slice(0, 6)) + sumB(ts.slice(0, 6)), 0);
  await dragBins(p, "time-series", 0, 5);
  await waitFor(async () => (await countA.getAttribute("data-shown")) === "0" && (await countB.getAttribute("data-shown")) === "0", "the empty time range");
  assert.equal(await p.getByTestId("breakdown-service").locator("tbody tr").count(), 0);
  await p.getByTestId("time-selection").getByRole("button", { name: "Clear" }).click();
  await waitFor(async () => (await countA.getAttribute("data-shown")) === String(SLOW) && (await countB.getAttribute("data-shown")) === String(FAST), "every trace again");

  // A value picked in a table narrows the charts and the other tables; its
  // own table keeps its other values.
  await p.getByTestId("breakdown-method").getByRole("button", { name: "POST" }).click();
  await waitFor(async () => (await countA.getAttribute("data-shown")) === "10", "the POST traces");
  assert.equal(await countB.getAttribute("data-shown"), "0");
  assert.equal(await p.getByTestId("xa-pick").getAttribute("data-clause"), 'http.method = "POST"');
  const picked = await bins(p, "rt-dist");
  assert.deepEqual(picked.map((b) => b[0]), rt.map((b) => b[0]), "the buckets stay");
  assert.equal(sumA(picked), 10);
  assert.equal(sumB(picked), 0);
  assert.equal(sumA(await bins(p, "time-series")), 10);
  assert.deepEqual(await row(p, "service", "slow-svc"), { "a-count": "10", "a-share": "100.0", "b-count": "0", "b-share": "0.0", diff: "-100.0" });
  assert.equal(await p.getByTestId("breakdown-service").locator("tbody tr").count(), 1);
  assert.equal((await row(p, "method", "GET"))["a-count"], "30");
  await p.getByTestId("xa-pick").getByRole("button", { name: "Clear" }).click();
  await waitFor(async () => (await countA.getAttribute("data-shown")) === String(SLOW), "every trace again");

  // Dragging across the two slow buckets narrows the tables to the slow traces.
  const idx = (lo) => rt.findIndex((b) => b[0] === lo);
  await dragBins(p, "rt-dist", idx(1), idx(2));
  await waitFor(async () => (await countB.getAttribute("data-shown")) === "0", "the selection to narrow B");
  assert.equal(await countA.getAttribute("data-shown"), String(SLOW));
  assert.equal(await p.getByTestId("rt-dist").getAttribute("data-selection"), "[1,5]");
  assert.equal(await p.getByTestId("breakdown-service").locator("tbody tr").count(), 1);
  assert.equal((await row(p, "service", "slow-svc"))["a-count"], String(SLOW));
  assert.equal(await p.getByTestId("breakdown-fault").locator("tbody tr").count(), 0);

  // One fast bucket: only the 25–31 ms traces of B.
  await dragBins(p, "rt-dist", idx(0.02), idx(0.02));
  await waitFor(async () => (await countB.getAttribute("data-shown")) === "30", "the 20–50 ms bucket");
  assert.equal(await countA.getAttribute("data-shown"), "0");
  assert.deepEqual(await row(p, "method", "GET"), { "a-count": "0", "a-share": "0.0", "b-count": "30", "b-share": "100.0", diff: "100.0" });
  assert.deepEqual(await row(p, "service", "fast-svc"), { "a-count": "0", "a-share": "0.0", "b-count": "30", "b-share": "100.0", diff: "100.0" });
  // The shot shows the charts and the narrowed tables below them.
  await p.locator(".xa-summary").evaluate((e) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 60));
  await shot(p, "xray-analytics-selection");

  // B's link opens the Traces tab with its filter narrowed to the range.
  await p.getByTestId("xa-open-b").click();
  await waitFor(async () => new URL(p.url()).pathname === "/xray", "the Traces tab");
  assert.equal(new URL(p.url()).searchParams.get("filter"), '(service("fast-svc")) AND responsetime >= 0.02 AND responsetime < 0.05');
  const counts = p.getByTestId("xray-counts");
  await waitFor(async () => (await counts.getAttribute("data-matching")) === "30", "the range's 30 traces in Traces");
  await p.close();
});

test("analytics: Remove comparison drops B at once", async () => {
  const p = await browser.page();
  await p.goto(server.uiURL + "/xray/analytics?" + new URLSearchParams({ filter: 'service("slow-svc")', compare: 'service("fast-svc")' }));
  const countB = p.getByTestId("xa-count-b");
  await waitFor(async () => (await countB.count()) && (await countB.getAttribute("data-matching")) === String(FAST), "B's traces");
  assert.equal(sumB(await bins(p, "rt-dist")), FAST);
  await p.getByRole("button", { name: "Remove comparison" }).click();
  await waitFor(async () => (await countB.count()) === 0, "B gone");
  assert.equal(sumB(await bins(p, "rt-dist")), 0);
  assert.equal(await p.locator("textarea[name=compare]").count(), 0);
  assert.equal(await p.getByTestId("breakdown-method").locator("tr[data-value=GET]").getAttribute("data-b-count"), null);
  await p.getByRole("button", { name: "Analyse" }).click();
  await waitFor(async () => !new URL(p.url()).searchParams.has("compare"), "compare gone from the address");
  await p.close();
});

test("analytics: a bad filter expression is shown at its column", async () => {
  const p = await browser.page();
  await p.goto(server.uiURL + "/xray/analytics?" + new URLSearchParams({ filter: 'service("slow-svc") AND responsetime >' }));
  const err = p.getByTestId("filter-error");
  await err.waitFor();
  assert.match(await err.innerText(), /\^/);
  assert.equal(await p.getByTestId("xa-summary").count(), 0);
  await p.close();
});

test("analytics: Add to filter puts a picked value's clause into the filter expression and runs it", async () => {
  const p = await browser.page();
  await p.goto(server.uiURL + "/xray/analytics?" + new URLSearchParams({ filter: 'service("fast-svc")' }));
  const countA = p.getByTestId("xa-count-a");
  await waitFor(async () => (await countA.getAttribute("data-matching")) === String(FAST), "fast-svc's traces");
  await p.getByTestId("breakdown-fault").getByRole("button", { name: "fast-svc: TimeoutError" }).click();
  await waitFor(async () => (await countA.getAttribute("data-shown")) === String(FAULTS), "the faults");
  await p.getByRole("button", { name: "Add to filter" }).click();
  const want = '(service("fast-svc")) AND rootcause.fault.service { name = "fast-svc" AND last } AND rootcause.fault.exception { name = "TimeoutError" }';
  assert.equal(await p.locator("textarea[name=filter]").inputValue(), want);
  // The server matches the same traces.
  await waitFor(async () => (await countA.getAttribute("data-matching")) === String(FAULTS) && (await countA.getAttribute("data-shown")) === String(FAULTS), "the refined search");
  assert.equal(new URL(p.url()).searchParams.get("filter"), want);
  assert.equal(await p.getByTestId("xa-pick").count(), 0);
  // The data picker: tracecomb's view over the OpenTelemetry data has none of these traces.
  await p.getByRole("radio", { name: "OpenTelemetry (tracecomb)" }).check();
  await waitFor(async () => new URL(p.url()).searchParams.get("doors") === "honeycomb", "the choice in the URL");
  await waitFor(async () => (await countA.getAttribute("data-matching")) === "0", "no OpenTelemetry traces");
  assert.equal(new URL(p.url()).searchParams.get("filter"), want, "the filter kept");
  await p.close();
});

async function mapState(p) {
  const map = p.getByTestId("service-map");
  await waitFor(async () => (await map.getAttribute("data-loaded")) === "1", "the service map");
  return { group: await map.getAttribute("data-group"), nodes: JSON.parse(await map.getAttribute("data-nodes")), types: JSON.parse(await map.getAttribute("data-types")) };
}

const services = (s) => s.nodes.filter((_, i) => s.types[i] !== "client").sort();

test("service map: the group picker lists the environment's groups, Default first; a group's map has only its traces' services and stays in the URL", async () => {
  const made = await xrayAPI(server, "CreateGroup", { GroupName: "slow-only", FilterExpression: 'service("slow-svc")' });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const p = await browser.page();
  await p.goto(server.uiURL + "/map");
  const pick = p.getByTestId("map-group");
  await waitFor(async () => (await pick.getAttribute("data-loaded")) === "1", "the groups");
  assert.deepEqual(await pick.locator("option").allInnerTexts(), ["Default", "slow-only"]);
  let s = await waitFor(async () => {
    const st = await mapState(p);
    return services(st).length === 2 && st;
  }, "the default map");
  assert.equal(s.group, "");
  assert.deepEqual(services(s), ["fast-svc", "slow-svc"]);

  await pick.selectOption("slow-only");
  await waitFor(async () => new URL(p.url()).searchParams.get("group") === "slow-only", "the group in the URL");
  s = await waitFor(async () => {
    const st = await mapState(p);
    return st.group === "slow-only" && st;
  }, "the group's map");
  assert.deepEqual(services(s), ["slow-svc"]);
  await shot(p, "service-map-group");
  // A reload keeps the group; Default brings every service back.
  await p.reload();
  s = await waitFor(async () => {
    const st = await mapState(p);
    return st.group === "slow-only" && st;
  }, "the group's map after a reload");
  assert.deepEqual(services(s), ["slow-svc"]);
  assert.equal(await pick.inputValue(), "slow-only");
  // A click on a service opens its traces in the group.
  const map = p.getByTestId("service-map");
  await waitFor(async () => (await map.getAttribute("data-label-overlaps")) !== "", "the map drawn");
  const at = JSON.parse(await map.getAttribute("data-positions")).find(([n]) => n === "slow-svc")[1];
  await map.click({ position: { x: at[0], y: at[1] } });
  await waitFor(async () => new URL(p.url()).pathname === "/xray", "the X-Ray traces page");
  assert.equal(new URL(p.url()).searchParams.get("filter"), 'service("slow-svc") AND group.name = "slow-only"');
  await waitFor(async () => (await p.getByTestId("xray-counts").getAttribute("data-matching")) === String(SLOW), "slow-svc's traces in the group");
  await p.goBack();
  await waitFor(async () => (await mapState(p)).group === "slow-only", "the group's map again");
  await pick.selectOption({ label: "Default" });
  s = await waitFor(async () => {
    const st = await mapState(p);
    return st.group === "" && st;
  }, "the default map again");
  assert.deepEqual(services(s), ["fast-svc", "slow-svc"]);
  assert.equal(new URL(p.url()).searchParams.get("group"), null);
  await p.close();
});

// Last: it adds more traces than the page reads.
test("analytics: past 2,000 matching traces the page reads the first 2,000 and says so", async (t) => {
  const n = 2050;
  const now = Date.now() / 1000;
  const docs = [];
  for (let i = 0; i < n; i++) {
    const start = now - 1200 + i * 0.5;
    docs.push(segment(newTraceHex(Math.floor(start)), "bulk-svc", start, 0.003, { http: { request: { method: "GET", url: "http://bulk.example/" }, response: { status: 200 } } }));
  }
  await putSegments(server, docs);
  const end = Math.ceil(Date.now() / 1000) + 1;
  await waitFor(async () => (await xrayAPI(server, "TraceSummaries", { StartTime: end - 3600, EndTime: end })).body.TracesProcessedCount === SLOW + FAST + n, "the bulk traces", 60_000);
  const p = await browser.page();
  const t0 = Date.now();
  await p.goto(server.uiURL + "/xray/analytics?" + new URLSearchParams({ filter: 'service("bulk-svc")' }));
  const countA = p.getByTestId("xa-count-a");
  await countA.waitFor({ timeout: 60_000 });
  // How long reading 20 pages of summaries and drawing them took (reported, not asserted).
  t.diagnostic(`2,000 traces read and drawn ${Date.now() - t0} ms after navigation`);
  assert.equal(await countA.getAttribute("data-capped"), "1");
  assert.equal(await countA.getAttribute("data-matching"), "2000");
  assert.match(await countA.innerText(), /the first 2,000 matching traces \(more match; capped at 2,000\)/);
  assert.equal(sumA(await bins(p, "rt-dist")), 2000);
  assert.deepEqual(await row(p, "service", "bulk-svc"), { "a-count": "2000", "a-share": "100.0", "b-count": null, "b-share": null, diff: null });
  await p.close();
});
