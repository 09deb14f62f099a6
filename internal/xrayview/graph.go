package xrayview

// Graph is the service graph of one trace, as GetServiceGraph draws it and
// the filter language's service() and edge() see it: a node per (segment
// name, origin, account); an inferred node per aws, remote or sql
// subsegment that no segment continues; a client node (type "client", no
// segments of its own) in front of each root segment; and an edge per call,
// remembering the calling (sub)segment.
type Graph struct {
	Nodes []GraphNode
	Edges []GraphEdge
}

// GraphNode is one node of a Graph.
type GraphNode struct {
	Name      string
	Type      string // the origin, "client", "remote", "AWS::…" or "Database::SQL"
	AccountID string
	Inferred  bool
	// Client marks the client node in front of a root segment; it has no
	// segments.
	Client bool
	// Segments are indexes into the segment slice: the node's own segments,
	// or for an inferred node the calling subsegments.
	Segments []int
}

// GraphEdge is one call: From calls To, and Caller (an index into the
// segment slice) is the calling subsegment, or for an edge from a client
// node the root segment itself.
type GraphEdge struct {
	From, To int
	Caller   int
}

// InferredNode returns the name and type of the node that subsegment s
// stands for when no segment continues it, or ok false when s calls nothing
// X-Ray would draw: an aws call is AWS::<name> (its DynamoDB table, when it
// names one, is an AWS::DynamoDB::Table node named by the table), a sql
// call Database::SQL, any other remote call remote.
func InferredNode(s *Segment) (name, typ string, ok bool) {
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

type nodeKey struct {
	name, typ, account string
	inferred           bool
}

// BuildGraph returns the service graph of one trace's segments (any order;
// subsegments point to their parents through ParentID).
func BuildGraph(segs []Segment) Graph {
	byID := indexIDs(segs)
	var g Graph
	// top[i] is the segment (document) enclosing (sub)segment i, or -1.
	top := make([]int, len(segs))
	for i := range top {
		top[i] = -2
	}
	enclosing := func(i int) int {
		j, steps := i, 0
		for segs[j].Subsegment {
			p, ok := byID[segs[j].ParentID]
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
			ni = len(g.Nodes)
			index[k] = ni
			g.Nodes = append(g.Nodes, GraphNode{Name: k.name, Type: k.typ, AccountID: k.account, Inferred: k.inferred})
		}
		if seg >= 0 {
			g.Nodes[ni].Segments = append(g.Nodes[ni].Segments, seg)
		}
		return ni
	}
	parentIn := func(i int) (int, bool) {
		s := &segs[i]
		p, ok := byID[s.ParentID]
		return p, ok && !s.ParentID.IsZero() && p != i
	}
	for i := range segs {
		segNode[i] = -1
		s := &segs[i]
		if s.Subsegment {
			continue
		}
		segNode[i] = addNode(nodeKey{s.Name, s.Origin, s.AccountID, s.Inferred}, i)
		if p, ok := parentIn(i); ok {
			downstream[p] = true
		}
	}
	for i := range segs {
		s := &segs[i]
		if !s.Subsegment || downstream[i] {
			continue
		}
		if name, typ, ok := InferredNode(s); ok {
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
		if _, ok := parentIn(i); ok {
			continue
		}
		c := addNode(nodeKey{name: s.Name, typ: "client"}, -1)
		g.Edges = append(g.Edges, GraphEdge{From: c, To: segNode[i], Caller: i})
	}
	// Edges: a segment whose parent is in the trace, and each inferred call.
	for i := range segs {
		s := &segs[i]
		var caller int
		switch {
		case !s.Subsegment:
			p, ok := parentIn(i)
			if !ok {
				continue
			}
			caller = p
		case segNode[i] >= 0:
			caller = i
		default:
			continue
		}
		if t := top[caller]; t >= 0 && segNode[t] >= 0 {
			g.Edges = append(g.Edges, GraphEdge{From: segNode[t], To: segNode[i], Caller: caller})
		}
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		n.Client = n.Type == "client" && !n.Inferred && len(n.Segments) == 0
	}
	return g
}
