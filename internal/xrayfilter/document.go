package xrayfilter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tracecomb/tracecomb/internal/model"
)

// docSegment is the part of an X-Ray segment document that filters read.
type docSegment struct {
	ID          string          `json:"id"`
	ParentID    string          `json:"parent_id"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Origin      string          `json:"origin"`
	Namespace   string          `json:"namespace"`
	StartTime   float64         `json:"start_time"`
	EndTime     float64         `json:"end_time"`
	InProgress  bool            `json:"in_progress"`
	Inferred    bool            `json:"inferred"`
	Error       bool            `json:"error"`
	Fault       bool            `json:"fault"`
	Throttle    bool            `json:"throttle"`
	User        string          `json:"user"`
	ResourceARN string          `json:"resource_arn"`
	SQL         json.RawMessage `json:"sql"`
	HTTP        struct {
		Request struct {
			Method    string `json:"method"`
			URL       string `json:"url"`
			UserAgent string `json:"user_agent"`
			ClientIP  string `json:"client_ip"`
		} `json:"request"`
		Response struct {
			Status json.RawMessage `json:"status"`
		} `json:"response"`
	} `json:"http"`
	AWS struct {
		AccountID string `json:"account_id"`
		TableName string `json:"table_name"`
		EC2       struct {
			InstanceID       string `json:"instance_id"`
			AvailabilityZone string `json:"availability_zone"`
		} `json:"ec2"`
		ECS struct {
			AvailabilityZone string `json:"availability_zone"`
		} `json:"ecs"`
	} `json:"aws"`
	Annotations map[string]json.RawMessage `json:"annotations"`
	Subsegments []docSegment               `json:"subsegments"`
}

// SegmentsFromDocument decodes one X-Ray segment (or independent
// subsegment) document into the segments filters see: the document itself
// followed by its embedded subsegments, depth first, each pointing to its
// parent. Fields of the wrong type make the document an error; absent fields
// stay zero, and an id that is not 16 hex digits is left zero.
func SegmentsFromDocument(doc []byte) ([]Segment, error) {
	var d docSegment
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("segment document: %w", err)
	}
	var out []Segment
	var walk func(d *docSegment, parent model.SpanID, embedded bool)
	walk = func(d *docSegment, parent model.SpanID, embedded bool) {
		s := Segment{
			Subsegment:       embedded || d.Type == "subsegment",
			Inferred:         d.Inferred,
			Namespace:        d.Namespace,
			SQL:              len(d.SQL) > 0 && !bytes.Equal(d.SQL, []byte("null")),
			TableName:        d.AWS.TableName,
			Name:             d.Name,
			Origin:           d.Origin,
			AccountID:        d.AWS.AccountID,
			Start:            d.StartTime,
			End:              d.EndTime,
			InProgress:       d.InProgress,
			Error:            d.Error,
			Fault:            d.Fault,
			Throttle:         d.Throttle,
			User:             d.User,
			ResourceARN:      d.ResourceARN,
			InstanceID:       d.AWS.EC2.InstanceID,
			AvailabilityZone: d.AWS.EC2.AvailabilityZone,
			HTTP: HTTP{
				Method:    d.HTTP.Request.Method,
				URL:       d.HTTP.Request.URL,
				UserAgent: d.HTTP.Request.UserAgent,
				ClientIP:  d.HTTP.Request.ClientIP,
				Status:    docStatus(d.HTTP.Response.Status),
			},
		}
		if s.InProgress {
			s.End = 0
		}
		if s.AvailabilityZone == "" {
			s.AvailabilityZone = d.AWS.ECS.AvailabilityZone
		}
		s.ID, _ = model.ParseSpanID(d.ID)
		if embedded {
			s.ParentID = parent
		} else {
			s.ParentID, _ = model.ParseSpanID(d.ParentID)
		}
		for k, raw := range d.Annotations {
			if v, ok := docValue(raw); ok {
				if s.Annotations == nil {
					s.Annotations = make(map[string]model.Value, len(d.Annotations))
				}
				s.Annotations[k] = v
			}
		}
		out = append(out, s)
		for i := range d.Subsegments {
			walk(&d.Subsegments[i], s.ID, true)
		}
	}
	walk(&d, model.SpanID{}, false)
	return out, nil
}

// docStatus reads http.response.status, seen as a number or a string; -1
// and anything unreadable are absent.
func docStatus(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0
		}
	} else {
		s = string(raw)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// docValue converts an annotation value: a string, a number (an integer
// when it has no fraction or exponent) or a boolean.
func docValue(raw json.RawMessage) (model.Value, bool) {
	if len(raw) == 0 {
		return model.Value{}, false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return model.Value{}, false
		}
		return model.Str(s), true
	case 't':
		return model.Bool(true), string(raw) == "true"
	case 'f':
		return model.Bool(false), string(raw) == "false"
	case '{', '[', 'n':
		return model.Value{}, false
	}
	if !bytes.ContainsAny(raw, ".eE") {
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return model.Int(i), true
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return model.Value{}, false
	}
	return model.Float(f), true
}
