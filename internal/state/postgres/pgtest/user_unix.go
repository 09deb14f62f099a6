//go:build unix

package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// postgresUser is the postgres system user the server runs as when the
// tests run as root.
type postgresUser struct{ uid, gid int }

// runAsPostgres returns the postgres system user when the tests run as
// root (PostgreSQL refuses to run as root), nil otherwise (the server then
// runs as the current user).
func runAsPostgres() (*postgresUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("the tests run as root and PostgreSQL refuses to: want the postgres system user (apt-get install postgresql creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &postgresUser{uid: uid, gid: gid}, nil
}

func (u *postgresUser) chown(path string) error { return os.Chown(path, u.uid, u.gid) }

func (u *postgresUser) apply(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}}
}
