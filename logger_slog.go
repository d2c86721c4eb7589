package goka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// SlogLogger adapts l to Goka's Logger: every Print, Println and Printf is
// one record at slog.LevelInfo whose message is the printed line (without
// its final newline). Formatting is skipped when l does not log at that
// level. A nil l gives a Logger that discards everything, which makes a
// component silent. The result also serves SetSaramaLogger. Not in Goka.
func SlogLogger(l *slog.Logger) Logger {
	return slogLogger{l: l}
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) enabled() bool {
	return s.l != nil && s.l.Enabled(context.Background(), slog.LevelInfo)
}

func (s slogLogger) Print(args ...interface{}) {
	if s.enabled() {
		s.l.Info(strings.TrimSuffix(fmt.Sprint(args...), "\n"))
	}
}

func (s slogLogger) Println(args ...interface{}) {
	if s.enabled() {
		s.l.Info(strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
	}
}

func (s slogLogger) Printf(format string, args ...interface{}) {
	if s.enabled() {
		s.l.Info(strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"))
	}
}
