// Package otlp owns the OTLP doors: it decodes OTLP export requests of
// every signal (traces, logs, metrics; binary protobuf and OTLP/JSON, over
// HTTP or gRPC), authenticates the Honeycomb key, maps every span, span
// event, link, log record and metric data point to Honeycomb events
// (model.Event) with Honeycomb's field names and hands each request's
// events to an ingest.Consumer in one call. The three signals share the
// body handling, authentication, limits, error mapping and metrics; only
// the decoders and the response messages differ (signal.go).
//
// Wiring (the app owns listeners and shutdown):
//
//	h := otlp.NewHTTPHandler(cfg, deps) // POST /v1/traces, /v1/logs, /v1/metrics (and with a trailing /)
//	for _, p := range otlp.Paths {
//		mux.Handle(p, h)
//	}
//
//	s := grpc.NewServer(otlp.GRPCServerOptions(cfg)...)
//	otlp.RegisterGRPC(s, cfg, deps) // TraceService, LogsService, MetricsService
//
// cfg is a Config (DefaultConfig: 20 MiB bodies, 100 MiB decompressed,
// Retry-After 1 s); deps is a Deps (Logger, Metrics registerer,
// auth.Authenticator, ingest.Consumer, and the pending and decompression
// budgets shared with the other doors). The HTTP handler and the gRPC
// service may share one registerer: the tracecomb_otlp_* collectors are
// registered once and reused.
//
// HTTP answers as the OTLP spec and Honeycomb do:
//
//	200  Export{Trace,Logs,Metrics}ServiceResponse in the request's
//	     encoding ({} in JSON), with partial_success when spans had invalid
//	     ids or data points were invalid
//	400  unparseable body ("failed to parse OTLP request body: ..."),
//	     unknown Content-Encoding, or a permanent consumer error
//	401  missing, unknown or disabled key, with Honeycomb's message
//	413  body over MaxBodyBytes, or over MaxDecompressedBytes once inflated,
//	     or events (or the decoded request) that would take over
//	     MaxDecodedBytes
//	415  content type other than application/(x-)protobuf or application/json
//	429  consumer overloaded, or no room on the pending budget (Deps.Pending)
//	     for the request's decoding (Retry-After)
//	503  consumer shutting down or failing, key store failing, or no room on
//	     the decompression budget (Deps.Inflater) in time (Retry-After)
//
// Failure bodies are a google.rpc.Status in the request's encoding; in JSON
// exactly {"message":"..."}, as Honeycomb writes it. gRPC maps the same
// cases to Unauthenticated, InvalidArgument and Unavailable (with RetryInfo);
// an unreadable trace or logs request gets gRPC's own Internal ("grpc:
// error unmarshalling request: ..."), whatever its key. Trace requests are
// decoded once the key is checked, within the pending budget, as over HTTP.
// Nothing reaches the consumer unless the key is valid, or (HTTP only) a
// door in front of the handler verified the sender and put it in the
// request's context (WithPrincipal), as the app does for SigV4-signed OTLP.
//
// The decoders are usable on their own: DecodeProtobuf and DecodeJSON turn
// a request body into a Result (events, accepted and rejected span counts,
// the partial-success message), Convert does the same for an already
// decoded request. Binary protobuf is read by a hand-written wire decoder
// (wire.go) that allocates per chunk of spans, not per field, and whose
// chunks DecodeProtobuf reuses from request to request; the codec in
// GRPCServerOptions uses it for gRPC too. OTLP/JSON goes through protojson
// after its hex ids are rewritten to base64 (jsonids.go).
//
// Mapping choices beyond Honeycomb's rules (spec §1.5): every event carries
// ServiceName (the resource's service.name, else the dataset); a
// non-string service.name is kept as its text; the tracestate threshold
// sample rate is rounded to the nearest integer (not randomised), so
// decoding is deterministic; spans whose strings are not valid UTF-8 are
// kept as sent; spans with a trace id other than 16 non-zero bytes, a span
// id other than 8 non-zero bytes or a parent id of the wrong length are
// rejected and counted in partial_success.
//
// The key is read from x-honeycomb-team (or X-Hny-Team); the environment is
// the key's. The dataset of each ResourceSpans is its trimmed service.name,
// or unknown_service when that is missing, blank or starts with
// unknown_service.
//
// Logs (logs.go, ConvertLogs) become one event per record as Honeycomb
// stores them: severity, severity_code, severity_text, flags, event.name,
// body (a kvlist flattened as body.*), meta.signal_type "log", and with a
// trace context trace.trace_id, trace.parent_id and meta.annotation_type
// "span_event", so a log shows on its span in the trace view; the dataset
// is service.name, else the x-honeycomb-dataset header, else
// unknown_log_source. Binary logs go through the wire decoder
// (wire_logs.go) too.
//
// Metrics (otlpmetrics.go, ConvertMetrics) become events in the header's
// dataset, else unknown_metrics, one column per metric name (histograms
// and summaries as name.count, .sum, .avg, .min, .max, .pNN), the points
// sharing resource, scope, attributes and second merged into one event;
// docs/metrics.md says how each kind is stored and queried. Metrics are
// decoded with proto.Unmarshal.
//
// Memory: the events of one request (any signal) are bounded by
// Config.MaxDecodedBytes before any is built (resource and scope
// attributes count once per event that copies them), and so is the
// decoded protobuf form while the wire decoder builds it (a JSON request's
// is estimated from its objects). What a request's decoding takes is
// reserved on Deps.Pending first, and goes with the events to the
// consumer (ingest.WithReservation); the bodies are given back as soon as
// the events are built. docs/limits.md lists every limit.
package otlp
