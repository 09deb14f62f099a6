package app

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// awsCLI returns the AWS CLI the lesson uses (Debian's awscli).
func awsCLI(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TRACECOMB_AWS_CLI")
	if p == "" {
		p = "/usr/bin/aws"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the AWS CLI is needed (apt-get install awscli; the test command installs it): %v", err)
	}
	return p
}

// runAWS runs one aws xray command against endpoint and decodes its JSON output.
func runAWS(t *testing.T, env []string, endpoint string, out any, args ...string) {
	t.Helper()
	cmd := exec.Command(awsCLI(t), append([]string{"--endpoint-url", endpoint, "--output", "json", "xray"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws xray %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("aws xray %s: %v in %s", args[0], err, b)
		}
	}
}

// sendSegment sends one segment datagram the way the X-Ray SDKs do.
func sendSegment(t *testing.T, addr string, doc map[string]any) {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body, _ := json.Marshal(doc)
	if _, err := conn.Write(append([]byte("{\"format\": \"json\", \"version\": 1}\n"), body...)); err != nil {
		t.Fatal(err)
	}
}

// TestLessonXRayCommandsAgainstTheBinary runs the lesson's X-Ray commands,
// and the reads that follow them, with the real AWS CLI against a running
// tracecomb: unsigned on the daemon door, SigV4-signed on the API door with
// a key pair from `tracecomb keys create --aws`.
func TestLessonXRayCommandsAgainstTheBinary(t *testing.T) {
	t.Parallel() // its own process; mostly waits on it and the AWS CLI
	dir := t.TempDir()
	p := startProc(t, dir, "--bootstrap-key", "xray-key-0123456789")
	daemon := "http://" + p.addrs["xray"]
	unsigned := []string{"AWS_ACCESS_KEY_ID=anything", "AWS_SECRET_ACCESS_KEY=anything", "AWS_DEFAULT_REGION=us-west-1"}

	// The lesson's three commands.
	var group struct {
		Group struct{ GroupName, FilterExpression string }
	}
	runAWS(t, unsigned, daemon, &group, "create-group", "--group-name", "Cruddur", "--filter-expression", `service("backend-flask")`)
	if group.Group.GroupName != "Cruddur" || group.Group.FilterExpression != `service("backend-flask")` {
		t.Fatalf("create-group: %+v", group)
	}
	rule := filepath.Join(dir, "xray.json")
	os.WriteFile(rule, []byte(`{"SamplingRule":{"RuleName":"Cruddur","ResourceARN":"*","Priority":9000,"FixedRate":0.1,"ReservoirSize":5,"ServiceName":"backend-flask","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}}`), 0o644)
	runAWS(t, unsigned, daemon, nil, "create-sampling-rule", "--cli-input-json", "file://"+rule)

	// Segments from an "SDK": a root with a remote call, and a fault.
	now := time.Now()
	epoch := float64(now.UnixNano()) / 1e9
	traceOK := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xabc1)
	traceFault := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xabc2)
	sendSegment(t, p.addrs["xray"], map[string]any{
		"name": "backend-flask", "id": "70de5b6f19ff9a0a", "trace_id": traceOK, "start_time": epoch - 0.2, "end_time": epoch,
		"http":        map[string]any{"request": map[string]any{"method": "GET", "url": "http://localhost:4567/api/activities/home"}, "response": map[string]any{"status": 200}},
		"annotations": map[string]any{"user_handle": "andrewbrown"},
		"subsegments": []any{map[string]any{"name": "api.example.com", "id": "70de5b6f19ff9a0b", "namespace": "remote", "start_time": epoch - 0.15, "end_time": epoch - 0.05,
			"http": map[string]any{"request": map[string]any{"method": "GET", "url": "http://api.example.com/"}, "response": map[string]any{"status": 200}}}},
	})
	sendSegment(t, p.addrs["xray"], map[string]any{
		"name": "backend-flask", "id": "70de5b6f19ff9a0c", "trace_id": traceFault, "start_time": epoch - 0.1, "end_time": epoch, "fault": true,
		"http": map[string]any{"request": map[string]any{"method": "POST", "url": "http://localhost:4567/api/activities"}, "response": map[string]any{"status": 500}},
	})

	start, end := fmt.Sprint(now.Unix()-600), fmt.Sprint(now.Unix()+60)
	var graph struct {
		Services []struct {
			Name              string
			Type              string
			Edges             []struct{ ReferenceId int }
			SummaryStatistics *struct {
				OkCount, TotalCount int
				FaultStatistics     struct{ TotalCount int }
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		runAWS(t, unsigned, daemon, &graph, "get-service-graph", "--start-time", start, "--end-time", end)
		found := false
		for _, s := range graph.Services {
			if s.Name == "backend-flask" && s.Type != "client" && s.SummaryStatistics != nil && s.SummaryStatistics.TotalCount == 2 {
				found = true
				if s.SummaryStatistics.OkCount != 1 || s.SummaryStatistics.FaultStatistics.TotalCount != 1 || len(s.Edges) != 1 {
					t.Fatalf("backend-flask node: %+v", s)
				}
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service graph never showed both segments: %+v", graph)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The reads that follow in the lesson's console, from the CLI.
	var sums struct {
		TraceSummaries []struct {
			Id       string
			HasFault bool
		}
	}
	runAWS(t, unsigned, daemon, &sums, "get-trace-summaries", "--start-time", start, "--end-time", end, "--filter-expression", `service("backend-flask") AND annotation.user_handle = "andrewbrown"`)
	if len(sums.TraceSummaries) != 1 || sums.TraceSummaries[0].Id != traceOK {
		t.Fatalf("summaries by annotation: %+v", sums)
	}
	runAWS(t, unsigned, daemon, &sums, "get-trace-summaries", "--start-time", start, "--end-time", end, "--filter-expression", "fault")
	if len(sums.TraceSummaries) != 1 || sums.TraceSummaries[0].Id != traceFault || !sums.TraceSummaries[0].HasFault {
		t.Fatalf("summaries by fault: %+v", sums)
	}
	var traces struct {
		Traces []struct {
			Id       string
			Segments []struct{ Document string }
		}
		UnprocessedTraceIds []string
	}
	missing := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xdead)
	runAWS(t, unsigned, daemon, &traces, "batch-get-traces", "--trace-ids", traceOK, missing)
	// One document per segment (the remote call embedded in it) plus the
	// inferred document of the remote service, as X-Ray answers.
	if len(traces.Traces) != 1 || traces.Traces[0].Id != traceOK || len(traces.Traces[0].Segments) != 2 ||
		!strings.Contains(traces.Traces[0].Segments[0].Document, `"subsegments":[{`) ||
		!strings.Contains(traces.Traces[0].Segments[1].Document, `"inferred":true`) ||
		len(traces.UnprocessedTraceIds) != 1 || traces.UnprocessedTraceIds[0] != missing {
		t.Fatalf("batch-get-traces: %+v", traces)
	}

	// The API door: signed with a key pair tracecomb issued, same environment.
	out, err := exec.Command(tracecombBinary(t), "keys", "create", "--aws", "--env", "test", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("keys create --aws: %v\n%s", err, out)
	}
	var signed []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "AWS_") {
			signed = append(signed, line)
		}
	}
	signed = append(signed, "AWS_DEFAULT_REGION=us-west-1")
	api := "http://" + p.addrs["http"]
	var rules struct {
		SamplingRuleRecords []struct{ SamplingRule struct{ RuleName string } }
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		cmd := exec.Command(awsCLI(t), "--endpoint-url", api, "--output", "json", "xray", "get-sampling-rules")
		cmd.Env = append(os.Environ(), signed...)
		b, err := cmd.CombinedOutput()
		if err == nil {
			json.Unmarshal(b, &rules) //nolint:errcheck // checked below
			break
		}
		if time.Now().After(deadline) { // the server reloads new keys within 250 ms
			t.Fatalf("signed get-sampling-rules: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	names := []string{}
	for _, r := range rules.SamplingRuleRecords {
		names = append(names, r.SamplingRule.RuleName)
	}
	if strings.Join(names, ",") != "Cruddur,Default" {
		t.Fatalf("get-sampling-rules on the API door: %v", names)
	}
	var groups struct{ Groups []struct{ GroupName string } }
	runAWS(t, signed, api, &groups, "get-groups")
	gotCruddur := false
	for _, g := range groups.Groups {
		gotCruddur = gotCruddur || g.GroupName == "Cruddur"
	}
	if !gotCruddur {
		t.Fatalf("get-groups: %+v", groups)
	}
	// Unsigned on the API door: AWS's error.
	cmd := exec.Command(awsCLI(t), "--endpoint-url", api, "--no-sign-request", "xray", "get-groups")
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-west-1")
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "MissingAuthenticationTokenException") {
		t.Fatalf("unsigned call on the API door: %v %s", err, b)
	}
}

// TestDaemonCommandForwardsToServer runs `tracecomb daemon` as the X-Ray
// daemon of another host: segments it receives reach the server, and
// sampling calls pass through to it.
func TestDaemonCommandForwardsToServer(t *testing.T) {
	t.Parallel() // its own processes; mostly waits on them
	dir := t.TempDir()
	p := startProc(t, dir, "--bootstrap-key", "fwd-key-0123456789")

	// A free port for the forwarder (UDP and TCP on the same number).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "cfg.yaml")
	os.WriteFile(cfg, []byte("Endpoint: \"http://"+p.addrs["xray"]+"\"\nVersion: 2\n"), 0o644)
	d := exec.Command(tracecombBinary(t), "daemon", "-c", cfg, "-b", addr, "-t", addr, "-o", "-l", "info")
	d.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=")
	var logs syncBuffer
	d.Stderr = &logs
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Signal(syscall.SIGTERM); d.Wait() }) //nolint:errcheck
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "tracecomb daemon started") {
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	now := time.Now()
	traceID := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xf00d)
	epoch := float64(now.UnixNano()) / 1e9
	sendSegment(t, addr, map[string]any{"name": "remote-host-app", "id": "1111222233334444", "trace_id": traceID, "start_time": epoch - 0.05, "end_time": epoch})

	// The segment arrives (after the forwarder's 1 s idle flush) as a span.
	hexID := strings.ReplaceAll(traceID[2:], "-", "")
	var tr traceResponse
	for getJSON(t, "http://"+p.addrs["http"]+"/api/traces/"+hexID, "fwd-key-0123456789", &tr) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("forwarded segment never stored; daemon log:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(tr.Events) != 1 || tr.Events[0]["service.name"] != "remote-host-app" || tr.Events[0]["span.kind"] != "server" {
		t.Fatalf("forwarded span: %v", tr.Events)
	}
	// Sampling rules come through the forwarder's TCP port.
	var rules struct {
		SamplingRuleRecords []struct{ SamplingRule struct{ RuleName string } }
	}
	runAWS(t, []string{"AWS_ACCESS_KEY_ID=a", "AWS_SECRET_ACCESS_KEY=b", "AWS_DEFAULT_REGION=us-east-1"}, "http://"+addr, &rules, "get-sampling-rules")
	if len(rules.SamplingRuleRecords) != 1 || rules.SamplingRuleRecords[0].SamplingRule.RuleName != "Default" {
		t.Fatalf("sampling rules through the forwarder: %+v", rules)
	}
}
