package xray

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

type serviceID struct {
	Name      string   `json:"Name"`
	Names     []string `json:"Names"`
	AccountID string   `json:"AccountId,omitempty"`
	Type      string   `json:"Type,omitempty"`
}

type annotationValue struct {
	NumberValue  *float64 `json:"NumberValue,omitempty"`
	BooleanValue *bool    `json:"BooleanValue,omitempty"`
	StringValue  *string  `json:"StringValue,omitempty"`
}

type valueWithServiceIDs struct {
	AnnotationValue annotationValue `json:"AnnotationValue"`
	ServiceIDs      []serviceID     `json:"ServiceIds"`
}

type summaryHTTP struct {
	HTTPURL    string `json:"HttpURL,omitempty"`
	HTTPStatus int    `json:"HttpStatus,omitempty"`
	HTTPMethod string `json:"HttpMethod,omitempty"`
	UserAgent  string `json:"UserAgent,omitempty"`
	ClientIP   string `json:"ClientIp,omitempty"`
}

type traceUser struct {
	UserName   string      `json:"UserName"`
	ServiceIDs []serviceID `json:"ServiceIds"`
}

type resourceARN struct {
	ARN string `json:"ARN"`
}

type instanceID struct {
	ID string `json:"Id"`
}

type availabilityZone struct {
	Name string `json:"Name"`
}

// traceSummary is X-Ray's TraceSummary.
type traceSummary struct {
	ID                     string                           `json:"Id"`
	StartTime              float64                          `json:"StartTime"`
	Duration               float64                          `json:"Duration"`
	ResponseTime           float64                          `json:"ResponseTime"`
	HasFault               bool                             `json:"HasFault"`
	HasError               bool                             `json:"HasError"`
	HasThrottle            bool                             `json:"HasThrottle"`
	IsPartial              bool                             `json:"IsPartial"`
	HTTP                   summaryHTTP                      `json:"Http"`
	Annotations            map[string][]valueWithServiceIDs `json:"Annotations"`
	Users                  []traceUser                      `json:"Users"`
	ServiceIDs             []serviceID                      `json:"ServiceIds"`
	ResourceARNs           []resourceARN                    `json:"ResourceARNs"`
	InstanceIDs            []instanceID                     `json:"InstanceIds"`
	AvailabilityZones      []availabilityZone               `json:"AvailabilityZones"`
	EntryPoint             *serviceID                       `json:"EntryPoint,omitempty"`
	FaultRootCauses        []rootCause                      `json:"FaultRootCauses"`
	ErrorRootCauses        []rootCause                      `json:"ErrorRootCauses"`
	ResponseTimeRootCauses []rootCause                      `json:"ResponseTimeRootCauses"`
	Revision               int                              `json:"Revision"`
	MatchedEventTime       *float64                         `json:"MatchedEventTime,omitempty"`
}

func nodeServiceID(n *xrayview.GraphNode) serviceID {
	return serviceID{Name: n.Name, Names: []string{n.Name}, AccountID: n.AccountID, Type: n.Type}
}

// summarize builds the summary of one trace.
func summarize(t *xrayview.View, g *xrayview.Graph) traceSummary {
	segs := t.Trace.Segments
	start, end := t.Bounds()
	sum := traceSummary{
		ID:                     t.Trace.ID.XRay(),
		StartTime:              roundMs(start),
		Duration:               roundMs(end - start),
		Annotations:            map[string][]valueWithServiceIDs{},
		Users:                  []traceUser{},
		ServiceIDs:             []serviceID{},
		ResourceARNs:           []resourceARN{},
		InstanceIDs:            []instanceID{},
		AvailabilityZones:      []availabilityZone{},
		FaultRootCauses:        []rootCause{},
		ErrorRootCauses:        []rootCause{},
		ResponseTimeRootCauses: []rootCause{},
		Revision:               1,
	}
	// nodeOf[i] is the node of the segment enclosing (sub)segment i.
	ids := make(map[model.SpanID]int, len(segs))
	for i := range segs {
		ids[segs[i].ID] = i
	}
	segNode := make([]int, len(segs))
	for i := range segNode {
		segNode[i] = -1
	}
	for ni := range g.Nodes {
		if g.Nodes[ni].Inferred {
			continue
		}
		for _, si := range g.Nodes[ni].Segments {
			segNode[si] = ni
		}
	}
	nodeOf := func(i int) int {
		for steps := 0; steps <= len(segs); steps++ {
			if segNode[i] >= 0 || !segs[i].Subsegment {
				return segNode[i]
			}
			p, ok := ids[segs[i].ParentID]
			if !ok || p == i {
				return -1
			}
			i = p
		}
		return -1
	}
	svcIDs := func(i int) []serviceID {
		if n := nodeOf(i); n >= 0 {
			return []serviceID{nodeServiceID(&g.Nodes[n])}
		}
		return []serviceID{}
	}
	for ni := range g.Nodes {
		if !g.Nodes[ni].Client {
			sum.ServiceIDs = append(sum.ServiceIDs, nodeServiceID(&g.Nodes[ni]))
		}
	}
	if r := xrayview.RootIndex(segs); r >= 0 {
		s := &segs[r]
		if rt, ok := xrayview.ResponseTime(s); ok {
			sum.ResponseTime = roundMs(rt)
		}
		sum.HasFault, sum.HasError = s.Fault, s.Error
		sum.HTTP = summaryHTTP{HTTPURL: s.HTTP.URL, HTTPStatus: s.HTTP.Status, HTTPMethod: s.HTTP.Method, UserAgent: s.HTTP.UserAgent, ClientIP: s.HTTP.ClientIP}
		if n := segNode[r]; n >= 0 {
			id := nodeServiceID(&g.Nodes[n])
			sum.EntryPoint = &id
		}
	} else {
		sum.IsPartial = true
	}
	users := map[string]int{}
	seenARN, seenInst, seenAZ := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := range segs {
		s := &segs[i]
		sum.HasThrottle = sum.HasThrottle || s.Throttle
		if s.InProgress {
			sum.IsPartial = true
		}
		if s.Subsegment {
			if _, ok := ids[s.ParentID]; !ok {
				sum.IsPartial = true
			}
		}
		if s.User != "" {
			if _, ok := users[s.User]; !ok {
				users[s.User] = len(sum.Users)
				sum.Users = append(sum.Users, traceUser{UserName: s.User, ServiceIDs: svcIDs(i)})
			}
		}
		if s.ResourceARN != "" && !seenARN[s.ResourceARN] {
			seenARN[s.ResourceARN] = true
			sum.ResourceARNs = append(sum.ResourceARNs, resourceARN{s.ResourceARN})
		}
		if s.InstanceID != "" && !seenInst[s.InstanceID] {
			seenInst[s.InstanceID] = true
			sum.InstanceIDs = append(sum.InstanceIDs, instanceID{s.InstanceID})
		}
		if s.AvailabilityZone != "" && !seenAZ[s.AvailabilityZone] {
			seenAZ[s.AvailabilityZone] = true
			sum.AvailabilityZones = append(sum.AvailabilityZones, availabilityZone{s.AvailabilityZone})
		}
		for _, k := range sortedAnnotationKeys(s.Annotations) {
			v := s.Annotations[k]
			av := toAnnotationValue(v)
			list := sum.Annotations[k]
			found := false
			for j := range list {
				if sameAnnotation(list[j].AnnotationValue, av) {
					found = true
					for _, id := range svcIDs(i) {
						if !slices.ContainsFunc(list[j].ServiceIDs, func(x serviceID) bool { return x.Name == id.Name && x.Type == id.Type && x.AccountID == id.AccountID }) {
							list[j].ServiceIDs = append(list[j].ServiceIDs, id)
						}
					}
				}
			}
			if !found {
				list = append(list, valueWithServiceIDs{AnnotationValue: av, ServiceIDs: svcIDs(i)})
			}
			sum.Annotations[k] = list
		}
	}
	return sum
}

func sortedAnnotationKeys(m map[string]model.Value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func toAnnotationValue(v model.Value) annotationValue {
	switch v.Kind {
	case model.KindInt:
		f := float64(v.Int)
		return annotationValue{NumberValue: &f}
	case model.KindFloat:
		f := v.Flt
		return annotationValue{NumberValue: &f}
	case model.KindBool:
		b := v.AsBool()
		return annotationValue{BooleanValue: &b}
	}
	s := v.Str
	return annotationValue{StringValue: &s}
}

func sameAnnotation(a, b annotationValue) bool {
	switch {
	case a.NumberValue != nil && b.NumberValue != nil:
		return *a.NumberValue == *b.NumberValue
	case a.BooleanValue != nil && b.BooleanValue != nil:
		return *a.BooleanValue == *b.BooleanValue
	case a.StringValue != nil && b.StringValue != nil:
		return *a.StringValue == *b.StringValue
	}
	return false
}

// sampledOut reports whether a trace falls outside a FixedRate sample of
// the given rate; the choice depends only on the trace id, so pages agree.
func sampledOut(id model.TraceID, rate float64) bool {
	h := fnv.New64a()
	h.Write(id[:])
	x := binary.BigEndian.Uint64(h.Sum(nil))
	return float64(x>>11)/float64(1<<53) >= rate
}

func (o *traceOps) getTraceSummaries(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		StartTime        *float64 `json:"StartTime"`
		EndTime          *float64 `json:"EndTime"`
		TimeRangeType    *string  `json:"TimeRangeType"`
		Sampling         *bool    `json:"Sampling"`
		SamplingStrategy *struct {
			Name  *string  `json:"Name"`
			Value *float64 `json:"Value"`
		} `json:"SamplingStrategy"`
		FilterExpression *string `json:"FilterExpression"`
		NextToken        *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	w, err := o.window(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	rangeType := "TraceId"
	if in.TimeRangeType != nil {
		rangeType = *in.TimeRangeType
		switch rangeType {
		case "TraceId", "Event", "Service":
		default:
			return nil, InvalidRequest("1 validation error detected: Value '%s' at 'timeRangeType' failed to satisfy constraint: Member must satisfy enum value set: [TraceId, Event, Service]", truncateValue(rangeType))
		}
	}
	rate := 1.0
	if ss := in.SamplingStrategy; ss != nil {
		if ss.Name != nil && *ss.Name != "PartialScan" && *ss.Name != "FixedRate" {
			return nil, InvalidRequest("1 validation error detected: Value '%s' at 'samplingStrategy.name' failed to satisfy constraint: Member must satisfy enum value set: [PartialScan, FixedRate]", truncateValue(*ss.Name))
		}
		if ss.Value != nil {
			if math.IsNaN(*ss.Value) || *ss.Value < 0 || *ss.Value > 1 {
				return nil, InvalidRequest("SamplingStrategy Value must be between 0 and 1.")
			}
			if in.Sampling != nil && *in.Sampling {
				rate = *ss.Value
			}
		}
	}
	filter, err := parseFilter("filterExpression", in.FilterExpression, 2000)
	if err != nil {
		return nil, err
	}
	if in.NextToken != nil {
		if _, ok := parseToken(*in.NextToken); !ok {
			return nil, InvalidRequest("Invalid NextToken.")
		}
	}
	resolve := o.groupResolver(ctx, env)
	var require []store.SpanMatch
	needCauses := false // the filter reads root causes
	if filter != nil {
		require = pushdown(filter.Hints())
		needCauses = readsRootCauses(filter.Root)
	}
	order, byTrace, err := o.scanTraces(ctx, env, w.start.Add(-o.d.Slack), w.end.Add(o.d.Slack), require)
	if err != nil {
		return nil, err
	}
	processed := 0
	if require != nil {
		// The traces the store left out were processed too: X-Ray counts
		// every trace of the window, matching or not.
		n, err := o.leftOut(ctx, env, w, order, byTrace)
		if err != nil {
			return nil, err
		}
		processed = int(math.Round(float64(n) * rate))
	}
	var sums []traceSummary
	for _, id := range order {
		if err := ctx.Err(); err != nil { // summarizing is the rest of the time budget
			return nil, err
		}
		t := xrayview.Convert(id, byTrace[id], xrayview.Full)
		if len(t.Trace.Segments) == 0 {
			continue
		}
		matched, ok := inRange(t, rangeType, w)
		if !ok {
			continue
		}
		if rate < 1 && sampledOut(id, rate) {
			continue
		}
		processed++
		g := xrayview.BuildGraph(t.Trace.Segments)
		var faults, errs, slow []rootCause
		if needCauses {
			faults, errs, slow = rootCauses(t, &g)
			t.Trace.RootCauses = filterRootCauses(faults, errs, slow)
		}
		if filter != nil && !filter.Match(&t.Trace, resolve) {
			continue
		}
		if !needCauses {
			faults, errs, slow = rootCauses(t, &g)
		}
		s := summarize(t, &g)
		s.FaultRootCauses, s.ErrorRootCauses, s.ResponseTimeRootCauses = faults, errs, slow
		if rangeType == "Event" {
			m := roundMs(matched)
			s.MatchedEventTime = &m
		}
		sums = append(sums, s)
	}
	slices.SortFunc(sums, func(a, b traceSummary) int {
		return cmp.Or(cmp.Compare(b.StartTime, a.StartTime), cmp.Compare(a.ID, b.ID))
	})
	items, next, err := page(sums, in.NextToken, o.h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	approx := math.Floor(w.e)
	if len(items) > 0 {
		approx = math.Floor(items[0].StartTime)
	}
	return struct {
		TraceSummaries       []traceSummary `json:"TraceSummaries"`
		ApproximateTime      float64        `json:"ApproximateTime"`
		TracesProcessedCount int64          `json:"TracesProcessedCount"`
		NextToken            *string        `json:"NextToken,omitempty"`
	}{items, approx, int64(processed), next}, nil
}

// inRange applies TimeRangeType: TraceId, the time the trace id names (or,
// for ids that name none, the trace's start) lies in [start, end); Event, a
// span of the trace is active in the window (matched is the latest such
// span's start); Service, a span ends in the window.
func inRange(t *xrayview.View, rangeType string, w window) (matched float64, ok bool) {
	segs := t.Trace.Segments
	switch rangeType {
	case "Event":
		found := false
		for i := range segs {
			s := &segs[i]
			end := s.End
			if s.InProgress || end < s.Start {
				end = math.Inf(1)
			}
			if s.Start <= w.e && end >= w.s {
				if !found || s.Start > matched {
					matched = s.Start
				}
				found = true
			}
		}
		return max(matched, w.s), found
	case "Service":
		for i := range segs {
			s := &segs[i]
			if !s.InProgress && s.End >= w.s && s.End <= w.e {
				return s.End, true
			}
		}
		return 0, false
	}
	start, _ := t.Bounds()
	e, ok := traceEpoch(t.Trace.ID, start)
	if !ok {
		e = math.Floor(start)
	}
	return e, e >= w.s && (e < w.e || w.e == w.s && e == w.s)
}

// leftOut counts the traces with an event in the window other than the
// selected ones (order, read into byTrace).
func (o *traceOps) leftOut(ctx context.Context, env string, w window, order []model.TraceID, byTrace map[model.TraceID][]model.Event) (int, error) {
	end := w.end.Add(time.Nanosecond)
	sel, err := o.reader(ctx).SelectTraces(ctx, env, store.TraceQuery{Start: w.start, End: end, Limit: 1, Count: true})
	if err != nil {
		return 0, err
	}
	n := sel.Total
	for _, id := range order {
		for i := range byTrace[id] {
			if t := byTrace[id][i].Time; !t.Before(w.start) && t.Before(end) {
				n--
				break
			}
		}
	}
	return max(n, 0), nil
}

// readsRootCauses reports whether an expression may read root causes
// (rootcause predicates, or a group whose expression might).
func readsRootCauses(n xrayfilter.Node) bool {
	switch n := n.(type) {
	case *xrayfilter.And:
		return readsRootCauses(n.Left) || readsRootCauses(n.Right)
	case *xrayfilter.Or:
		return readsRootCauses(n.Left) || readsRootCauses(n.Right)
	case *xrayfilter.Not:
		return readsRootCauses(n.X)
	case *xrayfilter.Service:
		return n.Filter != nil && readsRootCauses(n.Filter)
	case *xrayfilter.Edge:
		return n.Filter != nil && readsRootCauses(n.Filter)
	case *xrayfilter.RootCause, *xrayfilter.RootCauseJSON, *xrayfilter.Group:
		return true
	}
	return false
}
