package xrayview

import (
	"fmt"

	"github.com/tracecomb/tracecomb/internal/model"
)

// maxDepth bounds how deeply subsegments may nest in one document, as the
// X-Ray decoder bounds it.
const maxDepth = 64

// docSegment fills s from a (sub)segment document: every field but ID,
// ParentID and Subsegment, which depend on where the document hangs. As
// everywhere a document is read, the last of duplicate keys wins. It
// reports whether a member it read had a value of the wrong type.
func docSegment(d *Doc, s *Segment) (mistyped bool) {
	bad := d.Mistyped
	str := func(raw []byte) string {
		if raw == nil {
			return ""
		}
		v, ok := JSONString(raw)
		bad = bad || !ok && string(raw) != "null"
		return v
	}
	obj := func(raw []byte) []byte {
		if raw == nil || raw[0] == '{' {
			return raw
		}
		bad = bad || string(raw) != "null"
		return nil
	}
	s.Name, _ = JSONString(d.Name)
	s.Start, _ = JSONNumber(d.StartTime)
	s.End, _ = JSONNumber(d.EndTime)
	s.InProgress = d.InProgress
	if s.InProgress {
		s.End = 0
	}
	s.Inferred = d.Inferred
	s.Namespace = d.Namespace
	s.SQL = HasSQL(d.SQL)
	s.Origin = d.Origin
	s.Error, s.Fault, s.Throttle = d.Error, d.Fault, d.Throttle
	s.User = d.User
	s.ResourceARN = d.ResourceARN

	var request, response, method, url, userAgent, clientIP, status []byte
	eachMember(d.HTTP, func(k, v []byte) {
		switch string(k) {
		case "request":
			request = v
		case "response":
			response = v
		}
	})
	eachMember(obj(request), func(k, v []byte) {
		switch string(k) {
		case "method":
			method = v
		case "url":
			url = v
		case "user_agent":
			userAgent = v
		case "client_ip":
			clientIP = v
		}
	})
	eachMember(obj(response), func(k, v []byte) {
		if string(k) == "status" {
			status = v
		}
	})
	s.HTTP = HTTP{Method: str(method), URL: str(url), UserAgent: str(userAgent), ClientIP: str(clientIP)}
	if n, ok := JSONInt(status); ok {
		s.HTTP.Status = HTTPStatus(n)
	}

	var account, table, ec2, ecs, instance, zone, ecsZone []byte
	eachMember(d.AWS, func(k, v []byte) {
		switch string(k) {
		case "account_id":
			account = v
		case "table_name":
			table = v
		case "ec2":
			ec2 = v
		case "ecs":
			ecs = v
		}
	})
	eachMember(obj(ec2), func(k, v []byte) {
		switch string(k) {
		case "instance_id":
			instance = v
		case "availability_zone":
			zone = v
		}
	})
	eachMember(obj(ecs), func(k, v []byte) {
		if string(k) == "availability_zone" {
			ecsZone = v
		}
	})
	s.AccountID, s.TableName = str(account), str(table)
	s.InstanceID, s.AvailabilityZone = str(instance), str(zone)
	if z := str(ecsZone); s.AvailabilityZone == "" {
		s.AvailabilityZone = z
	}

	eachMember(d.Annotations, func(k, v []byte) {
		val, ok := Scalar(v)
		if !ok {
			delete(s.Annotations, string(k)) // X-Ray annotations are strings, numbers or booleans
			return
		}
		if s.Annotations == nil {
			s.Annotations = make(map[string]model.Value)
		}
		s.Annotations[string(k)] = val
	})
	return bad
}

// HTTPStatus is an http.response.status as the X-Ray view holds it: 0
// (absent) unless it is a positive int32.
func HTTPStatus(n int64) int {
	if n <= 0 || n > 1<<31-1 {
		return 0
	}
	return int(n)
}

// sqlKeys are the members of a sql block that the decoder maps to
// attributes.
var sqlKeys = []string{"url", "connection_string", "database_type", "sanitized_query", "user",
	"database_version", "driver_version", "preparation"}

// HasSQL reports whether a (sub)segment's sql block says anything: one of
// the members the decoder maps (url, connection_string, database_type,
// sanitized_query, user, database_version, driver_version, preparation) is
// a non-empty string. Such a call is a database call (an inferred
// Database::SQL node); the decoder stores it under one of the db.* or
// aws.xray.sql.* keys.
func HasSQL(sql []byte) bool {
	list := Members(sql)
	for _, k := range sqlKeys {
		if raw, ok := Lookup(list, k); ok {
			if s, _ := JSONString(raw); s != "" {
				return true
			}
		}
	}
	return false
}

// causeExceptions returns the type and message of each exception of a
// cause object; an exception-id cause (a string) has none.
func causeExceptions(cause []byte) []CauseException {
	var out []CauseException
	if len(cause) == 0 || cause[0] != '{' {
		return nil
	}
	eachMember(cause, func(k, v []byte) {
		if string(k) != "exceptions" || v[0] != '[' {
			return
		}
		out = out[:0]
		_ = arrayElements(v, 0, func(start, end int) {
			var x CauseException
			eachMember(v[start:end], func(k, v []byte) {
				switch string(k) {
				case "type":
					x.Name, _ = JSONString(v)
				case "message":
					x.Message, _ = JSONString(v)
				}
			})
			out = append(out, x)
		})
	})
	return out
}

// SegmentsFromDocument reads one X-Ray segment (or independent
// subsegment) document into the segments filters see: the document itself
// followed by its embedded subsegments, depth first, each pointing to its
// parent. Keys match exactly. A document that is not a JSON object, a
// member of the wrong type (see Doc.Mistyped; also the http, aws and
// annotation members the Segment holds), subsegments that are not an array
// of objects or that nest deeper than 64 levels make it an error; absent
// fields stay zero, and an id that is not 16 hex digits is left zero.
func SegmentsFromDocument(doc []byte) ([]Segment, error) {
	if !jsonValid(doc) {
		return nil, fmt.Errorf("segment document: %w", jsonSyntaxError(doc))
	}
	var out []Segment
	var walk func(doc []byte, parent model.SpanID, embedded bool, depth int) error
	walk = func(doc []byte, parent model.SpanID, embedded bool, depth int) error {
		d, err := Read(doc)
		if err != nil {
			return fmt.Errorf("segment document: %w", err)
		}
		var s Segment
		if docSegment(&d, &s) {
			return fmt.Errorf("segment document: a member has a value of the wrong type")
		}
		s.Subsegment = embedded || d.Type == "subsegment"
		id, _ := JSONString(d.ID)
		s.ID, _ = model.ParseSpanID(id)
		if embedded {
			s.ParentID = parent
		} else {
			p, _ := JSONString(d.ParentID)
			s.ParentID, _ = model.ParseSpanID(p)
		}
		out = append(out, s)
		children, err := d.Subsegments()
		if err != nil {
			return fmt.Errorf("segment document: subsegments: %w", err)
		}
		if len(children) > 0 && depth >= maxDepth {
			return fmt.Errorf("segment document: subsegments nest deeper than %d levels", maxDepth)
		}
		for _, c := range children {
			if err := walk(c, s.ID, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc, model.SpanID{}, false, 0); err != nil {
		return nil, err
	}
	return out, nil
}
