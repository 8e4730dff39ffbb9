package cluster

import (
	"context"
	"fmt"
	"log/slog"
)

// kitLogger lets dskit's ring and memberlist log through slog: it has the
// one method of go-kit's log.Logger, so this package needs no go-kit import
// (a copy of cmd/cellwatch's adapter, which this package cannot import).
// dskit's info lines stay info and its debug lines (memberlist's stream
// and packet chatter) stay debug; lines without a level are debug.
type kitLogger struct{ l *slog.Logger }

func (k kitLogger) Log(keyvals ...any) error {
	level, msg := slog.LevelDebug, ""
	attrs := make([]any, 0, len(keyvals))
	for i := 0; i+1 < len(keyvals); i += 2 {
		key := fmt.Sprint(keyvals[i])
		switch val := fmt.Sprint(keyvals[i+1]); key {
		case "level":
			switch val {
			case "info":
				level = slog.LevelInfo
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
	k.l.Log(context.Background(), level, msg, attrs...)
	return nil
}
