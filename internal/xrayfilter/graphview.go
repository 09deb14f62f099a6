package xrayfilter

import "github.com/tracecomb/tracecomb/internal/xrayview"

// The per-trace service graph that service(...) and edge(...) read is
// internal/xrayview's (see the package comment for how it is drawn).
type (
	// Graph is the service graph of one trace (xrayview.Graph).
	Graph = xrayview.Graph
	// GraphNode is one node of a Graph.
	GraphNode = xrayview.GraphNode
	// GraphEdge is one call: From calls To, Caller is the calling
	// (sub)segment.
	GraphEdge = xrayview.GraphEdge
)

// BuildGraph returns the service graph of one trace's segments (any order;
// subsegments point to their parents through ParentID).
func BuildGraph(segs []Segment) Graph { return xrayview.BuildGraph(segs) }

// MatchNode reports whether a node with this name, type and account matches
// the target: by name, or by the keys given to id(...). A nil target matches
// every node.
func (t *Target) MatchNode(name, typ, accountID string) bool {
	if t == nil {
		return true
	}
	if !t.IsID {
		return name == t.Name
	}
	return (!t.HasName || name == t.Name) &&
		(!t.HasType || typ == t.Type) &&
		(!t.HasAccountID || accountID == t.AccountID)
}

// matches reports whether node n matches the target.
func (t *Target) matches(n *GraphNode) bool { return t.MatchNode(n.Name, n.Type, n.AccountID) }
