package xray

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestTraceRetrieval: a retrieval of two stored traces (one X-Ray, one
// OpenTelemetry) and one unknown id is COMPLETE at once; its traces come
// back as X-Ray segments or as OpenTelemetry spans, and its graph has the
// traces' services; traces outside its time range are left out; once
// cancelled it is CANCELLED with no traces; a token that is not one, or
// of another environment, is ResourceNotFound; bad requests are refused
// as X-Ray refuses them.
func TestTraceRetrieval(t *testing.T) {
	th := newTraceHarness(t, 100)
	th.seed(t)
	ids := `["1-6b06cdc0-aaaaaaaaaaaaaaaaaaaaaaa1", "1-4bf92f35-77b34da6a3ce929d0e0e4736", "1-6b06cdc0-cccccccccccccccccccccccc"]`
	r := th.post("/StartTraceRetrieval", `{"TraceIds": `+ids+`, `+win+`}`)
	var started struct{ RetrievalToken string }
	if err := json.Unmarshal([]byte(r.body), &started); r.status != 200 || err != nil || started.RetrievalToken == "" {
		t.Fatalf("StartTraceRetrieval: %d %s", r.status, r.body)
	}
	tok := `"RetrievalToken": ` + jsonString(started.RetrievalToken)
	type listed struct {
		RetrievalStatus, TraceFormat string
		Traces                       []struct {
			ID    string `json:"Id"`
			Spans []struct {
				ID       string `json:"Id"`
				Document string
			}
		}
	}
	list := func(body string) listed {
		t.Helper()
		r := th.post("/ListRetrievedTraces", body)
		var l listed
		if err := json.Unmarshal([]byte(r.body), &l); r.status != 200 || err != nil {
			t.Fatalf("ListRetrievedTraces %s: %d %s", body, r.status, r.body)
		}
		return l
	}
	x := list(`{` + tok + `}`)
	if x.RetrievalStatus != "COMPLETE" || x.TraceFormat != "XRAY" || len(x.Traces) != 2 || x.Traces[0].ID != "1-6b06cdc0-aaaaaaaaaaaaaaaaaaaaaaa1" {
		t.Fatalf("XRAY: %+v, want the two stored traces", x)
	}
	for _, s := range x.Traces[0].Spans {
		var seg map[string]any
		if err := json.Unmarshal([]byte(s.Document), &seg); err != nil || seg["trace_id"] != x.Traces[0].ID || seg["id"] != s.ID {
			t.Errorf("XRAY span %s: %s, want a segment of the trace", s.ID, s.Document)
		}
	}
	o := list(`{` + tok + `, "TraceFormat": "OTEL"}`)
	if o.TraceFormat != "OTEL" || len(o.Traces) != 2 || len(o.Traces[1].Spans) != 3 {
		t.Fatalf("OTEL: %+v, want the OTel trace's 3 spans", o)
	}
	kinds := map[string]string{}
	for _, s := range o.Traces[1].Spans {
		var sp struct {
			TraceID, SpanID, ParentSpanID, Name, Kind, StartTimeUnixNano, EndTimeUnixNano string
			Status                                                                        struct{ Code string }
		}
		if err := json.Unmarshal([]byte(s.Document), &sp); err != nil || sp.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || sp.SpanID != s.ID || sp.StartTimeUnixNano == "" {
			t.Errorf("OTEL span: %s (%v)", s.Document, err)
		}
		kinds[sp.SpanID] = sp.Kind + " " + sp.Status.Code + " " + sp.ParentSpanID
	}
	if kinds["d000000000000001"] != "SPAN_KIND_SERVER STATUS_CODE_ERROR c000000000000002" || kinds["c000000000000002"] != "SPAN_KIND_CLIENT STATUS_CODE_UNSET c000000000000001" {
		t.Errorf("OTEL kinds, statuses and parents: %v", kinds)
	}
	g := th.post("/GetRetrievedTracesGraph", `{`+tok+`}`)
	if g.status != 200 || !strings.Contains(g.body, `"RetrievalStatus":"COMPLETE"`) || !strings.Contains(g.body, `"Name":"inventory"`) || !strings.Contains(g.body, `"Name":"frontend"`) {
		t.Errorf("GetRetrievedTracesGraph: %d %s", g.status, g.body)
	}
	// A range that holds neither trace.
	r = th.post("/StartTraceRetrieval", `{"TraceIds": `+ids+`, "StartTime": 1, "EndTime": 2}`)
	_ = json.Unmarshal([]byte(r.body), &started)
	if l := list(`{"RetrievalToken": ` + jsonString(started.RetrievalToken) + `}`); len(l.Traces) != 0 {
		t.Errorf("a range without the traces: %+v", l)
	}
	if r := th.post("/CancelTraceRetrieval", `{`+tok+`}`); r.status != 200 {
		t.Fatalf("CancelTraceRetrieval: %d %s", r.status, r.body)
	}
	if l := list(`{` + tok + `}`); l.RetrievalStatus != "CANCELLED" || len(l.Traces) != 0 {
		t.Errorf("after the cancel: %+v, want CANCELLED and no traces", l)
	}
	other, _ := json.Marshal(map[string]any{"e": "other", "t": []string{"1-6b06cdc0-aaaaaaaaaaaaaaaaaaaaaaa1"}, "s": 0, "x": 2e9, "c": 1 << 40, "n": "00"})
	for name, c := range map[string]struct {
		path, body, code string
		status           int
	}{
		"not a token":         {"/ListRetrievedTraces", `{"RetrievalToken": "nope"}`, CodeResourceNotFound, 404},
		"another env":         {"/GetRetrievedTracesGraph", `{"RetrievalToken": ` + jsonString(base64.RawURLEncoding.EncodeToString(other)) + `}`, CodeResourceNotFound, 404},
		"no token":            {"/CancelTraceRetrieval", `{}`, "InvalidRequestException", 400},
		"a bad format":        {"/ListRetrievedTraces", `{` + tok + `, "TraceFormat": "JSON"}`, "InvalidRequestException", 400},
		"no trace ids":        {"/StartTraceRetrieval", `{` + win + `}`, "InvalidRequestException", 400},
		"no start":            {"/StartTraceRetrieval", `{"TraceIds": ` + ids + `, "EndTime": 2}`, "InvalidRequestException", 400},
		"an end before it":    {"/StartTraceRetrieval", `{"TraceIds": ` + ids + `, "StartTime": 5, "EndTime": 2}`, "InvalidRequestException", 400},
		"empty trace ids":     {"/StartTraceRetrieval", `{"TraceIds": [], "StartTime": 1, "EndTime": 2}`, "InvalidRequestException", 400},
		"a trace id too long": {"/StartTraceRetrieval", `{"TraceIds": ["` + strings.Repeat("1", 36) + `"], "StartTime": 1, "EndTime": 2}`, "InvalidRequestException", 400},
	} {
		r := th.post(c.path, c.body)
		if r.status != c.status || r.errorType != c.code {
			t.Errorf("%s: %d %s %s, want %d %s", name, r.status, r.errorType, r.body, c.status, c.code)
		}
	}
}
