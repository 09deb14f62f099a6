package upstream

import (
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

// XRayDocuments returns, for each event, the segment document X-Ray gets
// for it (nil for events that are not spans, or whose document is over
// XRayMaxDocumentBytes; tooLarge counts those):
//   - an event of an X-Ray door keeps the document it came in (Event.Doc);
//   - a span sent as OTLP to X-Ray's OTLP endpoint gets the document the
//     X-Ray API shows for it (xrayview.Convert, the one place that turns
//     spans into segments; its exception span events become its cause).
//
// A subsegment that came embedded in its segment (its document has no
// trace_id) is sent on its own, as X-Ray takes subsegments sent apart:
// with "type":"subsegment", "trace_id" and "parent_id" added before its
// members.
func XRayDocuments(events []model.Event) (docs [][]byte, tooLarge int) {
	docs = make([][]byte, len(events))
	var rendered map[model.TraceID][]int // OTLP spans by trace
	for i := range events {
		ev := &events[i]
		if !ev.IsSpan() {
			continue
		}
		if len(ev.Doc) == 0 {
			if rendered == nil {
				rendered = map[model.TraceID][]int{}
			}
			rendered[ev.TraceID] = append(rendered[ev.TraceID], i)
			continue
		}
		docs[i] = standalone(ev.Doc, ev)
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
			if j, ok := first[s.ID]; ok && docs[j] == nil {
				docs[j] = standalone(v.Entities[k].Doc, &events[j])
			}
		}
	}
	for i, d := range docs {
		if len(d) > XRayMaxDocumentBytes {
			docs[i] = nil
			tooLarge++
		}
	}
	return docs, tooLarge
}

// standalone makes a document sendable on its own (see XRayDocuments).
func standalone(doc []byte, ev *model.Event) []byte {
	members := xrayview.Members(doc)
	if members == nil {
		return doc // not an object: sent as it came, X-Ray judges it
	}
	if _, ok := xrayview.Lookup(members, "trace_id"); ok {
		return doc
	}
	var b []byte
	b = append(b, '{')
	if !ev.ParentID.IsZero() {
		if _, ok := xrayview.Lookup(members, "type"); !ok {
			b = append(b, `"type":"subsegment",`...)
		}
		if _, ok := xrayview.Lookup(members, "parent_id"); !ok {
			b = append(b, `"parent_id":"`...)
			b = append(b, ev.ParentID.String()...)
			b = append(b, `",`...)
		}
	}
	b = append(b, `"trace_id":"`...)
	b = append(b, ev.TraceID.XRay()...)
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
