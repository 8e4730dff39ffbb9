package cluster

import (
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/procstat"
)

// TestResourcesPerNodeDoNotGrowWithTheCluster runs 3 and then 12 nodes in
// this process and measures, at rest, goroutines and open sockets per node.
// memberlist gossips to a fixed number of random peers per interval over
// short-lived TCP connections, and the ring has no per-peer worker, so the
// cost of a node is a constant: a design with a goroutine or a connection
// per peer would add about 9 of each per node going from 3 to 12 nodes.
func TestResourcesPerNodeDoNotGrowWithTheCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 12 nodes")
	}
	logger := testLogger(t)
	g0, s0 := atRest()
	nodes, took3 := startCluster(t, logger, []string{"", "", ""}, nil)
	g3, s3 := atRest()

	seed := gossipAddr(nodes[0])
	began := time.Now()
	for i := 3; i < 12; i++ {
		cfg := testConfig(nodeName(i), "", seed)
		nodes = append(nodes, start(t, logger, cfg))
	}
	waitHealthy(t, nodes, 12)
	took12 := time.Since(began)
	agreed(t, nodes, 100)
	checkPartitioned(t, nodes)
	g12, s12 := atRest()

	per3, per12 := float64(g3-g0)/3, float64(g12-g0)/12
	marginal := float64(g12-g3) / 9
	t.Logf("goroutines: %d before, %d with 3 nodes (%.1f per node), %d with 12 (%.1f per node; %.1f per added node)", g0, g3, per3, g12, per12, marginal)
	t.Logf("join: 3 nodes healthy everywhere %s after the first ran; 9 more %s after they began joining", took3, took12)
	if per12 > per3+2 || marginal > per3+2 {
		t.Errorf("goroutines per node grew with the cluster: %.1f per node at 3, %.1f at 12, %.1f per added node", per3, per12, marginal)
	}
	if s0 >= 0 {
		sock3, sock12 := float64(s3-s0)/3, float64(s12-s0)/12
		t.Logf("sockets at rest: %d before, %d with 3 nodes (%.1f per node), %d with 12 (%.1f per node)", s0, s3, sock3, s12, sock12)
		if sock12 > sock3+1 {
			t.Errorf("open sockets per node grew with the cluster: %.1f at 3, %.1f at 12", sock3, sock12)
		}
	}

	stopConcurrently(t, nodes)
	waitFor(t, "the goroutines of 12 stopped nodes to end", func() bool {
		g, _ := atRest()
		return g <= g0+2
	})
}

func nodeName(i int) string { return "node-" + string(rune('a'+i)) }

func atRest() (goroutines, sockets int) { return procstat.AtRest() }
