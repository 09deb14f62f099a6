// A log written inside a span, sent with the OTel JS logs SDK, shows on the
// trace page's waterfall attached to that span.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { context, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { LoggerProvider, BatchLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { startServer, tracer, launchBrowser, waitFor, shot, api } from "./harness.mjs";

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// logger returns an OTel logger for a service exporting OTLP/HTTP protobuf
// logs to the server, and its provider.
function logger(service) {
  const exporter = new OTLPLogExporter({ url: `${server.apiURL}/v1/logs`, headers: { "x-honeycomb-team": server.key } });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: service }),
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 100 })],
  });
  return { logger: provider.getLogger("tracecomb-ui-test"), provider };
}

test("a log written inside a span is on the waterfall, attached to its span", async () => {
  const service = "checkout-logs";
  const t = tracer(server, service);
  const l = logger(service);

  const root = t.tracer.startSpan("POST /checkout");
  const rootCtx = trace.setSpan(context.active(), root);
  const child = t.tracer.startSpan("charge card", {}, rootCtx);
  await new Promise((r) => setTimeout(r, 20));
  l.logger.emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: "ERROR",
    body: "card declined: insufficient funds",
    attributes: { "payment.provider": "stripe" },
    context: trace.setSpan(context.active(), child),
  });
  await new Promise((r) => setTimeout(r, 20));
  child.end();
  root.end();
  // A log outside any span is stored but belongs to no trace.
  l.logger.emit({ severityNumber: SeverityNumber.INFO, body: "worker idle" });
  await t.flush();
  await l.provider.forceFlush();

  const traceId = root.spanContext().traceId;
  const childId = child.spanContext().spanId;
  const stored = await waitFor(async () => {
    const r = await api(server, "GET", `/api/traces/${traceId}`);
    return r.status === 200 && r.body.events?.length === 3 ? r.body.events : null;
  }, "the two spans and the log");
  const log = stored.find((e) => e["meta.signal_type"] === "log");
  assert.equal(log["meta.annotation_type"], "span_event");
  assert.equal(log["trace.parent_id"], childId);
  assert.equal(log.body, "card declined: insufficient funds");
  assert.equal(log.severity, "error");

  const p = await browser.page();
  await p.goto(`${server.uiURL}/trace/${traceId}`);
  const row = p.locator(`[data-testid="span-row"][data-span-id="${childId}"]`);
  await row.waitFor();
  // The log's marker and chip are in its span's row, and only there.
  assert.equal(await row.locator('[data-testid="log-marker"]').count(), 1);
  assert.equal(await p.locator('[data-testid="log-marker"]').count(), 1);
  assert.equal(await row.locator('[data-testid="log-chip"]').innerText(), "1 log");
  assert.match(await row.locator('[data-testid="log-marker"]').getAttribute("title"), /^ERROR card declined: insufficient funds$/);
  assert.equal(await p.locator('[data-testid="log-count"]').innerText(), "1 log");
  // The marker sits inside the span's bar, where the log was written.
  const bar = await row.locator(".bar").boundingBox();
  const marker = await row.locator('[data-testid="log-marker"]').boundingBox();
  const mid = marker.x + marker.width / 2;
  assert.ok(mid >= bar.x - 1 && mid <= bar.x + bar.width + 1, `log marker at ${mid}, span bar ${bar.x}..${bar.x + bar.width}`);

  // Selecting the span lists the log with its severity, message and fields.
  await row.click();
  const detail = p.locator('[data-testid="span-detail"]');
  await waitFor(async () => (await detail.locator("h3").innerText()).includes("charge card"), "the span's detail");
  const entry = detail.locator('[data-testid="span-log"]');
  assert.equal(await entry.count(), 1);
  const text = await entry.innerText();
  assert.match(text, /ERROR\s+card declined: insufficient funds/);
  assert.match(text, /payment\.provider\s+stripe/);
  await shot(p, "trace-log");

  // The root span's detail has no logs.
  await p.locator(`[data-testid="span-row"][data-span-id="${root.spanContext().spanId}"]`).click();
  await waitFor(async () => (await detail.locator("h3").innerText()).includes("POST /checkout"), "the root's detail");
  assert.equal(await detail.locator('[data-testid="span-log"]').count(), 0);

  await t.shutdown();
  await l.provider.shutdown();
});
