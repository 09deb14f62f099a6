// Package loadgen drives the Cruddur API for benchmarks: a weighted mix of
// every route (including some bad input), sent at a fixed rate (open loop)
// or as fast as the workers go (closed loop), for a duration or a number of
// requests, and a report of what was sent: requests by route and status,
// transport errors, and latency percentiles.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Request is one kind of request of the mix.
type Request struct {
	Route  string // label in the report: "GET /api/activities/{handle}"
	Method string
	Path   string
	Body   string // JSON; empty for none
	Weight int
}

// DefaultMix is every route of the API, weighted roughly as a feed is
// used, with a little bad input (unknown handle, blank message).
func DefaultMix() []Request {
	return []Request{
		{"GET /api/activities/home", "GET", "/api/activities/home", "", 30},
		{"GET /api/activities/notifications", "GET", "/api/activities/notifications", "", 5},
		{"GET /api/activities/{handle}", "GET", "/api/activities/@andrewbrown", "", 10},
		{"GET /api/activities/{handle}", "GET", "/api/activities/@worf", "", 5},
		{"GET /api/activities/{handle}", "GET", "/api/activities/@nobody", "", 2},
		{"GET /api/activities/search", "GET", "/api/activities/search?term=cloud", "", 5},
		{"POST /api/activities", "POST", "/api/activities", `{"message":"Cloud is fun!","ttl":"7-days"}`, 5},
		{"POST /api/activities", "POST", "/api/activities", `{"message":"","ttl":"7-days"}`, 2},
		{"POST /api/activities/{uuid}/reply", "POST", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee/reply", `{"message":"This post has no honor!"}`, 3},
		{"GET /api/message_groups", "GET", "/api/message_groups", "", 5},
		{"GET /api/messages/{handle}", "GET", "/api/messages/@worf", "", 5},
		{"POST /api/messages", "POST", "/api/messages", `{"message":"Qapla'","user_receiver_handle":"worf"}`, 3},
	}
}

// Config says how hard and how long to drive the API.
type Config struct {
	BaseURL     string        // e.g. http://127.0.0.1:4567
	Rate        float64       // requests per second; 0 = closed loop, as fast as Concurrency allows
	Concurrency int           // workers (requests in flight at most)
	Duration    time.Duration // stop after this long (0 = until Requests or ctx)
	Requests    int           // stop after this many requests (0 = no limit)
	Timeout     time.Duration // per request
	Mix         []Request     // DefaultMix when nil
	Header      http.Header   // added to every request (e.g. Origin)
}

// DefaultConfig is 50 requests per second by 4 workers for 10 seconds.
func DefaultConfig() Config {
	return Config{
		BaseURL:     "http://127.0.0.1:4567",
		Rate:        50,
		Concurrency: 4,
		Duration:    10 * time.Second,
		Timeout:     10 * time.Second,
	}
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, fmt.Errorf("base URL %q is not http(s)", c.BaseURL))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("rate must not be negative"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("concurrency must be at least 1"))
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		errs = append(errs, errors.New("give a duration or a number of requests"))
	}
	for _, r := range c.Mix {
		if r.Weight < 0 {
			errs = append(errs, fmt.Errorf("negative weight for %s", r.Path))
		}
	}
	return errors.Join(errs...)
}

// schedule expands the mix's weights into the order requests are sent in,
// interleaved so that a short run still sees every kind.
func schedule(mix []Request) []int {
	left := make([]int, len(mix))
	total := 0
	for i, r := range mix {
		left[i] = r.Weight
		total += r.Weight
	}
	out := make([]int, 0, total)
	for len(out) < total {
		for i := range mix {
			if left[i] > 0 {
				out = append(out, i)
				left[i]--
			}
		}
	}
	return out
}

// Run drives the API until the duration, the request count or ctx ends,
// and returns what was sent. client nil means a client of its own.
func Run(ctx context.Context, cfg Config, client *http.Client) (*Report, error) {
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	order := schedule(cfg.Mix)
	if len(order) == 0 {
		return nil, errors.New("the mix is empty")
	}
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}
	if cfg.Timeout > 0 {
		c := *client
		c.Timeout = cfg.Timeout
		client = &c
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}

	rep := newReport()
	jobs := make(chan int, cfg.Concurrency)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for i := range jobs {
				rq := cfg.Mix[order[i%len(order)]]
				status, d, err := send(ctx, client, cfg, rq)
				rep.add(rq.Route, status, d, err)
			}
		})
	}

	start := time.Now()
	missed := 0
	for i := 0; cfg.Requests <= 0 || i < cfg.Requests; i++ {
		if ctx.Err() != nil {
			break
		}
		if cfg.Rate > 0 {
			// Open loop: request i is due at start + i/rate; when every
			// worker is busy it is counted as missed, not queued.
			due := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
			if cfg.Duration > 0 && due.Sub(start) >= cfg.Duration {
				break
			}
			if wait := time.Until(due); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C:
				}
				if ctx.Err() != nil {
					break
				}
			}
			select {
			case jobs <- i:
			default:
				missed++
			}
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.Missed = missed
	rep.TargetRate = cfg.Rate
	rep.Concurrency = cfg.Concurrency
	return rep, nil
}

func send(ctx context.Context, client *http.Client, cfg Config, rq Request) (int, time.Duration, error) {
	var body io.Reader
	if rq.Body != "" {
		body = strings.NewReader(rq.Body)
	}
	// Requests already started finish even when the run's time is up.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), rq.Method, strings.TrimSuffix(cfg.BaseURL, "/")+rq.Path, body)
	if err != nil {
		return 0, 0, err
	}
	for k, vs := range cfg.Header {
		req.Header[k] = vs
	}
	if rq.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, time.Since(t0), err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, time.Since(t0), err
}

// Report is what a run sent.
type Report struct {
	Sent        int           `json:"sent"`
	Errors      int           `json:"transport_errors"`
	Missed      int           `json:"missed"` // open loop: due while every worker was busy
	Elapsed     time.Duration `json:"elapsed_ns"`
	TargetRate  float64       `json:"target_rate"`
	Concurrency int           `json:"concurrency"`
	// Counts is requests by route and status ("0" for a transport error).
	Counts map[string]map[string]int `json:"counts"`
	// Latency is percentiles per route and "all", in milliseconds.
	Latency map[string]Percentiles `json:"latency_ms"`

	mu        sync.Mutex
	durations map[string][]time.Duration
	errSample string
}

// Percentiles of a route's latencies, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func newReport() *Report {
	return &Report{Counts: map[string]map[string]int{}, Latency: map[string]Percentiles{}, durations: map[string][]time.Duration{}}
}

func (r *Report) add(route string, status int, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Sent++
	if r.Counts[route] == nil {
		r.Counts[route] = map[string]int{}
	}
	r.Counts[route][fmt.Sprint(status)]++
	if err != nil {
		r.Errors++
		if r.errSample == "" {
			r.errSample = err.Error()
		}
		return
	}
	r.durations[route] = append(r.durations[route], d)
	r.durations["all"] = append(r.durations["all"], d)
}

// finish computes the percentiles once the run is over.
func (r *Report) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for route, ds := range r.durations {
		r.Latency[route] = percentiles(ds)
	}
}

// percentiles by nearest rank.
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999999) - 1
		i = max(0, min(i, len(s)-1))
		return float64(s[i]) / float64(time.Millisecond)
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1)}
}

// WriteText prints the report as a table.
func (r *Report) WriteText(w io.Writer) {
	r.finish()
	secs := r.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(r.Sent) / secs
	}
	fmt.Fprintf(w, "sent %d requests in %.2fs (%.1f/s; target %s, %d workers), %d transport errors, %d missed\n",
		r.Sent, secs, rate, targetText(r.TargetRate), r.Concurrency, r.Errors, r.Missed)
	if r.errSample != "" {
		fmt.Fprintf(w, "first transport error: %s\n", r.errSample)
	}
	fmt.Fprintf(w, "%-40s %-22s %9s %9s %9s %9s\n", "route", "status: count", "p50 ms", "p90 ms", "p99 ms", "max ms")
	routes := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		routes = append(routes, k)
	}
	slices.Sort(routes)
	for _, route := range routes {
		var parts []string
		statuses := make([]string, 0, len(r.Counts[route]))
		for s := range r.Counts[route] {
			statuses = append(statuses, s)
		}
		slices.Sort(statuses)
		for _, s := range statuses {
			parts = append(parts, fmt.Sprintf("%s:%d", s, r.Counts[route][s]))
		}
		p := r.Latency[route]
		fmt.Fprintf(w, "%-40s %-22s %9.2f %9.2f %9.2f %9.2f\n", route, strings.Join(parts, " "), p.P50, p.P90, p.P99, p.Max)
	}
	p := r.Latency["all"]
	fmt.Fprintf(w, "%-40s %-22s %9.2f %9.2f %9.2f %9.2f\n", "all", fmt.Sprint(r.Sent), p.P50, p.P90, p.P99, p.Max)
}

// WriteJSON prints the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	r.finish()
	r.mu.Lock()
	defer r.mu.Unlock()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func targetText(rate float64) string {
	if rate <= 0 {
		return "closed loop"
	}
	return fmt.Sprintf("%g/s", rate)
}
