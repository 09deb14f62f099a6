package xrayfilter

import (
	"strings"
)

// rcItem is what rootcause braces see: one service, entity or exception.
type rcItem struct {
	name, typ, message    string
	inferred, remote      bool
	first, last           bool
	index                 int
	coverage              float64
	hasIndex, hasCoverage bool
}

func (ev *evaluator) rootCause(n *RootCause) bool {
	rc := ev.t.RootCauses
	if rc == nil {
		return false
	}
	var list []Cause
	switch n.Kind {
	case RootCauseFault:
		list = rc.Fault
	case RootCauseError:
		list = rc.Error
	case RootCauseResponseTime:
		list = rc.ResponseTime
	}
	rt := n.Kind == RootCauseResponseTime
	for ci := range list {
		svcs := list[ci].Services
		for si := range svcs {
			svc := &svcs[si]
			if n.Level == LevelService {
				it := rcItem{name: svc.Name, typ: svc.Type, inferred: svc.Inferred,
					first: si == 0, last: si == len(svcs)-1, index: si, hasIndex: true}
				if rcEval(n.Filter, &it) {
					return true
				}
				continue
			}
			path := svc.EntityPath
			for ei := range path {
				ent := &path[ei]
				if n.Level == LevelEntity {
					it := rcItem{name: ent.Name, remote: ent.Remote,
						first: ei == 0, last: ei == len(path)-1, index: ei, hasIndex: true,
						coverage: ent.Coverage, hasCoverage: rt}
					if rcEval(n.Filter, &it) {
						return true
					}
					continue
				}
				for xi := range ent.Exceptions {
					x := &ent.Exceptions[xi]
					if rcEval(n.Filter, &rcItem{name: x.Name, message: x.Message}) {
						return true
					}
				}
			}
		}
	}
	return false
}

func rcEval(n Node, it *rcItem) bool {
	switch n := n.(type) {
	case *And:
		return rcEval(n.Left, it) && rcEval(n.Right, it)
	case *Or:
		return rcEval(n.Left, it) || rcEval(n.Right, it)
	case *Not:
		return !rcEval(n.X, it)
	case *BoolCmp:
		var v bool
		switch n.Keyword {
		case KwInferred:
			v = it.inferred
		case KwRemote:
			v = it.remote
		case KwFirst:
			v = it.first
		case KwLast:
			v = it.last
		default:
			return false
		}
		return boolCmp(n, v)
	case *NumCmp:
		switch n.Keyword {
		case KwIndex:
			return it.hasIndex && numCmp(n.Op, float64(it.index), n.Value)
		case KwCoverage:
			return it.hasCoverage && numCmp(n.Op, it.coverage, n.Value)
		}
		return false
	case *StrCmp:
		var v string
		switch n.Keyword {
		case KwName:
			v = it.name
		case KwType:
			v = it.typ
		case KwMessage:
			v = it.message
		}
		return strCmp(n.Op, v, n.Value)
	}
	return false
}

func (ev *evaluator) rootCauseJSON(n *RootCauseJSON) bool {
	rc := ev.t.RootCauses
	if rc == nil {
		return false
	}
	if ev.causes == nil {
		ev.causes = causesJSON(rc)
	}
	for _, pat := range n.Patterns {
		found := false
		for _, c := range ev.causes {
			if matchJSON(pat, c) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// causesJSON renders the root causes with the field names of the X-Ray API,
// for rootcause.json patterns.
func causesJSON(rc *RootCauses) []any {
	out := []any{}
	add := func(list []Cause, rt bool) {
		for _, c := range list {
			svcs := make([]any, 0, len(c.Services))
			for _, s := range c.Services {
				names := make([]any, 0, len(s.Names))
				for _, nm := range s.Names {
					names = append(names, nm)
				}
				path := make([]any, 0, len(s.EntityPath))
				for _, e := range s.EntityPath {
					ent := map[string]any{"Name": e.Name, "Remote": e.Remote}
					if rt {
						ent["Coverage"] = e.Coverage
					} else {
						xs := make([]any, 0, len(e.Exceptions))
						for _, x := range e.Exceptions {
							xs = append(xs, map[string]any{"Name": x.Name, "Message": x.Message})
						}
						ent["Exceptions"] = xs
					}
					path = append(path, ent)
				}
				svcs = append(svcs, map[string]any{"Name": s.Name, "Names": names, "Type": s.Type,
					"AccountId": s.AccountID, "Inferred": s.Inferred, "EntityPath": path})
			}
			out = append(out, map[string]any{"Services": svcs, "ClientImpacting": c.ClientImpacting})
		}
	}
	add(rc.Fault, false)
	add(rc.Error, false)
	add(rc.ResponseTime, true)
	return out
}

// matchJSON reports whether actual partially matches pattern: object fields
// in the pattern must match (field names case-insensitively), absent fields
// are wildcards, each element of a pattern array must match some element of
// the actual array, and null matches anything.
func matchJSON(pattern, actual any) bool {
	switch p := pattern.(type) {
	case nil:
		return true
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			av, ok := a[k]
			if !ok {
				for ak, v := range a {
					if strings.EqualFold(ak, k) {
						av, ok = v, true
						break
					}
				}
			}
			if !ok || !matchJSON(pv, av) {
				return false
			}
		}
		return true
	case []any:
		a, ok := actual.([]any)
		if !ok {
			return false
		}
		for _, pe := range p {
			found := false
			for _, ae := range a {
				if matchJSON(pe, ae) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case string:
		a, ok := actual.(string)
		return ok && a == p
	case float64:
		a, ok := actual.(float64)
		return ok && a == p
	case bool:
		a, ok := actual.(bool)
		return ok && a == p
	}
	return false
}
