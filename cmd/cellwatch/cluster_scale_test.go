package main

import (
	"context"
	"fmt"
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
// nodes: a goroutine or a connection per peer would add 9 a node.
func TestClusterNodeCostIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 12 nodes")
	}
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	rest := func() (int, int) {
		time.Sleep(query.PeerIdleTimeout + time.Second) // the reads' connections close
		return procstat.AtRest()
	}
	g0, s0 := rest()
	var nodes []*testNode
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
	g3, s3 := rest()
	grow(12)
	g12, s12 := rest()
	per3, per12, marginal := float64(g3-g0)/3, float64(g12-g0)/12, float64(g12-g3)/9
	sock3, sock12, sockMarginal := float64(s3-s0)/3, float64(s12-s0)/12, float64(s12-s3)/9
	t.Logf("goroutines per node: %.1f at 3 nodes, %.1f at 12, %.1f per added node", per3, per12, marginal)
	t.Logf("sockets per node: %.1f at 3 nodes, %.1f at 12, %.1f per added node", sock3, sock12, sockMarginal)
	if marginal > per3*1.1+3 {
		t.Errorf("goroutines per node grew with the cluster: %.1f at 3, %.1f per added node up to 12", per3, marginal)
	}
	if s0 >= 0 && sockMarginal > sock3+2 {
		t.Errorf("sockets per node grew with the cluster: %.1f at 3, %.1f per added node up to 12", sock3, sockMarginal)
	}
}
