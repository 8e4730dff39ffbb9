// Package procstat measures what a process holds at rest: goroutines and
// open sockets, for tests that show a cost does not grow with a cluster.
package procstat

import (
	"os"
	"runtime"
	"strings"
	"time"
)

// AtRest is the fewest goroutines and open sockets seen over about a
// second: short-lived work (a gossip message, a pull) opens a connection
// and a goroutine for a moment, and the minimum leaves those out.
func AtRest() (goroutines, sockets int) {
	goroutines, sockets = runtime.NumGoroutine(), OpenSockets()
	for range 25 {
		time.Sleep(40 * time.Millisecond)
		goroutines, sockets = min(goroutines, runtime.NumGoroutine()), min(sockets, OpenSockets())
	}
	return goroutines, sockets
}

// OpenSockets counts this process's socket descriptors; -1 where /proc is
// not there.
func OpenSockets() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}
