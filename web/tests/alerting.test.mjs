// Browser tests of the configuration and alerting pages (recipients,
// triggers, derived columns) and of markers on query charts, against the
// real tracecomb binary. The trigger evaluator looks for due triggers
// every 200 ms here, and a new trigger is due at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startServer, tracer, launchBrowser, api, waitFor, shot } from "./harness.mjs";

let server, browser, hook;
// What the test's webhook receiver got: { path, headers, body }.
const received = [];

before(async () => {
  server = await startServer({ extraArgs: ["--trigger-tick", "200ms"] });
  browser = await launchBrowser();
  hook = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      try {
        received.push({ path: req.url, headers: req.headers, body: JSON.parse(body) });
      } catch {
        received.push({ path: req.url, headers: req.headers, body });
      }
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((r) => hook.listen(0, "127.0.0.1", r));
  // Five failed and three good requests of "checkout", a minute ago.
  const t = tracer(server, "checkout");
  const at = Date.now() - 60_000;
  for (let i = 0; i < 8; i++) {
    const s = t.tracer.startSpan("POST /pay", { startTime: new Date(at + i * 100), attributes: { failed: i < 5, "http.status_code": i < 5 ? 500 : 200 } });
    s.end(new Date(at + i * 100 + 40 + i * 10));
  }
  await t.flush();
  await t.shutdown();
  await waitFor(async () => (await api(server, "GET", "/1/datasets")).body?.some?.((d) => d.slug === "checkout"), "the checkout spans to be stored");
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => (hook ? hook.close(r) : r()));
});

async function page() {
  const p = await browser.page();
  p.on("dialog", (d) => d.accept());
  return p;
}

test("a recipient and a trigger made in the UI: listed with their state, the API's 422s shown at the form, the trigger fires", async () => {
  const p = await page();
  const hookURL = `http://127.0.0.1:${hook.address().port}/alerts`;

  // Recipients: a bad URL is refused with the API's message, then created.
  await p.goto(server.uiURL + "/recipients");
  await p.getByRole("button", { name: "New recipient" }).click();
  const rform = p.getByTestId("recipient-form");
  await rform.getByLabel("Type").selectOption("webhook");
  await rform.locator("input[name=webhook_name]").fill("ops hook");
  await rform.locator("input[name=webhook_url]").fill("ftp://example.com/x");
  await rform.locator("input[name=webhook_secret]").fill("s3cret-token");
  await rform.getByRole("button", { name: "Create recipient" }).click();
  await rform.getByRole("alert").getByText("details.webhook_url: must be an http or https URL").waitFor();
  await rform.locator(".field-err", { hasText: "must be an http or https URL" }).waitFor();
  await rform.locator("input[name=webhook_url]").fill(hookURL);
  await rform.getByRole("button", { name: "Create recipient" }).click();
  await rform.waitFor({ state: "detached" });
  const rrow = p.getByTestId("recipients").locator("tr", { hasText: "ops hook" });
  await rrow.waitFor();
  assert.match(await rrow.innerText(), /Webhook/);
  assert.match(await rrow.innerText(), new RegExp(hookURL.replace(/[.]/g, "\\.")));
  const recipients = (await api(server, "GET", "/1/recipients")).body;
  assert.equal(recipients.length, 1);
  assert.deepEqual(recipients[0].details, { webhook_name: "ops hook", webhook_url: hookURL, webhook_secret: "s3cret-token" });

  // An email recipient: the form shows the type's own field; created, edited, deleted.
  await p.getByRole("button", { name: "New recipient" }).click();
  await rform.getByLabel("Type").selectOption("email");
  assert.equal(await rform.locator("input[name=webhook_url]").count(), 0);
  await rform.locator("input[name=email_address]").fill("not an address");
  await rform.getByRole("button", { name: "Create recipient" }).click();
  await rform.getByRole("alert").getByText("details.email_address: must be an email address").waitFor();
  await rform.locator("input[name=email_address]").fill("oncall@example.com");
  await rform.getByRole("button", { name: "Create recipient" }).click();
  await rform.waitFor({ state: "detached" });
  const erow = p.getByTestId("recipients").locator("tr", { hasText: "oncall@example.com" });
  await erow.getByRole("button", { name: "Edit" }).click();
  assert.equal(await rform.getByLabel("Type").isDisabled(), true);
  assert.equal(await rform.locator("input[name=email_address]").inputValue(), "oncall@example.com");
  await rform.locator("input[name=email_address]").fill("sre@example.com");
  await rform.getByRole("button", { name: "Save recipient" }).click();
  await rform.waitFor({ state: "detached" });
  const srow = p.getByTestId("recipients").locator("tr", { hasText: "sre@example.com" });
  await srow.waitFor();
  assert.match(await srow.innerText(), /Email/);
  await shot(p, "recipients");
  await srow.getByRole("button", { name: "Delete" }).click();
  await srow.waitFor({ state: "detached" });
  assert.deepEqual((await api(server, "GET", "/1/recipients")).body.map((r) => r.type), ["webhook"]);

  // Triggers: the form's 422s, then a trigger that fires.
  await p.goto(server.uiURL + "/triggers?dataset=checkout");
  await p.getByRole("button", { name: "New trigger" }).click();
  const form = p.getByTestId("trigger-form");
  await form.locator("input[name=name]").fill("Failed payments");
  await form.getByRole("button", { name: "Create trigger" }).click();
  await form.getByRole("alert").getByText("threshold.value: is required").waitFor();

  await form.getByRole("button", { name: "+ filter" }).click();
  const filter = form.getByTestId("trigger-filter").first();
  await filter.getByLabel("filter column").fill("failed");
  await filter.getByLabel("filter value").fill("true");
  await filter.getByLabel("filter value").blur();
  await form.locator("select[name=threshold_op]").selectOption(">=");
  await form.locator("input[name=threshold_value]").fill("3");
  await form.locator("select[name=frequency]").selectOption("60");
  // The default 15 minutes is more than four times a minute.
  await form.getByRole("button", { name: "Create trigger" }).click();
  await form.getByRole("alert").getByText(/^query\.time_range: the query's duration \(900 s\) .*frequency \(60 s\)/).waitFor();
  await form.locator(".invalid select[name=time_range]").waitFor();
  await shot(p, "trigger-form");
  await form.locator("select[name=frequency]").selectOption("120");
  await form.locator("select[name=time_range]").selectOption("300");
  await form.getByTestId("trigger-recipient-pick").getByLabel(/ops hook/).check();
  await form.getByRole("button", { name: "Create trigger" }).click();
  await form.waitFor({ state: "detached" });

  const row = p.getByTestId("triggers").locator("tr[data-name='Failed payments']");
  await row.waitFor();
  const id = await row.getAttribute("data-trigger-id");
  assert.equal(await row.getByTestId("trigger-query").innerText(), "COUNT WHERE failed = true · last 5 min");
  assert.equal(await row.getByTestId("trigger-threshold").innerText(), ">= 3");
  assert.match(await row.getByTestId("trigger-frequency").innerText(), /^every 2 min/);
  assert.match(await row.getByTestId("trigger-recipients").innerText(), /ops hook \(webhook\)/);
  const stored = (await api(server, "GET", `/1/triggers/checkout/${id}`)).body;
  assert.equal(stored.frequency, 120);
  assert.deepEqual(stored.threshold, { op: ">=", value: 3, exceeded_limit: 1 });
  assert.deepEqual(stored.recipients.map((r) => r.id), [recipients[0].id]);
  assert.deepEqual(stored.query.calculations, [{ op: "COUNT" }]);
  assert.deepEqual(stored.query.filters, [{ column: "failed", op: "=", value: true }]);
  assert.equal(stored.query.time_range, 300);

  // Five failed requests in the last 5 minutes pass ">= 3": the evaluator
  // (every 200 ms here) fires it, the list shows it and the webhook gets it.
  await row.getByTestId("trigger-state").getByText("Triggered", { exact: true }).waitFor({ timeout: 30_000 });
  await waitFor(() => received.find((r) => r.body?.status === "TRIGGERED"), "the webhook to get the TRIGGERED notification");
  const note = received.find((r) => r.body?.status === "TRIGGERED");
  assert.equal(note.headers["x-honeycomb-webhook-token"], "s3cret-token");
  assert.equal(note.body.name, "Failed payments");
  assert.equal(note.body.id, id);
  await shot(p, "triggers");

  // Edit: disabled, it shows so (the rest of the trigger kept).
  await row.getByRole("button", { name: "Edit" }).click();
  assert.equal(await form.locator("input[name=threshold_value]").inputValue(), "3");
  assert.equal(await form.getByTestId("trigger-filter").getByLabel("filter column").inputValue(), "failed");
  assert.ok(await form.getByTestId("trigger-recipient-pick").getByLabel(/ops hook/).isChecked());
  await form.locator("input[name=disabled]").check();
  await form.locator("select[name=exceeded_limit]").selectOption("2");
  await form.locator("select[name=alert_type]").selectOption("on_true");
  await form.locator("select[name=baseline_offset]").selectOption("1440");
  await form.locator("select[name=baseline_type]").selectOption("percentage");
  await form.getByRole("button", { name: "Save trigger" }).click();
  await form.waitFor({ state: "detached" });
  await row.getByTestId("trigger-state").getByText("Disabled", { exact: true }).waitFor();
  assert.equal(await row.getByTestId("trigger-threshold").innerText(), "change >= 3% vs. a day before, 2 times in a row");
  assert.match(await row.getByTestId("trigger-frequency").innerText(), /on true/);
  const edited = (await api(server, "GET", `/1/triggers/checkout/${id}`)).body;
  assert.equal(edited.disabled, true);
  assert.equal(edited.alert_type, "on_true");
  assert.deepEqual(edited.threshold, { ...stored.threshold, exceeded_limit: 2 });
  assert.deepEqual(edited.baseline_details, { offset_minutes: 1440, type: "percentage" });
  assert.deepEqual(edited.query, stored.query);
  assert.deepEqual(edited.recipients.map((r) => r.id), [recipients[0].id]);

  // The recipient cannot go while the trigger uses it; the 409 is shown.
  await p.goto(server.uiURL + "/recipients");
  await rrow.getByRole("button", { name: "Delete" }).click();
  await p.getByTestId("recipients-page").getByRole("alert").getByText(`the recipient is used by trigger checkout/${id}`, { exact: false }).waitFor();
  assert.equal((await api(server, "GET", "/1/recipients")).body.length, 1);

  // Deleting the trigger, then the recipient.
  await p.goto(server.uiURL + "/triggers?dataset=checkout");
  await row.getByRole("button", { name: "Delete" }).click();
  await p.getByTestId("triggers-page").getByText("No triggers on this dataset.").waitFor();
  assert.equal((await api(server, "GET", `/1/triggers/checkout/${id}`)).status, 404);
  await p.goto(server.uiURL + "/recipients");
  await rrow.getByRole("button", { name: "Delete" }).click();
  await p.getByTestId("recipients-page").getByText("No recipients yet.").waitFor();
  assert.deepEqual((await api(server, "GET", "/1/recipients")).body, []);
  await p.close();
});

test("a derived column's syntax error is shown with the position the API names; the column is created, edited and deleted", async () => {
  const p = await page();
  await p.goto(server.uiURL + "/derived-columns?dataset=checkout");
  await p.getByRole("button", { name: "New derived column" }).click();
  const form = p.getByTestId("derived-form");
  const bad = "IF(GT($duration_ms, 50), 1 0)";
  await form.locator("input[name=alias]").fill("slow");
  await form.locator("textarea[name=expression]").fill(bad);
  await form.getByRole("button", { name: "Create derived column" }).click();
  const errBox = form.getByTestId("expression-error");
  await errBox.waitFor();
  // The same message the API gives, and the caret under the column it names.
  const direct = await api(server, "POST", "/1/derived_columns/checkout", { alias: "slow", expression: bad });
  assert.equal(direct.status, 422);
  const col = Number(/at column (\d+)/.exec(direct.body.error)[1]);
  assert.equal(col, bad.indexOf(" 0)") + 2, direct.body.error);
  assert.equal(await errBox.locator("div").first().innerText(), direct.body.error);
  assert.equal(await errBox.locator("pre").innerText(), bad + "\n" + " ".repeat(col - 1) + "^");
  await shot(p, "derived-columns-error");

  await form.locator("textarea[name=expression]").fill("IF(GT($duration_ms, 50), 1, 0)");
  await form.locator("input[name=description]").fill("1 for a request over 50 ms");
  await form.getByRole("button", { name: "Create derived column" }).click();
  await form.waitFor({ state: "detached" });
  const row = p.getByTestId("derived-columns").locator("tr[data-alias=slow]");
  await row.waitFor();
  assert.match(await row.innerText(), /IF\(GT\(\$duration_ms, 50\), 1, 0\)/);
  // Queries use it as a column of the dataset.
  const q = await api(server, "POST", "/1/queries/checkout", { calculations: [{ op: "SUM", column: "slow" }], time_range: 3600 });
  assert.equal(q.status, 200, JSON.stringify(q.body));

  // An alias the dataset has is refused, the field marked.
  await p.getByRole("button", { name: "New derived column" }).click();
  await form.locator("input[name=alias]").fill("slow");
  await form.locator("textarea[name=expression]").fill("1");
  await form.getByRole("button", { name: "Create derived column" }).click();
  await form.getByRole("alert").getByText("a derived column slow exists in this dataset").waitFor();
  await form.locator(".invalid input[name=alias]").waitFor();
  await form.getByRole("button", { name: "Cancel" }).click();

  await row.getByRole("button", { name: "Edit" }).click();
  await form.locator("textarea[name=expression]").fill("IF(GT($duration_ms, 80), 1, 0)");
  await form.getByRole("button", { name: "Save derived column" }).click();
  await form.waitFor({ state: "detached" });
  await row.getByText("IF(GT($duration_ms, 80), 1, 0)").waitFor();
  await shot(p, "derived-columns");
  const list = (await api(server, "GET", "/1/derived_columns/checkout")).body;
  assert.deepEqual(list.map((d) => [d.alias, d.expression, d.description]), [["slow", "IF(GT($duration_ms, 80), 1, 0)", "1 for a request over 50 ms"]]);

  // Every dataset's (__all__) list is its own.
  await p.locator("select[name=dataset]").selectOption("__all__");
  await p.getByTestId("derived-page").getByText("No derived columns here.").waitFor();
  await p.locator("select[name=dataset]").selectOption("checkout");
  await row.getByRole("button", { name: "Delete" }).click();
  await p.getByTestId("derived-page").getByText("No derived columns here.").waitFor();
  assert.deepEqual((await api(server, "GET", "/1/derived_columns/checkout")).body, []);
  await p.close();
});

test("markers of the dataset and of the environment are drawn on the query's charts in their type's color", async () => {
  const now = Math.floor(Date.now() / 1000);
  const ok = (r) => {
    assert.ok(r.status < 300, JSON.stringify(r.body));
    return r.body;
  };
  ok(await api(server, "POST", "/1/marker_settings/checkout", { type: "deploy", color: "#e11d48" }));
  ok(await api(server, "POST", "/1/marker_settings/__all__", { type: "maintenance", color: "#0d9488" }));
  const deploy = ok(await api(server, "POST", "/1/markers/checkout", { start_time: now - 600, message: "deploy v42", type: "deploy", url: "https://example.com/deploys/42" }));
  const window = ok(await api(server, "POST", "/1/markers/__all__", { start_time: now - 1800, end_time: now - 1500, message: "database maintenance", type: "maintenance" }));
  // Outside the query's hour: not drawn.
  const old = ok(await api(server, "POST", "/1/markers/checkout", { start_time: now - 3 * 3600, message: "old deploy", type: "deploy" }));

  const p = await page();
  const spec = { calculations: [{ op: "COUNT" }], time_range: 3600 };
  await p.goto(server.uiURL + "/query?" + new URLSearchParams({ dataset: "checkout", q: JSON.stringify(spec) }));
  const chart = p.locator(".chart-box", { has: p.locator("[data-testid=chart][data-title=COUNT]") });
  const line = chart.locator(`[data-testid=marker][data-marker-id="${deploy.id}"]`);
  const band = chart.locator(`[data-testid=marker][data-marker-id="${window.id}"]`);
  await line.waitFor();
  await band.waitFor();
  assert.equal(await chart.locator(`[data-marker-id="${old.id}"]`).count(), 0);
  assert.equal(await chart.getByTestId("marker").count(), 2);

  // Drawn in their type's color: a line, and a band from start to end.
  assert.equal(await line.locator(".marker-line").evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(225, 29, 72)");
  assert.equal(await band.evaluate((e) => getComputedStyle(e).borderLeftColor), "rgb(13, 148, 136)");
  const lb = await line.boundingBox();
  const bb = await band.boundingBox();
  const cb = await chart.locator("[data-testid=chart]").boundingBox();
  // The hour is 60 px from the left to 20 px from the right: a marker ten
  // minutes ago sits about a sixth of the width from the right end, the
  // band (30 to 25 minutes ago) in the middle, five minutes wide.
  const plotW = cb.width - 80;
  const xOf = (secAgo) => cb.x + 60 + ((3600 - secAgo) / 3600) * plotW;
  assert.ok(Math.abs(lb.x + lb.width / 2 - xOf(600)) < plotW / 60, `line at ${lb.x}, expected about ${xOf(600)}`);
  assert.ok(Math.abs(bb.x - xOf(1800)) < plotW / 60, `band from ${bb.x}, expected about ${xOf(1800)}`);
  assert.ok(Math.abs(bb.width - (300 / 3600) * plotW) < plotW / 60, `band ${bb.width} wide`);

  // Hover: the message, the type and the link.
  const label = line.getByTestId("marker-label");
  assert.equal(await label.isVisible(), false);
  await line.hover();
  await label.waitFor({ state: "visible" });
  assert.match(await label.innerText(), /deploy v42/);
  assert.match(await label.innerText(), /\bdeploy\b/);
  assert.equal(await label.getByRole("link").getAttribute("href"), "https://example.com/deploys/42");
  await shot(p, "query-markers");
  await band.hover();
  await band.getByTestId("marker-label").getByText("database maintenance").waitFor();
  assert.match(await band.getByTestId("marker-label").innerText(), /environment marker/);

  // A heatmap of the dataset has them too.
  const heat = { calculations: [{ op: "HEATMAP", column: "duration_ms" }], time_range: 3600 };
  await p.goto(server.uiURL + "/query?" + new URLSearchParams({ dataset: "checkout", q: JSON.stringify(heat) }));
  const hbox = p.locator(".chart-box", { has: p.getByTestId("heatmap") });
  const hline = hbox.locator(`[data-testid=marker][data-marker-id="${deploy.id}"]`);
  await hline.waitFor();
  await hbox.locator(`[data-testid=marker][data-marker-id="${window.id}"]`).waitFor();
  assert.equal(await hbox.getByTestId("marker").count(), 2);
  assert.equal(await hline.locator(".marker-line").evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(225, 29, 72)");
  await p.close();
});

// sloFixture makes, through the API, the SLI of "checkout" (a request
// succeeds when it did not fail: 3 of the 8 sent) and a webhook recipient.
let fixture;
async function sloFixture() {
  if (fixture) return fixture;
  const d = await api(server, "POST", "/1/derived_columns/checkout", { alias: "ok_request", expression: "EQUALS($failed, false)" });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const r = await api(server, "POST", "/1/recipients", { type: "webhook", details: { webhook_name: "slo hook", webhook_url: `http://127.0.0.1:${hook.address().port}/slo` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  fixture = { recipient: r.body };
  return fixture;
}

test("an SLO made in the UI shows its compliance, budget and burn-down, and takes a burn alert", async () => {
  await sloFixture();
  const p = await page();
  await p.goto(server.uiURL + "/slos?dataset=checkout");
  await p.getByRole("button", { name: "New SLO" }).click();
  const form = p.getByTestId("slo-form");
  await form.locator("input[name=name]").fill("Payments succeed");
  await form.locator("input[name=target]").fill("99");
  await form.locator("input[name=time_period_days]").fill("7");
  // Without an SLI the API's 422 is shown at the form.
  await form.getByRole("button", { name: "Create SLO" }).click();
  await form.getByRole("alert").getByText("sli.alias: is required").waitFor();
  await form.locator("select[name=sli]").selectOption("ok_request");
  await form.getByRole("button", { name: "Create SLO" }).click();
  await form.waitFor({ state: "detached" });

  // 3 of 8 requests succeeded: compliance 37.5%; the budget is 1% of 8
  // events, 0.08, and 5 failed: (0.08 - 5) / 0.08 = -6150%.
  const row = p.getByTestId("slos").locator("tr[data-name='Payments succeed']");
  await row.waitFor();
  await row.getByTestId("slo-compliance").getByText("37.50%").waitFor();
  assert.equal(await row.getByTestId("slo-budget").innerText(), "-6150%");
  assert.equal(await row.getByTestId("slo-state").innerText(), "Budget exhausted");
  assert.match(await row.innerText(), /99% \/ 7 d/);
  const id = await row.getAttribute("data-slo-id");
  const detailed = (await api(server, "GET", `/1/slos/checkout/${id}?detailed=true`)).body;
  assert.equal(detailed.compliance, 37.5);
  assert.equal(detailed.budget_remaining, -6150);
  assert.equal(detailed.sli.alias, "ok_request");
  assert.equal(detailed.target_per_million, 990000);
  await shot(p, "slos");

  // The SLO's page: its budget burn-down from the history report.
  await row.getByRole("link", { name: "Payments succeed" }).click();
  const chart = p.getByTestId("slo-history").locator("[data-testid=chart][data-title='Budget remaining (%)']");
  await chart.waitFor();
  const series = JSON.parse(await chart.getAttribute("data-series"));
  assert.equal(series.length, 1);
  assert.ok(series[0].points.length >= 1);
  assert.equal(series[0].points[series[0].points.length - 1][1], -6150);

  // A burn alert: the 422 without recipients, then created and listed.
  await p.getByRole("button", { name: "New burn alert" }).click();
  const bform = p.getByTestId("burn-alert-form");
  await bform.locator("input[name=exhaustion_minutes]").fill("120");
  await bform.getByRole("button", { name: "Create burn alert" }).click();
  await bform.getByRole("alert").getByText("recipients: is required").waitFor();
  await bform.getByTestId("burn-alert-recipient-pick").getByLabel(/slo hook/).check();
  await bform.getByRole("button", { name: "Create burn alert" }).click();
  await bform.waitFor({ state: "detached" });
  const arow = p.getByTestId("burn-alerts").locator("tr").nth(1);
  await arow.waitFor();
  assert.equal(await arow.getByTestId("burn-alert-rule").innerText(), "budget runs out within 120 min at the recent rate");
  assert.match(await arow.innerText(), /slo hook \(webhook\)/);
  const alerts = (await api(server, "GET", `/1/burn_alerts/checkout?slo_id=${id}`)).body;
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].exhaustion_minutes, 120);
  // The budget is spent already: the evaluator (an SLO's burn alerts at
  // most once a minute) fires the alert, and the page shows it on its next
  // read.
  await arow.getByTestId("burn-alert-state").getByText("Triggered", { exact: true }).waitFor({ timeout: 90_000 });
  await p.getByTestId("slo-detail").getByTestId("slo-state").getByText("Burn alert triggered").waitFor({ timeout: 15_000 });
  await waitFor(() => received.find((r) => r.path === "/slo" && r.body?.slo_id === id), "the burn alert's webhook notification", 15_000);
  await p.evaluate(() => window.scrollTo(0, 0));
  await shot(p, "slo");

  // The SLI cannot be deleted while the SLO uses it; the 409 is shown.
  await p.goto(server.uiURL + "/derived-columns?dataset=checkout");
  await p.getByTestId("derived-columns").locator("tr[data-alias=ok_request]").getByRole("button", { name: "Delete" }).click();
  await p.getByTestId("derived-page").getByRole("alert").getByText('derived column "ok_request" is used by').waitFor();
  assert.equal((await api(server, "GET", "/1/derived_columns/checkout")).body.length, 1);
  await p.close();
});

test("a board shows its query panel as a chart and table, its SLO panel's figures and its text", async () => {
  await sloFixture();
  const ok = (r) => {
    assert.ok(r.status < 300, JSON.stringify(r.body));
    return r.body;
  };
  const slo = ok(await api(server, "POST", "/1/slos/checkout", { name: "Board SLO", sli: { alias: "ok_request" }, time_period_days: 1, target_per_million: 500000 }));
  const q = ok(await api(server, "POST", "/1/queries/checkout", { calculations: [{ op: "COUNT" }], breakdowns: ["failed"], time_range: 3600 }));
  const ann = ok(await api(server, "POST", "/1/query_annotations/checkout", { name: "Requests by outcome", query_id: q.id }));
  const board = ok(
    await api(server, "POST", "/1/boards", {
      name: "Payments",
      description: "checkout at a glance",
      type: "flexible",
      panels: [
        { type: "query", query_panel: { query_id: q.id, query_annotation_id: ann.id, query_style: "combo" } },
        { type: "slo", slo_panel: { slo_id: slo.id } },
        { type: "text", text_panel: { content: "# Notes\nDeploys on Tuesdays." } },
      ],
    }),
  );

  const p = await page();
  await p.goto(server.uiURL + "/boards");
  await p.getByTestId("boards").getByRole("link", { name: "Payments" }).click();
  const grid = p.getByTestId("board");
  await grid.waitFor();
  assert.equal(await grid.getByTestId("board-panel").count(), 3);

  const qp = grid.locator("[data-testid=board-panel][data-type=query]");
  await qp.getByRole("heading", { name: "Requests by outcome" }).waitFor();
  const chart = qp.locator("[data-testid=chart][data-title=COUNT]");
  await chart.waitFor();
  const series = JSON.parse(await chart.getAttribute("data-series"));
  const total = (name) => series.find((s) => s.name === name).points.reduce((n, [, v]) => n + (v ?? 0), 0);
  assert.deepEqual(series.map((s) => s.name).sort(), ["false", "true"]);
  assert.equal(total("true"), 5);
  assert.equal(total("false"), 3);
  const rows = await qp.getByTestId("board-results").locator("tbody tr").allInnerTexts();
  assert.deepEqual(rows.map((r) => r.split("\t").map((c) => c.trim())).sort(), [["false", "3"], ["true", "5"]]);

  // 3 of 8 succeeded against a 50% target: budget (4 - 5) / 4 = -25%.
  const sp = grid.locator("[data-testid=board-panel][data-type=slo]");
  await sp.getByRole("link", { name: "Board SLO" }).waitFor();
  assert.equal(await sp.getByTestId("slo-compliance").innerText(), "37.50%");
  assert.equal(await sp.getByTestId("slo-budget").innerText(), "-25%");
  assert.equal(await sp.getByTestId("slo-state").innerText(), "Budget exhausted");

  assert.equal(await grid.getByTestId("board-text").innerText(), "# Notes\nDeploys on Tuesdays.");
  await shot(p, "board");
  assert.ok(board.id);
  await p.close();
});
