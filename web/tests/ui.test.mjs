// Browser tests of the web UI against the real tracecomb binary.
import { test, before, after } from "node:test";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import assert from "node:assert/strict";
import { context as otelContext, trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { startServer, tracer, launchBrowser, api, waitFor, shot } from "./harness.mjs";

let server, browser;
const traceIds = {};

// sendCheckoutTrace sends one trace across two services:
// frontend "GET /checkout" -> frontend "POST backend" (client)
//   -> backend "POST /api/orders" -> backend "INSERT orders" (error, with an event).
async function sendCheckoutTrace() {
  const fe = tracer(server, "frontend");
  const be = tracer(server, "backend");
  const now = Date.now();
  const t = (ms) => new Date(now - 5000 + ms);
  const root = fe.tracer.startSpan("GET /checkout", { kind: SpanKind.SERVER, startTime: t(0), attributes: { "http.route": "/checkout", "user.id": "u-42" } });
  const rootCtx = trace.setSpan(otelContext.active(), root);
  const client = fe.tracer.startSpan("POST backend", { kind: SpanKind.CLIENT, startTime: t(10) }, rootCtx);
  const clientCtx = trace.setSpan(otelContext.active(), client);
  const server_ = be.tracer.startSpan("POST /api/orders", { kind: SpanKind.SERVER, startTime: t(15) }, clientCtx);
  const serverCtx = trace.setSpan(otelContext.active(), server_);
  const db = be.tracer.startSpan("INSERT orders", { kind: SpanKind.CLIENT, startTime: t(20), attributes: { "db.system": "postgresql" } }, serverCtx);
  db.addEvent("retrying", { attempt: 2 }, t(40));
  db.setStatus({ code: SpanStatusCode.ERROR, message: "deadlock detected" });
  db.end(t(80));
  server_.end(t(90));
  client.end(t(95));
  root.end(t(120));
  await Promise.all([fe.flush(), be.flush()]);
  await Promise.all([fe.shutdown(), be.shutdown()]);
  return root.spanContext().traceId;
}

async function sendBigTrace(n) {
  const svc = ["checkout", "payments", "inventory", "search"].map((s) => tracer(server, s));
  const now = Date.now() - 60_000;
  const root = svc[0].tracer.startSpan("batch job", { startTime: new Date(now) });
  const parents = [trace.setSpan(otelContext.active(), root)];
  for (let i = 1; i < n; i++) {
    const tr = svc[i % svc.length].tracer;
    const parent = parents[Math.floor(Math.random() * parents.length)];
    const start = now + i * 2;
    const s = tr.startSpan(`step ${i}`, { startTime: new Date(start) }, parent);
    if (i % 97 === 0) s.setStatus({ code: SpanStatusCode.ERROR });
    s.end(new Date(start + 1 + (i % 50)));
    if (parents.length < 200) parents.push(trace.setSpan(otelContext.active(), s));
  }
  root.end(new Date(now + n * 2 + 100));
  await Promise.all(svc.map((s) => s.flush()));
  await Promise.all(svc.map((s) => s.shutdown()));
  return root.spanContext().traceId;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  traceIds.checkout = await sendCheckoutTrace();
  await waitFor(async () => (await api(server, "GET", "/api/traces/" + traceIds.checkout)).body?.events?.length >= 5, "the checkout trace to be stored");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const page = () => browser.page();

test("home lists the datasets and shows the add-your-data settings", async () => {
  const p = await page();
  await p.goto(server.uiURL + "/");
  const table = p.getByTestId("datasets");
  await table.getByText("frontend", { exact: true }).waitFor();
  await table.getByText("backend", { exact: true }).waitFor();
  // Recent activity comes from the query API, when this build serves it.
  const probe = await api(server, "POST", "/1/queries/frontend", { calculations: [{ op: "COUNT" }] });
  const cell = table.locator("tr", { hasText: "frontend" }).getByTestId("recent-count");
  await cell.getByText(probe.status === 404 ? "–" : "2", { exact: true }).waitFor();
  const snippet = await p.getByTestId("snippet").innerText();
  assert.match(snippet, new RegExp(`OTEL_EXPORTER_OTLP_ENDPOINT=http://${server.http.replace(/\./g, "\\.")}`));
  assert.match(snippet, /OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=<YOUR_API_KEY>/);
  // Creating a key takes a key login, even on loopback: any local program can reach the UI.
  await p.getByTestId("login-to-create").waitFor();
  const login = await p.evaluate(async (key) => {
    const r = await fetch("/ui-api/login", { method: "POST", headers: { "X-Tracecomb-UI": "1", "Content-Type": "application/json" }, body: JSON.stringify({ key }) });
    return r.status;
  }, server.key);
  assert.equal(login, 204);
  await p.reload();
  // A key created from the panel is filled in and works against the API.
  await p.getByRole("button", { name: "Create an API key for these settings" }).click();
  await p.getByTestId("new-key").waitFor();
  const filled = await p.getByTestId("snippet").innerText();
  const key = /x-honeycomb-team=(\S+)/.exec(filled)[1];
  assert.notEqual(key, "<YOUR_API_KEY>");
  const auth = await api(server, "GET", "/1/auth", undefined, key);
  assert.equal(auth.status, 200);
  assert.equal(auth.body.environment.slug, "test");
  await p.getByRole("tab", { name: "Python (OpenTelemetry)" }).click();
  assert.match(await p.getByTestId("snippet").innerText(), /OTEL_EXPORTER_OTLP_PROTOCOL=http\/protobuf/);
  await p.getByRole("tab", { name: "AWS X-Ray SDK" }).click();
  assert.match(await p.getByTestId("snippet").innerText(), new RegExp(`AWS_XRAY_DAEMON_ADDRESS=${server.xray ? server.xray.replace(/\./g, "\\.") : "127\\.0\\.0\\.1:2000"}`));
  await p.getByRole("tab", { name: "Go (OpenTelemetry)" }).click();
  await shot(p, "home");
  await p.close();
});

test("the trace opens and the waterfall shows every span", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/${traceIds.checkout}`);
  await p.getByTestId("span-count").getByText("4 spans").waitFor();
  const rows = p.getByTestId("span-row");
  assert.equal(await rows.count(), 4);
  const names = await rows.locator(".span-name").allInnerTexts();
  assert.deepEqual(names, ["GET /checkout", "POST backend", "POST /api/orders", "INSERT orders"]);
  // Every span came from the OTel SDK to Honeycomb's door: each is marked
  // so, and there is no joined-view note.
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.source + "/" + e.dataset.door)), Array(4).fill("otlp/honeycomb"));
  assert.deepEqual(await rows.getByTestId("source-badge").allInnerTexts(), Array(4).fill("OTel"));
  assert.equal(await p.getByTestId("joined-note").count(), 0);
  // Tree order is parent before child, indented by depth.
  const pads = await rows.locator(".wf-name").evaluateAll((els) => els.map((e) => parseInt(e.style.paddingLeft)));
  assert.ok(pads[0] < pads[1] && pads[1] < pads[2] && pads[2] < pads[3], `indentation ${pads}`);
  // Rows sit one under the other.
  const ys = await rows.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().top));
  for (let i = 1; i < ys.length; i++) assert.equal(Math.round(ys[i] - ys[i - 1]), 24, `row tops ${ys}`);
  // The failing span is marked and its detail shows the status and the event.
  const dbRow = rows.filter({ hasText: "INSERT orders" });
  assert.match(await dbRow.getAttribute("class"), /has-error/);
  await dbRow.click();
  const detail = p.getByTestId("span-detail");
  await detail.getByText("deadlock detected").waitFor();
  await detail.getByText("Span events (1)").waitFor();
  await detail.locator("summary", { hasText: "retrying" }).waitFor();
  await detail.getByText("postgresql").waitFor();
  // Collapsing the backend server span hides its child.
  await rows.filter({ hasText: "POST /api/orders" }).getByRole("button", { name: "Collapse" }).click();
  assert.equal(await rows.count(), 3);
  await rows.filter({ hasText: "POST /api/orders" }).getByRole("button", { name: "Expand" }).click();
  assert.equal(await rows.count(), 4);
  await dbRow.click();
  await shot(p, "trace");
  await p.close();
});

test("a 10,000-span trace renders a window of rows and scrolls to the last span", async () => {
  const n = 10_000;
  const id = await sendBigTrace(n);
  await waitFor(async () => (await api(server, "GET", "/api/traces/" + id)).body?.events?.length === n, "the big trace to be stored", 60_000);
  const p = await page();
  const t0 = Date.now();
  await p.goto(`${server.uiURL}/trace/${id}`);
  await p.getByTestId("span-count").getByText(`${n} spans`).waitFor();
  const loadMs = Date.now() - t0;
  const rendered = await p.getByTestId("span-row").count();
  assert.ok(rendered > 10 && rendered < 200, `rendered ${rendered} rows of ${n}`);
  const scroller = p.getByTestId("waterfall");
  const t1 = Date.now();
  await scroller.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await p.getByTestId("span-row").last().waitFor();
  await waitFor(async () => (await p.getByTestId("span-row").count()) < 200 && (await scroller.evaluate((el) => el.scrollTop > 0)), "rows after scrolling");
  const scrollMs = Date.now() - t1;
  // The last row in tree order is now rendered.
  const lastTop = await p.getByTestId("span-row").evaluateAll((els) => Math.max(...els.map((e) => parseInt(e.style.top))));
  assert.equal(lastTop, (n - 1) * 24);
  console.log(`# 10k-span trace: page ready in ${loadMs} ms, scroll to end in ${scrollMs} ms, ${rendered} rows in the DOM`);
  await scroller.evaluate((el) => {
    el.scrollTop = 0;
  });
  await shot(p, "trace-10k");
  await p.close();
});

test("a key created in Settings works and can be revoked", async () => {
  const p = await page();
  // Without a key login the keys are not listed and none can be made.
  await p.goto(server.uiURL + "/");
  await p.evaluate(() => fetch("/ui-api/logout", { method: "POST", headers: { "X-Tracecomb-UI": "1" } }));
  await p.goto(server.uiURL + "/settings");
  await p.getByTestId("key-login").waitFor();
  assert.equal(await p.getByTestId("keys").count(), 0);
  await p.locator("input[name=login-key]").fill(server.key);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.getByTestId("keys").waitFor();
  await p.getByTestId("environments").locator("code", { hasText: /^test$/ }).waitFor();
  await p.locator("input[name=name]").fill("ui test key");
  await p.getByRole("button", { name: "Create key" }).click();
  const secret = (await p.getByTestId("secret").innerText()).trim();
  assert.ok(secret.length >= 20, secret);
  const ok = await api(server, "GET", "/1/auth", undefined, secret);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.environment.slug, "test");
  // The new key is listed and sends data.
  const keyRow = p.getByTestId("keys").locator("tr", { hasText: "ui test key" });
  await keyRow.waitFor();
  // Each key shows its name, or its id when it has none, and its kind:
  // made here with the default kind, it is an ingest key, as /1/auth says.
  assert.equal(await keyRow.getByTestId("key-name").innerText(), "ui test key");
  assert.equal(await keyRow.getByTestId("key-kind").innerText(), "ingest");
  assert.equal(ok.body.type, "ingest");
  const denied = await api(server, "GET", "/1/datasets", undefined, secret);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.type, "https://api.honeycomb.io/problems/forbidden");
  const listed = await p.evaluate(() => fetch("/ui-api/settings", { headers: { "X-Tracecomb-UI": "1" } }).then((r) => r.json()));
  const cells = await p.getByTestId("keys").locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.dataset.keyId, tr.querySelector("[data-testid=key-name]").textContent]));
  assert.equal(cells.length, listed.keys.length);
  for (const [id, text] of cells) {
    const k = listed.keys.find((x) => x.id === id);
    assert.ok(text.startsWith(k.name || k.id), `key ${id}: "${text}"`);
  }
  await shot(p, "settings");
  p.once("dialog", (d) => d.accept());
  await keyRow.getByRole("button", { name: "Revoke" }).click();
  await keyRow.getByText(/revoked/).waitFor();
  const refused = await api(server, "GET", "/1/auth", undefined, secret);
  assert.equal(refused.status, 401);
  assert.match(refused.body.error, /disabled/);
  await p.close();
});

test("an unknown trace id shows the API's error", async () => {
  const p = await page();
  await p.goto(`${server.uiURL}/trace/00000000000000000000000000000001`);
  await p.getByRole("alert").waitFor();
  await p.close();
});

// --- pages over the query and X-Ray APIs ------------------------------------

// Absolute minutes keep the UI's run and the API's run on the same buckets.
function fixedWindow() {
  const end = Math.ceil(Date.now() / 60000) * 60 + 60;
  return { start_time: end - 3600, end_time: end };
}

async function runAPIQuery(spec) {
  const q = await api(server, "POST", "/1/queries/__all__", spec);
  assert.equal(q.status, 200, JSON.stringify(q.body));
  const r = await api(server, "POST", "/1/query_results/__all__", { query_id: q.body.id });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.complete, true);
  return r.body.data;
}

async function queryAPIAvailable(t) {
  const r = await api(server, "POST", "/1/queries/__all__", { calculations: [{ op: "COUNT" }] });
  if (r.status === 404) {
    t.skip("this build of tracecomb does not serve the Query Data API (POST /1/queries answers 404)");
    return false;
  }
  return true;
}

async function xrayAvailable(t, p) {
  const s = await p.evaluate(() => fetch("/ui-api/session", { headers: { "X-Tracecomb-UI": "1" } }).then((r) => r.json()));
  if (!s.xray) {
    t.skip("this build of tracecomb does not give the UI door the X-Ray API");
    return false;
  }
  return true;
}

test("a COUNT/P99 GROUP BY query charts the API's values; HEATMAP renders; traces are one click away", async (t) => {
  if (!(await queryAPIAvailable(t))) return;
  const spec = {
    calculations: [{ op: "COUNT" }, { op: "P99", column: "duration_ms" }, { op: "HEATMAP", column: "duration_ms" }],
    breakdowns: ["service.name"],
    ...fixedWindow(),
  };
  const want = await runAPIQuery(spec);
  const p = await page();
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "__all__", q: JSON.stringify(spec) }));
  await p.getByTestId("results").waitFor();
  // The query's buckets: a 1-hour window at the server's automatic
  // granularity (60 s), aligned to the minute.
  const buckets = [];
  for (let t = spec.start_time; t < spec.end_time; t += 60) buckets.push(t * 1000);
  for (const label of ["COUNT", "P99(duration_ms)"]) {
    const chart = p.locator(`[data-testid=chart][data-title="${label}"]`);
    await chart.locator("canvas").first().waitFor();
    const got = JSON.parse(await chart.getAttribute("data-series"));
    // Every group has a point in every bucket: the API's value where it has
    // one, 0 elsewhere.
    const expect = {};
    for (const s of want.series) (expect[String(s.data["service.name"])] ??= new Map()).set(Date.parse(s.time), s.data[label] ?? null);
    assert.deepEqual(
      Object.fromEntries(got.map((s) => [s.name, s.points])),
      Object.fromEntries(Object.entries(expect).map(([g, m]) => [g, buckets.map((t) => [t, m.has(t) ? m.get(t) : 0])])),
      label,
    );
  }
  const heat = p.getByTestId("heatmap");
  await heat.locator("canvas").first().waitFor();
  const cells = JSON.parse(await heat.getAttribute("data-cells"));
  const total = cells.reduce((n, c) => n + c[2], 0);
  let apiTotal = 0;
  for (const s of want.series) for (const b of s.data["HEATMAP(duration_ms)"]?.buckets ?? []) apiTotal += b.count;
  assert.ok(total > 0);
  assert.equal(total, apiTotal, "heatmap cells hold the API's counts");
  // Its time axis is the query's buckets, and its legend's ranges cover the
  // counts from 1 to the largest cell's.
  assert.deepEqual(JSON.parse(await heat.getAttribute("data-times")), buckets);
  const legend = JSON.parse(await heat.getAttribute("data-legend"));
  assert.equal(legend[0][0], 1);
  assert.equal(legend[legend.length - 1][1], Math.max(...cells.map((c) => c[2])));
  for (let i = 1; i < legend.length; i++) assert.equal(legend[i][0], legend[i - 1][1] + 1, JSON.stringify(legend));
  // The results table matches the API's rows.
  const rows = await p.getByTestId("results").locator("tbody tr").count();
  assert.equal(rows, want.results.length);
  await shot(p, "query");
  await heat.scrollIntoViewIfNeeded();
  await shot(p, "query-heatmap");
  // Traces behind the backend row, then the trace.
  await p.getByTestId("results").locator("tr", { hasText: "backend" }).getByRole("button", { name: "traces" }).click();
  const behind = p.getByTestId("traces-behind");
  await behind.getByRole("link", { name: traceIds.checkout }).click();
  await p.getByTestId("span-count").getByText("4 spans").waitFor();
  // The traces page lists root spans with links to their traces.
  await p.goto(server.uiURL + "/traces");
  await p.getByTestId("traces-list").getByRole("link", { name: traceIds.checkout }).waitFor();
  await p.close();
});

test("a series is a line: empty buckets between two with spans are 0 (and null for P99 with 'Omit missing values')", async (t) => {
  if (!(await queryAPIAvailable(t))) return;
  // Ten one-minute buckets; spans in the 6th and the 8th, none in the 7th.
  const end = Math.ceil(Date.now() / 60000) * 60;
  const start = end - 600;
  const z = tracer(server, "zerofill");
  const spanAt = (sec, ms) => z.tracer.startSpan("tick", { startTime: new Date(sec * 1000) }).end(new Date(sec * 1000 + ms));
  for (const ms of [5, 10, 15]) spanAt(end - 300 + 10, ms);
  for (const ms of [20, 40]) spanAt(end - 180 + 20, ms);
  await z.flush();
  await z.shutdown();
  const spec = {
    calculations: [{ op: "COUNT" }, { op: "P99", column: "duration_ms" }],
    filters: [{ column: "service.name", op: "=", value: "zerofill" }],
    start_time: start,
    end_time: end,
    granularity: 60,
  };
  await waitFor(async () => (await runAPIQuery(spec)).series.length === 2, "the spans to be stored");
  const p = await page();
  await p.goto(`${server.uiURL}/query?` + new URLSearchParams({ dataset: "__all__", q: JSON.stringify(spec) }));
  const series = async (label) => {
    const chart = p.locator(`[data-testid=chart][data-title="${label}"]`);
    await chart.locator("canvas").first().waitFor();
    const s = JSON.parse(await chart.getAttribute("data-series"));
    assert.equal(s.length, 1);
    return new Map(s[0].points.map(([t, v]) => [t / 1000 - start, v]));
  };
  const count = await series("COUNT");
  assert.equal(count.size, 10, "a point in every bucket");
  assert.equal(count.get(300), 3);
  assert.equal(count.get(360), 0, "the empty bucket between the two is 0");
  assert.equal(count.get(420), 2);
  for (const [off, v] of count) if (off !== 300 && off !== 420) assert.equal(v, 0, `bucket +${off}s`);
  const p99 = await series("P99(duration_ms)");
  assert.ok(p99.get(300) >= 10 && p99.get(420) >= 20, JSON.stringify([...p99]));
  assert.equal(p99.get(360), 0, "P99 is drawn as 0 by default, as Honeycomb draws it");
  // Omit missing values: the P99 line goes across the empty bucket, the count stays 0.
  await p.getByLabel("Omit missing values").check();
  await waitFor(async () => new URL(p.url()).searchParams.get("omit_missing") === "1", "the setting in the URL");
  await waitFor(async () => (await series("P99(duration_ms)")).get(360) === null, "P99's empty bucket to be null");
  assert.equal((await series("COUNT")).get(360), 0);
  await p.close();
});

test("X-Ray: filter errors point at their column; groups and sampling rules are created, edited and deleted", async (t) => {
  const p = await page();
  await p.goto(server.uiURL + "/");
  if (!(await xrayAvailable(t, p))) return p.close();
  // The spans here are OpenTelemetry's: tracecomb's own view shows them.
  await p.goto(server.uiURL + "/xray?doors=honeycomb");
  await p.getByTestId("trace-summaries").waitFor();
  await p.locator("textarea[name=filter]").fill('service("backend") AND responsetime >');
  await p.getByRole("button", { name: "Search traces" }).click();
  const fe = p.getByTestId("filter-error");
  await fe.waitFor();
  const [line, caret] = (await fe.locator("pre").innerText()).split("\n");
  assert.equal(line, 'service("backend") AND responsetime >', "the error shows the searched expression");
  const col = Number(/column (\d+)/.exec(await fe.innerText())[1]);
  assert.equal(caret.indexOf("^"), col - 1);
  await p.locator("textarea[name=filter]").fill('service("backend")');
  await p.getByRole("button", { name: "Search traces" }).click();
  await p.getByTestId("trace-summaries").getByRole("link").first().waitFor();

  // Groups: the API's validation shows in the form.
  await p.goto(server.uiURL + "/xray/groups");
  await p.locator("input[name=GroupName]").fill("slow-backend");
  await p.locator("textarea[name=FilterExpression]").fill('service("backend") AND responsetime >');
  await p.getByRole("button", { name: "Create group" }).click();
  await p.getByRole("alert").waitFor();
  await p.locator("textarea[name=FilterExpression]").fill('service("backend") AND responsetime > 1');
  await p.getByRole("button", { name: "Create group" }).click();
  const row = p.getByTestId("groups").locator('tr[data-group="slow-backend"]');
  await row.waitFor();
  await row.getByRole("button", { name: "Edit" }).click();
  await p.locator("textarea[name=FilterExpression]").fill('service("backend") AND responsetime > 2');
  await p.getByRole("button", { name: "Save group" }).click();
  await row.getByText("responsetime > 2").waitFor();
  await shot(p, "xray-groups");
  p.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Delete" }).click();
  await row.waitFor({ state: "detached" });

  // Sampling rules: created in the UI, read back by the AWS CLI.
  await p.goto(server.uiURL + "/xray/rules");
  await p.getByTestId("rules").locator('tr[data-rule="Default"]').waitFor();
  await p.locator("input[name=RuleName]").fill("checkout-rule");
  await p.locator("input[name=Priority]").fill("100");
  await p.locator("input[name=FixedRate]").fill("2");
  await p.getByRole("button", { name: "Create rule" }).click();
  await p.getByRole("alert").waitFor(); // FixedRate must be within 0..1
  await p.locator("input[name=FixedRate]").fill("0.25");
  await p.locator("input[name=ServiceName]").fill("frontend");
  await p.getByRole("button", { name: "Create rule" }).click();
  await p.getByTestId("rules").locator('tr[data-rule="checkout-rule"]').waitFor();
  await shot(p, "xray-rules");
  const aws = process.env.TRACECOMB_AWS_CLI ?? "/usr/bin/aws";
  if (server.xray && existsSync(aws)) {
    const out = execFileSync(aws, ["xray", "get-sampling-rules", "--endpoint-url", `http://${server.xray}`, "--region", "us-east-1", "--output", "json"], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_PAGER: "" },
    }).toString();
    const rule = JSON.parse(out).SamplingRuleRecords.find((r) => r.SamplingRule.RuleName === "checkout-rule");
    assert.ok(rule, out);
    assert.equal(rule.SamplingRule.FixedRate, 0.25);
    assert.equal(rule.SamplingRule.ServiceName, "frontend");
    assert.equal(rule.SamplingRule.Priority, 100);
  }
  // Edit, then delete.
  const ruleRow = p.getByTestId("rules").locator('tr[data-rule="checkout-rule"]');
  await ruleRow.getByRole("button", { name: "Edit" }).click();
  await p.locator("input[name=FixedRate]").fill("0.5");
  await p.getByRole("button", { name: "Save rule" }).click();
  await ruleRow.getByText("50.0%").waitFor();
  p.once("dialog", (d) => d.accept());
  await ruleRow.getByRole("button", { name: "Delete" }).click();
  await ruleRow.waitFor({ state: "detached" });
  await p.close();
});

test("bound to a non-loopback address, the UI asks for a key and keeps it in an HttpOnly cookie", async () => {
  const other = await startServer({ uiAddr: "0.0.0.0:0" });
  const port = other.ui.slice(other.ui.lastIndexOf(":") + 1);
  const url = `http://127.0.0.1:${port}`;
  const p = await page();
  try {
    await p.goto(url + "/settings");
    await p.getByRole("button", { name: "Log in" }).waitFor();
    await p.locator("input[name=key]").fill("not-a-key");
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByRole("alert").getByText(/unknown API key/).waitFor();
    await p.locator("input[name=key]").fill(other.key);
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByTestId("keys").waitFor();
    const cookies = await browser.context.cookies(url);
    const session = cookies.find((c) => c.name === "tracecomb_session");
    assert.ok(session && session.httpOnly && session.sameSite === "Strict", JSON.stringify(cookies));
    assert.ok(!session.value.includes(other.key), "the cookie is a session token, not the key");
    assert.equal(await p.evaluate(() => document.cookie), "");
    // Without the UI header the door refuses, so other sites cannot post forms to it.
    const bare = await p.evaluate(() => fetch("/ui-api/settings").then((r) => r.status));
    assert.equal(bare, 403);
    await p.getByRole("button", { name: "Log out" }).click();
    await p.getByRole("button", { name: "Log in" }).waitFor();
  } finally {
    await p.close();
    await browser.context.clearCookies();
    await other.stop();
  }
});
