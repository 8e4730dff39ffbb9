package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestDrillEndsWithAPassingVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("the drill runs for seconds")
	}
	var out bytes.Buffer
	v, err := drill(context.Background(), drillConfig{healthy: 2 * time.Second, outage: 3 * time.Second, writers: 4,
		interval: 10 * time.Millisecond, dir: t.TempDir(), out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !v.ok() || v.Written == 0 || v.InLongTerm != v.Written || v.InLocal != v.Written {
		t.Errorf("verdict %+v; want every written datum once in both stores\n%s", v, out.String())
	}
	for _, want := range []string{"mode=degraded", "verdict", "lost                               0", "PASS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("drill output lacks %q", want)
		}
	}
}

// TestDrillClusterEndsWithAPassingVerdict: the drill's cluster mode —
// three nodes on an in-process Kafka, writers spread over them, the brokers
// refusing writes for the outage — counts every datum once in both kinds
// of store, read through one node.
func TestDrillClusterEndsWithAPassingVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("the drill runs for seconds")
	}
	var out bytes.Buffer
	v, err := drill(context.Background(), drillConfig{healthy: 2 * time.Second, outage: 3 * time.Second, writers: 6,
		interval: 10 * time.Millisecond, dir: t.TempDir(), out: &out, nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !v.ok() || v.Written == 0 || v.InLongTerm != v.Written || v.InLocal != v.Written {
		t.Errorf("verdict %+v; want every written datum once in both kinds of store\n%s", v, out.String())
	}
	for _, want := range []string{"node 2 on", "closing the Kafka cluster", "mode=degraded", "lost                               0", "PASS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("drill output lacks %q", want)
		}
	}
}
