package postgres

import (
	"fmt"
	"os"
	"testing"

	"github.com/tracecomb/tracecomb/internal/state/postgres/pgtest"
)

// server is the PostgreSQL server the tests talk to, started by TestMain.
var server *pgtest.Server

func TestMain(m *testing.M) {
	s, err := pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

func newDatabase(t testing.TB) string { return server.NewDatabase(t) }

func freePort() (int, error) { return pgtest.FreePort() }
