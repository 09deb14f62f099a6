package cruddur_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

// TestLessonViewsCountWhatEachServiceWould is the lesson as the real
// services would see it: the backend traced by both SDKs, each on its own
// (no shared trace id), X-Ray naming segments after the Host header
// (dynamic_naming from AWS_XRAY_URL) and so under another name than the
// OpenTelemetry service, and an X-Ray sampling rule that samples a fraction
// of the requests. The X-Ray SDK itself says which requests it sampled (the
// Sampled field of the X-Amzn-Trace-Id it answers when asked with
// Sampled=?). Then X-Ray's API must count exactly those, and Honeycomb's
// must count every request once, neither seeing the other's data.
func TestLessonViewsCountWhatEachServiceWould(t *testing.T) {
	t.Parallel() // its own tracecomb and backend processes; mostly waits on them
	l := startTracecomb(t)
	ctx := t.Context()
	xc := l.xrayClient()

	// The lesson's rule, as the lesson creates it. Its ServiceName is
	// backend-flask, and the SDK matches a rule's ServiceName against the
	// segment name: with dynamic naming (segments named 127.0.0.1:<port>)
	// the lesson's rule does not apply, as on AWS. A rule with the lesson's
	// rate and reservoir for the dynamic name does.
	l.aws(t, nil, "../../bin/xray-create-sampling-rule")
	const dynamicRule = "cruddur-dynamic"
	if _, err := xc.CreateSamplingRule(ctx, &xraysvc.CreateSamplingRuleInput{SamplingRule: &types.SamplingRule{
		RuleName: aws.String(dynamicRule), ResourceARN: aws.String("*"), Priority: aws.Int32(100),
		FixedRate: 0.1, ReservoirSize: 5, ServiceName: aws.String("127.0.0.1:*"), ServiceType: aws.String("*"),
		Host: aws.String("*"), HTTPMethod: aws.String("*"), URLPath: aws.String("*"), Version: aws.Int32(1),
	}}); err != nil {
		t.Fatal(err)
	}

	const otelService = "backend-flask"
	l.startBackend(t,
		"OTEL_SERVICE_NAME="+otelService,
		"AWS_XRAY_URL=127.0.0.1:*",
		"CRUDDUR_SHARE_TRACE_ID=0",
	)
	segName := strings.TrimPrefix(l.base, "http://")
	if segName == otelService {
		t.Fatal("the segment name must differ from the OTel service name")
	}

	routes := []struct {
		path, route string
		status      int
	}{
		{"/api/activities/@andrewbrown", "/api/activities/{handle}", 200},
		{"/api/activities/notifications", "/api/activities/notifications", 200},
		{"/api/message_groups", "/api/message_groups", 200},
		{"/api/activities/search?term=cloud", "/api/activities/search", 200},
		{"/api/activities/@nobody", "/api/activities/{handle}", 404},
	}
	const minRequests, maxRequests = 150, 600
	start := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	var (
		n         int
		sampled   []string // X-Ray Root ids of the sampled requests
		unsampled []string // and of the others
		byRoute   = map[string]int{}
		errors404 int                 // sampled requests answered 404
		rootSeen  = map[string]bool{} // the sampled Root ids
	)
	// The SDK fetches the rules after its first decision (until then its
	// local fallback decides); the requests go on until it says it has them,
	// so that most are decided by the rule.
	rulesFetched := func() bool { return strings.Contains(l.backend.out.String(), "Successfully fetched sampling rules") }
	client := &http.Client{Timeout: 10 * time.Second}
	for n < maxRequests && (n < minRequests || len(sampled) == 0 || len(unsampled) == 0 || !rulesFetched()) {
		r := routes[n%len(routes)]
		req, _ := http.NewRequest("GET", l.base+r.path, nil)
		// No trace id, only a request for the decision: the X-Ray SDK
		// starts a trace of its own and samples by the rules.
		req.Header.Set("X-Amzn-Trace-Id", "Sampled=?")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("GET %s: status %d, want %d", r.path, resp.StatusCode, r.status)
		}
		// A sampled request has a new trace id; one not sampled has the
		// SDK's no-op id 1-00000000-000… (AWS_XRAY_NOOP_ID unset).
		root, decision := parseAmznTraceID(resp.Header.Get("X-Amzn-Trace-Id"))
		switch {
		case decision == "1" && root != "" && !rootSeen[root]:
			rootSeen[root] = true
			sampled = append(sampled, root)
			if r.status == 404 {
				errors404++
			}
		case decision == "0" && root != "":
			unsampled = append(unsampled, root)
		default:
			t.Fatalf("GET %s: X-Amzn-Trace-Id %q, want a Root (a new one when sampled) and Sampled=0 or 1",
				r.path, resp.Header.Get("X-Amzn-Trace-Id"))
		}
		n++
		byRoute[r.route]++
	}
	client.CloseIdleConnections()
	if len(sampled) == 0 || len(unsampled) == 0 {
		t.Fatalf("after %d requests, %d sampled and %d not: the test needs both", n, len(sampled), len(unsampled))
	}
	t.Logf("%d requests, %d sampled by the X-Ray SDK (%d of them 404)", n, len(sampled), errors404)
	// SIGTERM: the backend finishes its requests (each X-Ray segment is
	// sent as its request ends) and flushes its OTel spans; a clean exit
	// means tracecomb answered the export, which it does once committed.
	l.backend.stop(t)
	end := time.Now().Add(2 * time.Second)
	slices.Sort(sampled)

	// X-Ray: the summaries over the window are the sampled requests,
	// exactly (polled until all of them are there, then compared).
	summaries := func() []string {
		t.Helper()
		var ids []string
		deadline := time.Now().Add(waitBound)
		for {
			ids = l.traceSummaryIDs(t, xc, start, end, "")
			if containsAll(ids, sampled) || time.Now().After(deadline) {
				return ids
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	checkSummaries := func(when string) {
		t.Helper()
		ids := summaries()
		if !slices.Equal(ids, sampled) {
			t.Errorf("%s: get-trace-summaries: %d traces, want the %d sampled; missing %s; not sampled or unknown %s",
				when, len(ids), len(sampled), some(minus(sampled, ids)), some(minus(ids, sampled)))
		}
	}
	checkSummaries("after the backend stopped")

	// The sampled segments were sampled by the rule for the dynamic name,
	// fetched from tracecomb (the first requests may have been decided by
	// the SDK's local fallback before it had the rules), never by the
	// lesson's rule, whose ServiceName is not the segment name.
	rules := l.samplingRuleNames(t, xc, sampled)
	t.Logf("sampled root segments by sampling rule (\"\" for the local fallback): %v", rules)
	if rules[dynamicRule] == 0 || rules["Cruddur"] != 0 {
		t.Errorf("sampling rules of the sampled segments %v: want %s, never Cruddur", rules, dynamicRule)
	}

	// The service graph: one service, the segment name, counting the
	// sampled requests; no node for the OTel service.
	graph := l.serviceGraph(t, xc, start, end)
	var node *types.Service
	for i, s := range graph {
		if aws.ToString(s.Type) == "client" {
			continue
		}
		if aws.ToString(s.Name) == segName {
			node = &graph[i]
			continue
		}
		t.Errorf("service graph has a node %q (%s) besides %q", aws.ToString(s.Name), aws.ToString(s.Type), segName)
	}
	if node == nil {
		t.Fatalf("service graph has no node %q: %s", segName, jsonString(graph))
	}
	st := node.SummaryStatistics
	if st == nil {
		t.Fatalf("node %q has no statistics", segName)
	}
	errCount, faultCount := int64(-1), int64(-1)
	if st.ErrorStatistics != nil {
		errCount = aws.ToInt64(st.ErrorStatistics.TotalCount)
	}
	if st.FaultStatistics != nil {
		faultCount = aws.ToInt64(st.FaultStatistics.TotalCount)
	}
	if aws.ToInt64(st.TotalCount) != int64(len(sampled)) || aws.ToInt64(st.OkCount) != int64(len(sampled)-errors404) ||
		errCount != int64(errors404) || faultCount != 0 {
		t.Errorf("node %q: TotalCount %d OkCount %d errors %d faults %d, want %d, %d, %d, 0", segName,
			aws.ToInt64(st.TotalCount), aws.ToInt64(st.OkCount), errCount, faultCount,
			len(sampled), len(sampled)-errors404, errors404)
	}

	// The time series of the service add up to the sampled requests; the
	// OTel service's is empty.
	if got := l.timeSeriesTotal(t, xc, start, end, fmt.Sprintf("service(%q)", segName)); got != int64(len(sampled)) {
		t.Errorf("get-time-series-service-statistics for %s: %d requests, want %d", segName, got, len(sampled))
	}
	if got := l.timeSeriesTotal(t, xc, start, end, fmt.Sprintf("service(%q)", otelService)); got != 0 {
		t.Errorf("get-time-series-service-statistics for the OTel service %s: %d requests, want 0", otelService, got)
	}
	if ids := l.traceSummaryIDs(t, xc, start, end, fmt.Sprintf("service(%q)", otelService)); len(ids) != 0 {
		t.Errorf("get-trace-summaries service(%q): %d traces, want none", otelService, len(ids))
	}

	// Honeycomb: every request once in the OTel service's dataset, and
	// nothing else in the environment (X-Ray's segments are not there).
	window := func(q map[string]any) map[string]any {
		q["start_time"], q["end_time"] = start.Unix(), end.Unix()
		return q
	}
	serverSpans := []any{map[string]any{"column": "span.kind", "op": "=", "value": "server"}}
	count := func(rows []map[string]any) int64 {
		var c int64
		for _, r := range rows {
			v, _ := r["COUNT"].(float64)
			c += int64(v)
		}
		return c
	}
	var total []map[string]any
	deadline := time.Now().Add(waitBound)
	for {
		total = l.honeycombQuery(t, otelService, window(map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": serverSpans}))
		if count(total) >= int64(n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := count(total); got != int64(n) {
		t.Errorf("Honeycomb COUNT of server spans in %s: %d, want %d (every request)", otelService, got, n)
	}
	if got := count(l.honeycombQuery(t, "__all__", window(map[string]any{
		"calculations": []any{map[string]any{"op": "COUNT"}}}))); got != int64(n) {
		t.Errorf("Honeycomb COUNT of every event in the environment: %d, want %d (the server spans only)", got, n)
	}
	perRoute := map[string]int{}
	for _, r := range l.honeycombQuery(t, otelService, window(map[string]any{
		"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": serverSpans,
		"breakdowns": []any{"http.route"}})) {
		v, _ := r["COUNT"].(float64)
		route, _ := r["http.route"].(string)
		perRoute[route] += int(v)
	}
	if !maps.Equal(perRoute, byRoute) {
		t.Errorf("Honeycomb COUNT by http.route %v, want the requests sent %v", perRoute, byRoute)
	}
	// Each request is a trace of its own, counted once; none of them is
	// an X-Ray trace (the SDKs share no id).
	otelTraces := map[string]bool{}
	for _, r := range l.honeycombQuery(t, otelService, window(map[string]any{
		"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": serverSpans,
		"breakdowns": []any{"trace.trace_id"}, "limit": 1000})) {
		id, _ := r["trace.trace_id"].(string)
		if v, _ := r["COUNT"].(float64); v != 1 {
			t.Errorf("OTel trace %s has %v server spans, want 1", id, r["COUNT"])
		}
		otelTraces[id] = true
	}
	if len(otelTraces) != n {
		t.Errorf("%d OTel traces of server spans, want %d", len(otelTraces), n)
	}
	var otelAsXRay []string
	for id := range otelTraces {
		x := xrayID(id)
		if rootSeen[x] {
			t.Errorf("OTel trace %s is also the X-Ray trace %s: the ids are shared", id, x)
		}
		otelAsXRay = append(otelAsXRay, x)
	}
	// The X-Ray API does not know the OTel traces.
	slices.Sort(otelAsXRay)
	if got := l.batchGetTraces(t, xc, otelAsXRay[:min(10, len(otelAsXRay))]); len(got) != 0 {
		t.Errorf("batch-get-traces of OTel trace ids returned %d traces, want none", len(got))
	}

	// Honeycomb's datasets: the OTel service's, none named after the
	// X-Ray segments.
	datasets := l.honeycombDatasets(t)
	if !slices.Contains(datasets, otelService) || slices.Contains(datasets, segName) || len(datasets) != 1 {
		t.Errorf("Honeycomb datasets %q, want [%s] (none named %s)", datasets, otelService, segName)
	}

	// Nothing arrived late to change X-Ray's count.
	checkSummaries("at the end")
}

// parseAmznTraceID returns the Root and Sampled fields of an
// X-Amzn-Trace-Id value.
func parseAmznTraceID(v string) (root, sampled string) {
	for f := range strings.SplitSeq(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Root":
			root = val
		case "Sampled":
			sampled = val
		}
	}
	return root, sampled
}

// xrayID is a W3C trace id in X-Ray's form.
func xrayID(w3c string) string {
	if len(w3c) != 32 {
		return w3c
	}
	return "1-" + w3c[:8] + "-" + w3c[8:]
}

// containsAll reports whether have holds every id of want.
func containsAll(have, want []string) bool { return len(minus(want, have)) == 0 }

// minus returns the ids of a not in b.
func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// some shows up to 5 ids and how many there are.
func some(ids []string) string {
	if len(ids) <= 5 {
		return fmt.Sprint(ids)
	}
	return fmt.Sprintf("%v and %d more", ids[:5], len(ids)-5)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// xrayClient is aws-sdk-go-v2's X-Ray client on tracecomb's daemon door,
// unsigned as the real daemon's proxy is.
func (l *lesson) xrayClient() *xraysvc.Client {
	return xraysvc.New(xraysvc.Options{
		Region:           "us-west-1",
		BaseEndpoint:     aws.String("http://" + l.xrayAddr),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

func apiContext(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 30*time.Second)
}

// traceSummaryIDs returns the sorted ids of every page of
// GetTraceSummaries over [start, end], with filter when not empty.
func (l *lesson) traceSummaryIDs(t *testing.T, c *xraysvc.Client, start, end time.Time, filter string) []string {
	t.Helper()
	ctx, cancel := apiContext(t)
	defer cancel()
	in := &xraysvc.GetTraceSummariesInput{StartTime: &start, EndTime: &end}
	if filter != "" {
		in.FilterExpression = aws.String(filter)
	}
	var ids []string
	for p := xraysvc.NewGetTraceSummariesPaginator(c, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("get-trace-summaries %q: %v", filter, err)
		}
		for _, s := range out.TraceSummaries {
			ids = append(ids, aws.ToString(s.Id))
		}
	}
	slices.Sort(ids)
	return ids
}

// serviceGraph returns the services of every page of GetServiceGraph.
func (l *lesson) serviceGraph(t *testing.T, c *xraysvc.Client, start, end time.Time) []types.Service {
	t.Helper()
	ctx, cancel := apiContext(t)
	defer cancel()
	var out []types.Service
	for p := xraysvc.NewGetServiceGraphPaginator(c, &xraysvc.GetServiceGraphInput{StartTime: &start, EndTime: &end}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("get-service-graph: %v", err)
		}
		out = append(out, page.Services...)
	}
	return out
}

// timeSeriesTotal sums TotalCount over the one-minute time series of the
// entity that selector names.
func (l *lesson) timeSeriesTotal(t *testing.T, c *xraysvc.Client, start, end time.Time, selector string) int64 {
	t.Helper()
	ctx, cancel := apiContext(t)
	defer cancel()
	var total int64
	in := &xraysvc.GetTimeSeriesServiceStatisticsInput{StartTime: &start, EndTime: &end,
		EntitySelectorExpression: aws.String(selector), Period: aws.Int32(60)}
	for p := xraysvc.NewGetTimeSeriesServiceStatisticsPaginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("get-time-series-service-statistics %s: %v", selector, err)
		}
		for _, e := range page.TimeSeriesServiceStatistics {
			if e.ServiceSummaryStatistics != nil {
				total += aws.ToInt64(e.ServiceSummaryStatistics.TotalCount)
			}
		}
	}
	return total
}

// batchGetTraces returns the traces BatchGetTraces finds among ids.
func (l *lesson) batchGetTraces(t *testing.T, c *xraysvc.Client, ids []string) []types.Trace {
	t.Helper()
	ctx, cancel := apiContext(t)
	defer cancel()
	var out []types.Trace
	for chunk := range slices.Chunk(ids, 5) {
		for p := xraysvc.NewBatchGetTracesPaginator(c, &xraysvc.BatchGetTracesInput{TraceIds: chunk}); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("batch-get-traces %v: %v", chunk, err)
			}
			out = append(out, page.Traces...)
		}
	}
	return out
}

// samplingRuleNames counts the segments of the traces ids by the sampling
// rule the SDK recorded in them (aws.xray.sampling_rule_name; "" when the
// local fallback decided).
func (l *lesson) samplingRuleNames(t *testing.T, c *xraysvc.Client, ids []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tr := range l.batchGetTraces(t, c, ids) {
		for _, s := range tr.Segments {
			var doc struct {
				ParentID string `json:"parent_id"`
				AWS      struct {
					XRay struct {
						Rule string `json:"sampling_rule_name"`
					} `json:"xray"`
				} `json:"aws"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(s.Document)), &doc); err != nil {
				t.Fatalf("segment document %q: %v", aws.ToString(s.Document), err)
			}
			if doc.ParentID == "" {
				out[doc.AWS.XRay.Rule]++
			}
		}
	}
	return out
}

// honeycombQuery runs a query through Honeycomb's Query Data API (create
// the query, create its result, poll until complete) and returns the
// result rows.
func (l *lesson) honeycombQuery(t *testing.T, dataset string, spec map[string]any) []map[string]any {
	t.Helper()
	ds := url.PathEscape(dataset)
	var q struct {
		ID string `json:"id"`
	}
	l.honeycomb(t, "POST", "/1/queries/"+ds, spec, http.StatusOK, &q)
	var res struct {
		ID       string `json:"id"`
		Complete bool   `json:"complete"`
		Data     struct {
			Results []struct {
				Data map[string]any `json:"data"`
			} `json:"results"`
		} `json:"data"`
	}
	l.honeycomb(t, "POST", "/1/query_results/"+ds, map[string]any{"query_id": q.ID, "disable_series": true}, http.StatusCreated, &res)
	deadline := time.Now().Add(waitBound)
	for !res.Complete {
		if time.Now().After(deadline) {
			t.Fatalf("query result %s never complete", res.ID)
		}
		time.Sleep(100 * time.Millisecond)
		l.honeycomb(t, "GET", "/1/query_results/"+ds+"/"+res.ID, nil, http.StatusOK, &res)
	}
	rows := make([]map[string]any, len(res.Data.Results))
	for i, r := range res.Data.Results {
		rows[i] = r.Data
	}
	return rows
}

// honeycombDatasets returns the names GET /1/datasets lists.
func (l *lesson) honeycombDatasets(t *testing.T) []string {
	t.Helper()
	var ds []struct {
		Name string `json:"name"`
	}
	l.honeycomb(t, "GET", "/1/datasets", nil, http.StatusOK, &ds)
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return names
}

// honeycomb calls tracecomb's Honeycomb API with the lesson's key and
// decodes the answer, which must have status want.
func (l *lesson) honeycomb(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	ctx, cancel := apiContext(t)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+l.httpAddr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Honeycomb-Team", lessonKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
}
