package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockIsExclusiveAndNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	f, err := Lock(dir, "LOCK")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "LOCK"))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, %v; want this pid", b, err)
	}

	_, err = Lock(dir, "LOCK") // flock locks are per open file: a second open conflicts
	var held *HeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Lock: %v; want a *HeldError wrapping ErrHeld", err)
	}
	if held.PID != strconv.Itoa(os.Getpid()) || held.Dir != dir || held.Path != filepath.Join(dir, "LOCK") {
		t.Errorf("HeldError %+v", held)
	}

	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f2, err := Lock(dir, "LOCK")
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	_ = f2.Close()
}

func TestLockMissingDir(t *testing.T) {
	if _, err := Lock(filepath.Join(t.TempDir(), "missing"), "LOCK"); err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("Lock in a missing dir: %v; want an open error", err)
	}
}
