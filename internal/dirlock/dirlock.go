package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrHeld is wrapped by the *HeldError Lock returns when another process
// holds the lock.
var ErrHeld = errors.New("directory in use by another process")

// HeldError reports that another process holds the lock of Dir.
type HeldError struct {
	Dir  string // the directory
	Path string // its lock file
	PID  string // the holder's pid as written in Path; empty if unknown
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("directory %s is in use by another process (pid %s holds %s)", e.Dir, e.PID, e.Path)
}

func (e *HeldError) Unwrap() error { return ErrHeld }

// Lock takes an exclusive flock on dir/name, creating the file, and writes
// this process's pid in it. Close the file to release the lock. When another
// process holds it, the error is a *HeldError (wrapping ErrHeld).
func Lock(dir, name string) (*os.File, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			owner, _ := os.ReadFile(path)
			return nil, &HeldError{Dir: dir, Path: path, PID: strings.TrimSpace(string(owner))}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is advice for the error above; failing to write it is harmless.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
