package xray

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/ingest"
	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/servicegraph"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// TraceDeps are what the trace operations need. Store and Consumer are
// required; zero fields of the rest take defaults.
type TraceDeps struct {
	// Store reads stored traces. The operations read an environment's
	// events through store.DoorView with Doors (or the doors a request's
	// context names, see WithDoors).
	Store store.Reader
	// Doors are the doors whose events the X-Ray API reads by default:
	// model.DoorXRay only (what AWS X-Ray would show) when empty.
	Doors []model.Door
	// Consumer takes the spans of PutTraceSegments for an environment,
	// writing them where X-Ray's doors write (store.DoorEnv).
	Consumer ingest.Consumer
	// MaxWindow caps EndTime − StartTime of a query (default 24 h).
	MaxWindow time.Duration
	// MaxTraces caps the traces one query reads (default 10000); the
	// newest are kept.
	MaxTraces int
	// Slack widens a query's scan so that traces and spans that started
	// before the window but reach into it are seen whole (default 10 min).
	Slack time.Duration
	// QueryTimeout is the time budget of one read (BatchGetTraces,
	// GetTraceSummaries, GetTraceGraph, GetServiceGraph,
	// GetTimeSeriesServiceStatistics): past it the store stops the read
	// and the call gets a ThrottledException (budget.go). Default 30 s.
	QueryTimeout time.Duration
}

type traceOps struct {
	h          *Handler
	d          TraceDeps
	view       store.Reader // d.Store through d.Doors
	retrievals *retrievals  // cancelled trace retrievals (retrieval.go)
}

type doorsKey struct{}

// WithDoors returns ctx asking the trace operations to read the events sent
// to these doors instead of TraceDeps.Doors: tracecomb's own views (the UI
// can show X-Ray's service graph of the OpenTelemetry data, or of both).
func WithDoors(ctx context.Context, doors ...model.Door) context.Context {
	return context.WithValue(ctx, doorsKey{}, doors)
}

// reader is the store as the request's doors see it.
func (o *traceOps) reader(ctx context.Context) store.Reader {
	if d, ok := ctx.Value(doorsKey{}).([]model.Door); ok && len(d) > 0 {
		return store.DoorView(o.d.Store, d...)
	}
	return o.view
}

// doors are the request's doors: WithDoors's, else TraceDeps.Doors.
func (o *traceOps) doors(ctx context.Context) []model.Door {
	if d, ok := ctx.Value(doorsKey{}).([]model.Door); ok && len(d) > 0 {
		return d
	}
	return o.d.Doors
}

// RegisterTraceOperations registers the operations that write and read
// stored traces: PutTraceSegments (/TraceSegments), BatchGetTraces
// (/Traces), GetTraceSummaries (/TraceSummaries), GetTraceGraph
// (/TraceGraph), GetServiceGraph (/ServiceGraph),
// GetTimeSeriesServiceStatistics (/TimeSeriesServiceStatistics) and the
// trace retrieval operations (retrieval.go).
func (h *Handler) RegisterTraceOperations(d TraceDeps) error {
	if d.Store == nil || d.Consumer == nil {
		return errors.New("xray: TraceDeps.Store and TraceDeps.Consumer are required")
	}
	if len(d.Doors) == 0 {
		d.Doors = []model.Door{model.DoorXRay}
	}
	if d.MaxWindow <= 0 {
		d.MaxWindow = 24 * time.Hour
	}
	if d.MaxTraces <= 0 {
		d.MaxTraces = 10000
	}
	if d.Slack <= 0 {
		d.Slack = 10 * time.Minute
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = defaultQueryTimeout
	}
	o := &traceOps{h: h, d: d, view: store.DoorView(d.Store, d.Doors...)}
	h.Handle("/TraceSegments", "PutTraceSegments", o.putTraceSegments)
	h.Handle("/Traces", "BatchGetTraces", o.bounded(o.batchGetTraces))
	h.Handle("/TraceSummaries", "GetTraceSummaries", o.bounded(o.getTraceSummaries))
	h.Handle("/TraceGraph", "GetTraceGraph", o.bounded(o.getTraceGraph))
	h.Handle("/ServiceGraph", "GetServiceGraph", o.bounded(o.getServiceGraph))
	h.Handle("/TimeSeriesServiceStatistics", "GetTimeSeriesServiceStatistics", o.bounded(o.getTimeSeriesServiceStatistics))
	o.registerRetrieval()
	return nil
}

// consumeError maps a consumer's error to X-Ray's.
func consumeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ingest.ErrOverloaded), errors.Is(err, ingest.ErrShuttingDown):
		return Throttled()
	case ingest.IsPermanent(err):
		return InvalidRequest("%v", err)
	}
	return err
}

type unprocessedSegment struct {
	ID        string `json:"Id,omitempty"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

func (o *traceOps) putTraceSegments(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		TraceSegmentDocuments *[]string `json:"TraceSegmentDocuments"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TraceSegmentDocuments == nil {
		return nil, InvalidRequest("1 validation error detected: Value null at 'traceSegmentDocuments' failed to satisfy constraint: Member must not be null")
	}
	out := struct {
		UnprocessedTraceSegments []unprocessedSegment `json:"UnprocessedTraceSegments"`
	}{[]unprocessedSegment{}}
	var events []model.Event
	docOf := map[model.SpanID]model.SpanID{} // span id → id of the document that sent it
	for _, doc := range *in.TraceSegmentDocuments {
		var err error
		start := len(events)
		events, err = xrayingest.AppendDocument(events, []byte(doc))
		for i := start; i < len(events); i++ {
			docOf[events[i].SpanID] = events[start].SpanID
		}
		if err != nil {
			var se *xrayingest.SegmentError
			if errors.As(err, &se) {
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessedSegment{ID: se.ID, ErrorCode: se.ErrorCode, Message: se.Message})
				continue
			}
			out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessedSegment{ErrorCode: "InvalidDocument", Message: "Invalid segment. ErrorCode: InvalidDocument"})
		}
	}
	// One span per segment id, by X-Ray's rule (as the daemon door
	// applies it): a complete segment sent in the same call as its
	// in-progress form replaces it, whatever their order.
	events = xrayview.Dedupe(events)
	if len(events) > 0 {
		err := o.d.Consumer.Consume(ctx, env, events)
		if re := ingest.Refused(err); re != nil {
			// The rest is stored: the refused ones are reported, once per
			// document (a segment's subsegments are spans of their own).
			seen := map[model.SpanID]bool{}
			for _, r := range re.Refused {
				id := docOf[events[r.Index].SpanID]
				if seen[id] {
					continue
				}
				seen[id] = true
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessedSegment{ID: id.String(), ErrorCode: "LimitExceeded", Message: r.Text()})
			}
			return out, nil
		}
		if err := consumeError(err); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseTraceID accepts an X-Ray trace id (1-xxxxxxxx-yyyy…) or 32 hex
// digits.
func parseTraceID(s string) (model.TraceID, bool) {
	if strings.HasPrefix(s, "1-") {
		id, err := model.ParseXRayTraceID(s)
		return id, err == nil
	}
	id, err := model.ParseTraceID(s)
	return id, err == nil && !id.IsZero()
}

// loadTrace reads one trace and sees it as X-Ray entities; nil when it has
// no spans.
func (o *traceOps) loadTrace(ctx context.Context, env string, id model.TraceID) (*xrayview.View, error) {
	events, err := o.reader(ctx).Trace(ctx, env, id)
	if err != nil {
		return nil, err
	}
	t := xrayview.Convert(id, events, xrayview.Full)
	if len(t.Trace.Segments) == 0 {
		return nil, nil
	}
	return t, nil
}

type traceOut struct {
	ID            string         `json:"Id"`
	Duration      float64        `json:"Duration"`
	LimitExceeded bool           `json:"LimitExceeded"`
	Segments      []traceSegment `json:"Segments"`
}

func checkTraceIDs(ids *[]string) error {
	if ids == nil {
		return InvalidRequest("1 validation error detected: Value null at 'traceIds' failed to satisfy constraint: Member must not be null")
	}
	for i, s := range *ids {
		if len(s) < 1 || len(s) > 35 {
			return InvalidRequest("1 validation error detected: Value '%s' at 'traceIds.%d.member' failed to satisfy constraint: Member must have length between 1 and 35", truncateValue(s), i+1)
		}
	}
	return nil
}

func truncateValue(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (o *traceOps) batchGetTraces(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		TraceIDs  *[]string `json:"TraceIds"`
		NextToken *string   `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTraceIDs(in.TraceIDs); err != nil {
		return nil, err
	}
	ids, next, err := page(*in.TraceIDs, in.NextToken, o.h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		Traces              []traceOut `json:"Traces"`
		UnprocessedTraceIDs []string   `json:"UnprocessedTraceIds"`
		NextToken           *string    `json:"NextToken,omitempty"`
	}{Traces: []traceOut{}, UnprocessedTraceIDs: []string{}, NextToken: next}
	seen := map[model.TraceID]bool{}
	for _, s := range ids {
		id, ok := parseTraceID(s)
		if !ok {
			out.UnprocessedTraceIDs = append(out.UnprocessedTraceIDs, s)
			continue
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := o.loadTrace(ctx, env, id)
		if err != nil {
			return nil, err
		}
		if t == nil {
			out.UnprocessedTraceIDs = append(out.UnprocessedTraceIDs, s)
			continue
		}
		g := xrayview.BuildGraph(t.Trace.Segments)
		start, end := t.Bounds()
		out.Traces = append(out.Traces, traceOut{
			ID:       id.XRay(),
			Duration: roundMs(end - start),
			Segments: traceSegments(t, &g),
		})
	}
	return out, nil
}

func roundMs(s float64) float64 { return math.Round(s*1000) / 1000 }

func (o *traceOps) getTraceGraph(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		TraceIDs  *[]string `json:"TraceIds"`
		NextToken *string   `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTraceIDs(in.TraceIDs); err != nil {
		return nil, err
	}
	if in.NextToken != nil {
		if _, ok := parseToken(*in.NextToken); !ok {
			return nil, InvalidRequest("Invalid NextToken.")
		}
	}
	b := servicegraph.NewBuilder()
	seen := map[model.TraceID]bool{}
	for _, s := range *in.TraceIDs {
		id, ok := parseTraceID(s)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := o.loadTrace(ctx, env, id)
		if err != nil {
			return nil, err
		}
		if t == nil {
			continue
		}
		g := xrayview.BuildGraph(t.Trace.Segments)
		b.Add(t.Trace.Segments, &g)
	}
	return struct {
		Services []servicegraph.Service `json:"Services"`
	}{b.Services()}, nil
}

// window is a validated query time range.
type window struct {
	start, end time.Time
	s, e       float64 // the same as epoch seconds
}

func (o *traceOps) window(start, end *float64) (window, error) {
	if start == nil {
		return window{}, InvalidRequest("1 validation error detected: Value null at 'startTime' failed to satisfy constraint: Member must not be null")
	}
	if end == nil {
		return window{}, InvalidRequest("1 validation error detected: Value null at 'endTime' failed to satisfy constraint: Member must not be null")
	}
	if math.IsNaN(*start) || math.IsNaN(*end) || math.IsInf(*start, 0) || math.IsInf(*end, 0) || *start < 0 || *end > 1e11 {
		return window{}, InvalidRequest("StartTime and EndTime must be epoch seconds.")
	}
	if *end < *start {
		return window{}, InvalidRequest("EndTime must not be before StartTime.")
	}
	w := window{start: secondsTime(*start), end: secondsTime(*end), s: *start, e: *end}
	if w.end.Sub(w.start) > o.d.MaxWindow {
		return window{}, InvalidRequest("The time range between StartTime and EndTime must not exceed %s.", formatHours(o.d.MaxWindow))
	}
	return w, nil
}

func formatHours(d time.Duration) string {
	if d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return strconv.FormatInt(int64(d/time.Hour), 10) + " hours"
	}
	return d.String()
}

func secondsTime(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

// scanTraces reads the spans stored between from and to of the traces
// the store selects there (those meeting every element of require), at
// most MaxTraces of them, grouped by trace, the newest trace first. The
// store stops at MaxTraces: it never reads the rest of the window.
func (o *traceOps) scanTraces(ctx context.Context, env string, from, to time.Time, require []store.SpanMatch) ([]model.TraceID, map[model.TraceID][]model.Event, error) {
	r := o.reader(ctx)
	sel, err := r.SelectTraces(ctx, env, store.TraceQuery{Start: from, End: to, Require: require, Limit: o.d.MaxTraces})
	if err != nil {
		return nil, nil, err
	}
	byTrace := make(map[model.TraceID][]model.Event, len(sel.Traces))
	if len(sel.Traces) == 0 {
		return nil, byTrace, nil
	}
	order := make([]model.TraceID, len(sel.Traces))
	for i, t := range sel.Traces {
		order[i] = t.ID
	}
	for ev, err := range r.Scan(ctx, env, store.ScanQuery{Start: from, End: to, TraceIDs: order}) {
		if err != nil {
			return nil, nil, err
		}
		if !(ev.IsSpan() || xrayview.IsExceptionEvent(&ev)) {
			continue // spans, and the exception events that become causes
		}
		byTrace[ev.TraceID] = append(byTrace[ev.TraceID], ev)
	}
	// Scan answers newest first; traces are assembled in time order.
	for _, evs := range byTrace {
		slices.Reverse(evs)
	}
	return order, byTrace, nil
}

// pushdown turns the hints of a filter expression into what the store
// selects traces by (store.TraceQuery.Require), never leaving out a trace
// the expression matches: each annotation key on some event (under its own
// name, as OTel spans carry it, or as an X-Ray annotation), and each name
// as an X-Ray span's name or DynamoDB table name. A name is only required
// of X-Ray spans: those of other sources are named when rendered, so any
// of them meets it.
func pushdown(h xrayfilter.Hints) []store.SpanMatch {
	var req []store.SpanMatch
	for _, k := range h.AnnotationKeys {
		req = append(req, store.SpanMatch{Any: []store.Filter{
			{Column: k, Op: store.OpExists},
			{Column: xrayview.KeyAnnotationPrefix + k, Op: store.OpExists},
		}})
	}
	for _, n := range h.Names {
		req = append(req, store.SpanMatch{
			Any: []store.Filter{
				{Column: model.FieldName, Op: store.OpEq, Value: model.Str(n)},
				{Column: xrayview.KeyTableName, Op: store.OpEq, Value: model.Str(n)},
			},
			Sources: []model.Source{model.SourceXRay},
		})
	}
	return req
}

// groupFilter resolves GroupName / GroupARN to the group's parsed filter
// (nil for a group without one).
func (o *traceOps) groupFilter(ctx context.Context, env string, name, arn *string) (*xrayfilter.Expr, error) {
	if name == nil && arn == nil {
		return nil, nil
	}
	g, err := o.h.meta.Group(ctx, env, name, arn)
	if err != nil {
		return nil, err
	}
	if g.FilterExpression == "" {
		return nil, nil
	}
	expr, err := xrayfilter.Parse(g.FilterExpression)
	if err != nil {
		return nil, InvalidRequest("The filter expression of group %s is invalid: %v", g.GroupName, err)
	}
	return expr, nil
}

// groupResolver resolves group.name and group.arn in filter expressions,
// parsing each group's filter once per request.
func (o *traceOps) groupResolver(ctx context.Context, env string) xrayfilter.GroupResolver {
	cache := map[[2]string]*xrayfilter.Expr{}
	known := map[[2]string]bool{}
	return func(name, arn string) (*xrayfilter.Expr, bool) {
		k := [2]string{name, arn}
		if ok, done := known[k]; done {
			return cache[k], ok
		}
		var np, ap *string
		if name != "" {
			np = &name
		}
		if arn != "" {
			ap = &arn
		}
		if np == nil && ap == nil {
			return nil, false
		}
		g, err := o.h.meta.Group(ctx, env, np, ap)
		if err != nil {
			known[k] = false
			return nil, false
		}
		var expr *xrayfilter.Expr
		if g.FilterExpression != "" {
			if expr, err = xrayfilter.Parse(g.FilterExpression); err != nil {
				known[k] = false
				return nil, false
			}
		}
		cache[k], known[k] = expr, true
		return expr, true
	}
}

// parseFilter parses a request's filter expression; a bad one is an
// InvalidRequestException naming what is wrong and where.
func parseFilter(member string, s *string, maxLen int) (*xrayfilter.Expr, error) {
	if s == nil {
		return nil, nil
	}
	if len(*s) > maxLen {
		return nil, InvalidRequest("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", member, maxLen)
	}
	if strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	expr, err := xrayfilter.Parse(*s)
	if err != nil {
		return nil, InvalidRequest("Invalid filter expression: %v", err)
	}
	return expr, nil
}
