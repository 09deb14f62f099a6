//go:build !unix

package pgtest

import (
	"errors"
	"os/exec"
)

type postgresUser struct{}

func runAsPostgres() (*postgresUser, error) {
	return nil, errors.New("pgtest runs PostgreSQL on Unix only")
}

func (*postgresUser) chown(string) error { return nil }

func (*postgresUser) apply(*exec.Cmd) {}
