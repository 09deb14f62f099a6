package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one running system under test.
type server struct {
	name     string
	cmd      *exec.Cmd
	dataDir  string // what the disk figure measures; "" for memory storage
	otlpHTTP string // http://host:port
	otlpGRPC string // host:port
	query    string // http://host:port of the read API
	metrics  string // URL of the Prometheus text exposition
	xray     string // host:port of the X-Ray daemon door (tracecomb only)
	headers  map[string]string
	stored   func(ctx context.Context) (int64, error)
	done     chan error
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeUDPPort finds an address free for both TCP and UDP.
func freeUDPPort() string {
	for {
		a := freePort()
		u, err := net.ListenPacket("udp", a)
		if err == nil {
			u.Close()
			return a
		}
	}
}

const benchKey = "benchkey0123456789abcdef01234567"

// startTracecomb starts tracecomb on dir with the harness's flags and
// extra ones.
func startTracecomb(ctx context.Context, bin, dir string, extra ...string) (*server, error) {
	s := &server{name: "tracecomb", dataDir: filepath.Join(dir, "data"), headers: map[string]string{"x-honeycomb-team": benchKey}}
	httpAddr, grpcAddr, xrayAddr := freePort(), freePort(), freeUDPPort()
	s.otlpHTTP, s.otlpGRPC, s.query, s.metrics, s.xray = "http://"+httpAddr, grpcAddr, "http://"+httpAddr, "http://"+httpAddr+"/metrics", xrayAddr
	s.cmd = exec.Command(bin, "serve", "--data-dir", s.dataDir, "--bootstrap-key", benchKey, "--http-addr", httpAddr,
		"--otlp-grpc-addr", grpcAddr, "--xray-addr", xrayAddr, "--ui-addr", "", "--log-format", "json", "--log-level", "warn",
		"--metrics-public") // the harness scrapes /metrics without a key
	s.cmd.Args = append(s.cmd.Args, extra...)
	s.stored = func(ctx context.Context) (int64, error) {
		return scrape(ctx, s.metrics, "tracecomb_events_stored_total")
	}
	return s, s.start(ctx, dir, s.query+"/healthz")
}

func startJaeger(ctx context.Context, bin, dir string, badger bool) (*server, error) {
	s := &server{name: "jaeger-memory"}
	httpAddr, grpcAddr, queryAddr, qgrpcAddr, metricsAddr, healthAddr := freePort(), freePort(), freePort(), freePort(), freePort(), freePort()
	s.otlpHTTP, s.otlpGRPC, s.query = "http://"+httpAddr, grpcAddr, "http://"+queryAddr
	s.metrics = "http://" + metricsAddr + "/metrics"
	_, mport, _ := net.SplitHostPort(metricsAddr)
	storage := "        memory:\n          max_traces: 10000000\n"
	if badger {
		s.name = "jaeger-badger"
		s.dataDir = filepath.Join(dir, "badger")
		storage = fmt.Sprintf("        badger:\n          directories:\n            keys: %q\n            values: %q\n          ephemeral: false\n          ttl:\n            spans: 48h\n", s.dataDir, s.dataDir)
	}
	cfg := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %s
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: %s
  jaeger_query:
    storage:
      traces: main_store
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      main_store:
%sreceivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: main_store
`, mport, healthAddr, queryAddr, qgrpcAddr, storage, grpcAddr, httpAddr)
	cfgPath := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "--config", cfgPath)
	s.stored = func(ctx context.Context) (int64, error) {
		return scrape(ctx, s.metrics, "otelcol_exporter_sent_spans")
	}
	return s, s.start(ctx, dir, s.query+"/api/services")
}

func (s *server) start(ctx context.Context, dir, ready string) error {
	logf, err := os.Create(filepath.Join(dir, s.name+".log"))
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("%s exited during start: %v (log %s)", s.name, err, logf.Name())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return waitTCP(ctx, strings.TrimPrefix(s.otlpHTTP, "http://"))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("%s not ready after 60 s (log %s)", s.name, logf.Name())
}

func waitTCP(ctx context.Context, addr string) error {
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening", addr)
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(90 * time.Second):
		s.kill()
		return errors.New(s.name + " did not stop within 90 s")
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// cpuSeconds is user+system CPU time of pid from /proc/PID/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	// after the comm: state is field 3, utime 14, stime 15 (1-based).
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// statusKB reads a "Name: N kB" line of /proc/PID/status.
func statusKB(pid int, name string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// diskBytes is the space allocated to the files under dir (du), and
// their apparent size.
func diskBytes(dir string) (alloc, apparent int64) {
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		apparent += info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			alloc += st.Blocks * 512
		}
		return nil
	})
	return alloc, apparent
}

// scrape sums the samples of every series whose name starts with prefix.
func scrape(ctx context.Context, url, prefix string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		rest := line[len(prefix):]
		if rest != "" && rest[0] != ' ' && rest[0] != '{' && !strings.HasPrefix(rest, "_total") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return int64(sum), sc.Err()
}
