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

// peekID finds the top-level "id" string of a document without decoding it.
func peekID(doc []byte) string {
	var id string
	_, _ = objectMembers(doc, 0, func(m member) {
		if string(m.key) == "id" && m.valStart < m.end && doc[m.valStart] == '"' {
			var s string
			if json.Unmarshal(doc[m.valStart:m.end], &s) == nil {
				id = s
			}
		}
	})
	return id
}

// rawDoc holds the members of a (sub)segment document that the mapping
// reads, matched by their exact key. Unknown keys are ignored; a value of
// the wrong type is treated as absent.
type rawDoc struct {
	Name, ID, TraceID, ParentID, StartTime, EndTime []byte // raw JSON values

	InProgress   bool
	Type         string
	Namespace    string
	BadNamespace bool // present but not a string
	Error        bool
	Fault        bool
	Throttle     bool
	Traced       *bool
	User         string
	Origin       string
	ResourceARN  string
	HTTP         []kv // members of "http"
	SQL          []kv
	Service      []kv
	AWS          []kv // members of "aws", in document order
	Annotations  []kv
	Metadata     []kv
	Cause        []byte
}

// kv is one member of a JSON object: its key and raw value.
type kv struct {
	key string
	raw []byte
}

func lookup(list []kv, key string) ([]byte, bool) {
	for i := len(list) - 1; i >= 0; i-- { // the last duplicate wins, as in encoding/json
		if list[i].key == key {
			return list[i].raw, true
		}
	}
	return nil, false
}

// readDoc reads one (sub)segment document, which must be valid JSON: its
// fields, its own document (doc without "subsegments"), and the documents
// of its embedded subsegments.
func readDoc(doc []byte) (r rawDoc, own []byte, children [][]byte, err error) {
	members := make([]member, 0, 16)
	if _, err = objectMembers(doc, 0, func(m member) { members = append(members, m) }); err != nil {
		return r, nil, nil, err
	}
	var subs []byte
	cut := false
	for i := range members {
		m := &members[i]
		key := m.key
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(memberKey(key))
		}
		v := doc[m.valStart:m.end]
		switch string(key) {
		case "subsegments":
			subs, cut = v, true
			m.key = nil // marks the member to cut
		case "name":
			r.Name = v
		case "id":
			r.ID = v
		case "trace_id":
			r.TraceID = v
		case "parent_id":
			r.ParentID = v
		case "start_time":
			r.StartTime = v
		case "end_time":
			r.EndTime = v
		case "in_progress":
			r.InProgress = string(v) == "true"
		case "type":
			r.Type, _ = jsonString(v)
		case "namespace":
			var ok bool
			r.Namespace, ok = jsonString(v)
			r.BadNamespace = !ok && string(v) != "null"
		case "error":
			r.Error = string(v) == "true"
		case "fault":
			r.Fault = string(v) == "true"
		case "throttle":
			r.Throttle = string(v) == "true"
		case "traced":
			if b, ok := jsonBool(v); ok {
				r.Traced = &b
			}
		case "user":
			r.User, _ = jsonString(v)
		case "origin":
			r.Origin, _ = jsonString(v)
		case "resource_arn":
			r.ResourceARN, _ = jsonString(v)
		case "http":
			r.HTTP = objectKVs(v)
		case "sql":
			r.SQL = objectKVs(v)
		case "service":
			r.Service = objectKVs(v)
		case "aws":
			r.AWS = objectKVs(v)
		case "annotations":
			r.Annotations = objectKVs(v)
		case "metadata":
			r.Metadata = objectKVs(v)
		case "cause":
			r.Cause = v
		}
	}
	if !cut {
		return r, doc, nil, nil
	}
	// Rebuild the object from the members that stay, each with the
	// separator that preceded it in the original.
	own = make([]byte, 0, len(doc))
	own = append(own, doc[:members[0].start]...)
	first := true
	for i, m := range members {
		if m.key == nil {
			continue
		}
		if !first {
			own = append(own, doc[members[i-1].end:m.start]...)
		}
		own = append(own, doc[m.start:m.end]...)
		first = false
	}
	own = append(own, doc[members[len(members)-1].end:]...)
	if string(subs) == "null" {
		return r, own, nil, nil
	}
	if subs[0] != '[' {
		return r, own, nil, errors.New("not an array")
	}
	var bad error
	err = arrayElements(subs, 0, func(s, e int) {
		if subs[s] != '{' {
			bad = errors.New("an element is not an object")
			return
		}
		children = append(children, subs[s:e:e])
	})
	if err == nil {
		err = bad
	}
	return r, own, children, err
}

// memberKey returns a member's key, decoding escapes when there are any.
func memberKey(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	s, _ := jsonString(quoted)
	return s
}

// objectKVs lists the members of a JSON object; anything else gives nil.
func objectKVs(v []byte) []kv {
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	var list []kv
	_, _ = objectMembers(v, 0, func(m member) {
		list = append(list, kv{memberKey(m.key), v[m.valStart:m.end]})
	})
	return list
}

// kvString returns the string member key of an object, or "".
func kvString(list []kv, key string) string {
	raw, ok := lookup(list, key)
	if !ok {
		return ""
	}
	s, _ := jsonString(raw)
	return s
}

// kvBool returns the boolean member key of an object, or nil.
func kvBool(list []kv, key string) *bool {
	raw, ok := lookup(list, key)
	if !ok {
		return nil
	}
	b, ok := jsonBool(raw)
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
	r, own, children, splitErr := readDoc(doc)
	if own == nil {
		id := ""
		if seg != nil {
			id = seg.rootID
		}
		return docError(id, CodeInvalidDocument, seg != nil, "%v", splitErr)
	}
	top := seg == nil
	sub := !top || r.Type == "subsegment"
	id, hasID := jsonString(r.ID)
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
		tid, ok := jsonString(r.TraceID)
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
	name, ok := jsonString(r.Name)
	if !ok {
		return fail(CodeInvalidName, "missing name")
	}
	if msg := checkName(name); msg != "" {
		return fail(CodeInvalidName, "name %q: %s", truncate(name, 64), msg)
	}
	start, ok := jsonNumber(r.StartTime)
	if !ok {
		return fail(CodeMissingStartTime, "missing start_time")
	}
	if !validEpoch(start) {
		return fail(CodeInvalidTime, "start_time %v is not epoch seconds", start)
	}
	end, hasEnd := jsonNumber(r.EndTime)
	inProgress := !hasEnd
	if inProgress && !r.InProgress {
		return fail(CodeMissingEndTime, "neither end_time nor in_progress:true")
	}
	if hasEnd && !validEpoch(end) {
		return fail(CodeInvalidTime, "end_time %v is not epoch seconds", end)
	}
	if top {
		pid, hasParent := jsonString(r.ParentID)
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
func resourceAttrs(a *attrs, r *rawDoc, segment bool) {
	if sv := r.Service; sv != nil {
		a.str("service.version", kvString(sv, "version"))
		a.str("process.runtime.name", kvString(sv, "runtime"))
		a.str("process.runtime.version", kvString(sv, "runtime_version"))
		a.str("aws.xray.service.compiler", kvString(sv, "compiler"))
		a.str("aws.xray.service.compiler_version", kvString(sv, "compiler_version"))
	}
	if segment && (r.AWS != nil || strings.HasPrefix(r.Origin, "AWS::")) {
		a.str("cloud.provider", "aws")
	}
	if r.Origin != "" {
		a.str("cloud.platform", cloudPlatform(r.Origin))
		a.str("aws.xray.origin", r.Origin)
	}
	a.str("aws.xray.resource_arn", r.ResourceARN)
	if r.AWS == nil {
		return
	}
	if segment {
		if raw, ok := lookup(r.AWS, "account_id"); ok {
			if s, ok := jsonString(raw); ok {
				a.str("cloud.account.id", s)
			}
		}
	}
	if raw, ok := lookup(r.AWS, "ec2"); ok {
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
	if raw, ok := lookup(r.AWS, "ecs"); ok {
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
	if raw, ok := lookup(r.AWS, "eks"); ok {
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
	if raw, ok := lookup(r.AWS, "elastic_beanstalk"); ok {
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
	if raw, ok := lookup(r.AWS, "xray"); ok {
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
		a.boolp("aws.xray.auto_instrumentation", v.AutoInstrumentation)
		a.str("aws.xray.sampling_rule_name", v.SamplingRuleName)
	}
	if raw, ok := lookup(r.AWS, "cloudwatch_logs"); ok {
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
func spanAttrs(a *attrs, r *rawDoc, name string, seg *segCtx, top, inProgress bool) {
	if inProgress {
		a.set("aws.xray.inprogress", model.Bool(true))
	}
	if top && seg.indep {
		a.set("aws.xray.independent_subsegment", model.Bool(true))
	}
	a.str("aws.xray.namespace", r.Namespace)
	if r.Namespace == "aws" {
		a.str("aws.service", name)
	}
	a.str("enduser.id", r.User)
	a.boolp("aws.xray.traced", r.Traced)
	if r.Error {
		a.set("aws.xray.error", model.Bool(true))
	}
	if r.Fault {
		a.set("aws.xray.fault", model.Bool(true))
	}
	if r.Throttle {
		a.set("aws.xray.throttle", model.Bool(true))
	}

	if raw, ok := lookup(r.HTTP, "request"); ok {
		q := objectKVs(raw)
		a.str("http.method", kvString(q, "method"))
		a.str("http.url", kvString(q, "url"))
		a.str("http.user_agent", kvString(q, "user_agent"))
		a.str("http.client_ip", kvString(q, "client_ip"))
		a.boolp("aws.xray.x_forwarded_for", kvBool(q, "x_forwarded_for"))
		a.boolp("aws.xray.traced", kvBool(q, "traced"))
	}
	if raw, ok := lookup(r.HTTP, "response"); ok {
		p := objectKVs(raw)
		if raw, ok := lookup(p, "status"); ok {
			if n, ok := jsonInt(raw); ok && n > 0 {
				a.set("http.status_code", model.Int(n))
			}
		}
		if raw, ok := lookup(p, "content_length"); ok {
			if n, ok := jsonInt(raw); ok && n >= 0 {
				a.set("http.response_content_length", model.Int(n))
			}
		}
	}

	if r.AWS != nil {
		for _, m := range r.AWS {
			k, raw := m.key, m.raw
			switch {
			case awsResourceKeys[k]:
				continue
			case k == "retries":
				if n, ok := jsonInt(raw); ok {
					a.set("aws.xray.retries", model.Int(n))
				}
				continue
			}
			if v, ok := jsonScalar(raw); ok {
				a.set("aws."+k, v)
			} else if s := compactJSON(raw); s != "" && s != "null" {
				a.set("aws."+k, model.Str(s))
			}
		}
	}

	if q := r.SQL; q != nil {
		url := kvString(q, "url")
		conn := kvString(q, "connection_string")
		if conn == "" {
			conn = url
		}
		a.str("db.connection_string", conn)
		a.str("db.name", dbName(url))
		a.str("db.system", strings.ToLower(kvString(q, "database_type")))
		a.str("db.statement", kvString(q, "sanitized_query"))
		a.str("db.user", kvString(q, "user"))
		a.str("aws.xray.sql.database_version", kvString(q, "database_version"))
		a.str("aws.xray.sql.driver_version", kvString(q, "driver_version"))
		a.str("aws.xray.sql.preparation", kvString(q, "preparation"))
	}

	if len(r.Cause) > 0 {
		causeAttrs(a, r.Cause)
	}

	// Annotations keep their key and type. A key that a hot field or one of
	// the mapped attributes above already uses goes to
	// aws.xray.annotations.<key> instead, so nothing is overwritten.
	for _, m := range r.Annotations {
		k := m.key
		v, ok := jsonScalar(m.raw)
		if !ok {
			continue // X-Ray annotations are strings, numbers or booleans
		}
		key := k
		if reservedKey(k) || a.has(k) {
			key = "aws.xray.annotations." + k
		}
		a.set(key, v)
	}
	for _, m := range r.Metadata {
		if s := compactJSON(m.raw); s != "" && s != "null" {
			a.set("aws.xray.metadata."+m.key, model.Str(s))
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
	a.set("aws.xray.cause", model.Str(s))
	if id, ok := jsonString(raw); ok {
		a.str("aws.xray.exception.id", id)
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
			if n, ok := jsonInt(f.Line); ok {
				b.WriteString(":")
				b.WriteString(strconv.FormatInt(n, 10))
			}
			b.WriteString(")")
		}
		a.set("exception.stacktrace", model.Str(b.String()))
	}
	a.str("aws.xray.exception.id", x.ID)
	a.boolp("aws.xray.exception.remote", x.Remote)
	if x.Truncated != nil {
		a.set("aws.xray.exception.truncated", model.Int(*x.Truncated))
	}
	if x.Skipped != nil {
		a.set("aws.xray.exception.skipped", model.Int(*x.Skipped))
	}
	a.str("aws.xray.exception.cause", x.Cause)
	if len(c.Exceptions) > 1 {
		a.set("aws.xray.exception.count", model.Int(int64(len(c.Exceptions))))
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

// jsonScalar converts a JSON string, number or boolean to a Value: an
// integral number that fits is an integer, any other a float.
func jsonScalar(raw []byte) (model.Value, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return model.Value{}, false
	}
	switch raw[0] {
	case '"':
		s, ok := jsonString(raw)
		return model.Str(s), ok
	case 't':
		return model.Bool(true), string(raw) == "true"
	case 'f':
		return model.Bool(false), string(raw) == "false"
	case '{', '[', 'n':
		return model.Value{}, false
	}
	if bytes.IndexAny(raw, ".eE") < 0 {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return model.Int(n), true
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return model.Value{}, false
	}
	return model.Float(f), true
}

// jsonScalarText returns a scalar as text (a number as written).
func jsonScalarText(raw []byte) (string, bool) {
	v, ok := jsonScalar(raw)
	if !ok {
		return "", false
	}
	return v.String(), true
}

// jsonNumber reads a JSON number (not a string holding one).
func jsonNumber(raw []byte) (float64, bool) {
	v, ok := jsonScalar(raw)
	switch {
	case !ok:
		return 0, false
	case v.Kind == model.KindInt:
		return float64(v.Int), true
	case v.Kind == model.KindFloat:
		return v.Flt, true
	}
	return 0, false
}

// jsonBool reads a JSON true or false.
func jsonBool(raw []byte) (bool, bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// jsonString reads a JSON string.
func jsonString(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if in := raw[1 : len(raw)-1]; bytes.IndexByte(in, '\\') < 0 && bytes.IndexByte(in, '"') < 0 && utf8.Valid(in) && !hasControl(in) {
		return string(in), true // nothing to unescape
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// jsonInt reads an integer written as a number or as a string holding one
// (X-Ray SDKs have sent content_length both ways).
func jsonInt(raw []byte) (int64, bool) {
	v, ok := jsonScalar(raw)
	if !ok {
		return 0, false
	}
	switch v.Kind {
	case model.KindInt:
		return v.Int, true
	case model.KindFloat:
		if v.Flt == math.Trunc(v.Flt) && math.Abs(v.Flt) < 1<<53 {
			return int64(v.Flt), true
		}
	case model.KindString:
		if n, err := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
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
