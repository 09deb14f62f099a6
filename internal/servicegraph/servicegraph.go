// Package servicegraph owns the X-Ray service graph over many traces: it
// merges the per-trace graphs of internal/xrayview (nodes per service,
// inferred nodes for aws, remote and sql calls, client nodes in front of
// root segments, edges per call) into one graph with X-Ray's summary
// statistics and histograms, in the shapes the X-Ray API answers with.
//
// Statistics follow X-Ray: each completed segment of a node (for an
// inferred node, each calling subsegment) adds one to TotalCount and then,
// by its flags, to FaultStatistics (fault), ErrorStatistics.ThrottleCount
// (throttle), ErrorStatistics.OtherCount (any other error) or OkCount; its
// response time (xrayview.ResponseTime), rounded to the millisecond, adds to
// TotalResponseTime and to both histograms. An edge counts the calling (sub)segment the same way; the
// edge from a client node counts the root segment. In-progress segments
// count nowhere.
package servicegraph

import (
	"cmp"
	"math"
	"slices"

	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// ErrorStatistics counts requests that ended in a 4xx-class error.
type ErrorStatistics struct {
	ThrottleCount int64 `json:"ThrottleCount"`
	OtherCount    int64 `json:"OtherCount"`
	TotalCount    int64 `json:"TotalCount"`
}

// FaultStatistics counts requests that ended in a fault (5xx class).
type FaultStatistics struct {
	OtherCount int64 `json:"OtherCount"`
	TotalCount int64 `json:"TotalCount"`
}

// Stats is X-Ray's ServiceStatistics / EdgeStatistics.
type Stats struct {
	OkCount           int64           `json:"OkCount"`
	ErrorStatistics   ErrorStatistics `json:"ErrorStatistics"`
	FaultStatistics   FaultStatistics `json:"FaultStatistics"`
	TotalCount        int64           `json:"TotalCount"`
	TotalResponseTime float64         `json:"TotalResponseTime"`
}

// Count adds one completed (sub)segment and returns its response time
// (xrayview.ResponseTime); it reports false (and counts nothing) for one
// that has none, such as a segment still in progress.
func (s *Stats) Count(seg *xrayview.Segment) (seconds float64, ok bool) {
	rt, ok := xrayview.ResponseTime(seg)
	if !ok {
		return 0, false
	}
	s.TotalCount++
	switch {
	case seg.Fault:
		s.FaultStatistics.OtherCount++
		s.FaultStatistics.TotalCount++
	case seg.Throttle:
		s.ErrorStatistics.ThrottleCount++
		s.ErrorStatistics.TotalCount++
	case seg.Error:
		s.ErrorStatistics.OtherCount++
		s.ErrorStatistics.TotalCount++
	default:
		s.OkCount++
	}
	s.TotalResponseTime = math.Round((s.TotalResponseTime+roundMs(rt))*1e6) / 1e6
	return rt, true
}

// roundMs rounds seconds to the millisecond, X-Ray's precision.
func roundMs(seconds float64) float64 { return math.Round(seconds*1000) / 1000 }

// Merge adds o to s.
func (s *Stats) Merge(o Stats) {
	s.OkCount += o.OkCount
	s.ErrorStatistics.ThrottleCount += o.ErrorStatistics.ThrottleCount
	s.ErrorStatistics.OtherCount += o.ErrorStatistics.OtherCount
	s.ErrorStatistics.TotalCount += o.ErrorStatistics.TotalCount
	s.FaultStatistics.OtherCount += o.FaultStatistics.OtherCount
	s.FaultStatistics.TotalCount += o.FaultStatistics.TotalCount
	s.TotalCount += o.TotalCount
	s.TotalResponseTime = math.Round((s.TotalResponseTime+o.TotalResponseTime)*1e6) / 1e6
}

// HistogramEntry is one bucket: a response time in seconds (to the
// millisecond) and how many requests took it.
type HistogramEntry struct {
	Value float64 `json:"Value"`
	Count int64   `json:"Count"`
}

// Histogram collects response times by millisecond.
type Histogram map[int64]int64

// Add counts one response time in seconds.
func (h Histogram) Add(seconds float64) { h[int64(math.Round(seconds*1000))]++ }

// Merge adds o to h.
func (h Histogram) Merge(o Histogram) {
	for k, v := range o {
		h[k] += v
	}
}

// Entries returns the histogram ordered by value; never nil.
func (h Histogram) Entries() []HistogramEntry {
	out := make([]HistogramEntry, 0, len(h))
	for ms, n := range h {
		out = append(out, HistogramEntry{Value: float64(ms) / 1000, Count: n})
	}
	slices.SortFunc(out, func(a, b HistogramEntry) int { return cmp.Compare(a.Value, b.Value) })
	return out
}

// Alias is another name of an edge's target.
type Alias struct {
	Name  string   `json:"Name"`
	Names []string `json:"Names,omitempty"`
	Type  string   `json:"Type,omitempty"`
}

// Edge is a call from the service that lists it to the service with
// ReferenceId.
type Edge struct {
	ReferenceID           int              `json:"ReferenceId"`
	StartTime             float64          `json:"StartTime"`
	EndTime               float64          `json:"EndTime"`
	SummaryStatistics     Stats            `json:"SummaryStatistics"`
	ResponseTimeHistogram []HistogramEntry `json:"ResponseTimeHistogram"`
	Aliases               []Alias          `json:"Aliases"`
}

// Service is one node of the graph, in X-Ray's shape.
type Service struct {
	ReferenceID           int              `json:"ReferenceId"`
	Name                  string           `json:"Name"`
	Names                 []string         `json:"Names"`
	Root                  bool             `json:"Root,omitempty"`
	AccountID             string           `json:"AccountId,omitempty"`
	Type                  string           `json:"Type,omitempty"`
	State                 string           `json:"State"`
	StartTime             float64          `json:"StartTime"`
	EndTime               float64          `json:"EndTime"`
	Edges                 []Edge           `json:"Edges"`
	SummaryStatistics     *Stats           `json:"SummaryStatistics,omitempty"`
	DurationHistogram     []HistogramEntry `json:"DurationHistogram"`
	ResponseTimeHistogram []HistogramEntry `json:"ResponseTimeHistogram"`
}

// NodeKey identifies a node across traces.
type NodeKey struct {
	Name, Type, AccountID string
	Inferred, Client      bool
}

// KeyOf returns the key of a per-trace node.
func KeyOf(n *xrayview.GraphNode) NodeKey {
	return NodeKey{Name: n.Name, Type: n.Type, AccountID: n.AccountID, Inferred: n.Inferred, Client: n.Client}
}

type span struct {
	start, end float64
	set        bool
}

func (s *span) add(start, end float64) {
	if start == 0 && end == 0 {
		return
	}
	if end < start {
		end = start
	}
	if !s.set {
		s.start, s.end, s.set = start, end, true
		return
	}
	s.start = min(s.start, start)
	s.end = max(s.end, end)
}

type node struct {
	key   NodeKey
	root  bool
	times span
	stats Stats
	hist  Histogram
	edges map[NodeKey]*edge
}

type edge struct {
	times span
	stats Stats
	hist  Histogram
}

// Builder merges the graphs of many traces. The zero value is not ready;
// use NewBuilder. A Builder is not safe for concurrent use.
type Builder struct {
	nodes map[NodeKey]*node
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{nodes: map[NodeKey]*node{}} }

func (b *Builder) node(k NodeKey) *node {
	n := b.nodes[k]
	if n == nil {
		n = &node{key: k, hist: Histogram{}, edges: map[NodeKey]*edge{}}
		b.nodes[k] = n
	}
	return n
}

// Add merges one trace: its segments and their graph (from
// xrayview.BuildGraph(segs)).
func (b *Builder) Add(segs []xrayview.Segment, g *xrayview.Graph) {
	keys := make([]NodeKey, len(g.Nodes))
	for i := range g.Nodes {
		gn := &g.Nodes[i]
		keys[i] = KeyOf(gn)
		n := b.node(keys[i])
		for _, si := range gn.Segments {
			s := &segs[si]
			n.times.add(s.Start, s.End)
			if rt, ok := n.stats.Count(s); ok {
				n.hist.Add(rt)
			}
		}
	}
	for _, ge := range g.Edges {
		from := b.nodes[keys[ge.From]]
		if g.Nodes[ge.From].Client {
			b.nodes[keys[ge.To]].root = true
		}
		e := from.edges[keys[ge.To]]
		if e == nil {
			e = &edge{hist: Histogram{}}
			from.edges[keys[ge.To]] = e
		}
		s := &segs[ge.Caller]
		e.times.add(s.Start, s.End)
		if g.Nodes[ge.From].Client {
			from.times.add(s.Start, s.End)
		}
		if rt, ok := e.stats.Count(s); ok {
			e.hist.Add(rt)
		}
	}
}

// Len returns the number of nodes so far.
func (b *Builder) Len() int { return len(b.nodes) }

// Services returns the merged graph: nodes ordered by name, type and
// account (clients first among equals), ReferenceIds 0..n-1, each node's
// edges ordered by their target's ReferenceId. Times are floored and
// ceiled to whole seconds.
func (b *Builder) Services() []Service {
	order := make([]*node, 0, len(b.nodes))
	for _, n := range b.nodes {
		order = append(order, n)
	}
	slices.SortFunc(order, func(x, y *node) int {
		return cmp.Or(
			cmp.Compare(x.key.Name, y.key.Name),
			-compareBool(x.key.Client, y.key.Client),
			compareBool(x.key.Inferred, y.key.Inferred),
			cmp.Compare(x.key.Type, y.key.Type),
			cmp.Compare(x.key.AccountID, y.key.AccountID),
		)
	})
	ref := make(map[NodeKey]int, len(order))
	for i, n := range order {
		ref[n.key] = i
	}
	out := make([]Service, len(order))
	for i, n := range order {
		s := Service{
			ReferenceID: i,
			Name:        n.key.Name,
			Names:       []string{n.key.Name},
			Root:        n.root,
			AccountID:   n.key.AccountID,
			Type:        n.key.Type,
			State:       "active",
			StartTime:   math.Floor(n.times.start),
			EndTime:     math.Ceil(n.times.end),
			Edges:       make([]Edge, 0, len(n.edges)),
		}
		if n.key.Inferred || n.key.Client {
			s.State = "unknown"
		}
		if n.key.Client {
			s.DurationHistogram = []HistogramEntry{}
			s.ResponseTimeHistogram = []HistogramEntry{}
		} else {
			st := n.stats
			s.SummaryStatistics = &st
			s.DurationHistogram = n.hist.Entries()
			s.ResponseTimeHistogram = n.hist.Entries()
		}
		for to, e := range n.edges {
			s.Edges = append(s.Edges, Edge{
				ReferenceID:           ref[to],
				StartTime:             math.Floor(e.times.start),
				EndTime:               math.Ceil(e.times.end),
				SummaryStatistics:     e.stats,
				ResponseTimeHistogram: e.hist.Entries(),
				Aliases:               []Alias{},
			})
		}
		slices.SortFunc(s.Edges, func(a, b Edge) int { return cmp.Compare(a.ReferenceID, b.ReferenceID) })
		out[i] = s
	}
	return out
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
