// Package xray owns the X-Ray daemon door: the UDP datagrams that X-Ray
// SDKs send to port 2000, and the conversion of X-Ray segment documents into
// tracecomb's one trace model (model.Event). The X-Ray API (PutTraceSegments
// and the rest) lives in internal/api/xray and uses Decode and SegmentError
// from here; the stand-alone "tracecomb daemon" lives in internal/forwarder
// and uses SplitDatagram.
//
// Documents are read with internal/xrayview's reader (xrayview.Split), the
// one that also reads them back from the store, and X-Ray's own fields are
// written under xrayview's attribute keys (xrayview.KeyInProgress, …).
//
// # Datagrams
//
// One datagram is one document:
//
//	{"format": "json", "version": 1}\n{"trace_id": "1-…", "id": "…", …}
//
// The header line is valid when "format" is "json" (any case) and "version"
// is the integer 1, with or without spaces. A datagram without a header line,
// with a bad header or with an empty body is rejected; so is a body that is
// not a valid document. Rejections are counted by reason in
// tracecomb_xray_segments_rejected_total.
//
// # Documents
//
// A document is a segment (complete, or in progress: in_progress:true and no
// end_time) or an independent subsegment (type:"subsegment" with trace_id
// and parent_id). Decode checks what X-Ray checks and reports a
// *SegmentError whose ErrorCode is MissingId, InvalidId, InvalidTraceId,
// InvalidName (missing, empty, longer than 200 characters, or a character
// other than Unicode letters, digits, space and _ . : / % & # = + \ - @),
// InvalidParentId, MissingStartTime, MissingEndTime (neither end_time nor
// in_progress), InvalidTime, InvalidNamespace (not aws, remote or local),
// SubsegmentsTooDeep (more than 64 levels), DocumentTooLarge (over 64 kB)
// or InvalidDocument (not a JSON object; this one carries no ID). An invalid
// embedded subsegment rejects the whole document, with the top-level id.
// Keys match exactly (escapes decoded); unknown keys, such as the Go SDK's
// "Dummy", are ignored; a known key with a value of the wrong type counts as
// absent.
//
// # Mapping
//
// Every (sub)segment becomes one span event (Source model.SourceXRay,
// SampleRate 1) whose Doc is its own document as sent, minus its
// "subsegments" member:
//
//	trace_id / id / parent_id   TraceID / SpanID / ParentID (an embedded
//	                            subsegment's parent is the enclosing one)
//	name                        Name; for a segment also service.name and
//	                            Dataset (trimmed; blank or unknown_service… →
//	                            "unknown_service"), inherited by embedded
//	                            subsegments
//	start_time, end_time        Time, DurationMs (0 while in progress, and
//	                            aws.xray.inprogress=true)
//	segment / namespace         span.kind server for a segment; client for
//	                            namespace remote or aws (aws also sets
//	                            aws.service = name); internal otherwise;
//	                            aws.xray.namespace = namespace
//	error, fault, throttle      aws.xray.error/fault/throttle; Error and
//	                            status_code 2 when fault or error
//	inferred                    aws.xray.inferred (a segment X-Ray inferred)
//	http.request                http.method, http.url, http.user_agent,
//	                            http.client_ip, aws.xray.x_forwarded_for,
//	                            aws.xray.traced
//	http.response               http.status_code, http.response_content_length
//	                            (a number or a numeric string; -1 is omitted)
//	aws (span)                  aws.<key> for each scalar (account_id,
//	                            operation, region, request_id, queue_url,
//	                            table_name, …), JSON text for lists and
//	                            objects; retries → aws.xray.retries;
//	                            members named xray.* are dropped
//	aws (resource-like)         ec2 → host.id, host.type, host.image.id,
//	                            cloud.availability_zone; ecs → container.*,
//	                            aws.ecs.*; eks → k8s.pod.name,
//	                            k8s.cluster.name, container.id;
//	                            elastic_beanstalk → service.namespace,
//	                            service.version, service.instance.id; xray →
//	                            telemetry.sdk.{name,version,language},
//	                            aws.xray.{auto_instrumentation,
//	                            sampling_rule_name}; cloudwatch_logs →
//	                            aws.log.group.{names,arns}; account_id on a
//	                            segment → cloud.account.id; cloud.provider=aws
//	service                     service.version, process.runtime.{name,version}
//	origin                      cloud.platform (aws_ec2, aws_ecs, …) and
//	                            aws.xray.origin
//	resource_arn                aws.xray.resource_arn
//	user                        enduser.id
//	sql                         db.connection_string (or url), db.name (from
//	                            url), db.system (database_type, lower case),
//	                            db.statement, db.user,
//	                            aws.xray.sql.{database_version,
//	                            driver_version,preparation}
//	cause                       aws.xray.cause = the cause as compact JSON;
//	                            from the first exception: exception.type,
//	                            exception.message, exception.stacktrace,
//	                            aws.xray.exception.{id,remote,truncated,
//	                            skipped,cause}; a string cause is
//	                            aws.xray.exception.id
//	annotations                 the same key with the value's type (string,
//	                            integer, float, boolean; null, lists and
//	                            objects are dropped); a key already taken by
//	                            a hot field or a mapped attribute, or one of
//	                            the decoder's own keys (any aws.xray.* key,
//	                            and those xrayview.DecoderKey lists), goes
//	                            to aws.xray.annotations.<key> instead
//	metadata                    aws.xray.metadata.<namespace> = the
//	                            namespace's object as compact JSON
//
// Attributes come in a fixed order: resource-like, then span fields, then
// annotations and metadata in document order. The resource-like attributes
// of a segment are repeated on each of its embedded subsegments, as OTLP
// resource attributes are on every span.
//
// An independent subsegment does not say which service it belongs to: its
// spans get an empty service.name, Dataset "unknown_service" and
// aws.xray.independent_subsegment=true, so that a reader that knows the
// parent (the stored (sub)segment with the same trace id and its parent_id)
// can place it in the parent's service.
//
// # Daemon
//
// Daemon listens on UDP (127.0.0.1:2000 by default) and asks the kernel
// for a 4 MiB receive buffer (Config.SocketBuffer; Linux grants at most
// net.core.rmem_max unless the process has CAP_NET_ADMIN; the size asked
// and the size the kernel reports are logged). Config.Readers goroutines read with a 64 KiB buffer
// and only copy each datagram into the datagram queue, bounded in bytes
// (Config.DatagramBytes), so that the socket's buffer is drained even
// when decoding or storing falls behind. Config.Decoders goroutines (one
// by default) decode the datagrams and queue the spans in the document
// queue, bounded in bytes too (Config.QueueBytes); a decoder that finds
// it full waits for room (up to Config.ConsumeTimeout), so a burst waits
// as datagrams, counted for a quarter or so of the bytes of their decoded
// spans (the bench harness's 440-byte segment with eleven annotations:
// 504 bytes against some 1,800).
// The documents' bytes are also reserved on the pending budget shared
// with the other doors (Settings.Pending). Neither queue is bounded by a
// count.
//
// One batcher hands the spans to an ingest.Consumer for one environment,
// one batch at a time, with their reservation on the pending budget. A
// batch goes once it holds Config.BatchEvents spans or its first span
// waited Config.FlushInterval, and takes every document queued meanwhile
// up to Config.MaxBatchEvents spans: while the consumer commits one batch
// the next grows, so that what a call costs whatever its size is paid
// once for many spans.
//
// What does not fit is dropped and counted in
// tracecomb_xray_segments_dropped_total, as the X-Ray daemon drops
// segments when its buffer is full: reason queue_full (the datagram queue
// is full, or a document waited for room in the document queue in vain),
// pending_full (the shared pending budget is used up: dropped at once),
// consumer_error (the consumer failed the batch), shutdown (Shutdown's
// deadline passed first) or socket_buffer: the kernel dropped datagrams
// because the socket's receive buffer was full. Linux reports those with
// the next datagram read (SO_RXQ_OVFL), so they are counted once another
// datagram arrives, and they are not in
// tracecomb_xray_segments_received_total, which counts the datagrams read;
// other systems do not report them. Within a
// batch one span is kept per (trace id, span id) by X-Ray's rule
// (xrayview.Dedupe): a complete form replaces an in-progress one, never
// the other way round, and of a repeated document (SDKs do send some
// twice) the later is sent; with Config.Readers and Config.Decoders at
// 1, documents reach the consumer in the order they arrived. Shutdown
// stops reading and flushes what was received.
//
// Measured with the bench harness's ramp (bench/cmd/tcbench: datagrams of
// one segment with eleven annotations, 2 s per rate) against tracecomb
// with its DuckDB store, on 2 cores shared with other work (load average
// 5 to 17): at 20,000 datagrams a second every datagram was received and
// none dropped in 7 runs of 7 (at 40,000 a second, in 2 of them).
// Whether they are also stored within the harness's 20 s is up to the
// store: in those runs it committed 1,300 to 2,600 X-Ray spans a second,
// most of its time in its look-up of stored duplicates, and stored them
// all in 5 runs of the 7. That look-up now joins the keys and skips traces
// the store has never indexed: the DuckDB store's BenchmarkXRayWrite, 1,000
// segments of new traces per Write into 1M stored X-Ray spans, went from
// 2,500-3,400 to 11,900-17,500 spans a second (the ramp itself not yet
// measured again). The process's peak RSS over the whole ramp, the
// 40,000-a-second step included, was 340 to 512 MB. The door alone
// (BenchmarkDaemonUDP, the sender included) takes 30 to 47 µs of the
// machine per datagram.
package xray
