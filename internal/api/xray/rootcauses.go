package xray

import (
	"encoding/json"
	"math"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// Root causes of a trace's faults and errors.
//
// A root cause is a (sub)segment that carries the flag (fault; or error or
// throttle) while none of the (sub)segments below it does. Its path is the
// chain of services from the root segment down to it: each service with
// the names of its (sub)segments on the way (EntityPath), the last entity
// with the exceptions of its cause. A call to an aws, remote or sql
// subsegment that no segment continues ends in the inferred service it
// stands for. ClientImpacting is true when the root segment carries the
// flag too.
//
// The response-time root cause follows, from the root segment down, the
// child (subsegment, or segment continuing a call) that took longest; each
// entity on the way has its Coverage, its duration over the root's.

type rootCauseException struct {
	Name    string `json:"Name,omitempty"`
	Message string `json:"Message,omitempty"`
}

type rootCauseEntity struct {
	Name       string               `json:"Name"`
	Coverage   *float64             `json:"Coverage,omitempty"`
	Exceptions []rootCauseException `json:"Exceptions,omitempty"`
	Remote     bool                 `json:"Remote"`
}

type rootCauseService struct {
	Name       string            `json:"Name"`
	Names      []string          `json:"Names"`
	Type       string            `json:"Type,omitempty"`
	AccountID  string            `json:"AccountId,omitempty"`
	EntityPath []rootCauseEntity `json:"EntityPath"`
	Inferred   bool              `json:"Inferred"`
}

type rootCause struct {
	Services        []rootCauseService `json:"Services"`
	ClientImpacting bool               `json:"ClientImpacting"`
}

// rootCauses computes the fault and error root causes of a trace.
func rootCauses(t *xrayview.View, g *xrayview.Graph) (fault, errs, slow []rootCause) {
	segs := t.Trace.Segments
	idx := make(map[model.SpanID]int, len(segs))
	for i := range segs {
		idx[segs[i].ID] = i
	}
	parent := make([]int, len(segs))
	children := make([][]int, len(segs))
	for i := range segs {
		parent[i] = -1
		if p, ok := idx[segs[i].ParentID]; ok && !segs[i].ParentID.IsZero() && p != i {
			parent[i] = p
			children[p] = append(children[p], i)
		}
	}
	segNode := make([]int, len(segs))
	inferredNode := make([]int, len(segs))
	for i := range segNode {
		segNode[i], inferredNode[i] = -1, -1
	}
	for ni := range g.Nodes {
		for _, si := range g.Nodes[ni].Segments {
			if g.Nodes[ni].Inferred && segs[si].Subsegment {
				inferredNode[si] = ni
			} else {
				segNode[si] = ni
			}
		}
	}
	root := xrayview.RootIndex(segs)
	isFault := func(s *xrayview.Segment) bool { return s.Fault }
	isError := func(s *xrayview.Segment) bool { return !s.Fault && (s.Error || s.Throttle) }
	build := func(flag func(*xrayview.Segment) bool) []rootCause {
		out := []rootCause{}
		below := make([]int8, len(segs)) // 0 unknown, 1 no flag below, 2 flag below
		var flagBelow func(i, depth int) bool
		flagBelow = func(i, depth int) bool {
			if below[i] != 0 {
				return below[i] == 2
			}
			found := false
			if depth < len(segs) {
				for _, c := range children[i] {
					if flag(&segs[c]) || flagBelow(c, depth+1) {
						found = true
					}
				}
			}
			below[i] = 1
			if found {
				below[i] = 2
			}
			return found
		}
		seen := map[string]bool{}
		for i := range segs {
			if !flag(&segs[i]) || flagBelow(i, 0) {
				continue
			}
			rc := causePath(t, i, parent, segNode, inferredNode, g)
			key, _ := json.Marshal(rc)
			if seen[string(key)] {
				continue
			}
			seen[string(key)] = true
			rc.ClientImpacting = root >= 0 && flag(&segs[root])
			out = append(out, rc)
		}
		return out
	}
	slow = []rootCause{}
	if root >= 0 {
		if total, ok := xrayview.ResponseTime(&segs[root]); ok && total > 0 {
			leaf := root
			for steps := 0; len(children[leaf]) > 0 && steps < len(segs); steps++ {
				best, bestRT := -1, -1.0
				for _, c := range children[leaf] {
					if rt, ok := xrayview.ResponseTime(&segs[c]); ok && rt > bestRT {
						best, bestRT = c, rt
					}
				}
				if best < 0 {
					break
				}
				leaf = best
			}
			rc := causePath(t, leaf, parent, segNode, inferredNode, g)
			for si := range rc.Services {
				for ei := range rc.Services[si].EntityPath {
					rc.Services[si].EntityPath[ei].Exceptions = nil
				}
			}
			// Coverage of each entity on the path, in the path's order.
			var chain []int
			for i, steps := leaf, 0; i >= 0 && steps <= len(segs); i, steps = parent[i], steps+1 {
				chain = append([]int{i}, chain...)
			}
			k := 0
			for si := range rc.Services {
				for ei := range rc.Services[si].EntityPath {
					var cov float64
					if k < len(chain) {
						rt, _ := xrayview.ResponseTime(&segs[chain[k]])
						cov = math.Round(rt/total*1000) / 1000
					} else { // the inferred service's entity
						rt, _ := xrayview.ResponseTime(&segs[leaf])
						cov = math.Round(rt/total*1000) / 1000
					}
					rc.Services[si].EntityPath[ei].Coverage = &cov
					k++
				}
			}
			rc.ClientImpacting = true
			slow = append(slow, rc)
		}
	}
	return build(isFault), build(isError), slow
}

// causePath is the chain of services from the root down to entity leaf.
func causePath(t *xrayview.View, leaf int, parent, segNode, inferredNode []int, g *xrayview.Graph) rootCause {
	segs := t.Trace.Segments
	var chain []int
	for i, steps := leaf, 0; i >= 0 && steps <= len(segs); i, steps = parent[i], steps+1 {
		chain = append(chain, i)
	}
	var rc rootCause
	for k := len(chain) - 1; k >= 0; k-- {
		i := chain[k]
		s := &segs[i]
		if !s.Subsegment || len(rc.Services) == 0 {
			svc := rootCauseService{Name: s.Name, Names: []string{s.Name}, EntityPath: []rootCauseEntity{}}
			if n := segNode[i]; n >= 0 {
				nd := &g.Nodes[n]
				svc = rootCauseService{Name: nd.Name, Names: []string{nd.Name}, Type: nd.Type, AccountID: nd.AccountID, EntityPath: []rootCauseEntity{}}
			}
			rc.Services = append(rc.Services, svc)
		}
		last := &rc.Services[len(rc.Services)-1]
		ent := rootCauseEntity{Name: s.Name, Exceptions: []rootCauseException{}, Remote: s.Namespace == "remote" || s.Namespace == "aws"}
		if i == leaf {
			for _, x := range t.Entities[i].Exceptions {
				ent.Exceptions = append(ent.Exceptions, rootCauseException{Name: x.Name, Message: x.Message})
			}
		}
		last.EntityPath = append(last.EntityPath, ent)
	}
	if n := inferredNode[leaf]; n >= 0 {
		nd := &g.Nodes[n]
		rc.Services = append(rc.Services, rootCauseService{Name: nd.Name, Names: []string{nd.Name}, Type: nd.Type, Inferred: true,
			EntityPath: []rootCauseEntity{{Name: nd.Name, Exceptions: []rootCauseException{}, Remote: true}}})
	}
	return rc
}

// filterRootCauses converts root causes to the filter view.
func filterRootCauses(fault, errs, slow []rootCause) *xrayview.RootCauses {
	conv := func(list []rootCause) []xrayview.Cause {
		out := make([]xrayview.Cause, 0, len(list))
		for _, rc := range list {
			c := xrayview.Cause{ClientImpacting: rc.ClientImpacting}
			for _, s := range rc.Services {
				cs := xrayview.CauseService{Name: s.Name, Names: s.Names, Type: s.Type, AccountID: s.AccountID, Inferred: s.Inferred}
				for _, e := range s.EntityPath {
					ce := xrayview.CauseEntity{Name: e.Name, Remote: e.Remote}
					if e.Coverage != nil {
						ce.Coverage = *e.Coverage
					}
					for _, x := range e.Exceptions {
						ce.Exceptions = append(ce.Exceptions, xrayview.CauseException{Name: x.Name, Message: x.Message})
					}
					cs.EntityPath = append(cs.EntityPath, ce)
				}
				c.Services = append(c.Services, cs)
			}
			out = append(out, c)
		}
		return out
	}
	return &xrayview.RootCauses{Fault: conv(fault), Error: conv(errs), ResponseTime: conv(slow)}
}
