package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestChaosKill9: 20 times, tracecomb takes OTLP spans, Events API batches
// and X-Ray PutTraceSegments from three senders at once and is killed with
// SIGKILL at a random moment. Everything it acknowledged (a 200 to OTLP, a
// 202 to an event, a 200 without unprocessed segments to X-Ray) is there
// after the last restart. A longer run: TRACECOMB_CHAOS_CYCLES=200
// (docs/durability.md has its command and result).
func TestChaosKill9(t *testing.T) {
	t.Parallel() // its own data directory and processes; mostly waits on them
	const key = "chaos-key-0123456789abcdef"
	cycles := envInt("TRACECOMB_CHAOS_CYCLES", 20)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	var mu sync.Mutex
	acked := map[string]bool{} // eid of acknowledged OTLP spans and events
	var segments []string      // X-Ray trace ids of acknowledged segments
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(url, ct string, body []byte, hdr map[string]string) (int, []byte, error) {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	keyHdr := map[string]string{"X-Honeycomb-Team": key}
	for cycle := range cycles {
		p := startProc(t, dir, "--bootstrap-key", key)
		base, xray := "http://"+p.addrs["http"], "http://"+p.addrs["xray"]
		stop := make(chan struct{})
		var senders sync.WaitGroup
		send := func(fn func(n int)) {
			senders.Add(1)
			go func() {
				defer senders.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					fn(n)
				}
			}()
		}
		send(func(n int) { // OTLP/HTTP, 10 spans a request
			var spans []string
			var eids []string
			for i := range 10 {
				eid := fmt.Sprintf("o-%d-%d-%d", cycle, n, i)
				eids = append(eids, eid)
				now := time.Now().UnixNano()
				spans = append(spans, fmt.Sprintf(`{"traceId":"%032x","spanId":"%016x","name":"op","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[{"key":"eid","value":{"stringValue":%q}},{"key":"cycle","value":{"intValue":"%d"}}]}`,
					rand.Uint64()|1, rand.Uint64()|1, now, now+1000, eid, cycle))
			}
			body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chaos"}}]},"scopeSpans":[{"spans":[` + strings.Join(spans, ",") + `]}]}]}`
			if code, _, err := post(base+"/v1/traces", "application/json", []byte(body), keyHdr); err == nil && code == 200 {
				mu.Lock()
				for _, e := range eids {
					acked[e] = true
				}
				mu.Unlock()
			}
		})
		send(func(n int) { // Events API, 10 events a batch
			var events []string
			var eids []string
			for i := range 10 {
				eid := fmt.Sprintf("e-%d-%d-%d", cycle, n, i)
				eids = append(eids, eid)
				events = append(events, fmt.Sprintf(`{"data":{"eid":%q,"cycle":%d,"service.name":"chaos"}}`, eid, cycle))
			}
			code, b, err := post(base+"/1/batch/chaos", "application/json", []byte("["+strings.Join(events, ",")+"]"), keyHdr)
			var statuses []struct{ Status int }
			if err != nil || code != 200 || json.Unmarshal(b, &statuses) != nil || len(statuses) != len(eids) {
				return
			}
			mu.Lock()
			for i, s := range statuses {
				if s.Status == 202 {
					acked[eids[i]] = true
				}
			}
			mu.Unlock()
		})
		send(func(n int) { // X-Ray PutTraceSegments on the daemon door
			now := float64(time.Now().UnixNano()) / 1e9
			id := fmt.Sprintf("1-%08x-%024x", uint32(now), rand.Uint64()|1)
			doc := fmt.Sprintf(`{"name":"chaos","id":"%016x","trace_id":%q,"start_time":%f,"end_time":%f}`, rand.Uint64()|1, id, now-0.01, now)
			body, _ := json.Marshal(map[string][]string{"TraceSegmentDocuments": {doc}})
			code, b, err := post(xray+"/TraceSegments", "application/json", body, nil)
			if err == nil && code == 200 && strings.Contains(string(b), `"UnprocessedTraceSegments":[]`) {
				mu.Lock()
				segments = append(segments, id)
				mu.Unlock()
			}
		})
		time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		close(stop)
		senders.Wait()
	}
	if len(acked) == 0 || len(segments) == 0 {
		t.Fatalf("nothing was acknowledged (%d events, %d segments): the test proves nothing", len(acked), len(segments))
	}

	p := startProc(t, dir)
	base, xray := "http://"+p.addrs["http"], "http://"+p.addrs["xray"]
	// Every acknowledged event, by its eid, one query per cycle.
	stored := map[string]bool{}
	for cycle := range cycles {
		spec := fmt.Sprintf(`{"calculations":[{"op":"COUNT"}],"breakdowns":["eid"],"filters":[{"column":"cycle","op":"=","value":%d}],"time_range":86400}`, cycle)
		code, b, err := post(base+"/1/queries/__all__", "application/json", []byte(spec), keyHdr)
		var q struct{ ID string }
		if err != nil || code != 200 || json.Unmarshal(b, &q) != nil {
			t.Fatalf("create query: %d %s %v", code, b, err)
		}
		code, b, err = post(base+"/1/query_results/__all__", "application/json", []byte(`{"query_id":"`+q.ID+`","disable_series":true,"limit":10000}`), keyHdr)
		var res struct{ ID string }
		if err != nil || code != 201 || json.Unmarshal(b, &res) != nil {
			t.Fatalf("create result: %d %s %v", code, b, err)
		}
		var out struct {
			Complete bool
			Data     struct {
				Results []struct{ Data map[string]any }
			}
		}
		for deadline := time.Now().Add(60 * time.Second); !out.Complete; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("query result never completed")
			}
			getJSON(t, base+"/1/query_results/__all__/"+res.ID, key, &out)
		}
		if len(out.Data.Results) >= 10000 {
			t.Fatalf("cycle %d stored too many events to check in one result", cycle)
		}
		for _, r := range out.Data.Results {
			if e, ok := r.Data["eid"].(string); ok {
				stored[e] = true
			}
		}
	}
	lost := 0
	for e := range acked {
		if !stored[e] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged spans and events lost after %d kills", lost, len(acked), cycles)
	}
	// Every acknowledged X-Ray segment, five trace ids a call.
	missing := 0
	for i := 0; i < len(segments); i += 5 {
		ids := segments[i:min(i+5, len(segments))]
		body, _ := json.Marshal(map[string][]string{"TraceIds": ids})
		code, b, err := post(xray+"/Traces", "application/json", body, nil)
		var tr struct{ Traces []struct{ Id string } }
		if err != nil || code != 200 || json.Unmarshal(b, &tr) != nil {
			t.Fatalf("BatchGetTraces: %d %s %v", code, b, err)
		}
		missing += len(ids) - len(tr.Traces)
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged X-Ray segments lost after %d kills", missing, len(segments), cycles)
	}
	t.Logf("%d kills: %d spans and events, %d segments acknowledged, none lost", cycles, len(acked), len(segments))
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(os.Getenv(name)), &n); err != nil || n <= 0 {
		return def
	}
	return n
}
