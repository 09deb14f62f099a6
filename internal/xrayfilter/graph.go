package xrayfilter

import "github.com/tracecomb/tracecomb/internal/model"

// graph is the service graph of one trace, built as GetServiceGraph builds
// it: one node per (segment name, origin, account), one inferred node per
// aws/remote/sql subsegment without a downstream segment, a client node (type
// "client", no segments of its own) per root segment, and an edge per call,
// remembering the caller (sub)segment.
type graph struct {
	byID  map[model.SpanID]int
	nodes []gnode
	edges []gedge
}

type gnode struct {
	name, typ, account string
	inferred           bool
	segs               []int // the node's segments (for inferred nodes, the calling subsegments)
}

type gedge struct {
	from, to int // node indexes
	caller   int // segment index of the calling (sub)segment
}

type nodeKey struct {
	name, typ, account string
	inferred           bool
}

func (n *gnode) matches(t *Target) bool {
	if t == nil {
		return true
	}
	if !t.IsID {
		return n.name == t.Name
	}
	return (!t.HasName || n.name == t.Name) &&
		(!t.HasType || n.typ == t.Type) &&
		(!t.HasAccountID || n.account == t.AccountID)
}

// inferredName returns the name and type of the node that subsegment s
// stands for, or ok false when s calls nothing X-Ray would draw.
func inferredName(s *Segment) (name, typ string, ok bool) {
	switch {
	case s.Namespace == "aws":
		if s.TableName != "" {
			return s.TableName, "AWS::DynamoDB::Table", true
		}
		return s.Name, "AWS::" + s.Name, true
	case s.SQL:
		return s.Name, "Database::SQL", true
	case s.Namespace == "remote":
		return s.Name, "remote", true
	}
	return "", "", false
}

// indexIDs maps each non-zero segment id to its first index.
func indexIDs(segs []Segment) map[model.SpanID]int {
	ids := make(map[model.SpanID]int, len(segs))
	for i := range segs {
		if id := segs[i].ID; !id.IsZero() {
			if _, dup := ids[id]; !dup {
				ids[id] = i
			}
		}
	}
	return ids
}

func buildGraph(segs []Segment, byID map[model.SpanID]int) *graph {
	g := &graph{byID: byID}
	// top[i] is the segment (document) enclosing (sub)segment i, or -1.
	top := make([]int, len(segs))
	for i := range top {
		top[i] = -2
	}
	enclosing := func(i int) int {
		j, steps := i, 0
		for segs[j].Subsegment {
			p, ok := g.byID[segs[j].ParentID]
			if !ok || segs[j].ParentID.IsZero() || steps > len(segs) {
				return -1
			}
			if top[p] != -2 {
				return top[p]
			}
			j, steps = p, steps+1
		}
		return j
	}
	for i := range segs {
		top[i] = enclosing(i)
	}

	segNode := make([]int, len(segs))
	downstream := make([]bool, len(segs))
	index := make(map[nodeKey]int)
	addNode := func(k nodeKey, seg int) int {
		ni, ok := index[k]
		if !ok {
			ni = len(g.nodes)
			index[k] = ni
			g.nodes = append(g.nodes, gnode{name: k.name, typ: k.typ, account: k.account, inferred: k.inferred})
		}
		if seg >= 0 {
			g.nodes[ni].segs = append(g.nodes[ni].segs, seg)
		}
		return ni
	}
	for i := range segs {
		segNode[i] = -1
		s := &segs[i]
		if s.Subsegment {
			continue
		}
		segNode[i] = addNode(nodeKey{s.Name, s.Origin, s.AccountID, s.Inferred}, i)
		if p, ok := g.byID[s.ParentID]; ok && !s.ParentID.IsZero() && p != i {
			downstream[p] = true
		}
	}
	for i := range segs {
		s := &segs[i]
		if !s.Subsegment || downstream[i] {
			continue
		}
		if name, typ, ok := inferredName(s); ok {
			segNode[i] = addNode(nodeKey{name: name, typ: typ, inferred: true}, i)
		}
	}
	// A client node calls each root segment; the edge's caller is the root
	// segment itself, whose stats the client edge carries.
	for i := range segs {
		s := &segs[i]
		if s.Subsegment || s.Inferred {
			continue
		}
		if p, ok := g.byID[s.ParentID]; ok && !s.ParentID.IsZero() && p != i {
			continue
		}
		c := addNode(nodeKey{name: s.Name, typ: "client"}, -1)
		g.edges = append(g.edges, gedge{from: c, to: segNode[i], caller: i})
	}
	// Edges: a segment whose parent is in the trace, and each inferred call.
	for i := range segs {
		s := &segs[i]
		var caller int
		switch {
		case !s.Subsegment:
			p, ok := g.byID[s.ParentID]
			if !ok || s.ParentID.IsZero() || p == i {
				continue
			}
			caller = p
		case segNode[i] >= 0:
			caller = i
		default:
			continue
		}
		if t := top[caller]; t >= 0 && segNode[t] >= 0 {
			g.edges = append(g.edges, gedge{from: segNode[t], to: segNode[i], caller: caller})
		}
	}
	return g
}
