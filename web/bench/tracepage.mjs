// Measures the trace page with large traces: the real tracecomb binary
// (harness.mjs builds it), traces of 10,000 and 100,000 spans sent as
// OTLP/HTTP JSON, and Debian's Chromium through playwright-core. Prints, for
// each size, the time /api/traces/{id} takes, the time from navigation to
// the first frame with rows and the summary drawn (performance.now()), the
// time a search over every span takes to show its count, and the page's
// JavaScript heap. Run with `make bench-tracepage`; not part of make test.
import { startServer, launchBrowser, api, waitFor, randomHex } from "../tests/harness.mjs";

const sizes = (process.env.SIZES ?? "10000,100000").split(",").map(Number);
const services = ["checkout", "payments", "inventory", "search", "shipping"];

// sendTrace sends a trace of n spans: a root and a tree 200 wide at the top,
// every 97th span an error, each span with five attributes; in OTLP/HTTP JSON
// requests of 5,000 spans.
async function sendTrace(server, n) {
  const traceId = randomHex(32);
  const now = BigInt(Date.now() - 120_000) * 1_000_000n;
  const ids = Array.from({ length: n }, () => randomHex(16));
  const span = (i) => ({
    traceId,
    spanId: ids[i],
    parentSpanId: i === 0 ? "" : ids[i < 200 ? 0 : i % 200],
    name: i === 0 ? "batch job" : `step ${i}`,
    kind: 2,
    startTimeUnixNano: String(now + BigInt(i) * 2_000_000n),
    endTimeUnixNano: String(now + BigInt(i) * 2_000_000n + (i === 0 ? BigInt(n) * 2_000_000n + 100_000_000n : BigInt(1 + (i % 50)) * 1_000_000n)),
    status: { code: i % 97 === 0 && i > 0 ? 2 : 0 },
    attributes: [
      { key: "item.id", value: { intValue: String(i) } },
      { key: "cart.tier", value: { stringValue: i % 8 === 0 ? "gold" : "standard" } },
      { key: "http.route", value: { stringValue: "/api/step/" + (i % 37) } },
      { key: "db.rows", value: { intValue: String(i % 1000) } },
      { key: "region", value: { stringValue: "eu-" + (i % 3) } },
    ],
  });
  for (let from = 0; from < n; from += 5000) {
    const bySvc = new Map();
    for (let i = from; i < Math.min(n, from + 5000); i++) {
      const svc = services[i % services.length];
      if (!bySvc.has(svc)) bySvc.set(svc, []);
      bySvc.get(svc).push(span(i));
    }
    const body = {
      resourceSpans: [...bySvc].map(([svc, spans]) => ({
        resource: { attributes: [{ key: "service.name", value: { stringValue: svc } }] },
        scopeSpans: [{ scope: { name: "tracepage-bench" }, spans }],
      })),
    };
    for (;;) {
      const res = await fetch(`${server.apiURL}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "x-honeycomb-team": server.key }, body: JSON.stringify(body) });
      if (res.ok) break;
      if (res.status !== 429 && res.status !== 503) throw new Error(`OTLP ${res.status}: ${await res.text()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return traceId;
}

const server = await startServer();
const browser = await launchBrowser();
const rows = [];
try {
  for (const n of sizes) {
    const id = await sendTrace(server, n);
    await waitFor(async () => (await api(server, "GET", "/api/traces/" + id)).body?.events?.length === n, `trace of ${n} spans stored`, 300_000);
    const t0 = performance.now();
    const r = await api(server, "GET", "/api/traces/" + id);
    const apiMs = performance.now() - t0;
    if (r.body.events.length !== n) throw new Error("trace incomplete");
    const p = await browser.page();
    await p.goto(`${server.uiURL}/trace/${id}`);
    const ready = await p.waitForFunction(
      (n) => document.querySelectorAll("[data-testid=span-row]").length > 0 && document.querySelector("[data-testid=span-count]")?.textContent === `${n} spans` && performance.now(),
      n,
      { polling: "raf", timeout: 300_000 },
    );
    const readyMs = await ready.jsonValue();
    const s0 = Date.now();
    await p.getByTestId("trace-search").fill("gold");
    await p.getByTestId("search-count").getByText(/^1 of /).waitFor({ timeout: 120_000 });
    const searchMs = Date.now() - s0;
    const c0 = Date.now();
    await p.getByTestId("critical-toggle").click();
    await p.getByTestId("critical-count").waitFor({ timeout: 120_000 });
    const criticalMs = Date.now() - c0;
    const heap = await p.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
    const dom = await p.getByTestId("span-row").count();
    rows.push({ n, apiMs, readyMs, searchMs, criticalMs, heapMB: heap / 1e6, dom });
    await p.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
console.log("| spans | GET /api/traces/{id} | page ready (rows + summary drawn) | search over every span | critical path | JS heap | rows in the DOM |");
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows)
  console.log(`| ${r.n.toLocaleString("en")} | ${Math.round(r.apiMs)} ms | ${Math.round(r.readyMs)} ms | ${r.searchMs} ms | ${r.criticalMs} ms | ${r.heapMB.toFixed(0)} MB | ${r.dom} |`);
