package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testServer is a clickhouse-server the tests start in a temporary
// directory, on free loopback ports.
type testServer struct {
	dir  string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	http int
}

// serverBinary finds clickhouse-server (Debian installs it in /usr/sbin).
func serverBinary() (path string, args []string, err error) {
	for _, name := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil, nil
		}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, []string{"server"}, nil
	}
	return "", nil, errors.New("clickhouse-server not found: apt-get install clickhouse-server (scripts/test.sh installs it)")
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

const serverConfig = `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/error.log</errorlog><console>false</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>%[2]d</http_port>
  <tcp_port>%[3]d</tcp_port>
  <interserver_http_port>%[4]d</interserver_http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <keep_alive_timeout>3</keep_alive_timeout>
</yandex>
`

const usersConfig = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><max_threads>2</max_threads></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`

// startServer starts a server with its data in dir (created when
// missing; an existing one is reused, for restart tests).
func startServer(dir string) (*testServer, error) {
	bin, args, err := serverBinary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				return nil, err
			}
		}
		cfg := filepath.Join(dir, "config.xml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, serverConfig, dir, ports[0], ports[1], ports[2]), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersConfig), 0o644); err != nil {
			return nil, err
		}
		out, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, append(args, "--config-file="+cfg)...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			_ = out.Close()
			return nil, err
		}
		ts := &testServer{dir: dir, url: "http://127.0.0.1:" + strconv.Itoa(ports[0]), cmd: cmd, done: make(chan struct{}), http: ports[0]}
		go func() { _ = cmd.Wait(); _ = out.Close(); close(ts.done) }()
		if lastErr = ts.waitReady(30 * time.Second); lastErr == nil {
			return ts, nil
		}
		ts.stop()
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log", "error.log"))
	return nil, fmt.Errorf("clickhouse-server did not start: %w\n%s", lastErr, log)
}

func (ts *testServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-ts.done:
			return errors.New("clickhouse-server exited")
		default:
		}
		resp, err := http.Get(ts.url + "/ping")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no answer to /ping")
}

// stop ends the server (SIGTERM, then SIGKILL after 20 s).
func (ts *testServer) stop() {
	_ = ts.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ts.done:
	case <-time.After(20 * time.Second):
		_ = ts.cmd.Process.Kill()
		<-ts.done
	}
}

// kill ends the server with SIGKILL, as a crash would.
func (ts *testServer) kill() {
	_ = ts.cmd.Process.Kill()
	<-ts.done
}

var (
	shared     *testServer
	sharedErr  error
	sharedOnce sync.Once
	sharedDir  string
	dbCounter  atomic.Int64
)

// server returns the package's shared server, started on first use and
// stopped by TestMain. A missing binary fails the test, with how to
// install it.
func server(t testing.TB) *testServer {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "tracecomb-clickhouse-")
		if sharedErr == nil {
			shared, sharedErr = startServer(sharedDir)
		}
	})
	if sharedErr != nil {
		t.Fatalf("clickhouse test server: %v", sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	if sharedDir != "" {
		_ = os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// newDatabase names a database no other store of this run uses.
func newDatabase() string {
	return fmt.Sprintf("t%d_%d", os.Getpid(), dbCounter.Add(1))
}

// openTest opens a store on a fresh database of the shared server; it is
// closed and its database dropped when the test ends.
func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	ts := server(t)
	if cfg.URL == "" {
		cfg.URL = ts.url
	}
	if cfg.Database == "" {
		cfg.Database = newDatabase()
	}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		c, err := newClient(cfg.URL, "")
		if err == nil {
			_ = c.exec(context.Background(), "DROP DATABASE IF EXISTS "+quoteIdent(cfg.Database))
			c.close()
		}
	})
	return s
}
