package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
)

// otlpJSONTrace is an OTLP/JSON export of one trace of n spans.
func otlpJSONTrace(traceID string, n int) []byte {
	var spans []string
	now := time.Now().UnixNano()
	for i := range n {
		spans = append(spans, fmt.Sprintf(`{"traceId":%q,"spanId":"%016x","name":"op-%d","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`,
			traceID, rand.Uint64()|1, i, now, now+1000))
	}
	return []byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shutdown"}}]},"scopeSpans":[{"spans":[` +
		strings.Join(spans, ",") + `]}]}]}`)
}

// postIngest posts body and returns the status and the Retry-After header
// (status 0: no answer).
func postIngest(client *http.Client, url, key string, body []byte) (int, string) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Honeycomb-Team", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// startSlowRequest opens a connection to addr and sends the headers of a
// POST to path with a 1,000-byte body, of which it sends only the first
// byte: a request in flight that cannot finish.
func startSlowRequest(t *testing.T, addr, path, key string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Honeycomb-Team: %s\r\nContent-Length: 1000\r\n\r\n{", path, addr, key)
	return conn
}

// grpcExport sends one span to addr over OTLP/gRPC.
func grpcExport(t *testing.T, addr, key string) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "x-honeycomb-team", key), 10*time.Second)
	defer cancel()
	tid, sid := make([]byte, 16), make([]byte, 8)
	tid[15], sid[7] = 1, 1
	_, err = collpb.NewTraceServiceClient(conn).Export(ctx, &collpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{TraceId: tid, SpanId: sid, Name: "during-shutdown", StartTimeUnixNano: 1, EndTimeUnixNano: 2}}}},
	}}})
	return err
}

// TestShutdownStopsIngestFirst: on SIGTERM every ingest door refuses new
// requests retryably (HTTP 503 with Retry-After, gRPC Unavailable) while
// the read doors still answer; the X-Ray UDP daemon stops reading; ingest
// requests still in flight after the grace period are answered 503 with
// Retry-After rather than dropped; tracecomb then exits 0 with what it
// acknowledged stored and nothing it refused.
func TestShutdownStopsIngestFirst(t *testing.T) {
	t.Parallel() // its own data directory and processes; mostly waits on them
	const key = "ingest-first-key-0123456789"
	dir := t.TempDir()
	// --shutdown-timeout 25s: a grace of 5 s for ingest, during which the
	// test checks every door.
	p := startProc(t, dir, "--bootstrap-key", key, "--shutdown-timeout", "25s")
	api, xray := p.addrs["http"], p.addrs["xray"]
	client := &http.Client{Timeout: 10 * time.Second}
	acked := fmt.Sprintf("%032x", rand.Uint64()|1)
	if code, _ := postIngest(client, "http://"+api+"/v1/traces", key, otlpJSONTrace(acked, 3)); code != 200 {
		t.Fatalf("OTLP before shutdown: %d", code)
	}
	slow := map[string]net.Conn{
		"OTLP/HTTP":                          startSlowRequest(t, api, "/v1/traces", key),
		"Events API":                         startSlowRequest(t, api, "/1/batch/shutdown", key),
		"X-Ray daemon door PutTraceSegments": startSlowRequest(t, xray, "/TraceSegments", ""),
	}
	time.Sleep(300 * time.Millisecond) // the slow requests are in flight

	sigterm := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The first refused OTLP request marks ingest stopped; until then the
	// server may still take (and acknowledge) requests.
	for {
		code, retry := postIngest(client, "http://"+api+"/v1/traces", key, otlpJSONTrace(fmt.Sprintf("%032x", rand.Uint64()|1), 1))
		if code == http.StatusServiceUnavailable {
			if retry == "" {
				t.Fatal("OTLP/HTTP during shutdown: 503 without Retry-After")
			}
			break
		}
		if code != 200 || time.Since(sigterm) > 3*time.Second {
			t.Fatalf("OTLP/HTTP %v after SIGTERM: %d, want 200 and then 503", time.Since(sigterm), code)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The read doors still answer.
	var tr traceResponse
	if code := getJSON(t, "http://"+api+"/api/traces/"+acked, key, &tr); code != 200 || len(tr.Events) != 3 {
		t.Fatalf("a read on the API door while ingest stops: %d, %d events", code, len(tr.Events))
	}
	now := float64(time.Now().Unix())
	sums, _ := json.Marshal(map[string]any{"StartTime": now - 600, "EndTime": now + 60})
	if code, _ := postIngest(client, "http://"+xray+"/TraceSummaries", "", sums); code != 200 {
		t.Fatalf("a read on the X-Ray daemon door while ingest stops: %d", code)
	}

	// Every ingest door refuses, retryably.
	segID := fmt.Sprintf("1-%08x-%024x", uint32(now), rand.Uint64()|1)
	segment := fmt.Sprintf(`{"name":"shutdown","id":"%016x","trace_id":%q,"start_time":%f,"end_time":%f}`, rand.Uint64()|1, segID, now-0.01, now)
	putSegments, _ := json.Marshal(map[string][]string{"TraceSegmentDocuments": {segment}})
	for _, c := range []struct{ name, url, key, body string }{
		{"Events API /1/batch", "http://" + api + "/1/batch/shutdown", key, `[{"data":{"a":1}}]`},
		{"Events API /1/events", "http://" + api + "/1/events/shutdown", key, `{"a":1}`},
		{"X-Ray daemon door PutTraceSegments", "http://" + xray + "/TraceSegments", "", string(putSegments)},
	} {
		if code, retry := postIngest(client, c.url, c.key, []byte(c.body)); code != http.StatusServiceUnavailable || retry == "" {
			t.Errorf("%s during shutdown: %d, Retry-After %q; want 503 with Retry-After", c.name, code, retry)
		}
	}
	for door, addr := range map[string]string{"OTLP/gRPC door": p.addrs["otlp_grpc"], "OTLP/gRPC on the API door": api} {
		if err := grpcExport(t, addr, key); grpcstatus.Code(err) != codes.Unavailable {
			t.Errorf("%s during shutdown: %v; want Unavailable", door, err)
		} else if len(grpcstatus.Convert(err).Details()) == 0 {
			t.Errorf("%s during shutdown: Unavailable without RetryInfo", door)
		}
	}
	// The UDP daemon has stopped: this segment is not stored.
	sendSegment(t, xray, map[string]any{"name": "shutdown-udp", "id": fmt.Sprintf("%016x", rand.Uint64()|1), "trace_id": segID, "start_time": now - 0.01, "end_time": now})

	// The requests in flight are answered 503 with Retry-After once the
	// grace period ends.
	for name, conn := range slow {
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%s request in flight at shutdown: no answer: %v", name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s request in flight at shutdown: %d, Retry-After %q; want 503 with Retry-After", name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}

	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(time.Until(sigterm.Add(28 * time.Second))):
		t.Fatal("no exit within --shutdown-timeout (25s) + 3s of SIGTERM")
	}

	p2 := startProc(t, dir)
	if code := getJSON(t, "http://"+p2.addrs["http"]+"/api/traces/"+acked, key, &tr); code != 200 || len(tr.Events) != 3 {
		t.Fatalf("the trace acknowledged before shutdown: %d, %d events", code, len(tr.Events))
	}
	body, _ := json.Marshal(map[string][]string{"TraceIds": {segID}})
	resp, err := http.Post("http://"+p2.addrs["xray"]+"/Traces", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Traces []struct{ Id string } }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("BatchGetTraces: %d %v", resp.StatusCode, err)
	}
	if len(got.Traces) != 0 {
		t.Errorf("segments sent to the UDP daemon after ingest stopped were stored: %+v", got.Traces)
	}
}
