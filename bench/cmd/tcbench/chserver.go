package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// chServer is a clickhouse-server the ClickHouse scenario starts for
// itself: its configuration, data and logs in one directory, listening on
// free loopback ports, the default user without a password.
type chServer struct {
	dir  string
	url  string // HTTP interface
	cmd  *exec.Cmd
	done chan error
}

// chBinary finds clickhouse-server (Debian's package installs it in
// /usr/sbin, which is not always on PATH).
func chBinary() (string, []string, error) {
	for _, p := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil, nil
		}
	}
	if path, err := exec.LookPath("clickhouse"); err == nil {
		return path, []string{"server"}, nil
	}
	return "", nil, errors.New("no clickhouse-server on this machine (apt-get install clickhouse-server)")
}

// chConfig is the server's config.xml: the directory, the ports. Parts
// replaced by a merge are removed after 10 s rather than 8 min, so the
// directory's size follows the active parts.
func chConfig(dir string, httpPort, tcpPort, interPort int) string {
	return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>` + dir + `/log/server.log</log><errorlog>` + dir + `/log/error.log</errorlog><console>false</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>` + strconv.Itoa(httpPort) + `</http_port>
  <tcp_port>` + strconv.Itoa(tcpPort) + `</tcp_port>
  <interserver_http_port>` + strconv.Itoa(interPort) + `</interserver_http_port>
  <path>` + dir + `/data/</path>
  <tmp_path>` + dir + `/tmp/</tmp_path>
  <user_files_path>` + dir + `/user_files/</user_files_path>
  <format_schema_path>` + dir + `/format_schemas/</format_schema_path>
  <users_config>` + dir + `/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <merge_tree><old_parts_lifetime>10</old_parts_lifetime></merge_tree>
</yandex>
`
}

// chUsers is users.xml: the default user, from loopback only.
const chUsers = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// startClickHouse starts a server with everything under dir.
func startClickHouse(ctx context.Context, dir string) (*chServer, error) {
	bin, args, err := chBinary()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	hp, tp, ip := portOf(freePort()), portOf(freePort()), portOf(freePort())
	cfg := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(cfg, []byte(chConfig(dir, hp, tp, ip)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(chUsers), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, err
	}
	s := &chServer{dir: dir, url: "http://127.0.0.1:" + strconv.Itoa(hp), done: make(chan error, 1)}
	s.cmd = exec.Command(bin, append(args, "--config-file="+cfg)...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// The server goes when the harness does, however it ends.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			b, _ := os.ReadFile(filepath.Join(dir, "log", "error.log"))
			return nil, fmt.Errorf("clickhouse-server exited during start: %v\n%.2000s", err, b)
		default:
		}
		if out, err := s.query(ctx, "SELECT 1"); err == nil && strings.TrimSpace(out) == "1" {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.kill()
	return nil, errors.New("clickhouse-server not ready after 60 s (logs in " + dir + "/log)")
}

func (s *chServer) pid() int { return s.cmd.Process.Pid }

// query runs one statement over the HTTP interface and returns the
// answer (TabSeparated unless the statement says otherwise).
func (s *chServer) query(ctx context.Context, q string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/", strings.NewReader(q))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse: %d %.300s", resp.StatusCode, b)
	}
	return string(b), nil
}

// count answers a query of one integer.
func (s *chServer) count(ctx context.Context, q string) (int64, error) {
	out, err := s.query(ctx, q)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(out), 10, 64)
}

// tableBytes are a table's active parts as system.parts counts them.
type tableBytes struct {
	Table                    string
	Rows, Parts              int64
	Compressed, Uncompressed int64 // of the columns' data
	OnDisk                   int64 // the parts' files (bytes_on_disk)
}

// parts reads system.parts of database, one row per table with parts.
func (s *chServer) parts(ctx context.Context, database string) ([]tableBytes, error) {
	out, err := s.query(ctx, "SELECT table, sum(rows), count(), sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(bytes_on_disk) "+
		"FROM system.parts WHERE active AND database = '"+database+"' GROUP BY table ORDER BY table")
	if err != nil {
		return nil, err
	}
	return parseParts(out)
}

// parseParts reads parts' TabSeparated answer.
func parseParts(out string) ([]tableBytes, error) {
	var tabs []tableBytes
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("system.parts row %q: want 6 fields", sc.Text())
		}
		t := tableBytes{Table: f[0]}
		for i, p := range []*int64{&t.Rows, &t.Parts, &t.Compressed, &t.Uncompressed, &t.OnDisk} {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("system.parts row %q: %w", sc.Text(), err)
			}
			*p = n
		}
		tabs = append(tabs, t)
	}
	return tabs, sc.Err()
}

// chEvents are the server's counters of INSERTs (system.events).
type chEvents struct {
	Inserts, Delayed, DelayedMS, Rejected int64
}

// events reads the INSERT counters; a counter the server never raised
// is absent and reads 0.
func (s *chServer) events(ctx context.Context) (chEvents, error) {
	out, err := s.query(ctx, "SELECT event, value FROM system.events WHERE event IN "+
		"('InsertQuery', 'DelayedInserts', 'DelayedInsertsMilliseconds', 'RejectedInserts')")
	if err != nil {
		return chEvents{}, err
	}
	var e chEvents
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, v, ok := strings.Cut(l, "\t")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return chEvents{}, fmt.Errorf("system.events row %q: %w", l, err)
		}
		switch name {
		case "InsertQuery":
			e.Inserts = n
		case "DelayedInserts":
			e.Delayed = n
		case "DelayedInsertsMilliseconds":
			e.DelayedMS = n
		case "RejectedInserts":
			e.Rejected = n
		}
	}
	return e, nil
}

func (e chEvents) minus(o chEvents) chEvents {
	return chEvents{e.Inserts - o.Inserts, e.Delayed - o.Delayed, e.DelayedMS - o.DelayedMS, e.Rejected - o.Rejected}
}

// dataDir is where the server keeps database's tables.
func (s *chServer) dataDir(database string) string {
	return filepath.Join(s.dir, "data", "data", url.PathEscape(database))
}

func (s *chServer) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(60 * time.Second):
		s.kill()
		return errors.New("clickhouse-server did not stop within 60 s")
	}
}

func (s *chServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}
