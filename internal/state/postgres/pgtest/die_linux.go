package pgtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel send cmd SIGQUIT (PostgreSQL's immediate
// shutdown) when the test process dies without stopping it (a test
// timeout's panic, a kill).
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
}
