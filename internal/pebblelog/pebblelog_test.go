package pebblelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

var _ pebble.Logger = Logger{}

func TestLevelsAndFatalPanics(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Infof("compacted %d", 3)
	l.Errorf("write %s", "failed")
	func() {
		defer func() {
			if r := recover(); r != "pebble: boom 1" {
				t.Errorf("Fatalf panicked with %v", r)
			}
		}()
		l.Fatalf("boom %d", 1)
	}()
	out := buf.String()
	for _, want := range []string{`level=DEBUG msg="pebble: compacted 3"`, `level=ERROR msg="pebble: write failed"`, `level=ERROR msg="pebble: fatal: boom 1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
