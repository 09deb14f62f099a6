package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	libhoney "github.com/honeycombio/libhoney-go"
	"github.com/honeycombio/libhoney-go/transmission"
)

// eventsQueryCount runs COUNT over the last two hours of dataset through
// the Query Data API (create the query, create a result, poll it) and
// returns the one result row's COUNT.
func eventsQueryCount(t *testing.T, base, key, dataset string) float64 {
	t.Helper()
	return eventsQueryCountWhere(t, base, key, dataset, nil)
}

// eventsQueryCountWhere is eventsQueryCount with filters.
func eventsQueryCountWhere(t *testing.T, base, key, dataset string, filters []map[string]any) float64 {
	t.Helper()
	call := func(method, path string, body any) (int, http.Header, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("X-Honeycomb-Team", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, out
	}
	spec := map[string]any{"calculations": []map[string]any{{"op": "COUNT"}}, "time_range": 7200}
	if filters != nil {
		spec["filters"] = filters
	}
	code, _, body := call("POST", "/1/queries/"+dataset, spec)
	var q struct {
		ID string `json:"id"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &q) != nil || q.ID == "" {
		t.Fatalf("create query: %d %s", code, body)
	}
	code, hdr, body := call("POST", "/1/query_results/"+dataset, map[string]any{"query_id": q.ID})
	if code != http.StatusCreated {
		t.Fatalf("create query result: %d %s", code, body)
	}
	for range 300 {
		code, _, body = call("GET", hdr.Get("Location"), nil)
		var r struct {
			Complete bool `json:"complete"`
			Data     struct {
				Results []struct {
					Data map[string]any `json:"data"`
				} `json:"results"`
			} `json:"data"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &r) != nil {
			t.Fatalf("query result: %d %s", code, body)
		}
		if r.Complete {
			switch len(r.Data.Results) {
			case 0:
				return 0 // nothing matched
			case 1:
			default:
				t.Fatalf("want one result row: %s", body)
			}
			n, ok := r.Data.Results[0].Data["COUNT"].(float64)
			if !ok {
				t.Fatalf("no COUNT in %s", body)
			}
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("query result never completed")
	return 0
}

// The real libhoney-go, in its default batching (JSON, zstd), sends
// 25,000 events to tracecomb (2.5 times its queue of pending events, so
// that sends block on it); every tenth carries sample rate 10. Every
// response is a 202 and COUNT is the sample-rate-weighted total exactly.
// With msgpack encoding, 10,000 more to another dataset, the same.
func TestLibhoneyGo(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 35,000 events")
	}
	t.Parallel() // its own server, in-process
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	t.Run("json", func(t *testing.T) { libhoneyGoSend(t, base, key, "libhoney-go", 25_000, false) })
	t.Run("msgpack", func(t *testing.T) { libhoneyGoSend(t, base, key, "libhoney-go msgpack", 10_000, true) })
}

func libhoneyGoSend(t *testing.T, base, key, dataset string, n int, msgpack bool) {
	// libhoney's default transmission, only told to wait rather than drop
	// when its queues are full (its defaults drop past 10,000 pending
	// events): batching, concurrency and zstd stay libhoney's defaults.
	tx := &transmission.Honeycomb{
		MaxBatchSize:          libhoney.DefaultMaxBatchSize,
		BatchTimeout:          libhoney.DefaultBatchTimeout,
		MaxConcurrentBatches:  libhoney.DefaultMaxConcurrentBatches,
		PendingWorkCapacity:   libhoney.DefaultPendingWorkCapacity,
		BlockOnSend:           true,
		BlockOnResponse:       true,
		EnableMsgpackEncoding: msgpack,
	}
	client, err := libhoney.NewClient(libhoney.ClientConfig{APIKey: key, Dataset: dataset, APIHost: base, Transmission: tx})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		errs     []string
		seen     = make([]bool, n)
		dups     int
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range client.TxResponses() {
			mu.Lock()
			statuses[r.StatusCode]++
			if r.Err != nil && len(errs) < 5 {
				errs = append(errs, fmt.Sprintf("%d %v %s", r.StatusCode, r.Err, r.Body))
			}
			if i, ok := r.Metadata.(int); ok {
				if seen[i] {
					dups++
				}
				seen[i] = true
			}
			mu.Unlock()
		}
	}()

	start := time.Now()
	wantCount := 0
	for i := range n {
		ev := client.NewEvent()
		ev.Metadata = i
		ev.AddField("name", "work")
		ev.AddField("i", i)
		ev.AddField("ratio", float64(i)/float64(n))
		ev.AddField("even", i%2 == 0)
		ev.AddField("endpoint", fmt.Sprintf("/api/%d", i%20))
		ev.AddField("nested", map[string]any{"shard": i % 4})
		ev.Timestamp = start.Add(-time.Duration(i%600) * time.Second)
		if i%10 == 0 {
			ev.SampleRate = 10
			wantCount += 10
		} else {
			wantCount++
		}
		if err := ev.SendPresampled(); err != nil {
			t.Fatal(err)
		}
	}
	client.Close() // flushes, then closes TxResponses
	<-done
	sent := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	if statuses[http.StatusAccepted] != n || len(statuses) != 1 || dups != 0 {
		t.Fatalf("responses by status %v (%d duplicates), want %d × 202; first errors: %q", statuses, dups, n, errs)
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("no response for event %d", i)
		}
	}
	count := eventsQueryCount(t, base, key, dataset)
	t.Logf("libhoney-go: %d events sent and committed in %v (%.0f events/s); COUNT = %.0f", n, sent.Round(time.Millisecond), float64(n)/sent.Seconds(), count)
	if count != float64(wantCount) {
		t.Fatalf("COUNT = %v, want the sample-rate-weighted %d", count, wantCount)
	}

	// The fields as Honeycomb types them: integers, floats, booleans,
	// strings, and the nested object as JSON text (expand_json_depth 0).
	var cols []struct {
		KeyName string `json:"key_name"`
		Type    string `json:"type"`
	}
	if code := getJSON(t, base+"/1/columns/"+dataset, key, &cols); code != http.StatusOK {
		t.Fatalf("columns: %d", code)
	}
	types := map[string]string{}
	for _, c := range cols {
		types[c.KeyName] = c.Type
	}
	for k, want := range map[string]string{"i": "integer", "ratio": "float", "even": "boolean", "endpoint": "string", "nested": "string", "name": "string"} {
		if types[k] != want {
			t.Errorf("column %s: type %q, want %q (all: %v)", k, types[k], want, types)
		}
	}
	if _, ok := types["duration_ms"]; ok {
		t.Errorf("a duration_ms column appeared though no event has one: %v", types)
	}
}

// A batch with one malformed event stores the others and answers 400 for
// that one only.
func TestEventsBatchWithMalformedEvent(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	post := func(path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("X-Honeycomb-Team", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("/1/batch/Mixed%20Batch", `[{"data":{"n":1}},{"data":"not an object"},{"data":{"n":3},"samplerate":5}]`)
	if code != http.StatusOK || body != `[{"status":202},{"status":400,"error":"Request body is malformed and cannot be read."},{"status":202}]` {
		t.Fatalf("%d %s", code, body)
	}
	// Dataset names are case-insensitive: a different casing is the same dataset.
	if code, body := post("/1/batch/MIXED%20batch", `[{"data":{"n":4}}]`); code != http.StatusOK || body != `[{"status":202}]` {
		t.Fatalf("%d %s", code, body)
	}
	if got := eventsQueryCount(t, base, key, "mixed batch"); got != 1+5+1 {
		t.Fatalf("COUNT = %v, want 7 (1 + 5 × 1 + 1)", got)
	}
	var datasets []map[string]any
	if code := getJSON(t, base+"/1/datasets", key, &datasets); code != http.StatusOK || len(datasets) != 1 || datasets[0]["name"] != "Mixed Batch" {
		t.Fatalf("datasets %d %v", code, datasets)
	}
}

// A beeline's spans sent to /1/batch make a trace (ids, parent, duration
// in the members); a beeline's UUID trace id is kept as sent and
// queryable; a plain event has no duration_ms or status_code it did not
// send.
func TestEventsBeelineSpans(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	const (
		tid  = "0af7651916cd43dd8448eb211c80319c"
		uuid = "7f8c2b8e-6a3e-4a35-9a63-1d2e0d4b5c6a"
	)
	body := `[
		{"data":{"trace.trace_id":"` + tid + `","trace.span_id":"b7ad6b7169203331","name":"GET /home","service.name":"beeline-app","duration_ms":12.5}},
		{"data":{"trace.trace_id":"` + tid + `","trace.span_id":"00f067aa0ba902b7","trace.parent_id":"b7ad6b7169203331","name":"db.query","duration_ms":3}},
		{"data":{"trace.trace_id":"` + uuid + `","trace.span_id":"` + uuid + `","name":"old beeline"}},
		{"data":{"endpoint":"/foo","status_code":0}}
	]`
	req, _ := http.NewRequest("POST", base+"/1/batch/beeline-app", strings.NewReader(body))
	req.Header.Set("X-Honeycomb-Team", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != `[{"status":202},{"status":202},{"status":202},{"status":202}]` {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}

	var tr traceResponse
	if code := getJSON(t, base+"/api/traces/"+tid, key, &tr); code != http.StatusOK || len(tr.Events) != 2 {
		t.Fatalf("trace: %d %+v", code, tr)
	}
	byName := map[string]map[string]any{}
	for _, ev := range tr.Events {
		byName[fmt.Sprint(ev["name"])] = ev
	}
	root, child := byName["GET /home"], byName["db.query"]
	if root == nil || child == nil || child["trace.parent_id"] != root["trace.span_id"] || root["duration_ms"] != 12.5 || child["duration_ms"] != 3.0 || root["meta.tracecomb.source"] != "events" {
		t.Fatalf("trace events %v", tr.Events)
	}

	if n := eventsQueryCountWhere(t, base, key, "beeline-app", []map[string]any{{"column": "trace.trace_id", "op": "=", "value": uuid}}); n != 1 {
		t.Fatalf("COUNT where trace.trace_id = the UUID: %v", n)
	}
	if n := eventsQueryCountWhere(t, base, key, "beeline-app", []map[string]any{{"column": "duration_ms", "op": "exists"}}); n != 2 {
		t.Fatalf("COUNT where duration_ms exists: %v, want the 2 spans that sent one", n)
	}
	// The plain event keeps the status_code 0 it sent; the UUID event (not a
	// span: its span id is no span id) has none. (A span has status_code 0
	// when it sent none, as every span in tracecomb's model.)
	if n := eventsQueryCountWhere(t, base, key, "beeline-app", []map[string]any{{"column": "endpoint", "op": "=", "value": "/foo"}, {"column": "status_code", "op": "=", "value": 0}}); n != 1 {
		t.Fatalf("COUNT where endpoint = /foo and status_code = 0: %v", n)
	}
	if n := eventsQueryCountWhere(t, base, key, "beeline-app", []map[string]any{{"column": "trace.trace_id", "op": "=", "value": uuid}, {"column": "status_code", "op": "exists"}}); n != 0 {
		t.Fatalf("COUNT where the UUID event has a status_code: %v", n)
	}
}
