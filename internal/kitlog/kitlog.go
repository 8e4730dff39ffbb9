// Package kitlog lets dskit's components, which log through go-kit's
// log.Logger, log through slog instead. Logger has go-kit's one method, so
// its users need no go-kit import.
package kitlog

import (
	"context"
	"fmt"
	"log/slog"
)

// Logger logs go-kit key-value lines to L: "level" picks the slog level
// (lines without one are debug), "msg" the message, the rest are
// attributes. With InfoAsDebug, info lines are debug too (dskit's module
// manager tells every module's start and stop at info).
type Logger struct {
	L           *slog.Logger
	InfoAsDebug bool
}

// Log implements go-kit's log.Logger.
func (k Logger) Log(keyvals ...any) error {
	level, msg := slog.LevelDebug, ""
	attrs := make([]any, 0, len(keyvals))
	for i := 0; i+1 < len(keyvals); i += 2 {
		key := fmt.Sprint(keyvals[i])
		switch val := fmt.Sprint(keyvals[i+1]); key {
		case "level":
			switch val {
			case "info":
				if !k.InfoAsDebug {
					level = slog.LevelInfo
				}
			case "warn":
				level = slog.LevelWarn
			case "error":
				level = slog.LevelError
			}
		case "msg":
			msg = val
		default:
			attrs = append(attrs, key, keyvals[i+1])
		}
	}
	k.L.Log(context.Background(), level, msg, attrs...)
	return nil
}
