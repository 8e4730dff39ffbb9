package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// clusterArgs are the flags of one cluster node on brokers: gossip on a
// free loopback port, heartbeats short enough for tests.
func clusterArgs(brokers, id, join string) []string {
	// 24 partitions: with random tokens, each of three nodes owns some.
	args := []string{"-stream.kind", "kafka", "-stream.kafka.brokers", brokers, "-stream.kafka.delivery-timeout", "1s", "-stream.partitions", "24",
		"-cluster.bind-addr", "127.0.0.1", "-cluster.bind-port", "0", "-cluster.node-id", id,
		"-cluster.heartbeat-period", "200ms", "-cluster.heartbeat-timeout", "2s", "-cluster.peer-timeout", "2s"}
	if join != "" {
		args = append(args, "-cluster.join", join)
	}
	return args
}

// startClusterNodes starts one in-process node per id on brokers, the
// first the others' seed, with extra flags, and waits until every node's
// ring holds all of them healthy.
func startClusterNodes(t testing.TB, brokers string, ids []string, extra ...string) []*testNode {
	t.Helper()
	var nodes []*testNode
	for i, id := range ids {
		join := ""
		if i > 0 {
			join = nodes[0].gossipAddr()
		}
		nodes = append(nodes, startBenchNode(t, testConfig(t, t.TempDir(), append(clusterArgs(brokers, id, join), extra...)...)))
	}
	want := strings.Join(slices.Sorted(slices.Values(ids)), ",")
	waitFor(t, 30*time.Second, "every node healthy in every ring", func() bool {
		for _, n := range nodes {
			if n.healthyMembers() != want {
				return false
			}
		}
		return true
	})
	return nodes
}

func (tn *testNode) gossipAddr() string { return fmt.Sprintf("127.0.0.1:%d", tn.cluster.GossipPort()) }

// healthyMembers is the IDs of the nodes tn's ring holds healthy.
func (tn *testNode) healthyMembers() string { return strings.Join(healthy(tn.node), ",") }

// partialData reports whether a GetMetricData of metric over [start, end)
// says PartialData (some of it is unknown).
func partialData(t *testing.T, cw *cloudwatch.Client, ns, metric string, start, end time.Time) bool {
	t.Helper()
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("m"), MetricStat: &types.MetricStat{Period: aws.Int32(60), Stat: aws.String("SampleCount"),
			Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric)}}}}})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	return out.MetricDataResults[0].StatusCode == types.StatusCodePartialData
}

// TestClusterThreeNodes runs three nodes on a three-broker kfake cluster:
// two in this process and one a real process. What is written to any node
// reads the same from every node, merged (each minute holds one datum from
// each node); the partitions are shared out among the nodes; kill -9 of the
// process makes its share unknown until its partitions move, after which
// every acknowledged datum it shipped reads again from the others; and
// once it restarts on its data directory, its WAL replays and it serves
// the cluster's data.
func TestClusterThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process")
	}
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	a := startNode(t, testConfig(t, t.TempDir(), clusterArgs(brokers, "a", "")...))
	b := startNode(t, testConfig(t, t.TempDir(), clusterArgs(brokers, "b", a.gossipAddr())...))
	cDir := t.TempDir()
	c, cAddr := startProcess(t, cDir, clusterArgs(brokers, "c", a.gossipAddr())...)
	waitFor(t, 30*time.Second, "three healthy nodes in both rings", func() bool {
		return a.healthyMembers() == "a,b,c" && b.healthyMembers() == "a,b,c"
	})
	parts := a.cfg.Stream.Partitions
	waitFor(t, 30*time.Second, "a and b to own some partitions, not all", func() bool {
		na, nb := len(a.cluster.OwnedPartitions(parts)), len(b.cluster.OwnedPartitions(parts))
		return na > 0 && nb > 0 && na+nb < parts
	})

	metrics := []string{"value", "values", "stats"}
	clients := []*cloudwatch.Client{a.sdk(), b.sdk(), clientFor(cAddr)}
	for i, cw := range clients {
		writeMinutes(t, cw, "Cluster", 30, 3, rand.New(rand.NewPCG(uint64(i), 9)))
	}
	start, end := minute(31), minute(2)
	want := waitEqual(t, clients[0], "Cluster", metrics, start, end) // a's local union == long-term union
	if got := sampleCount(want, "value"); got != 3*28 {
		t.Fatalf("value datums read through a: %v; want %d, the 28 each node took", got, 3*28)
	}
	for i, cw := range clients[1:] {
		if got := buckets(t, cw, "", "Cluster", metrics, start, end); !maps.Equal(got, want) {
			t.Errorf("node %d reads %v; node a reads %v", i+1, got, want)
		}
	}

	// An alarm name the ring gives to c, to see it move on the kill.
	cAlarm := ""
	for i := 0; cAlarm == ""; i++ {
		if o, ok := a.cluster.AlarmOwner(awsapi.DefaultTenant, fmt.Sprint("alarm-", i)); ok && o.ID == "c" {
			cAlarm = fmt.Sprint("alarm-", i)
		}
	}

	// kill -9 of c: its share is unknown until its partitions move to a
	// and b, which read them from the stream; then every bucket is whole.
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	killed := time.Now()
	sawUnknown := false
	waitFor(t, 60*time.Second, "c's partitions to move to a and b", func() bool {
		sawUnknown = sawUnknown || partialData(t, clients[0], "Cluster", "value", start, end)
		na, nb := len(a.cluster.OwnedPartitions(parts)), len(b.cluster.OwnedPartitions(parts))
		return na+nb == parts
	})
	moved := time.Since(killed)
	waitFor(t, 30*time.Second, "c's alarms to move to a or b", func() bool {
		return a.cluster.OwnsAlarm(awsapi.DefaultTenant, cAlarm) || b.cluster.OwnsAlarm(awsapi.DefaultTenant, cAlarm)
	})
	alarmMoved := time.Since(killed)
	if !sawUnknown {
		t.Error("no read reported PartialData while the killed node still owned its partitions")
	}
	waitFor(t, 60*time.Second, "every bucket whole again from a and b", func() bool {
		return maps.Equal(buckets(t, clients[0], "", "Cluster", metrics, start, end), want) &&
			maps.Equal(buckets(t, clients[1], "", "Cluster", metrics, start, end), want) &&
			!partialData(t, clients[0], "Cluster", "value", start, end)
	})
	t.Logf("after kill -9: partitions moved in %v, alarms in %v; reads whole again %v after the kill", moved.Round(time.Millisecond),
		alarmMoved.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))

	// c restarts on its data directory and serves the cluster's data.
	_, cAddr = startProcess(t, cDir, clusterArgs(brokers, "c", a.gossipAddr())...)
	waitFor(t, 30*time.Second, "c back in the ring", func() bool { return a.healthyMembers() == "a,b,c" })
	waitFor(t, 60*time.Second, "c to read what every node reads", func() bool {
		return maps.Equal(buckets(t, clientFor(cAddr), "", "Cluster", metrics, start, end), want)
	})
}

// TestClusterStreamOutage: with the brokers refusing writes, every node of
// the cluster goes degraded; writes and reads go on, merged over the nodes'
// local stores with nothing unknown; when the brokers return, each node's
// backlog drains exactly once (the long-term stores, by partition, read
// what the local stores read).
func TestClusterStreamOutage(t *testing.T) {
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	nodes := startClusterNodes(t, brokers, []string{"a", "b", "c"})
	a := nodes[0]
	metrics := []string{"value", "values", "stats"}
	for i, n := range nodes {
		writeMinutes(t, n.sdk(), "Outage", 30, 21, rand.New(rand.NewPCG(uint64(i), 1)))
	}
	start, end := minute(31), minute(1)
	waitEqual(t, a.sdk(), "Outage", metrics, start, end)

	down.Store(true)
	loopWrites := 0 // the datums of "value" written while waiting for degraded mode
	for i, n := range nodes {
		rng := rand.New(rand.NewPCG(uint64(i), 2))
		waitFor(t, 30*time.Second, "node "+n.cfg.Cluster.NodeID+" degraded", func() bool {
			writeMinutes(t, n.sdk(), "Outage", 20, 20, rng) // every write must succeed
			loopWrites++
			mode, _, _ := n.shipper.Health()
			return mode == fallback.ModeDegraded
		})
		writeMinutes(t, n.sdk(), "Outage", 19, 2, rng)
	}
	during := buckets(t, a.sdk(), "", "Outage", metrics, start, end)
	if got, want := sampleCount(during, "value"), float64(3*(10+18))+float64(loopWrites); got != want {
		t.Errorf("during the outage, value datums read through a: %v; want %v, every one each node took", got, want)
	}
	for _, n := range nodes[1:] {
		if got := buckets(t, n.sdk(), "", "Outage", metrics, start, end); !maps.Equal(got, during) {
			t.Errorf("during the outage node %s reads %v; a reads %v", n.cfg.Cluster.NodeID, got, during)
		}
	}
	if partialData(t, a.sdk(), "Outage", "value", minute(19), minute(2)) {
		t.Error("during the outage the recent minutes read as PartialData; every node answers them")
	}

	down.Store(false)
	waitFor(t, 90*time.Second, "every backlog to drain", func() bool {
		for _, n := range nodes {
			if n.shipper.Backlog() > 0 {
				return false
			}
		}
		return true
	})
	if after := waitEqual(t, a.sdk(), "Outage", metrics, start, end); !maps.Equal(after, during) {
		t.Errorf("after the drain the long-term stores read %v; during the outage %v", after, during)
	}
}

// TestClusterShardForwarding: with -cluster.tenant-shard-size 1, a write
// that reaches a node outside the tenant's shard is passed to the shard's
// node (which alone then holds the tenant's recent data), and every node
// reads the same.
func TestClusterShardForwarding(t *testing.T) {
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	nodes := startClusterNodes(t, brokers, []string{"a", "b", "c"}, "-cluster.tenant-shard-size", "1")
	a := nodes[0]
	// /admin/status tells the ring as the node sees it.
	code, body := a.admin(t, "GET", "/admin/status", nil)
	var st status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.Cluster == nil {
		t.Fatalf("/admin/status: %d %v %s", code, err, body)
	}
	owned := 0
	for _, n := range nodes {
		owned += len(n.cluster.OwnedPartitions(n.cfg.Stream.Partitions))
	}
	if len(st.Cluster.Members) != 3 || !st.Cluster.Members[1].Healthy || st.Cluster.NodeID != "a" || owned != a.cfg.Stream.Partitions ||
		len(st.Cluster.OwnedPartitions) != len(a.cluster.OwnedPartitions(a.cfg.Stream.Partitions)) {
		t.Errorf("/admin/status cluster = %+v", st.Cluster)
	}

	shard := a.cluster.TenantNodes(awsapi.DefaultTenant)
	if len(shard) != 1 {
		t.Fatalf("shard of the default tenant: %v; want one node", shard)
	}
	for i, n := range nodes {
		writeMinutes(t, n.sdk(), "Shard", 20, 11, rand.New(rand.NewPCG(uint64(i), 3)))
	}
	for _, n := range nodes {
		held := len(n.local.Lookup(awsapi.DefaultTenant, "Shard", "value", nil)) > 0
		if want := n.cfg.Cluster.NodeID == shard[0].ID; held != want {
			t.Errorf("node %s holds the tenant's recent data: %v; want %v (the shard is %s)", n.cfg.Cluster.NodeID, held, want, shard[0].ID)
		}
	}
	metrics := []string{"value", "values", "stats"}
	start, end := minute(21), minute(10)
	want := buckets(t, a.sdk(), "", "Shard", metrics, start, end)
	if got := sampleCount(want, "value"); got != 3*10 {
		t.Fatalf("value datums read through a: %v; want %d, the 10 each node took", got, 3*10)
	}
	for _, n := range nodes[1:] {
		if got := buckets(t, n.sdk(), "", "Shard", metrics, start, end); !maps.Equal(got, want) {
			t.Errorf("node %s reads %v; a reads %v", n.cfg.Cluster.NodeID, got, want)
		}
	}
}

// TestClusterNodeServesBeforePeers: a node whose peers are all down (its
// -cluster.join answers nothing) starts, is ready once its WAL replays,
// owns every partition alone and serves writes and reads; restarted on its
// data directory, it reads what it took from local disk, still alone.
func TestClusterNodeServesBeforePeers(t *testing.T) {
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	dir := t.TempDir()
	dead := "127.0.0.1:1" // nothing listens there
	tn := startNode(t, testConfig(t, dir, clusterArgs(brokers, "alone", dead)...))
	if !tn.isReady() {
		t.Fatal("the node is not ready without its peers")
	}
	if got := len(tn.cluster.OwnedPartitions(tn.cfg.Stream.Partitions)); got != tn.cfg.Stream.Partitions {
		t.Errorf("alone, the node owns %d of %d partitions", got, tn.cfg.Stream.Partitions)
	}
	writeMinutes(t, tn.sdk(), "Alone", 10, 2, rand.New(rand.NewPCG(5, 6)))
	metrics := []string{"value", "values", "stats"}
	before := buckets(t, tn.sdk(), "", "Alone", metrics, minute(11), minute(1))
	if len(before) == 0 {
		t.Fatal("nothing read back")
	}
	tn.stop()
	tn = startNode(t, testConfig(t, dir, clusterArgs(brokers, "alone", dead)...))
	if got := buckets(t, tn.sdk(), "", "Alone", metrics, minute(11), minute(1)); !maps.Equal(got, before) {
		t.Errorf("after a restart without peers: %v; before %v", got, before)
	}
}

// sampleCount sums the SampleCount of metric's buckets (buckets' map; a
// total does not depend on the minute a write fell in).
func sampleCount(b map[string]string, metric string) float64 {
	total := 0.0
	for k, v := range b {
		if strings.HasPrefix(k, metric+"@") {
			n, _ := strconv.ParseFloat(v[:strings.IndexByte(v, '/')], 64)
			total += n
		}
	}
	return total
}
