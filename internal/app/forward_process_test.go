package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/tracecomb/tracecomb/internal/model"
)

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// metricValue reads one sample of /metrics (served without a key);
// -1 when it is not there.
func metricValue(t *testing.T, base, sample string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// forwardLoad sends, acknowledged, n traces of 10 events to the Events
// API and n segments with PutTraceSegments to the X-Ray daemon door, and
// returns their ids.
func forwardLoad(t *testing.T, p *proc, key string, round, n int) (events, segments []model.TraceID) {
	t.Helper()
	base := "http://" + p.addrs["http"]
	for i := range n {
		id := model.TraceID{0xfd, byte(round), byte(i)}
		var b strings.Builder
		b.WriteString("[")
		for j := range 10 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"data":{"trace.trace_id":"%s","trace.span_id":"%016x","name":"step-%d","service.name":"fwd-proc","round":%d}}`, id, j+1, j, round)
		}
		b.WriteString("]")
		if code, body := postEvents(t, base, key, "fwd-proc", b.String()); code != 200 {
			t.Fatalf("events: %d %s", code, body)
		}
		events = append(events, id)
	}
	client := xraysvc.New(xraysvc.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + p.addrs["xray"]), RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{}})
	now := time.Now()
	var docs []string
	for i := range n {
		tid := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xfd0000+round<<8+i)
		id, _ := model.ParseXRayTraceID(tid)
		segments = append(segments, id)
		docs = append(docs, fmt.Sprintf(`{"name":"fwd-proc-xray","id":"%016x","trace_id":"%s","start_time":%f,"end_time":%f}`,
			0xfd000000+round<<8+i, tid, float64(now.UnixNano())/1e9-0.1, float64(now.UnixNano())/1e9))
	}
	out, err := client.PutTraceSegments(context.Background(), &xraysvc.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil || len(out.UnprocessedTraceSegments) != 0 {
		t.Fatalf("PutTraceSegments: %v %+v", err, out)
	}
	return events, segments
}

// countOnTarget waits until the target holds every trace, and returns
// how many events it holds of them (more than sent: duplicates).
func countOnTarget(t *testing.T, base, key string, events, segments []model.TraceID) int {
	t.Helper()
	total := 0
	deadline := time.Now().Add(60 * time.Second)
	for _, ids := range []struct {
		ids  []model.TraceID
		mark string
		want int
	}{{events, "honeycomb/events", 10}, {segments, "xray/xray", 1}} {
		for _, id := range ids.ids {
			for {
				got := joinedTrace(t, base, key, id, "")
				if got[ids.mark] >= ids.want && len(got) == 1 {
					total += got[ids.mark]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("trace %s on the target: %v, want %d %s", id, got, ids.want, ids.mark)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	return total
}

// TestForwardSurvivesKill9AndShutdownWhileTheTargetIsDown runs the real
// binary forwarding to a second tracecomb process, a real server that
// checks the Honeycomb key, the Events API's limits and the X-Ray door's
// SigV4 (a key pair made by `tracecomb keys create --aws`). With the
// target down, acknowledged events wait in the queue through a kill -9,
// and through a SIGTERM that cannot flush them; once the target is up,
// everything acknowledged arrives. Delivery is at least once: events
// beyond those sent must be no more than the redelivered count.
func TestForwardSurvivesKill9AndShutdownWhileTheTargetIsDown(t *testing.T) {
	const key, targetKey = "forward-source-key-0123456789", "forward-target-key-0123456789"
	targetAddr := freeAddr(t)
	targetDir := t.TempDir()
	out, err := exec.Command(tracecombBinary(t), "keys", "create", "--aws", "--env", "test", "--data-dir", targetDir).CombinedOutput()
	if err != nil {
		t.Fatalf("keys create --aws: %v\n%s", err, out)
	}
	var creds aws.Credentials
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "AWS_ACCESS_KEY_ID="); ok {
			creds.AccessKeyID = v
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "AWS_SECRET_ACCESS_KEY="); ok {
			creds.SecretAccessKey = v
		}
	}
	forwardAWSEnv(t, creds) // the forwarding process's default credential chain
	dir := t.TempDir()
	args := []string{"--bootstrap-key", key, "--metrics-public", "--shutdown-timeout", "4s",
		"--forward-honeycomb", "http://" + targetAddr, "--forward-key", targetKey,
		"--forward-xray", "us-east-1", "--forward-xray-endpoint", "http://" + targetAddr}

	// Round 1: the target is down; kill -9 once the forwarder has failed.
	p := startProc(t, dir, args...)
	base := "http://" + p.addrs["http"]
	ev1, seg1 := forwardLoad(t, p, key, 1, 20)
	for _, target := range []string{"honeycomb", "xray"} {
		sample := `tracecomb_forward_retries_total{reason="network",target="` + target + `"}`
		for deadline := time.Now().Add(30 * time.Second); metricValue(t, base, sample) <= 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never failed against a target that is down", sample)
			}
		}
	}
	if n := metricValue(t, base, `tracecomb_forward_queued_events{target="honeycomb"}`); n != 200 {
		t.Fatalf("queued for Honeycomb: %v, want 200", n)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited

	// Round 2: restarted, still down; more events; SIGTERM cannot flush
	// them and exits 0 within --shutdown-timeout anyway.
	p = startProc(t, dir, args...)
	ev2, seg2 := forwardLoad(t, p, key, 2, 10)
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Fatalf("SIGTERM with the target down: %v", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("shutdown took %v with --shutdown-timeout 4s", took)
	}

	// The target comes up; the restarted forwarder delivers it all.
	target := startProc(t, targetDir, "--bootstrap-key", targetKey, "--http-addr", targetAddr)
	targetBase := "http://" + target.addrs["http"]
	p = startProc(t, dir, args...)
	base = "http://" + p.addrs["http"]
	got := countOnTarget(t, targetBase, targetKey, append(ev1, ev2...), append(seg1, seg2...))
	sent := 300 + 30
	for deadline := time.Now().Add(20 * time.Second); metricValue(t, base, `tracecomb_forward_queued_events{target="xray"}`) != 0 ||
		metricValue(t, base, `tracecomb_forward_queued_events{target="honeycomb"}`) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queues never emptied")
		}
	}
	redelivered := metricValue(t, base, `tracecomb_forward_redelivered_events_total{target="honeycomb"}`) +
		metricValue(t, base, `tracecomb_forward_redelivered_events_total{target="xray"}`)
	if got < sent || float64(got-sent) > redelivered {
		t.Fatalf("the target holds %d events of the %d acknowledged, %v counted as redelivered", got, sent, redelivered)
	}
	for _, target := range []string{"honeycomb", "xray"} {
		for _, reason := range []string{"queue_full", "rejected", "event_rejected", "corrupt", "enqueue_failed"} {
			if n := metricValue(t, base, `tracecomb_forward_dropped_events_total{reason="`+reason+`",target="`+target+`"}`); n != 0 {
				t.Errorf("%s dropped %v events (%s)", target, n, reason)
			}
		}
	}
	t.Logf("target holds %d events of %d sent; %v counted as redelivered", got, sent, redelivered)
}

// TestForwardKill9MidRequestCountsTheDuplicates: the target gets a batch
// whose answer the forwarding process never reads (it is killed while a
// proxy holds the answer back). The restarted process sends that batch
// again: the target holds it twice, and exactly those events are counted
// in tracecomb_forward_redelivered_events_total. The proxy passes requests
// unchanged to a second tracecomb process, which checks the key and the
// Events API's limits.
func TestForwardKill9MidRequestCountsTheDuplicates(t *testing.T) {
	t.Parallel() // its own processes; mostly waits on them
	const key, targetKey = "forward-source-key-0123456789", "forward-target-key-0123456789"
	target := startProc(t, t.TempDir(), "--bootstrap-key", targetKey)
	targetBase := "http://" + target.addrs["http"]
	held, release, passed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var first sync.Once
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		hold := false
		first.Do(func() { hold = true })
		if hold {
			close(held)
			<-release // the sender is killed meanwhile
		}
		req, _ := http.NewRequestWithContext(context.Background(), r.Method, targetBase+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if hold {
			close(passed) // the held batch reached the target
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body) //nolint:errcheck
	}))
	defer proxy.Close()

	dir := t.TempDir()
	args := []string{"--bootstrap-key", key, "--metrics-public", "--forward-honeycomb", proxy.URL, "--forward-key", targetKey}
	p := startProc(t, dir, args...)
	events, _ := forwardLoad(t, p, key, 3, 20)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the forwarder never sent")
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	close(release)

	p = startProc(t, dir, args...)
	base := "http://" + p.addrs["http"]
	countOnTarget(t, targetBase, targetKey, events, nil)
	for deadline := time.Now().Add(20 * time.Second); metricValue(t, base, `tracecomb_forward_queued_events{target="honeycomb"}`) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queue never emptied")
		}
	}
	<-passed
	got := countOnTarget(t, targetBase, targetKey, events, nil) // everything sent is answered: the count is final
	redelivered := metricValue(t, base, `tracecomb_forward_redelivered_events_total{target="honeycomb"}`)
	if redelivered <= 0 || float64(got-200) != redelivered {
		t.Fatalf("the target holds %d events of 200 sent; %v counted as redelivered", got, redelivered)
	}
	t.Logf("the target holds %d events of 200 sent; %v counted as redelivered", got, redelivered)
}
