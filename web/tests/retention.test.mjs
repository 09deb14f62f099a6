// Browser test of Settings → Retention against the real tracecomb binary,
// started with server-wide retention flags.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, tracer, launchBrowser, api, waitFor, screenshotDir } from "./harness.mjs";

let server, browser;

before(async () => {
  server = await startServer({ extraArgs: ["--retention-age", "168h", "--retention-size", "1GiB"] });
  browser = await launchBrowser();
  // One span two hours old and one now: a 1-hour age limit deletes the first.
  const t = tracer(server, "retention-svc");
  const old = Date.now() - 2 * 3600_000;
  t.tracer.startSpan("old work", { startTime: new Date(old) }).end(new Date(old + 20));
  t.tracer.startSpan("new work").end();
  await t.flush();
  await t.shutdown();
  await waitFor(async () => (await api(server, "GET", "/1/datasets")).body?.some?.((d) => d.name === "retention-svc"), "the spans to be stored");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const retentionJSON = (p) =>
  p.evaluate(() => fetch("/ui-api/settings/environments/test/retention", { headers: { "X-Tracecomb-UI": "1" } }).then((r) => r.json()));

test("Settings shows each environment's retention and a key login changes it", async () => {
  const p = await browser.page();
  await p.goto(server.uiURL + "/");
  await p.evaluate(() => fetch("/ui-api/logout", { method: "POST", headers: { "X-Tracecomb-UI": "1" } }));
  await p.goto(server.uiURL + "/settings");
  const row = p.getByTestId("retention-table").locator("tr[data-env=test]");
  await row.waitFor();
  // The flags are the default; without a key login nothing can be changed.
  assert.equal(await row.getByTestId("ret-age").innerText(), "168h");
  assert.equal(await row.getByTestId("ret-size").innerText(), "1 GiB");
  assert.equal(await row.getByTestId("ret-source").innerText(), "server default");
  assert.match(await row.getByTestId("ret-oldest").innerText(), /2h ago/);
  assert.match(await row.getByTestId("ret-data").innerText(), /^\d+(\.\d)? (B|KiB|MiB)/);
  await p.getByTestId("retention-login-hint").waitFor();
  assert.equal(await row.getByRole("button", { name: "Edit" }).count(), 0);
  const denied = await p.evaluate(() =>
    fetch("/ui-api/settings/environments/test/retention", {
      method: "PUT",
      headers: { "X-Tracecomb-UI": "1", "Content-Type": "application/json" },
      body: JSON.stringify({ max_age: "1h", max_bytes: 0 }),
    }).then((r) => r.status),
  );
  assert.equal(denied, 403);

  await p.locator("input[name=login-key]").fill(server.key);
  await p.getByRole("button", { name: "Log in" }).click();
  await row.getByRole("button", { name: "Edit" }).click();
  const form = p.getByTestId("retention-form");
  // A bad value is refused with the server's reason.
  await form.locator("input[name=max_age]").fill("a week");
  await form.getByRole("button", { name: "Save retention" }).click();
  await p.getByTestId("retention").getByRole("alert").getByText(/max_age: "a week" is not a duration/).waitFor();
  await form.locator("input[name=max_age]").fill("1h");
  await form.locator("input[name=max_bytes]").fill("64MiB");
  await form.getByRole("button", { name: "Save retention" }).click();
  await form.waitFor({ state: "detached" });
  // The row shows the answer of the PUT once it has come back.
  await waitFor(async () => (await row.getByTestId("ret-age").innerText()) === "1h", "the row to show the new age");
  assert.equal(await row.getByTestId("ret-size").innerText(), "64 MiB");
  assert.equal(await row.getByTestId("ret-source").innerText(), "own setting");
  // The store enforces it at once: the two-hour-old span goes.
  await waitFor(async () => (await row.getByTestId("ret-deleted").innerText()) === "1", "the old span to be deleted");
  assert.match(await row.getByTestId("ret-enforced").innerText(), /s ago/);
  assert.match(await row.getByTestId("ret-oldest").innerText(), /\d+s ago|0s ago|1m ago/);
  const set = await retentionJSON(p);
  assert.equal(set.source, "environment");
  assert.equal(set.max_age, "1h");
  assert.equal(set.max_bytes, 64 * 2 ** 20);
  assert.equal(set.default.max_age, "168h");
  mkdirSync(screenshotDir, { recursive: true });
  await p.getByTestId("retention").screenshot({ path: join(screenshotDir, "settings-retention.png") });

  // Back to the server default.
  await row.getByRole("button", { name: "Edit" }).click();
  await form.getByRole("button", { name: "Use the server default" }).click();
  await form.waitFor({ state: "detached" });
  await waitFor(async () => (await row.getByTestId("ret-age").innerText()) === "168h", "the row to show the server default");
  assert.equal(await row.getByTestId("ret-source").innerText(), "server default");
  assert.equal((await retentionJSON(p)).source, "default");
  await p.close();
});
