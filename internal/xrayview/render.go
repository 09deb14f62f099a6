package xrayview

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tracecomb/tracecomb/internal/model"
)

// rendered is a span without an X-Ray document (OTLP or Honeycomb events)
// seen as a segment document: the fields of the document it renders to,
// from which both the document and its Segment are built.
type rendered struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	TraceID     string            `json:"trace_id,omitempty"`
	ParentID    string            `json:"parent_id,omitempty"`
	StartTime   float64           `json:"start_time"`
	EndTime     float64           `json:"end_time"`
	Namespace   string            `json:"namespace,omitempty"`
	Origin      string            `json:"origin,omitempty"`
	User        string            `json:"user,omitempty"`
	Error       bool              `json:"error,omitempty"`
	Throttle    bool              `json:"throttle,omitempty"`
	Fault       bool              `json:"fault,omitempty"`
	HTTP        *renderedHTTP     `json:"http,omitempty"`
	Cause       *renderedCause    `json:"cause,omitempty"`
	AWS         *renderedAWS      `json:"aws,omitempty"`
	SQL         *renderedSQL      `json:"sql,omitempty"`
	Annotations map[string]any    `json:"annotations,omitempty"`
	Metadata    *renderedMetadata `json:"metadata,omitempty"`
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

type renderedResponse struct {
	Status        int64 `json:"status,omitempty"`
	ContentLength int64 `json:"content_length,omitempty"`
}

type renderedCause struct {
	Exceptions []renderedException `json:"exceptions"`
}

type renderedException struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message,omitempty"`
}

// renderedAWS is the aws block; its members are in the order of their
// names, as the document has always listed them.
type renderedAWS struct {
	AccountID string `json:"account_id,omitempty"`
	Operation string `json:"operation,omitempty"`
	QueueURL  string `json:"queue_url,omitempty"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	TableName string `json:"table_name,omitempty"`
}

// renderedSQL is the sql block, members in the order of their names.
type renderedSQL struct {
	DatabaseType   string `json:"database_type"`
	SanitizedQuery string `json:"sanitized_query,omitempty"`
	URL            string `json:"url,omitempty"`
	User           string `json:"user,omitempty"`
}

type renderedMetadata struct {
	Default map[string]any `json:"default"`
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

// render sees a span without an X-Ray document as a segment document. With
// full, plain attributes become its annotations (also set on s) and
// metadata, and its exception events its cause; s gets the Segment of the
// document either way.
func render(ev *model.Event, exceptions []*model.Event, full bool, s *Segment) *rendered {
	seg := isSegmentSpan(ev)
	start := epochSeconds(ev)
	d := &rendered{
		StartTime: start,
		EndTime:   start + ev.DurationMs/1000,
		User:      attrStr(ev, "enduser.id"),
	}
	if seg {
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
		aws := renderedAWS{
			Operation: attrStr(ev, "aws.operation", "rpc.method"),
			Region:    attrStr(ev, "aws.region", "cloud.region"),
			RequestID: attrStr(ev, "aws.request_id"),
			TableName: attrStr(ev, "aws.table_name"),
			QueueURL:  attrStr(ev, "aws.queue_url"),
			AccountID: attrStr(ev, "aws.account_id", "cloud.account.id"),
		}
		if aws != (renderedAWS{}) {
			d.AWS = &aws
		}
	} else if acct := attrStr(ev, "cloud.account.id"); seg && acct != "" {
		d.AWS = &renderedAWS{AccountID: acct}
	}
	if sys := attrStr(ev, "db.system"); sys != "" {
		d.SQL = &renderedSQL{
			DatabaseType:   sys,
			URL:            attrStr(ev, "db.connection_string", "db.name", "db.namespace"),
			SanitizedQuery: attrStr(ev, "db.statement", "db.query.text"),
			User:           attrStr(ev, "db.user"),
		}
	}

	*s = Segment{
		ID: ev.SpanID, ParentID: ev.ParentID, Subsegment: !seg, Namespace: d.Namespace, SQL: d.SQL != nil,
		Name: d.Name, Origin: d.Origin, Start: d.StartTime, End: d.EndTime,
		Error: d.Error, Fault: d.Fault, Throttle: d.Throttle, User: d.User,
	}
	if d.AWS != nil {
		s.TableName, s.AccountID = d.AWS.TableName, d.AWS.AccountID
	}
	if d.HTTP != nil {
		if r := d.HTTP.Request; r != nil {
			s.HTTP = HTTP{Method: r.Method, URL: r.URL, UserAgent: r.UserAgent, ClientIP: r.ClientIP}
		}
		if r := d.HTTP.Response; r != nil && r.Status > 0 && r.Status <= 1<<31-1 {
			s.HTTP.Status = int(r.Status)
		}
	}
	if !full {
		return d
	}

	d.ID = ev.SpanID.String()
	if seg {
		d.TraceID = ev.TraceID.XRay()
		if !ev.ParentID.IsZero() {
			d.ParentID = ev.ParentID.String()
		}
	}

	for _, a := range ev.Attrs {
		if mappedAttrs[a.Key] {
			continue
		}
		if !strings.Contains(a.Key, ".") && validAnnotationKey(a.Key) {
			if d.Annotations == nil {
				d.Annotations = map[string]any{}
				s.Annotations = map[string]model.Value{}
			}
			d.Annotations[a.Key] = jsonValue(a.Value)
			s.Annotations[a.Key] = finite(a.Value)
			continue
		}
		if d.Metadata == nil {
			d.Metadata = &renderedMetadata{Default: map[string]any{}}
		}
		d.Metadata.Default[a.Key] = jsonValue(a.Value)
	}
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
	return d
}

// document encodes the rendered document.
func (d *rendered) document() []byte {
	out, err := json.Marshal(d)
	if err != nil {
		// Only non-finite floats can fail; drop the free-form parts.
		c := *d
		c.Annotations, c.Metadata = nil, nil
		out, _ = json.Marshal(&c)
	}
	return out
}

// exceptions returns the cause's exceptions as root causes list them.
func (d *rendered) exceptions() []CauseException {
	if d.Cause == nil {
		return nil
	}
	out := make([]CauseException, len(d.Cause.Exceptions))
	for i, x := range d.Cause.Exceptions {
		out[i] = CauseException{Name: x.Type, Message: x.Message}
	}
	return out
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

func epochSeconds(ev *model.Event) float64 { return EpochSeconds(ev.Time) }

// EpochSeconds is t in seconds since the epoch, as segment documents and
// the X-Ray view write times.
func EpochSeconds(t time.Time) float64 {
	if s := t.Unix(); s > -9e9 && s < 9e9 { // UnixNano holds it
		return float64(t.UnixNano()) / 1e9
	}
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// attr looks up a span attribute by its current and older OTel names, in
// that order.
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

// jsonValue is an attribute value as a document holds it: non-finite
// floats, which JSON cannot carry, as text.
func jsonValue(v model.Value) any {
	if v.Kind == model.KindFloat && (math.IsNaN(v.Flt) || math.IsInf(v.Flt, 0)) {
		return v.String()
	}
	return v.Any()
}

// finite is jsonValue as a Value.
func finite(v model.Value) model.Value {
	if v.Kind == model.KindFloat && (math.IsNaN(v.Flt) || math.IsInf(v.Flt, 0)) {
		return model.Str(v.String())
	}
	return v
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
	if s != "" && len(s) <= 200 && strings.IndexFunc(s, notNameRune) < 0 {
		return s // nothing to drop
	}
	var b strings.Builder
	n := 0
	for _, c := range s {
		if n == 200 {
			break
		}
		if !notNameRune(c) {
			b.WriteRune(c)
			n++
		}
	}
	if b.Len() == 0 {
		return "span"
	}
	return b.String()
}

// notNameRune reports a character X-Ray does not allow in names.
func notNameRune(c rune) bool {
	return !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == ' ' || strings.ContainsRune(`_.:/%&#=+\-@`, c))
}
