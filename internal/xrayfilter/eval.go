package xrayfilter

import (
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// GroupResolver returns the filter expression of the group with the given
// name (arn empty) or ARN (name empty). ok is false for an unknown group; a
// nil expression with ok true is a group without a filter, which matches
// every trace.
type GroupResolver func(name, arn string) (expr *Expr, ok bool)

// maxGroupDepth bounds group.name references through groups' own
// expressions (a group that names itself matches nothing).
const maxGroupDepth = 8

// Match reports whether trace t satisfies the expression. A nil expression
// matches every trace. groups resolves group.name and group.arn; when it is
// nil those predicates are false. Match never panics on missing fields and
// is safe for concurrent use.
func (e *Expr) Match(t *Trace, groups GroupResolver) bool {
	if e == nil || e.Root == nil {
		return true
	}
	if t == nil {
		t = &Trace{}
	}
	ev := evaluator{t: t, groups: groups, root: -2}
	return ev.trace(e.Root)
}

type evaluator struct {
	t      *Trace
	groups GroupResolver
	depth  int
	root   int // index of the root segment, -1 none, -2 not yet computed
	g      *Graph
	ids    map[model.SpanID]bool // segment ids, built on first use
	causes []any                 // root causes as JSON values, for rootcause.json
}

func (ev *evaluator) rootIndex() int {
	if ev.root == -2 {
		ev.root = xrayview.RootIndex(ev.t.Segments)
	}
	return ev.root
}

func (ev *evaluator) rootSeg() *Segment {
	if i := ev.rootIndex(); i >= 0 {
		return &ev.t.Segments[i]
	}
	return nil
}

// hasID reports whether a (sub)segment of the trace has this non-zero id.
func (ev *evaluator) hasID(id model.SpanID) bool {
	if ev.ids == nil {
		ev.ids = make(map[model.SpanID]bool, len(ev.t.Segments))
		for i := range ev.t.Segments {
			if s := &ev.t.Segments[i]; !s.ID.IsZero() {
				ev.ids[s.ID] = true
			}
		}
	}
	return ev.ids[id]
}

func (ev *evaluator) graph() *Graph {
	if ev.g == nil {
		g := xrayview.BuildGraph(ev.t.Segments)
		ev.g = &g
	}
	return ev.g
}

// trace evaluates n at the top level.
func (ev *evaluator) trace(n Node) bool {
	switch n := n.(type) {
	case *And:
		return ev.trace(n.Left) && ev.trace(n.Right)
	case *Or:
		return ev.trace(n.Left) || ev.trace(n.Right)
	case *Not:
		return !ev.trace(n.X)
	case *BoolCmp:
		var v bool
		switch n.Keyword {
		case KwPartial:
			v = ev.partial()
		case KwInferred:
			for i := range ev.graph().Nodes {
				v = v || ev.g.Nodes[i].Inferred
			}
		default:
			r := ev.rootSeg()
			if r == nil {
				return false
			}
			v, _ = segBool(n.Keyword, r, nil, false)
		}
		return boolCmp(n, v)
	case *NumCmp:
		var v float64
		var ok bool
		if n.Keyword == KwDuration {
			v, ok = traceDuration(ev.t.Segments)
		} else if r := ev.rootSeg(); r != nil {
			v, ok = segNum(n.Keyword, r)
		}
		return ok && numCmp(n.Op, v, n.Value)
	case *StrCmp:
		switch n.Keyword {
		case KwUser, KwAvailabilityZone, KwInstanceID, KwResourceARN:
			for i := range ev.t.Segments {
				if strCmp(n.Op, segStr(n.Keyword, &ev.t.Segments[i], nil), n.Value) {
					return true
				}
			}
			return false
		}
		r := ev.rootSeg()
		return r != nil && strCmp(n.Op, segStr(n.Keyword, r, nil), n.Value)
	case *AnnotationCmp:
		for i := range ev.t.Segments {
			if v, ok := ev.t.Segments[i].Annotations[n.Key]; ok && annotationCmp(n, v) {
				return true
			}
		}
		return false
	case *Service:
		g := ev.graph()
		root := ev.rootIndex()
		for ni := range g.Nodes {
			nd := &g.Nodes[ni]
			if !n.Target.matches(nd) {
				continue
			}
			if n.Filter == nil {
				return true
			}
			for _, si := range nd.Segments {
				if ev.seg(n.Filter, si, nd, si == root) {
					return true
				}
			}
		}
		return false
	case *Edge:
		g := ev.graph()
		for _, e := range g.Edges {
			if n.From.matches(&g.Nodes[e.From]) && n.To.matches(&g.Nodes[e.To]) &&
				(n.Filter == nil || ev.seg(n.Filter, e.Caller, nil, false)) {
				return true
			}
		}
		return false
	case *Group:
		if ev.groups == nil || ev.depth >= maxGroupDepth {
			return false
		}
		var x *Expr
		var ok bool
		if n.ByARN {
			x, ok = ev.groups("", n.Value)
		} else {
			x, ok = ev.groups(n.Value, "")
		}
		if !ok {
			return false
		}
		if x == nil || x.Root == nil {
			return true
		}
		ev.depth++
		defer func() { ev.depth-- }()
		return ev.trace(x.Root)
	case *RootCause:
		return ev.rootCause(n)
	case *RootCauseJSON:
		return ev.rootCauseJSON(n)
	}
	return false
}

// partial reports whether the trace is known to be incomplete: the caller
// says so, a (sub)segment is in progress, or a subsegment's parent is
// missing.
func (ev *evaluator) partial() bool {
	if ev.t.Partial {
		return true
	}
	for i := range ev.t.Segments {
		if ev.t.Segments[i].InProgress {
			return true
		}
	}
	for i := range ev.t.Segments {
		s := &ev.t.Segments[i]
		if s.Subsegment && !ev.hasID(s.ParentID) {
			return true
		}
	}
	return false
}

// seg evaluates n, from service or edge braces, on segment si of node nd
// (nil inside edge braces).
func (ev *evaluator) seg(n Node, si int, nd *GraphNode, isRoot bool) bool {
	s := &ev.t.Segments[si]
	switch n := n.(type) {
	case *And:
		return ev.seg(n.Left, si, nd, isRoot) && ev.seg(n.Right, si, nd, isRoot)
	case *Or:
		return ev.seg(n.Left, si, nd, isRoot) || ev.seg(n.Right, si, nd, isRoot)
	case *Not:
		return !ev.seg(n.X, si, nd, isRoot)
	case *BoolCmp:
		v, ok := segBool(n.Keyword, s, nd, isRoot)
		return ok && boolCmp(n, v)
	case *NumCmp:
		v, ok := segNum(n.Keyword, s)
		return ok && numCmp(n.Op, v, n.Value)
	case *StrCmp:
		return strCmp(n.Op, segStr(n.Keyword, s, nd), n.Value)
	}
	return false
}

func segBool(k Keyword, s *Segment, nd *GraphNode, isRoot bool) (v, ok bool) {
	switch k {
	case KwOK:
		return !s.Error && !s.Fault && !s.Throttle, true
	case KwError:
		return s.Error, true
	case KwFault:
		return s.Fault, true
	case KwThrottle:
		return s.Throttle, true
	case KwPartial:
		return s.InProgress, true
	case KwInferred:
		if nd != nil {
			return nd.Inferred, true
		}
		return s.Inferred, true
	case KwRoot:
		return isRoot, true
	}
	return false, false
}

func segNum(k Keyword, s *Segment) (float64, bool) {
	switch k {
	case KwResponseTime, KwDuration:
		return xrayview.ResponseTime(s)
	case KwHTTPStatus:
		return float64(s.HTTP.Status), s.HTTP.Status != 0
	}
	return 0, false
}

func segStr(k Keyword, s *Segment, nd *GraphNode) string {
	switch k {
	case KwHTTPURL:
		return s.HTTP.URL
	case KwHTTPMethod:
		return s.HTTP.Method
	case KwHTTPUserAgent:
		return s.HTTP.UserAgent
	case KwHTTPClientIP:
		return s.HTTP.ClientIP
	case KwUser:
		return s.User
	case KwAvailabilityZone:
		return s.AvailabilityZone
	case KwInstanceID:
		return s.InstanceID
	case KwResourceARN:
		return s.ResourceARN
	case KwName:
		if nd != nil {
			return nd.Name
		}
		return s.Name
	case KwType:
		if nd != nil {
			return nd.Type
		}
		return s.Origin
	}
	return ""
}

// traceDuration is max end − min start over all (sub)segments.
func traceDuration(segs []Segment) (float64, bool) {
	var lo, hi float64
	for i := range segs {
		s := &segs[i]
		if s.Start > 0 && (lo == 0 || s.Start < lo) {
			lo = s.Start
		}
		if s.End > hi {
			hi = s.End
		}
	}
	if lo == 0 || hi == 0 || hi < lo {
		return 0, false
	}
	return hi - lo, true
}

func boolCmp(n *BoolCmp, v bool) bool { return (v == n.Value) == (n.Op == OpEq) }

func numCmp(op Op, a, b float64) bool {
	switch op {
	case OpEq:
		return a == b
	case OpNe:
		return a != b
	case OpLt:
		return a < b
	case OpLe:
		return a <= b
	case OpGt:
		return a > b
	case OpGe:
		return a >= b
	}
	return false
}

// strCmp compares a field value with want; an empty field is absent and
// matches nothing.
func strCmp(op Op, v, want string) bool {
	if v == "" {
		return false
	}
	switch op {
	case OpExists:
		return true
	case OpEq:
		return v == want
	case OpNe:
		return v != want
	case OpContains:
		return strings.Contains(v, want)
	case OpBeginsWith:
		return strings.HasPrefix(v, want)
	case OpEndsWith:
		return strings.HasSuffix(v, want)
	}
	return false
}

// annotationCmp applies a typed comparison; different types never match.
func annotationCmp(n *AnnotationCmp, v model.Value) bool {
	if n.Op == OpExists {
		return true
	}
	switch n.Value.Kind {
	case model.KindString:
		if v.Kind != model.KindString {
			return false
		}
		switch n.Op {
		case OpEq:
			return v.Str == n.Value.Str
		case OpNe:
			return v.Str != n.Value.Str
		case OpContains:
			return strings.Contains(v.Str, n.Value.Str)
		case OpBeginsWith:
			return strings.HasPrefix(v.Str, n.Value.Str)
		case OpEndsWith:
			return strings.HasSuffix(v.Str, n.Value.Str)
		}
	case model.KindFloat, model.KindInt:
		want := n.Value.Flt
		if n.Value.Kind == model.KindInt {
			want = float64(n.Value.Int)
		}
		switch v.Kind {
		case model.KindFloat:
			return numCmp(n.Op, v.Flt, want)
		case model.KindInt:
			return numCmp(n.Op, float64(v.Int), want)
		}
	case model.KindBool:
		if v.Kind != model.KindBool {
			return false
		}
		return (v.AsBool() == n.Value.AsBool()) == (n.Op == OpEq)
	}
	return false
}
