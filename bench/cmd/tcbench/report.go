package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// figure is one row of the report.
type figure struct {
	Name   string
	Unit   string
	Higher bool // higher is better
	Get    func(runFigures) float64
}

var figures = []figure{
	{"ingest OTLP/HTTP (until stored)", "spans/s", true, func(f runFigures) float64 { return f.HTTPSpansPS }},
	{"ingest OTLP/gRPC (until stored)", "spans/s", true, func(f runFigures) float64 { return f.GRPCSpansPS }},
	{"OTLP/HTTP accepted at the door", "spans/s", true, func(f runFigures) float64 { return f.DoorSpansPS }},
	{"CPU per 100k spans", "CPU s", false, func(f runFigures) float64 { return f.CPUPer100k }},
	{"peak RSS (VmHWM)", "MB", false, func(f runFigures) float64 { return f.PeakRSSMB }},
	{"disk per span (allocated)", "bytes", false, func(f runFigures) float64 { return f.DiskPerSpan }},
	{"disk per span (apparent size)", "bytes", false, func(f runFigures) float64 { return f.DiskApparent }},
	{"trace by id p50", "ms", false, func(f runFigures) float64 { return f.ByIDP50 }},
	{"trace by id p99", "ms", false, func(f runFigures) float64 { return f.ByIDP99 }},
	{"search service+attribute p50", "ms", false, func(f runFigures) float64 { return f.SearchP50 }},
	{"search service+attribute p99", "ms", false, func(f runFigures) float64 { return f.SearchP99 }},
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *report) med(system string, fg figure) float64 {
	var xs []float64
	for _, f := range r.Runs[system] {
		xs = append(xs, fg.Get(f))
	}
	return median(xs)
}

func num(v float64) string {
	switch {
	case v == 0:
		return "n/a"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func printRatios(w io.Writer, r *report) {
	for _, fg := range figures {
		tc := r.med("tracecomb", fg)
		for _, j := range []string{"jaeger-memory", "jaeger-badger"} {
			fmt.Fprintf(w, "%-32s tracecomb/%-13s = %-6s (%s vs %s %s)\n", fg.Name, j, ratio(tc, r.med(j, fg)), num(tc), num(r.med(j, fg)), fg.Unit)
		}
	}
	fmt.Fprintf(w, "%-32s tracecomb                = %s datagrams/s without loss\n", "X-Ray UDP", num(bestXRay(r.XRay)))
	if len(r.Signals) > 0 {
		spans := medianSignal(r.Signals, 0, func(f signalFigures) float64 { return f.ItemsPS })
		for i := 1; i < len(r.Signals[0]); i++ {
			v := medianSignal(r.Signals, i, func(f signalFigures) float64 { return f.ItemsPS })
			fmt.Fprintf(w, "%-32s tracecomb / OTLP spans   = %-6s (%s vs %s items/s)\n", r.Signals[0][i].Signal, ratio(v, spans), num(v), num(spans))
		}
	}
}

func bestXRay(steps []xrayStep) float64 {
	best := 0.0
	for _, s := range steps {
		if s.ReceivedAll && s.StoredAll {
			best = s.Rate
		}
	}
	return best
}

func markdown(r *report, plotRef string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Benchmarks: tracecomb and Jaeger v2 on the same machine\n\n")
	p("Written by `make bench` (bench/cmd/tcbench) on %s; the run took %s.\n", r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took.Round(time.Second))
	p("Every figure is the median of %d repetitions; in each repetition every system starts fresh (empty data directory) and the\n", r.Sizes.Reps)
	p("order of the systems alternates (tracecomb first, then last). Ratios are tracecomb/Jaeger: above 1 means tracecomb\n")
	p("is higher (better for throughput, worse for CPU, memory, disk and latency).\n\n")
	p("## Machine\n\n")
	p("- CPUs: %d × %s\n- memory: %.1f GiB\n- kernel: %s\n", r.Machine.CPUs, r.Machine.Model, r.Machine.MemGiB, r.Machine.Kernel)
	p("- load average (1, 5, 15 min) before the run: %s; after: %s. The machine was shared with other builds and tests\n", r.LoadBefore, r.LoadAfter)
	p("  during the run, so absolute figures are low and noisy; the ratios of one run are what to compare.\n\n")
	p("## Versions\n\n")
	for _, k := range []string{"tracecomb", "duckdb-go", "jaeger", "go"} {
		if v, ok := r.Versions[k]; ok {
			p("- %s: %s\n", k, v)
		}
	}
	p("- Jaeger v2 is built from its Go module (`bench/jaeger/go.mod` tool `github.com/jaegertracing/jaeger/cmd/jaeger`) and runs\n")
	p("  the OTLP receiver, the batch processor and the storage exporter, with memory storage and with Badger storage\n")
	p("  (`ephemeral: false`, on the same disk as tracecomb's data directory).\n\n")
	p("## Workload\n\n")
	p("The shape of Jaeger's ClickHouse storage benchmark: traces of 10 spans across 10 services (one span per service, a\n")
	p("parent chain), 11 string attributes per span with keys drawn from 97 keys and values drawn from 1000 values, 20 span\n")
	p("names. Encoded once before the run as OTLP ExportTraceServiceRequest protobuf bodies of %d traces (%d spans) each, so\n", r.Sizes.TracesPerBatch, r.Sizes.TracesPerBatch*10)
	p("every system receives the same bytes. Trace start times are spread evenly over the 30 minutes before the run, as a\n")
	p("steady stream's would be.\n\n")
	p("Per system and repetition: %d spans over OTLP/HTTP (protobuf) and %d spans over OTLP/gRPC, from %d concurrent\n", r.Sizes.HTTPSpans, r.Sizes.GRPCSpans, r.Sizes.Concurrency)
	p("exporters sending as fast as the server accepts (a 429/503 or RESOURCE_EXHAUSTED/UNAVAILABLE answer is counted as\n")
	p("pushback and the batch is retried after a short backoff). The two protocols' batches are sent in slices of %d spans,\n", r.Sizes.SliceSpans)
	p("either protocol's slices spread evenly over the run, so that both are measured on the same range of store sizes (a\n")
	p("store commits more slowly as it grows); one request over each protocol goes first, before the clock starts. Then %d\n", r.Sizes.Lookups)
	p("trace-by-id lookups and %d searches.\n\n", r.Sizes.Searches)
	p("How each figure is measured:\n\n")
	p("- ingest spans/s: spans accepted divided by the protocol's slices' time, each slice's from its first request until the\n")
	p("  next slice's first request, the last one's until the server reports every span stored (tracecomb:\n")
	p("  `tracecomb_events_stored_total`; Jaeger: `otelcol_exporter_sent_spans`, the spans its storage exporter wrote).\n")
	p("  \"Accepted at the door\" divides by the sending time only.\n")
	p("- CPU per 100k spans: user+system time of the server process (/proc/PID/stat) over the ingest of both protocols.\n")
	p("- peak RSS: VmHWM of the server process (/proc/PID/status) after ingest and queries.\n")
	p("- disk per span: bytes of the data directory (tracecomb: DuckDB file and key registry; Jaeger: the Badger directory)\n")
	p("  after a clean shutdown (SIGTERM), divided by the spans stored. Allocated = blocks in use (du); apparent = file sizes.\n")
	p("- trace by id: `GET /api/traces/{id}` (tracecomb with the key; Jaeger on its query port) for ids spread over the run,\n")
	p("  one at a time; a lookup is found when the answer holds the trace's 10 spans.\n")
	p("- search: service + one attribute value that a stored span has. Jaeger: `GET /api/traces?service=&tags=&limit=20`\n")
	p("  over the last two hours. tracecomb: the Honeycomb Query Data API as a client uses it, `POST /1/queries/__all__`\n")
	p("  (COUNT by trace.trace_id, both filters, limit 20), `POST /1/query_results/__all__`, `GET` the result.\n\n")
	p("## Results\n\n")
	p("| figure | unit | tracecomb | Jaeger memory | Jaeger Badger | tracecomb / Jaeger memory | tracecomb / Jaeger Badger |\n")
	p("|---|---|---:|---:|---:|---:|---:|\n")
	for _, fg := range figures {
		tc, jm, jb := r.med("tracecomb", fg), r.med("jaeger-memory", fg), r.med("jaeger-badger", fg)
		p("| %s | %s | %s | %s | %s | %s | %s |\n", fg.Name, fg.Unit, num(tc), num(jm), num(jb), ratio(tc, jm), ratio(tc, jb))
	}
	p("\nn/a: not applicable (memory storage has no disk figure) or not measured.\n\n")
	for _, s := range allSystems {
		for i, f := range r.Runs[s] {
			if f.SearchNote != "" && i == 0 {
				p("- %s search: %s.\n", s, f.SearchNote)
			}
		}
	}
	p("\nFound / total per system (all repetitions), and counts of spans refused:\n\n")
	p("| system | stored spans per run | trace by id found | searches with a hit | rejected | errored | pushback answers |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range allSystems {
		var found, total, sf, st int
		var rej, errd, pb, spans int64
		for _, f := range r.Runs[s] {
			found += f.ByIDFound
			total += f.ByIDTotal
			sf += f.SearchFound
			st += f.SearchTotal
			rej += f.Rejected
			errd += f.Errored
			pb += f.Pushbacks
			spans = f.Spans
		}
		p("| %s | %d | %d/%d | %d/%d | %d | %d | %d |\n", s, spans, found, total, sf, st, rej, errd, pb)
	}
	p("\nEvery repetition (spans/s over HTTP and gRPC, CPU s/100k, MB, bytes/span, by-id p50 ms, search p50 ms):\n\n")
	p("| system | rep | HTTP | gRPC | CPU | RSS | disk | by id | search |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range allSystems {
		for i, f := range r.Runs[s] {
			p("| %s | %d | %.0f | %.0f | %.2f | %.0f | %.1f | %.2f | %.2f |\n", s, i+1, f.HTTPSpansPS, f.GRPCSpansPS, f.CPUPer100k, f.PeakRSSMB, f.DiskPerSpan, f.ByIDP50, f.SearchP50)
		}
	}
	p("\n## Throughput over time\n\n")
	p("Spans accepted per second over OTLP/HTTP and OTLP/gRPC (their slices interleaved) during the first repetition (1 s\n")
	p("buckets).\n\n")
	p("![throughput over time](%s)\n\n", plotRef)
	p("## X-Ray daemon door (tracecomb only)\n\n")
	p("Datagrams (a header line and one segment with 11 annotations each) sent over UDP at a fixed rate for %s per step\n", r.Sizes.XRayStep)
	p("to a fresh tracecomb; received is the change of `tracecomb_xray_segments_received_total`, stored the change of\n")
	p("`tracecomb_events_stored_total` within 20 s after the step, dropped the change of\n")
	p("`tracecomb_xray_segments_dropped_total`. The ramp stops at the first step that loses a datagram or does not store\n")
	p("every segment. The real X-Ray daemon cannot run here, so there is no ratio.\n\n")
	p("| rate (datagrams/s) | sent | received | dropped | stored | all received | all stored |\n|---:|---:|---:|---:|---:|---|---|\n")
	for _, s := range r.XRay {
		p("| %.0f | %d | %d | %d | %d | %v | %v |\n", s.Rate, s.Sent, s.Received, s.Dropped, s.Stored, s.ReceivedAll, s.StoredAll)
	}
	p("\nHighest lossless rate: %s datagrams/s.\n\n", num(bestXRay(r.XRay)))
	if len(r.Signals) > 0 {
		p("## The same spans as events and logs (tracecomb only)\n\n")
		p("%d spans of the workload above, each sent to a fresh tracecomb three ways over HTTP: as OTLP trace exports\n", r.Sizes.SignalSpans)
		p("(protobuf, %d traces a request), as Honeycomb Events API batches (`POST /1/batch/{service}`, JSON, one event per\n", r.Sizes.TracesPerBatch)
		p("span with the span's Honeycomb fields and its 11 attributes; libhoney's 50 events per batch and dataset) and as OTLP\n")
		p("log exports (protobuf, one log record per span with its attributes, its name as the body and its trace context).\n")
		p("Each is sent as its usual client sends it: the OTLP requests from %d concurrent senders, the event batches with up\n", r.Sizes.Concurrency)
		p("to 80 in flight (libhoney's default) and, for comparison, from %d. A commit takes every request that queued during\n", r.Sizes.Concurrency)
		p("the one before, so many small requests in flight are committed together. Items/s until stored as above; median\n")
		p("of %d repetitions. Jaeger has neither the Events API nor a log store, so there is no Jaeger column.\n\n", len(r.Signals))
		p("| signal | items/s until stored | / OTLP spans | CPU s per 100k items |\n|---|---:|---:|---:|\n")
		spans := medianSignal(r.Signals, 0, func(f signalFigures) float64 { return f.ItemsPS })
		for i, f := range r.Signals[0] {
			v := medianSignal(r.Signals, i, func(f signalFigures) float64 { return f.ItemsPS })
			cpu := medianSignal(r.Signals, i, func(f signalFigures) float64 { return f.CPUPer100k })
			p("| %s | %s | %s | %s |\n", f.Signal, num(v), ratio(v, spans), num(cpu))
		}
		p("\n")
	}
	if r.Retention != nil {
		p("%s", retentionMarkdown(r.Retention, "make bench"))
	}
	p("## Goals\n\n")
	p("Each figure's target, from the medians above (ratios against Jaeger v2 in the same run; the 100M-span figures are\n")
	p("in the Scale section).\n\n")
	p("| goal | measured | met |\n|---|---|:---:|\n")
	for _, g := range goals(r) {
		p("| %s | %s | %s |\n", g.name, g.measured, g.met)
	}
	p("\nWhere tracecomb's ingest time goes: [bench/profile.md](bench/profile.md).\n")
	p("\nRun it again with `make bench` (a full run) or `make bench-quick` (a small workload, one repetition, ratios on stdout).\n")
	return b.String()
}

// goal is one row of the report's Goals table.
type goal struct{ name, measured, met string }

// goals compares the run's medians with the targets: ratios against a
// Jaeger store (at least or at most want) and absolute bounds.
func goals(r *report) []goal {
	met := func(ok, known bool) string {
		switch {
		case !known:
			return "n/a"
		case ok:
			return "yes"
		default:
			return "no"
		}
	}
	var out []goal
	vs := func(fg figure, jaeger, label string, want float64) {
		tc, j := r.med("tracecomb", fg), r.med(jaeger, fg)
		ok := tc/j >= want
		bound := "≥"
		if !fg.Higher {
			ok, bound = tc/j <= want, "≤"
		}
		out = append(out, goal{fmt.Sprintf("%s %s %.1f× Jaeger %s", fg.Name, bound, want, label),
			fmt.Sprintf("%s× (%s vs %s %s)", ratio(tc, j), num(tc), num(j), fg.Unit), met(ok, tc > 0 && j > 0)})
	}
	abs := func(fg figure, want float64) {
		tc := r.med("tracecomb", fg)
		out = append(out, goal{fmt.Sprintf("%s ≤ %s %s", fg.Name, num(want), fg.Unit), num(tc) + " " + fg.Unit, met(tc <= want, tc > 0)})
	}
	byName := map[string]figure{}
	for _, fg := range figures {
		byName[fg.Name] = fg
	}
	vs(byName["ingest OTLP/HTTP (until stored)"], "jaeger-memory", "memory", 1.2)
	vs(byName["ingest OTLP/gRPC (until stored)"], "jaeger-memory", "memory", 1.2)
	vs(byName["CPU per 100k spans"], "jaeger-memory", "memory", 1.0)
	for _, n := range []string{"trace by id p50", "trace by id p99", "search service+attribute p50", "search service+attribute p99"} {
		vs(byName[n], "jaeger-badger", "Badger", 1.0)
	}
	abs(byName["disk per span (allocated)"], 50)
	abs(byName["peak RSS (VmHWM)"], 512)
	if len(r.XRay) > 0 {
		x := bestXRay(r.XRay)
		out = append(out, goal{"X-Ray UDP datagrams/s without loss ≥ 20000", num(x), met(x >= 20000, true)})
	}
	if len(r.Signals) > 0 {
		spans := medianSignal(r.Signals, 0, func(f signalFigures) float64 { return f.ItemsPS })
		events := medianSignal(r.Signals, 1, func(f signalFigures) float64 { return f.ItemsPS })
		out = append(out, goal{"Events API events/s within 20% of OTLP spans/s", ratio(events, spans) + "×", met(events >= 0.8*spans, spans > 0 && events > 0)})
	}
	return out
}

// throughputSVG draws spans/s over time of the first repetition of every
// system as polylines.
func throughputSVG(r *report) string {
	const W, H, L, R, T, B = 720, 360, 70, 160, 30, 40
	colors := map[string]string{"tracecomb": "#d9480f", "jaeger-memory": "#1971c2", "jaeger-badger": "#2f9e44"}
	var maxX, maxY float64
	series := map[string][]float64{}
	for _, s := range allSystems {
		if len(r.Runs[s]) == 0 {
			continue
		}
		f := r.Runs[s][0]
		tick := f.Tick.Seconds()
		for _, n := range f.Timeline {
			series[s] = append(series[s], float64(n)/tick)
		}
		maxX = max(maxX, float64(len(f.Timeline))*tick)
		for _, v := range series[s] {
			maxY = max(maxY, v)
		}
	}
	if maxX == 0 || maxY == 0 {
		maxX, maxY = 1, 1
	}
	maxY = niceCeil(maxY)
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	p(`<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	pw, ph := float64(W-L-R), float64(H-T-B)
	p(`<text x="%d" y="18" font-size="14">Spans/s accepted over OTLP/HTTP and gRPC (first repetition)</text>`+"\n", L)
	for i := 0; i <= 4; i++ {
		y := float64(T) + ph - ph*float64(i)/4
		p(`<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", L, y, float64(L)+pw, y)
		p(`<text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n", L-6, y+4, maxY*float64(i)/4)
	}
	for i := 0; i <= 5; i++ {
		x := float64(L) + pw*float64(i)/5
		p(`<text x="%.1f" y="%d" text-anchor="middle">%.1f s</text>`+"\n", x, H-B+18, maxX*float64(i)/5)
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="black"/>`+"\n", L, T, L, float64(T)+ph)
	p(`<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", L, float64(T)+ph, float64(L)+pw, float64(T)+ph)
	k := 0
	for _, s := range allSystems {
		vs := series[s]
		if len(vs) == 0 {
			continue
		}
		tick := r.Runs[s][0].Tick.Seconds()
		var pts []string
		for i, v := range vs {
			x := float64(L) + pw*(float64(i)+0.5)*tick/maxX
			y := float64(T) + ph - ph*v/maxY
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		p(`<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[s], strings.Join(pts, " "))
		ly := T + 20 + 20*k
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n", W-R+10, ly, W-R+30, ly, colors[s], W-R+36, ly+4, s)
		k++
	}
	p("</svg>\n")
	return b.String()
}

func niceCeil(v float64) float64 {
	m := 1.0
	for m*10 <= v {
		m *= 10
	}
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*m >= v {
			return f * m
		}
	}
	return 10 * m
}
