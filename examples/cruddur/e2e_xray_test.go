package cruddur_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// aws runs the aws CLI (or a bin/ script) against tracecomb's daemon door,
// unsigned like the real daemon's proxy, and decodes its JSON answer.
func (l *lesson) aws(t *testing.T, out any, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL=http://"+l.xrayAddr, "XRAY_NO_SIGN_REQUEST=1", "AWS_REGION=us-west-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
	b, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, b, stderr)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
	}
}

func awsCLI() string {
	if p := os.Getenv("TRACECOMB_AWS_CLI"); p != "" {
		return p
	}
	return "/usr/bin/aws"
}

// TestLessonXRay runs the lesson's X-Ray steps (bin/ scripts and the aws
// CLI) against tracecomb's daemon door while the backend sends segments.
func TestLessonXRay(t *testing.T) {
	t.Parallel() // its own tracecomb and backend processes; mostly waits on them
	l := startTracecomb(t)

	// The lesson's group and rule, with the scripts the README shows.
	var group struct {
		Group struct{ GroupName, FilterExpression string }
	}
	l.aws(t, &group, "../../bin/xray-create-group")
	if group.Group.GroupName != "Cruddur" || group.Group.FilterExpression != `service("backend-flask")` {
		t.Errorf("group %+v", group.Group)
	}
	var rule struct {
		SamplingRuleRecord struct{ SamplingRule map[string]any }
	}
	l.aws(t, &rule, "../../bin/xray-create-sampling-rule")
	if r := rule.SamplingRuleRecord.SamplingRule; r["RuleName"] != "Cruddur" || r["FixedRate"] != 0.1 || r["ReservoirSize"] != float64(5) {
		t.Errorf("rule %v", r)
	}
	// A rule ahead of the lesson's that samples every request, so that the
	// counts below are exact.
	l.aws(t, nil, awsCLI(), "xray", "create-sampling-rule", "--endpoint-url", "http://"+l.xrayAddr, "--no-sign-request",
		"--sampling-rule", `{"RuleName":"e2e-all","ResourceARN":"*","Priority":1,"FixedRate":1,"ReservoirSize":0,`+
			`"ServiceName":"backend-flask","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}`)

	l.startBackend(t)
	// The SDK fetches the rules after its first sampling decision; ask for
	// decisions (Sampled=?) until the all-sampling rule is in force.
	inForce := 0
	deadline := time.Now().Add(waitBound)
	for inForce < 10 && time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", l.base+"/api/message_groups", nil)
		req.Header.Set("X-Amzn-Trace-Id", "Sampled=?")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if strings.Contains(resp.Header.Get("X-Amzn-Trace-Id"), "Sampled=1") {
			inForce++
		} else {
			inForce = 0
			time.Sleep(100 * time.Millisecond)
		}
	}
	if inForce < 10 {
		t.Fatal("the backend never applied the sampling rule from tracecomb")
	}
	start := time.Now().Add(-time.Minute)

	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(l.base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		root, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Trace-Id"), ";")
		return strings.TrimPrefix(root, "Root=")
	}
	var andrew []string
	for range 3 {
		andrew = append(andrew, get("/api/activities/@andrewbrown"))
	}
	worf := get("/api/activities/@worf")
	home := get("/api/activities/home")
	nobody := get("/api/activities/@nobody") // 404: an error
	http.DefaultClient.CloseIdleConnections()
	l.backend.stop(t)

	end := time.Now().Add(time.Minute)
	window := []string{"--start-time", fmt.Sprint(start.Unix()), "--end-time", fmt.Sprint(end.Unix())}
	// summaries polls get-trace-summaries until done accepts the trace ids.
	summaries := func(filter string, done func([]string) bool) []string {
		t.Helper()
		var out struct{ TraceSummaries []struct{ Id string } }
		args := append([]string{"xray", "get-trace-summaries", "--endpoint-url", "http://" + l.xrayAddr, "--no-sign-request",
			"--filter-expression", filter}, window...)
		var ids []string
		deadline := time.Now().Add(waitBound)
		for time.Now().Before(deadline) {
			l.aws(t, &out, awsCLI(), args...)
			ids = ids[:0]
			for _, s := range out.TraceSummaries {
				ids = append(ids, s.Id)
			}
			if done(ids) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		slices.Sort(ids)
		return ids
	}
	has := func(want ...string) func([]string) bool {
		return func(ids []string) bool {
			for _, w := range want {
				if !slices.Contains(ids, w) {
					return false
				}
			}
			return true
		}
	}

	byService := summaries(`service("backend-flask")`, has(home, worf, nobody))
	if !has(append(slices.Clone(andrew), worf, home, nobody)...)(byService) {
		t.Errorf(`service("backend-flask"): %v lacks some of %v %s %s %s`, byService, andrew, worf, home, nobody)
	}
	byAnnotation := summaries(`annotation.user_handle = "andrewbrown"`, func(ids []string) bool { return len(ids) >= len(andrew) })
	slices.Sort(andrew)
	if !slices.Equal(byAnnotation, andrew) {
		t.Errorf(`annotation.user_handle = "andrewbrown": %v, want %v`, byAnnotation, andrew)
	}
	// Per trace, every request counts once: one trace with an error.
	withError := summaries(`service("backend-flask") { error = true }`, has(nobody))
	if !slices.Equal(withError, []string{nobody}) {
		t.Errorf(`service("backend-flask") { error = true }: %v, want [%s]`, withError, nobody)
	}

	var graph struct {
		Services []struct {
			Name              string
			Type              string
			SummaryStatistics struct {
				OkCount         int
				ErrorStatistics struct{ TotalCount int }
				FaultStatistics struct{ TotalCount int }
				TotalCount      int
			}
			Edges []struct{ ReferenceId int }
		}
	}
	var rawGraph json.RawMessage
	l.aws(t, &rawGraph, "../../bin/xray-service-graph", "600")
	if err := json.Unmarshal(rawGraph, &graph); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range graph.Services {
		if s.Name != "backend-flask" || s.Type == "client" {
			continue
		}
		found = true
		st := s.SummaryStatistics
		// The X-Ray API reads only what was sent to X-Ray, so the OTel spans
		// of the same requests are not counted: the one 404 is exactly one
		// error.
		if st.ErrorStatistics.TotalCount != 1 || st.FaultStatistics.TotalCount != 0 {
			t.Errorf("backend-flask errors %d faults %d, want exactly 1 and 0", st.ErrorStatistics.TotalCount, st.FaultStatistics.TotalCount)
		}
		// 3 + 1 user feeds, home and its /api/health call, at least 10 warm-ups.
		if st.OkCount < 16 || st.TotalCount != st.OkCount+st.ErrorStatistics.TotalCount+st.FaultStatistics.TotalCount {
			t.Errorf("backend-flask statistics %+v, want at least 16 ok and a consistent total", st)
		}
		if len(s.Edges) == 0 {
			t.Error("backend-flask has no edge for its outgoing call")
		}
	}
	if !found {
		t.Errorf("no backend-flask service in the graph: %s", rawGraph)
	}
}

// TestJoinedView turns on CRUDDUR_SHARE_TRACE_ID, which is not in the
// lesson, so that both SDKs trace a request under one id: tracecomb's own
// trace API (not Honeycomb's, not X-Ray's) then shows the X-Ray segment as
// a child of the OpenTelemetry server span, each event marked with the
// door it was sent to and its encoding.
func TestJoinedView(t *testing.T) {
	t.Parallel() // its own tracecomb and backend processes; mostly waits on them
	l := startTracecomb(t)
	// The request carries no X-Amzn-Trace-Id (the bridge derives one), so
	// X-Ray's rules decide: this one samples everything, and before the
	// SDK has fetched it its local fallback samples the first request of
	// each second.
	l.aws(t, nil, awsCLI(), "xray", "create-sampling-rule", "--endpoint-url", "http://"+l.xrayAddr, "--no-sign-request",
		"--sampling-rule", `{"RuleName":"e2e-all","ResourceARN":"*","Priority":1,"FixedRate":1,"ReservoirSize":0,`+
			`"ServiceName":"backend-flask","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}`)
	l.startBackend(t, "CRUDDUR_SHARE_TRACE_ID=1")
	req, _ := http.NewRequest("GET", l.base+"/api/activities/home", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	root, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Trace-Id"), ";")
	homeID := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(root, "Root="), "1-"), "-", "")
	if len(homeID) != 32 {
		t.Fatalf("X-Amzn-Trace-Id %q", resp.Header.Get("X-Amzn-Trace-Id"))
	}
	http.DefaultClient.CloseIdleConnections()
	l.backend.stop(t)

	events := readTrace(t, "http://"+l.httpAddr, homeID, func(evs []map[string]any) bool {
		return find(evs, kind("server"), named("backend-flask")) != nil && find(evs, named("GET /api/activities/home")) != nil
	})
	otelServer := find(events, kind("server"), named("GET /api/activities/home"))
	underOTel := func(e map[string]any) bool { return e["trace.parent_id"] == otelServer["trace.span_id"] }
	segment := find(events, kind("server"), named("backend-flask"), underOTel)
	if segment == nil {
		t.Fatalf("no X-Ray segment under the OTel server span %v in %v", otelServer["trace.span_id"], events)
	}
	if otelServer["meta.tracecomb.door"] != "honeycomb" || otelServer["meta.tracecomb.source"] != "otlp" {
		t.Errorf("OTel server span marked door %v source %v", otelServer["meta.tracecomb.door"], otelServer["meta.tracecomb.source"])
	}
	if segment["meta.tracecomb.door"] != "xray" || segment["meta.tracecomb.source"] != "xray" {
		t.Errorf("X-Ray segment marked door %v source %v", segment["meta.tracecomb.door"], segment["meta.tracecomb.source"])
	}
}

// TestLessonScriptRegion: `make lesson` starts tracecomb with the lesson's
// region (us-west-1, unless AWS_REGION says otherwise), so the ARNs of the
// group and rule it creates name the region the lesson's console links do.
func TestLessonScriptRegion(t *testing.T) {
	b, err := os.ReadFile("../../bin/cruddur-lesson")
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	serve, _, _ := strings.Cut(script[strings.Index(script, `"$root/bin/tracecomb" serve`):], "&\n")
	if !strings.Contains(serve, `--aws-region "${AWS_REGION:-us-west-1}"`) {
		t.Errorf("the lesson script starts tracecomb without the lesson's region:\n%s", serve)
	}
	if !strings.Contains(script, `AWS_REGION="${AWS_REGION:-us-west-1}"`) {
		t.Error("the lesson script gives the backend another region than tracecomb")
	}
}
