package xrayview

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"slices"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Document is one segment of a trace as BatchGetTraces answers it: its id
// and its document.
type Document struct {
	ID  string
	Doc []byte
}

// Documents returns the trace as BatchGetTraces answers it (Full detail
// only): one document per segment with its subsegments embedded, in time
// order (subsegments whose parent is missing are documents of their own),
// followed by the inferred documents of the downstream calls that no
// segment continues (the inferred nodes of g, the trace's graph).
func (v *View) Documents(g *Graph) []Document {
	segs := v.Trace.Segments
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
		if len(kids) == 0 || depth > maxDepth {
			return v.Entities[i].Doc
		}
		parts := make([][]byte, 0, len(kids))
		for _, k := range kids {
			parts = append(parts, build(k, depth+1))
		}
		return withSubsegments(v.Entities[i].Doc, parts)
	}
	out := make([]Document, 0, len(tops))
	for _, i := range tops {
		out = append(out, Document{ID: segs[i].ID.String(), Doc: build(i, 0)})
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
			doc := v.inferredDocument(si, n.Name, n.Type)
			out = append(out, Document{ID: inferredID(s.ID), Doc: doc})
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
	n := len(doc) + 16
	for _, s := range subs {
		n += len(s) + 1
	}
	out := make([]byte, 0, n)
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
// calling subsegment's times, flags, http and aws blocks under the inferred
// node's name.
func (v *View) inferredDocument(i int, name, typ string) []byte {
	s, e := &v.Trace.Segments[i], &v.Entities[i]
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
		ID: inferredID(s.ID), Name: name, TraceID: v.Trace.ID.XRay(), ParentID: s.ID.String(),
		StartTime: s.Start, EndTime: s.End, Inferred: true,
		Error: s.Error, Throttle: s.Throttle, Fault: s.Fault,
		HTTP: e.http, AWS: e.aws,
	}
	if r := e.rendered; r != nil {
		if r.HTTP != nil {
			d.HTTP, _ = json.Marshal(r.HTTP)
		}
		if r.AWS != nil {
			d.AWS, _ = json.Marshal(r.AWS)
		}
	}
	if typ != "remote" {
		d.Origin = typ
	}
	out, _ := json.Marshal(d)
	return out
}

// Bounds returns the earliest start and the latest end (or start, for
// spans still in progress) over the trace.
func (v *View) Bounds() (start, end float64) {
	first := true
	for i := range v.Trace.Segments {
		s := &v.Trace.Segments[i]
		e := max(s.End, s.Start)
		if first {
			start, end, first = s.Start, e, false
			continue
		}
		start, end = min(start, s.Start), max(end, e)
	}
	return start, end
}
