// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql package's initdb and postgres, in a temporary directory, on
// a free loopback port, trusting loopback connections. As root (as the
// tests run here) it runs them as the postgres system user, since
// PostgreSQL refuses to run as root. A missing server is an error that
// names the package to install; tests fail on it rather than skip.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running test server.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	seq  atomic.Int64 // names databases
}

// serverBinaries finds initdb and postgres of the newest PostgreSQL that
// Debian's postgresql package installed.
func serverBinaries() (initdb, postgres string, err error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExec(i) && isExec(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("PostgreSQL's server is not installed (no /usr/lib/postgresql/<version>/bin/postgres): " +
		"apt-get install postgresql (scripts/test.sh installs it)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start initialises and starts a server; Stop stops it and removes its
// files.
func Start() (*Server, error) {
	initdb, postgres, err := serverBinaries()
	if err != nil {
		return nil, err
	}
	asUser, err := runAsPostgres()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tracecomb-postgres-")
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			os.RemoveAll(dir)
		}
	}()
	if asUser != nil {
		if err := asUser.chown(dir); err != nil {
			return nil, err
		}
	}
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
		if asUser != nil {
			asUser.apply(cmd)
		}
		dieWithParent(cmd)
		return cmd
	}
	data := filepath.Join(dir, "data")
	if out, err := run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port may be taken between probing and binding
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s := &Server{dir: dir, port: port, done: make(chan struct{})}
		log, err := os.Create(filepath.Join(dir, "server.log"))
		if err != nil {
			return nil, err
		}
		// fsync off: the tests create a database per test and need no
		// durability across a crash of this throwaway server.
		s.cmd = run(postgres, "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
		s.cmd.Stdout, s.cmd.Stderr = log, log
		if err := s.cmd.Start(); err != nil {
			log.Close()
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		go func() { _ = s.cmd.Wait(); log.Close(); close(s.done) }()
		if lastErr = s.waitReady(30 * time.Second); lastErr == nil {
			started = true
			return s, nil
		}
		_ = s.cmd.Process.Kill()
		<-s.done
		logText, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		lastErr = fmt.Errorf("%w\nserver log:\n%s", lastErr, logText)
	}
	return nil, lastErr
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return errors.New("postgres exited")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// URL is the URL of database db on the server, as its superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Stop stops the server (a fast shutdown) and removes its files.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(os.Interrupt) // SIGINT: a fast shutdown
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

// NewDatabase creates an empty database on the server and returns its
// URL; it is dropped when the test ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.seq.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	return s.URL(name)
}
