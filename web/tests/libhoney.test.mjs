// libhoney-js, configured as for Honeycomb but with apiHost pointing at
// tracecomb, sends events from Node: every response is a 202 and a COUNT
// through the Query Data API is the sample-rate-weighted total. Needs no
// browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import Libhoney from "libhoney";
import { startServer, api, waitFor } from "./harness.mjs";

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

// count runs COUNT over the last hour of dataset and returns it.
async function count(dataset) {
  const q = await api(server, "POST", `/1/queries/${encodeURIComponent(dataset)}`, { calculations: [{ op: "COUNT" }], time_range: 3600 });
  assert.equal(q.status, 200, JSON.stringify(q.body));
  const r = await api(server, "POST", `/1/query_results/${encodeURIComponent(dataset)}`, { query_id: q.body.id });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const done = await waitFor(async () => {
    const res = await api(server, "GET", r.headers.get("location"));
    return res.status === 200 && res.body.complete ? res.body : null;
  }, "the query result");
  assert.equal(done.data.results.length, 1, JSON.stringify(done.data));
  return done.data.results[0].data.COUNT;
}

test("libhoney-js events are stored, weighted by their sample rate, and queryable", async () => {
  const dataset = "libhoney js";
  const responses = [];
  const hny = new Libhoney({ apiHost: server.apiURL, writeKey: server.key, dataset });
  hny.on("response", (queue) => responses.push(...queue.splice(0)));

  const n = 500;
  let want = 0;
  for (let i = 0; i < n; i++) {
    const ev = hny.newEvent();
    ev.add({ name: "checkout", i, ratio: (i + 0.5) / n, ok: i % 2 === 0, cart: { items: i % 4 } }); // ratio never integral: JSON would type 0 as integer
    ev.metadata = i;
    ev.timestamp = new Date(Date.now() - (i % 60) * 1000);
    if (i % 5 === 0) {
      ev.sampleRate = 5; // sampled by the app: each stands for 5
      want += 5;
    } else {
      want += 1;
    }
    ev.sendPresampled();
  }
  await hny.flush();
  await waitFor(() => responses.length >= n, `${n} responses (have ${responses.length})`);

  assert.equal(responses.length, n);
  const bad = responses.filter((r) => r.status_code !== 202 || r.error);
  assert.deepEqual(bad.slice(0, 3), [], `${bad.length} responses were not 202`);
  assert.deepEqual(new Set(responses.map((r) => r.metadata)).size, n, "one response per event");

  assert.equal(await count(dataset), want);

  // Columns typed as Honeycomb types them; the nested object kept as JSON
  // text (expand_json_depth 0).
  const cols = await api(server, "GET", `/1/columns/${encodeURIComponent(dataset)}`);
  assert.equal(cols.status, 200);
  const types = Object.fromEntries(cols.body.map((c) => [c.key_name, c.type]));
  assert.equal(types.i, "integer");
  assert.equal(types.ratio, "float");
  assert.equal(types.ok, "boolean");
  assert.equal(types.cart, "string");
  assert.equal(types.name, "string");
});

test("a bad key gets Honeycomb's 401 on every event", async () => {
  const responses = [];
  const hny = new Libhoney({ apiHost: server.apiURL, writeKey: "not-a-key", dataset: "nope" });
  hny.on("response", (queue) => responses.push(...queue.splice(0)));
  hny.sendNow({ a: 1 });
  await hny.flush();
  await waitFor(() => responses.length >= 1, "the response");
  assert.equal(responses[0].status_code, 401);
});
