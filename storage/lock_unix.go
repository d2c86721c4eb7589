//go:build unix

package storage

import (
	"errors"
	"syscall"
)

// isLocked reports whether err is LevelDB failing to lock its directory
// because another storage or process holds the lock.
func isLocked(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN)
}
