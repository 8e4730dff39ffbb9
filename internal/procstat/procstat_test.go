package procstat

import (
	"net"
	"strconv"
	"testing"
)

// TestEstablishedTo: one loopback connection to a listener counts twice
// (both ends are on this host), and nothing is counted for another port.
func TestEstablishedTo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ports := map[int]bool{port: true}
	before := EstablishedTo(ports)
	if before < 0 {
		t.Skip("no /proc/net/tcp")
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := EstablishedTo(ports); got != before+2 {
		t.Errorf("with one connection: %d; want %d", got, before+2)
	}
	if got := EstablishedTo(map[int]bool{1: true}); got != 0 {
		t.Errorf("port 1: %d; want 0", got)
	}
}
