package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/ingest/otlp"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

const testKey = "e2e-query-key-0123456789"

// server is a running tracecomb HTTP door made of the real parts: the
// OTLP handler, the group-commit batcher, the DuckDB store, the key
// registry and the query API.
type server struct {
	url   string
	store *duckdb.Store
	dir   string
}

func startServer(t testing.TB) *server {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "tracecomb.duckdb"), Threads: 2}, logger)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := auth.Open(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Bootstrap(testKey); err != nil {
		t.Fatal(err)
	}
	flush := func(ctx context.Context, groups []ingest.EnvEvents) error {
		batches := make([]store.Batch, len(groups))
		for i, g := range groups {
			batches[i] = store.Batch{Env: g.Env, Events: g.Events}
		}
		return st.Write(ctx, batches)
	}
	b := ingest.NewBatcher(ingest.BatcherConfig{}, flush, logger, nil)
	mux := http.NewServeMux()
	h := otlp.NewHTTPHandler(otlp.DefaultConfig(), otlp.Deps{Logger: logger, Auth: reg, Consumer: b})
	mux.Handle("POST /v1/traces", h)
	states, err := state.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = states.Close() })
	if err := apiquery.Register(mux, apiquery.Deps{Auth: reg, Store: st, State: states, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = b.Close(context.Background())
		_ = st.Close()
	})
	return &server{url: srv.URL, store: st, dir: dir}
}

// spanDef is one span the test sends, with exact start and duration.
type spanDef struct {
	name  string
	dur   time.Duration
	err   bool
	start time.Time
}

// sendSpans sends the spans through the OTel SDK's OTLP/HTTP exporter.
func sendSpans(t *testing.T, url, service string, spans []spanDef) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url+"/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"x-honeycomb-team": testKey}))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("tracecomb/query_e2e")
	for _, s := range spans {
		_, sp := tr.Start(ctx, s.name, trace.WithTimestamp(s.start), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.Int("http.status_code", 200)))
		if s.err {
			sp.SetStatus(codes.Error, "boom")
		}
		sp.End(trace.WithTimestamp(s.start.Add(s.dur)))
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
}

func do(t testing.TB, method, url string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("X-Honeycomb-Team", testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

type resultJSON struct {
	ID       string `json:"id"`
	Complete bool   `json:"complete"`
	Data     struct {
		Results []struct {
			Data map[string]any `json:"data"`
		} `json:"results"`
		Series []struct {
			Time time.Time      `json:"time"`
			Data map[string]any `json:"data"`
		} `json:"series"`
	} `json:"data"`
	Links map[string]string `json:"links"`
}

// runQuery goes through the whole Query Data API flow: create the query,
// create a result, poll it until complete.
func runQuery(t *testing.T, url, dataset string, spec any) resultJSON {
	t.Helper()
	code, _, body := do(t, "POST", url+"/1/queries/"+dataset, spec)
	if code != http.StatusOK {
		t.Fatalf("create query: %d %s", code, body)
	}
	var q struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &q); err != nil || q.ID == "" {
		t.Fatalf("create query: no id in %s", body)
	}
	code, hdr, body := do(t, "POST", url+"/1/query_results/"+dataset, map[string]any{"query_id": q.ID})
	if code != http.StatusCreated {
		t.Fatalf("create result: %d %s", code, body)
	}
	loc := hdr.Get("Location")
	if !strings.HasPrefix(loc, "/1/query_results/"+dataset+"/") {
		t.Fatalf("Location = %q", loc)
	}
	for i := 0; ; i++ {
		code, _, body = do(t, "GET", url+loc, nil)
		if code != http.StatusOK {
			t.Fatalf("get result: %d %s", code, body)
		}
		var r resultJSON
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("result: %v in %s", err, body)
		}
		if r.Complete {
			if r.Links["query_url"] == "" || r.Links["graph_image_url"] == "" {
				t.Fatalf("result without links: %s", body)
			}
			return r
		}
		if i > 100 {
			t.Fatal("result never completed")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestEndToEnd(t *testing.T) {
	srv := startServer(t)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	var spans []spanDef
	for i := 1; i <= 7; i++ {
		spans = append(spans, spanDef{name: "GET /home", dur: time.Duration(10*i) * time.Millisecond, start: base.Add(time.Duration(i) * time.Second)})
	}
	for i := 0; i < 4; i++ {
		spans = append(spans, spanDef{name: "GET /users", dur: time.Duration(5+10*i) * time.Millisecond, start: base.Add(time.Duration(90+i) * time.Second)})
	}
	spans = append(spans,
		spanDef{name: "db.query", dur: 100 * time.Millisecond, err: true, start: base.Add(150 * time.Second)},
		spanDef{name: "db.query", dur: 200 * time.Millisecond, err: true, start: base.Add(200 * time.Second)})
	sendSpans(t, srv.url, "backend-flask", spans)
	sendSpans(t, srv.url, "frontend", []spanDef{{name: "render", dur: time.Millisecond, start: base.Add(time.Second)}})

	count := func(r resultJSON) float64 {
		t.Helper()
		if len(r.Data.Results) != 1 {
			t.Fatalf("got %d rows, want 1: %+v", len(r.Data.Results), r.Data.Results)
		}
		return r.Data.Results[0].Data["COUNT"].(float64)
	}
	t.Run("COUNT", func(t *testing.T) {
		r := runQuery(t, srv.url, "backend-flask", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}})
		if got := count(r); got != 13 {
			t.Fatalf("COUNT = %v, want 13", got)
		}
		r = runQuery(t, srv.url, "__all__", map[string]any{})
		if got := count(r); got != 14 {
			t.Fatalf("COUNT over __all__ = %v, want 14", got)
		}
	})
	t.Run("COUNT error = true", func(t *testing.T) {
		r := runQuery(t, srv.url, "backend-flask", map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}},
			"filters":      []any{map[string]any{"column": "error", "op": "=", "value": true}},
		})
		if got := count(r); got != 2 {
			t.Fatalf("COUNT = %v, want 2", got)
		}
	})
	t.Run("COUNT P99 by name ordered by COUNT", func(t *testing.T) {
		r := runQuery(t, srv.url, "backend-flask", map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}, map[string]any{"op": "P99", "column": "duration_ms"}},
			"breakdowns":   []string{"name"},
			"orders":       []any{map[string]any{"op": "COUNT", "order": "descending"}},
		})
		var got []string
		for _, row := range r.Data.Results {
			got = append(got, fmt.Sprintf("%v %v %v", row.Data["name"], row.Data["COUNT"], row.Data["P99(duration_ms)"]))
		}
		want := []string{"GET /home 7 70", "GET /users 4 35", "db.query 2 200"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("rows:\n got  %q\n want %q", got, want)
		}
	})
	t.Run("HEATMAP and series add up to COUNT", func(t *testing.T) {
		r := runQuery(t, srv.url, "backend-flask", map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}, map[string]any{"op": "HEATMAP", "column": "duration_ms"}},
			"time_range":   3600,
			"granularity":  60,
		})
		total := count(r)
		if total != 13 {
			t.Fatalf("COUNT = %v", total)
		}
		if s := heatSum(t, r.Data.Results[0].Data["HEATMAP(duration_ms)"]); s != total {
			t.Fatalf("heatmap buckets sum to %v, COUNT is %v", s, total)
		}
		var series float64
		var times []time.Time
		for _, p := range r.Data.Series {
			c := p.Data["COUNT"].(float64)
			series += c
			if s := heatSum(t, p.Data["HEATMAP(duration_ms)"]); s != c {
				t.Fatalf("series heatmap at %v sums to %v, COUNT %v", p.Time, s, c)
			}
			times = append(times, p.Time)
		}
		if series != total {
			t.Fatalf("series COUNTs sum to %v, COUNT is %v", series, total)
		}
		if !sort.SliceIsSorted(times, func(i, j int) bool { return times[i].Before(times[j]) }) || len(times) < 3 {
			t.Fatalf("series times %v: want ≥3 ascending buckets", times)
		}
		for _, tm := range times {
			if tm.Unix()%60 != 0 || tm.Nanosecond() != 0 {
				t.Fatalf("bucket %v not on the minute", tm)
			}
		}
	})
}

func TestFormulasEndToEnd(t *testing.T) {
	srv := startServer(t)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	var spans []spanDef
	for i := 1; i <= 7; i++ { // 10…70 ms, in the first minute
		spans = append(spans, spanDef{name: "GET /home", dur: time.Duration(10*i) * time.Millisecond, start: base.Add(time.Duration(i) * time.Second)})
	}
	for i := 0; i < 4; i++ { // in the second minute
		spans = append(spans, spanDef{name: "GET /users", dur: time.Duration(5+10*i) * time.Millisecond, start: base.Add(time.Duration(90+i) * time.Second)})
	}
	spans = append(spans, // one error in each of the third and fourth minutes
		spanDef{name: "db.query", dur: 100 * time.Millisecond, err: true, start: base.Add(150 * time.Second)},
		spanDef{name: "db.query", dur: 200 * time.Millisecond, err: true, start: base.Add(200 * time.Second)})
	sendSpans(t, srv.url, "backend-flask", spans)

	calcs := []any{
		map[string]any{"op": "COUNT", "name": "total"},
		map[string]any{"op": "COUNT", "name": "errors", "filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}},
		map[string]any{"op": "COUNT", "name": "slow_or_users", "filter_combination": "OR", "filters": []any{
			map[string]any{"column": "duration_ms", "op": ">=", "value": 60},
			map[string]any{"column": "name", "op": "=", "value": "GET /users"}}},
	}
	formulas := []any{
		map[string]any{"name": "error_rate", "expression": "DIV($errors, $total)"},
		map[string]any{"name": "share", "expression": "$slow_or_users / $total"},
	}
	t.Run("per bucket", func(t *testing.T) {
		r := runQuery(t, srv.url, "backend-flask", map[string]any{
			"calculations": calcs, "formulas": formulas, "time_range": 3600, "granularity": 60,
		})
		if len(r.Data.Results) != 1 {
			t.Fatalf("got %d rows: %+v", len(r.Data.Results), r.Data.Results)
		}
		// 2 errors of 13 spans; 2 home spans of 60 ms or more, 4 users, 2 db.
		if got, want := r.Data.Results[0].Data, map[string]any{"error_rate": 2.0 / 13, "share": 8.0 / 13}; !reflect.DeepEqual(got, want) {
			t.Fatalf("results %v, want %v", got, want)
		}
		var got []string
		for _, p := range r.Data.Series {
			if len(p.Data) != 2 {
				t.Fatalf("series point %v carries %v", p.Time, p.Data)
			}
			got = append(got, fmt.Sprintf("+%v %v %.4g", p.Time.Sub(base), p.Data["error_rate"], p.Data["share"]))
		}
		want := []string{"+0s 0 0.2857", "+1m0s 0 1", "+2m0s 1 1", "+3m0s 1 1"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("series:\n got  %q\n want %q", got, want)
		}
	})
	t.Run("per group, ordered by a formula", func(t *testing.T) {
		r := runQuery(t, srv.url, "backend-flask", map[string]any{
			"calculations": calcs, "formulas": formulas, "breakdowns": []string{"name"},
			"orders":  []any{map[string]any{"column": "error_rate", "order": "descending"}, map[string]any{"column": "name"}},
			"havings": []any{map[string]any{"calculate_op": "COUNT", "column": "share", "op": ">", "value": 0.5}},
		})
		var got []string
		for _, row := range r.Data.Results {
			got = append(got, fmt.Sprintf("%v %v %.4g", row.Data["name"], row.Data["error_rate"], row.Data["share"]))
		}
		// GET /home (share 2/7) is left out by the having.
		want := []string{"db.query 1 1", "GET /users 0 1"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("rows:\n got  %q\n want %q", got, want)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"calculations":[{"op":"COUNT","filters":[{"column":"error","op":"exists"}]}]}`:                    "calculations[0].name",
			`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"DIV($n, $m)"}]}`: "formulas[0].expression",
		} {
			code, _, out := do(t, "POST", srv.url+"/1/queries/backend-flask", body)
			if code != 422 || !strings.Contains(string(out), field) {
				t.Fatalf("%s: %d %s, want 422 naming %s", body, code, out, field)
			}
		}
	})
}

func heatSum(t *testing.T, v any) float64 {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("heatmap value %T %v", v, v)
	}
	var s float64
	for _, b := range m["buckets"].([]any) {
		s += b.(map[string]any)["count"].(float64)
	}
	return math.Round(s*1e9) / 1e9
}

func TestBadSpecs(t *testing.T) {
	srv := startServer(t)
	tests := []struct {
		name   string
		body   string
		status int
		want   string // substring of the error message
	}{
		{"not json", `{"calculations":`, 400, "could not parse"},
		{"empty body", ``, 400, "empty"},
		{"unknown op", `{"calculations":[{"op":"MEDIAN","column":"x"}]}`, 422, "calculations[0].op"},
		{"count with column", `{"calculations":[{"op":"COUNT","column":"x"}]}`, 422, "calculations[0].column"},
		{"p99 without column", `{"calculations":[{"op":"P99"}]}`, 422, "calculations[0].column"},
		{"wrong type", `{"calculations":"COUNT"}`, 422, "calculations"},
		{"limit too big", `{"limit":1001}`, 422, "limit"},
		{"limit zero", `{"limit":0}`, 422, "limit"},
		{"all three times", `{"time_range":60,"start_time":1,"end_time":61}`, 422, "time_range"},
		{"end before start", `{"start_time":100,"end_time":50}`, 422, "end_time"},
		{"granularity too small", `{"time_range":7200,"granularity":1}`, 422, "granularity"},
		{"granularity too big", `{"time_range":7200,"granularity":7200}`, 422, "granularity"},
		{"bad filter op", `{"filters":[{"column":"a","op":"~","value":1}]}`, 422, "filters[0].op"},
		{"filter without value", `{"filters":[{"column":"a","op":"="}]}`, 422, "filters[0].value"},
		{"in without array", `{"filters":[{"column":"a","op":"in","value":1}]}`, 422, "filters[0].value"},
		{"exists with value", `{"filters":[{"column":"a","op":"exists","value":1}]}`, 422, "filters[0].value"},
		{"bad combination", `{"filter_combination":"XOR"}`, 422, "filter_combination"},
		{"order not in query", `{"orders":[{"op":"AVG","column":"x"}]}`, 422, "orders[0]"},
		{"order by heatmap", `{"calculations":[{"op":"HEATMAP","column":"d"}],"orders":[{"op":"HEATMAP","column":"d"}]}`, 422, "orders[0].op"},
		{"order column not a breakdown", `{"orders":[{"column":"name"}]}`, 422, "orders[0].column"},
		{"bad order", `{"breakdowns":["name"],"orders":[{"column":"name","order":"up"}]}`, 422, "orders[0].order"},
		{"having heatmap", `{"havings":[{"calculate_op":"HEATMAP","column":"d","op":">","value":1}]}`, 422, "havings[0].calculate_op"},
		{"having bad op", `{"havings":[{"calculate_op":"COUNT","op":"~","value":1}]}`, 422, "havings[0].op"},
		{"having without value", `{"havings":[{"calculate_op":"COUNT","op":">"}]}`, 422, "havings[0].value"},
		{"blank breakdown", `{"breakdowns":[""]}`, 422, "breakdowns[0]"},
		{"bad calculated field", `{"calculated_fields":[{"name":"x","expression":"IF(1"}]}`, 422, "calculated_fields[0].expression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := do(t, "POST", srv.url+"/1/queries/__all__", tc.body)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			var e struct {
				Error      string `json:"error"`
				Status     int    `json:"status"`
				TypeDetail []struct {
					Field string `json:"field"`
					Code  string `json:"code"`
				} `json:"type_detail"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if !strings.Contains(e.Error, tc.want) {
				t.Fatalf("error %q does not mention %q", e.Error, tc.want)
			}
			if tc.status == 422 {
				if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q", ct)
				}
				if e.Status != 422 || len(e.TypeDetail) != 1 || e.TypeDetail[0].Code == "" || !strings.HasPrefix(tc.want, e.TypeDetail[0].Field) {
					t.Fatalf("problem body %s", body)
				}
			}
		})
	}
	t.Run("unknown dataset", func(t *testing.T) {
		if code, _, body := do(t, "POST", srv.url+"/1/queries/nope", `{}`); code != 404 {
			t.Fatalf("status %d: %s", code, body)
		}
	})
	t.Run("unknown query", func(t *testing.T) {
		if code, _, body := do(t, "POST", srv.url+"/1/query_results/__all__", `{"query_id":"nope"}`); code != 404 {
			t.Fatalf("status %d: %s", code, body)
		}
		if code, _, body := do(t, "GET", srv.url+"/1/queries/__all__/nope", nil); code != 404 {
			t.Fatalf("status %d: %s", code, body)
		}
		if code, _, body := do(t, "GET", srv.url+"/1/query_results/__all__/nope", nil); code != 404 {
			t.Fatalf("status %d: %s", code, body)
		}
	})
	t.Run("result without query_id", func(t *testing.T) {
		if code, _, body := do(t, "POST", srv.url+"/1/query_results/__all__", `{}`); code != 422 {
			t.Fatalf("status %d: %s", code, body)
		}
	})
	t.Run("no key", func(t *testing.T) {
		resp, err := http.Post(srv.url+"/1/queries/__all__", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// TestQueryRoundTrip reads a created query back and checks that equal
// specs get equal ids.
func TestQueryRoundTrip(t *testing.T) {
	srv := startServer(t)
	spec := `{"calculations":[{"op":"P99","column":"duration_ms"}],"breakdowns":["name"],"time_range":3600}`
	_, _, b1 := do(t, "POST", srv.url+"/1/queries/__all__", spec)
	_, _, b2 := do(t, "POST", srv.url+"/1/queries/__all__", spec)
	var q1, q2 map[string]any
	_ = json.Unmarshal(b1, &q1)
	_ = json.Unmarshal(b2, &q2)
	if q1["id"] == nil || q1["id"] != q2["id"] {
		t.Fatalf("ids %v and %v", q1["id"], q2["id"])
	}
	code, _, b3 := do(t, "GET", srv.url+"/1/queries/__all__/"+q1["id"].(string), nil)
	if code != 200 || !bytes.Equal(bytes.TrimSpace(b1), bytes.TrimSpace(b3)) {
		t.Fatalf("GET %d %s, want %s", code, b3, b1)
	}
}

// FuzzQuerySpec posts arbitrary bodies as query specs and runs the ones
// that validate: nothing may crash or answer 5xx.
func FuzzQuerySpec(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"calculations":[{"op":"COUNT"},{"op":"P99","column":"duration_ms"}],"breakdowns":["name"],"orders":[{"op":"COUNT","order":"descending"}]}`,
		`{"calculations":[{"op":"HEATMAP","column":"duration_ms"},{"op":"CONCURRENCY"}],"granularity":60,"time_range":3600}`,
		`{"filters":[{"column":"error","op":"=","value":true},{"column":"a","op":"in","value":[1,"x",2.5]}],"filter_combination":"OR"}`,
		`{"calculations":[{"op":"RATE_AVG","column":"x"}],"havings":[{"calculate_op":"RATE_AVG","column":"x","op":">","value":1}]}`,
		`{"start_time":0,"end_time":1}`,
		`{"limit":1000,"usage_mode":true,"breakdowns":["a","b"],"orders":[{"column":"b"}]}`,
		`{"calculations":[{"op":"COUNT_DISTINCT","column":"trace.trace_id"},{"op":"MIN","column":"duration_ms","name":"fastest"}],"orders":[{"op":"fastest"}]}`,
		`{"calculated_fields":[{"name":"slow","expression":"IF(GTE($duration_ms, 500), \"slow\", \"fast\")"}],"breakdowns":["slow"],"calculations":[{"op":"HEATMAP","column":"slow"}]}`,
		`{"calculated_fields":[{"name":"i","expression":"INT(MUL($a, 1e300))"},{"name":"j","expression":"IF(IN($b, 1, \"2\"), CONCAT($name, LENGTH($b)), EVENT_TIMESTAMP())"}],"breakdowns":["i","j"],"calculations":[{"op":"SUM","column":"i"},{"op":"P50","column":"j"},{"op":"CONCURRENCY"}],"filters":[{"column":"j","op":"exists"}]}`,
		`{"calculations":[{"op":"HEATMAP","column":"b"},{"op":"COUNT_DISTINCT","column":"c"},{"op":"RATE_AVG","column":"a"}],"calculated_fields":[{"name":"c","expression":"GT($a, 10)"}],"breakdowns":["c","b"],"orders":[{"op":"RATE_AVG","column":"a","order":"descending"}],"havings":[{"calculate_op":"RATE_AVG","column":"a","op":"!=","value":0}],"time_range":3600,"granularity":4}`,
		`{"calculations":[{"op":"CONCURRENCY"},{"op":"P001","column":"name"},{"op":"AVG","column":"a"}],"breakdowns":["name"],"filters":[{"column":"a","op":"in","value":[1,"2",2.5,true]},{"column":"b","op":"not-in","value":["1"]}],"filter_combination":"OR","granularity":720}`,
		`{"calculations":[{"op":"COUNT","name":"t"},{"op":"AVG","column":"a","name":"e","filters":[{"column":"b","op":"=","value":"1"},{"column":"a","op":">","value":3}],"filter_combination":"OR"}],"formulas":[{"name":"r","expression":"DIV($e, $t)"}],"breakdowns":["name"],"orders":[{"column":"r","order":"descending"}],"havings":[{"calculate_op":"COUNT","column":"r","op":">","value":0}],"granularity":60}`,
		`[1,2]`, `null`, `{"calculations":[null]}`, `{"filters":[{"column":"x","op":"=","value":{"a":1}}]}`,
	} {
		f.Add([]byte(s))
	}
	srv := startServer(f)
	// A little data, so valid specs produce rows, heatmaps and series.
	var evs []model.Event
	for i := range 50 {
		e := model.Event{Dataset: "svc", ServiceName: "svc", Time: time.Now().Add(-time.Duration(i) * time.Minute),
			Name: fmt.Sprintf("op%d", i%3), DurationMs: float64(i), SampleRate: int64(1 + i%2), Source: model.SourceOTLP,
			Attrs: []model.Attr{{Key: "a", Value: model.Int(int64(i))}, {Key: "b", Value: model.Str(fmt.Sprint(i % 7))}}}
		e.TraceID[0], e.SpanID[0] = byte(i+1), byte(i+1)
		evs = append(evs, e)
	}
	if err := srv.store.Write(context.Background(), []store.Batch{{Env: "test", Events: evs}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, _, out := do(t, "POST", srv.url+"/1/queries/__all__", body)
		if code >= 500 {
			t.Fatalf("create query: %d %s", code, out)
		}
		if code != 200 {
			if code != 400 && code != 422 {
				t.Fatalf("create query: unexpected %d %s", code, out)
			}
			return
		}
		var q struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(out, &q)
		code, _, out = do(t, "POST", srv.url+"/1/query_results/__all__", map[string]any{"query_id": q.ID})
		if code != 201 {
			t.Fatalf("create result for %s: %d %s", body, code, out)
		}
	})
}

func TestMarkers(t *testing.T) {
	srv := startServer(t)
	// Markers belong to datasets that exist (or to __all__), as on Honeycomb.
	if code, _, body := do(t, "POST", srv.url+"/1/markers/backend-flask", `{"message":"too early"}`); code != 404 || !strings.Contains(string(body), "Dataset not found") {
		t.Fatalf("marker on a dataset that does not exist: %d %s", code, body)
	}
	if err := srv.store.Write(context.Background(), []store.Batch{{Env: "test", Events: []model.Event{{
		Dataset: "backend-flask", Time: time.Now(), Name: "GET /", ServiceName: "backend-flask", SampleRate: 1,
	}}}}); err != nil {
		t.Fatal(err)
	}
	// A marker's text is bounded (a 900 KB message once made a 72 MB markers file).
	if code, _, body := do(t, "POST", srv.url+"/1/markers/backend-flask", `{"message":"`+strings.Repeat("m", 900_000)+`"}`); code != 422 || !strings.Contains(string(body), "message: must be at most") {
		t.Fatalf("a 900 KB marker message: %d %.200s", code, body)
	}
	code, _, body := do(t, "POST", srv.url+"/1/markers/backend-flask", `{"message":"deploy 42","type":"deploy","start_time":1700000000,"url":"https://ci/42"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	id, _ := m["id"].(string)
	if id == "" || m["message"] != "deploy 42" || m["start_time"] != float64(1700000000) || m["created_at"] == nil {
		t.Fatalf("created %s", body)
	}
	if code, _, body := do(t, "POST", srv.url+"/1/markers/__all__", `{"message":"env wide"}`); code != 201 {
		t.Fatalf("create env marker: %d %s", code, body)
	}
	list := func(ds string) []map[string]any {
		code, _, body := do(t, "GET", srv.url+"/1/markers/"+ds, nil)
		if code != 200 {
			t.Fatalf("list: %d %s", code, body)
		}
		var l []map[string]any
		_ = json.Unmarshal(body, &l)
		return l
	}
	if l := list("backend-flask"); len(l) != 1 || l[0]["id"] != id {
		t.Fatalf("list = %v", l)
	}
	code, _, body = do(t, "PUT", srv.url+"/1/markers/backend-flask/"+id, `{"message":"deploy 43","start_time":1700000100,"end_time":1700000200}`)
	if code != 200 || !strings.Contains(string(body), `"deploy 43"`) || !strings.Contains(string(body), `"end_time":1700000200`) {
		t.Fatalf("update: %d %s", code, body)
	}
	if code, _, body := do(t, "PUT", srv.url+"/1/markers/backend-flask/"+id, `{"start_time":10,"end_time":5}`); code != 422 {
		t.Fatalf("bad update: %d %s", code, body)
	}
	if code, _, _ := do(t, "PUT", srv.url+"/1/markers/backend-flask/nope", `{}`); code != 404 {
		t.Fatalf("update unknown: %d", code)
	}
	if code, _, body := do(t, "POST", srv.url+"/1/markers/backend-flask", `{"start_time":"yesterday"}`); code != 422 {
		t.Fatalf("bad create: %d %s", code, body)
	}

	// Markers survive a restart: a new handler over the state store of the
	// same directory, opened again.
	states, err := state.OpenFile(srv.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer states.Close()
	mux := http.NewServeMux()
	if err := apiquery.Register(mux, apiquery.Deps{Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
		return auth.Principal{Env: "test", Legacy: true}, nil
	}), Store: srv.store, State: states}); err != nil {
		t.Fatal(err)
	}
	again := httptest.NewServer(mux)
	defer again.Close()
	code, _, body = do(t, "GET", again.URL+"/1/markers/backend-flask", nil)
	if code != 200 || !strings.Contains(string(body), `"deploy 43"`) {
		t.Fatalf("after restart: %d %s", code, body)
	}

	code, _, body = do(t, "DELETE", srv.url+"/1/markers/backend-flask/"+id, nil)
	if code != 200 || !strings.Contains(string(body), id) {
		t.Fatalf("delete: %d %s", code, body)
	}
	if l := list("backend-flask"); len(l) != 0 {
		t.Fatalf("after delete: %v", l)
	}
	if l := list("__all__"); len(l) != 1 || l[0]["message"] != "env wide" {
		t.Fatalf("env markers: %v", l)
	}
}

// TestNonFiniteResults: a calculation that overflows to infinity answers
// null, as Honeycomb does, instead of failing to encode the result.
func TestNonFiniteResults(t *testing.T) {
	srv := startServer(t)
	e := model.Event{Dataset: "svc", ServiceName: "svc", Time: time.Now().Add(-time.Minute), Name: "op", DurationMs: 5,
		SampleRate: 1, Source: model.SourceOTLP}
	e.TraceID[0], e.SpanID[0] = 1, 1
	if err := srv.store.Write(context.Background(), []store.Batch{{Env: "test", Events: []model.Event{e}}}); err != nil {
		t.Fatal(err)
	}
	r := runQuery(t, srv.url, "svc", map[string]any{
		"calculated_fields": []map[string]string{{"name": "huge", "expression": "MUL($duration_ms, 1e308, 1e308)"}},
		"calculations":      []map[string]string{{"op": "SUM", "column": "huge"}, {"op": "COUNT"}},
		"time_range":        3600,
	})
	if len(r.Data.Results) != 1 {
		t.Fatalf("results %+v", r.Data.Results)
	}
	row := r.Data.Results[0].Data
	if v, ok := row["SUM(huge)"]; !ok || v != nil || row["COUNT"] != float64(1) {
		t.Fatalf("row %v: want SUM(huge) null and COUNT 1", row)
	}
}
