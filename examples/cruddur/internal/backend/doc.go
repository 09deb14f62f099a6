// Package backend is the Cruddur backend API in Go: the routes and mock data
// of the Flask app that the Week 2 distributed-tracing lesson instruments,
// traced twice at once, as the lesson does it:
//
//   - OpenTelemetry: a TracerProvider with a batch span processor and the
//     OTLP/HTTP exporter, configured only by the standard variables
//     (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
//     OTEL_SERVICE_NAME, ...); server spans from otelhttp named after the
//     route; client spans for outgoing calls; the custom span
//     "home-activities-mock-data" with app.now and app.result_length.
//   - AWS X-Ray: the SDK's HTTP handler with a dynamic segment namer (the
//     lesson's service='backend-flask', dynamic_naming=AWS_XRAY_URL: a Host
//     header matching AWS_XRAY_URL names the segment, any other gets
//     "backend-flask", whatever OTEL_SERVICE_NAME says), the daemon at
//     AWS_XRAY_DAEMON_ADDRESS, centralized sampling, a "mock-data"
//     subsegment in user activities with annotations and metadata, and
//     subsegments for outgoing calls.
//
// As in the lesson, the two SDKs know nothing of each other: each makes its
// own trace id and its own sampling decision (OpenTelemetry by its sampler,
// OTEL_TRACES_SAMPLER, default always on; X-Ray by its rules), so Honeycomb
// sees every request and X-Ray the sampled ones, under different ids.
//
// CRUDDUR_SHARE_TRACE_ID=1 (Config.ShareTraceID), which is not in the
// lesson, makes them share one trace id for tracecomb's joined view of a
// trace: OpenTelemetry trace ids are generated with X-Ray's layout (the
// first 4 bytes are the Unix time in seconds), and a request that carries
// no X-Amzn-Trace-Id header gets one derived from the OpenTelemetry server
// span (Root from its trace id, Parent its span id) before the X-Ray
// handler sees it. The X-Ray segment is then a child of the OpenTelemetry
// server span in a store that joins both. Sampling stays independent.
//
// Middleware order, outermost first: otelhttp, the X-Ray header bridge
// (with ShareTraceID only), the X-Ray handler, CORS, the routes.
package backend
