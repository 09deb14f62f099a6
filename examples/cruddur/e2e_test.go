// End-to-end tests of the lesson: tracecomb and the Cruddur backend built
// and started as separate processes on free ports, wired with the lesson's
// variables; every route called and the OpenTelemetry spans read back
// through tracecomb's trace API (this file); the lesson's X-Ray steps run
// with the aws CLI against tracecomb's daemon door, and the joined view
// with the opt-in shared trace id (e2e_xray_test.go); what the Honeycomb
// and X-Ray APIs count under X-Ray sampling and dynamic naming
// (e2e_views_test.go).
package cruddur_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const lessonKey = "tracecomb-e2e-key"

// waitBound bounds every wait for a process or for data to arrive.
const waitBound = 60 * time.Second

// lesson is tracecomb and the backend, running, wired as the lesson wires them.
type lesson struct {
	httpAddr, xrayAddr, base string
	tracecomb, backend       *proc
}

// bins holds tracecomb and the backend, built once by TestMain.
var bins string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "cruddur-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		bins = dir
		for out, pkg := range map[string]string{"tracecomb": "../../cmd/tracecomb", "backend": "./cmd/backend"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, b)
				os.RemoveAll(dir)
				os.Exit(1)
			}
		}
	}
	code := m.Run()
	if bins != "" {
		os.RemoveAll(bins)
	}
	os.Exit(code)
}

// startTracecomb starts tracecomb on free loopback ports with the lesson's key.
func startTracecomb(t *testing.T) *lesson {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs tracecomb and the backend; not in -short")
	}
	l := &lesson{httpAddr: freeTCP(t), xrayAddr: freeTCPAndUDP(t)}
	l.tracecomb = start(t, "tracecomb", exec.Command(filepath.Join(bins, "tracecomb"), "serve",
		"--data-dir", t.TempDir(),
		"--bootstrap-key", lessonKey,
		"--otlp-grpc-addr", freeTCP(t),
		"--http-addr", l.httpAddr,
		"--xray-addr", l.xrayAddr,
		"--ui-addr", freeTCP(t),
	), nil)
	waitHTTP(t, l.tracecomb, "http://"+l.httpAddr+"/healthz")
	return l
}

// startBackend starts the backend with the lesson's variables pointing at
// tracecomb, plus env (NAME=value, overriding them), and waits until it
// accepts connections. It makes no request, so that every trace the
// backend sends comes from the test's own requests.
func (l *lesson) startBackend(t *testing.T, env ...string) {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeTCP(t))
	l.base = "http://127.0.0.1:" + port
	l.backend = start(t, "backend", exec.Command(filepath.Join(bins, "backend")), append([]string{
		"PORT=" + port,
		"FRONTEND_URL=http://localhost:3000",
		"BACKEND_URL=" + l.base,
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + l.httpAddr,
		"OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=" + lessonKey,
		"OTEL_SERVICE_NAME=backend-flask",
		"AWS_XRAY_URL=",
		"AWS_XRAY_DAEMON_ADDRESS=" + l.xrayAddr,
		"AWS_REGION=us-west-1",
	}, env...))
	waitTCP(t, l.backend, "127.0.0.1:"+port)
}

func TestLessonEndToEnd(t *testing.T) {
	t.Parallel() // its own tracecomb and backend processes; mostly waits on them
	l := startTracecomb(t)
	l.startBackend(t)
	base, httpAddr, backend := l.base, l.httpAddr, l.backend

	calls := []struct {
		method, path, body string
		status             int
		route              string
	}{
		{"GET", "/api/activities/home", "", 200, "/api/activities/home"},
		{"GET", "/api/activities/notifications", "", 200, "/api/activities/notifications"},
		{"GET", "/api/activities/@andrewbrown", "", 200, "/api/activities/{handle}"},
		{"GET", "/api/activities/@nobody", "", 404, "/api/activities/{handle}"},
		{"GET", "/api/activities/search?term=cloud", "", 200, "/api/activities/search"},
		{"POST", "/api/activities", `{"message":"Cloud is fun!","ttl":"7-days"}`, 200, "/api/activities"},
		{"POST", "/api/activities", `{"message":"","ttl":"7-days"}`, 422, "/api/activities"},
		{"POST", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee/reply", `{"message":"Qapla'"}`, 200, "/api/activities/{uuid}/reply"},
		{"GET", "/api/message_groups", "", 200, "/api/message_groups"},
		{"GET", "/api/messages/@worf", "", 200, "/api/messages/{handle}"},
		{"POST", "/api/messages", `{"message":"hi","user_receiver_handle":"worf"}`, 200, "/api/messages"},
	}
	traceIDs := make([]string, len(calls))
	for i, c := range calls {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		req, _ := http.NewRequest(c.method, base+c.path, body)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		// The OpenTelemetry trace is the caller's, as a traced frontend
		// would start it, so the test knows its id: the backend's two
		// SDKs share no id (the lesson's default).
		traceIDs[i] = randomHex(t, 16)
		req.Header.Set("traceparent", "00-"+traceIDs[i]+"-"+randomHex(t, 8)+"-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	// SIGTERM flushes the batch span processor.
	backend.stop(t)

	for i, c := range calls {
		events := readTrace(t, "http://"+httpAddr, traceIDs[i], func(evs []map[string]any) bool {
			return find(evs, kind("server"), named(c.method+" "+c.route)) != nil
		})
		server := find(events, kind("server"), named(c.method+" "+c.route))
		if server["service.name"] != "backend-flask" {
			t.Errorf("%s %s: service.name %v", c.method, c.path, server["service.name"])
		}
		if server["http.route"] != c.route {
			t.Errorf("%s %s: http.route %v, want %s", c.method, c.path, server["http.route"], c.route)
		}
		if server["http.response.status_code"] != float64(c.status) {
			t.Errorf("%s %s: http.response.status_code %v, want %d", c.method, c.path, server["http.response.status_code"], c.status)
		}
		if server["trace.trace_id"] != traceIDs[i] {
			t.Errorf("%s %s: trace.trace_id %v", c.method, c.path, server["trace.trace_id"])
		}
		// Only OpenTelemetry's spans: the X-Ray SDK traced the request
		// under an id of its own.
		if e := find(events, func(e map[string]any) bool {
			return e["meta.tracecomb.door"] != "honeycomb" || e["meta.tracecomb.source"] != "otlp"
		}); e != nil {
			t.Errorf("%s %s: an event not sent to Honeycomb's door in the OTel trace: %v", c.method, c.path, e)
		}
	}

	// Home: the custom span and the outgoing call, both under the server span,
	// and the called route's server span under the client span.
	home := readTrace(t, "http://"+httpAddr, traceIDs[0], func(evs []map[string]any) bool {
		return find(evs, named("home-activities-mock-data")) != nil && find(evs, named("GET /api/health")) != nil
	})
	server := find(home, kind("server"), named("GET /api/activities/home"))
	custom := find(home, named("home-activities-mock-data"))
	if custom["trace.parent_id"] != server["trace.span_id"] {
		t.Errorf("custom span parent %v, want %v", custom["trace.parent_id"], server["trace.span_id"])
	}
	if custom["app.result_length"] != float64(3) {
		t.Errorf("app.result_length %v", custom["app.result_length"])
	}
	if now, _ := custom["app.now"].(string); !strings.HasSuffix(now, "+00:00") {
		t.Errorf("app.now %v", custom["app.now"])
	}
	// The OTel client span.
	client := find(home, kind("client"), named("HTTP GET"))
	if client == nil {
		t.Fatalf("no client span in %v", home)
	}
	if client["trace.parent_id"] != server["trace.span_id"] {
		t.Errorf("client span parent %v, want %v", client["trace.parent_id"], server["trace.span_id"])
	}
	if client["http.response.status_code"] != float64(200) {
		t.Errorf("client span status %v", client["http.response.status_code"])
	}
	health := find(home, kind("server"), named("GET /api/health"))
	if health["trace.parent_id"] != client["trace.span_id"] {
		t.Errorf("upstream server span parent %v, want the client span %v", health["trace.parent_id"], client["trace.span_id"])
	}
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freeTCP returns a loopback address whose TCP port was free a moment ago.
func freeTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freeTCPAndUDP returns a loopback address free for both TCP and UDP.
func freeTCPAndUDP(t *testing.T) string {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

// syncBuffer is a process's output, written by exec while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs cmd with the environment minus OTEL_* and AWS_* plus env, and
// stops it (SIGTERM, then SIGKILL) when the test ends.
func start(t *testing.T, name string, cmd *exec.Cmd, env []string) *proc {
	t.Helper()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "TRACECOMB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited with %v", p.name, err)
		}
	case <-time.After(waitBound):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop on SIGTERM", p.name)
	}
}

// waitTCP waits until p accepts TCP connections on addr.
func waitTCP(t *testing.T, p *proc, addr string) {
	t.Helper()
	waitUp(t, p, "listened on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// waitHTTP waits until p answers url with 200.
func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	waitUp(t, p, "answered "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// waitUp polls up until it holds, failing when p exits first or waitBound
// passes.
func waitUp(t *testing.T, p *proc, what string, up func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("%s exited: %v\n%s", p.name, err, p.out.String())
		default:
		}
		if up() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never %s\n%s", p.name, what, p.out.String())
}

// readTrace polls tracecomb's trace API until ready accepts the events.
func readTrace(t *testing.T, base, traceID string, ready func([]map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/traces/"+traceID, nil)
		req.Header.Set("x-honeycomb-team", lessonKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			var doc struct {
				Events []map[string]any `json:"events"`
			}
			if resp.StatusCode == 200 && json.Unmarshal(b, &doc) == nil && ready(doc.Events) {
				cancel()
				return doc.Events
			}
		} else {
			last = err.Error()
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("trace %s never complete; last answer: %s", traceID, last)
	return nil
}

type pred func(map[string]any) bool

func named(n string) pred { return func(e map[string]any) bool { return e["name"] == n } }
func kind(k string) pred  { return func(e map[string]any) bool { return e["span.kind"] == k } }

func find(evs []map[string]any, ps ...pred) map[string]any {
next:
	for _, e := range evs {
		for _, p := range ps {
			if !p(e) {
				continue next
			}
		}
		return e
	}
	return nil
}
