// Browser test of BubbleUp on the Query page: a region of a heatmap is
// compared with the rest of the query's events, and the planted attribute
// comes first; a click on its value adds a WHERE to the query.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { startServer, tracer, launchBrowser, api, waitFor, shot } from "./harness.mjs";

let server, browser;

// 300 spans of service "shop" from 25 to 5 minutes ago, customer cust-40…
// cust-49 by i%10, 20–29 ms each, 500–509 ms for cust-42 (30 spans).
const SPANS = 300;
const SLOW = 30;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const shop = tracer(server, "shop");
  const now = Date.now();
  for (let i = 0; i < SPANS; i++) {
    const cust = `cust-${40 + (i % 10)}`;
    const start = now - 25 * 60_000 + i * 4_000;
    const dur = (cust === "cust-42" ? 500 : 20) + (i % 10);
    const s = shop.tracer.startSpan("GET /cart", { kind: SpanKind.SERVER, startTime: new Date(start), attributes: { customer: cust, region: ["us", "eu", "ap"][i % 3] } });
    s.end(new Date(start + dur));
  }
  await shop.flush();
  await shop.shutdown();
  await waitFor(async () => {
    const q = await api(server, "POST", "/1/queries/shop", { calculations: [{ op: "COUNT" }], time_range: 3600 });
    const r = await api(server, "POST", "/1/query_results/shop", { query_id: q.body.id });
    return r.body?.data?.results?.[0]?.data?.COUNT === SPANS;
  }, "the spans to be stored");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("selecting a heatmap region runs BubbleUp: the planted attribute first, its value one click from a WHERE", async () => {
  const p = await browser.page();
  const spec = { calculations: [{ op: "HEATMAP", column: "duration_ms" }], time_range: 1800 };
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "shop", q: JSON.stringify(spec) }));
  const heat = p.getByTestId("heatmap");
  await heat.locator("canvas").first().waitFor();
  // Drag over the top half of the plot area across every time bucket: the
  // value buckets from the middle up hold only the slow spans (the
  // heatmap's 30 buckets span 20…509 ms). The plot area is the element
  // less the heatmap's grid margins (left 70, right 20, top 20, bottom 70).
  const box = await heat.boundingBox();
  const left = box.x + 70 + 2, right = box.x + box.width - 20 - 2;
  const top = box.y + 20 + 2, middle = box.y + 20 + (box.height - 90) / 2;
  await p.mouse.move(left, top);
  await p.mouse.down();
  await p.mouse.move((left + right) / 2, (top + middle) / 2, { steps: 5 });
  await p.getByTestId("heat-drag").waitFor();
  await p.mouse.move(right, middle, { steps: 5 });
  await p.mouse.up();

  const panel = p.getByTestId("bubbleup");
  await panel.getByTestId("bubbleup-counts").waitFor();
  // The selection is exactly cust-42's spans; the baseline the others.
  assert.match(await panel.getByTestId("bubbleup-counts").textContent(), new RegExp(`^${SLOW} events selected, ${SPANS - SLOW} in the baseline`));
  const first = panel.getByTestId("bubbleup-column").first();
  assert.equal(await first.getAttribute("data-column"), "customer");
  assert.equal(Number(await first.getAttribute("data-score")), 1);
  const top1 = first.getByTestId("bubbleup-value").first();
  assert.equal(await top1.getAttribute("data-value"), "cust-42");
  assert.match(await top1.textContent(), /100\.0%\s*0\.0%/);
  // The heatmap's own column is not compared; region is spread alike.
  const cols = await panel.getByTestId("bubbleup-column").evaluateAll((els) => els.map((e) => e.getAttribute("data-column")));
  assert.ok(!cols.includes("duration_ms"), cols.join(","));
  assert.ok(cols.indexOf("region") > 0, cols.join(","));
  await panel.scrollIntoViewIfNeeded();
  await shot(p, "bubbleup");

  // A click on cust-42 adds WHERE customer = cust-42 and runs the query.
  await top1.getByRole("button", { name: "cust-42" }).click();
  await waitFor(async () => {
    const q = JSON.parse(new URL(p.url()).searchParams.get("q") ?? "{}");
    return q.filters?.some((f) => f.column === "customer" && f.op === "=" && f.value === "cust-42");
  }, "the URL's query to have the WHERE");
  const where = p.getByTestId("where");
  await waitFor(async () => (await where.locator("input[aria-label='filter column']").first().inputValue()) === "customer", "the builder to show the filter");
  assert.equal(await where.locator("input[aria-label='filter value']").first().inputValue(), "cust-42");
  // The new query's heatmap holds only cust-42's spans.
  await waitFor(async () => {
    const cells = JSON.parse((await p.getByTestId("heatmap").getAttribute("data-cells")) ?? "[]");
    return cells.reduce((n, c) => n + c[2], 0) === SLOW;
  }, "the filtered heatmap");
  assert.equal(await p.getByTestId("bubbleup").count(), 0, "a new query closes the BubbleUp panel");
});

test("a group row's bubbleup compares the group with the rest", async () => {
  const p = await browser.page();
  const spec = { calculations: [{ op: "COUNT" }], breakdowns: ["customer"], time_range: 1800 };
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "shop", q: JSON.stringify(spec) }));
  const row = p.getByTestId("results").locator("tr", { hasText: "cust-42" });
  await row.getByRole("button", { name: "bubbleup" }).click();
  const panel = p.getByTestId("bubbleup");
  await panel.getByTestId("bubbleup-counts").waitFor();
  assert.match(await panel.getByTestId("bubbleup-counts").textContent(), new RegExp(`^${SLOW} events selected`));
  const first = panel.getByTestId("bubbleup-column").first();
  assert.equal(await first.getAttribute("data-column"), "duration_ms");
  assert.equal(await first.getByTestId("bubbleup-bucket").count(), 20);
  // GROUP BY from a column adds the breakdown.
  await panel.locator("[data-column=region]").getByRole("button", { name: "group by" }).click();
  await waitFor(async () => JSON.parse(new URL(p.url()).searchParams.get("q") ?? "{}").breakdowns?.includes("region"), "GROUP BY region in the URL");
});

test("a drag across a time chart runs BubbleUp on that time range", async () => {
  const p = await browser.page();
  const spec = { calculations: [{ op: "COUNT" }], time_range: 1800 };
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "shop", q: JSON.stringify(spec) }));
  const chart = p.locator("[data-testid=chart][data-title=COUNT]");
  await chart.locator("canvas").first().waitFor();
  // From a quarter to three quarters of the plot area (grid: left 60, right 20).
  const box = await chart.boundingBox();
  const plotW = box.width - 80;
  const y = box.y + box.height / 2;
  await p.mouse.move(box.x + 60 + plotW / 4, y);
  await p.mouse.down();
  await p.mouse.move(box.x + 60 + (plotW * 3) / 4, y, { steps: 8 });
  await p.mouse.up();
  const counts = p.getByTestId("bubbleup-counts");
  await counts.waitFor();
  // The middle 15 minutes of the 30-minute window: the spans run from 25
  // to 5 minutes ago, one every 4 s, so about 15 × 15 = 225 of them.
  const [, sel, base] = (await counts.textContent()).match(/^(\d+) events selected, (\d+) in the baseline/).map(Number);
  assert.equal(sel + base, SPANS);
  assert.ok(sel > 200 && sel < 250, `selected ${sel}`);
  assert.match(await p.getByTestId("bubbleup").locator("h3").textContent(), /UTC/);
});
