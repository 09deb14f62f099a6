package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/state/postgres"
)

// stateURLUsage is --state-url's help, the same for serve and keys.
const stateURLUsage = "PostgreSQL database (postgres://user:password@host:5432/db) holding the state that tracecomb nodes share: " +
	"keys, environments, sampling rules, markers, triggers, SLOs, leases (empty: the embedded state.db in the data directory); " +
	"prefer the environment variable, or PGPASSWORD, to a password in the flag"

// validateStateURL checks --state-url's scheme; the rest is checked on
// connecting.
func validateStateURL(url string) error {
	if url == "" || strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return nil
	}
	return fmt.Errorf("--state-url: want postgres://user:password@host:port/database (or empty for the embedded state in the data directory)")
}

// openState opens the state layer: the shared PostgreSQL store when url
// is set, else the embedded SQLite one in dataDir.
func openState(ctx context.Context, dataDir, url string, logger *slog.Logger) (state.Store, error) {
	if url == "" {
		return state.OpenFile(dataDir)
	}
	if err := validateStateURL(url); err != nil {
		return nil, err
	}
	st, err := postgres.Open(ctx, postgres.Config{URL: url, Logger: logger})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openKeyRegistry opens the key registry of the `tracecomb keys`
// commands on the state openState opens; closeAll closes both.
func openKeyRegistry(ctx context.Context, dataDir, url string) (reg *auth.Registry, closeAll func() error, err error) {
	if url == "" {
		reg, err := auth.Open(dataDir, nil)
		if err != nil {
			return nil, nil, err
		}
		return reg, reg.Close, nil
	}
	st, err := openState(ctx, dataDir, url, nil)
	if err != nil {
		return nil, nil, err
	}
	reg, err = auth.New(ctx, st, nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return reg, st.Close, nil
}
