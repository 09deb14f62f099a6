package xray

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/servicegraph"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// Trace retrieval (Transaction Search): StartTraceRetrieval names trace ids
// and a time range and returns a RetrievalToken; ListRetrievedTraces (in
// X-Ray's segment format or as OpenTelemetry spans) and
// GetRetrievedTracesGraph read the traces it names; CancelTraceRetrieval
// ends it. AWS runs a retrieval as a job over the Transaction Search log
// group (SCHEDULED, RUNNING, then COMPLETE) that times out after 60
// minutes; here the traces are in the store already, so a retrieval is
// COMPLETE as soon as it is started and its token is valid for 60 minutes.
//
// The token carries the retrieval (environment, trace ids, time range,
// start), so any node answers it; a cancellation is kept by the node that
// took it, for the token's life.

// retrievalTTL is how long a retrieval's token is valid.
const retrievalTTL = 60 * time.Minute

// maxRetrievalIDs bounds the trace ids of one retrieval (AWS: 1–100).
const maxRetrievalIDs = 100

type retrieval struct {
	Env     string   `json:"e"`
	IDs     []string `json:"t"`
	Start   float64  `json:"s"`
	End     float64  `json:"x"`
	Created int64    `json:"c"` // Unix seconds
	Nonce   string   `json:"n"`
}

// retrievals holds the cancelled retrievals of this node, by nonce, until
// their tokens expire.
type retrievals struct {
	mu        sync.Mutex
	cancelled map[string]time.Time // nonce → expiry
}

// maxCancelled bounds the cancellations a node keeps (about 60 bytes
// each); past it the one that expires first is forgotten.
const maxCancelled = 10000

func (r *retrievals) cancel(nonce string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for n, exp := range r.cancelled {
		if now.After(exp) {
			delete(r.cancelled, n)
		}
	}
	if len(r.cancelled) >= maxCancelled {
		first, at := "", time.Time{}
		for n, exp := range r.cancelled {
			if first == "" || exp.Before(at) {
				first, at = n, exp
			}
		}
		delete(r.cancelled, first)
	}
	r.cancelled[nonce] = until
}

func (r *retrievals) isCancelled(nonce string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.cancelled[nonce]
	return ok
}

func (o *traceOps) registerRetrieval() {
	o.retrievals = &retrievals{cancelled: map[string]time.Time{}}
	o.h.Handle("/StartTraceRetrieval", "StartTraceRetrieval", o.startTraceRetrieval)
	o.h.Handle("/ListRetrievedTraces", "ListRetrievedTraces", o.bounded(o.listRetrievedTraces))
	o.h.Handle("/GetRetrievedTracesGraph", "GetRetrievedTracesGraph", o.bounded(o.getRetrievedTracesGraph))
	o.h.Handle("/CancelTraceRetrieval", "CancelTraceRetrieval", o.cancelTraceRetrieval)
}

func (o *traceOps) startTraceRetrieval(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		TraceIDs  *[]string `json:"TraceIds"`
		StartTime *float64  `json:"StartTime"`
		EndTime   *float64  `json:"EndTime"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.TraceIDs == nil:
		return nil, InvalidRequest("1 validation error detected: Value null at 'traceIds' failed to satisfy constraint: Member must not be null")
	case len(*in.TraceIDs) == 0 || len(*in.TraceIDs) > maxRetrievalIDs:
		return nil, InvalidRequest("1 validation error detected: Value at 'traceIds' failed to satisfy constraint: Member must have length between 1 and %d", maxRetrievalIDs)
	case in.StartTime == nil:
		return nil, InvalidRequest("1 validation error detected: Value null at 'startTime' failed to satisfy constraint: Member must not be null")
	case in.EndTime == nil:
		return nil, InvalidRequest("1 validation error detected: Value null at 'endTime' failed to satisfy constraint: Member must not be null")
	case *in.EndTime < *in.StartTime:
		return nil, InvalidRequest("EndTime must not be before StartTime.")
	}
	if err := checkTraceIDs(in.TraceIDs); err != nil {
		return nil, err
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	r := retrieval{Env: env, IDs: *in.TraceIDs, Start: *in.StartTime, End: *in.EndTime, Created: time.Now().Unix(), Nonce: hex.EncodeToString(nonce)}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return struct {
		RetrievalToken string `json:"RetrievalToken"`
	}{base64.RawURLEncoding.EncodeToString(b)}, nil
}

// retrievalOf reads a token of environment env: ResourceNotFound for one
// that is not a token, of another environment, or expired.
func retrievalOf(env string, token *string) (retrieval, error) {
	var r retrieval
	if token == nil {
		return r, InvalidRequest("1 validation error detected: Value null at 'retrievalToken' failed to satisfy constraint: Member must not be null")
	}
	if len(*token) > 1020 {
		return r, InvalidRequest("1 validation error detected: Value at 'retrievalToken' failed to satisfy constraint: Member must have length less than or equal to 1020")
	}
	notFound := &APIError{Status: http.StatusNotFound, Code: CodeResourceNotFound, Message: "Retrieval token not found or expired.", ResourceName: *token}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil || json.Unmarshal(b, &r) != nil || r.Env != env || r.Nonce == "" {
		return r, notFound
	}
	if time.Since(time.Unix(r.Created, 0)) > retrievalTTL {
		return r, notFound
	}
	return r, nil
}

// status is a retrieval's RetrievalStatus.
func (o *traceOps) status(r retrieval) string {
	if o.retrievals.isCancelled(r.Nonce) {
		return "CANCELLED"
	}
	return "COMPLETE"
}

// retrievedTraces loads the retrieval's traces that have a span in its
// time range, in the order named, each once.
func (o *traceOps) retrievedTraces(ctx context.Context, env string, r retrieval) ([]*xrayview.View, [][]model.Event, error) {
	from, to := r.Start, r.End
	var views []*xrayview.View
	var events [][]model.Event
	seen := map[model.TraceID]bool{}
	for _, s := range r.IDs {
		id, ok := parseTraceID(s)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		evs, err := o.retrievable(ctx, env, id)
		if err != nil {
			return nil, nil, err
		}
		inRange := false
		for i := range evs {
			if t := xrayview.EpochSeconds(evs[i].Time); t >= from && t <= to {
				inRange = true
				break
			}
		}
		if !inRange {
			continue
		}
		t := xrayview.Convert(id, evs, xrayview.Full)
		if len(t.Trace.Segments) == 0 {
			continue
		}
		views = append(views, t)
		events = append(events, evs)
	}
	return views, events, nil
}

// retrievable reads a trace as trace retrieval sees it: what the trace
// views read and, when X-Ray's doors are among the request's, the spans of
// the trace that Transaction Search left unindexed
// (store.XRayUnindexedEnv), which only retrieval reads.
func (o *traceOps) retrievable(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	evs, err := o.reader(ctx).Trace(ctx, env, id)
	if err != nil || !slices.Contains(o.doors(ctx), model.DoorXRay) {
		return evs, err
	}
	more, err := o.d.Store.Trace(ctx, store.XRayUnindexedEnv(env), id)
	if err != nil || len(more) == 0 {
		return evs, err
	}
	evs = append(evs, more...)
	slices.SortStableFunc(evs, func(a, b model.Event) int { return a.Time.Compare(b.Time) })
	return evs, nil
}

// retrievedSpan is a span of a retrieved trace: its id and its document
// (an X-Ray segment, or an OpenTelemetry span as JSON).
type retrievedSpan struct {
	ID       string `json:"Id"`
	Document string `json:"Document"`
}

type retrievedTrace struct {
	ID       string          `json:"Id"`
	Duration float64         `json:"Duration"`
	Spans    []retrievedSpan `json:"Spans"`
}

func (o *traceOps) listRetrievedTraces(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		RetrievalToken *string `json:"RetrievalToken"`
		TraceFormat    *string `json:"TraceFormat"`
		NextToken      *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	format := "XRAY"
	if in.TraceFormat != nil {
		format = *in.TraceFormat
	}
	if format != "XRAY" && format != "OTEL" {
		return nil, InvalidRequest("1 validation error detected: Value '%s' at 'traceFormat' failed to satisfy constraint: Member must satisfy enum value set: [XRAY, OTEL]", truncateValue(format))
	}
	r, err := retrievalOf(env, in.RetrievalToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		RetrievalStatus string           `json:"RetrievalStatus"`
		TraceFormat     string           `json:"TraceFormat"`
		Traces          []retrievedTrace `json:"Traces"`
		NextToken       *string          `json:"NextToken,omitempty"`
	}{RetrievalStatus: o.status(r), TraceFormat: format, Traces: []retrievedTrace{}}
	if out.RetrievalStatus != "COMPLETE" {
		return out, nil
	}
	views, events, err := o.retrievedTraces(ctx, env, r)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(views))
	for i := range idx {
		idx[i] = i
	}
	pg, next, err := page(idx, in.NextToken, o.h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	for _, i := range pg {
		v := views[i]
		start, end := v.Bounds()
		t := retrievedTrace{ID: v.Trace.ID.XRay(), Duration: roundMs(end - start), Spans: []retrievedSpan{}}
		if format == "XRAY" {
			g := xrayview.BuildGraph(v.Trace.Segments)
			for _, s := range traceSegments(v, &g) {
				t.Spans = append(t.Spans, retrievedSpan(s))
			}
		} else {
			for j := range events[i] {
				if ev := &events[i][j]; ev.IsSpan() {
					t.Spans = append(t.Spans, retrievedSpan{ID: ev.SpanID.String(), Document: string(otelSpanJSON(ev))})
				}
			}
		}
		out.Traces = append(out.Traces, t)
	}
	return out, nil
}

func (o *traceOps) getRetrievedTracesGraph(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		RetrievalToken *string `json:"RetrievalToken"`
		NextToken      *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := retrievalOf(env, in.RetrievalToken)
	if err != nil {
		return nil, err
	}
	if in.NextToken != nil {
		if _, ok := parseToken(*in.NextToken); !ok {
			return nil, InvalidRequest("Invalid NextToken.")
		}
	}
	out := struct {
		RetrievalStatus string             `json:"RetrievalStatus"`
		Services        []retrievedService `json:"Services"`
	}{RetrievalStatus: o.status(r), Services: []retrievedService{}}
	if out.RetrievalStatus != "COMPLETE" {
		return out, nil
	}
	views, _, err := o.retrievedTraces(ctx, env, r)
	if err != nil {
		return nil, err
	}
	b := servicegraph.NewBuilder()
	for _, v := range views {
		g := xrayview.BuildGraph(v.Trace.Segments)
		b.Add(v.Trace.Segments, &g)
	}
	for _, svc := range b.Services() {
		out.Services = append(out.Services, retrievedService{Service: svc, Links: []graphLink{}})
	}
	return out, nil
}

// retrievedService is a node of GetRetrievedTracesGraph: the service and
// the span-link relations of its traces, which tracecomb does not build.
type retrievedService struct {
	Service servicegraph.Service `json:"Service"`
	Links   []graphLink          `json:"Links"`
}

type graphLink struct {
	ReferenceType       string   `json:"ReferenceType,omitempty"`
	SourceTraceID       string   `json:"SourceTraceId,omitempty"`
	DestinationTraceIDs []string `json:"DestinationTraceIds,omitempty"`
}

func (o *traceOps) cancelTraceRetrieval(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		RetrievalToken *string `json:"RetrievalToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := retrievalOf(env, in.RetrievalToken)
	if err != nil {
		return nil, err
	}
	o.retrievals.cancel(r.Nonce, time.Unix(r.Created, 0).Add(retrievalTTL))
	return struct{}{}, nil
}

// otelSpanJSON is a stored span as an OpenTelemetry span in JSON (OTLP's
// JSON field names: hex ids, times in nanoseconds as strings, the kind
// and status as their enum names), with its service as the resource's
// service.name.
func otelSpanJSON(ev *model.Event) []byte {
	kinds := map[string]string{"server": "SPAN_KIND_SERVER", "client": "SPAN_KIND_CLIENT", "producer": "SPAN_KIND_PRODUCER",
		"consumer": "SPAN_KIND_CONSUMER", "internal": "SPAN_KIND_INTERNAL"}
	kind := kinds[ev.SpanKind]
	if kind == "" {
		kind = "SPAN_KIND_UNSPECIFIED"
	}
	status := map[string]any{"code": "STATUS_CODE_UNSET"}
	switch {
	case ev.StatusCode == 2 || ev.Error:
		status["code"] = "STATUS_CODE_ERROR"
	case ev.StatusCode == 1:
		status["code"] = "STATUS_CODE_OK"
	}
	attrs := make([]map[string]any, 0, len(ev.Attrs))
	for _, a := range ev.Attrs {
		attrs = append(attrs, map[string]any{"key": a.Key, "value": otelValue(a.Value)})
	}
	start := ev.Time.UnixNano()
	end := start + int64(ev.DurationMs*1e6)
	span := map[string]any{
		"resource":          map[string]any{"attributes": []map[string]any{{"key": "service.name", "value": map[string]any{"stringValue": ev.ServiceName}}}},
		"traceId":           ev.TraceID.String(),
		"spanId":            ev.SpanID.String(),
		"name":              ev.Name,
		"kind":              kind,
		"startTimeUnixNano": itoa(start),
		"endTimeUnixNano":   itoa(end),
		"attributes":        attrs,
		"status":            status,
	}
	if !ev.ParentID.IsZero() {
		span["parentSpanId"] = ev.ParentID.String()
	}
	b, _ := json.Marshal(span)
	return b
}

func otelValue(v model.Value) map[string]any {
	switch x := v.Any().(type) {
	case string:
		return map[string]any{"stringValue": x}
	case bool:
		return map[string]any{"boolValue": x}
	case int64:
		return map[string]any{"intValue": itoa(x)}
	case float64:
		return map[string]any{"doubleValue": x}
	default:
		return map[string]any{"stringValue": v.String()}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
