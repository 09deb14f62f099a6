package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/bench/workload"
)

func TestMedianAndPercentile(t *testing.T) {
	tests := []struct {
		in       []float64
		med, p99 float64
	}{
		{nil, 0, 0},
		{[]float64{3}, 3, 3},
		{[]float64{5, 1, 3}, 3, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 3},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.med {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.med)
		}
		if got := pct(tt.in, 99); got != tt.p99 {
			t.Errorf("pct(%v, 99) = %v, want %v", tt.in, got, tt.p99)
		}
	}
}

func TestScrape(t *testing.T) {
	body := `# HELP tracecomb_events_stored_total x
# TYPE tracecomb_events_stored_total counter
tracecomb_events_stored_total 1234
tracecomb_events_stored_totalx 99
otelcol_exporter_sent_spans_total{exporter="a",service_name="jaeger v2"} 10
otelcol_exporter_sent_spans_total{exporter="b"} 5
otelcol_exporter_sent_spans_bytes 7
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	tests := []struct {
		prefix string
		want   int64
	}{
		{"tracecomb_events_stored_total", 1234},
		{"otelcol_exporter_sent_spans", 15},
		{"missing_metric", 0},
	}
	for _, tt := range tests {
		got, err := scrape(context.Background(), srv.URL, tt.prefix)
		if err != nil || got != tt.want {
			t.Errorf("scrape(%s) = %d, %v; want %d", tt.prefix, got, err, tt.want)
		}
	}
}

func TestProcReaders(t *testing.T) {
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	if c := cpuSeconds(os.Getpid()); c <= 0 {
		t.Errorf("cpuSeconds of self = %v", c)
	}
	if kb := statusKB(os.Getpid(), "VmHWM"); kb <= 0 {
		t.Errorf("VmHWM of self = %d", kb)
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/f", make([]byte, 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	if alloc, app := diskBytes(dir); app != 10000 || alloc < 4096 {
		t.Errorf("diskBytes = %d, %d", alloc, app)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{7, 10}, {12, 20}, {2100, 2500}, {40000, 50000}, {100, 100}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestReportRendersEveryFigure(t *testing.T) {
	r := &report{Sizes: sizes{Reps: 1, XRayStep: time.Second}, Runs: map[string][]runFigures{}, Versions: map[string]string{"jaeger": "v1.76.0"}}
	for i, s := range allSystems {
		r.Runs[s] = []runFigures{{System: s, HTTPSpansPS: float64(1000 * (i + 1)), ByIDP50: 2, Tick: time.Second, Timeline: []int64{10, 20}}}
	}
	r.XRay = []xrayStep{{Rate: 1000, Sent: 10, Received: 10, Stored: 10, ReceivedAll: true, StoredAll: true}}
	r.Signals = [][]signalFigures{{{Signal: "OTLP spans", ItemsPS: 40000, CPUPer100k: 2}, {Signal: "Events API", ItemsPS: 34000, CPUPer100k: 3}, {Signal: "Events API (4)", ItemsPS: 10000}, {Signal: "OTLP logs", ItemsPS: 20000}}}
	md := markdown(r, "bench/throughput.svg")
	for _, want := range []string{"| ingest OTLP/HTTP (until stored) | spans/s | 1000 | 2000 | 3000 | 0.50 | 0.33 |", "v1.76.0", "Highest lossless rate: 1000",
		"| Events API | 34000 | 0.85 | 3.00 |", "| OTLP logs | 20000 | 0.50 | n/a |", "| Events API events/s within 20% of OTLP spans/s | 0.85× |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	svg := throughputSVG(r)
	if strings.Count(svg, "<polyline") != 3 || !strings.HasPrefix(svg, "<svg") {
		t.Errorf("svg has %d lines", strings.Count(svg, "<polyline"))
	}
	var b strings.Builder
	printRatios(&b, r)
	if !strings.Contains(b.String(), "tracecomb/jaeger-badger = 0.33") || !strings.Contains(b.String(), "OTLP logs") {
		t.Errorf("ratios:\n%s", b.String())
	}
}

func TestRetentionSection(t *testing.T) {
	r := &retentionReport{
		Sizes: retentionSizes{AgeSpans: 1000, AgeWindow: time.Hour, MaxAge: 10 * time.Minute, MaxBytes: 256 << 20, Hold: 2 * time.Minute, MaxRun: 8 * time.Minute, Sample: time.Second},
		Age:   ageFigures{Spans: 1000, OldestAge: 10*time.Minute + 3*time.Second, Kept: 160, Expected: 158, Deleted: 840, DirBefore: 90e6, DirAfter: 20e6, Compactions: 1},
	}
	for i := 0; i <= 200; i++ {
		dir := int64(min(i, 100)) * 2.6e6
		r.Size.Samples = append(r.Size.Samples, sizeSample{At: time.Duration(i) * time.Second, Accepted: int64(i) * 1000, Dir: dir, DirAlloc: dir})
	}
	r.Size.Samples[150].Dir = 280e6 // the largest
	r.Size.Reached, r.Size.Accepted, r.Size.Took = 100*time.Second, 200_000, 200*time.Second
	md := retentionMarkdown(r, "cd bench && go run ./cmd/tcbench -retention")
	for _, want := range []string{retentionHeading, "Measured with `cd bench && go run ./cmd/tcbench -retention` on ", "| oldest kept event, age at the pass | 10.1 min |",
		"| events kept (COUNT) | 160 of 1000 (16.0%) |", "| size limit | 256MiB (268.4 MB) |", "| largest data directory | 280.0 MB at 2m30s (**104.3%** of the limit) |", "| over the limit | +4.3% |",
		"| retention first deleted after | 1m40s |", "| 2m30s | 150000 | 280.0 |", "at most 104.3% of it."} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
	if rows := strings.Count(md, "\n| ") - strings.Count(md, "\n| figure") - 20; rows > 30 {
		t.Errorf("%d timeline rows", rows)
	}
	// The section goes before the goals, then replaces itself.
	doc := "# Benchmarks\n\n## Results\n\nx\n\n## Goals\n\ng\n"
	once := spliceRetention(doc, md)
	if !strings.Contains(once, md+"## Goals") || !strings.HasPrefix(once, "# Benchmarks\n\n## Results\n\nx\n\n"+retentionHeading) {
		t.Fatalf("inserted:\n%s", once)
	}
	if twice := spliceRetention(once, strings.Replace(md, "10.1 min", "9.9 min", 1)); strings.Count(twice, retentionHeading) != 1 || !strings.Contains(twice, "9.9 min") || !strings.HasSuffix(twice, "## Goals\n\ng\n") {
		t.Fatalf("replaced:\n%s", twice)
	}
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Minute: "1h30m", time.Second: "1s", 100 * time.Second: "1m40s"} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestKeepHandSections(t *testing.T) {
	old := "# Benchmarks\n\n## Results\n\nold results\n\n## X-Ray daemon door (tracecomb only)\n\nold door\n\n" +
		"## Trigger evaluation (Go benchmark, tracecomb only)\n\ntriggers\n\n## BubbleUp (Go benchmark, tracecomb only)\n\nbubbles\n\n" +
		retentionHeading + "\n\nold retention\n\n## Goals\n\ngoals\n"
	fresh := "# Benchmarks\n\n## Results\n\nnew results\n\n## X-Ray daemon door (tracecomb only)\n\nnew door\n\n" +
		retentionHeading + "\n\nnew retention\n\n## Goals\n\ngoals\n"
	want := "# Benchmarks\n\n## Results\n\nnew results\n\n## X-Ray daemon door (tracecomb only)\n\nnew door\n\n" +
		"## Trigger evaluation (Go benchmark, tracecomb only)\n\ntriggers\n\n## BubbleUp (Go benchmark, tracecomb only)\n\nbubbles\n\n" +
		retentionHeading + "\n\nnew retention\n\n## Goals\n\ngoals\n"
	if got := keepHandSections(old, fresh); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Without Retention the sections go before Goals; without either, at the end.
	noRet := "## Results\n\nr\n\n## Goals\n\ng\n"
	if got := keepHandSections(old, noRet); !strings.Contains(got, "bubbles\n\n## Goals") || strings.Contains(got, "old door") {
		t.Fatalf("before Goals: %q", got)
	}
	if got := keepHandSections(old, "## Results\n\nr\n"); !strings.HasSuffix(got, "bubbles\n") {
		t.Fatalf("at the end: %q", got)
	}
	if got := keepHandSections("", fresh); got != fresh {
		t.Fatal("nothing to keep changed the file")
	}
}

// TestInterleave: slices of about the size asked, every batch once and in
// order, either protocol's slices spread over the run.
func TestInterleave(t *testing.T) {
	mk := func(n int) []workload.Batch {
		bs := make([]workload.Batch, n)
		for i := range bs {
			bs[i] = workload.Batch{Spans: 500, Body: make([]byte, 1)}
		}
		return bs
	}
	for _, tc := range []struct {
		name        string
		http, grpc  int // batches
		slice       int // spans
		wantPattern string
	}{
		{"full run", 1600, 400, 50_000, "HHGHHHHGHHHHGHHHHGHH"},
		{"quick", 200, 50, 50_000, "HGH"},
		{"gRPC heavier", 100, 800, 50_000, "GGGGHGGGG"},
		{"uneven last slice", 5, 3, 1000, "HGHGH"},
		{"no gRPC", 4, 0, 1000, "HH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, g := mk(tc.http), mk(tc.grpc)
			got := interleave(h, g, tc.slice)
			var pattern strings.Builder
			var sent [2][]workload.Batch
			for _, sl := range got {
				p := 0
				if sl.grpc {
					p = 1
					pattern.WriteByte('G')
				} else {
					pattern.WriteByte('H')
				}
				spans := 0
				for _, b := range sl.batches {
					spans += b.Spans
				}
				if len(sl.batches) == 0 || spans > max(tc.slice, 500) {
					t.Errorf("slice of %d batches, %d spans (slices of %d asked)", len(sl.batches), spans, tc.slice)
				}
				sent[p] = append(sent[p], sl.batches...)
			}
			if pattern.String() != tc.wantPattern {
				t.Errorf("order %s, want %s", pattern.String(), tc.wantPattern)
			}
			for p, want := range [][]workload.Batch{h, g} {
				if len(sent[p]) != len(want) {
					t.Fatalf("protocol %d: %d batches sent, want %d", p, len(sent[p]), len(want))
				}
				for i := range want {
					if &sent[p][i].Body[0] != &want[i].Body[0] {
						t.Fatalf("protocol %d: batch %d out of order", p, i)
					}
				}
			}
		})
	}
}

func TestAddTimeline(t *testing.T) {
	got := addTimeline(addTimeline(nil, []int64{1, 2}), []int64{0, 0, 5})
	if !slices.Equal(got, []int64{1, 2, 5}) {
		t.Errorf("got %v", got)
	}
}

// TestGoals: each goal says yes or no from the medians' ratio or bound,
// and n/a when a figure is missing.
func TestGoals(t *testing.T) {
	r := &report{Runs: map[string][]runFigures{
		"tracecomb":     {{HTTPSpansPS: 1300, GRPCSpansPS: 900, CPUPer100k: 2, ByIDP50: 2, ByIDP99: 3, SearchP50: 1, DiskPerSpan: 45, PeakRSSMB: 600}},
		"jaeger-memory": {{HTTPSpansPS: 1000, GRPCSpansPS: 1000, CPUPer100k: 2.5}},
		"jaeger-badger": {{ByIDP50: 1.5, ByIDP99: 3, SearchP50: 2}},
	}}
	r.XRay = []xrayStep{{Rate: 10000, ReceivedAll: true, StoredAll: true}, {Rate: 20000, ReceivedAll: true, StoredAll: true}}
	want := map[string]string{
		"ingest OTLP/HTTP (until stored) ≥ 1.2× Jaeger memory": "yes",
		"ingest OTLP/gRPC (until stored) ≥ 1.2× Jaeger memory": "no",
		"CPU per 100k spans ≤ 1.0× Jaeger memory":              "yes",
		"trace by id p50 ≤ 1.0× Jaeger Badger":                 "no",
		"trace by id p99 ≤ 1.0× Jaeger Badger":                 "yes",
		"search service+attribute p50 ≤ 1.0× Jaeger Badger":    "yes",
		"search service+attribute p99 ≤ 1.0× Jaeger Badger":    "n/a",
		"disk per span (allocated) ≤ 50.00 bytes":              "yes",
		"peak RSS (VmHWM) ≤ 512.0 MB":                          "no",
		"X-Ray UDP datagrams/s without loss ≥ 20000":           "yes",
	}
	got := goals(r)
	if len(got) != len(want) {
		t.Fatalf("%d goals, want %d: %v", len(got), len(want), got)
	}
	for _, g := range got {
		if w, ok := want[g.name]; !ok || g.met != w {
			t.Errorf("goal %q: met %q (measured %s), want %q", g.name, g.met, g.measured, w)
		}
	}
}
