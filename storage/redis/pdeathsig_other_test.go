//go:build !linux

package redis_test

import "os/exec"

func setPdeathsig(*exec.Cmd) {}
