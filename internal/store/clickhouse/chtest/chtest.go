// Package chtest starts throwaway ClickHouse servers for tests.
//
// Start and StartCluster run Debian's clickhouse-server (18.16) processes,
// their data and configuration in a directory the caller gives, on free
// loopback ports, with the default user and no password. Start runs one
// server; StartCluster runs several, each one shard of a cluster that
// every server's remote_servers lists, for Distributed tables (no
// ZooKeeper: ON CLUSTER DDL is not available).
//
// StartZooKeeper (zookeeper.go) runs Debian's ZooKeeper, and
// StartReplicas servers that are the replicas of a cluster's one shard,
// for Replicated*MergeTree tables.
//
// StartChdb (chdb.go) runs a current ClickHouse, 26.7, in the test's own
// process: libchdb, ClickHouse's engine as a shared library, loaded with
// purego (no cgo) when first started, on one session per process. libchdb
// has no network interface: the HTTP server in front of it is this
// package's, carrying the part of ClickHouse's HTTP interface the store
// uses (see StartChdb for what it does and does not carry). No
// Distributed or Replicated tables there. scripts/chdb.sh installs the
// library; CHDB_LIB_PATH or its cache directory locates it.
//
// A missing clickhouse-server, ZooKeeper or libchdb is an error naming
// what installs it; tests fail on it rather than skip.
package chtest

import (
	"errors"
	"fmt"
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

// Server is a running clickhouse-server.
type Server struct {
	Dir string
	// URL is the HTTP interface, http://127.0.0.1:port.
	URL string
	// HTTPPort, TCPPort and InterserverPort are the ports it listens on.
	HTTPPort, TCPPort, InterserverPort int

	cluster string
	shards  []string // host:tcp_port of every shard, in remote_servers order
	// replicas: shards holds the replicas of the cluster's one shard, and
	// zk and replica are the ZooKeeper address and this server's
	// {replica} macro (StartReplicas).
	replicas    bool
	zk, replica string
	cmd         *exec.Cmd
	done        chan struct{}
}

// binary finds clickhouse-server (Debian installs it in /usr/sbin).
func binary() (path string, args []string, err error) {
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

// freePorts returns n distinct free loopback ports.
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
%[5]s</yandex>
`

const usersConfig = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><max_threads>2</max_threads></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`

// remoteServers is the remote_servers section naming cluster with one
// shard (of one replica) per address, or with replicas one shard of a
// replica per address.
func remoteServers(cluster string, shards []string, replicas bool) string {
	if cluster == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("  <remote_servers>\n    <" + cluster + ">\n")
	if replicas {
		b.WriteString("      <shard><internal_replication>true</internal_replication>\n")
	}
	for _, a := range shards {
		host, port, _ := net.SplitHostPort(a)
		if replicas {
			fmt.Fprintf(&b, "        <replica><host>%s</host><port>%s</port></replica>\n", host, port)
		} else {
			fmt.Fprintf(&b, "      <shard><replica><host>%s</host><port>%s</port></replica></shard>\n", host, port)
		}
	}
	if replicas {
		b.WriteString("      </shard>\n")
	}
	b.WriteString("    </" + cluster + ">\n  </remote_servers>\n")
	return b.String()
}

// zookeeperConfig is the zookeeper and macros sections of a replica.
func zookeeperConfig(zk, replica string) string {
	if zk == "" {
		return ""
	}
	host, port, _ := net.SplitHostPort(zk)
	return "  <zookeeper><node><host>" + host + "</host><port>" + port + "</port></node><session_timeout_ms>10000</session_timeout_ms></zookeeper>\n" +
		"  <macros><shard>01</shard><replica>" + replica + "</replica></macros>\n" +
		"  <interserver_http_host>127.0.0.1</interserver_http_host>\n"
}

// StartReplicas starts one server per directory, the replicas of the one
// shard of cluster (internal_replication on, so a Distributed table
// writes to one replica and replication copies), with ZooKeeper zk and
// the macros {shard} = 01 and {replica} = r1, r2, … in the order of dirs.
// On an error the servers already started are stopped.
func StartReplicas(cluster string, zk *ZooKeeper, dirs []string) ([]*Server, error) {
	return startCluster(cluster, dirs, zk.Addr)
}

// Start starts a server with its data in dir (created when missing; an
// existing one is reused, for restart tests).
func Start(dir string) (*Server, error) {
	var lastErr error
	for range 3 {
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		s := &Server{Dir: dir, HTTPPort: ports[0], TCPPort: ports[1], InterserverPort: ports[2]}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// StartCluster starts one server per directory, each a shard of cluster
// (a name of letters, digits and underscores): every server's
// remote_servers lists all of them, in the order of dirs. On an error the
// servers already started are stopped.
func StartCluster(cluster string, dirs []string) ([]*Server, error) {
	return startCluster(cluster, dirs, "")
}

// startCluster starts the servers of StartCluster or, with a ZooKeeper
// address, of StartReplicas.
func startCluster(cluster string, dirs []string, zk string) ([]*Server, error) {
	for _, r := range cluster {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return nil, fmt.Errorf("chtest: cluster name %q: letters, digits and underscores only", cluster)
		}
	}
	ports, err := freePorts(3 * len(dirs))
	if err != nil {
		return nil, err
	}
	var shards []string
	for i := range dirs {
		shards = append(shards, "127.0.0.1:"+strconv.Itoa(ports[3*i+1]))
	}
	var out []*Server
	for i, d := range dirs {
		s := &Server{Dir: d, HTTPPort: ports[3*i], TCPPort: ports[3*i+1], InterserverPort: ports[3*i+2], cluster: cluster, shards: shards}
		if zk != "" {
			s.replicas, s.zk, s.replica = true, zk, "r"+strconv.Itoa(i+1)
		}
		if err := s.start(); err != nil {
			for _, o := range out {
				o.Stop()
			}
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// start writes the configuration and starts the process on s's ports.
func (s *Server) start() error {
	bin, args, err := binary()
	if err != nil {
		return err
	}
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	cfg := filepath.Join(s.Dir, "config.xml")
	conf := fmt.Appendf(nil, serverConfig, s.Dir, s.HTTPPort, s.TCPPort, s.InterserverPort, remoteServers(s.cluster, s.shards, s.replicas)+zookeeperConfig(s.zk, s.replica))
	if err := os.WriteFile(cfg, conf, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "users.xml"), []byte(usersConfig), 0o644); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(s.Dir, "log", "stdout.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, append(args, "--config-file="+cfg)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return err
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort)
	s.cmd, s.done = cmd, make(chan struct{})
	done := s.done
	go func() { _ = cmd.Wait(); _ = out.Close(); close(done) }()
	if err := s.waitReady(60 * time.Second); err != nil {
		s.Kill()
		log, _ := os.ReadFile(filepath.Join(s.Dir, "log", "error.log"))
		return fmt.Errorf("clickhouse-server did not start: %w\n%s", err, log)
	}
	return nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("clickhouse-server exited")
		default:
		}
		resp, err := http.Get(s.URL + "/ping")
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

// Restart starts a stopped server again on the same directory and ports.
func (s *Server) Restart() error {
	select {
	case <-s.done:
	default:
		return errors.New("chtest: the server is running")
	}
	return s.start()
}

// Stop ends the server (SIGTERM, then SIGKILL after 20 s). Safe to call
// on a stopped server.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// FreePort returns a loopback port nothing listens on (for a test of a
// server that is not there).
func FreePort() (int, error) {
	p, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}
