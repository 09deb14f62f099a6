package xrayfilter

import (
	"math"
	"slices"
)

// Hints are necessary conditions of an expression that a store can check
// before loading a trace: every trace that matches the expression satisfies
// all of them (a trace that satisfies them may still not match). The zero
// value constrains nothing.
type Hints struct {
	// Names lists names of which each must occur in the trace as the name
	// of a segment or subsegment, or as a subsegment's DynamoDB table name
	// (from service(...) and edge(...) predicates). Sorted, no duplicates.
	Names []string
	// AnnotationKeys lists annotation keys of which each must occur on some
	// segment or subsegment. Sorted, no duplicates.
	AnnotationKeys []string
	// ResponseTime bounds the root segment's end − start.
	ResponseTime Range
	// Duration bounds the trace's max end − min start.
	Duration Range
}

// Range is an inclusive range of seconds; a side is unbounded when its Has
// flag is false.
type Range struct {
	Min, Max       float64
	HasMin, HasMax bool
}

// Contains reports whether v lies in the range.
func (r Range) Contains(v float64) bool {
	return (!r.HasMin || v >= r.Min) && (!r.HasMax || v <= r.Max)
}

func (r Range) and(o Range) Range {
	if o.HasMin && (!r.HasMin || o.Min > r.Min) {
		r.Min, r.HasMin = o.Min, true
	}
	if o.HasMax && (!r.HasMax || o.Max < r.Max) {
		r.Max, r.HasMax = o.Max, true
	}
	return r
}

func (r Range) or(o Range) Range {
	out := Range{}
	if r.HasMin && o.HasMin {
		out.Min, out.HasMin = math.Min(r.Min, o.Min), true
	}
	if r.HasMax && o.HasMax {
		out.Max, out.HasMax = math.Max(r.Max, o.Max), true
	}
	return out
}

func rangeOf(op Op, v float64) Range {
	switch op {
	case OpEq:
		return Range{Min: v, Max: v, HasMin: true, HasMax: true}
	case OpGt, OpGe:
		return Range{Min: v, HasMin: true}
	case OpLt, OpLe:
		return Range{Max: v, HasMax: true}
	}
	return Range{}
}

// Hints returns the expression's necessary conditions. Group references,
// negations and rootcause predicates contribute nothing.
func (e *Expr) Hints() Hints {
	if e == nil || e.Root == nil {
		return Hints{}
	}
	h := hintsOf(e.Root)
	slices.Sort(h.Names)
	h.Names = slices.Compact(h.Names)
	slices.Sort(h.AnnotationKeys)
	h.AnnotationKeys = slices.Compact(h.AnnotationKeys)
	return h
}

func hintsOf(n Node) Hints {
	switch n := n.(type) {
	case *And:
		l, r := hintsOf(n.Left), hintsOf(n.Right)
		return Hints{
			Names:          append(l.Names, r.Names...),
			AnnotationKeys: append(l.AnnotationKeys, r.AnnotationKeys...),
			ResponseTime:   l.ResponseTime.and(r.ResponseTime),
			Duration:       l.Duration.and(r.Duration),
		}
	case *Or:
		l, r := hintsOf(n.Left), hintsOf(n.Right)
		return Hints{
			Names:          intersect(l.Names, r.Names),
			AnnotationKeys: intersect(l.AnnotationKeys, r.AnnotationKeys),
			ResponseTime:   l.ResponseTime.or(r.ResponseTime),
			Duration:       l.Duration.or(r.Duration),
		}
	case *NumCmp:
		switch n.Keyword {
		case KwResponseTime:
			return Hints{ResponseTime: rangeOf(n.Op, n.Value)}
		case KwDuration:
			return Hints{Duration: rangeOf(n.Op, n.Value)}
		}
	case *AnnotationCmp:
		return Hints{AnnotationKeys: []string{n.Key}}
	case *Service:
		if n.Target != nil && n.Target.HasName {
			return Hints{Names: []string{n.Target.Name}}
		}
	case *Edge:
		var names []string
		for _, t := range []*Target{n.From, n.To} {
			if t != nil && t.HasName {
				names = append(names, t.Name)
			}
		}
		return Hints{Names: names}
	}
	return Hints{}
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
