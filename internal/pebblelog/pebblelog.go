package pebblelog

import (
	"fmt"
	"log/slog"
)

// Logger is a pebble.Logger (Infof, Errorf, Fatalf) writing to a slog.Logger.
type Logger struct{ l *slog.Logger }

// New returns a Logger writing to l; nil discards the messages.
func New(l *slog.Logger) Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return Logger{l: l}
}

// Infof logs at Debug.
func (p Logger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

// Errorf logs at Error.
func (p Logger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf logs at Error and panics, as pebble requires of a fatal message.
func (p Logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble: fatal: " + msg)
	panic("pebble: " + msg)
}
