// Package forwarder owns "tracecomb daemon": a stand-alone drop-in for the
// AWS X-Ray daemon that runs beside an application on another host, takes
// the X-Ray daemon's flags and YAML config file (ParseArgs: defaults, then
// AWS_REGION, then the file given with -c or found at DefaultConfigPaths,
// then the flags; unknown YAML keys are errors), and forwards what it
// receives to a tracecomb server:
//   - segment datagrams on UDP, whose header line it checks
//     (internal/ingest/xray's SplitDatagram) and whose documents it sends
//     unvalidated, as the X-Ray daemon does, with PutTraceSegments through
//     the AWS SDK's X-Ray client: up to 50 documents per call, a partial
//     batch after a second without new documents, 2 s per call, no retry,
//     the oldest batch dropped when the uploaders fall behind;
//   - everything on its TCP port (the SDKs' GetSamplingRules and
//     SamplingTargets calls, and any X-Ray API call) through a reverse
//     proxy to the same server, without the Connection header.
//
// Calls are SigV4-signed when the program gives the client credentials
// (the API door's keys), and unsigned otherwise, as a tracecomb server's
// daemon door takes them. Lost documents are counted by reason in
// tracecomb_xray_forward_segments_dropped_total.
package forwarder
