// Package events owns Honeycomb's classic Events API in tracecomb, the door
// that libhoney (Go, JS, Python, …), the beelines and curl send to: the
// decoders of POST /1/events/{dataset} (one event) and POST
// /1/batch/{dataset} (many), their conversion to model.Event, and the HTTP
// handler that authenticates the key, hands a request's valid events to an
// ingest.Consumer in one call and answers as Honeycomb does.
//
// Wire format (Honeycomb's public API docs; libhoney-go's transmission):
//
//	POST /1/events/{dataset}   body: {"field": value, …}
//	                           X-Honeycomb-Event-Time: time (optional)
//	                           X-Honeycomb-Samplerate: integer (optional, default 1)
//	                           → 200, empty body
//	POST /1/batch/{dataset}    body: [{"data": {…}, "time": …, "samplerate": n}, …]
//	                           → 200, [{"status":202}, {"status":400,"error":"…"}, …]
//
// Bodies are JSON, or msgpack when Content-Type is application/msgpack or
// application/x-msgpack (any other content type is read as JSON, as
// Honeycomb reads curl's form-encoded default), plain or with
// Content-Encoding gzip or zstd (libhoney-go's default). The batch answer
// has one status per input event, in order: one bad event never loses the
// others. A 202 means the event is committed (durable), not just queued.
//
// Times: RFC 3339 (with or without fractions); integer epochs by their
// digits (≤10 seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds);
// float seconds; a msgpack timestamp. A missing or unreadable time, or one
// more than an hour ahead, becomes the time the request arrived.
//
// Fields: integer JSON numbers stay integers, other numbers are floats, as
// Honeycomb types columns; null fields are dropped; strings are cut to
// 65,535 bytes. Nested objects become dotted fields ("a.b") only down to the
// dataset's expand_json_depth (0 unless told otherwise); deeper objects and
// every array are kept as their JSON text. Honeycomb's hot field names
// (trace.trace_id, duration_ms, name, service.name, …) fill model.Event's
// members through Event.Set when the value is of the member's type and
// reads back unchanged; any other value (a beeline's UUID trace id, an
// upper-case id, error: false) stays an attribute under the same name, so
// nothing sent is lost or rewritten.
//
// Limits, as Honeycomb's: a /1/batch body ≤ 5,000,000 bytes and a /1/events
// body ≤ 1,000,000 bytes as sent; one event ≤ 1,000,000 bytes uncompressed
// and ≤ 2,000 fields. tracecomb's own, against compression bombs: ≤ 100 MiB
// decompressed (within the decompression budget every door shares,
// Deps.Inflater: a body that gets no room in time is answered 503 with
// Retry-After) and ≤ 100,000 events in a batch. Whole-request errors are Honeycomb's legacy
// {"error": "…"} bodies: 400 (empty, malformed, too large, a bad dataset
// name), 401 (the key), 404 (a dataset a key may not create), 429 when the
// ingest queue is full (in events or bytes) and 503 when storing failed or tracecomb is stopping
// (both retried by libhoney), never a retryable answer for a malformed body.
// Datasets are named by the URL-escaped path segment (1..255 characters, no
// encoded '/'), are case-insensitive and are created on first write.
package events
