package kitlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		infoAsDebug bool
		keyvals     []any
		want        string // "" when the line is below info and dropped
	}{
		{false, []any{"level", "info", "msg", "joined", "peers", 2}, "level=INFO msg=joined peers=2"},
		{true, []any{"level", "info", "msg", "module started"}, ""},
		{true, []any{"level", "warn", "msg", "slow"}, "level=WARN msg=slow"},
		{false, []any{"level", "error", "msg", "failed", "err", "x"}, "level=ERROR msg=failed err=x"},
		{false, []any{"msg", "no level"}, ""},
	} {
		var buf bytes.Buffer
		l := Logger{L: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})), InfoAsDebug: tc.infoAsDebug}
		_ = l.Log(tc.keyvals...)
		if got := strings.TrimSpace(buf.String()); got != tc.want {
			t.Errorf("%v (info as debug %v): logged %q; want %q", tc.keyvals, tc.infoAsDebug, got, tc.want)
		}
	}
}
