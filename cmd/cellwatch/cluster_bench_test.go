package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// BenchmarkClusterIngest replays the Go SDK's PutMetricData bytes (as
// BenchmarkPutMetricDataEndToEnd) round-robin over 1, 2 and 3 cluster nodes
// in this process, all on one in-process three-broker Kafka, and reports
// the datums per second the cluster acknowledged, and what the long-term
// consumers then applied. On one machine the nodes share its cores: the
// numbers say what the cluster machinery costs, not how it scales out.
func BenchmarkClusterIngest(b *testing.B) {
	for _, count := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", count), func(b *testing.B) {
			var down atomic.Bool
			brokers := strings.Join(kfakeBrokers(b, &down), ",")
			nodes := startClusterNodes(b, brokers, nodeIDs(count))
			calls := sdkPayloads(b, 10000, time.Now().Truncate(time.Minute))
			start := time.Now()
			elapsed := replayCalls(b, calls, func(i int) string { return nodes[i%count].url() })
			b.ReportMetric(float64(b.N*20)/elapsed.Seconds(), "datums/s")
			b.StopTimer()
			waitFor(b, 5*time.Minute, "every node's backlog shipped and applied", func() bool {
				for _, n := range nodes {
					if n.shipper.Backlog() > 0 || n.status(b.Context()).ConsumerLag > 0 {
						return false
					}
				}
				return true
			})
			b.ReportMetric(float64(b.N*20)/time.Since(start).Seconds(), "applied-datums/s")
		})
	}
}

// BenchmarkClusterGetMetricData reads 100 series over 3 hours
// (BenchmarkGetMetricData3h's read) through one node of 1 and of 3, the
// series written spread over the nodes: the cost of reading the peers'
// shares over HTTP.
func BenchmarkClusterGetMetricData(b *testing.B) {
	for _, count := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", count), func(b *testing.B) {
			var down atomic.Bool
			brokers := strings.Join(kfakeBrokers(b, &down), ",")
			nodes := startClusterNodes(b, brokers, nodeIDs(count))
			var writers []*cloudwatch.Client
			for _, n := range nodes {
				writers = append(writers, n.sdk())
			}
			benchGetMetricData(b, nodes[0].sdk(), putSeries3h(b, writers))
		})
	}
}

// nodeIDs names n nodes n0, n1, ...
func nodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("n", i)
	}
	return ids
}
