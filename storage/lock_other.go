//go:build !unix

package storage

// isLocked reports whether err is LevelDB failing to lock its directory. It
// is only known on Unix systems.
func isLocked(error) bool { return false }
