package xray

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
)

// How stored spans are seen through the X-Ray API.
//
// A stored trace is a set of spans. X-Ray spans (model.SourceXRay) carry
// their own segment document in Event.Doc; every other span is rendered as
// a segment document here. Server spans and roots become segments named by
// their service.name; other spans become subsegments (namespace aws for AWS
// SDK calls, remote for other client spans), with http, aws and sql blocks
// from their attributes, error/throttle/fault from the HTTP status (4xx,
// 429, 5xx) or, without one, fault from an error status, plain
// (undotted) scalar attributes as annotations and the rest as metadata.

// entity is one stored span seen as an X-Ray (sub)segment.
type entity struct {
	doc []byte // its own document, without embedded subsegments
	seg xrayfilter.Segment
}

// traceEntities is a trace's spans as (sub)segments, in time order, with
// the filter view of the trace in view.Segments (entities[i] ↔
// view.Segments[i]).
type traceEntities struct {
	id   model.TraceID
	docs [][]byte
	view xrayfilter.Trace
}

// assembleTrace turns a trace's stored events into its X-Ray entities. Span
// events and links are skipped; spans stored twice under one id are kept
// once (a complete X-Ray span over an in-progress one, else the later).
//
// With full false, X-Ray spans are seen through their attributes only (no
// documents, no annotations, no http request): enough for the service
// graph, and much cheaper than decoding every document.
func assembleTrace(id model.TraceID, events []model.Event, full bool) *traceEntities {
	t := &traceEntities{id: id, view: xrayfilter.Trace{ID: id}}
	idx := make(map[model.SpanID]int, len(events))
	bridged, reparent := bridgedSpans(events)
	var exceptions map[model.SpanID][]*model.Event
	if full {
		exceptions = exceptionEvents(events)
	}
	for i := range events {
		ev := &events[i]
		if !ev.IsSpan() || ev.SpanID.IsZero() {
			continue
		}
		if _, ok := bridged[ev.SpanID]; ok {
			continue
		}
		if p, ok := reparent[ev.SpanID]; ok {
			e := *ev
			e.ParentID = p
			ev = &e
		}
		var ent entity
		switch {
		case full:
			ent = spanEntity(ev, exceptions[ev.SpanID]...)
		case ev.Source == model.SourceXRay && len(ev.Doc) > 0:
			ent = entity{seg: graphSegment(ev)}
		default:
			ent = entity{seg: renderedSegment(ev)}
		}
		if j, ok := idx[ev.SpanID]; ok {
			if ent.seg.InProgress && !t.view.Segments[j].InProgress {
				continue
			}
			t.docs[j], t.view.Segments[j] = ent.doc, ent.seg
			continue
		}
		idx[ev.SpanID] = len(t.view.Segments)
		t.docs = append(t.docs, ent.doc)
		t.view.Segments = append(t.view.Segments, ent.seg)
	}
	return t
}

// bridgedSpans decides which spans the X-Ray view leaves out when an app
// traces with both SDKs at once (as the Cruddur backend does): in a trace
// where a service reported X-Ray segments, that service's OpenTelemetry
// spans describe the same requests again, so the X-Ray view keeps what the
// X-Ray SDK reported — what the app meant X-Ray to see — and each request
// counts once in the service graph. Services that sent only OTel spans
// stay in the view, rendered as segments. It returns the OTel span ids to
// leave out and the new parents of spans whose parent was left out: the
// nearest ancestor that stays (zero when there is none).
func bridgedSpans(events []model.Event) (bridged map[model.SpanID]model.SpanID, reparent map[model.SpanID]model.SpanID) {
	var xrayServices map[string]bool
	for i := range events {
		ev := &events[i]
		if ev.Source == model.SourceXRay && ev.IsSpan() && ev.ServiceName != "" {
			if xrayServices == nil {
				xrayServices = map[string]bool{}
			}
			xrayServices[ev.ServiceName] = true
		}
	}
	if xrayServices == nil {
		return nil, nil
	}
	for i := range events {
		ev := &events[i]
		if ev.Source != model.SourceXRay && ev.IsSpan() && !ev.SpanID.IsZero() && xrayServices[ev.ServiceName] {
			if bridged == nil {
				bridged = map[model.SpanID]model.SpanID{}
			}
			bridged[ev.SpanID] = ev.ParentID
		}
	}
	if bridged == nil {
		return nil, nil
	}
	reparent = map[model.SpanID]model.SpanID{}
	for i := range events {
		ev := &events[i]
		if !ev.IsSpan() || ev.SpanID.IsZero() {
			continue
		}
		if _, gone := bridged[ev.SpanID]; gone {
			continue
		}
		p, moved := ev.ParentID, false
		for hops := 0; hops <= len(bridged); hops++ { // bounded: parent cycles end too
			up, gone := bridged[p]
			if !gone {
				break
			}
			p, moved = up, true
		}
		if moved {
			reparent[ev.SpanID] = p
		}
	}
	return bridged, reparent
}

// exceptionEvents returns the OpenTelemetry "exception" span events of a
// trace by the id of their span.
func exceptionEvents(events []model.Event) map[model.SpanID][]*model.Event {
	var out map[model.SpanID][]*model.Event
	for i := range events {
		ev := &events[i]
		if isExceptionEvent(ev) {
			if out == nil {
				out = map[model.SpanID][]*model.Event{}
			}
			out[ev.ParentID] = append(out[ev.ParentID], ev)
		}
	}
	return out
}

// isExceptionEvent reports whether ev is an OpenTelemetry span event
// recording an exception (semantic conventions: event name "exception").
func isExceptionEvent(ev *model.Event) bool {
	return ev.AnnotationType == model.AnnotationSpanEvent && ev.Name == "exception" && ev.Source != model.SourceXRay
}

// spanEntity returns the document and filter view of one span; exceptions
// are its exception span events (spans without an X-Ray document only).
func spanEntity(ev *model.Event, exceptions ...*model.Event) entity {
	var doc []byte
	if ev.Source == model.SourceXRay && len(ev.Doc) > 0 {
		doc = ev.Doc
	} else {
		doc = renderSpan(ev, exceptions...)
	}
	segs, err := xrayfilter.SegmentsFromDocument(doc)
	if err != nil || len(segs) == 0 {
		doc = renderSpan(ev, exceptions...)
		segs, _ = xrayfilter.SegmentsFromDocument(doc)
	}
	var s xrayfilter.Segment
	if len(segs) > 0 {
		s = segs[0]
	}
	s.ID, s.ParentID = ev.SpanID, ev.ParentID
	s.Subsegment = !isSegmentSpan(ev)
	if s.Start == 0 {
		s.Start = epochSeconds(ev)
	}
	return entity{doc: doc, seg: s}
}

// graphSegment is the view of a stored X-Ray span that the service graph
// needs, read from the attributes the X-Ray decoder writes.
func graphSegment(ev *model.Event) xrayfilter.Segment {
	s := xrayfilter.Segment{
		ID: ev.SpanID, ParentID: ev.ParentID, Subsegment: !isSegmentSpan(ev), Name: ev.Name,
		Start: epochSeconds(ev),
	}
	for i := range ev.Attrs {
		a := &ev.Attrs[i]
		switch a.Key {
		case "aws.xray.namespace":
			s.Namespace = a.Value.Str
		case "aws.table_name":
			s.TableName = a.Value.String()
		case "aws.xray.origin":
			s.Origin = a.Value.Str
		case "cloud.account.id":
			s.AccountID = a.Value.Str
		case "aws.xray.inprogress":
			s.InProgress = a.Value.AsBool()
		case "aws.xray.error":
			s.Error = a.Value.AsBool()
		case "aws.xray.fault":
			s.Fault = a.Value.AsBool()
		case "aws.xray.throttle":
			s.Throttle = a.Value.AsBool()
		case "http.status_code":
			s.HTTP.Status = int(a.Value.Int)
		case "db.connection_string", "db.system", "db.statement", "db.user", "aws.xray.sql.database_version",
			"aws.xray.sql.driver_version", "aws.xray.sql.preparation":
			s.SQL = true
		}
	}
	if !s.Subsegment {
		s.Origin, s.AccountID = attrStr(ev, "aws.xray.origin"), attrStr(ev, "cloud.account.id")
	} else {
		s.Origin, s.AccountID = "", ""
	}
	if !s.InProgress {
		s.End = s.Start + ev.DurationMs/1000
	}
	return s
}

// isSegmentSpan reports whether a span is an X-Ray segment (not a
// subsegment): X-Ray segments are stored as server spans; for other spans,
// server spans and roots are segments.
func isSegmentSpan(ev *model.Event) bool {
	if ev.Source == model.SourceXRay {
		return ev.SpanKind == "server"
	}
	return ev.SpanKind == "server" || ev.ParentID.IsZero()
}

func epochSeconds(ev *model.Event) float64 {
	return float64(ev.Time.UnixNano()) / 1e9
}

// span attribute lookups, by their current and older OTel names.
func attr(ev *model.Event, keys ...string) (model.Value, bool) {
	for _, k := range keys {
		for i := range ev.Attrs {
			if ev.Attrs[i].Key == k {
				return ev.Attrs[i].Value, true
			}
		}
	}
	return model.Value{}, false
}

func attrStr(ev *model.Event, keys ...string) string {
	if v, ok := attr(ev, keys...); ok {
		return v.String()
	}
	return ""
}

func attrInt(ev *model.Event, keys ...string) int64 {
	v, ok := attr(ev, keys...)
	if !ok {
		return 0
	}
	switch v.Kind {
	case model.KindInt:
		return v.Int
	case model.KindFloat:
		return int64(v.Flt)
	case model.KindString:
		n, _ := strconv.ParseInt(v.Str, 10, 64)
		return n
	}
	return 0
}

type renderedHTTP struct {
	Request  *renderedRequest  `json:"request,omitempty"`
	Response *renderedResponse `json:"response,omitempty"`
}

type renderedRequest struct {
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	ClientIP  string `json:"client_ip,omitempty"`
}

type renderedCause struct {
	Exceptions []renderedException `json:"exceptions"`
}

type renderedException struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message,omitempty"`
}

type renderedResponse struct {
	Status        int64 `json:"status,omitempty"`
	ContentLength int64 `json:"content_length,omitempty"`
}

type renderedDoc struct {
	ID          string                    `json:"id"`
	Name        string                    `json:"name"`
	TraceID     string                    `json:"trace_id,omitempty"`
	ParentID    string                    `json:"parent_id,omitempty"`
	StartTime   float64                   `json:"start_time"`
	EndTime     float64                   `json:"end_time"`
	Namespace   string                    `json:"namespace,omitempty"`
	Origin      string                    `json:"origin,omitempty"`
	User        string                    `json:"user,omitempty"`
	Error       bool                      `json:"error,omitempty"`
	Throttle    bool                      `json:"throttle,omitempty"`
	Fault       bool                      `json:"fault,omitempty"`
	HTTP        *renderedHTTP             `json:"http,omitempty"`
	Cause       *renderedCause            `json:"cause,omitempty"`
	AWS         map[string]any            `json:"aws,omitempty"`
	SQL         map[string]any            `json:"sql,omitempty"`
	Annotations map[string]any            `json:"annotations,omitempty"`
	Metadata    map[string]map[string]any `json:"metadata,omitempty"`
}

var platformOrigins = map[string]string{
	"aws_ec2":               "AWS::EC2::Instance",
	"aws_ecs":               "AWS::ECS::Container",
	"aws_eks":               "AWS::EKS::Container",
	"aws_elastic_beanstalk": "AWS::ElasticBeanstalk::Environment",
	"aws_lambda":            "AWS::Lambda::Function",
	"aws_app_runner":        "AWS::AppRunner::Service",
}

// mappedAttrs are attributes rendered into a document's own fields; they
// are not repeated in its metadata.
var mappedAttrs = map[string]bool{
	"http.request.method": true, "http.method": true, "url.full": true, "http.url": true,
	"url.scheme": true, "url.path": true, "url.query": true, "http.scheme": true, "http.target": true,
	"http.response.status_code": true, "http.status_code": true, "user_agent.original": true,
	"http.user_agent": true, "client.address": true, "http.client_ip": true,
	"http.response_content_length": true, "http.response.body.size": true,
	"peer.service": true, "aws.service": true, "rpc.system": true, "rpc.service": true, "rpc.method": true,
	"aws.operation": true, "aws.region": true, "cloud.region": true, "aws.request_id": true,
	"aws.table_name": true, "aws.queue_url": true, "cloud.account.id": true, "aws.account_id": true,
	"db.system": true, "db.name": true, "db.namespace": true, "db.statement": true, "db.query.text": true,
	"db.user": true, "db.connection_string": true, "enduser.id": true, "cloud.platform": true,
	"service.name": true, "span.kind": true,
}

// renderSpan renders a span that came without an X-Ray document (OTLP or
// Honeycomb events) as an X-Ray segment or subsegment document; its
// exception span events become the document's cause.
func renderSpan(ev *model.Event, exceptions ...*model.Event) []byte {
	d := renderDoc(ev)
	for i, x := range exceptions {
		if d.Cause == nil {
			d.Cause = &renderedCause{}
		}
		d.Cause.Exceptions = append(d.Cause.Exceptions, renderedException{
			ID:      exceptionID(ev.SpanID, i),
			Type:    attrStr(x, "exception.type"),
			Message: attrStr(x, "exception.message"),
		})
	}
	out, err := json.Marshal(d)
	if err != nil {
		// Only non-finite floats can fail; drop the free-form parts.
		d.Annotations, d.Metadata = nil, nil
		out, _ = json.Marshal(d)
	}
	return out
}

// renderedSegment is the graph's view of a rendered span (see
// graphSegment), without encoding and decoding its document.
func renderedSegment(ev *model.Event) xrayfilter.Segment {
	d := renderDoc(ev)
	s := xrayfilter.Segment{
		ID: ev.SpanID, ParentID: ev.ParentID, Subsegment: !isSegmentSpan(ev), Namespace: d.Namespace,
		SQL: d.SQL != nil, Name: d.Name, Origin: d.Origin, Start: d.StartTime, End: d.EndTime,
		Error: d.Error, Fault: d.Fault, Throttle: d.Throttle, User: d.User,
	}
	if v, ok := d.AWS["table_name"].(string); ok {
		s.TableName = v
	}
	if v, ok := d.AWS["account_id"].(string); ok && !s.Subsegment {
		s.AccountID = v
	}
	if d.HTTP != nil && d.HTTP.Response != nil {
		s.HTTP.Status = int(d.HTTP.Response.Status)
	}
	return s
}

func renderDoc(ev *model.Event) renderedDoc {
	seg := isSegmentSpan(ev)
	start := epochSeconds(ev)
	d := renderedDoc{
		ID:        ev.SpanID.String(),
		StartTime: start,
		EndTime:   start + ev.DurationMs/1000,
		User:      attrStr(ev, "enduser.id"),
	}
	if seg {
		d.TraceID = ev.TraceID.XRay()
		if !ev.ParentID.IsZero() {
			d.ParentID = ev.ParentID.String()
		}
		d.Name = ev.ServiceName
		if d.Name == "" {
			d.Name = ev.Name
		}
		d.Origin = platformOrigins[attrStr(ev, "cloud.platform")]
	} else {
		d.Name = attrStr(ev, "peer.service", "aws.service", "db.name", "db.namespace", "rpc.service", "server.address", "http.host", "net.peer.name")
		if d.Name == "" {
			d.Name = ev.Name
		}
		switch {
		case attrStr(ev, "rpc.system") == "aws-api" || attrStr(ev, "aws.service") != "":
			d.Namespace = "aws"
		case ev.SpanKind == "client":
			d.Namespace = "remote"
		}
	}
	d.Name = sanitizeName(d.Name)

	status := attrInt(ev, "http.response.status_code", "http.status_code")
	method := attrStr(ev, "http.request.method", "http.method")
	url := spanURL(ev)
	if method != "" || url != "" || status != 0 {
		h := &renderedHTTP{}
		req := renderedRequest{Method: method, URL: url,
			UserAgent: attrStr(ev, "user_agent.original", "http.user_agent"),
			ClientIP:  attrStr(ev, "client.address", "http.client_ip")}
		if req != (renderedRequest{}) {
			h.Request = &req
		}
		if status != 0 {
			h.Response = &renderedResponse{Status: status, ContentLength: attrInt(ev, "http.response_content_length", "http.response.body.size")}
		}
		d.HTTP = h
	}
	switch {
	case status == 429:
		d.Error, d.Throttle = true, true
	case status >= 500:
		d.Fault = true
	case status >= 400:
		d.Error = true
	case status == 0 && ev.StatusCode == 2:
		d.Fault = true
	}
	if d.Namespace == "aws" || attrStr(ev, "aws.operation", "aws.request_id", "aws.table_name") != "" {
		aws := map[string]any{}
		put := func(k string, keys ...string) {
			if v := attrStr(ev, keys...); v != "" {
				aws[k] = v
			}
		}
		put("operation", "aws.operation", "rpc.method")
		put("region", "aws.region", "cloud.region")
		put("request_id", "aws.request_id")
		put("table_name", "aws.table_name")
		put("queue_url", "aws.queue_url")
		put("account_id", "aws.account_id", "cloud.account.id")
		if len(aws) > 0 {
			d.AWS = aws
		}
	} else if acct := attrStr(ev, "cloud.account.id"); seg && acct != "" {
		d.AWS = map[string]any{"account_id": acct}
	}
	if sys := attrStr(ev, "db.system"); sys != "" {
		sql := map[string]any{"database_type": sys}
		if v := attrStr(ev, "db.connection_string", "db.name", "db.namespace"); v != "" {
			sql["url"] = v
		}
		if v := attrStr(ev, "db.statement", "db.query.text"); v != "" {
			sql["sanitized_query"] = v
		}
		if v := attrStr(ev, "db.user"); v != "" {
			sql["user"] = v
		}
		d.SQL = sql
	}
	for _, a := range ev.Attrs {
		if mappedAttrs[a.Key] {
			continue
		}
		if !strings.Contains(a.Key, ".") && validAnnotationKey(a.Key) {
			if d.Annotations == nil {
				d.Annotations = map[string]any{}
			}
			d.Annotations[a.Key] = jsonValue(a.Value)
			continue
		}
		if d.Metadata == nil {
			d.Metadata = map[string]map[string]any{"default": {}}
		}
		d.Metadata["default"][a.Key] = jsonValue(a.Value)
	}
	return d
}

// exceptionID is the 16-hex-digit id of a span's i-th exception, stable
// across reads.
func exceptionID(span model.SpanID, i int) string {
	h := fnv.New64a()
	h.Write(span[:])
	h.Write([]byte{byte(i), byte(i >> 8)})
	return strconv.FormatUint(h.Sum64()|1<<63, 16)
}

// spanURL is the URL of an HTTP span under the old and the new HTTP
// semantic conventions: url.full or http.url when given (client spans),
// else put together from scheme, host, port and target as server spans
// record them (url.scheme, server.address, server.port, url.path,
// url.query; or http.scheme, http.host / net.host.name, net.host.port,
// http.target).
func spanURL(ev *model.Event) string {
	if u := attrStr(ev, "url.full", "http.url"); u != "" {
		return u
	}
	target := attrStr(ev, "url.path")
	if target != "" {
		if q := attrStr(ev, "url.query"); q != "" {
			target += "?" + q
		}
	} else {
		target = attrStr(ev, "http.target")
	}
	host := attrStr(ev, "server.address", "http.host", "net.host.name")
	if host == "" || target == "" {
		return ""
	}
	scheme := attrStr(ev, "url.scheme", "http.scheme")
	if scheme == "" {
		scheme = "http"
	}
	if port := attrInt(ev, "server.port", "net.host.port"); port > 0 && !strings.Contains(host, ":") &&
		!(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		host += ":" + strconv.FormatInt(port, 10)
	}
	return scheme + "://" + host + target
}

func jsonValue(v model.Value) any {
	if v.Kind == model.KindFloat && (math.IsNaN(v.Flt) || math.IsInf(v.Flt, 0)) {
		return v.String()
	}
	return v.Any()
}

func validAnnotationKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// sanitizeName keeps the characters X-Ray allows in names (Unicode letters,
// digits, space and _ . : / % & # = + \ - @), at most 200 of them; an empty
// result is "span".
func sanitizeName(s string) string {
	var b strings.Builder
	n := 0
	for _, c := range s {
		if n == 200 {
			break
		}
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == ' ' || strings.ContainsRune(`_.:/%&#=+\-@`, c) {
			b.WriteRune(c)
			n++
		}
	}
	if b.Len() == 0 {
		return "span"
	}
	return b.String()
}

// segmentDocuments returns the trace as BatchGetTraces answers it: one
// document per segment with its subsegments embedded (subsegments whose
// parent is missing are documents of their own), followed by the inferred
// documents of the downstream calls that no segment continues.
func (t *traceEntities) segmentDocuments(g *xrayfilter.Graph) []traceSegment {
	segs := t.view.Segments
	idx := make(map[model.SpanID]int, len(segs))
	for i := range segs {
		idx[segs[i].ID] = i
	}
	children := make(map[int][]int)
	var tops []int
	for i := range segs {
		s := &segs[i]
		p, ok := idx[s.ParentID]
		if s.Subsegment && ok && !s.ParentID.IsZero() && p != i {
			children[p] = append(children[p], i)
			continue
		}
		tops = append(tops, i)
	}
	for _, c := range children {
		slices.SortStableFunc(c, func(a, b int) int { return cmpFloat(segs[a].Start, segs[b].Start) })
	}
	var build func(i, depth int) []byte
	build = func(i, depth int) []byte {
		kids := children[i]
		if len(kids) == 0 || depth > 64 {
			return t.docs[i]
		}
		parts := make([][]byte, 0, len(kids))
		for _, k := range kids {
			parts = append(parts, build(k, depth+1))
		}
		return withSubsegments(t.docs[i], parts)
	}
	out := make([]traceSegment, 0, len(tops))
	for _, i := range tops {
		out = append(out, traceSegment{ID: segs[i].ID.String(), Document: string(build(i, 0))})
	}
	for _, n := range g.Nodes {
		if !n.Inferred {
			continue
		}
		for _, si := range n.Segments {
			s := &segs[si]
			if s.Inferred || !s.Subsegment {
				continue
			}
			doc := inferredDocument(t.id, s, n.Name, n.Type, t.docs[si])
			out = append(out, traceSegment{ID: inferredID(s.ID), Document: string(doc)})
		}
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// withSubsegments returns doc with a "subsegments" member holding subs.
func withSubsegments(doc []byte, subs [][]byte) []byte {
	doc = bytes.TrimSpace(doc)
	end := bytes.LastIndexByte(doc, '}')
	if end < 0 {
		return doc
	}
	body := bytes.TrimSpace(doc[1:end])
	out := make([]byte, 0, len(doc)+16+sumLen(subs))
	out = append(out, '{')
	out = append(out, body...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"subsegments":[`...)
	for i, s := range subs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, s...)
	}
	return append(out, "]}"...)
}

func sumLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n += len(b) + 1
	}
	return n
}

// inferredID derives a stable segment id for the inferred document of
// subsegment id.
func inferredID(id model.SpanID) string {
	h := fnv.New64a()
	h.Write([]byte("inferred"))
	h.Write(id[:])
	var sid model.SpanID
	copy(sid[:], h.Sum(nil))
	return sid.String()
}

// inferredDocument is the segment X-Ray infers for a downstream call: the
// calling subsegment's times, http and aws blocks under the inferred
// node's name.
func inferredDocument(trace model.TraceID, s *xrayfilter.Segment, name, typ string, callerDoc []byte) []byte {
	var caller struct {
		HTTP json.RawMessage `json:"http"`
		AWS  json.RawMessage `json:"aws"`
	}
	_ = json.Unmarshal(callerDoc, &caller)
	d := struct {
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		TraceID   string          `json:"trace_id"`
		ParentID  string          `json:"parent_id"`
		StartTime float64         `json:"start_time"`
		EndTime   float64         `json:"end_time,omitempty"`
		Inferred  bool            `json:"inferred"`
		Origin    string          `json:"origin,omitempty"`
		Error     bool            `json:"error,omitempty"`
		Throttle  bool            `json:"throttle,omitempty"`
		Fault     bool            `json:"fault,omitempty"`
		HTTP      json.RawMessage `json:"http,omitempty"`
		AWS       json.RawMessage `json:"aws,omitempty"`
	}{
		ID: inferredID(s.ID), Name: name, TraceID: trace.XRay(), ParentID: s.ID.String(),
		StartTime: s.Start, EndTime: s.End, Inferred: true,
		Error: s.Error, Throttle: s.Throttle, Fault: s.Fault,
		HTTP: caller.HTTP, AWS: caller.AWS,
	}
	if typ != "remote" {
		d.Origin = typ
	}
	out, _ := json.Marshal(d)
	return out
}

// traceSegment is a Segment of BatchGetTraces.
type traceSegment struct {
	ID       string `json:"Id"`
	Document string `json:"Document"`
}

// bounds returns the earliest start and the latest end (or start, for
// spans still in progress) over the trace.
func (t *traceEntities) bounds() (start, end float64) {
	first := true
	for i := range t.view.Segments {
		s := &t.view.Segments[i]
		e := max(s.End, s.Start)
		if first {
			start, end, first = s.Start, e, false
			continue
		}
		start, end = min(start, s.Start), max(end, e)
	}
	return start, end
}

// rootIndex is the root segment as filters see it: the earliest segment
// without a parent, else the earliest whose parent is not in the trace;
// -1 when there is none.
func rootIndex(segs []xrayfilter.Segment) int {
	best := -1
	ids := make(map[model.SpanID]bool, len(segs))
	for i := range segs {
		ids[segs[i].ID] = true
	}
	for pass := 0; pass < 2 && best < 0; pass++ {
		for i := range segs {
			s := &segs[i]
			if s.Subsegment || s.Inferred {
				continue
			}
			if pass == 0 && !s.ParentID.IsZero() || pass == 1 && ids[s.ParentID] {
				continue
			}
			if best < 0 || s.Start < segs[best].Start {
				best = i
			}
		}
	}
	return best
}
