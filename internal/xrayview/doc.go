// Package xrayview owns how tracecomb sees stored spans through AWS X-Ray:
// the one model of the X-Ray view that the X-Ray decoder, the filter
// language, the service graph and the X-Ray API share. It imports only
// internal/model.
//
// It owns:
//   - the aws.xray.* attribute keys (keys.go): the X-Ray decoder
//     (internal/ingest/xray) writes X-Ray fields under them and every reader
//     reads them back with the same constants;
//   - the segment document reader (Read, Split and the JSON value
//     helpers): one reader, one struct (Doc), used by the decoder on the
//     documents it receives and here on the documents the store keeps,
//     with one scalar converter (Scalar) for annotation and attribute
//     values;
//   - the view types: Trace, Segment and HTTP (what filter expressions are
//     evaluated on), RootCauses, and the per-trace service graph built from
//     segments (Graph, BuildGraph), with one rule for which segment is the
//     root (RootIndex) and one for response times (ResponseTime);
//   - the conversion of a trace's stored events to X-Ray entities
//     (Convert): for each span its segment document (the stored Event.Doc
//     of an X-Ray span, or one rendered from the attributes of an
//     OpenTelemetry or Honeycomb span) and its Segment, both built from the
//     same data, each stored document read once; and the documents
//     BatchGetTraces answers with (View.Documents);
//   - the rule for a segment sent twice (Prefer, Dedupe): a complete
//     segment beats an in-progress one, otherwise the later one wins.
//
// # Conversion
//
// Convert takes the events of one trace as a store returns them. Span
// events and links are skipped, except OpenTelemetry "exception" span
// events, which become the cause of their span. A span stored twice (same
// span id) is seen once, chosen by Prefer. In a trace where a service sent
// X-Ray segments, that service's OpenTelemetry spans are left out (an app
// traced with both SDKs describes each request twice) and their children
// hang from the nearest ancestor that stays.
//
// With Full detail every span gets its document and the whole Segment
// (annotations, http request, user, resources, cause exceptions). With
// GraphOnly detail the X-Ray spans are seen through the attributes the
// decoder wrote (no document is read) and the other spans without
// annotations: enough for the service graph and much cheaper.
//
// Rendered spans: server spans and roots become segments named by their
// service.name (origin from cloud.platform); other spans become subsegments
// named by peer.service, aws.service, db.name, rpc.service, server.address,
// http.host or net.peer.name (else the span name), with namespace aws for
// AWS SDK calls (rpc.system aws-api or aws.service) and remote for other
// client spans. Names keep X-Ray's characters only. http, aws and sql
// blocks come from the HTTP, AWS and database attributes under their old
// and current OpenTelemetry names; error, throttle and fault from the HTTP
// status (4xx, 429, 5xx) or, without one, fault from an error status; plain
// (undotted) scalar attributes are annotations and the rest metadata.
package xrayview
