package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// These tests run the real binary with its default limits (docs/limits.md)
// and reproduce, at a scale that takes seconds, the ways senders could once
// take its memory without bound; each bounds the process's peak resident
// memory (VmHWM).

const limitsKey = "limits-key-0123456789"

// memory reads the process's peak and current resident memory, in bytes.
func memory(t *testing.T, p *proc) (peak, now int64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the process's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q", k, v)
		}
		if k == "VmHWM" {
			peak = kb << 10
		} else {
			now = kb << 10
		}
	}
	if peak == 0 {
		t.Fatal("no VmHWM in /proc/<pid>/status")
	}
	return peak, now
}

// alive fails the test if the process exited.
func alive(t *testing.T, p *proc) {
	t.Helper()
	select {
	case err := <-p.exited:
		t.Fatalf("tracecomb exited: %v", err)
	default:
	}
}

// answer is what one ingest request got.
type answer struct {
	status     int
	retryAfter string
	body       string
	err        error // the connection failed (the server died)
}

func post(client *http.Client, url, ct, ce string, body []byte) answer {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Honeycomb-Team", limitsKey)
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
}

// amplifying is the amplification request: resAttrs resource
// attributes over spans tiny spans, which OTLP copies onto every span. The
// spans are written straight in the wire format (one template, its span
// id patched), which is much faster than building 300,000 messages.
func amplifying(t *testing.T, resAttrs, spans int) []byte {
	res := &resourcepb.Resource{Attributes: make([]*commonpb.KeyValue, resAttrs)}
	for i := range res.Attributes {
		res.Attributes[i] = &commonpb.KeyValue{Key: "r" + strconv.Itoa(i), Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(i)}}}
	}
	resBytes, err := proto.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	placeholder := []byte{0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}
	tmpl, err := proto.Marshal(&tracepb.Span{TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SpanId: placeholder,
		Name: "x", StartTimeUnixNano: 1, EndTimeUnixNano: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(tmpl, placeholder)
	scope := make([]byte, 0, spans*(len(tmpl)+2))
	for i := range spans {
		binary.BigEndian.PutUint64(tmpl[at:], uint64(i+1))
		scope = protowire.AppendTag(scope, 2, protowire.BytesType) // ScopeSpans.spans
		scope = protowire.AppendBytes(scope, tmpl)
	}
	rs := protowire.AppendTag(nil, 1, protowire.BytesType) // ResourceSpans.resource
	rs = protowire.AppendBytes(rs, resBytes)
	rs = protowire.AppendTag(rs, 2, protowire.BytesType) // ResourceSpans.scope_spans
	rs = protowire.AppendBytes(rs, scope)
	req := protowire.AppendTag(nil, 1, protowire.BytesType) // ExportTraceServiceRequest.resource_spans
	return protowire.AppendBytes(req, rs)
}

// TestLimitsAmplificationRequest: the two amplification requests
// (1,000 resource attributes × 20,000 spans in a 1 MB body: RSS to 1.9 GB,
// then a retryable 503; 20,000 × 300,000 in 15.6 MB: the server died of
// a 313 GiB allocation) get a permanent 413 saying why, with the peak
// RSS under 512 MB.
func TestLimitsAmplificationRequest(t *testing.T) {
	p := startProc(t, t.TempDir(), "--bootstrap-key", limitsKey)
	url := "http://" + p.addrs["http"] + "/v1/traces"
	client := &http.Client{Timeout: time.Minute}
	for _, c := range []struct{ attrs, spans int }{{1000, 20_000}, {20_000, 300_000}} {
		body := amplifying(t, c.attrs, c.spans)
		a := post(client, url, "application/x-protobuf", "", body)
		if a.err != nil {
			alive(t, p)
			t.Fatalf("%d × %d: %v", c.attrs, c.spans, a.err)
		}
		peak, _ := memory(t, p)
		t.Logf("%d × %d (%.1f MB): %d %q; peak RSS %d MB", c.attrs, c.spans, float64(len(body))/1e6, a.status, a.body, peak>>20)
		if a.status != http.StatusRequestEntityTooLarge || a.retryAfter != "" || !strings.Contains(a.body, "over the limit of") {
			t.Errorf("%d × %d: %d (Retry-After %q) %q; want a permanent 413 with the reason", c.attrs, c.spans, a.status, a.retryAfter, a.body)
		}
		if peak > 512e6 {
			t.Errorf("%d × %d: peak RSS %d MB, want under 512 MB", c.attrs, c.spans, peak/1e6)
		}
	}
	alive(t, p)
}

// gzipBomb is a gzip body of zeros that inflates to n MiB: n members of
// one compressed MiB each (a stream of several members is valid gzip, and
// its size field, in the last member, says 1 MiB: the worst case for a
// decompressor that trusts it).
func gzipBomb(t *testing.T, n int) []byte {
	var member bytes.Buffer
	z, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	z.Write(make([]byte, 1<<20)) //nolint:errcheck // bytes.Buffer
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), n)
}

// boundConcurrentBombs is the documented peak RSS (docs/limits.md) while
// 16 gzip bombs are decompressed at once: the decompression budget
// (256 MiB) and what the process holds besides.
const boundConcurrentBombs = 512 << 20

// TestLimitsConcurrentGzipBombs: 16 concurrent 205 KB gzip bombs, each
// inflating to 200 MiB, past the 100 MiB limit, on the OTLP and Events API doors
// (they took RSS to 4.6 GB): each gets 413 (too big once inflated) or,
// when the decompression budget has no room for it in time, a retryable
// 503 with Retry-After; the peak RSS stays under the documented bound.
func TestLimitsConcurrentGzipBombs(t *testing.T) {
	p := startProc(t, t.TempDir(), "--bootstrap-key", limitsKey)
	bomb := gzipBomb(t, 200)
	t.Logf("bomb: %d KB inflating to 200 MiB", len(bomb)>>10)
	base := "http://" + p.addrs["http"]
	client := &http.Client{Timeout: time.Minute}
	var wg sync.WaitGroup
	answers := make([]answer, 16)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				answers[i] = post(client, base+"/v1/traces", "application/x-protobuf", "gzip", bomb)
			} else {
				answers[i] = post(client, base+"/1/batch/bombs", "application/json", "gzip", bomb)
			}
		}()
	}
	wg.Wait()
	peak, now := memory(t, p)
	codes := map[int]int{}
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("bomb %d: %v", i, a.err)
		}
		codes[a.status]++
		switch {
		case a.status == http.StatusRequestEntityTooLarge || a.status == http.StatusBadRequest && strings.Contains(a.body, "too large"):
		case a.status == http.StatusServiceUnavailable && a.retryAfter != "":
		default:
			t.Errorf("bomb %d: %d (Retry-After %q) %q; want 413/400 too large or 503 with Retry-After", i, a.status, a.retryAfter, a.body)
		}
	}
	t.Logf("answers %v; peak RSS %d MB, %d MB now", codes, peak>>20, now>>20)
	if peak > boundConcurrentBombs {
		t.Errorf("peak RSS %d MB, want under %d MB", peak>>20, boundConcurrentBombs>>20)
	}
	alive(t, p)
}

// largeRequest is one OTLP request of n spans with 10 attributes each, as
// a busy service's SDK sends (~1.6 MB of protobuf for 10,000 spans).
func largeRequest(t *testing.T, n int) []byte {
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "burst"}, Spans: make([]*tracepb.Span, n)}
	for i := range ss.Spans {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid, uint64(i/10+1))
		sid := make([]byte, 8)
		binary.BigEndian.PutUint64(sid, uint64(i+1))
		sp := &tracepb.Span{TraceId: tid, SpanId: sid, Name: "GET /api/item/" + strconv.Itoa(i%100), Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: uint64(time.Now().UnixNano()), EndTimeUnixNano: uint64(time.Now().UnixNano()) + 1_500_000}
		for a := range 10 {
			sp.Attributes = append(sp.Attributes, &commonpb.KeyValue{Key: "app.attr_" + strconv.Itoa(a),
				Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "value-" + strconv.Itoa(i*a)}}})
		}
		ss.Spans[i] = sp
	}
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "burst"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// boundBurst is the documented peak RSS (docs/limits.md) under a burst of
// large OTLP requests: the pending budget (256 MiB) with the requests
// being read besides, and the store's own memory.
const boundBurst = 1152 << 20

// TestLimitsBurstOfLargeOTLPRequests: 48 senders of 10,000-span requests
// at once, for a few seconds (64 senders for 45 s took RSS from 350 MB
// to 3.0 GB): every request is stored or told to retry (429 with
// Retry-After), and the peak RSS stays under the documented bound.
func TestLimitsBurstOfLargeOTLPRequests(t *testing.T) {
	p := startProc(t, t.TempDir(), "--bootstrap-key", limitsKey)
	body := largeRequest(t, 10_000)
	url := "http://" + p.addrs["http"] + "/v1/traces"
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var stored, retry atomic.Int64
	var wg sync.WaitGroup
	for range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a := post(client, url, "application/x-protobuf", "", body)
				switch {
				case a.err != nil:
					t.Errorf("request failed: %v", a.err)
					return
				case a.status == http.StatusOK:
					stored.Add(1)
				case a.status == http.StatusTooManyRequests && a.retryAfter != "":
					retry.Add(1)
					time.Sleep(50 * time.Millisecond)
				default:
					t.Errorf("%d (Retry-After %q) %q; want 200 or 429 with Retry-After", a.status, a.retryAfter, a.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	peak, now := memory(t, p)
	t.Logf("%d KB requests: %d stored, %d told to retry; peak RSS %d MB, %d MB now", len(body)>>10, stored.Load(), retry.Load(), peak>>20, now>>20)
	if stored.Load() == 0 {
		t.Error("nothing was stored")
	}
	if peak > boundBurst {
		t.Errorf("peak RSS %d MB, want under %d MB", peak>>20, boundBurst>>20)
	}
	alive(t, p)
}

// floodDatagram is one X-Ray segment datagram of subs subsegments (~60 KB,
// decoding to about half a megabyte of spans).
func floodDatagram(i, subs int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"format":"json","version":1}`+"\n"+`{"trace_id":"1-5759e988-%024x","id":"%016x","name":"flood","start_time":1.7e9,"end_time":1.70001e9,"subsegments":[`, i+1, i+1)
	for j := range subs {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%08x%08x","name":"call-%d","start_time":1.7e9,"end_time":1.700001e9,"namespace":"remote","annotations":{"a":"%d","b":%d},"metadata":{"default":{"k":"v%d"}}}`, i+1, j+1, j, j, j, j)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// boundXRayFlood is the documented peak RSS (docs/limits.md) under a flood
// of X-Ray datagrams: the daemon's queue (64 MiB) within the pending
// budget (256 MiB), and what the process holds besides.
const boundXRayFlood = 448 << 20

// TestLimitsXRayUDPFlood: large segment datagrams sent to the X-Ray daemon
// door by two senders at 1,000 a second each for a few seconds (1,000 a
// second for 30 s took RSS to 13 GB and rising): the peak RSS stays under the
// documented bound, and what cannot be held is dropped and counted in
// tracecomb_xray_segments_dropped_total, as the X-Ray daemon drops.
func TestLimitsXRayUDPFlood(t *testing.T) {
	p := startProc(t, t.TempDir(), "--bootstrap-key", limitsKey, "--metrics-public")
	datagrams := make([][]byte, 64)
	for i := range datagrams {
		datagrams[i] = floodDatagram(i, 320)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var sent atomic.Int64
	var wg sync.WaitGroup
	for s := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp", p.addrs["xray"])
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			tick := time.NewTicker(time.Millisecond) // 1,000 a second each, as the flood that once grew without bound
			defer tick.Stop()
			for i := s; ctx.Err() == nil; i += 2 {
				if _, err := c.Write(datagrams[i%len(datagrams)]); err == nil {
					sent.Add(1)
				}
				<-tick.C
			}
		}()
	}
	wg.Wait()
	peak, now := memory(t, p)
	page := metricsText(t, "http://"+p.addrs["http"], "")
	dropped := metricSum(page, "tracecomb_xray_segments_dropped_total")
	received := metricSum(page, "tracecomb_xray_segments_received_total")
	t.Logf("%d datagrams of %d KB sent, %v read, %v dropped; peak RSS %d MB, %d MB now", sent.Load(), len(datagrams[0])>>10, received, dropped, peak>>20, now>>20)
	if dropped == 0 {
		t.Error("no datagram dropped: the flood did not fill the queue, or drops are not counted")
	}
	if peak > boundXRayFlood {
		t.Errorf("peak RSS %d MB, want under %d MB", peak>>20, boundXRayFlood>>20)
	}
	alive(t, p)
}

// TestLimitFlags: every ingest limit has a flag and an environment
// variable, in bytes or with a unit; a limit that is not positive is
// refused at start.
func TestLimitFlags(t *testing.T) {
	t.Setenv("TRACECOMB_XRAY_QUEUE_BYTES", "8MiB")
	c := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.BindFlags(fs)
	if err := fs.Parse([]string{"--max-pending-bytes", "64MiB", "--max-decompress-bytes", "1GB", "--max-decoded-bytes", "1048576", "--max-pending-events", "1000"}); err != nil {
		t.Fatal(err)
	}
	if c.MaxPendingBytes != 64<<20 || c.MaxDecompressBytes != 1e9 || c.MaxDecodedBytes != 1<<20 || c.XRayQueueBytes != 8<<20 || c.MaxPendingEvents != 1000 {
		t.Fatalf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--max-pending-bytes", "lots"}); err == nil {
		t.Error("--max-pending-bytes lots accepted")
	}
	c.MaxDecodedBytes = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--max-decoded-bytes") {
		t.Errorf("a zero --max-decoded-bytes: %v", err)
	}
	d := DefaultConfig()
	if d.MaxPendingBytes != 256<<20 || d.MaxDecompressBytes != 256<<20 || d.MaxDecodedBytes != 256<<20 || d.XRayQueueBytes != 64<<20 {
		t.Errorf("defaults changed without docs/limits.md: %+v", d)
	}
}
