package xrayview

import (
	"bytes"
	"errors"
)

// Doc holds the members of one (sub)segment document that tracecomb reads,
// matched by their exact key (escapes decoded; the last of duplicate keys
// wins, as in encoding/json). Unknown keys are ignored. A member whose value
// has the wrong JSON type reads as absent and sets Mistyped; null reads as
// absent.
//
// Doc is the one reader of segment documents: the X-Ray decoder reads the
// documents it receives with Split, and the X-Ray view reads stored
// documents with Read. Its byte slices alias the document.
type Doc struct {
	// Raw JSON values of the members whose presence and type the decoder
	// checks itself; nil when absent.
	Name, ID, TraceID, ParentID, StartTime, EndTime []byte

	Type        string // "subsegment" for an independent subsegment
	Namespace   string
	User        string
	Origin      string
	ResourceARN string
	// BadNamespace: namespace is present but not a string.
	BadNamespace bool

	InProgress, Inferred   bool
	Error, Fault, Throttle bool
	Traced                 *bool // nil when absent

	// Raw JSON objects; nil when absent or not an object.
	HTTP, SQL, Service, AWS, Annotations, Metadata []byte
	// Cause is the raw cause: an exception id (a string) or an object.
	Cause []byte

	// Mistyped reports a member read here whose value has the wrong type
	// (name, ids, type, namespace, user, origin and resource_arn must be
	// strings; start_time and end_time numbers; in_progress, inferred,
	// error, fault, throttle and traced booleans; http, sql, service, aws,
	// annotations and metadata objects; subsegments an array).
	Mistyped bool

	subsegments []byte // raw value of "subsegments"
}

// Member is one member of a JSON object: its key (escapes decoded) and its
// raw value.
type Member struct {
	Key string
	Raw []byte
}

// Read reads the members of one (sub)segment document. It fails only when
// doc is not a JSON object.
func Read(doc []byte) (Doc, error) {
	var d Doc
	_, err := objectMembers(doc, 0, func(m member) { d.set(doc, m) })
	return d, err
}

// Split reads one (sub)segment document as Read does and also returns its
// own document (doc without its "subsegments" member, every other byte as
// written) and the documents of its embedded subsegments. own is nil when
// doc is not a JSON object; err then says why, and otherwise reports
// subsegments that are not an array of objects (own and d are still
// valid).
func Split(doc []byte) (d Doc, own []byte, children [][]byte, err error) {
	members := make([]member, 0, 16)
	if _, err = objectMembers(doc, 0, func(m member) {
		d.set(doc, m)
		members = append(members, m)
	}); err != nil {
		return d, nil, nil, err
	}
	cut := false
	for i := range members {
		if memberKeyIs(members[i].key, "subsegments") {
			members[i].key = nil // marks the member to cut
			cut = true
		}
	}
	if !cut {
		return d, doc, nil, nil
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
	children, err = d.Subsegments()
	return d, own, children, err
}

// Subsegments returns the documents of the embedded subsegments (aliasing
// the document), or an error when "subsegments" is not an array of
// objects.
func (d *Doc) Subsegments() ([][]byte, error) {
	subs := d.subsegments
	if len(subs) == 0 || string(subs) == "null" {
		return nil, nil
	}
	if subs[0] != '[' {
		return nil, errors.New("not an array")
	}
	var children [][]byte
	var bad error
	err := arrayElements(subs, 0, func(s, e int) {
		if subs[s] != '{' {
			bad = errors.New("an element is not an object")
			return
		}
		children = append(children, subs[s:e:e])
	})
	if err == nil {
		err = bad
	}
	return children, err
}

// set reads one member into d.
func (d *Doc) set(doc []byte, m member) {
	v := doc[m.valStart:m.end]
	null := string(v) == "null"
	str := func(dst *string) {
		s, ok := JSONString(v)
		*dst = s
		d.Mistyped = d.Mistyped || !ok && !null
	}
	raw := func(dst *[]byte, want byte) {
		*dst = nil
		switch {
		case v[0] == want:
			*dst = v
		case !null:
			d.Mistyped = true
		}
	}
	scalar := func(dst *[]byte, want func([]byte) bool) {
		*dst = v
		d.Mistyped = d.Mistyped || !want(v) && !null
	}
	flag := func(dst *bool) {
		*dst = string(v) == "true"
		d.Mistyped = d.Mistyped || !null && !*dst && string(v) != "false"
	}
	isString := func(b []byte) bool { return b[0] == '"' }
	isNumber := func(b []byte) bool { _, ok := JSONNumber(b); return ok }
	key := m.key
	if bytes.IndexByte(key, '\\') >= 0 {
		key = []byte(memberKey(key))
	}
	switch string(key) {
	case "subsegments":
		d.subsegments = v
		d.Mistyped = d.Mistyped || v[0] != '[' && !null
	case "name":
		scalar(&d.Name, isString)
	case "id":
		scalar(&d.ID, isString)
	case "trace_id":
		scalar(&d.TraceID, isString)
	case "parent_id":
		scalar(&d.ParentID, isString)
	case "start_time":
		scalar(&d.StartTime, isNumber)
	case "end_time":
		scalar(&d.EndTime, isNumber)
	case "in_progress":
		flag(&d.InProgress)
	case "inferred":
		flag(&d.Inferred)
	case "type":
		str(&d.Type)
	case "namespace":
		str(&d.Namespace)
		d.BadNamespace = v[0] != '"' && !null
	case "error":
		flag(&d.Error)
	case "fault":
		flag(&d.Fault)
	case "throttle":
		flag(&d.Throttle)
	case "traced":
		d.Traced = nil
		if b, ok := JSONBool(v); ok {
			d.Traced = &b
		} else if !null {
			d.Mistyped = true
		}
	case "user":
		str(&d.User)
	case "origin":
		str(&d.Origin)
	case "resource_arn":
		str(&d.ResourceARN)
	case "http":
		raw(&d.HTTP, '{')
	case "sql":
		raw(&d.SQL, '{')
	case "service":
		raw(&d.Service, '{')
	case "aws":
		raw(&d.AWS, '{')
	case "annotations":
		raw(&d.Annotations, '{')
	case "metadata":
		raw(&d.Metadata, '{')
	case "cause":
		d.Cause = v
	}
}

// memberKey returns a member's key, decoding escapes when there are any.
func memberKey(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	s, _ := JSONString(quoted)
	return s
}

// memberKeyIs reports whether a member's raw key is key.
func memberKeyIs(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	return memberKey(raw) == key
}

// Members lists the members of a JSON object, in order; anything else gives
// nil.
func Members(obj []byte) []Member {
	if len(obj) == 0 || obj[0] != '{' {
		return nil
	}
	var list []Member
	_, _ = objectMembers(obj, 0, func(m member) {
		list = append(list, Member{memberKey(m.key), obj[m.valStart:m.end]})
	})
	return list
}

// Lookup returns the raw value of the member key; the last of duplicates
// wins, as in encoding/json.
func Lookup(list []Member, key string) ([]byte, bool) {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Key == key {
			return list[i].Raw, true
		}
	}
	return nil, false
}

// eachMember calls fn with the key (escapes decoded) and the raw value of
// each member of a JSON object, in order; for anything else it never calls
// fn.
func eachMember(obj []byte, fn func(key, raw []byte)) {
	if len(obj) == 0 || obj[0] != '{' {
		return
	}
	_, _ = objectMembers(obj, 0, func(m member) {
		key := m.key
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(memberKey(key))
		}
		fn(key, obj[m.valStart:m.end])
	})
}
