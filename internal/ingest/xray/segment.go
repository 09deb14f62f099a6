package xray

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// MaxDocumentSize is the largest segment document X-Ray accepts (64 kB).
const MaxDocumentSize = 64 * 1024

// MaxNameLength is the longest (sub)segment name X-Ray accepts.
const MaxNameLength = 200

// maxDepth bounds how deeply subsegments may nest in one document. SDKs nest
// a handful of levels; the bound keeps decoding linear in practice.
const maxDepth = 64

// unknownService is Honeycomb's dataset for spans without a usable
// service.name.
const unknownService = "unknown_service"

// Error codes of a rejected document, as PutTraceSegments reports them in
// UnprocessedTraceSegments. MissingId, InvalidTraceId and InvalidName are the
// codes X-Ray itself sends; the others name the remaining rules of the
// segment document schema.
const (
	CodeInvalidDocument  = "InvalidDocument" // not a JSON object; the error has no ID
	CodeDocumentTooLarge = "DocumentTooLarge"
	CodeMissingID        = "MissingId"
	CodeInvalidID        = "InvalidId"
	CodeInvalidTraceID   = "InvalidTraceId"
	CodeInvalidParentID  = "InvalidParentId"
	CodeInvalidName      = "InvalidName"
	CodeMissingStartTime = "MissingStartTime"
	CodeMissingEndTime   = "MissingEndTime"
	CodeInvalidTime      = "InvalidTime"
	CodeInvalidNamespace = "InvalidNamespace"
	CodeTooDeep          = "SubsegmentsTooDeep"
)

// ErrorCodes lists every code a SegmentError can carry.
var ErrorCodes = []string{
	CodeInvalidDocument, CodeDocumentTooLarge, CodeMissingID, CodeInvalidID,
	CodeInvalidTraceID, CodeInvalidParentID, CodeInvalidName, CodeMissingStartTime,
	CodeMissingEndTime, CodeInvalidTime, CodeInvalidNamespace, CodeTooDeep,
}

// SegmentError is a document that X-Ray would not accept. ID, ErrorCode and
// Message are the fields of an UnprocessedTraceSegment; Detail says, for
// logs and humans, what exactly is wrong.
type SegmentError struct {
	ID        string // the top-level document's id; "" when it could not be read
	ErrorCode string // one of the Code constants
	Message   string // as X-Ray words it: "Invalid segment. ErrorCode: MissingId"
	Detail    string
}

func (e *SegmentError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("x-ray document rejected: %s: %s", e.ErrorCode, e.Detail)
	}
	return fmt.Sprintf("x-ray document %s rejected: %s: %s", e.ID, e.ErrorCode, e.Detail)
}

func docError(id, code string, sub bool, detail string, args ...any) *SegmentError {
	kind := "segment"
	if sub {
		kind = "subsegment"
	}
	return &SegmentError{
		ID:        id,
		ErrorCode: code,
		Message:   "Invalid " + kind + ". ErrorCode: " + code,
		Detail:    fmt.Sprintf(detail, args...),
	}
}

// Decode converts one X-Ray segment document into events, one span per
// (sub)segment; see AppendDocument.
func Decode(doc []byte) ([]model.Event, error) {
	return AppendDocument(nil, doc)
}

// AppendDocument decodes one X-Ray segment document (a segment, an
// in-progress segment or an independent subsegment with type "subsegment")
// and appends one span per (sub)segment to dst, parents before children. On
// error dst is returned unchanged with a *SegmentError.
//
// The mapping (see the package comment for the whole table):
//   - A segment is a server span; its trimmed name is service.name and the
//     Dataset (blank or unknown_service… → "unknown_service").
//   - Embedded subsegments, recursively, are child spans with ParentID = the
//     enclosing (sub)segment's id, the segment's trace id, service.name and
//     Dataset, and the segment's resource-like attributes. Kind client for
//     namespace remote or aws (aws also sets aws.service = name), else
//     internal.
//   - An independent subsegment does not say which service it belongs to:
//     service.name is left empty, Dataset is "unknown_service" and the
//     attribute aws.xray.independent_subsegment=true marks it, so that a
//     reader that knows the parent (the stored segment with the same trace
//     id) can put it in its service.
//   - Event.Doc is the (sub)segment's own document, byte for byte as sent,
//     with its "subsegments" member removed: each child has its own Doc.
//
// The input is not retained; Docs are copies.
func AppendDocument(dst []model.Event, doc []byte) ([]model.Event, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) > MaxDocumentSize {
		return dst, docError(peekID(doc), CodeDocumentTooLarge, false,
			"document is %d bytes; the limit is %d", len(doc), MaxDocumentSize)
	}
	if len(doc) == 0 || doc[0] != '{' {
		return dst, docError("", CodeInvalidDocument, false, "not a JSON object")
	}
	if !json.Valid(doc) {
		return dst, docError("", CodeInvalidDocument, false, "%v", jsonSyntaxError(doc))
	}
	// One copy of the input backs every Doc that needs no cutting.
	own := bytes.Clone(doc)
	n := len(dst)
	d := decoder{out: dst}
	if err := d.node(own, nil, model.SpanID{}, 0); err != nil {
		clear(d.out[n:])
		return d.out[:n], err
	}
	return d.out, nil
}

func jsonSyntaxError(doc []byte) error {
	var v any
	err := json.Unmarshal(doc, &v)
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return err
}

// peekID finds the top-level "id" string of a document without decoding
// the rest.
func peekID(doc []byte) string {
	d, _ := xrayview.Read(doc)
	id, _ := xrayview.JSONString(d.ID)
	return id
}

// fields is one (sub)segment document as the mapping reads it: its members
// (xrayview.Doc, the one reader of segment documents) and the members of
// its objects, in document order.
type fields struct {
	xrayview.Doc
	http, sql, service, aws, annotations, metadata []xrayview.Member
}

func readFields(d xrayview.Doc) fields {
	return fields{
		Doc:         d,
		http:        xrayview.Members(d.HTTP),
		sql:         xrayview.Members(d.SQL),
		service:     xrayview.Members(d.Service),
		aws:         xrayview.Members(d.AWS),
		annotations: xrayview.Members(d.Annotations),
		metadata:    xrayview.Members(d.Metadata),
	}
}

// kvString returns the string member key of an object, or "".
func kvString(list []xrayview.Member, key string) string {
	raw, ok := xrayview.Lookup(list, key)
	if !ok {
		return ""
	}
	s, _ := xrayview.JSONString(raw)
	return s
}

// kvBool returns the boolean member key of an object, or nil.
func kvBool(list []xrayview.Member, key string) *bool {
	raw, ok := xrayview.Lookup(list, key)
	if !ok {
		return nil
	}
	b, ok := xrayview.JSONBool(raw)
	if !ok {
		return nil
	}
	return &b
}

// segCtx is what embedded subsegments inherit from their segment.
type segCtx struct {
	rootID   string // the top-level document's id, for errors
	traceID  model.TraceID
	service  string
	dataset  string
	resource []model.Attr
	indep    bool // the top-level document is an independent subsegment
}

type decoder struct {
	out []model.Event
}

// node decodes the (sub)segment whose document is doc; seg is nil for the
// top-level document.
func (d *decoder) node(doc []byte, seg *segCtx, parent model.SpanID, depth int) error {
	d0, own, children, splitErr := xrayview.Split(doc)
	if own == nil {
		id := ""
		if seg != nil {
			id = seg.rootID
		}
		return docError(id, CodeInvalidDocument, seg != nil, "%v", splitErr)
	}
	r := readFields(d0)
	top := seg == nil
	sub := !top || r.Type == "subsegment"
	id, hasID := xrayview.JSONString(r.ID)
	rootID := id
	if !top {
		rootID = seg.rootID
	}
	fail := func(code, detail string, args ...any) error {
		return docError(rootID, code, sub, detail, args...)
	}

	// Required fields, in the order X-Ray's schema lists them. A required
	// field of the wrong JSON type counts as missing.
	if !hasID || id == "" {
		return fail(CodeMissingID, "missing id")
	}
	spanID, err := model.ParseSpanID(id)
	if err != nil || spanID.IsZero() {
		return fail(CodeInvalidID, "id %q: want 16 hex digits, not all zero", id)
	}
	var traceID model.TraceID
	if top {
		tid, ok := xrayview.JSONString(r.TraceID)
		if !ok {
			return fail(CodeInvalidTraceID, "missing trace_id")
		}
		traceID, err = model.ParseXRayTraceID(tid)
		if err != nil || traceID.IsZero() {
			return fail(CodeInvalidTraceID, "trace_id %q: want 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy", tid)
		}
	} else {
		traceID = seg.traceID // optional on embedded subsegments; the tree is one trace
	}
	name, ok := xrayview.JSONString(r.Name)
	if !ok {
		return fail(CodeInvalidName, "missing name")
	}
	if msg := checkName(name); msg != "" {
		return fail(CodeInvalidName, "name %q: %s", truncate(name, 64), msg)
	}
	start, ok := xrayview.JSONNumber(r.StartTime)
	if !ok {
		return fail(CodeMissingStartTime, "missing start_time")
	}
	if !validEpoch(start) {
		return fail(CodeInvalidTime, "start_time %v is not epoch seconds", start)
	}
	end, hasEnd := xrayview.JSONNumber(r.EndTime)
	inProgress := !hasEnd
	if inProgress && !r.InProgress {
		return fail(CodeMissingEndTime, "neither end_time nor in_progress:true")
	}
	if hasEnd && !validEpoch(end) {
		return fail(CodeInvalidTime, "end_time %v is not epoch seconds", end)
	}
	if top {
		pid, hasParent := xrayview.JSONString(r.ParentID)
		if r.Type == "subsegment" && (!hasParent || pid == "") {
			// An independent subsegment must say where it hangs.
			return fail(CodeInvalidParentID, "an independent subsegment needs a parent_id")
		}
		if hasParent && pid != "" {
			parent, err = model.ParseSpanID(pid)
			if err != nil || parent.IsZero() {
				return fail(CodeInvalidParentID, "parent_id %q: want 16 hex digits", pid)
			}
		}
	}
	switch r.Namespace {
	case "", "local", "remote", "aws":
		if r.BadNamespace {
			return fail(CodeInvalidNamespace, "namespace is not a string")
		}
	default:
		return fail(CodeInvalidNamespace, "namespace %q: want aws, remote or local", r.Namespace)
	}

	if splitErr != nil {
		return fail(CodeInvalidDocument, "subsegments: %v", splitErr)
	}
	if len(children) > 0 && depth >= maxDepth {
		return fail(CodeTooDeep, "subsegments nest deeper than %d levels", maxDepth)
	}

	if top {
		seg = &segCtx{rootID: rootID, traceID: traceID}
		if r.Type == "subsegment" {
			seg.indep = true
			seg.dataset = unknownService
		} else {
			seg.service = strings.TrimSpace(name)
			seg.dataset = datasetOf(seg.service)
		}
	}

	e := model.Event{
		Dataset:     seg.dataset,
		Time:        epochTime(start),
		Source:      model.SourceXRay,
		TraceID:     traceID,
		SpanID:      spanID,
		ParentID:    parent,
		Name:        name,
		ServiceName: seg.service,
		SampleRate:  1,
		Doc:         own,
	}
	if !inProgress {
		ms := math.Round((end-start)*1e6) / 1e3
		if ms > 0 {
			e.DurationMs = ms
		}
	}
	switch {
	case top && !sub:
		e.SpanKind = "server"
	case r.Namespace == "remote" || r.Namespace == "aws":
		e.SpanKind = "client"
	default:
		e.SpanKind = "internal"
	}
	if r.Fault || r.Error {
		e.Error = true
		e.StatusCode = 2
	}

	var a attrs
	if top {
		// Resource-like fields of the segment, inherited by its embedded
		// subsegments as OTLP resource attributes are by every span.
		resourceAttrs(&a, &r, !sub)
		seg.resource = slices.Clip(a.list)
		a.list = append(make([]model.Attr, 0, len(a.list)+16), a.list...)
	} else {
		a.list = append(make([]model.Attr, 0, len(seg.resource)+16), seg.resource...)
		resourceAttrs(&a, &r, false)
	}
	spanAttrs(&a, &r, name, seg, top, inProgress)
	e.Attrs = a.list
	d.out = append(d.out, e)

	for _, c := range children {
		if err := d.node(c, seg, spanID, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkName returns why a (sub)segment name is not acceptable, or "".
// X-Ray allows up to 200 Unicode letters, digits, spaces and _ . : / % & # = + \ - @.
func checkName(s string) string {
	if s == "" {
		return "empty"
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLength {
		return fmt.Sprintf("%d characters; the limit is %d", n, MaxNameLength)
	}
	for _, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			continue
		}
		switch c {
		case ' ', '_', '.', ':', '/', '%', '&', '#', '=', '+', '\\', '-', '@':
			continue
		}
		return fmt.Sprintf("character %q is not allowed", c)
	}
	return ""
}

// datasetOf applies Honeycomb's dataset rule to a trimmed service name.
func datasetOf(service string) string {
	if service == "" || strings.HasPrefix(service, unknownService) {
		return unknownService
	}
	return service
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// validEpoch accepts epoch seconds from 1970 to well past any real clock.
func validEpoch(f float64) bool { return f >= 0 && f < 1e11 }

// epochTime converts X-Ray's float epoch seconds to a time with microsecond
// precision, the precision a float64 holds at today's epoch.
func epochTime(f float64) time.Time {
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	return time.Unix(int64(sec), int64(us)*1000).UTC()
}

// attrs collects attributes, each key once (a later value replaces).
type attrs struct{ list []model.Attr }

func (a *attrs) has(k string) bool {
	for i := range a.list {
		if a.list[i].Key == k {
			return true
		}
	}
	return false
}

func (a *attrs) set(k string, v model.Value) {
	for i := range a.list {
		if a.list[i].Key == k {
			a.list[i].Value = v
			return
		}
	}
	a.list = append(a.list, model.Attr{Key: k, Value: v})
}

func (a *attrs) str(k, v string) {
	if v != "" {
		a.set(k, model.Str(v))
	}
}

func (a *attrs) boolp(k string, v *bool) {
	if v != nil {
		a.set(k, model.Bool(*v))
	}
}

// resourceAttrs maps the fields that describe where a segment runs.
func resourceAttrs(a *attrs, r *fields, segment bool) {
	if sv := r.service; sv != nil {
		a.str("service.version", kvString(sv, "version"))
		a.str("process.runtime.name", kvString(sv, "runtime"))
		a.str("process.runtime.version", kvString(sv, "runtime_version"))
		a.str(xrayview.KeyServiceCompiler, kvString(sv, "compiler"))
		a.str(xrayview.KeyServiceCompilerVersion, kvString(sv, "compiler_version"))
	}
	if segment && (r.aws != nil || strings.HasPrefix(r.Origin, "AWS::")) {
		a.str("cloud.provider", "aws")
	}
	if r.Origin != "" {
		a.str("cloud.platform", cloudPlatform(r.Origin))
		a.str(xrayview.KeyOrigin, r.Origin)
	}
	a.str(xrayview.KeyResourceARN, r.ResourceARN)
	if r.aws == nil {
		return
	}
	if segment {
		if raw, ok := xrayview.Lookup(r.aws, "account_id"); ok {
			if s, ok := xrayview.JSONString(raw); ok {
				a.str(xrayview.KeyAccountID, s)
			}
		}
	}
	if raw, ok := xrayview.Lookup(r.aws, "ec2"); ok {
		var v struct {
			InstanceID       string `json:"instance_id"`
			InstanceSize     string `json:"instance_size"`
			AmiID            string `json:"ami_id"`
			AvailabilityZone string `json:"availability_zone"`
		}
		_ = json.Unmarshal(raw, &v)
		a.str("host.id", v.InstanceID)
		a.str("host.type", v.InstanceSize)
		a.str("host.image.id", v.AmiID)
		a.str("cloud.availability_zone", v.AvailabilityZone)
	}
	if raw, ok := xrayview.Lookup(r.aws, "ecs"); ok {
		var v struct {
			Container        string `json:"container"`
			ContainerID      string `json:"container_id"`
			ContainerARN     string `json:"container_arn"`
			TaskARN          string `json:"task_arn"`
			TaskFamily       string `json:"task_family"`
			ClusterARN       string `json:"cluster_arn"`
			AvailabilityZone string `json:"availability_zone"`
			LaunchType       string `json:"launch_type"`
		}
		_ = json.Unmarshal(raw, &v)
		a.str("container.name", v.Container)
		a.str("container.id", v.ContainerID)
		a.str("aws.ecs.container.arn", v.ContainerARN)
		a.str("aws.ecs.task.arn", v.TaskARN)
		a.str("aws.ecs.task.family", v.TaskFamily)
		a.str("aws.ecs.cluster.arn", v.ClusterARN)
		a.str("cloud.availability_zone", v.AvailabilityZone)
		a.str("aws.ecs.launchtype", strings.ToLower(v.LaunchType))
	}
	if raw, ok := xrayview.Lookup(r.aws, "eks"); ok {
		var v struct {
			Pod         string `json:"pod"`
			ClusterName string `json:"cluster_name"`
			ContainerID string `json:"container_id"`
		}
		_ = json.Unmarshal(raw, &v)
		a.str("k8s.pod.name", v.Pod)
		a.str("k8s.cluster.name", v.ClusterName)
		a.str("container.id", v.ContainerID)
	}
	if raw, ok := xrayview.Lookup(r.aws, "elastic_beanstalk"); ok {
		var v struct {
			EnvironmentName string          `json:"environment_name"`
			VersionLabel    string          `json:"version_label"`
			DeploymentID    json.RawMessage `json:"deployment_id"`
		}
		_ = json.Unmarshal(raw, &v)
		a.str("service.namespace", v.EnvironmentName)
		a.str("service.version", v.VersionLabel)
		if s, ok := jsonScalarText(v.DeploymentID); ok {
			a.str("service.instance.id", s)
		}
	}
	if raw, ok := xrayview.Lookup(r.aws, "xray"); ok {
		var v struct {
			SDK                 string `json:"sdk"`
			SDKVersion          string `json:"sdk_version"`
			AutoInstrumentation *bool  `json:"auto_instrumentation"`
			SamplingRuleName    string `json:"sampling_rule_name"`
		}
		_ = json.Unmarshal(raw, &v)
		a.str("telemetry.sdk.name", v.SDK)
		a.str("telemetry.sdk.version", v.SDKVersion)
		a.str("telemetry.sdk.language", sdkLanguage(v.SDK))
		a.boolp(xrayview.KeyAutoInstrumentation, v.AutoInstrumentation)
		a.str(xrayview.KeySamplingRuleName, v.SamplingRuleName)
	}
	if raw, ok := xrayview.Lookup(r.aws, "cloudwatch_logs"); ok {
		var v []struct {
			LogGroup string `json:"log_group"`
			ARN      string `json:"arn"`
		}
		_ = json.Unmarshal(raw, &v)
		var groups, arns []string
		for _, g := range v {
			if g.LogGroup != "" {
				groups = append(groups, g.LogGroup)
			}
			if g.ARN != "" {
				arns = append(arns, g.ARN)
			}
		}
		if len(groups) > 0 {
			b, _ := json.Marshal(groups)
			a.str("aws.log.group.names", string(b))
		}
		if len(arns) > 0 {
			b, _ := json.Marshal(arns)
			a.str("aws.log.group.arns", string(b))
		}
	}
}

// awsResourceKeys are the members of "aws" that resourceAttrs maps.
var awsResourceKeys = map[string]bool{
	"ec2": true, "ecs": true, "eks": true, "elastic_beanstalk": true, "xray": true, "cloudwatch_logs": true,
}

// spanAttrs maps the fields that describe the work a (sub)segment did.
func spanAttrs(a *attrs, r *fields, name string, seg *segCtx, top, inProgress bool) {
	if inProgress {
		a.set(xrayview.KeyInProgress, model.Bool(true))
	}
	if top && seg.indep {
		a.set(xrayview.KeyIndependentSubsegment, model.Bool(true))
	}
	a.str(xrayview.KeyNamespace, r.Namespace)
	if r.Namespace == "aws" {
		a.str("aws.service", name)
	}
	a.str("enduser.id", r.User)
	a.boolp(xrayview.KeyTraced, r.Traced)
	if r.Inferred {
		a.set(xrayview.KeyInferred, model.Bool(true))
	}
	if r.Error {
		a.set(xrayview.KeyError, model.Bool(true))
	}
	if r.Fault {
		a.set(xrayview.KeyFault, model.Bool(true))
	}
	if r.Throttle {
		a.set(xrayview.KeyThrottle, model.Bool(true))
	}

	if raw, ok := xrayview.Lookup(r.http, "request"); ok {
		q := xrayview.Members(raw)
		a.str("http.method", kvString(q, "method"))
		a.str("http.url", kvString(q, "url"))
		a.str("http.user_agent", kvString(q, "user_agent"))
		a.str("http.client_ip", kvString(q, "client_ip"))
		a.boolp(xrayview.KeyXForwardedFor, kvBool(q, "x_forwarded_for"))
		a.boolp(xrayview.KeyTraced, kvBool(q, "traced"))
	}
	if raw, ok := xrayview.Lookup(r.http, "response"); ok {
		p := xrayview.Members(raw)
		if raw, ok := xrayview.Lookup(p, "status"); ok {
			if n, ok := xrayview.JSONInt(raw); ok && n > 0 {
				a.set(xrayview.KeyHTTPStatus, model.Int(n))
			}
		}
		if raw, ok := xrayview.Lookup(p, "content_length"); ok {
			if n, ok := xrayview.JSONInt(raw); ok && n >= 0 {
				a.set("http.response_content_length", model.Int(n))
			}
		}
	}

	if r.aws != nil {
		lastTable := -1 // of duplicates, the last one counts
		for i, m := range r.aws {
			if m.Key == "table_name" {
				lastTable = i
			}
		}
		for i, m := range r.aws {
			k, raw := m.Key, m.Raw
			switch {
			case awsResourceKeys[k], strings.HasPrefix(k, "xray."):
				// Resource-like blocks are mapped above; "aws.xray.*" keys
				// are the decoder's own.
				continue
			case k == "table_name":
				// A table is named by a string; the X-Ray view reads no
				// other.
				if name, ok := xrayview.JSONString(raw); ok && i == lastTable {
					a.set(xrayview.KeyTableName, model.Str(name))
				}
				continue
			case k == "retries":
				if n, ok := xrayview.JSONInt(raw); ok {
					a.set(xrayview.KeyRetries, model.Int(n))
				}
				continue
			}
			if v, ok := xrayview.Scalar(raw); ok {
				a.set("aws."+k, v)
			} else if s := compactJSON(raw); s != "" && s != "null" {
				a.set("aws."+k, model.Str(s))
			}
		}
	}

	if q := r.sql; q != nil {
		url := kvString(q, "url")
		conn := kvString(q, "connection_string")
		if conn == "" {
			conn = url
		}
		a.str(xrayview.KeyDBConnectionString, conn)
		a.str("db.name", dbName(url))
		a.str(xrayview.KeyDBSystem, strings.ToLower(kvString(q, "database_type")))
		a.str(xrayview.KeyDBStatement, kvString(q, "sanitized_query"))
		a.str(xrayview.KeyDBUser, kvString(q, "user"))
		a.str(xrayview.KeySQLDatabaseVersion, kvString(q, "database_version"))
		a.str(xrayview.KeySQLDriverVersion, kvString(q, "driver_version"))
		a.str(xrayview.KeySQLPreparation, kvString(q, "preparation"))
	}

	if len(r.Cause) > 0 {
		causeAttrs(a, r.Cause)
	}

	// Annotations keep their key and type. A key that a hot field or one of
	// the mapped attributes above already uses, or one under which the
	// decoder keeps X-Ray's own fields (xrayview.DecoderKey), goes to
	// aws.xray.annotations.<key> instead, so nothing is overwritten.
	for _, m := range r.annotations {
		k := m.Key
		v, ok := xrayview.Scalar(m.Raw)
		if !ok {
			continue // X-Ray annotations are strings, numbers or booleans
		}
		key := k
		if reservedKey(k) || xrayview.DecoderKey(k) || a.has(k) {
			key = xrayview.KeyAnnotationPrefix + k
		}
		a.set(key, v)
	}
	for _, m := range r.metadata {
		if s := compactJSON(m.Raw); s != "" && s != "null" {
			a.set(xrayview.KeyMetadataPrefix+m.Key, model.Str(s))
		}
	}
}

// causeAttrs maps a cause: an exception id (a string) or an object with
// exceptions, of which the first becomes exception.*.
func causeAttrs(a *attrs, raw json.RawMessage) {
	s := compactJSON(raw)
	if s == "" || s == "null" {
		return
	}
	a.set(xrayview.KeyCause, model.Str(s))
	if id, ok := xrayview.JSONString(raw); ok {
		a.str(xrayview.KeyExceptionID, id)
		return
	}
	var c struct {
		WorkingDirectory string `json:"working_directory"`
		Exceptions       []struct {
			ID        string `json:"id"`
			Message   string `json:"message"`
			Type      string `json:"type"`
			Remote    *bool  `json:"remote"`
			Truncated *int64 `json:"truncated"`
			Skipped   *int64 `json:"skipped"`
			Cause     string `json:"cause"`
			Stack     []struct {
				Path  string          `json:"path"`
				Line  json.RawMessage `json:"line"`
				Label string          `json:"label"`
			} `json:"stack"`
		} `json:"exceptions"`
	}
	_ = json.Unmarshal(raw, &c)
	if len(c.Exceptions) == 0 {
		return
	}
	x := c.Exceptions[0]
	a.str("exception.type", x.Type)
	a.str("exception.message", x.Message)
	if len(x.Stack) > 0 {
		var b strings.Builder
		if x.Type != "" {
			b.WriteString(x.Type)
		}
		if x.Message != "" {
			b.WriteString(": ")
			b.WriteString(x.Message)
		}
		for _, f := range x.Stack {
			b.WriteString("\n\tat ")
			b.WriteString(f.Label)
			b.WriteString("(")
			b.WriteString(f.Path)
			if n, ok := xrayview.JSONInt(f.Line); ok {
				b.WriteString(":")
				b.WriteString(strconv.FormatInt(n, 10))
			}
			b.WriteString(")")
		}
		a.set("exception.stacktrace", model.Str(b.String()))
	}
	a.str(xrayview.KeyExceptionID, x.ID)
	a.boolp(xrayview.KeyExceptionRemote, x.Remote)
	if x.Truncated != nil {
		a.set(xrayview.KeyExceptionTruncated, model.Int(*x.Truncated))
	}
	if x.Skipped != nil {
		a.set(xrayview.KeyExceptionSkipped, model.Int(*x.Skipped))
	}
	a.str(xrayview.KeyExceptionCause, x.Cause)
	if len(c.Exceptions) > 1 {
		a.set(xrayview.KeyExceptionCount, model.Int(int64(len(c.Exceptions))))
	}
}

// reservedKey reports whether an attribute may not use key: the hot fields
// that Event keeps as members, and the timestamp its JSON form adds.
func reservedKey(k string) bool {
	switch k {
	case model.FieldTraceID, model.FieldSpanID, model.FieldParentID, model.FieldName,
		model.FieldServiceName, model.FieldDurationMs, model.FieldSpanKind, model.FieldType,
		model.FieldStatusCode, model.FieldError, model.FieldAnnotationType, model.FieldTimestamp:
		return true
	}
	return false
}

// jsonScalarText returns a scalar as text (a number as written).
func jsonScalarText(raw []byte) (string, bool) {
	v, ok := xrayview.Scalar(raw)
	if !ok {
		return "", false
	}
	return v.String(), true
}

func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return ""
	}
	return b.String()
}

// dbName takes the database name from an X-Ray sql url such as
// "host:5432/orders" or "postgresql://host/orders?sslmode=disable".
func dbName(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	i := strings.LastIndexByte(u, '/')
	if i < 0 {
		return ""
	}
	return u[i+1:]
}

// cloudPlatform maps an X-Ray origin to OpenTelemetry's cloud.platform.
func cloudPlatform(origin string) string {
	switch {
	case origin == "AWS::EC2::Instance":
		return "aws_ec2"
	case strings.HasPrefix(origin, "AWS::ECS::"):
		return "aws_ecs"
	case strings.HasPrefix(origin, "AWS::EKS::"):
		return "aws_eks"
	case origin == "AWS::ElasticBeanstalk::Environment":
		return "aws_elastic_beanstalk"
	case strings.HasPrefix(origin, "AWS::Lambda"):
		return "aws_lambda"
	case strings.HasPrefix(origin, "AWS::AppRunner::"):
		return "aws_app_runner"
	case strings.HasPrefix(origin, "AWS::APIGateway::"):
		return "aws_api_gateway"
	}
	return ""
}

// sdkLanguage derives telemetry.sdk.language from an X-Ray SDK name such
// as "X-Ray for Go".
func sdkLanguage(sdk string) string {
	rest, ok := strings.CutPrefix(sdk, "X-Ray for ")
	if !ok {
		return ""
	}
	switch strings.ToLower(rest) {
	case "go":
		return "go"
	case "python":
		return "python"
	case "java":
		return "java"
	case "node.js", "nodejs":
		return "nodejs"
	case ".net", "dotnet":
		return "dotnet"
	case "ruby":
		return "ruby"
	}
	return strings.ToLower(rest)
}
