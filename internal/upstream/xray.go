package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// X-Ray's limits: a segment document of at most 64 kB (the X-Ray
// developer guide; tracecomb's X-Ray doors enforce the same). A
// PutTraceSegments call carries at most 50 documents (the X-Ray daemon's
// batch) and, by this sender's own bound, a body of at most 1 MiB (what
// tracecomb's SigV4 door reads).
const (
	XRayMaxDocumentBytes = 64 * 1024
	xrayMaxBatchDocs     = 50
	xrayMaxBatchBytes    = 1 << 20
)

// XRayDocuments returns the segment documents X-Ray gets for events, in
// their order (see xrayPlan), and how many were over
// XRayMaxDocumentBytes and left out.
func XRayDocuments(events []model.Event) (docs [][]byte, tooLarge int) {
	return planXRay(events).documents(nil)
}

// xrayPlan is what X-Ray gets of a Consume call's events, worked out
// before the store has them (the events are the store's after):
//   - an event of an X-Ray door has the document it came in (Event.Doc,
//     which the decoder stored without the subsegments embedded in it,
//     each of which is an event of its own with its own Doc);
//   - a span sent as OTLP to X-Ray's OTLP endpoint gets the document the
//     X-Ray API shows for it (xrayview.Convert, the one place that turns
//     spans into segments; its exception span events become its cause);
//   - events that are not spans get none.
type xrayPlan struct {
	docs   []byte // every event's own document, back to back
	ends   []int  // event i's is docs[ends[i-1]:ends[i]]
	parent []int  // the event whose document embedded event i's, or -1
	ids    []xrayIDs
}

type xrayIDs struct {
	trace  model.TraceID
	parent model.SpanID
}

func planXRay(events []model.Event) *xrayPlan {
	p := &xrayPlan{ends: make([]int, len(events)), parent: make([]int, len(events)), ids: make([]xrayIDs, len(events))}
	own := make([][]byte, len(events))
	var rendered map[model.TraceID]bool // traces with OTLP spans
	docOf := map[model.SpanID]int{}     // span id → event with a document
	for i := range events {
		ev := &events[i]
		p.parent[i] = -1
		p.ids[i] = xrayIDs{trace: ev.TraceID, parent: ev.ParentID}
		if !ev.IsSpan() {
			continue
		}
		if len(ev.Doc) == 0 {
			if rendered == nil {
				rendered = map[model.TraceID]bool{}
			}
			rendered[ev.TraceID] = true
			continue
		}
		own[i] = ev.Doc
		if par, ok := docOf[ev.ParentID]; ok && !ev.ParentID.IsZero() && !hasTraceID(ev.Doc) && events[par].TraceID == ev.TraceID {
			p.parent[i] = par
		}
		if _, seen := docOf[ev.SpanID]; !seen {
			docOf[ev.SpanID] = i
		}
	}
	for id := range rendered {
		var trace []model.Event
		first := map[model.SpanID]int{}
		for j := range events {
			ev := &events[j]
			if ev.TraceID != id || len(ev.Doc) > 0 {
				continue
			}
			if _, ok := first[ev.SpanID]; !ok && ev.IsSpan() {
				first[ev.SpanID] = j
			}
			trace = append(trace, *ev)
		}
		v := xrayview.Convert(id, trace, xrayview.Full)
		for k, s := range v.Trace.Segments {
			if j, ok := first[s.ID]; ok && own[j] == nil {
				own[j] = standalone(v.Entities[k].Doc, p.ids[j])
			}
		}
	}
	for i, d := range own {
		p.docs = append(p.docs, d...)
		p.ends[i] = len(p.docs)
	}
	return p
}

func (p *xrayPlan) own(i int) []byte {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.docs[start:p.ends[i]]
}

// documents returns the documents to send, leaving out the events in
// skip (those the store refused). A segment goes with the subsegments
// that came embedded in it embedded again ("subsegments" last), as it
// came but for the order of its members. A subsegment whose enclosing
// document is not sent goes on its own, as X-Ray takes subsegments sent
// apart: with "type":"subsegment", "trace_id" and "parent_id" added
// before its members.
func (p *xrayPlan) documents(skip []bool) (docs [][]byte, tooLarge int) {
	skipped := func(i int) bool { return skip != nil && skip[i] }
	children := map[int][]int{}
	for i, par := range p.parent {
		if par >= 0 && !skipped(i) && !skipped(par) {
			children[par] = append(children[par], i)
		}
	}
	var build func(i int) []byte
	build = func(i int) []byte {
		kids := children[i]
		if len(kids) == 0 {
			return p.own(i)
		}
		parts := make([][]byte, len(kids))
		for k, c := range kids {
			parts[k] = build(c)
		}
		return embed(p.own(i), parts)
	}
	for i, par := range p.parent {
		if skipped(i) || len(p.own(i)) == 0 || (par >= 0 && !skipped(par)) {
			continue
		}
		d := standalone(build(i), p.ids[i])
		if len(d) > XRayMaxDocumentBytes {
			tooLarge++
			continue
		}
		docs = append(docs, d)
	}
	return docs, tooLarge
}

// hasTraceID reports whether a document names its trace (a segment, or
// a subsegment sent on its own) rather than being embedded in another.
func hasTraceID(doc []byte) bool {
	_, ok := xrayview.Lookup(xrayview.Members(doc), "trace_id")
	return ok
}

// embed adds kids as the "subsegments" member of the object doc.
func embed(doc []byte, kids [][]byte) []byte {
	d := bytes.TrimRight(doc, " \t\r\n")
	if len(d) < 2 || d[0] != '{' || d[len(d)-1] != '}' {
		return doc
	}
	out := make([]byte, 0, len(d)+32)
	out = append(out, d[:len(d)-1]...)
	if len(bytes.TrimSpace(d[1:len(d)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"subsegments":[`...)
	for k, kid := range kids {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, kid...)
	}
	return append(out, "]}"...)
}

// standalone makes a document sendable on its own (see
// xrayPlan.documents).
func standalone(doc []byte, ev xrayIDs) []byte {
	members := xrayview.Members(doc)
	if members == nil {
		return doc // not an object: sent as it came, X-Ray judges it
	}
	if _, ok := xrayview.Lookup(members, "trace_id"); ok {
		return doc
	}
	var b []byte
	b = append(b, '{')
	if !ev.parent.IsZero() {
		if _, ok := xrayview.Lookup(members, "type"); !ok {
			b = append(b, `"type":"subsegment",`...)
		}
		if _, ok := xrayview.Lookup(members, "parent_id"); !ok {
			b = append(b, `"parent_id":"`...)
			b = append(b, ev.parent.String()...)
			b = append(b, `",`...)
		}
	}
	b = append(b, `"trace_id":"`...)
	b = append(b, ev.trace.XRay()...)
	b = append(b, '"')
	if len(members) > 0 {
		b = append(b, ',')
	}
	rest := strings.TrimSpace(string(doc[1:]))
	return append(b, rest...)
}

// xraySender uploads documents with PutTraceSegments through the AWS
// SDK's X-Ray client (SigV4, credentials from the SDK's default chain).
type xraySender struct {
	client *xraysvc.Client
}

// newXRaySender builds the client for region; endpoint, when set, replaces
// X-Ray's (a VPC endpoint, a test server). The SDK's own retries are off:
// the forwarder retries.
func newXRaySender(ctx context.Context, region, endpoint string, timeout time.Duration) (*xraySender, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(timeout)))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	c := xraysvc.NewFromConfig(cfg, func(o *xraysvc.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = aws.NopRetryer{}
	})
	return &xraySender{client: c}, nil
}

func (s *xraySender) target() string { return "xray" }

// escapedLen bounds a document's length once written as a JSON string.
func escapedLen(doc []byte) int {
	n := 2
	for _, c := range doc {
		switch {
		case c == '"' || c == '\\':
			n += 2
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 6
		default:
			n++
		}
	}
	return n
}

func (s *xraySender) batch(items []Item) int {
	size := len(`{"TraceSegmentDocuments":[]}`)
	for i, it := range items {
		if i == xrayMaxBatchDocs {
			return i
		}
		size += escapedLen(it.Body) + 1
		if size > xrayMaxBatchBytes && i > 0 {
			return i
		}
	}
	return len(items)
}

func (s *xraySender) send(ctx context.Context, items []Item) ([]outcome, error) {
	docs := make([]string, len(items))
	for i, it := range items {
		docs[i] = string(it.Body)
	}
	out, err := s.client.PutTraceSegments(ctx, &xraysvc.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil {
		return nil, classifyAWS(err)
	}
	res := make([]outcome, len(items))
	if len(out.UnprocessedTraceSegments) == 0 {
		return res, nil
	}
	// Unprocessed segments name their document by id: find it.
	byID := map[string][]int{}
	for i, it := range items {
		d, _ := xrayview.Read(it.Body)
		id, _ := xrayview.JSONString(d.ID)
		byID[id] = append(byID[id], i)
	}
	for _, u := range out.UnprocessedTraceSegments {
		msg := aws.ToString(u.ErrorCode) + ": " + aws.ToString(u.Message)
		idx := byID[aws.ToString(u.Id)]
		if len(idx) == 0 {
			// Not traceable to one document: counted against none.
			res = append(res, outcome{drop: "event_rejected", msg: msg, unmatched: true})
			continue
		}
		for _, i := range idx {
			res[i] = outcome{drop: "event_rejected", msg: msg}
		}
	}
	return res, nil
}

// classifyAWS: throttling, 5xx and failures without an answer (network,
// credentials not found) are retried; other 4xx are permanent.
func classifyAWS(err error) error {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		switch {
		case code == http.StatusTooManyRequests:
			return retryErr{reason: "status_429", err: err}
		case code >= 500:
			return retryErr{reason: "status_5xx", err: err}
		case code >= 400:
			return permanentErr{reason: "rejected", err: err}
		}
	}
	return retryErr{reason: "network", err: err}
}
