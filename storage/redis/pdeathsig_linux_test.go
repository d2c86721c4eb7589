package redis_test

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill redis-server if the test process dies
// before it could stop the server.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
