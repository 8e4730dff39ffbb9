// Package procstat measures what a process holds at rest: goroutines and
// open sockets, for tests that show a cost does not grow with a cluster.
package procstat

import (
	"os"
	"runtime"
	"strconv"
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

// EstablishedTo counts the established TCP connection ends on this host
// (the whole network namespace, as /proc/net/tcp and tcp6 list them) with
// a local or remote port in ports; -1 where /proc is not there. With every
// party in one process, a connection between two of ports counts twice.
func EstablishedTo(ports map[int]bool) int {
	n, found := 0, false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		found = true
		for i, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if i == 0 || len(fields) < 4 || fields[3] != "01" { // 01: ESTABLISHED
				continue
			}
			if ports[portOf(fields[1])] || ports[portOf(fields[2])] {
				n++
			}
		}
	}
	if !found {
		return -1
	}
	return n
}

// portOf reads the port of a /proc/net/tcp address ("0100007F:1F90").
func portOf(addr string) int {
	_, hex, ok := strings.Cut(addr, ":")
	if !ok {
		return -1
	}
	p, err := strconv.ParseUint(hex, 16, 16)
	if err != nil {
		return -1
	}
	return int(p)
}
