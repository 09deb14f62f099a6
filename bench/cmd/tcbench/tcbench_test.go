package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
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
