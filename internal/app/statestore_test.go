package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/state/postgres"
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
