// Package upstream owns forwarding to the real services: a Forwarder tees
// what one service's doors accepted, once it is durable, to that service —
// what came in by Honeycomb's doors (OTLP with a Honeycomb key, the Events
// API) to Honeycomb's Events API, what came in by X-Ray's doors (daemon
// segments, PutTraceSegments, the SigV4-signed OTLP endpoint) to X-Ray's
// PutTraceSegments — never one service's data to the other.
//
// Wrap decorates the door's ingest.Consumer: after the inner Consume made
// the events durable it appends them to a durable on-disk Queue (one write
// and a group fsync) before returning, so an acknowledged event is in the
// queue, and a crash between the store's commit and the queue's fsync
// leaves the client without its acknowledgement (it sends again). Events
// the store refused (ingest.RefusedError) are not forwarded.
//
// Each record holds the event as its target gets it, encoded at enqueue
// time: for Honeycomb one element of a /1/batch body ({"data", "time",
// "samplerate"}, every field and the dataset name as tracecomb stored
// them); for X-Ray one segment document as it came, its embedded
// subsegments put back in (xrayPlan). One goroutine
// per target reads the queue in order, sends batches within the target's
// limits, and consumes them once the target answered: sent, or dropped for
// a permanent reason (a 4xx, a per-event refusal) and counted. Network
// failures, 429 and 5xx are retried with exponential backoff and jitter,
// forever: the queue's byte bound, which drops its oldest records, is
// what keeps a long outage from filling the disk.
//
// Delivery is at least once. The queue's cursor records what the target
// acknowledged and which batch is being sent; after a crash the batch
// that was being sent is sent again and counted in
// tracecomb_forward_redelivered_events_total (the target may hold those
// events twice).
package upstream
