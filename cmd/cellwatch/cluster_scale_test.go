package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/internal/procstat"
	"github.com/cellwatch/cellwatch/query"
)

// TestClusterNodeCostIsFlat runs 3 and then 12 whole nodes in this
// process (tenant shards of 3), has each write and read through the
// cluster, and measures goroutines and open sockets per node at rest. Gossip
// talks to a fixed number of peers per interval, the alarm syncer opens a
// connection per pull, and reads keep their peer connections only for
// query.PeerIdleTimeout, so a node's cost is the same at 3 and at 12
// nodes: a connection kept per peer would add 9 a node. Connections
// between nodes are counted by port, apart from Kafka's (whose count
// follows the partitions a node owns).
func TestClusterNodeCostIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 12 nodes")
	}
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	var nodes []*testNode
	// peerConns is the established connection ends between the nodes
	// (their API and gossip ports): Kafka's are left out.
	peerConns := func() int {
		ports := map[int]bool{}
		for _, n := range nodes {
			ports[n.apiServer.Addr().(*net.TCPAddr).Port] = true
			ports[n.cluster.GossipPort()] = true
		}
		least := procstat.EstablishedTo(ports)
		for range 25 {
			time.Sleep(40 * time.Millisecond)
			least = min(least, procstat.EstablishedTo(ports))
		}
		return least
	}
	rest := func() (int, int, int) {
		time.Sleep(query.PeerIdleTimeout + 3*time.Second) // the reads' and forwards' connections close
		g, s := procstat.AtRest()
		return g, s, peerConns()
	}
	g0, s0, _ := rest()
	grow := func(to int) {
		for i := len(nodes); i < to; i++ {
			join := ""
			if i > 0 {
				join = nodes[0].gossipAddr()
			}
			nodes = append(nodes, startNode(t, testConfig(t, t.TempDir(), append(clusterArgs(brokers, fmt.Sprint("n", i), join), "-cluster.tenant-shard-size", "3")...)))
		}
		waitFor(t, 60*time.Second, fmt.Sprintf("%d healthy nodes", to), func() bool {
			for _, n := range nodes {
				if len(strings.Split(n.healthyMembers(), ",")) != to {
					return false
				}
			}
			return true
		})
		for _, n := range nodes {
			cw := n.sdk()
			if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Flat"),
				MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1)}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := cw.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Flat"), MetricName: aws.String("m"),
				StartTime: aws.Time(minute(5)), EndTime: aws.Time(minute(-1)), Period: aws.Int32(60), Statistics: allStats()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	grow(3)
	g3, s3, p3 := rest()
	grow(12)
	g12, s12, p12 := rest()
	per3, per12, marginal := float64(g3-g0)/3, float64(g12-g0)/12, float64(g12-g3)/9
	sock3, sock12, sockMarginal := float64(s3-s0)/3, float64(s12-s0)/12, float64(s12-s3)/9
	t.Logf("goroutines per node: %.1f at 3 nodes, %.1f at 12, %.1f per added node", per3, per12, marginal)
	t.Logf("sockets per node (Kafka's included): %.1f at 3 nodes, %.1f at 12, %.1f per added node", sock3, sock12, sockMarginal)
	t.Logf("connection ends between nodes at rest: %d at 3 nodes (%.1f per node), %d at 12 (%.1f per node)", p3, float64(p3)/3, p12, float64(p12)/12)
	if marginal > per3*1.1+3 {
		t.Errorf("goroutines per node grew with the cluster: %.1f at 3, %.1f per added node up to 12", per3, marginal)
	}
	// The test's own SDK clients keep a connection to each node they used
	// (two ends: 2 a node, a little more at 12 where the first three were
	// used twice); a connection per peer would add 22 ends a node at 12.
	if p12 >= 0 && float64(p12)/12 > float64(p3)/3+3 {
		t.Errorf("connections between nodes per node grew with the cluster: %.1f at 3, %.1f at 12", float64(p3)/3, float64(p12)/12)
	}
}
