package xray

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xraysampling "github.com/aws/aws-xray-sdk-go/strategy/sampling"
	xraysdk "github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"

	"github.com/tracecomb/tracecomb/internal/ingest"
	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// e2eServer is tracecomb's X-Ray side put together from its real parts: a
// DuckDB store, the ingest batcher, the UDP daemon and the API handler.
type e2eServer struct {
	api    *httptest.Server
	daemon *xrayingest.Daemon
}

func startE2E(t *testing.T) *e2eServer {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "tc.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := ingest.NewBatcher(ingest.BatcherConfig{}, func(ctx context.Context, groups []ingest.EnvEvents) error {
		batches := make([]store.Batch, len(groups))
		for i, g := range groups {
			batches[i] = store.Batch{Env: g.Env, Events: g.Events}
		}
		return st.Write(ctx, batches)
	}, nil, nil)
	// X-Ray's doors write to the environment's X-Ray part, as the app wires them.
	xrayDoor := ingest.ConsumerFunc(func(ctx context.Context, env string, events []model.Event) error {
		return b.Consume(ctx, store.DoorEnv(env, model.DoorXRay), events)
	})
	d, err := xrayingest.NewDaemon(xrayingest.Config{Addr: "127.0.0.1:0", Env: "test", FlushInterval: 5 * time.Millisecond}, xrayDoor, xrayingest.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := sampling.New(sampling.Config{ValidateFilter: validateFilter})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Meta: m, DefaultEnv: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RegisterTraceOperations(TraceDeps{Store: st, Consumer: xrayDoor}); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	t.Cleanup(func() {
		api.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Shutdown(sctx)
		_ = b.Close(sctx)
		_ = st.Close()
	})
	return &e2eServer{api: api, daemon: d}
}

func (s *e2eServer) call(t *testing.T, path string, in any) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(in)
	resp, err := http.Post(s.api.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type graphStats struct {
	OkCount         int64
	ErrorStatistics struct{ ThrottleCount, OtherCount, TotalCount int64 }
	FaultStatistics struct{ OtherCount, TotalCount int64 }
	TotalCount      int64
}

type graphService struct {
	ReferenceId       int
	Name, Type, State string
	Root              bool
	Edges             []struct {
		ReferenceId       int
		SummaryStatistics graphStats
	}
	SummaryStatistics *graphStats
}

func findService(svcs []graphService, name, typ string) *graphService {
	for i := range svcs {
		if svcs[i].Name == name && svcs[i].Type == typ {
			return &svcs[i]
		}
	}
	return nil
}

// edgeTo returns the stats of s's edge to the node named name (type typ).
func edgeTo(svcs []graphService, s *graphService, name, typ string) *graphStats {
	to := findService(svcs, name, typ)
	if s == nil || to == nil {
		return nil
	}
	for i := range s.Edges {
		if s.Edges[i].ReferenceId == to.ReferenceId {
			return &s.Edges[i].SummaryStatistics
		}
	}
	return nil
}

// TestEndToEndXRaySDKAndCLI runs an app instrumented with aws-xray-sdk-go
// (two services, the first calling the second through xray.Client) with
// its daemon address on tracecomb's UDP daemon, then reads what it sent
// back through the X-Ray API, over HTTP and with the AWS CLI.
func TestEndToEndXRaySDKAndCLI(t *testing.T) {
	srv := startE2E(t)
	all, err := xraysampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"default":{"fixed_target":0,"rate":1.0},"rules":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	xraysdk.SetLogger(xraylog.NewDefaultLogger(io.Discard, xraylog.LogLevelError))
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", srv.daemon.Addr().String())
	if err := xraysdk.Configure(xraysdk.Config{DaemonAddr: srv.daemon.Addr().String(), SamplingStrategy: all}); err != nil {
		t.Fatal(err)
	}

	users := httptest.NewServer(xraysdk.Handler(xraysdk.NewFixedSegmentNamer("users-api"),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"user":"andrew"}`) })))
	defer users.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := xraysdk.Client(&http.Client{Transport: transport})

	backend := httptest.NewServer(xraysdk.Handler(xraysdk.NewFixedSegmentNamer("backend-flask"),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = xraysdk.AddAnnotation(r.Context(), "route", strings.TrimPrefix(r.URL.Path, "/"))
			switch r.URL.Path {
			case "/missing":
				http.Error(w, "not found", http.StatusNotFound)
			case "/busy":
				http.Error(w, "slow down", http.StatusTooManyRequests)
			case "/crash":
				http.Error(w, "boom", http.StatusInternalServerError)
			default:
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, users.URL+"/users/andrew", nil)
				resp, err := client.Do(req)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				_, _ = io.Copy(w, resp.Body)
				resp.Body.Close()
			}
		})))
	defer backend.Close()

	start := time.Now().Add(-time.Minute)
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.Transport.(*http.Transport).CloseIdleConnections()
	paths := []string{"/home", "/home", "/home", "/missing", "/missing", "/busy", "/crash"}
	for _, p := range paths {
		resp, err := plain.Get(backend.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	end := time.Now().Add(time.Minute)

	// The SDK sends asynchronously; poll the graph until every request
	// has arrived (or give up and report what is there).
	var svcs []graphService
	for deadline := time.Now().Add(15 * time.Second); ; {
		status, body := srv.call(t, "/ServiceGraph", map[string]any{"StartTime": start.Unix(), "EndTime": end.Unix()})
		if status != 200 {
			t.Fatalf("GetServiceGraph: %d %s", status, body)
		}
		var out struct {
			Services                 []graphService
			ContainsOldGroupVersions *bool
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		if out.ContainsOldGroupVersions == nil {
			t.Fatal("ContainsOldGroupVersions is missing")
		}
		svcs = out.Services
		b, u := findService(svcs, "backend-flask", ""), findService(svcs, "users-api", "")
		if b != nil && u != nil && b.SummaryStatistics.TotalCount == 7 && u.SummaryStatistics.TotalCount == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	backendNode := findService(svcs, "backend-flask", "")
	usersNode := findService(svcs, "users-api", "")
	clientNode := findService(svcs, "backend-flask", "client")
	if backendNode == nil || usersNode == nil || clientNode == nil {
		t.Fatalf("graph lacks backend-flask, users-api or the client: %+v", svcs)
	}
	want := graphStats{OkCount: 3, TotalCount: 7}
	want.ErrorStatistics.ThrottleCount, want.ErrorStatistics.OtherCount, want.ErrorStatistics.TotalCount = 1, 2, 3
	want.FaultStatistics.OtherCount, want.FaultStatistics.TotalCount = 1, 1
	if *backendNode.SummaryStatistics != want {
		t.Errorf("backend-flask stats = %+v, want %+v", *backendNode.SummaryStatistics, want)
	}
	if !backendNode.Root || backendNode.State != "active" {
		t.Errorf("backend-flask Root=%v State=%q, want a root, active", backendNode.Root, backendNode.State)
	}
	if e := edgeTo(svcs, clientNode, "backend-flask", ""); e == nil || *e != want {
		t.Errorf("client → backend-flask edge = %+v, want %+v", e, want)
	}
	if s := usersNode.SummaryStatistics; s.TotalCount != 3 || s.OkCount != 3 {
		t.Errorf("users-api stats = %+v, want 3 ok", *s)
	}
	if e := edgeTo(svcs, backendNode, "users-api", ""); e == nil || e.TotalCount != 3 || e.OkCount != 3 {
		t.Errorf("backend-flask → users-api edge = %+v, want 3 ok calls", e)
	}
	for _, s := range svcs {
		if s.Type == "remote" {
			t.Errorf("inferred remote node %q: the call to users-api is continued by its segment", s.Name)
		}
	}
	if usersNode.Root {
		t.Error("users-api is marked a root; it is only called by backend-flask")
	}

	// The AWS CLI, against the same API.
	aws := newCLI(t, srv.api.URL)
	window := []string{"--start-time", strconv.FormatInt(start.Unix(), 10), "--end-time", strconv.FormatInt(end.Unix(), 10)}

	var graph struct{ Services []graphService }
	aws.json(t, &graph, append([]string{"xray", "get-service-graph"}, window...)...)
	if b := findService(graph.Services, "backend-flask", ""); b == nil || b.SummaryStatistics.TotalCount != 7 {
		t.Errorf("CLI get-service-graph: backend-flask = %+v", b)
	}

	type summaries struct {
		TraceSummaries []struct {
			Id       string
			HasFault bool
			Http     struct{ HttpStatus int }
		}
	}
	var all7 summaries
	aws.json(t, &all7, append([]string{"xray", "get-trace-summaries", "--filter-expression", `service("backend-flask")`}, window...)...)
	if len(all7.TraceSummaries) != 7 {
		t.Fatalf("CLI get-trace-summaries service(\"backend-flask\"): %d traces, want 7", len(all7.TraceSummaries))
	}
	var missing summaries
	aws.json(t, &missing, append([]string{"xray", "get-trace-summaries", "--filter-expression", `annotation.route = "missing"`}, window...)...)
	if len(missing.TraceSummaries) != 2 || missing.TraceSummaries[0].Http.HttpStatus != 404 {
		t.Errorf("CLI get-trace-summaries annotation.route = \"missing\": %+v, want 2 traces with 404", missing.TraceSummaries)
	}
	var calls summaries
	aws.json(t, &calls, append([]string{"xray", "get-trace-summaries", "--filter-expression", `edge("backend-flask", "users-api")`}, window...)...)
	if len(calls.TraceSummaries) != 3 {
		t.Errorf("CLI get-trace-summaries edge(...): %d traces, want 3", len(calls.TraceSummaries))
	}
	stderr := aws.fail(t, append([]string{"xray", "get-trace-summaries", "--filter-expression", `service("backend-flask") AND (fault`}, window...)...)
	if !strings.Contains(stderr, "InvalidRequestException") || !strings.Contains(stderr, "column 36") {
		t.Errorf("CLI bad filter expression: stderr %q, want InvalidRequestException at column 36", stderr)
	}

	var crash summaries
	aws.json(t, &crash, append([]string{"xray", "get-trace-summaries", "--filter-expression", `fault`}, window...)...)
	if len(crash.TraceSummaries) != 1 {
		t.Fatalf("CLI get-trace-summaries fault: %d traces, want 1", len(crash.TraceSummaries))
	}
	var home summaries
	aws.json(t, &home, append([]string{"xray", "get-trace-summaries", "--filter-expression", `annotation.route = "home"`}, window...)...)
	if len(home.TraceSummaries) == 0 {
		t.Fatal("no /home trace")
	}
	homeID := home.TraceSummaries[0].Id

	var traces struct {
		Traces []struct {
			Id       string
			Segments []struct{ Id, Document string }
		}
		UnprocessedTraceIds []string
	}
	aws.json(t, &traces, "xray", "batch-get-traces", "--trace-ids", homeID, "1-00000000-000000000000000000000001")
	if len(traces.Traces) != 1 || len(traces.Traces[0].Segments) != 2 || len(traces.UnprocessedTraceIds) != 1 {
		t.Fatalf("CLI batch-get-traces: %+v", traces)
	}
	var sawClientCall bool
	for _, s := range traces.Traces[0].Segments {
		var doc struct {
			Name        string
			Subsegments []struct {
				Name, Namespace string
				Subsegments     []struct{ Namespace string }
			}
		}
		if err := json.Unmarshal([]byte(s.Document), &doc); err != nil {
			t.Fatalf("segment document: %v", err)
		}
		if doc.Name == "backend-flask" {
			// xray.Client records the call as a remote subsegment (its
			// HTTP phases nested inside).
			for _, sub := range doc.Subsegments {
				sawClientCall = sawClientCall || sub.Namespace == "remote"
			}
		}
	}
	if !sawClientCall {
		t.Errorf("backend-flask's document has no remote subsegment for the call: %+v", traces.Traces[0].Segments)
	}

	var tg struct{ Services []graphService }
	aws.json(t, &tg, "xray", "get-trace-graph", "--trace-ids", homeID)
	if findService(tg.Services, "users-api", "") == nil || findService(tg.Services, "backend-flask", "") == nil {
		t.Errorf("CLI get-trace-graph: %+v", tg.Services)
	}

	now := float64(time.Now().UnixMilli()) / 1000
	id := fmt.Sprintf("1-%08x-%024x", time.Now().Unix(), 0xabc)
	doc := fmt.Sprintf(`{"trace_id":%q,"id":"00000000000000aa","name":"cli-put","start_time":%.3f,"end_time":%.3f}`, id, now, now+0.01)
	var put struct{ UnprocessedTraceSegments []any }
	aws.json(t, &put, "xray", "put-trace-segments", "--trace-segment-documents", doc, `{"name":"no-id"}`)
	if len(put.UnprocessedTraceSegments) != 1 {
		t.Errorf("CLI put-trace-segments: %+v, want the document without an id unprocessed", put)
	}
	var got struct {
		Traces []struct{ Segments []struct{ Document string } }
	}
	aws.json(t, &got, "xray", "batch-get-traces", "--trace-ids", id)
	if len(got.Traces) != 1 || len(got.Traces[0].Segments) != 1 || got.Traces[0].Segments[0].Document != doc {
		t.Errorf("batch-get-traces after put-trace-segments: %+v, want the document as sent", got)
	}
}

// cli runs /usr/bin/aws against an endpoint with dummy credentials.
type cli struct {
	url string
	env []string
}

func newCLI(t *testing.T, url string) *cli {
	t.Helper()
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Fatalf("the AWS CLI is required: %v", err)
	}
	home := t.TempDir()
	return &cli{url: url, env: []string{
		"HOME=" + home, "PATH=/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
	}}
}

func (c *cli) run(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command("/usr/bin/aws", append(args, "--endpoint-url", c.url, "--output", "json")...)
	cmd.Env = c.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (c *cli) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (c *cli) fail(t *testing.T, args ...string) string {
	t.Helper()
	_, errOut, err := c.run(args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("aws %s: succeeded or did not run (%v), want a failure", strings.Join(args, " "), err)
	}
	return errOut
}
