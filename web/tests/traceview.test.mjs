// Browser tests of the trace view's search, error steps, span links, field
// filter and summary, and of the traces list, against the real tracecomb
// binary with spans sent by the OTel JS SDK.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { context as otelContext, trace, SpanStatusCode } from "@opentelemetry/api";
import { startServer, tracer, launchBrowser, api, waitFor, shot } from "./harness.mjs";

let server, browser;
let shop; // { id, spans: Map name -> span id, errors: [span id in tree order] }

// sendShopTrace sends frontend "GET /cart" with 25 backend children
// "fetch item i" (cart.tier "gold" on every 8th), each with a db child
// "SELECT price"; items 3, 11 and 19 fail, and item 7's query does.
// 51 spans, 4 errors; in tree order the errors are item 3, item 7's query,
// item 11, item 19.
async function sendShopTrace() {
  const fe = tracer(server, "frontend");
  const be = tracer(server, "backend");
  const db = tracer(server, "db");
  const now = Date.now() - 10_000;
  const t = (ms) => new Date(now + ms);
  const ids = new Map();
  const root = fe.tracer.startSpan("GET /cart", { startTime: t(0), attributes: { "http.route": "/cart" } });
  ids.set("root", root.spanContext().spanId);
  const rootCtx = trace.setSpan(otelContext.active(), root);
  for (let i = 0; i < 25; i++) {
    const item = be.tracer.startSpan(`fetch item ${i}`, { startTime: t(10 + i * 10), attributes: { "item.id": i, "cart.tier": i % 8 === 0 ? "gold" : "standard" } }, rootCtx);
    const q = db.tracer.startSpan("SELECT price", { startTime: t(11 + i * 10), attributes: { "db.system": "postgresql" } }, trace.setSpan(otelContext.active(), item));
    if (i === 7) q.setStatus({ code: SpanStatusCode.ERROR, message: "lock timeout" });
    q.end(t(15 + i * 10));
    if (i === 3 || i === 11 || i === 19) item.setStatus({ code: SpanStatusCode.ERROR, message: "out of stock" });
    item.end(t(18 + i * 10));
    ids.set(`item ${i}`, item.spanContext().spanId);
    ids.set(`query ${i}`, q.spanContext().spanId);
  }
  root.end(t(300));
  for (const s of [fe, be, db]) await s.flush();
  await Promise.all([fe, be, db].map((s) => s.shutdown()));
  const id = root.spanContext().traceId;
  return { id, ids, errors: [ids.get("item 3"), ids.get("query 7"), ids.get("item 11"), ids.get("item 19")], start: now };
}

// sendSmallTrace sends a root of service svc lasting durMs with n-1
// children, the first errors of them failing, every span with the sample
// rate given.
async function sendSmallTrace(svc, name, n, errors, durMs, sampleRate = 1) {
  const tr = tracer(server, svc);
  const now = Date.now() - 20_000;
  const attributes = { SampleRate: sampleRate };
  const root = tr.tracer.startSpan(name, { startTime: new Date(now), attributes });
  const ctx = trace.setSpan(otelContext.active(), root);
  for (let i = 1; i < n; i++) {
    const s = tr.tracer.startSpan(`child ${i}`, { startTime: new Date(now + i), attributes }, ctx);
    if (i <= errors) s.setStatus({ code: SpanStatusCode.ERROR });
    s.end(new Date(now + i + 1));
  }
  root.end(new Date(now + durMs));
  await tr.flush();
  await tr.shutdown();
  return { id: root.spanContext().traceId, svc, name, n, errors, durMs, start: now };
}

async function stored(id, n, timeout = 30_000) {
  await waitFor(async () => (await api(server, "GET", "/api/traces/" + id)).body?.events?.length === n, `trace ${id} to be stored`, timeout);
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  shop = await sendShopTrace();
  await stored(shop.id, 51);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const page = () => browser.page();

// inView tells whether the row of span id is drawn wholly inside the
// waterfall's visible area.
async function inView(p, id) {
  return p.evaluate((id) => {
    const row = document.querySelector(`[data-testid=span-row][data-span-id="${id}"]`);
    const box = document.querySelector("[data-testid=waterfall]");
    if (!row || !box) return false;
    const r = row.getBoundingClientRect(),
      b = box.getBoundingClientRect();
    return r.top >= b.top && r.bottom <= b.bottom;
  }, id);
}

const selectedId = (p) => p.locator("[data-testid=span-row].selected").getAttribute("data-span-id");

test("the summary line names the root, duration, spans, services and errors", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${shop.id}`);
  const sum = p.getByTestId("trace-summary");
  await sum.getByTestId("span-count").getByText("51 spans").waitFor();
  assert.equal(await sum.getByTestId("root-service").innerText(), "frontend");
  assert.equal(await sum.getByTestId("root-name").innerText(), "GET /cart");
  assert.equal(await sum.getByTestId("trace-duration").innerText(), "300ms");
  assert.equal(await sum.getByTestId("service-count").innerText(), "3 services");
  assert.equal(await sum.getByTestId("error-count").innerText(), "4 errors");
  await p.close();
});

test("search highlights the matching spans, counts them and steps through them", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${shop.id}`);
  await p.getByTestId("span-count").getByText("51 spans").waitFor();
  const box = p.getByTestId("trace-search");
  const count = p.getByTestId("search-count");

  // field = value: the gold items, 0, 8, 16 and 24.
  const gold = [0, 8, 16, 24].map((i) => shop.ids.get(`item ${i}`));
  await box.fill("cart.tier = gold");
  await count.getByText("1 of 4", { exact: true }).waitFor();
  const marks = await p.getByTestId("span-row").evaluateAll((els) => els.map((e) => [e.dataset.spanId, e.classList.contains("match"), e.classList.contains("dimmed")]));
  assert.ok(marks.length > 20, `${marks.length} rows drawn`);
  for (const [id, match, dimmed] of marks) {
    assert.equal(match, gold.includes(id), `row ${id} highlighted`);
    assert.equal(dimmed, !gold.includes(id), `row ${id} dimmed`);
  }
  assert.equal(await p.locator("[data-testid=span-row].current").getAttribute("data-span-id"), gold[0]);
  // Enter steps to the next match, selects it and scrolls it into view;
  // Shift+Enter and the buttons go back and forth, round at the ends.
  for (const [k, want] of [[1, "2 of 4"], [2, "3 of 4"], [3, "4 of 4"]]) {
    await box.press("Enter");
    await count.getByText(want, { exact: true }).waitFor();
    await waitFor(async () => (await selectedId(p)) === gold[k] && inView(p, gold[k]), `match ${want} selected and in view`);
  }
  await p.getByRole("button", { name: "Next match" }).click();
  await count.getByText("1 of 4", { exact: true }).waitFor();
  await waitFor(async () => (await selectedId(p)) === gold[0] && inView(p, gold[0]), "back to the first match");
  await box.press("Shift+Enter");
  await count.getByText("4 of 4", { exact: true }).waitFor();
  await waitFor(async () => (await selectedId(p)) === gold[3] && inView(p, gold[3]), "round to the last match");

  // Plain text matches names, services and field values.
  await box.fill("price");
  await count.getByText("1 of 25", { exact: true }).waitFor();
  await box.fill("postgresql");
  await count.getByText("1 of 25", { exact: true }).waitFor();
  await box.fill("frontend");
  await count.getByText("1 of 1", { exact: true }).waitFor();
  await box.fill("out of stock");
  await count.getByText("1 of 3", { exact: true }).waitFor();
  await shot(p, "trace-search");
  await box.fill("no span says this");
  await count.getByText("no matches", { exact: true }).waitFor();
  assert.equal(await p.locator("[data-testid=span-row].match").count(), 0);
  // A match under a collapsed span is shown: its parents open.
  await box.fill("");
  await p.getByRole("button", { name: "Collapse all" }).click();
  await waitFor(async () => (await p.getByTestId("span-row").count()) === 26, "the items' queries hidden");
  await box.fill("lock timeout");
  await count.getByText("1 of 1", { exact: true }).waitFor();
  await waitFor(() => inView(p, shop.ids.get("query 7")), "item 7's query shown");
  assert.equal(await p.getByTestId("span-row").count(), 27);
  // Clearing the search shows every row plainly again.
  await box.fill("");
  await waitFor(async () => (await p.locator("[data-testid=span-row].dimmed").count()) === 0, "no dimmed rows");
  assert.equal(await count.innerText(), "");
  await p.close();
});

test("next / previous error select each error span in tree order, scroll it into view and go round", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${shop.id}`);
  await p.getByTestId("span-count").getByText("51 spans").waitFor();
  const pos = p.getByTestId("error-pos");
  assert.equal(await pos.innerText(), "4 errors");
  const expectError = async (k) => {
    await pos.getByText(`error ${k + 1} of 4`, { exact: true }).waitFor();
    await waitFor(async () => (await selectedId(p)) === shop.errors[k] && inView(p, shop.errors[k]), `error ${k + 1} selected and in view`);
    assert.equal(new URL(p.url()).searchParams.get("span"), shop.errors[k], "the address names the selected span");
  };
  await p.getByRole("button", { name: "Next error" }).click();
  await expectError(0);
  // The keyboard: e for the next error, Shift+E for the previous.
  for (const k of [1, 2, 3]) {
    await p.keyboard.press("e");
    await expectError(k);
  }
  const detail = p.getByTestId("span-detail");
  await detail.locator("h3", { hasText: "fetch item 19" }).waitFor();
  await p.keyboard.press("e");
  await expectError(0);
  await p.keyboard.press("Shift+E");
  await expectError(3);
  await p.getByRole("button", { name: "Previous error" }).click();
  await expectError(2);
  await shot(p, "trace-errors");
  // Typing e in the search box searches; it does not step.
  await p.getByTestId("trace-search").press("e");
  await p.getByTestId("search-count").getByText(/of/).waitFor();
  assert.equal(await pos.innerText(), "error 3 of 4");
  await p.close();
});

test("?span= selects and scrolls to the span on load; selecting a span puts it in the address", async () => {
  const p = await page();
  const target = shop.ids.get("query 22");
  await p.goto(`${server.uiURL}/trace/${shop.id}?span=${target}`);
  await p.getByTestId("span-count").getByText("51 spans").waitFor();
  await waitFor(async () => (await selectedId(p)) === target && inView(p, target), "the linked span selected and in view");
  const detail = p.getByTestId("span-detail");
  await detail.locator("h3", { hasText: "SELECT price" }).waitFor();
  assert.match(await detail.innerText(), /db ·/);
  // A click selects another span and the address follows.
  const item0 = shop.ids.get("item 0");
  await p.getByTestId("waterfall").evaluate((el) => (el.scrollTop = 0));
  await p.locator(`[data-testid=span-row][data-span-id="${item0}"]`).click();
  await waitFor(async () => new URL(p.url()).searchParams.get("span") === item0, "the address naming the clicked span");
  // That address opens on the span.
  const p2 = await page();
  await p2.goto(p.url());
  await waitFor(async () => (await selectedId(p2)) === item0, "the span of the copied address selected");
  await p2.getByTestId("span-detail").locator("h3", { hasText: "fetch item 0" }).waitFor();
  await p.close();
  await p2.close();
});

test("the selected span's fields can be filtered by name or value", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${shop.id}?span=${shop.ids.get("item 8")}`);
  const detail = p.getByTestId("span-detail");
  await detail.locator("h3", { hasText: "fetch item 8" }).waitFor();
  const fields = detail.getByTestId("span-fields");
  const all = await fields.locator("tr").count();
  assert.ok(all > 8, `${all} fields`);
  assert.equal(await detail.getByTestId("field-count").innerText(), String(all));
  const filter = detail.getByTestId("field-filter");
  await filter.fill("item.");
  await detail.getByTestId("field-count").getByText(`1 of ${all}`).waitFor();
  assert.deepEqual(await fields.locator("th").allInnerTexts(), ["item.id"]);
  // A value matches too: "gold" is cart.tier's.
  await filter.fill("GOLD");
  await detail.getByTestId("field-count").getByText(`1 of ${all}`).waitFor();
  assert.deepEqual(await fields.locator("th").allInnerTexts(), ["cart.tier"]);
  await filter.fill("");
  await detail.getByTestId("field-count").getByText(String(all), { exact: true }).waitFor();
  await p.close();
});

test("a 10,000-span trace: ready time, search and error steps over every span", async () => {
  const n = 10_000;
  const svc = ["checkout", "payments", "inventory", "search"].map((s) => tracer(server, s));
  const now = Date.now() - 60_000;
  const root = svc[0].tracer.startSpan("batch job", { startTime: new Date(now) });
  const parents = [trace.setSpan(otelContext.active(), root)];
  let errors = 0;
  let lastError = "";
  for (let i = 1; i < n; i++) {
    const parent = parents[i % parents.length];
    const s = svc[i % svc.length].tracer.startSpan(`step ${i}`, { startTime: new Date(now + i * 2) }, parent);
    if (i % 97 === 0) {
      s.setStatus({ code: SpanStatusCode.ERROR });
      errors++;
    }
    s.end(new Date(now + i * 2 + 1 + (i % 50)));
    if (parents.length < 200) parents.push(trace.setSpan(otelContext.active(), s));
  }
  root.end(new Date(now + n * 2 + 100));
  for (const s of svc) await s.flush();
  await Promise.all(svc.map((s) => s.shutdown()));
  const id = root.spanContext().traceId;
  await stored(id, n, 90_000);

  const p = await page();
  await p.goto(`${server.uiURL}/trace/${id}`);
  // performance.now() counts from the navigation's start; this is its value
  // in the first frame where the rows and the summary are drawn.
  const ready = await p.waitForFunction(
    (n) => document.querySelectorAll("[data-testid=span-row]").length > 0 && document.querySelector("[data-testid=span-count]")?.textContent === `${n} spans` && performance.now(),
    n,
    { polling: "raf", timeout: 60_000 },
  );
  const readyMs = Math.round(await ready.jsonValue());
  const drawn = await p.getByTestId("span-row").count();
  assert.ok(drawn > 10 && drawn < 200, `${drawn} rows drawn of ${n}`);
  assert.equal(await p.getByTestId("error-count").innerText(), `${errors} errors`);

  // "step 99" is in the names of step 99, 990–999 and 9900–9999.
  const t0 = Date.now();
  await p.getByTestId("trace-search").fill("step 99");
  await p.getByTestId("search-count").getByText("1 of 111", { exact: true }).waitFor();
  const searchMs = Date.now() - t0;
  assert.ok((await p.getByTestId("span-row").count()) < 200, "still a window of rows");
  await p.getByTestId("trace-search").press("Enter");
  await p.getByTestId("search-count").getByText("2 of 111", { exact: true }).waitFor();
  const second = await selectedId(p);
  await waitFor(() => inView(p, second), "the second match in view");
  await p.getByTestId("trace-search").fill("");

  // From the root, the previous error is the last one.
  await p.getByTestId("waterfall").evaluate((el) => (el.scrollTop = 0));
  await p.locator(`[data-testid=span-row][data-span-id="${root.spanContext().spanId}"]`).click();
  await waitFor(async () => (await selectedId(p)) === root.spanContext().spanId, "the root selected");
  await p.getByRole("button", { name: "Previous error" }).click();
  await p.getByTestId("error-pos").getByText(`error ${errors} of ${errors}`, { exact: true }).waitFor();
  lastError = await selectedId(p);
  await waitFor(() => inView(p, lastError), "the last error in view");
  const detail = p.getByTestId("span-detail");
  const title = (await detail.locator("h3").innerText()).trim();
  assert.match(title, /^step \d+$/);
  const stepNo = Number(title.split(" ")[1]);
  assert.equal(stepNo % 97, 0, `step ${stepNo} is an error span`);
  // The minimap holds every row; a click near its bottom scrolls the
  // waterfall to its last rows (within the minimap's resolution: 10,000
  // rows in 56 px is ~180 rows a pixel).
  assert.equal(await p.getByTestId("minimap").getAttribute("data-rows"), String(n));
  const mm = await p.getByTestId("minimap").boundingBox();
  await p.mouse.click(mm.x + mm.width / 2, mm.y + mm.height - 1);
  await waitFor(async () => (await p.getByTestId("waterfall").evaluate((el) => el.scrollTop >= el.scrollHeight * 0.95 - el.clientHeight)), "the waterfall scrolled to its last rows");
  const frameTop = await p.getByTestId("minimap-frame").evaluate((el) => el.offsetTop);
  assert.ok(frameTop > mm.height / 2, `the minimap's frame at ${frameTop}px of ${mm.height}`);
  console.log(`# 10k-span trace: rows drawn ${readyMs} ms after navigation (performance.now()), search over ${n} spans shown in ${searchMs} ms, ${drawn} rows in the DOM`);
  await p.close();
});

test("the traces list shows each trace's root, duration, span and error counts, sorts by each column and opens a trace", async () => {
  const sent = [
    await sendSmallTrace("list-a", "GET /a", 3, 1, 300),
    // Sampled 1 in 10: still 6 spans, not the 60 events they stand for.
    await sendSmallTrace("list-b", "GET /b", 6, 0, 100, 10),
    await sendSmallTrace("list-c", "POST /c", 4, 2, 200),
  ];
  for (const s of sent) await stored(s.id, s.n);
  const p = await page();
  await p.goto(`${server.uiURL}/traces`);
  const list = p.getByTestId("traces-list");
  const row = (id) => list.locator(`tr[data-trace-id="${id}"]`);
  const cell = (id, col) => row(id).locator(`td[data-col=${col}]`);
  for (const s of [...sent, { id: shop.id, svc: "frontend", name: "GET /cart", n: 51, errors: 4, durMs: 300, start: shop.start }]) {
    await waitFor(async () => (await cell(s.id, "spans").innerText()) === String(s.n), `${s.name}'s span count`);
    assert.equal(await cell(s.id, "errors").innerText(), String(s.errors), `${s.name}'s errors`);
    assert.equal(await cell(s.id, "service").innerText(), s.svc);
    assert.equal(await cell(s.id, "name").innerText(), s.name);
    assert.equal(Number(await cell(s.id, "duration").getAttribute("data-value")), s.durMs);
    // The time is the start of the query's bucket the root started in: 3 s wide for the last hour.
    const shown = Date.parse((await cell(s.id, "time").innerText()).replace(" ", "T") + "Z");
    assert.ok(shown <= s.start && s.start - shown < 3000, `${s.name}: time ${new Date(shown).toISOString()} for a root at ${new Date(s.start).toISOString()}`);
  }
  await shot(p, "traces");

  const column = async (col) => list.locator(`tbody td[data-col=${col}]`).evaluateAll((els, col) => els.map((e) => (col === "duration" ? Number(e.dataset.value) : e.textContent)), col);
  const header = (col) => list.locator(`th[data-col=${col}]`);
  // Slowest first by default; a click on Duration reverses it, another restores it.
  assert.equal(await header("duration").getAttribute("aria-sort"), "descending");
  const desc = await column("duration");
  assert.ok(desc.length >= 4, `${desc.length} traces listed`);
  assert.deepEqual(desc, [...desc].sort((a, b) => b - a));
  await header("duration").getByRole("button").click();
  await waitFor(async () => (await header("duration").getAttribute("aria-sort")) === "ascending", "ascending duration");
  const asc = await column("duration");
  assert.deepEqual(asc, [...desc].sort((a, b) => a - b));
  assert.equal(new URL(p.url()).searchParams.get("dir"), "asc");
  await header("duration").getByRole("button").click();
  await waitFor(async () => JSON.stringify(await column("duration")) === JSON.stringify(desc), "descending duration again");
  // Span counts, largest first; root services A→Z.
  await header("spans").getByRole("button").click();
  await waitFor(async () => (await header("spans").getAttribute("aria-sort")) === "descending", "spans sorted");
  const spans = (await column("spans")).map(Number);
  assert.deepEqual(spans, [...spans].sort((a, b) => b - a));
  await header("service").getByRole("button").click();
  await waitFor(async () => (await header("service").getAttribute("aria-sort")) === "ascending", "services sorted");
  const services = await column("service");
  assert.deepEqual(services, [...services].sort((a, b) => a.localeCompare(b)));

  // A click on a row opens its trace.
  await cell(sent[2].id, "name").click();
  await p.getByTestId("span-count").getByText("4 spans").waitFor();
  assert.equal(new URL(p.url()).pathname, `/trace/${sent[2].id}`);
  assert.equal(await p.getByTestId("error-count").innerText(), "2 errors");
  await p.close();
});

test("the critical path marks the spans the trace's end waited for and dims the rest", async () => {
  const tr = tracer(server, "crit");
  const now = Date.now() - 30_000;
  const at = (ms) => new Date(now + ms);
  const root = tr.tracer.startSpan("root", { startTime: at(0) });
  const rc = trace.setSpan(otelContext.active(), root);
  const a = tr.tracer.startSpan("a", { startTime: at(0) }, rc);
  const a1 = tr.tracer.startSpan("a1", { startTime: at(10) }, trace.setSpan(otelContext.active(), a));
  a1.end(at(80));
  a.end(at(90));
  const b = tr.tracer.startSpan("b", { startTime: at(5) }, rc);
  b.end(at(30));
  const c = tr.tracer.startSpan("c", { startTime: at(92) }, rc);
  c.end(at(99));
  root.end(at(100));
  await tr.flush();
  await tr.shutdown();
  const id = root.spanContext().traceId;
  await stored(id, 5);
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${id}`);
  await p.getByTestId("span-count").getByText("5 spans").waitFor();
  assert.equal(await p.locator("[data-testid=span-row][data-critical]").count(), 0, "nothing marked before it is asked for");
  await p.getByTestId("critical-toggle").click();
  await p.getByTestId("critical-count").getByText("4 spans on the critical path").waitFor();
  const on = await p.locator("[data-testid=span-row][data-critical]").evaluateAll((els) => els.map((e) => e.querySelector(".span-name").textContent).sort());
  assert.deepEqual(on, ["a", "a1", "c", "root"]);
  const bRow = p.locator(`[data-testid=span-row][data-span-id="${b.spanContext().spanId}"]`);
  assert.match(await bRow.getAttribute("class"), /dimmed/);
  await shot(p, "trace-critical-path");
  await p.getByTestId("critical-toggle").click();
  await waitFor(async () => (await p.locator("[data-testid=span-row][data-critical]").count()) === 0, "the marks gone");
  await p.close();
});

test("span links open the linked span, in another trace or in this one", async () => {
  const tr = tracer(server, "consumer");
  const now = Date.now() - 25_000;
  const target = shop.ids.get("item 7");
  const root = tr.tracer.startSpan("process batch", {
    startTime: new Date(now),
    links: [{ context: { traceId: shop.id, spanId: target, traceFlags: 1 }, attributes: { "messaging.operation": "receive" } }],
  });
  const rc = trace.setSpan(otelContext.active(), root);
  const first = tr.tracer.startSpan("first", { startTime: new Date(now + 1) }, rc);
  first.end(new Date(now + 5));
  const second = tr.tracer.startSpan("second", { startTime: new Date(now + 6), links: [{ context: first.spanContext() }] }, rc);
  second.end(new Date(now + 9));
  root.end(new Date(now + 10));
  await tr.flush();
  await tr.shutdown();
  const id = root.spanContext().traceId;
  await stored(id, 5); // 3 spans and 2 link events

  const p = await page();
  // In this trace: second links to first; first shows it is linked from second.
  await p.goto(`${server.uiURL}/trace/${id}?span=${second.spanContext().spanId}`);
  const detail = p.getByTestId("span-detail");
  await detail.locator("h3", { hasText: "second" }).waitFor();
  await detail.getByTestId("span-link-go").click();
  await waitFor(async () => (await selectedId(p)) === first.spanContext().spanId, "the linked span of this trace selected");
  assert.equal(new URL(p.url()).pathname, `/trace/${id}`);
  await detail.getByTestId("linked-from").getByText("consumer second").click();
  await waitFor(async () => (await selectedId(p)) === second.spanContext().spanId, "back to the span that links");

  // To another trace: the root links to the shop's item 7.
  await p.locator(`[data-testid=span-row][data-span-id="${root.spanContext().spanId}"]`).click();
  await detail.locator("h3", { hasText: "process batch" }).waitFor();
  assert.match(await detail.getByTestId("span-link").innerText(), /messaging\.operation\s+receive/);
  await detail.getByTestId("span-link-go").click();
  await p.getByTestId("span-count").getByText("51 spans").waitFor();
  assert.equal(new URL(p.url()).pathname, `/trace/${shop.id}`);
  await waitFor(async () => (await selectedId(p)) === target && inView(p, target), "the linked span of the other trace selected and in view");
  await p.close();
});

test("show traces here: the traces with a matching event in a time range, listed by their roots", async () => {
  const tr = tracer(server, "here-svc");
  const now = Date.now() - 15_000;
  const sendOne = (customer, dur) => {
    const root = tr.tracer.startSpan("GET /order", { startTime: new Date(now) });
    const child = tr.tracer.startSpan("charge", { startTime: new Date(now + 2), attributes: { customer } }, trace.setSpan(otelContext.active(), root));
    child.end(new Date(now + dur - 1));
    root.end(new Date(now + dur));
    return root.spanContext().traceId;
  };
  const a = sendOne("c42", 400);
  const b = sendOne("c7", 900);
  const c = sendOne("c42", 200);
  await tr.flush();
  await tr.shutdown();
  for (const id of [a, b, c]) await stored(id, 2);
  const p = await page();
  const filters = JSON.stringify([{ column: "customer", op: "=", value: "c42" }]);
  const start = Math.floor(now / 1000) - 5,
    end = Math.floor(now / 1000) + 5;
  await p.goto(`${server.uiURL}/traces?` + new URLSearchParams({ start: String(start), end: String(end), filters }).toString());
  await p.getByTestId("traces-here").getByText("customer = c42").waitFor();
  const list = p.getByTestId("traces-list");
  await waitFor(async () => (await list.locator("tbody tr").count()) === 2, "the two matching traces listed");
  const ids = await list.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.traceId));
  assert.deepEqual(ids, [a, c], "slowest first, the c7 trace left out");
  assert.equal(await list.locator(`tr[data-trace-id="${a}"] td[data-col=name]`).innerText(), "GET /order", "listed by its root span");
  await waitFor(async () => (await list.locator(`tr[data-trace-id="${a}"] td[data-col=spans]`).innerText()) === "2", "its span count");
  await p.getByTestId("traces-here").getByRole("link", { name: "Show all traces" }).click();
  await waitFor(async () => (await list.locator(`tr[data-trace-id="${b}"]`).count()) === 1, "every trace again");
  await p.close();
});

test("relational fields in the query builder, and the traces behind a row in the traces list", async () => {
  const web = tracer(server, "rel-web");
  const apiSvc = tracer(server, "rel-api");
  const now = Date.now() - 12_000;
  const ids = [];
  for (const [route, n] of [["GET /order", 2], ["GET /home", 1]]) {
    for (let i = 0; i < n; i++) {
      const root = web.tracer.startSpan(route, { startTime: new Date(now + i) });
      const child = apiSvc.tracer.startSpan("charge", { startTime: new Date(now + i + 1), attributes: { customer: "c" + i } }, trace.setSpan(otelContext.active(), root));
      child.end(new Date(now + i + 5));
      root.end(new Date(now + i + 9));
      if (route === "GET /order") ids.push(root.spanContext().traceId);
    }
  }
  for (const s of [web, apiSvc]) {
    await s.flush();
    await s.shutdown();
  }
  for (const id of ids) await stored(id, 2);
  const p = await page();
  // The api's spans, grouped by the name of their trace's root span.
  const spec = { calculations: [{ op: "COUNT" }], breakdowns: ["root.name"], filters: [{ column: "root.name", op: "exists" }], time_range: 600 };
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "rel-api", q: JSON.stringify(spec) }).toString());
  const results = p.getByTestId("results");
  await results.locator("tr", { hasText: "GET /order" }).waitFor();
  assert.match(await results.locator("tr", { hasText: "GET /order" }).innerText(), /GET \/order\s+2\b/);
  assert.match(await results.locator("tr", { hasText: "GET /home" }).innerText(), /GET \/home\s+1\b/);
  // The builder suggests relational fields for filters and breakdowns.
  const opts = await p.locator("datalist#columns-rel option").evaluateAll((os) => os.map((o) => o.value));
  for (const want of ["customer", "root.customer", "parent.name", "any.customer", "none.customer"]) assert.ok(opts.includes(want), `suggestions lack ${want}`);
  assert.equal(await p.getByLabel("group by column").first().getAttribute("list"), "columns-rel");
  // The traces behind the GET /order row, then the same traces in the traces list.
  await results.locator("tr", { hasText: "GET /order" }).getByRole("button", { name: "traces" }).click();
  const behind = p.getByTestId("traces-behind");
  await waitFor(async () => (await behind.locator("tbody tr").count()) === 2, "the two traces behind the row");
  await behind.getByTestId("traces-here-link").click();
  const list = p.getByTestId("traces-list");
  await waitFor(async () => (await list.locator("tbody tr").count()) === 2, "the two traces in the traces list");
  assert.deepEqual((await list.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.traceId))).sort(), [...ids].sort());
  assert.equal(await list.locator(`tr[data-trace-id="${ids[0]}"] td[data-col=name]`).innerText(), "GET /order");
  await p.close();
});

test("the builder's per-calculation filters and formulas", async () => {
  const tr = tracer(server, "fx-svc");
  const now = Date.now() - 11_000;
  let last;
  for (let i = 0; i < 4; i++) {
    const s = tr.tracer.startSpan("op", { startTime: new Date(now + i) });
    if (i === 2) s.setStatus({ code: SpanStatusCode.ERROR });
    s.end(new Date(now + i + 3));
    last = s.spanContext().traceId;
  }
  await tr.flush();
  await tr.shutdown();
  await stored(last, 1);
  const p = await page();
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "fx-svc", q: JSON.stringify({ calculations: [{ op: "COUNT" }], time_range: 600 }) }).toString());
  const vis = p.getByTestId("visualize");
  await vis.getByLabel("calculation name").first().fill("total");
  await vis.getByRole("button", { name: "+ add" }).click();
  await vis.getByLabel("calculation name").nth(1).fill("errors");
  await vis.getByRole("button", { name: "add a filter of this calculation" }).nth(1).click();
  const cf = vis.getByTestId("calc-filters");
  await cf.getByLabel("calculation filter column").fill("error");
  await cf.getByLabel("calculation filter value").fill("true");
  await cf.getByLabel("calculation filter value").blur();
  const fx = p.getByTestId("formulas");
  await fx.getByRole("button", { name: "+ add" }).click();
  await fx.getByLabel("formula name").fill("ratio");
  await fx.getByLabel("formula expression").fill("DIV($errors, $total)");
  await p.getByRole("button", { name: "Run query" }).click();
  // The spec in the address carries both, and the result is the formula's.
  await waitFor(async () => {
    const q = JSON.parse(new URL(p.url()).searchParams.get("q") || "{}");
    return q.formulas?.[0]?.expression === "DIV($errors, $total)" && q.calculations?.[1]?.filters?.[0]?.column === "error";
  }, "the spec in the address");
  const results = p.getByTestId("results");
  await results.locator("th", { hasText: "ratio" }).waitFor();
  await waitFor(async () => /0\.25/.test(await results.locator("tbody").innerText()), "ratio = 1 error / 4 spans");
  await p.close();
});
