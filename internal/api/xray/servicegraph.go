package xray

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/servicegraph"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// windowTraces reads the traces with spans overlapping [w.s, w.e] and sees
// each as X-Ray entities made of those spans only; the newest trace first.
// With full false the traces are seen only as far as the service graph
// needs (xrayview.GraphOnly).
func (o *traceOps) windowTraces(ctx context.Context, env string, w window, full bool) ([]*xrayview.View, error) {
	order, byTrace, err := o.scanTraces(ctx, env, w.start.Add(-o.d.Slack), w.end.Add(time.Nanosecond), nil)
	if err != nil {
		return nil, err
	}
	out := make([]*xrayview.View, 0, len(order))
	for _, id := range order {
		if err := ctx.Err(); err != nil { // converting is the rest of the budget
			return nil, err
		}
		evs := byTrace[id]
		kept := evs[:0]
		for _, ev := range evs {
			start := epochSeconds(&ev)
			end := start + ev.DurationMs/1000
			if start <= w.e && end >= w.s {
				kept = append(kept, ev)
			}
		}
		if len(kept) == 0 {
			continue
		}
		detail := xrayview.GraphOnly
		if full {
			detail = xrayview.Full
		}
		if t := xrayview.Convert(id, kept, detail); len(t.Trace.Segments) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

type serviceGraphOut struct {
	StartTime                float64                `json:"StartTime"`
	EndTime                  float64                `json:"EndTime"`
	Services                 []servicegraph.Service `json:"Services"`
	ContainsOldGroupVersions bool                   `json:"ContainsOldGroupVersions"`
	NextToken                *string                `json:"NextToken,omitempty"`
}

type graphGroupRef struct {
	GroupName *string `json:"GroupName"`
	GroupARN  *string `json:"GroupARN"`
}

func (g *graphGroupRef) validate() error {
	if g.GroupName != nil && (len(*g.GroupName) < 1 || len(*g.GroupName) > 32) {
		return InvalidRequest("1 validation error detected: Value '%s' at 'groupName' failed to satisfy constraint: Member must have length between 1 and 32", truncateValue(*g.GroupName))
	}
	if g.GroupARN != nil && (len(*g.GroupARN) < 1 || len(*g.GroupARN) > 400) {
		return InvalidRequest("1 validation error detected: Value '%s' at 'groupARN' failed to satisfy constraint: Member must have length between 1 and 400", truncateValue(*g.GroupARN))
	}
	return nil
}

func (o *traceOps) getServiceGraph(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		StartTime *float64 `json:"StartTime"`
		EndTime   *float64 `json:"EndTime"`
		graphGroupRef
		NextToken *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	w, err := o.window(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.NextToken != nil {
		if _, ok := parseToken(*in.NextToken); !ok {
			return nil, InvalidRequest("Invalid NextToken.")
		}
	}
	filter, err := o.groupFilter(ctx, env, in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	traces, err := o.windowTraces(ctx, env, w, filter != nil)
	if err != nil {
		return nil, err
	}
	resolve := o.groupResolver(ctx, env)
	b := servicegraph.NewBuilder()
	for _, t := range traces {
		if filter != nil && !filter.Match(&t.Trace, resolve) {
			continue
		}
		g := xrayview.BuildGraph(t.Trace.Segments)
		b.Add(t.Trace.Segments, &g)
	}
	return serviceGraphOut{StartTime: w.s, EndTime: w.e, Services: b.Services()}, nil
}

// selector is an EntitySelectorExpression: service(t) / id(...) selects
// nodes, edge(a, b) selects edges; none selects the edges from clients.
type selector struct {
	service  *xrayfilter.Target
	from, to *xrayfilter.Target
	isEdge   bool
}

func parseSelector(s *string) (selector, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return selector{isEdge: true}, nil
	}
	if len(*s) > 500 {
		return selector{}, InvalidRequest("1 validation error detected: Value at 'entitySelectorExpression' failed to satisfy constraint: Member must have length less than or equal to 500")
	}
	src := strings.TrimSpace(*s)
	if strings.HasPrefix(src, "id(") {
		src = "service(" + src + ")"
	}
	expr, err := xrayfilter.Parse(src)
	if err != nil {
		return selector{}, InvalidRequest("Invalid entity selector expression: %v", err)
	}
	switch n := expr.Root.(type) {
	case *xrayfilter.Service:
		if n.Filter == nil {
			return selector{service: n.Target}, nil
		}
	case *xrayfilter.Edge:
		if n.Filter == nil {
			return selector{isEdge: true, from: n.From, to: n.To}, nil
		}
	}
	return selector{}, InvalidRequest("Invalid entity selector expression: expected service(...), id(...) or edge(..., ...) without a filter")
}

type timeSeriesEntry struct {
	Timestamp                 float64                       `json:"Timestamp"`
	EdgeSummaryStatistics     *servicegraph.Stats           `json:"EdgeSummaryStatistics,omitempty"`
	ServiceSummaryStatistics  *servicegraph.Stats           `json:"ServiceSummaryStatistics,omitempty"`
	ServiceForecastStatistics *forecastStatistics           `json:"ServiceForecastStatistics,omitempty"`
	ResponseTimeHistogram     []servicegraph.HistogramEntry `json:"ResponseTimeHistogram"`
}

type forecastStatistics struct {
	FaultCountHigh int64 `json:"FaultCountHigh"`
	FaultCountLow  int64 `json:"FaultCountLow"`
}

type bucket struct {
	stats servicegraph.Stats
	hist  servicegraph.Histogram
}

func (o *traceOps) getTimeSeriesServiceStatistics(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		StartTime *float64 `json:"StartTime"`
		EndTime   *float64 `json:"EndTime"`
		graphGroupRef
		EntitySelectorExpression *string `json:"EntitySelectorExpression"`
		Period                   *int64  `json:"Period"`
		ForecastStatistics       *bool   `json:"ForecastStatistics"`
		NextToken                *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	w, err := o.window(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	period := int64(60)
	if in.Period != nil {
		period = *in.Period
		if period < 60 || period%60 != 0 {
			return nil, InvalidRequest("Period must be a multiple of 60 seconds, at least 60; got %d.", period)
		}
	}
	sel, err := parseSelector(in.EntitySelectorExpression)
	if err != nil {
		return nil, err
	}
	filter, err := o.groupFilter(ctx, env, in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	traces, err := o.windowTraces(ctx, env, w, filter != nil)
	if err != nil {
		return nil, err
	}
	resolve := o.groupResolver(ctx, env)
	buckets := map[int64]*bucket{}
	count := func(s *xrayview.Segment) {
		if s.Start < w.s || s.Start > w.e {
			return
		}
		k := int64(math.Floor(s.Start/float64(period))) * period
		b := buckets[k]
		if b == nil {
			b = &bucket{hist: servicegraph.Histogram{}}
			buckets[k] = b
		}
		if rt, ok := b.stats.Count(s); ok {
			b.hist.Add(rt)
		}
	}
	for _, t := range traces {
		if filter != nil && !filter.Match(&t.Trace, resolve) {
			continue
		}
		segs := t.Trace.Segments
		g := xrayview.BuildGraph(segs)
		if !sel.isEdge {
			for _, n := range g.Nodes {
				if n.Client || !sel.service.MatchNode(n.Name, n.Type, n.AccountID) {
					continue
				}
				for _, si := range n.Segments {
					count(&segs[si])
				}
			}
			continue
		}
		for _, e := range g.Edges {
			from, to := &g.Nodes[e.From], &g.Nodes[e.To]
			if sel.from == nil && sel.to == nil {
				if !from.Client {
					continue
				}
			} else if from.Client || !sel.from.MatchNode(from.Name, from.Type, from.AccountID) || !sel.to.MatchNode(to.Name, to.Type, to.AccountID) {
				continue
			}
			count(&segs[e.Caller])
		}
	}
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	series := make([]timeSeriesEntry, 0, len(keys))
	for _, k := range keys {
		b := buckets[k]
		st := b.stats
		e := timeSeriesEntry{Timestamp: float64(k), ResponseTimeHistogram: b.hist.Entries()}
		if sel.isEdge {
			e.EdgeSummaryStatistics = &st
		} else {
			e.ServiceSummaryStatistics = &st
			if in.ForecastStatistics != nil && *in.ForecastStatistics {
				f := st.FaultStatistics.TotalCount
				e.ServiceForecastStatistics = &forecastStatistics{FaultCountHigh: f, FaultCountLow: f}
			}
		}
		series = append(series, e)
	}
	items, next, err := page(series, in.NextToken, o.h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	return struct {
		TimeSeriesServiceStatistics []timeSeriesEntry `json:"TimeSeriesServiceStatistics"`
		ContainsOldGroupVersions    bool              `json:"ContainsOldGroupVersions"`
		NextToken                   *string           `json:"NextToken,omitempty"`
	}{items, false, next}, nil
}

// traceEpoch returns the time a trace id names (its first 4 bytes, for
// X-Ray ids), or ok false when those bytes are not a plausible time for a
// trace that started at start, more than an hour away (W3C ids are
// random).
func traceEpoch(id model.TraceID, start float64) (float64, bool) {
	e := float64(uint32(id[0])<<24 | uint32(id[1])<<16 | uint32(id[2])<<8 | uint32(id[3]))
	if start > 0 && math.Abs(e-start) > 3600 {
		return 0, false
	}
	return e, true
}
