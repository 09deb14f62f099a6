// Browser tests of the trace comparison (the page, "Compare with…" on the
// trace page, picking two traces in the Traces list) and of the Query
// page's history, against the real tracecomb binary with spans sent by the
// OTel JS SDK.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { context as otelContext, trace } from "@opentelemetry/api";
import { startServer, tracer, launchBrowser, api, waitFor, shot } from "./harness.mjs";

let server, browser;
let A, B; // { id, n }

// sendCheckout sends frontend "GET /checkout" (rootMs) with backend "load
// cart" (selectMs + 2 ms, or + 6 with charge) and db "SELECT cart"
// (selectMs) under it, twice "render item" (5 ms each); with charge,
// payments "charge card" (30 ms) as well.
async function sendCheckout({ selectMs, rootMs, charge, startAgo }) {
  const fe = tracer(server, "frontend");
  const be = tracer(server, "backend");
  const db = tracer(server, "db");
  const pay = tracer(server, "payments");
  const now = Date.now() - startAgo;
  const t = (ms) => new Date(now + ms);
  const root = fe.tracer.startSpan("GET /checkout", { startTime: t(0) });
  const ctx = trace.setSpan(otelContext.active(), root);
  const load = be.tracer.startSpan("load cart", { startTime: t(2) }, ctx);
  const q = db.tracer.startSpan("SELECT cart", { startTime: t(3) }, trace.setSpan(otelContext.active(), load));
  q.end(t(3 + selectMs));
  load.end(t(3 + selectMs + (charge ? 5 : 1)));
  let n = 3;
  for (let i = 0; i < 2; i++) {
    const r = fe.tracer.startSpan("render item", { startTime: t(rootMs - 20 + i * 6) }, ctx);
    r.end(t(rootMs - 15 + i * 6));
    n++;
  }
  if (charge) {
    const c = pay.tracer.startSpan("charge card", { startTime: t(selectMs + 10) }, ctx);
    c.end(t(selectMs + 40));
    n++;
  }
  root.end(t(rootMs));
  for (const s of [fe, be, db, pay]) await s.flush();
  await Promise.all([fe, be, db, pay].map((s) => s.shutdown()));
  return { id: root.spanContext().traceId, n };
}

async function stored(id, n, timeout = 30_000) {
  await waitFor(async () => (await api(server, "GET", "/api/traces/" + id)).body?.events?.length === n, `trace ${id} to be stored`, timeout);
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // B: the query takes 80 ms instead of 10, and B charges the card.
  A = await sendCheckout({ selectMs: 10, rootMs: 100, charge: false, startAgo: 30_000 });
  B = await sendCheckout({ selectMs: 80, rootMs: 150, charge: true, startAgo: 20_000 });
  await stored(A.id, A.n);
  await stored(B.id, B.n);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const page = () => browser.page();
const row = (p, name) => p.locator(`[data-testid=compare-row][data-name="${name}"]`);
const cellText = (p, name, col) => row(p, name).locator(`td[data-col=${col}]`).innerText();

test("the comparison matches the spans, highlights the slower one with its difference and marks the span only in B", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/compare?a=${A.id}&b=${B.id}`);
  await row(p, "SELECT cart").waitFor();
  // One merged row per path: 6 in B, the 5 of A among them.
  assert.equal(await p.getByTestId("compare-row").count(), 5);

  assert.equal(await row(p, "SELECT cart").getAttribute("data-status"), "slower");
  assert.equal(await cellText(p, "SELECT cart", "a"), "10.0ms");
  assert.equal(await cellText(p, "SELECT cart", "b"), "80.0ms");
  assert.equal(await cellText(p, "SELECT cart", "diff"), "+70.0ms");
  assert.equal(await cellText(p, "SELECT cart", "pct"), "+700.0%");
  assert.equal(await row(p, "SELECT cart").evaluate((el) => getComputedStyle(el.querySelector("td[data-col=diff]")).color), "rgb(185, 28, 28)");
  // The row sits under "load cart", itself under the root.
  assert.equal(await row(p, "SELECT cart").getAttribute("data-path"), JSON.stringify([["frontend", "GET /checkout"], ["backend", "load cart"], ["db", "SELECT cart"]]));

  assert.equal(await row(p, "charge card").getAttribute("data-status"), "only-b");
  assert.equal(await cellText(p, "charge card", "status"), "only in B");
  assert.equal(await cellText(p, "charge card", "a"), "–");
  assert.equal(await cellText(p, "charge card", "b"), "30.0ms");

  // A repeated path: both render spans, added up, on each side; no difference.
  assert.equal(await row(p, "render item").getAttribute("data-status"), "same");
  assert.equal(await row(p, "render item").locator("td[data-col=a]").getAttribute("data-count"), "2");
  assert.equal(await cellText(p, "render item", "a"), "10.0ms ×2");

  const sum = p.getByTestId("compare-summary");
  assert.equal(await sum.getByTestId("total-a").innerText(), "100ms");
  assert.equal(await sum.getByTestId("total-b").innerText(), "150ms");
  assert.equal(await sum.getByTestId("total-diff").innerText(), "+50.0ms (+50.0%)");
  assert.equal(await sum.getByTestId("only-a-count").innerText(), "0");
  assert.equal(await sum.getByTestId("only-b-count").innerText(), "1");
  const biggest = await sum.getByTestId("biggest").locator("li").evaluateAll((els) => els.map((e) => JSON.parse(e.dataset.path).at(-1)[1]));
  // Paths in both traces only, render item (no difference) left out.
  assert.deepEqual(biggest, ["load cart", "SELECT cart", "GET /checkout"]);
  await shot(p, "compare");

  // Sorted by difference: B's slowest first, then (a click again) its fastest.
  await p.getByTestId("sort-diff").click();
  await waitFor(async () => new URL(p.url()).searchParams.get("sort") === "diff-desc", "sorted by difference");
  const order = () => p.getByTestId("compare-row").evaluateAll((els) => els.map((e) => e.dataset.name));
  // load cart +74, SELECT cart +70, GET /checkout +50, charge card +30 (only in B), render item 0.
  await waitFor(async () => JSON.stringify(await order()) === JSON.stringify(["load cart", "SELECT cart", "GET /checkout", "charge card", "render item"]), "rows by difference, largest first");
  await p.getByTestId("sort-diff").click();
  await waitFor(async () => (await order())[0] === "render item", "rows by difference, smallest first");

  // A higher threshold takes the highlight off the root's +50%.
  assert.equal(await row(p, "GET /checkout").getAttribute("data-status"), "slower");
  await p.locator("input[name=pct]").fill("60");
  await waitFor(async () => (await row(p, "GET /checkout").getAttribute("data-status")) === "same", "the root no longer highlighted past 60%");
  assert.equal(await row(p, "SELECT cart").getAttribute("data-status"), "slower");
  await p.close();
});

test("swapping A and B turns the slower span into a faster one and the extra span into one only in A", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/compare?a=${A.id}&b=${B.id}`);
  await row(p, "SELECT cart").waitFor();
  await p.getByRole("button", { name: "Swap" }).click();
  await waitFor(async () => (await row(p, "SELECT cart").getAttribute("data-status")) === "faster", "SELECT faster in B");
  assert.equal(await cellText(p, "SELECT cart", "diff"), "−70.0ms");
  assert.equal(await cellText(p, "SELECT cart", "pct"), "−87.5%");
  assert.equal(await row(p, "charge card").getAttribute("data-status"), "only-a");
  assert.equal(await p.getByTestId("only-a-count").innerText(), "1");
  assert.equal(new URL(p.url()).searchParams.get("a"), B.id);
  await p.close();
});

test("the trace page's Compare with… and the Traces list's Compare open the comparison", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${A.id}`);
  await p.getByTestId("compare-with").click();
  await p.getByLabel("Trace id to compare with").fill(B.id);
  await p.getByRole("button", { name: "Compare", exact: true }).click();
  await row(p, "charge card").waitFor();
  assert.equal(new URL(p.url()).pathname, "/compare");
  assert.equal(new URL(p.url()).searchParams.get("a"), A.id);
  assert.equal(new URL(p.url()).searchParams.get("b"), B.id);

  await p.goto(`${server.uiURL}/traces`);
  const list = p.getByTestId("traces-list");
  const pick = (id) => list.locator(`tr[data-trace-id="${id}"] [data-testid=compare-pick]`);
  await pick(B.id).waitFor();
  const button = p.getByTestId("compare-picked");
  assert.equal(await button.isDisabled(), true);
  // Ticked first is A.
  await pick(B.id).check();
  await pick(A.id).check();
  assert.equal(await button.isEnabled(), true);
  await button.click();
  await row(p, "charge card").waitFor();
  assert.equal(new URL(p.url()).searchParams.get("a"), B.id);
  assert.equal(new URL(p.url()).searchParams.get("b"), A.id);
  assert.equal(await row(p, "charge card").getAttribute("data-status"), "only-a");
  await p.close();
});

test("an unknown trace id shows the API's error for that side", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/compare?a=${A.id}&b=0123456789abcdef0123456789abcdef`);
  await p.getByTestId("error-b").getByRole("alert").waitFor();
  assert.equal(await p.getByTestId("error-a").count(), 0);
  assert.equal(await p.getByTestId("compare-row").count(), 0);
  await p.close();
});

test("the Query page lists the queries run, newest first, and a click restores and re-runs one", async () => {
  const p = await page();
  let runs = 0;
  p.on("request", (r) => {
    if (r.method() === "POST" && /\/ui-api\/hc\/1\/queries\//.test(new URL(r.url()).pathname)) runs++;
  });
  const url = (spec) => `${server.uiURL}/query?` + new URLSearchParams({ dataset: "__all__", q: JSON.stringify(spec) });
  const first = { calculations: [{ op: "COUNT" }], breakdowns: ["service.name"], time_range: 3600 };
  const second = { calculations: [{ op: "P99", column: "duration_ms" }], filters: [{ column: "service.name", op: "=", value: "db" }], time_range: 600 };
  const history = p.getByTestId("query-history");
  const entries = () => history.getByTestId("history-entry").locator(".what").allInnerTexts();

  // The page's own default query is not listed.
  await p.goto(`${server.uiURL}/query`);
  await p.getByTestId("results").waitFor();
  await history.getByText("The queries you run here are listed").waitFor();

  await p.goto(url(first));
  await p.getByTestId("results").getByText("payments").waitFor();
  await waitFor(async () => (await entries()).length === 1, "one query in the history");
  await p.goto(url(second));
  await waitFor(async () => (await entries()).length === 2, "two queries in the history");
  assert.deepEqual(await entries(), ['P99(duration_ms) WHERE service.name = "db" · last 10m', "COUNT GROUP BY service.name · last 1h"]);
  await shot(p, "query-history");

  // A click on the older one puts it back in the builder and runs it: it
  // is listed first again, and its results are shown.
  await history.getByTestId("history-entry").nth(1).click();
  await waitFor(async () => (await entries())[0] === "COUNT GROUP BY service.name · last 1h", "the re-run query first");
  assert.equal((await entries()).length, 2);
  assert.equal(await p.getByTestId("group-by").locator("input").inputValue(), "service.name");
  assert.deepEqual(JSON.parse(new URL(p.url()).searchParams.get("q")), first);
  await p.getByTestId("results").getByText("payments").waitFor();

  // The query already shown runs again on a click.
  const before = runs;
  await history.getByTestId("history-entry").first().click();
  await waitFor(() => runs > before, "the query run again");

  // The history outlives the page; Clear empties it.
  await p.reload();
  await waitFor(async () => (await entries()).length === 2, "the history after a reload");
  await history.getByRole("button", { name: "Clear" }).click();
  await history.getByText("The queries you run here are listed").waitFor();
  await p.goto(`${server.uiURL}/query`);
  await p.getByTestId("results").waitFor();
  assert.equal(await history.getByTestId("history-entry").count(), 0);
  await p.close();
});
