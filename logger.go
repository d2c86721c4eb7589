package goka

import (
	"log"
	"os"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// Logger is the logging interface of goka; *log.Logger implements it.
type Logger interface {
	Print(...interface{})
	Println(...interface{})
	Printf(string, ...interface{})
}

var (
	defaultLogger Logger = log.New(os.Stderr, "", log.LstdFlags)
	gokaDebug     atomic.Bool
)

// DefaultLogger returns the logger used when no logger option is given: the
// standard library logger writing to stderr with log.LstdFlags.
func DefaultLogger() Logger { return defaultLogger }

// Debug enables goka's debug log lines and, with saramaDebug, routes sarama's
// logs to the default logger.
func Debug(gokaDebugEnabled, saramaDebug bool) {
	gokaDebug.Store(gokaDebugEnabled)
	if saramaDebug {
		SetSaramaLogger(defaultLogger)
	}
}

// SetSaramaLogger sets the logger sarama writes to.
func SetSaramaLogger(logger Logger) { sarama.Logger = logger }

// debugf logs only when debugging is enabled with Debug.
func debugf(l Logger, format string, args ...interface{}) {
	if gokaDebug.Load() {
		l.Printf(format, args...)
	}
}
