package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/tracecomb/tracecomb/bench/loadgen"
	"github.com/tracecomb/tracecomb/bench/workload"
)

// runFigures are the measurements of one system in one repetition.
type runFigures struct {
	System       string
	HTTPSpansPS  float64 // OTLP/HTTP spans/s, until stored
	GRPCSpansPS  float64 // OTLP/gRPC spans/s, until stored
	DoorSpansPS  float64 // OTLP/HTTP spans/s the door accepted (not waiting for storage)
	CPUPer100k   float64
	PeakRSSMB    float64
	DiskPerSpan  float64 // allocated bytes / stored spans; 0 for memory
	DiskApparent float64
	Spans        int64 // stored
	Rejected     int64
	Errored      int64
	Pushbacks    int64
	ByIDP50      float64 // ms
	ByIDP99      float64
	ByIDFound    int
	ByIDTotal    int
	SearchP50    float64
	SearchP99    float64
	SearchFound  int
	SearchTotal  int
	SearchNote   string
	Timeline     []int64
	Tick         time.Duration
	FirstErr     string
}

type sizes struct {
	HTTPSpans, GRPCSpans int
	// SliceSpans: the HTTP and gRPC spans are sent in slices of about this
	// many, interleaved (see interleave).
	SliceSpans        int
	Reps              int
	Lookups, Searches int
	XRayRates         []float64
	XRayStep          time.Duration
	Concurrency       int
	TracesPerBatch    int
	SignalSpans       int // spans sent as each signal by runSignals
}

// workloadSet is the encoded workload, the same bytes for every system.
type workloadSet struct {
	http, grpc []workload.Batch
	samples    []workload.Sample
}

func makeWorkload(sz sizes) (*workloadSet, error) {
	g := workload.New(42)
	h, s1, err := g.Batches(sz.HTTPSpans, sz.TracesPerBatch)
	if err != nil {
		return nil, err
	}
	gr, s2, err := g.Batches(sz.GRPCSpans, sz.TracesPerBatch)
	if err != nil {
		return nil, err
	}
	return &workloadSet{http: h, grpc: gr, samples: append(s1, s2...)}, nil
}

func sumSpans(bs []workload.Batch) (n int64) {
	for _, b := range bs {
		n += int64(b.Spans)
	}
	return n
}

// waitStored polls until the server reports want spans stored.
func waitStored(ctx context.Context, s *server, want int64, limit time.Duration) (int64, error) {
	deadline := time.Now().Add(limit)
	var n int64
	var err error
	for time.Now().Before(deadline) {
		n, err = s.stored(ctx)
		if err == nil && n >= want {
			return n, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n, fmt.Errorf("%s: %d of %d spans stored after %s (%v)", s.name, n, want, limit, err)
}

func runSystem(ctx context.Context, s *server, w *workloadSet, sz sizes) (runFigures, error) {
	f := runFigures{System: s.name, Tick: time.Second}
	hexp := loadgen.NewHTTP(s.otlpHTTP, s.headers)
	defer hexp.Close()
	gexp, err := loadgen.NewGRPC(s.otlpGRPC, s.headers)
	if err != nil {
		return f, err
	}
	defer gexp.Close()
	cfg := loadgen.Config{Concurrency: sz.Concurrency, Tick: f.Tick}

	cpu0 := cpuSeconds(s.pid())
	var (
		stored    int64
		acc       [2]int64         // spans accepted over HTTP, gRPC
		took      [2]time.Duration // see interleave
		doorHTTP  time.Duration    // HTTP sending time only
		firstErrs [2]error
	)
	// One request over each protocol before the clock starts: the first
	// requests pay for the connections and for creating the dataset and
	// its columns, which would fall on whichever protocol came first.
	var warm int64
	hb, gb := w.http, w.grpc
	for _, wu := range []struct {
		exp     loadgen.Exporter
		batches *[]workload.Batch
	}{{hexp, &hb}, {gexp, &gb}} {
		if len(*wu.batches) == 0 {
			continue
		}
		r := loadgen.Run(ctx, wu.exp, (*wu.batches)[:1], loadgen.Config{Concurrency: 1})
		*wu.batches = (*wu.batches)[1:]
		warm += r.Accepted
		f.Rejected, f.Errored, f.Pushbacks = f.Rejected+r.Rejected, f.Errored+r.Errored, f.Pushbacks+r.Pushbacks
		if r.FirstErr != nil && f.FirstErr == "" {
			f.FirstErr = r.FirstErr.Error()
		}
	}
	cfg.Origin = time.Now()
	order := interleave(hb, gb, sz.SliceSpans)
	for i, sl := range order {
		exp, p := loadgen.Exporter(hexp), 0
		if sl.grpc {
			exp, p = gexp, 1
		}
		t0 := time.Now()
		r := loadgen.Run(ctx, exp, sl.batches, cfg)
		acc[p] += r.Accepted
		if i == len(order)-1 {
			stored, err = waitStored(ctx, s, warm+acc[0]+acc[1], 120*time.Second)
			if err != nil {
				return f, err
			}
		}
		took[p] += time.Since(t0)
		if !sl.grpc {
			doorHTTP += r.Elapsed
		}
		f.Timeline = addTimeline(f.Timeline, r.Timeline)
		f.Rejected, f.Errored, f.Pushbacks = f.Rejected+r.Rejected, f.Errored+r.Errored, f.Pushbacks+r.Pushbacks
		if firstErrs[p] == nil {
			firstErrs[p] = r.FirstErr
		}
	}
	if len(order) == 0 {
		if stored, err = waitStored(ctx, s, warm, 120*time.Second); err != nil {
			return f, err
		}
	}
	f.HTTPSpansPS, f.GRPCSpansPS, f.DoorSpansPS = perSecond(acc[0], took[0]), perSecond(acc[1], took[1]), perSecond(acc[0], doorHTTP)
	cpu := cpuSeconds(s.pid()) - cpu0
	f.Spans = stored
	f.CPUPer100k = cpu / float64(stored) * 1e5
	for _, e := range firstErrs {
		if e != nil && f.FirstErr == "" {
			f.FirstErr = e.Error()
		}
	}

	// Lookups: evenly spread over the samples.
	var lat []float64
	cl := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < sz.Lookups; i++ {
		smp := w.samples[i*len(w.samples)/sz.Lookups]
		start := time.Now()
		ok, err := getTrace(ctx, cl, s, smp.TraceIDHex())
		if err != nil {
			return f, err
		}
		lat = append(lat, ms(time.Since(start)))
		if ok {
			f.ByIDFound++
		}
	}
	f.ByIDTotal = len(lat)
	f.ByIDP50, f.ByIDP99 = pct(lat, 50), pct(lat, 99)

	lat = lat[:0]
	for i := 0; i < sz.Searches; i++ {
		smp := w.samples[(i*len(w.samples)/sz.Searches+len(w.samples)/(2*sz.Searches))%len(w.samples)]
		start := time.Now()
		found, note, err := search(ctx, cl, s, smp)
		if err != nil {
			return f, err
		}
		if note != "" {
			f.SearchNote = note
			break
		}
		lat = append(lat, ms(time.Since(start)))
		if found {
			f.SearchFound++
		}
	}
	f.SearchTotal = len(lat)
	f.SearchP50, f.SearchP99 = pct(lat, 50), pct(lat, 99)

	f.PeakRSSMB = float64(statusKB(s.pid(), "VmHWM")) / 1024
	if err := s.stop(); err != nil {
		return f, fmt.Errorf("%s stop: %w", s.name, err)
	}
	if s.dataDir != "" {
		alloc, app := diskBytes(s.dataDir)
		f.DiskPerSpan = float64(alloc) / float64(f.Spans)
		f.DiskApparent = float64(app) / float64(f.Spans)
	}
	return f, nil
}

// ingestSlice is consecutive batches sent over one protocol.
type ingestSlice struct {
	grpc    bool
	batches []workload.Batch
}

// interleave cuts the HTTP and gRPC batches into slices of about
// sliceSpans spans each and orders them so that either protocol's slices
// are spread evenly over the ingest (the k-th of n at (k+½)/n of it). The
// store grows while it ingests, and a larger store commits more slowly
// (DuckDB also checkpoints inside the commit that takes its WAL past
// 64 MB, about every 140,000 spans here, and the checkpoint takes longer
// as the file grows): sent one protocol after the other, the second would
// be measured on the larger store, with the costlier checkpoints.
//
// A slice's time runs from its first request until the next slice's first
// request, the last slice's until every span is stored: the next slice
// starts as soon as the last request of one is answered, without waiting
// for a server that answers before storing (Jaeger's batch processor holds
// the last spans up to 200 ms) to store it. Slices at least as large as
// either protocol's spans send the HTTP batches, then the gRPC ones.
func interleave(http, grpc []workload.Batch, sliceSpans int) []ingestSlice {
	cut := func(bs []workload.Batch, isGRPC bool) []ingestSlice {
		var out []ingestSlice
		for len(bs) > 0 {
			n, spans := 0, 0
			for n < len(bs) && (n == 0 || spans+bs[n].Spans <= sliceSpans) {
				spans += bs[n].Spans
				n++
			}
			out = append(out, ingestSlice{grpc: isGRPC, batches: bs[:n]})
			bs = bs[n:]
		}
		return out
	}
	h, g := cut(http, false), cut(grpc, true)
	out := make([]ingestSlice, 0, len(h)+len(g))
	for i, j := 0, 0; i < len(h) || j < len(g); {
		// Take gRPC's next slice when its position, (j+½)/len(g), comes
		// before HTTP's, (i+½)/len(h).
		if j < len(g) && (i == len(h) || (2*j+1)*len(h) < (2*i+1)*len(g)) {
			out = append(out, g[j])
			j++
		} else {
			out = append(out, h[i])
			i++
		}
	}
	return out
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// addTimeline adds b's buckets to a's (both from the same origin).
func addTimeline(a, b []int64) []int64 {
	for len(a) < len(b) {
		a = append(a, 0)
	}
	for i, n := range b {
		a[i] += n
	}
	return a
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func get(ctx context.Context, cl *http.Client, u string, hdr map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func post(ctx context.Context, cl *http.Client, u string, hdr map[string]string, body any) (int, http.Header, []byte, error) {
	jb, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(jb))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// getTrace fetches a trace by id; ok reports that it came back with its
// spans.
func getTrace(ctx context.Context, cl *http.Client, s *server, id string) (bool, error) {
	code, body, err := get(ctx, cl, s.query+"/api/traces/"+id, s.headers)
	if err != nil {
		return false, err
	}
	if code == http.StatusNotFound {
		return false, nil
	}
	if code != http.StatusOK {
		return false, fmt.Errorf("%s GET /api/traces/%s: %d %.200s", s.name, id, code, body)
	}
	// Both answer JSON that names every span id; count span ids loosely.
	return bytes.Count(body, []byte(`"spanID"`))+bytes.Count(body, []byte(`"span_id"`))+
		bytes.Count(body, []byte(`"trace.span_id"`)) >= workload.SpansPerTrace, nil
}

// search finds traces of a service with an attribute value. A non-empty
// note says the API is not there.
func search(ctx context.Context, cl *http.Client, s *server, smp workload.Sample) (bool, string, error) {
	if s.name == "tracecomb" {
		return searchTracecomb(ctx, cl, s, smp)
	}
	now := time.Now()
	q := url.Values{}
	q.Set("service", smp.Service)
	q.Set("tags", fmt.Sprintf(`{%q:%q}`, smp.Key, smp.Value))
	q.Set("limit", "20")
	q.Set("start", fmt.Sprint(now.Add(-2*time.Hour).UnixMicro()))
	q.Set("end", fmt.Sprint(now.Add(time.Minute).UnixMicro()))
	code, body, err := get(ctx, cl, s.query+"/api/traces?"+q.Encode(), nil)
	if err != nil {
		return false, "", err
	}
	if code != http.StatusOK {
		return false, "", fmt.Errorf("%s search: %d %.200s", s.name, code, body)
	}
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(body, &out)
	return len(out.Data) > 0, "", nil
}

// searchTracecomb runs the search as a Honeycomb Query Data API client
// does: create the query, create its result, read the result.
func searchTracecomb(ctx context.Context, cl *http.Client, s *server, smp workload.Sample) (bool, string, error) {
	spec := map[string]any{
		"breakdowns":   []string{"trace.trace_id"},
		"calculations": []map[string]any{{"op": "COUNT"}},
		"filters": []map[string]any{
			{"column": "service.name", "op": "=", "value": smp.Service},
			{"column": smp.Key, "op": "=", "value": smp.Value},
		},
		"time_range": 7200,
		"limit":      20,
	}
	rows, note, err := honeycombQuery(ctx, cl, s, spec)
	return len(rows) > 0, note, err
}

// honeycombQuery runs spec through the Query Data API (create the query,
// create its result, poll the result until complete) and returns the
// result's rows, each the "data" object of one group. A non-empty note
// says the API is not there.
func honeycombQuery(ctx context.Context, cl *http.Client, s *server, spec map[string]any) ([]map[string]any, string, error) {
	code, _, body, err := post(ctx, cl, s.query+"/1/queries/__all__", s.headers, spec)
	if err != nil {
		return nil, "", err
	}
	if code == http.StatusNotFound && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return nil, "Query Data API not served by this build", nil
	}
	if code != http.StatusOK {
		return nil, "", fmt.Errorf("create query: %d %.300s", code, body)
	}
	var q struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &q); err != nil || q.ID == "" {
		return nil, "", fmt.Errorf("create query: %.300s", body)
	}
	code, hdr, body, err := post(ctx, cl, s.query+"/1/query_results/__all__", s.headers, map[string]any{"query_id": q.ID, "disable_series": true})
	if err != nil {
		return nil, "", err
	}
	if code != http.StatusCreated && code != http.StatusOK {
		return nil, "", fmt.Errorf("create result: %d %.300s", code, body)
	}
	loc := hdr.Get("Location")
	var res struct {
		ID       string `json:"id"`
		Complete bool   `json:"complete"`
	}
	_ = json.Unmarshal(body, &res)
	if loc == "" {
		loc = "/1/query_results/__all__/" + res.ID
	}
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); {
		code, body, err = get(ctx, cl, s.query+loc, s.headers)
		if err != nil {
			return nil, "", err
		}
		if code != http.StatusOK {
			return nil, "", fmt.Errorf("get result: %d %.300s", code, body)
		}
		var out struct {
			Complete bool `json:"complete"`
			Data     struct {
				Results []struct {
					Data map[string]any `json:"data"`
				} `json:"results"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &out)
		if out.Complete {
			rows := make([]map[string]any, 0, len(out.Data.Results))
			for _, r := range out.Data.Results {
				rows = append(rows, r.Data)
			}
			return rows, "", nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("result never complete")
}

// xrayStep is one rate of the X-Ray UDP ramp.
type xrayStep struct {
	Rate           float64
	Sent, Received int64
	Dropped        int64 // tracecomb_xray_segments_dropped_total: received, not queued
	Stored         int64
	ReceivedAll    bool // every datagram received and none dropped
	StoredAll      bool
}

// runXRay ramps the datagram rate against a fresh tracecomb and reports
// each step.
func runXRay(ctx context.Context, bin string, sz sizes) ([]xrayStep, error) {
	dir, err := os.MkdirTemp("", "tcbench-xray-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s, err := startTracecomb(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	defer s.stop() //nolint:errcheck
	g := workload.New(7)
	var steps []xrayStep
	var recv0, stored0, dropped0 int64
	for _, rate := range sz.XRayRates {
		n := int(rate * sz.XRayStep.Seconds())
		sent, err := loadgen.SendUDP(ctx, s.xray, rate, n, g.XRaySegment)
		if err != nil {
			return steps, err
		}
		st := xrayStep{Rate: rate, Sent: int64(sent)}
		// Let the door drain, then read the counters.
		deadline := time.Now().Add(5 * time.Second)
		for {
			r, err := scrape(ctx, s.metrics, "tracecomb_xray_segments_received_total")
			if err != nil {
				return steps, err
			}
			st.Received = r - recv0
			if st.Received >= st.Sent || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		d, err := scrape(ctx, s.metrics, "tracecomb_xray_segments_dropped_total")
		if err != nil {
			return steps, err
		}
		st.Dropped = d - dropped0
		dropped0 = d
		deadline = time.Now().Add(20 * time.Second)
		for {
			n, err := s.stored(ctx)
			if err != nil {
				return steps, err
			}
			st.Stored = n - stored0
			if st.Stored >= st.Received || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		recv0 += st.Received
		stored0 += st.Stored
		st.ReceivedAll = st.Received >= st.Sent && st.Dropped == 0
		st.StoredAll = st.Stored >= st.Received
		steps = append(steps, st)
		if !st.ReceivedAll || !st.StoredAll {
			break
		}
	}
	return steps, nil
}
