package xrayfilter

// Graph is the service graph of one trace, as the filter language sees it
// (see the package comment): a node per (segment name, origin, account), an
// inferred node per aws, remote or sql subsegment that no segment continues,
// a client node per root segment, and an edge per call.
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

// BuildGraph returns the service graph of one trace's segments (any order;
// subsegments point to their parents through ParentID).
func BuildGraph(segs []Segment) Graph {
	g := buildGraph(segs, indexIDs(segs))
	out := Graph{Nodes: make([]GraphNode, len(g.nodes)), Edges: make([]GraphEdge, len(g.edges))}
	for i, n := range g.nodes {
		out.Nodes[i] = GraphNode{
			Name: n.name, Type: n.typ, AccountID: n.account, Inferred: n.inferred,
			Client:   n.typ == "client" && !n.inferred && len(n.segs) == 0,
			Segments: n.segs,
		}
	}
	for i, e := range g.edges {
		out.Edges[i] = GraphEdge{From: e.from, To: e.to, Caller: e.caller}
	}
	return out
}

// MatchNode reports whether a node with this name, type and account matches
// the target: by name, or by the keys given to id(...). A nil target matches
// every node.
func (t *Target) MatchNode(name, typ, accountID string) bool {
	n := gnode{name: name, typ: typ, account: accountID}
	return n.matches(t)
}
