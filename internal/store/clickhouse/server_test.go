package clickhouse

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tracecomb/tracecomb/internal/store/clickhouse/chtest"
)

// testServer is a clickhouse-server the tests start in a temporary
// directory, on free loopback ports (package chtest).
type testServer struct {
	*chtest.Server
	url string
}

// startServer starts a server with its data in dir (created when
// missing; an existing one is reused, for restart tests).
func startServer(dir string) (*testServer, error) {
	s, err := chtest.Start(dir)
	if err != nil {
		return nil, err
	}
	return &testServer{Server: s, url: s.URL}, nil
}

// stop ends the server (SIGTERM, then SIGKILL after 20 s).
func (ts *testServer) stop() { ts.Stop() }

// kill ends the server with SIGKILL, as a crash would.
func (ts *testServer) kill() { ts.Kill() }

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
	for _, c := range clusterSrv {
		c.Stop()
	}
	if clusterDir != "" {
		_ = os.RemoveAll(clusterDir)
	}
	if chdbShared != nil {
		chdbShared.Stop()
	}
	if chdbDir != "" {
		_ = os.RemoveAll(chdbDir)
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
