// Test harness: builds and starts the real tracecomb binary, sends spans
// with the OpenTelemetry JS SDK, and drives Debian's Chromium through
// playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { createSocket } from "node:dgram";
import { chromium } from "playwright-core";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// Screenshots go to web/build/screenshots (git-ignored), or to the directory
// TRACECOMB_SCREENSHOTS names (relative to the repository root), e.g.
// docs/screenshots when `make screenshots` refreshes the documentation's.
export const screenshotDir = resolve(repoRoot, process.env.TRACECOMB_SCREENSHOTS || "web/build/screenshots");

const CHROMIUM = process.env.TRACECOMB_CHROMIUM ?? "/usr/bin/chromium";

// startServer runs ./cmd/tracecomb (with the embedded UI as built) on free
// ports; it resolves with the bound addresses from the "tracecomb started"
// log line. `npm test` builds the binary once into build/tracecomb and names
// it in TRACECOMB_BIN; without TRACECOMB_BIN each server builds its own.
export async function startServer({ key = "test-bootstrap-key-0123456789", uiAddr = "127.0.0.1:0", extraArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tracecomb-ui-"));
  // TRACECOMB_BIN runs a binary built beforehand instead of building one.
  const bin = process.env.TRACECOMB_BIN ? resolve(process.env.TRACECOMB_BIN) : join(dir, "tracecomb");
  if (!process.env.TRACECOMB_BIN) execFileSync("go", ["build", "-o", bin, "./cmd/tracecomb"], { cwd: repoRoot, stdio: "inherit" });
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  const args = [
    "serve", "--data-dir", dataDir, "--bootstrap-key", key,
    "--http-addr", "127.0.0.1:0", "--otlp-grpc-addr", "127.0.0.1:0", "--xray-addr", "127.0.0.1:0",
    "--ui-addr", uiAddr, "--log-format", "json", ...extraArgs,
  ];
  const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  const logs = [];
  const addrs = await new Promise((resolveAddrs, reject) => {
    const timer = setTimeout(() => reject(new Error("tracecomb did not start:\n" + logs.join("\n"))), 120_000);
    proc.on("exit", (code) => reject(new Error(`tracecomb exited with ${code}:\n${logs.join("\n")}`)));
    createInterface({ input: proc.stderr }).on("line", (line) => {
      logs.push(line);
      if (logs.length > 500) logs.shift();
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "tracecomb started" && rec.ui) {
          clearTimeout(timer);
          resolveAddrs({ http: rec.http, otlpGrpc: rec.otlp_grpc, xray: rec.xray, ui: rec.ui });
        }
      } catch {
        /* not JSON */
      }
    });
  });
  return {
    ...addrs,
    key,
    dataDir,
    logs,
    uiURL: `http://${addrs.ui}`,
    apiURL: `http://${addrs.http}`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await new Promise((r) => proc.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// tracer returns an OTel tracer for a service exporting OTLP/HTTP protobuf
// to the server, and a flush function.
export function tracer(server, service, key = server.key) {
  const exporter = new OTLPTraceExporter({ url: `${server.apiURL}/v1/traces`, headers: { "x-honeycomb-team": key } });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: service }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 1000, maxQueueSize: 20000, scheduledDelayMillis: 100 })],
  });
  return {
    tracer: provider.getTracer("tracecomb-ui-test"),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "tracecomb-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    context,
    // page opens a tab whose uncaught errors fail the test.
    async page() {
      const p = await context.newPage();
      p.on("pageerror", (e) => {
        throw e;
      });
      return p;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function api(server, method, path, body, key = server.key) {
  const res = await fetch(server.apiURL + path, {
    method,
    headers: { "X-Honeycomb-Team": key, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

// waitFor polls fn until it returns a truthy value.
export async function waitFor(fn, what, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ": " + last : ""}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export function shot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  return page.screenshot({ path: join(screenshotDir, name + ".png") });
}

// --- X-Ray: segments sent to the server's X-Ray daemon door -----------------

// newTraceHex is a W3C trace id whose first 8 hex digits are a recent Unix
// time in seconds, as an X-Ray trace id's are, so it is both.
export function newTraceHex(epoch = Math.floor(Date.now() / 1000)) {
  return epoch.toString(16).padStart(8, "0") + randomHex(24);
}

export function randomHex(n) {
  let s = "";
  while (s.length < n) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
  return s.slice(0, n);
}

// xrayTraceId writes a W3C trace id the X-Ray way: 1-<8 hex>-<24 hex>.
export const xrayTraceId = (hex) => `1-${hex.slice(0, 8)}-${hex.slice(8)}`;

// putSegments sends segment documents with PutTraceSegments to the daemon
// door (unsigned there, as on the real daemon's TCP port).
export async function putSegments(server, docs) {
  for (let i = 0; i < docs.length; i += 50) {
    const res = await fetch(`http://${server.xray}/TraceSegments`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ TraceSegmentDocuments: docs.slice(i, i + 50).map((d) => JSON.stringify(d)) }),
    });
    const body = await res.json();
    if (res.status !== 200 || body.UnprocessedTraceSegments?.length) throw new Error(`PutTraceSegments: ${res.status} ${JSON.stringify(body)}`);
  }
}

// sendSegmentUDP sends one segment document as an X-Ray SDK does: a UDP
// datagram with the daemon's header line.
export async function sendSegmentUDP(server, doc) {
  const sock = createSocket("udp4");
  const [host, port] = [server.xray.slice(0, server.xray.lastIndexOf(":")), Number(server.xray.slice(server.xray.lastIndexOf(":") + 1))];
  try {
    await new Promise((res, rej) => sock.send(Buffer.from('{"format":"json","version":1}\n' + JSON.stringify(doc)), port, host, (e) => (e ? rej(e) : res())));
  } finally {
    sock.close();
  }
}

// xrayAPI calls an X-Ray API operation on the daemon door (unsigned).
export async function xrayAPI(server, op, body = {}) {
  const res = await fetch(`http://${server.xray}/${op}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
