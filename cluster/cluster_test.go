package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const (
	numPartitions = 16
	deadline      = 30 * time.Second // generous: the machine is shared
)

// testConfig is a node on loopback with a free gossip port and timings
// short enough for tests.
func testConfig(id, zone string, join ...string) Config {
	return Config{
		Join:             join,
		BindAddr:         "127.0.0.1",
		NodeID:           id,
		Zone:             zone,
		APIAddr:          "api-" + id + ":8080",
		HeartbeatPeriod:  time.Second,
		HeartbeatTimeout: 15 * time.Second,
		tune: tuning{
			gossipInterval: 100 * time.Millisecond,
			pushPull:       2 * time.Second,
			joinBackoffMin: 100 * time.Millisecond,
			joinBackoffMax: time.Second,
			recheck:        200 * time.Millisecond,
			leaveTimeout:   500 * time.Millisecond,
		},
	}
}

// testLogger sends warnings and errors to the test's log until the test
// ends (dskit goroutines may log while they stop).
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close) // registered first, so it runs after every node stopped
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// start starts a node with its own registry and stops it when the test
// ends (unless the test stopped it already).
func start(t *testing.T, logger *slog.Logger, cfg Config) *Cluster {
	t.Helper()
	c, err := New(cfg, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("new %s: %v", cfg.NodeID, err)
	}
	run(t, c)
	t.Cleanup(func() { stop(t, c) })
	return c
}

// run starts c under a context that lasts until c is stopped (a service
// stops when the context it was started with ends).
func run(t *testing.T, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	if err := c.StartAsync(context.Background()); err != nil {
		t.Fatalf("start %s: %v", c.cfg.NodeID, err)
	}
	if err := c.AwaitRunning(ctx); err != nil {
		t.Fatalf("start %s: %v", c.cfg.NodeID, err)
	}
}

func stop(t *testing.T, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := services.StopAndAwaitTerminated(ctx, c); err != nil {
		t.Errorf("stop %s: %v", c.cfg.NodeID, err)
	}
}

// gossipAddr is where peers join c.
func gossipAddr(c *Cluster) string { return "127.0.0.1:" + strconv.Itoa(c.GossipPort()) }

// startCluster starts one node per zone given (zones[i] is node i's zone),
// all joining the first, and returns once every node sees every other
// healthy, with how long that took after the first node ran.
func startCluster(t *testing.T, logger *slog.Logger, zones []string, edit func(*Config)) ([]*Cluster, time.Duration) {
	t.Helper()
	cfgs := make([]Config, len(zones))
	for i, z := range zones {
		cfgs[i] = testConfig(fmt.Sprintf("node-%02d", i), z)
		if edit != nil {
			edit(&cfgs[i])
		}
	}
	nodes := []*Cluster{start(t, logger, cfgs[0])}
	began := time.Now()
	seed := gossipAddr(nodes[0])
	for _, cfg := range cfgs[1:] {
		cfg.Join = Addrs{seed}
		nodes = append(nodes, start(t, logger, cfg))
	}
	waitHealthy(t, nodes, len(nodes))
	took := time.Since(began)
	t.Cleanup(func() { stopConcurrently(t, nodes) }) // before each node's own
	return nodes, took
}

// stopConcurrently stops nodes at once: each stop takes a few seconds (the
// ring's merge works in whole seconds, so dskit retries CAS updates made in
// the same second as the last heartbeat a second later).
func stopConcurrently(t *testing.T, nodes []*Cluster) {
	began := time.Now()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { stop(t, n) })
	}
	wg.Wait()
	t.Logf("%d nodes stopped in %s", len(nodes), time.Since(began))
}

// waitHealthy polls until every node sees exactly want healthy members and
// no others, and all nodes see the same ones.
func waitHealthy(t *testing.T, nodes []*Cluster, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d nodes to see %d healthy members", len(nodes), want), func() bool {
		first := nodes[0].Instances()
		for _, n := range nodes {
			got := n.Instances()
			if len(got) != want || !slices.Equal(got, first) {
				return false
			}
			for _, m := range got {
				if !m.Healthy {
					return false
				}
			}
		}
		return true
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("gave up after %s waiting for %s", deadline, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ownership is what one node says about partitions and alarms.
type ownership struct {
	partitions [][]string // per partition, its owners' IDs
	alarms     []string   // per alarm, its owner's ID
}

func alarmName(i int) string { return fmt.Sprintf("alarm-%03d", i) }

func ownershipOf(c *Cluster, alarms int) ownership {
	var o ownership
	for p := range int32(numPartitions) {
		var ids []string
		for _, inst := range c.PartitionOwners(p) {
			ids = append(ids, inst.ID)
		}
		o.partitions = append(o.partitions, ids)
	}
	for i := range alarms {
		owner, _ := c.AlarmOwner("tenant-1", alarmName(i))
		o.alarms = append(o.alarms, owner.ID)
	}
	return o
}

func (o ownership) equal(p ownership) bool {
	return slices.EqualFunc(o.partitions, p.partitions, slices.Equal) && slices.Equal(o.alarms, p.alarms)
}

// agreed polls until every node gives the same ownership, and returns it.
func agreed(t *testing.T, nodes []*Cluster, alarms int) ownership {
	t.Helper()
	var o ownership
	waitFor(t, "the nodes to agree on ownership", func() bool {
		o = ownershipOf(nodes[0], alarms)
		for _, n := range nodes[1:] {
			if !ownershipOf(n, alarms).equal(o) {
				return false
			}
		}
		return true
	})
	return o
}

// checkPartitioned fails unless the nodes' OwnedPartitions cover every
// partition exactly once.
func checkPartitioned(t *testing.T, nodes []*Cluster) {
	t.Helper()
	owner := map[int32]string{}
	for _, n := range nodes {
		for _, p := range n.OwnedPartitions(numPartitions) {
			if other, dup := owner[p]; dup {
				t.Errorf("partition %d owned by both %s and %s", p, other, n.cfg.NodeID)
			}
			owner[p] = n.cfg.NodeID
		}
	}
	for p := range int32(numPartitions) {
		if _, ok := owner[p]; !ok {
			t.Errorf("partition %d owned by none of %d nodes", p, len(nodes))
		}
	}
}

func TestThreeNodesJoinAndAgree(t *testing.T) {
	nodes, took := startCluster(t, testLogger(t), []string{"", "", ""}, nil)
	t.Logf("3 nodes saw each other healthy %s after the first ran", took)
	for _, n := range nodes {
		for _, m := range n.Instances() {
			if m.Addr != "api-"+m.ID+":8080" {
				t.Errorf("%s sees %s at %q; want its -cluster.api-addr", n.cfg.NodeID, m.ID, m.Addr)
			}
		}
	}
	o := agreed(t, nodes, 300)
	for p, owners := range o.partitions {
		if len(owners) != 1 {
			t.Errorf("partition %d has owners %v; want exactly one (one zone)", p, owners)
		}
	}
	checkPartitioned(t, nodes)
	alarms := map[string]int{}
	for _, id := range o.alarms {
		alarms[id]++
	}
	for _, n := range nodes {
		t.Logf("%s owns partitions %v and %d of 300 alarms", n.cfg.NodeID, n.OwnedPartitions(numPartitions), alarms[n.cfg.NodeID])
		if alarms[n.cfg.NodeID] == 0 {
			t.Errorf("%s owns none of 300 alarms", n.cfg.NodeID)
		}
		owned := 0
		for i := range 300 {
			if n.OwnsAlarm("tenant-1", alarmName(i)) {
				owned++
			}
		}
		if owned != alarms[n.cfg.NodeID] {
			t.Errorf("%s: OwnsAlarm true for %d alarms; AlarmOwner names it for %d", n.cfg.NodeID, owned, alarms[n.cfg.NodeID])
		}
	}
}

func TestStoppedNodesOwnershipMovesAndOnlyIt(t *testing.T) {
	nodes, _ := startCluster(t, testLogger(t), []string{"", "", ""}, nil)
	const alarms = 300
	before := agreed(t, nodes, alarms)
	// Stop the node that owns the most partitions.
	gone := nodes[0]
	for _, n := range nodes {
		if len(n.OwnedPartitions(numPartitions)) > len(gone.OwnedPartitions(numPartitions)) {
			gone = n
		}
	}
	var rest []*Cluster
	for _, n := range nodes {
		if n != gone {
			rest = append(rest, n)
		}
	}
	told := rest[0].Subscribe()
	began := time.Now()
	var stopped time.Duration
	var wg sync.WaitGroup
	wg.Go(func() {
		stop(t, gone)
		stopped = time.Since(began)
	})
	// While the node stops, the others take over what it owned.
	waitFor(t, "the others to own every partition and alarm", func() bool {
		for _, n := range rest {
			if o := ownershipOf(n, alarms); slices.Contains(o.alarms, gone.cfg.NodeID) || slices.ContainsFunc(o.partitions, func(ids []string) bool {
				return len(ids) != 1 || ids[0] == gone.cfg.NodeID
			}) {
				return false
			}
		}
		return true
	})
	after := agreed(t, rest, alarms)
	reowned := time.Since(began)
	wg.Wait()
	waitHealthy(t, rest, 2)
	t.Logf("the other two agreed on new owners of everything %s after the stop began; the stop took %s", reowned, stopped)

	select {
	case <-told:
	default:
		t.Error("a subscriber was not told that ownership changed")
	}
	if got := gone.OwnedPartitions(numPartitions); len(got) != 0 {
		t.Errorf("the stopped node still owns partitions %v", got)
	}
	checkPartitioned(t, rest)
	movedP, movedA := 0, 0
	for p := range before.partitions {
		was, is := before.partitions[p][0], after.partitions[p]
		switch {
		case len(is) != 1 || is[0] == gone.cfg.NodeID:
			t.Errorf("partition %d: owners %v after %s stopped", p, is, gone.cfg.NodeID)
		case was == gone.cfg.NodeID:
			movedP++
		case is[0] != was:
			t.Errorf("partition %d moved from %s to %s, though %s is still up", p, was, is[0], was)
		}
	}
	for i := range before.alarms {
		was, is := before.alarms[i], after.alarms[i]
		switch {
		case is == "" || is == gone.cfg.NodeID:
			t.Errorf("%s: owner %q after %s stopped", alarmName(i), is, gone.cfg.NodeID)
		case was == gone.cfg.NodeID:
			movedA++
		case is != was:
			t.Errorf("%s moved from %s to %s, though %s is still up", alarmName(i), was, is, was)
		}
	}
	if movedP == 0 || movedA == 0 {
		t.Errorf("the stopped node owned %d partitions and %d alarms; the test needs some of each", movedP, movedA)
	}
	t.Logf("moved: %d of %d partitions, %d of %d alarms: exactly those of %s", movedP, numPartitions, movedA, alarms, gone.cfg.NodeID)
}

func TestZones(t *testing.T) {
	for name, zones := range map[string][]string{
		"3 nodes in 3 zones": {"a", "b", "c"},
		"6 nodes in 3 zones": {"a", "b", "c", "a", "b", "c"},
		"4 nodes in 2 zones": {"a", "b", "a", "b"},
	} {
		t.Run(name, func(t *testing.T) {
			nodes, _ := startCluster(t, testLogger(t), zones, nil)
			o := agreed(t, nodes, 0)
			want := slices.Compact(slices.Sorted(slices.Values(zones)))
			byID := map[string]*Cluster{}
			for _, n := range nodes {
				byID[n.cfg.NodeID] = n
			}
			for p, owners := range o.partitions {
				var got []string
				for _, id := range owners {
					got = append(got, byID[id].cfg.Zone)
				}
				if !slices.Equal(got, want) {
					t.Errorf("partition %d: owners %v in zones %v; want one in each of %v", p, owners, got, want)
				}
			}
			for _, zone := range want {
				var inZone []*Cluster
				for _, n := range nodes {
					if n.cfg.Zone == zone {
						inZone = append(inZone, n)
					}
				}
				checkPartitioned(t, inZone)
				if len(inZone) == 1 && len(inZone[0].OwnedPartitions(numPartitions)) != numPartitions {
					t.Errorf("the only node of zone %s owns %v; want every partition", zone, inZone[0].OwnedPartitions(numPartitions))
				}
			}
		})
	}
}

func TestTenantShuffleShard(t *testing.T) {
	nodes, _ := startCluster(t, testLogger(t), []string{"", "", ""}, func(c *Config) { c.TenantShardSize = 2 })
	shards := map[string]bool{}
	for i := range 20 {
		tenant := fmt.Sprint("tenant-", i)
		first := nodes[0].TenantNodes(tenant)
		if len(first) != 2 {
			t.Fatalf("%s: shard %v; want 2 nodes", tenant, first)
		}
		for _, n := range nodes {
			for range 3 { // stable: asking again gives the same
				if got := n.TenantNodes(tenant); !slices.Equal(got, first) {
					t.Errorf("%s: %s says %v; %s says %v", tenant, n.cfg.NodeID, got, nodes[0].cfg.NodeID, first)
				}
			}
		}
		for _, m := range first {
			if !m.Healthy {
				t.Errorf("%s: shard member %+v not healthy", tenant, m)
			}
		}
		shards[first[0].ID+","+first[1].ID] = true
	}
	if len(shards) < 2 {
		t.Errorf("20 tenants all got the shard %v; shuffle sharding spreads them", shards)
	}
}

func TestDeadJoinAddressStartsAloneAndJoinsLater(t *testing.T) {
	logger := testLogger(t)
	port := freePort(t)
	cfg := testConfig("lonely", "", "127.0.0.1:"+strconv.Itoa(port))
	reg := prometheus.NewRegistry()
	c, err := New(cfg, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	run(t, c)
	t.Cleanup(func() { stop(t, c) })
	t.Logf("started in %s with its only peer down", time.Since(began))
	if self := c.Self(); !self.Healthy {
		t.Errorf("self %+v not healthy", self)
	}
	if got := c.OwnedPartitions(numPartitions); len(got) != numPartitions {
		t.Errorf("alone, owns partitions %v; want all %d", got, numPartitions)
	}
	for i := range 50 {
		if !c.OwnsAlarm("t", alarmName(i)) {
			t.Errorf("alone, does not own %s", alarmName(i))
		}
	}
	if got := c.TenantNodes("t"); len(got) != 1 || got[0].ID != "lonely" {
		t.Errorf("alone, tenant nodes %v", got)
	}
	waitFor(t, "a failed join to be counted", func() bool {
		return testutil.ToFloat64(c.joinFailures) > 0
	})

	// The peer comes up where the node was told to find it: the node's
	// background retries reach it.
	peerCfg := testConfig("peer", "")
	peerCfg.BindPort = port
	peer := start(t, logger, peerCfg)
	waitHealthy(t, []*Cluster{c, peer}, 2)
	agreed(t, []*Cluster{c, peer}, 50)
	checkPartitioned(t, []*Cluster{c, peer})
}

// freePort is a loopback TCP port nobody listens on (for a moment).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func TestLifecycle(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := New(testConfig("solo", "z"), testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.OwnedPartitions(numPartitions); len(got) != 0 {
		t.Errorf("before start, owns %v", got)
	}
	if _, ok := c.AlarmOwner("t", "a"); ok || c.TenantNodes("t") != nil || c.GossipPort() != 0 {
		t.Error("before start, knows an owner, a tenant node or a port")
	}
	run(t, c)
	sub := c.Subscribe()
	if got := c.PartitionOwners(3); len(got) != 1 || got[0] != (Instance{ID: "solo", Addr: "api-solo:8080", Zone: "z", Healthy: true}) {
		t.Errorf("partition owners %v", got)
	}
	// Every metric is on the given registry, under cellwatch_.
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
		if !strings.HasPrefix(f.GetName(), "cellwatch_") {
			t.Errorf("metric %s without the cellwatch_ prefix", f.GetName())
		}
	}
	for _, want := range []string{"cellwatch_cluster_members", "cellwatch_ring_members", "cellwatch_memberlist_client_cas_success_total"} {
		if !slices.Contains(names, want) {
			t.Errorf("no metric %s among %v", want, names)
		}
	}

	stop(t, c)
	for range sub { // a notice that ownership went, then closed
	}
	if got := c.OwnedPartitions(numPartitions); len(got) != 0 {
		t.Errorf("after stop, owns %v", got)
	}
	if _, ok := c.AlarmOwner("t", "a"); ok {
		t.Error("after stop, an alarm has an owner")
	}
	if _, open := <-c.Subscribe(); open {
		t.Error("a subscription after stop is open")
	}
}
