package xrayview

import "strings"

// Attribute keys of X-Ray fields that have no OpenTelemetry name: the X-Ray
// decoder (internal/ingest/xray) writes them on the spans of a segment
// document, and readers of stored spans read them with these constants.
const (
	// KeyInProgress is true on a segment sent in progress (no end_time).
	KeyInProgress = "aws.xray.inprogress"
	// KeyIndependentSubsegment is true on an independent subsegment's
	// top span, whose service the document does not name.
	KeyIndependentSubsegment = "aws.xray.independent_subsegment"
	KeyNamespace             = "aws.xray.namespace" // aws, remote or local
	KeyInferred              = "aws.xray.inferred"  // a segment X-Ray inferred (inferred:true)
	KeyOrigin                = "aws.xray.origin"    // e.g. AWS::EC2::Instance
	KeyResourceARN           = "aws.xray.resource_arn"
	KeyTraced                = "aws.xray.traced"
	KeyXForwardedFor         = "aws.xray.x_forwarded_for"
	KeyError                 = "aws.xray.error"
	KeyFault                 = "aws.xray.fault"
	KeyThrottle              = "aws.xray.throttle"
	KeyRetries               = "aws.xray.retries"

	KeyServiceCompiler        = "aws.xray.service.compiler"
	KeyServiceCompilerVersion = "aws.xray.service.compiler_version"
	KeyAutoInstrumentation    = "aws.xray.auto_instrumentation"
	KeySamplingRuleName       = "aws.xray.sampling_rule_name"

	KeySQLDatabaseVersion = "aws.xray.sql.database_version"
	KeySQLDriverVersion   = "aws.xray.sql.driver_version"
	KeySQLPreparation     = "aws.xray.sql.preparation"

	// KeyCause is the whole cause as compact JSON; the KeyException keys
	// describe its first exception.
	KeyCause              = "aws.xray.cause"
	KeyExceptionID        = "aws.xray.exception.id"
	KeyExceptionRemote    = "aws.xray.exception.remote"
	KeyExceptionTruncated = "aws.xray.exception.truncated"
	KeyExceptionSkipped   = "aws.xray.exception.skipped"
	KeyExceptionCause     = "aws.xray.exception.cause"
	KeyExceptionCount     = "aws.xray.exception.count"

	// KeyAnnotationPrefix + key holds an annotation whose own key an
	// attribute already uses.
	KeyAnnotationPrefix = "aws.xray.annotations."
	// KeyMetadataPrefix + namespace holds a metadata namespace as compact
	// JSON.
	KeyMetadataPrefix = "aws.xray.metadata."
)

// OpenTelemetry attribute keys the X-Ray decoder writes and the graph view
// of stored X-Ray spans reads back.
const (
	KeyTableName          = "aws.table_name"
	KeyAccountID          = "cloud.account.id"
	KeyHTTPStatus         = "http.status_code"
	KeyDBConnectionString = "db.connection_string"
	KeyDBSystem           = "db.system"
	KeyDBStatement        = "db.statement"
	KeyDBUser             = "db.user"
)

// DecoderKey reports whether the X-Ray decoder stores X-Ray's own fields
// under key: every aws.xray.* key, and the OpenTelemetry keys that the
// X-Ray view reads back from stored X-Ray spans. A document's free-form
// parts (annotations, aws members) must not take such a key.
func DecoderKey(key string) bool {
	switch key {
	case KeyTableName, KeyAccountID, KeyHTTPStatus, KeyDBConnectionString, KeyDBSystem, KeyDBStatement, KeyDBUser:
		return true
	}
	return strings.HasPrefix(key, "aws.xray.")
}
