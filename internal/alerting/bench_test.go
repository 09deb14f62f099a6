package alerting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/alerting"
	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// benchSpans is the number of spans BenchmarkTriggers loads: 200,000, or
// TRACECOMB_TRIGGER_BENCH_SPANS (docs/benchmarks.md gives 10,000,000).
func benchSpans(b *testing.B) int {
	n := 200_000
	if s := os.Getenv("TRACECOMB_TRIGGER_BENCH_SPANS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("TRACECOMB_TRIGGER_BENCH_SPANS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTriggers evaluates 1,000 enabled triggers of frequency 60 s
// (the shortest Honeycomb allows; time ranges of 1 to 4 minutes) over a store of benchSpans spans spread
// over the last 24 hours of 20 services; one iteration is one minute of
// the scheduler: every trigger runs once. It reports the process's CPU
// seconds per minute (cpu-s/min; 60 would be one core busy), the wall
// time of a minute's evaluations and the spans the triggers' time ranges
// hold (spans-in-range/min, what the store reads at most).
func BenchmarkTriggers(b *testing.B) {
	ctx := context.Background()
	n := benchSpans(b)
	dir := b.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "tracecomb.duckdb")}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	const services = 20
	routes := []string{"GET /", "GET /api/activities/home", "POST /api/activities", "GET /api/messages", "GET /health"}
	batch := make([]model.Event, 0, 10_000)
	for i := range n {
		svc := fmt.Sprintf("svc-%02d", i%services)
		// In time order, as ingest writes them (a second of jitter).
		at := now.Add(-24 * time.Hour).Add(time.Duration(int64(24*time.Hour) / int64(n) * int64(i))).Add(-time.Duration(rng.Int64N(int64(time.Second))))
		e := model.Event{Dataset: svc, ServiceName: svc, Time: at,
			Name: routes[rng.IntN(len(routes))], DurationMs: rng.ExpFloat64() * 50, SpanKind: "server", SampleRate: 1,
			Error: rng.IntN(100) == 0, Source: model.SourceOTLP,
			Attrs: []model.Attr{{Key: "http.status_code", Value: model.Int(int64(200 + 300*rng.IntN(2)))}, {Key: "service.name", Value: model.Str(svc)}}}
		e.TraceID[0], e.TraceID[8], e.SpanID[0] = byte(i), byte(i>>8), byte(i>>16)
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.Write(ctx, []store.Batch{{Env: "bench", Events: batch}}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	ss := state.NewMemory()
	defer ss.Close()
	clk := &clock{now: now}
	mux := http.NewServeMux()
	err = apiquery.Register(mux, apiquery.Deps{
		Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
			return auth.Principal{Env: "bench", Legacy: true}, nil
		}),
		Store: st, State: ss, Now: clk.Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	create := func(path string, body any) map[string]any {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(buf))
		req.Header.Set("X-Honeycomb-Team", "key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	rc := create("/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "hook", "webhook_url": hook.URL}})
	// A mix of what teams alert on, each over its own service.
	var inRange int64
	for i := range 1000 {
		svc := fmt.Sprintf("svc-%02d", i%services)
		rangeS := []int{60, 120, 180, 240}[i%4] // at most 4 × the frequency
		var q map[string]any
		switch i % 4 {
		case 0:
			q = map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}}
		case 1:
			q = map[string]any{"calculations": []any{map[string]any{"op": "P99", "column": "duration_ms"}}, "breakdowns": []string{"name"}}
		case 2:
			q = map[string]any{"calculations": []any{map[string]any{"op": "AVG", "column": "duration_ms"}}, "filters": []any{map[string]any{"column": "name", "op": "=", "value": routes[i%len(routes)]}}}
		default:
			q = map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": []any{map[string]any{"column": "http.status_code", "op": ">=", "value": 500}}, "breakdowns": []string{"name"}}
		}
		q["time_range"] = rangeS
		tr := create("/1/triggers/"+svc, map[string]any{"name": fmt.Sprintf("trigger %d", i), "query": q, "frequency": 60,
			"threshold": map[string]any{"op": ">", "value": 1e9}, "recipients": []any{map[string]any{"id": rc["id"]}}})
		if tr["id"] == nil {
			b.Fatalf("trigger %d not created: %v", i, tr)
		}
		inRange += int64(n) / services * int64(rangeS) / 86400
	}
	e, err := alerting.New(alerting.Config{Now: clk.Now, Holder: "bench"}, st, ss)
	if err != nil {
		b.Fatal(err)
	}
	e.Tick(ctx) // every trigger's first evaluation: warms the store's caches
	b.ResetTimer()
	cpu0, wall0 := cpuTime(), time.Now()
	minutes := 0
	for b.Loop() {
		clk.Add(time.Minute) // every trigger is due
		e.Tick(ctx)
		minutes++
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	b.ReportMetric(cpu.Seconds()/float64(minutes), "cpu-s/min")
	b.ReportMetric(float64(wall.Milliseconds())/float64(minutes), "wall-ms/min")
	b.ReportMetric(float64(inRange), "spans-in-range/min")
}
