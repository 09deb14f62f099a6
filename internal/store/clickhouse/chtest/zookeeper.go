package chtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// zookeeperJar is the jar of Debian's zookeeper package (its manifest
// names the libraries it needs).
const zookeeperJar = "/usr/share/java/zookeeper.jar"

// ZooKeeper is a running standalone ZooKeeper server.
type ZooKeeper struct {
	Dir string
	// Addr is its client address, 127.0.0.1:port.
	Addr string

	cmd  *exec.Cmd
	done chan struct{}
}

const zooConfig = `tickTime=500
initLimit=10
syncLimit=5
dataDir=%[1]s/data
clientPort=%[2]d
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok
`

// StartZooKeeper starts a standalone ZooKeeper server (Debian's zookeeper
// package, run with java) with its data in dir, on a free loopback port.
// A missing package is an error naming it.
func StartZooKeeper(dir string) (*ZooKeeper, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java not found: apt-get install zookeeper (it installs Java too; scripts/test.sh does)")
	}
	if _, err := os.Stat(zookeeperJar); err != nil {
		return nil, fmt.Errorf("%s not found: apt-get install zookeeper (scripts/test.sh installs it)", zookeeperJar)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		cfg := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, zooConfig, dir, port), 0o644); err != nil {
			return nil, err
		}
		out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(java, "-Xmx256m", "-cp", zookeeperJar, "org.apache.zookeeper.server.ZooKeeperServerMain", cfg)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			_ = out.Close()
			return nil, err
		}
		z := &ZooKeeper{Dir: dir, Addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); _ = out.Close(); close(z.done) }()
		if lastErr = z.waitReady(60 * time.Second); lastErr == nil {
			return z, nil
		}
		z.Stop()
		log, _ := os.ReadFile(filepath.Join(dir, "zookeeper.log"))
		lastErr = fmt.Errorf("zookeeper did not start: %w\n%s", lastErr, log)
	}
	return nil, lastErr
}

// waitReady waits for the answer "imok" to the four-letter command ruok.
func (z *ZooKeeper) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-z.done:
			return errors.New("zookeeper exited")
		default:
		}
		if c, err := net.DialTimeout("tcp", z.Addr, time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("ruok"))
			buf := make([]byte, 4)
			n, _ := c.Read(buf)
			_ = c.Close()
			if string(buf[:n]) == "imok" {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no answer to ruok")
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s).
func (z *ZooKeeper) Stop() {
	_ = z.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-z.done:
	case <-time.After(10 * time.Second):
		_ = z.cmd.Process.Kill()
		<-z.done
	}
}
