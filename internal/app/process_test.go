package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
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

// These tests run the real binary as a separate process: what a user runs,
// killed the way machines die.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// buildTracecomb builds the binary, once.
func buildTracecomb() {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracecomb-bin-")
		if err != nil {
			binErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "tracecomb")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/tracecomb").CombinedOutput()
		if err != nil {
			binErr = &buildError{out}
		}
	})
}

func tracecombBinary(t *testing.T) string {
	t.Helper()
	buildTracecomb()
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestMain starts building the binary at once when every test of the
// package runs (no -run), so that the build goes on while the tests that
// run in-process do, and removes it at the end.
func TestMain(m *testing.M) {
	flag.Parse()
	background := false
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() == "" {
		background = true
		go buildTracecomb()
	}
	code := m.Run()
	if background {
		buildTracecomb() // waits for the build if it still runs
	}
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe to read while the process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type buildError struct{ out []byte }

func (e *buildError) Error() string { return "go build: " + string(e.out) }

type proc struct {
	cmd    *exec.Cmd
	addrs  map[string]string
	stdout *syncBuffer
	exited chan error
}

// startProc starts `tracecomb serve` on free ports and waits until it logs
// that it started.
func startProc(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--log-format", "json",
		"--http-addr", "127.0.0.1:0", "--otlp-grpc-addr", "127.0.0.1:0", "--xray-addr", "127.0.0.1:0", "--ui-addr", "127.0.0.1:0"}, extra...)
	return startCmd(t, exec.Command(tracecombBinary(t), args...))
}

// startCmd starts cmd, a tracecomb serve command, and waits until it says
// it started.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	cmd.Env = os.Environ()
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: stdout, exited: make(chan error, 1)}
	started := make(chan map[string]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "tracecomb started" {
				m := map[string]string{}
				for _, k := range []string{"http", "otlp_grpc", "xray", "ui"} {
					if s, ok := line[k].(string); ok {
						m[k] = s
					}
				}
				started <- m
			}
			if testing.Verbose() {
				t.Log(sc.Text())
			}
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	select {
	case p.addrs = <-started:
	case err := <-p.exited:
		t.Fatalf("tracecomb exited before starting: %v", err)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("tracecomb did not start within 60s")
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func TestKill9AfterAckLosesNothing(t *testing.T) {
	t.Parallel() // its own data directory and processes; mostly waits on them
	dir := t.TempDir()
	p := startProc(t, dir, "--bootstrap-key", "durable-key-0123456789")
	base := "http://" + p.addrs["http"]
	// The SDK's Shutdown returns after the server answered 200 to the export.
	sc := sendWithSDKOptions(t, "http/protobuf", base, "durable-key-0123456789", "durable")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited

	p2 := startProc(t, dir)
	var tr traceResponse
	if code := getJSON(t, "http://"+p2.addrs["http"]+"/api/traces/"+sc.TraceID().String(), "durable-key-0123456789", &tr); code != 200 || len(tr.Events) != 4 {
		t.Fatalf("after kill -9 and restart: %d, %d events; want all 4", code, len(tr.Events))
	}
}

func TestSIGTERMFlushesAndExitsZero(t *testing.T) {
	t.Parallel() // its own data directory and processes; mostly waits on them
	dir := t.TempDir()
	p := startProc(t, dir, "--bootstrap-key", "term-key-0123456789")
	sc := sendWithSDKOptions(t, "grpc", "http://"+p.addrs["otlp_grpc"], "term-key-0123456789", "term")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
	// What the server wrote is readable by its user only.
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: other users can read it", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p2 := startProc(t, dir)
	var tr traceResponse
	if code := getJSON(t, "http://"+p2.addrs["http"]+"/api/traces/"+sc.TraceID().String(), "term-key-0123456789", &tr); code != 200 || len(tr.Events) != 4 {
		t.Fatalf("after SIGTERM and restart: %d, %d events", code, len(tr.Events))
	}
}

func TestFirstStartPrintsKeyOnceAndKeysCommands(t *testing.T) {
	t.Parallel() // its own data directory and processes; mostly waits on them
	dir := t.TempDir()
	p := startProc(t, dir)
	// The banner is printed just before the "started" log line; its copy
	// from the pipe may trail that line a little.
	out := p.stdout.String()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out, "OTEL_SERVICE_NAME") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		out = p.stdout.String()
	}
	i := strings.Index(out, "hcaik_")
	if i < 0 || len(out) < i+64 {
		t.Fatalf("first start did not print a key: %q", out)
	}
	key := out[i : i+64]
	base := "http://" + p.addrs["http"]
	var auth map[string]any
	if code := getJSON(t, base+"/1/auth", key, &auth); code != 200 {
		t.Fatalf("printed key does not work: %d", code)
	}

	// keys create / list / revoke work while the server runs.
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tracecombBinary(t), append(args, "--data-dir", dir)...)
		outb, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tracecomb %v: %v\n%s", args, err, outb)
		}
		return string(outb)
	}
	created := run("keys", "create", "--env", "staging")
	var newKey, newID string
	for _, line := range strings.Split(created, "\n") {
		if v, ok := strings.CutPrefix(line, "Key (shown once): "); ok {
			newKey = v
		}
		if v, ok := strings.CutPrefix(line, "Key id:"); ok {
			newID = strings.TrimSpace(v)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for getJSON(t, base+"/1/auth", newKey, &auth) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("new key not accepted by the running server")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if env := auth["environment"].(map[string]any); env["slug"] != "staging" {
		t.Fatalf("new key's environment %v", env)
	}
	if list := run("keys", "list"); !strings.Contains(list, newID) || strings.Contains(list, newKey) {
		t.Fatalf("keys list must show ids, never secrets:\n%s", list)
	}
	run("keys", "revoke", newID)
	revoked := time.Now()
	for {
		var e map[string]any
		if code := getJSON(t, base+"/1/auth", newKey, &e); code == 401 {
			if e["error"] != "attempted to use disabled API key" {
				t.Fatalf("revoked key error %v", e)
			}
			break
		}
		if time.Since(revoked) > 5*time.Second {
			t.Fatal("revoked key still accepted after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation effective after %v", time.Since(revoked))

	// A second start prints no key.
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	p2 := startProc(t, dir)
	if strings.Contains(p2.stdout.String(), "hcaik_") {
		t.Fatal("second start printed a key again")
	}
}

func TestBadFlagsFailFast(t *testing.T) {
	cmd := exec.Command(tracecombBinary(t), "serve", "--log-format", "xml", "--data-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !bytes.Contains(out, []byte("--log-format")) {
		t.Fatalf("bad flag: %v %s", err, out)
	}
}

// TestShutdownWithSlowClients: clients sending their bodies a byte a
// second (to ingest and read paths, on the keyed API door and the X-Ray
// door) while two senders keep exporting do not hold shutdown: tracecomb
// exits 0 within --shutdown-timeout (plus a margin for the process to
// go) of SIGTERM, and every span it acknowledged is stored after restart.
func TestShutdownWithSlowClients(t *testing.T) {
	t.Parallel() // its own data directory and processes; mostly waits on them
	const key = "slow-key-0123456789"
	const timeout = 10 * time.Second
	dir := t.TempDir()
	p := startProc(t, dir, "--bootstrap-key", key, "--shutdown-timeout", timeout.String())
	base := "http://" + p.addrs["http"]
	sc := sendWithSDKOptions(t, "http/protobuf", base, key, "slow")

	var mu sync.Mutex
	acked := []string{sc.TraceID().String()} // trace ids of acknowledged exports
	spans := map[string]int{acked[0]: 4}
	stop := make(chan struct{})
	var senders sync.WaitGroup
	for range 2 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%032x", rand.Uint64()|1)
				if code, _ := postIngest(client, base+"/v1/traces", key, otlpJSONTrace(id, 5)); code == 200 {
					mu.Lock()
					acked = append(acked, id)
					spans[id] = 5
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range []struct{ addr, path string }{{p.addrs["http"], "/v1/traces"}, {p.addrs["xray"], "/TraceSegments"}, {p.addrs["xray"], "/TraceSummaries"}} {
		conn := startSlowRequest(t, c.addr, c.path, key)
		go func() { // a byte a second, until the server closes the connection
			for range 60 {
				time.Sleep(time.Second)
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n > 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the senders got no acknowledgements")
		}
	}
	sigterm := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM with slow clients: %v", err)
		}
		t.Logf("exited 0 %v after SIGTERM", time.Since(sigterm).Round(time.Millisecond))
	case <-time.After(time.Until(sigterm.Add(timeout + 3*time.Second))):
		t.Fatalf("tracecomb did not exit within --shutdown-timeout %v + 3s of SIGTERM", timeout)
	}
	close(stop)
	senders.Wait()

	p2 := startProc(t, dir)
	for _, id := range acked {
		var tr traceResponse
		if code := getJSON(t, "http://"+p2.addrs["http"]+"/api/traces/"+id, key, &tr); code != 200 || len(tr.Events) != spans[id] {
			t.Errorf("acknowledged trace %s after shutdown: %d, %d of %d spans", id, code, len(tr.Events), spans[id])
		}
	}
	t.Logf("%d acknowledged traces, all stored", len(acked))
}

// TestIdleConnectionsCannotTakeDoorsDown: with 512 file descriptors, 600
// idle connections to the X-Ray daemon door (which takes no credentials)
// leave the API door, /healthz included, answering: each door may hold
// only its share of the descriptors.
func TestIdleConnectionsCannotTakeDoorsDown(t *testing.T) {
	t.Parallel() // its own process; mostly waits on it
	dir := t.TempDir()
	bin := tracecombBinary(t)
	cmd := exec.Command("sh", "-c", `ulimit -n 512 && exec "$0" "$@"`, bin, "serve", "--data-dir", dir, "--log-format", "json",
		"--http-addr", "127.0.0.1:0", "--otlp-grpc-addr", "127.0.0.1:0", "--xray-addr", "127.0.0.1:0", "--ui-addr", "127.0.0.1:0")
	p := startCmd(t, cmd)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 600 {
		c, err := net.DialTimeout("tcp", p.addrs["xray"], 2*time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // let the server accept what it will
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + p.addrs["http"] + "/healthz")
	if err != nil {
		t.Fatalf("/healthz with %d idle X-Ray connections: %v", len(conns), err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	select {
	case err := <-p.exited:
		t.Fatalf("tracecomb exited: %v", err)
	default:
	}
}
