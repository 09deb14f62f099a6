package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tracecomb/tracecomb/bench/loadgen"
	"github.com/tracecomb/tracecomb/bench/workload"
)

// signalFigures are tracecomb's figures for one signal of the same spans
// in one repetition.
type signalFigures struct {
	Signal     string // "OTLP spans (…)", "Events API (…)", "OTLP logs (…)"
	ItemsPS    float64
	CPUPer100k float64
	Items      int64
	Rejected   int64
	Errored    int64
	FirstErr   string
}

// runSignals sends the same spans to tracecomb three ways (OTLP/HTTP
// traces, Honeycomb Events API batches, OTLP/HTTP logs), each to a fresh
// tracecomb, and measures items per second until stored.
func runSignals(ctx context.Context, bin string, sz sizes) ([][]signalFigures, error) {
	sig, err := workload.New(11).SignalBatches(sz.SignalSpans, sz.TracesPerBatch)
	if err != nil {
		return nil, err
	}
	// Each signal is sent as its usual client sends it: OTLP exporters with
	// the harness's concurrency; libhoney in batches of 50 events per
	// dataset with up to 80 batches in flight (its defaults), and, for
	// comparison, with the OTLP senders' concurrency too.
	kinds := []struct {
		name        string
		batches     []workload.Batch
		concurrency int
	}{
		{fmt.Sprintf("OTLP spans (/v1/traces, %d in flight)", sz.Concurrency), sig.Traces, sz.Concurrency},
		{"Events API (/1/batch, JSON, 80 in flight as libhoney sends)", sig.Events, libhoneyInFlight},
		{fmt.Sprintf("Events API (/1/batch, JSON, %d in flight)", sz.Concurrency), sig.Events, sz.Concurrency},
		{fmt.Sprintf("OTLP logs (/v1/logs, %d in flight)", sz.Concurrency), sig.Logs, sz.Concurrency},
	}
	var reps [][]signalFigures
	for r := 0; r < sz.Reps; r++ {
		var rep []signalFigures
		for _, k := range kinds {
			dir, err := os.MkdirTemp("", "tcbench-signals-")
			if err != nil {
				return reps, err
			}
			s, err := startTracecomb(ctx, bin, dir)
			if err != nil {
				return reps, err
			}
			f, err := runSignal(ctx, s, k.name, k.batches, k.concurrency)
			s.stop() //nolint:errcheck // figures are taken
			os.RemoveAll(dir)
			if err != nil {
				return reps, fmt.Errorf("%s: %w", k.name, err)
			}
			log.Printf("signals rep %d: %s: %.0f items/s until stored, %.2f CPU s/100k", r+1, k.name, f.ItemsPS, f.CPUPer100k)
			rep = append(rep, f)
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// libhoneyInFlight is libhoney's default MaxConcurrentBatches.
const libhoneyInFlight = 80

func runSignal(ctx context.Context, s *server, name string, batches []workload.Batch, concurrency int) (signalFigures, error) {
	f := signalFigures{Signal: name}
	exp := loadgen.NewHTTP(s.otlpHTTP, s.headers)
	defer exp.Close()
	cpu0 := cpuSeconds(s.pid())
	t0 := time.Now()
	res := loadgen.Run(ctx, exp, batches, loadgen.Config{Concurrency: concurrency})
	if res.FirstErr != nil {
		f.FirstErr = res.FirstErr.Error()
	}
	f.Rejected, f.Errored = res.Rejected, res.Errored
	if res.Accepted == 0 {
		return f, fmt.Errorf("nothing accepted (%s)", f.FirstErr)
	}
	stored, err := waitStored(ctx, s, res.Accepted, 120*time.Second)
	if err != nil {
		return f, err
	}
	f.ItemsPS = float64(res.Accepted) / time.Since(t0).Seconds()
	f.Items = stored
	f.CPUPer100k = (cpuSeconds(s.pid()) - cpu0) / float64(stored) * 1e5
	return f, nil
}

// medianSignal is the median figure of signal i over the repetitions.
func medianSignal(reps [][]signalFigures, i int, get func(signalFigures) float64) float64 {
	var xs []float64
	for _, rep := range reps {
		if i < len(rep) {
			xs = append(xs, get(rep[i]))
		}
	}
	return median(xs)
}
