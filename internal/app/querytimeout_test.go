package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestConfigQueryTimeouts: --query-timeout and --xray-query-timeout
// default to 10 s and 30 s, are read from their environment variables,
// the flags win, and a budget of zero is refused.
func TestConfigQueryTimeouts(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		env         map[string]string
		query, xray time.Duration
		err         string
	}{
		{query: 10 * time.Second, xray: 30 * time.Second},
		{env: map[string]string{"TRACECOMB_QUERY_TIMEOUT": "3s", "TRACECOMB_XRAY_QUERY_TIMEOUT": "1m"}, query: 3 * time.Second, xray: time.Minute},
		{env: map[string]string{"TRACECOMB_QUERY_TIMEOUT": "3s"}, args: []string{"-query-timeout", "20s", "-xray-query-timeout", "5s"}, query: 20 * time.Second, xray: 5 * time.Second},
		{args: []string{"-query-timeout", "0s"}, err: "--query-timeout"},
		{args: []string{"-xray-query-timeout", "-1s"}, err: "--xray-query-timeout"},
	} {
		t.Run(strings.Join(tc.args, " ")+strings.Join(slices.Sorted(maps.Keys(tc.env)), " "), func(t *testing.T) {
			c, err := serveConfig(t, tc.args, tc.env)
			if !configOK(t, err, tc.err) {
				return
			}
			if c.QueryTimeout != tc.query || c.XRayQueryTimeout != tc.xray {
				t.Errorf("query timeout %v, X-Ray %v; want %v, %v", c.QueryTimeout, c.XRayQueryTimeout, tc.query, tc.xray)
			}
		})
	}
}

// TestQueryTimeoutsDocumented: docs/limits.md gives the defaults and flags
// as they are.
func TestQueryTimeoutsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/limits.md")
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	for _, row := range []string{
		"| Query API time budget | " + seconds(d.QueryTimeout) + " | `--query-timeout` (`TRACECOMB_QUERY_TIMEOUT`) |",
		"| X-Ray read time budget | " + seconds(d.XRayQueryTimeout) + " | `--xray-query-timeout` (`TRACECOMB_XRAY_QUERY_TIMEOUT`) |",
	} {
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/limits.md lacks the row %q", row)
		}
	}
}

// TestConfigTriggerTick: --trigger-tick defaults to 10 s, is read from
// TRACECOMB_TRIGGER_TICK, the flag wins, zero is refused, and
// docs/limits.md gives it.
func TestConfigTriggerTick(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
		err  string
	}{
		{want: 10 * time.Second},
		{env: map[string]string{"TRACECOMB_TRIGGER_TICK": "30s"}, want: 30 * time.Second},
		{env: map[string]string{"TRACECOMB_TRIGGER_TICK": "30s"}, args: []string{"-trigger-tick", "1m"}, want: time.Minute},
		{args: []string{"-trigger-tick", "0s"}, err: "--trigger-tick"},
	} {
		t.Run(strings.Join(tc.args, " ")+strings.Join(slices.Sorted(maps.Keys(tc.env)), " "), func(t *testing.T) {
			c, err := serveConfig(t, tc.args, tc.env)
			if !configOK(t, err, tc.err) {
				return
			}
			if c.TriggerTick != tc.want {
				t.Errorf("trigger tick %v, want %v", c.TriggerTick, tc.want)
			}
		})
	}
	doc, err := os.ReadFile("../../docs/limits.md")
	if err != nil {
		t.Fatal(err)
	}
	row := "| Trigger evaluation tick | " + seconds(DefaultConfig().TriggerTick) + " | `--trigger-tick` (`TRACECOMB_TRIGGER_TICK`) |"
	if !strings.Contains(string(doc), row) {
		t.Errorf("docs/limits.md lacks the row %q", row)
	}
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d/time.Second)) + " s" }

// TestQueryTimeoutsReachTheAPIs: the budgets given on the command line are
// the ones the Query API and the X-Ray API apply; with 1 ns every run is
// past them (over a store with an event at each door): 504 from /1/query_results, ThrottledException from
// GetTraceSummaries on the daemon door, and both doors keep answering.
func TestQueryTimeoutsReachTheAPIs(t *testing.T) {
	const key = "test-bootstrap-key-0123456789"
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.BindFlags(fs)
	if err := fs.Parse([]string{"-query-timeout", "1ns", "-xray-query-timeout", "1ns"}); err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.BootstrapKey = t.TempDir(), key
	cfg.HTTPAddr, cfg.XRayAddr, cfg.OTLPGRPCAddr, cfg.UIAddr = "127.0.0.1:0", "127.0.0.1:0", "", ""
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	post := func(url, body string, hdr map[string]string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	ev := model.Event{Dataset: "svc", ServiceName: "svc", Time: time.Now().Add(-time.Minute), Name: "op", SampleRate: 1, Source: model.SourceOTLP}
	ev.TraceID[0], ev.SpanID[0] = 1, 1
	if err := a.store.Write(context.Background(), []store.Batch{{Env: "test", Events: []model.Event{ev}},
		{Env: store.DoorEnv("test", model.DoorXRay), Events: []model.Event{ev}}}); err != nil {
		t.Fatal(err)
	}
	api := "http://" + a.Addrs().HTTP
	team := map[string]string{"X-Honeycomb-Team": key}
	code, _, body := post(api+"/1/queries/__all__", `{"calculations":[{"op":"COUNT"}],"time_range":600}`, team)
	var q struct{ ID string }
	if err := json.Unmarshal([]byte(body), &q); code != 200 || err != nil {
		t.Fatalf("create query: %d %s", code, body)
	}
	code, _, body = post(api+"/1/query_results/__all__", `{"query_id":"`+q.ID+`"}`, team)
	if code != http.StatusGatewayTimeout || !strings.Contains(body, "time budget of 1ns (--query-timeout)") {
		t.Fatalf("a query run with --query-timeout 1ns: %d %s", code, body)
	}
	if code, _, body := post(api+"/1/queries/__all__", `{"calculations":[{"op":"COUNT"}],"time_range":600}`, team); code != 200 {
		t.Fatalf("the Query API after a timeout: %d %s", code, body)
	}

	xray := "http://" + a.Addrs().XRay
	now := time.Now().Unix()
	code, hdr, body := post(xray+"/TraceSummaries", `{"StartTime":`+strconv.FormatInt(now-600, 10)+`,"EndTime":`+strconv.FormatInt(now, 10)+`}`, nil)
	if code != http.StatusTooManyRequests || hdr.Get("X-Amzn-ErrorType") != "ThrottledException" || !strings.Contains(body, "(--xray-query-timeout)") {
		t.Fatalf("GetTraceSummaries with --xray-query-timeout 1ns: %d %s %s", code, hdr.Get("X-Amzn-ErrorType"), body)
	}
	if code, _, body := post(xray+"/GetSamplingRules", `{}`, nil); code != 200 {
		t.Fatalf("the daemon door after a timeout: %d %s", code, body)
	}
}
