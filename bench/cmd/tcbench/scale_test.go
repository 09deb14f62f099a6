package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/bench/workload"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// The bulk load writes every span of the workload, in Writes of the size
// asked, into a store tracecomb opens as its own: the environment the
// bootstrap key opens, one dataset per service, whole traces found by id,
// start times within the window.
func TestBulkLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "tracecomb.duckdb")
	sz := scaleSizes{Spans: 3000, WriteEvents: 1000, Window: time.Hour, Samples: 4}
	start := time.Now()
	f, samples, err := bulkLoad(ctx, path, sz, start, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if f.Spans != 3000 || f.Writes != 3 || f.Bytes <= 0 || f.Seconds <= 0 || f.WriteSeconds <= 0 || f.WriteSeconds > f.Seconds {
		t.Errorf("figures = %+v", f)
	}
	// 300 traces in requests of 50: 6 candidates, 4 kept.
	if len(samples) != 4 {
		t.Fatalf("%d samples, want 4", len(samples))
	}

	st, err := duckdb.Open(ctx, duckdb.Config{Path: path}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ds, err := st.Datasets(ctx, scaleEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != workload.Services {
		t.Errorf("%d datasets, want %d: %+v", len(ds), workload.Services, ds)
	}
	for _, smp := range samples {
		evs, err := st.Trace(ctx, scaleEnv, smp.TraceID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != workload.SpansPerTrace {
			t.Fatalf("trace %s: %d events, want %d", smp.TraceIDHex(), len(evs), workload.SpansPerTrace)
		}
		found := false
		for _, e := range evs {
			if e.Time.Before(start.Add(-sz.Window)) || e.Time.After(start) {
				t.Errorf("trace %s: event at %v, outside the hour before %v", smp.TraceIDHex(), e.Time, start)
			}
			if e.Dataset == smp.Service {
				v, ok := e.Get(smp.Key)
				found = found || ok && v.Str == smp.Value
			}
		}
		if !found {
			t.Errorf("trace %s: no span of %s with %s = %s", smp.TraceIDHex(), smp.Service, smp.Key, smp.Value)
		}
	}
}

// With MaxLoad the load stops after the first Write past it, and the
// samples are of traces written.
func TestBulkLoadStops(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tracecomb.duckdb")
	sz := scaleSizes{Spans: 1_000_000, WriteEvents: 1000, Window: time.Hour, Samples: 1000, MaxLoad: time.Nanosecond}
	f, samples, err := bulkLoad(ctx, path, sz, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Stopped || f.Spans != 1000 || f.Writes != 1 {
		t.Errorf("figures = %+v, want one Write of 1000 spans and Stopped", f)
	}
	if len(samples) != 2 { // 100 traces written, one candidate per 50
		t.Errorf("%d samples, want 2", len(samples))
	}
}

func TestReservoir(t *testing.T) {
	hits := make([]int, 100)
	for round := range 200 {
		r := newReservoir(10, uint64(round))
		for i := range 100 {
			r.add(workload.Sample{Service: string(rune('a' + i%26)), TraceID: [16]byte{byte(i)}})
		}
		if len(r.keep) != 10 {
			t.Fatalf("kept %d, want 10", len(r.keep))
		}
		for _, s := range r.keep {
			hits[s.TraceID[0]]++
		}
	}
	// Each item is kept in a tenth of the rounds: 20 of 200 expected.
	first, last := 0, 0
	for i := range 10 {
		first += hits[i]
		last += hits[90+i]
	}
	if first < 100 || last < 100 {
		t.Errorf("the first ten items kept %d times, the last ten %d (200 each expected): not uniform", first, last)
	}
}

func TestScaleMarkdown(t *testing.T) {
	r := &scaleReport{Sizes: scaleSizes{Spans: 1_000_000, WriteEvents: 50_000, Window: 24 * time.Hour, MemoryLimit: "256MB"},
		Versions: map[string]string{"tracecomb": "abc"}, Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Took: time.Minute,
		Load:         loadFigures{Spans: 1_000_000, Writes: 20, Seconds: 20, WriteSeconds: 12.5, CloseSeconds: 1, CPU: 30, PeakRSSMB: 700, Bytes: 90_000_000},
		StartSeconds: 0.5, From: time.Date(2026, 1, 1, 3, 3, 0, 0, time.UTC), To: time.Date(2026, 1, 2, 3, 6, 0, 0, time.UTC), NodeRSSMB: 300, DiskBytes: 96_000_000,
		ByID: []float64{2, 4, 30}, ByIDFound: 3, Search: []float64{50, 60}, SearchFound: 2, Group: []float64{900, 1200}, GroupOK: 2}
	md := scaleMarkdown(r, "cd bench && go run ./cmd/tcbench -scale")
	for _, want := range []string{scaleBegin, scaleEnd, "**1000000 spans** (100000 traces", "over the 24h before the load", "50000 events per Write",
		"| **50000** |", "| spans/s inside `Store.Write` | 80000 |", "20s (20 Writes, close 1.0 s)", "30 (1.50 cores)",
		"0.09 GB, 90.0 B/span", "0.10 GB, **96.0 B/span**", "from 2026-01-01 03:03:00 to 03:06:00 UTC (every loaded span, 24h3m)",
		"| 2 | 900 | 900 | ≤ 1000 ms | yes | 2 with 10 groups", "| 3 | 4.0 | 4.0 | ≤ 10 ms | yes | 3 found", "| 2 | 50.0 | 50.0 | ≤ 200 ms | yes | 2 with traces |", "took 1m."} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
	r.Group, r.GroupErr = nil, "result never complete"
	if md := scaleMarkdown(r, "x"); !strings.Contains(md, "| no | failed: `result never complete` |") {
		t.Errorf("a failed GROUP BY not reported:\n%s", md)
	}
}

// The measured part goes into the scale section, replacing only what its
// markers enclose; without a section, a new one goes before Retention.
func TestSpliceScale(t *testing.T) {
	m1 := scaleBegin + "\nfirst\n" + scaleEnd + "\n"
	m2 := scaleBegin + "\nsecond\n" + scaleEnd + "\n"
	md := "# B\n\n" + chHeading + "\n\nch text\n\n" + retentionHeading + "\n\nret\n"
	got := spliceScale(md, m1)
	want := "# B\n\n" + chHeading + "\n\nch text\n\n" + scaleHeading + "\n\n" + m1 + "\n" + retentionHeading + "\n\nret\n"
	if got != want {
		t.Fatalf("new section:\n%s\nwant:\n%s", got, want)
	}
	withText := strings.Replace(got, scaleHeading+"\n\n", scaleHeading+"\n\nhand text\n\n", 1)
	got = spliceScale(withText, m2)
	if want := strings.Replace(withText, "first", "second", 1); got != want {
		t.Errorf("replaced:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(keepHandSections(got, "# fresh\n\n"+retentionHeading+"\n"), "hand text\n\n"+m2) {
		t.Error("a full run does not carry the scale section over")
	}
}
