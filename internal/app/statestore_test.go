package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/state/postgres"
	"github.com/tracecomb/tracecomb/internal/state/postgres/pgtest"
)

func TestStateURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"postgres://u:p@db:5432/tracecomb", true},
		{"postgresql://db/tracecomb?sslmode=require", true},
		{"mysql://db/tracecomb", false},
		{"db:5432", false},
	} {
		cfg := DefaultConfig()
		cfg.StateURL = tc.url
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate with --state-url %q: %v", tc.url, err)
		}
	}

	// Empty: the embedded store in the data directory.
	dir := t.TempDir()
	st, err := openState(context.Background(), dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*state.FileStore); !ok {
		t.Errorf("empty --state-url opened %T", st)
	}
	st.Close()

	// A PostgreSQL URL opens the shared store: a server that is down is
	// told as such, to serve and to the keys commands.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := fmt.Sprintf("postgres://u@%s/db?connect_timeout=5", l.Addr())
	l.Close()
	if _, err := openState(context.Background(), dir, down, nil); !errors.Is(err, postgres.ErrUnavailable) {
		t.Errorf("openState of a server that is down: %v", err)
	}
	var out bytes.Buffer
	err = keysCmd([]string{"list", "--data-dir", dir, "--state-url", down}, &out, &out)
	if !errors.Is(err, postgres.ErrUnavailable) {
		t.Errorf("keys list --state-url of a server that is down: %v", err)
	}
	if err := keysCmd([]string{"list", "--data-dir", dir, "--state-url", "mysql://x"}, &out, &out); err == nil || !strings.Contains(err.Error(), "--state-url") {
		t.Errorf("keys list --state-url mysql://x: %v", err)
	}
}

// TestSharedState: two nodes (their own data directories) on one
// PostgreSQL state: a key the keys command creates there works on both,
// and once revoked stops working on both.
func TestSharedState(t *testing.T) {
	t.Parallel() // its own PostgreSQL server; mostly waits on it
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	url := pg.NewDatabase(t)
	shared := func(c *Config) { c.StateURL = url }
	a, _ := testAppWith(t, t.TempDir(), shared)
	b, _ := testAppWith(t, t.TempDir(), shared)

	var out bytes.Buffer
	if err := keysCmd([]string{"create", "--data-dir", t.TempDir(), "--state-url", url, "--env", "test", "--kind", "ingest"}, &out, &out); err != nil {
		t.Fatalf("keys create: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`Key id:\s+(\S+)\nKey \(shown once\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no key in %q", out.String())
	}
	id, key := m[1], m[2]
	// auth asks each node: 200 with the key, 401 without.
	auth := func(a *App) int {
		code, _, _ := call(t, "GET", "http://"+a.Addrs().HTTP+"/1/auth", key, "", false)
		return code
	}
	// eventually polls until every node answers want (a node hears of a
	// change within a second; 10 s bounds a loaded machine).
	eventually := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for _, n := range []*App{a, b} {
			for auth(n) != want {
				if time.Now().After(deadline) {
					t.Fatalf("a node answers %d, want %d", auth(n), want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	eventually(200)
	out.Reset()
	if err := keysCmd([]string{"revoke", "--data-dir", t.TempDir(), "--state-url", url, id}, &out, &out); err != nil {
		t.Fatalf("keys revoke: %v\n%s", err, out.String())
	}
	eventually(401)
}

// TestStateURLNotShown: a --state-url from the environment (its password
// with it) is not printed as the flag's default by -h.
func TestStateURLNotShown(t *testing.T) {
	t.Setenv("TRACECOMB_STATE_URL", "postgres://u:s3cret-pw@db/x")
	var usage bytes.Buffer
	for _, args := range [][]string{{"serve", "-h"}, {"keys", "list", "-h"}} {
		usage.Reset()
		Main(context.Background(), args, &usage, &usage)
		if !strings.Contains(usage.String(), "-state-url") || strings.Contains(usage.String(), "s3cret-pw") {
			t.Errorf("%v: %s", args, usage.String())
		}
	}
	var cfg Config
	cfg.BindFlags(flag.NewFlagSet("serve", flag.ContinueOnError))
	if cfg.StateURL != "postgres://u:s3cret-pw@db/x" {
		t.Errorf("TRACECOMB_STATE_URL gave %q", cfg.StateURL)
	}
}
