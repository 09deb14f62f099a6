// Browser tests of the X-Ray views and of the joined trace view, against a
// tracecomb of their own: X-Ray segments go to its X-Ray daemon door, OTel
// spans (JS SDK) to its OTLP door.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { context as otelContext, trace, SpanKind, TraceFlags } from "@opentelemetry/api";
import { startServer, tracer, launchBrowser, api, waitFor, shot, newTraceHex, randomHex, xrayTraceId, putSegments, sendSegmentUDP, xrayAPI } from "./harness.mjs";

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const page = () => browser.page();

// A segment as an X-Ray SDK writes it; times in seconds.
function segment(traceHex, name, start, dur, extra = {}) {
  return { name, id: randomHex(16), trace_id: xrayTraceId(traceHex), start_time: start, end_time: start + dur, ...extra };
}

// The X-Ray traces page's counts are the API's, it pages past what it first
// loads, and it lists the newest trace first. This test runs first, on an
// empty server, so every trace in the window is one it sent.
test("X-Ray traces: 'N matching of M scanned' are the API's figures; Load more reaches every trace, newest first", async () => {
  const n = 620; // more than the 500 the page loads at first (5 pages of 100)
  const now = Date.now() / 1000;
  const docs = [];
  for (let i = 0; i < n; i++) {
    const start = now - 1800 + i * 2; // distinct start times, one every 2 s
    const hex = newTraceHex(Math.floor(start));
    const status = i % 50 === 7 ? 500 : i % 10 === 3 ? 404 : 200;
    docs.push(
      segment(hex, "checkout-api", start, 0.01 + (i % 40) / 1000, {
        http: { request: { method: i % 3 ? "GET" : "POST", url: `http://checkout.example/api/orders/${i % 17}` }, response: { status } },
        ...(status >= 500 ? { fault: true } : status >= 400 ? { error: true } : {}),
      }),
    );
  }
  await putSegments(server, docs);
  // The API's own figures, read on the daemon door: every page repeats the
  // whole query's TracesProcessedCount.
  const end = Math.ceil(Date.now() / 1000) + 1;
  const api1 = await waitFor(async () => {
    const r = await xrayAPI(server, "TraceSummaries", { StartTime: end - 3600, EndTime: end });
    return r.body.TracesProcessedCount === n && r.body;
  }, "the X-Ray API to see every trace", 60_000);
  assert.equal(api1.TraceSummaries.length, 100);
  const api2 = (await xrayAPI(server, "TraceSummaries", { StartTime: end - 3600, EndTime: end, NextToken: api1.NextToken })).body;
  assert.equal(api2.TracesProcessedCount, n, "every page repeats the query's total");

  const want = docs
    .slice()
    .sort((a, b) => b.start_time - a.start_time)
    .map((d) => d.trace_id);
  const p = await page();
  await p.goto(server.uiURL + "/xray");
  const counts = p.getByTestId("xray-counts");
  await counts.waitFor();
  // The first load: 500 rows, more to come, and the API's scanned count
  // (a sum over the 5 pages read would say 3100).
  assert.equal(await counts.getAttribute("data-scanned"), String(n));
  assert.equal(await counts.getAttribute("data-matching"), "500");
  assert.equal(await counts.getAttribute("data-more"), "1");
  assert.match(await counts.innerText(), new RegExp(`^first 500 matching \\(more match\\) of ${n} traces scanned$`));
  const rows = p.getByTestId("trace-summaries").locator("tbody tr");
  assert.equal(await rows.count(), 500);
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.traceId)), want.slice(0, 500), "newest first");
  await shot(p, "xray-traces");
  // Load more follows NextToken to the end.
  await p.getByRole("button", { name: "Load more" }).click();
  await waitFor(async () => (await counts.getAttribute("data-matching")) === String(n), "every trace to be loaded");
  assert.equal(await counts.getAttribute("data-more"), "0");
  assert.equal(await counts.innerText(), `${n} matching of ${n} traces scanned`);
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.traceId)), want, "every trace, newest first");
  assert.equal(await p.getByRole("button", { name: "Load more" }).count(), 0);
  // A filter: the matching count drops, the scanned count is the API's.
  await p.locator("textarea[name=filter]").fill("fault = true");
  await p.getByRole("button", { name: "Search traces" }).click();
  const faults = docs.filter((d) => d.fault).length;
  await waitFor(async () => (await counts.getAttribute("data-matching")) === String(faults), "the filtered search");
  const filtered = (await xrayAPI(server, "TraceSummaries", { StartTime: end - 3600, EndTime: Math.ceil(Date.now() / 1000) + 1, FilterExpression: "fault = true" })).body;
  assert.equal(await counts.getAttribute("data-scanned"), String(filtered.TracesProcessedCount));
  assert.equal(await counts.innerText(), `${faults} matching of ${filtered.TracesProcessedCount} traces scanned`);
  await p.close();
});

// One request traced by both SDKs with a shared trace id: an OTel span
// (JS SDK, to Honeycomb's door) and an X-Ray segment (daemon UDP) under it.
test("joined view: a trace with spans from both SDKs shows both, each marked, with the joined-view note", async () => {
  const hex = newTraceHex();
  const otel = tracer(server, "storefront");
  const parent = trace.setSpanContext(otelContext.active(), { traceId: hex, spanId: randomHex(16), traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const now = Date.now();
  const span = otel.tracer.startSpan("GET /cart", { kind: SpanKind.SERVER, startTime: new Date(now - 2000) }, parent);
  const spanId = span.spanContext().spanId;
  assert.equal(span.spanContext().traceId, hex);
  span.end(new Date(now - 1000));
  await otel.flush();
  await otel.shutdown();
  const seg = segment(hex, "cart-service", (now - 1900) / 1000, 0.5, {
    parent_id: spanId,
    http: { request: { method: "GET", url: "http://cart.internal/cart" }, response: { status: 200 } },
  });
  await sendSegmentUDP(server, seg);
  const got = await waitFor(async () => {
    const r = await api(server, "GET", "/api/traces/" + hex);
    return r.body?.events?.length >= 2 && r.body;
  }, "both spans of the trace to be stored");
  assert.deepEqual([...(got.doors ?? [])].sort(), ["honeycomb", "xray"], "the response lists both doors");

  const p = await page();
  await p.goto(`${server.uiURL}/trace/${hex}`);
  await p.getByTestId("span-count").getByText("2 spans").waitFor();
  const note = p.getByTestId("joined-note");
  await note.waitFor();
  assert.match(await note.innerText(), /spans from Honeycomb and X-Ray joined by trace id — each service alone shows only its own/);
  const rows = p.getByTestId("span-row");
  const otelRow = rows.filter({ hasText: "GET /cart" });
  const xrayRow = rows.filter({ hasText: "cart-service" });
  assert.equal(await otelRow.getAttribute("data-source"), "otlp");
  assert.equal(await otelRow.getAttribute("data-door"), "honeycomb");
  assert.equal(await otelRow.getByTestId("source-badge").innerText(), "OTel");
  assert.equal(await xrayRow.getAttribute("data-source"), "xray");
  assert.equal(await xrayRow.getAttribute("data-door"), "xray");
  assert.equal(await xrayRow.getByTestId("source-badge").innerText(), "X-Ray");
  // The segment sits under the OTel span it names as parent.
  assert.deepEqual(await rows.locator(".span-name").allInnerTexts(), ["GET /cart", "cart-service"]);
  await xrayRow.click();
  await p.getByTestId("span-detail").getByText(/sent to X-Ray by an X-Ray SDK/).waitFor();
  await shot(p, "trace-joined");
  await p.close();
});

// sendShopTrace sends, as X-Ray segments, a request that a browser makes to
// web-frontend, which calls orders-api and payments; orders-api calls
// DynamoDB and a SQL database.
async function sendShopTrace(i, fault) {
  const hex = newTraceHex();
  const t = Date.now() / 1000 - 30 + i;
  const callOrders = { id: randomHex(16), name: "orders-api", namespace: "remote", start_time: t + 0.01, end_time: t + 0.09, http: { request: { method: "POST", url: "http://orders-api/orders" }, response: { status: fault ? 500 : 200 } }, ...(fault ? { fault: true } : {}) };
  const callPayments = { id: randomHex(16), name: "payments", namespace: "remote", start_time: t + 0.1, end_time: t + 0.14, http: { request: { method: "POST", url: "http://payments/charge" }, response: { status: 200 } } };
  const front = segment(hex, "web-frontend", t, 0.16, {
    http: { request: { method: "POST", url: "http://shop.example/checkout" }, response: { status: fault ? 500 : 200 } },
    ...(fault ? { fault: true } : {}),
    subsegments: [callOrders, callPayments],
  });
  const orders = segment(hex, "orders-api", t + 0.015, 0.07, {
    parent_id: callOrders.id,
    http: { request: { method: "POST", url: "http://orders-api/orders" }, response: { status: fault ? 500 : 200 } },
    ...(fault ? { fault: true } : {}),
    subsegments: [
      { id: randomHex(16), name: "DynamoDB", namespace: "aws", start_time: t + 0.02, end_time: t + 0.03, aws: { operation: "PutItem", table_name: "orders" } },
      { id: randomHex(16), name: "orders@db.internal", namespace: "remote", start_time: t + 0.035, end_time: t + 0.06, sql: { url: "postgresql://db.internal/orders", database_type: "PostgreSQL" } },
    ],
  });
  const payments = segment(hex, "payments", t + 0.105, 0.03, {
    parent_id: callPayments.id,
    http: { request: { method: "POST", url: "http://payments/charge" }, response: { status: 200 } },
  });
  await putSegments(server, [front, orders, payments]);
}

async function mapState(p) {
  const map = p.getByTestId("service-map");
  await waitFor(async () => (await map.getAttribute("data-loaded")) === "1" && (await map.getAttribute("data-label-overlaps")) !== "", "the service map");
  return {
    doors: await map.getAttribute("data-doors"),
    nodes: JSON.parse(await map.getAttribute("data-nodes")),
    types: JSON.parse(await map.getAttribute("data-types")),
    edges: JSON.parse(await map.getAttribute("data-edges")),
    overlaps: Number(await map.getAttribute("data-label-overlaps")),
  };
}

const hasEdge = (s, a, b) => s.edges.some(([x, y]) => x === a && y === b);

test("service map: X-Ray's graph by default (client node as the console labels it, labels clear of nodes); OpenTelemetry with the data picker", async () => {
  for (let i = 0; i < 6; i++) await sendShopTrace(i, i === 4);
  // OTel spans across two services, sent to Honeycomb's door.
  const fe = tracer(server, "otel-frontend");
  const be = tracer(server, "otel-backend");
  const root = fe.tracer.startSpan("GET /home", { kind: SpanKind.SERVER });
  const client = fe.tracer.startSpan("GET otel-backend", { kind: SpanKind.CLIENT }, trace.setSpan(otelContext.active(), root));
  const srv = be.tracer.startSpan("GET /api/home", { kind: SpanKind.SERVER }, trace.setSpan(otelContext.active(), client));
  srv.end();
  client.end();
  root.end();
  await Promise.all([fe.flush(), be.flush()]);
  await Promise.all([fe.shutdown(), be.shutdown()]);
  const otelTrace = root.spanContext().traceId;
  await waitFor(async () => (await api(server, "GET", "/api/traces/" + otelTrace)).body?.events?.length >= 3, "the OTel trace to be stored");

  const p = await page();
  await p.goto(server.uiURL + "/map");
  // X-Ray's own view: the segments' services, the client node in front of
  // the root segment's service, and none of the OTel services.
  let s = await waitFor(async () => {
    const st = await mapState(p);
    return hasEdge(st, "orders-api", "orders") && st;
  }, "the X-Ray service graph");
  assert.equal(s.doors, "xray");
  for (const n of ["Clients", "web-frontend", "orders-api", "payments", "orders"]) assert.ok(s.nodes.includes(n), `node ${n} in ${s.nodes}`);
  // The DynamoDB table is named as X-Ray names it, by the table.
  assert.equal(s.types[s.nodes.indexOf("orders")], "AWS::DynamoDB::Table");
  assert.equal(s.types[s.nodes.indexOf("Clients")], "client");
  assert.ok(hasEdge(s, "Clients", "web-frontend"), JSON.stringify(s.edges));
  assert.ok(hasEdge(s, "web-frontend", "orders-api") && hasEdge(s, "web-frontend", "payments"), JSON.stringify(s.edges));
  assert.ok(!s.nodes.includes("otel-frontend") && !s.nodes.includes("otel-backend"), `OTel services in X-Ray's view: ${s.nodes}`);
  assert.equal(s.overlaps, 0, "edge labels overlapping nodes");
  await shot(p, "service-map");
  // A click on a service opens its X-Ray traces.
  const map = p.getByTestId("service-map");
  const at = JSON.parse(await map.getAttribute("data-positions")).find(([n]) => n === "orders-api")[1];
  await map.click({ position: { x: at[0], y: at[1] } });
  await waitFor(async () => new URL(p.url()).pathname === "/xray", "the X-Ray traces page");
  assert.equal(new URL(p.url()).searchParams.get("filter"), 'service("orders-api")');
  const counts = p.getByTestId("xray-counts");
  await waitFor(async () => (await counts.getAttribute("data-matching")) === "6", "orders-api's 6 traces");
  await p.goto(server.uiURL + "/map");
  await mapState(p);

  // tracecomb's own view over the OpenTelemetry data.
  await p.getByRole("radio", { name: "OpenTelemetry (tracecomb)" }).check();
  await waitFor(async () => new URL(p.url()).searchParams.get("doors") === "honeycomb", "the choice in the URL");
  s = await waitFor(async () => {
    const st = await mapState(p);
    return st.doors === "honeycomb" && hasEdge(st, "otel-frontend", "otel-backend") && st;
  }, "the OpenTelemetry service graph");
  assert.ok(!s.nodes.includes("web-frontend") && !s.nodes.includes("orders-api"), `X-Ray services in the OpenTelemetry view: ${s.nodes}`);
  assert.equal(s.overlaps, 0);
  // Both, joined; and the choice survives a reload.
  await p.getByRole("radio", { name: "both (tracecomb)" }).check();
  await p.reload();
  s = await waitFor(async () => {
    const st = await mapState(p);
    return st.doors === "honeycomb,xray" && hasEdge(st, "otel-frontend", "otel-backend") && hasEdge(st, "web-frontend", "orders-api") && st;
  }, "the joined service graph");
  assert.ok(await p.getByRole("radio", { name: "both (tracecomb)" }).isChecked());
  await p.close();
});

test("X-Ray traces: the data picker shows X-Ray's traces by default and OpenTelemetry's on request", async () => {
  const p = await page();
  await p.goto(server.uiURL + "/xray?" + new URLSearchParams({ filter: 'service("otel-backend")' }));
  const counts = p.getByTestId("xray-counts");
  await counts.waitFor();
  assert.equal(await counts.getAttribute("data-matching"), "0", "OTel spans are not X-Ray traces by default");
  await p.getByRole("radio", { name: "OpenTelemetry (tracecomb)" }).check();
  await waitFor(async () => (await counts.getAttribute("data-matching")) === "1", "the OTel trace in tracecomb's view");
  assert.equal(new URL(p.url()).searchParams.get("doors"), "honeycomb");
  await p.close();
});
