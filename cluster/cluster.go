package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/kv/codec"
	"github.com/grafana/dskit/kv/memberlist"
	"github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/kitlog"
)

const (
	// ringName names the ring in dskit's metrics and logs; ringKey is its
	// key in the memberlist KV store.
	ringName = "cluster"
	ringKey  = "cellwatch-cluster"
	// numTokens is how many ring tokens each node holds: enough for each
	// node's share of the hash space to be within about 10% of 1/N.
	numTokens = 128
	// forgetAfter heartbeat timeouts, a node that stopped heartbeating
	// without leaving (it crashed) is removed from the ring by its peers.
	forgetAfter = 10
	// clusterLabel tags every gossip packet so that another memberlist
	// cluster on the same network (a Mimir, say) is never merged with ours.
	clusterLabel = "cellwatch"
)

// Cluster is this node's membership of the cluster and its view of who owns
// what. It is a dskit service: starting binds the gossip port, registers
// the node in the ring (ACTIVE, with its tokens) and reads the ring, so the
// node owns what it owns alone before it has heard from any peer; joining
// the peers of Config.Join happens in the background, retried until it
// succeeds. Stopping removes the node from the ring and leaves the gossip
// cluster, so its partitions and alarms move at once.
//
// Every ownership method answers from the latest reading of the ring and
// is safe for concurrent use; before Start and after Stop the node owns
// nothing and knows no one.
type Cluster struct {
	*services.BasicService
	cfg    Config
	logger *slog.Logger

	kv         *memberlist.KV
	client     *memberlist.Client
	lifecycler *ring.BasicLifecycler
	ring       *ring.Ring
	failures   *services.FailureWatcher

	view    atomic.Pointer[view]
	changed chan struct{} // the ring changed: re-read it

	mu   sync.Mutex
	subs []chan struct{}
	done bool // stopped: no new subscriptions, every channel closed

	members      *prometheus.GaugeVec
	changes      prometheus.Counter
	joinFailures prometheus.Counter
}

// New checks cfg and builds the node's cluster service; it binds nothing
// until it is started. Metrics go to reg (nil: none): this package's as
// cellwatch_cluster_*, dskit's ring and memberlist metrics with the prefix
// cellwatch_. dskit's memberlist also points the process-wide go-metrics
// sink at the last registerer it was given.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("check cluster config: %w", err)
	}
	cfg.tune.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "cluster", "node", cfg.NodeID)
	kit := kitlog.Logger{L: logger}
	var dreg prometheus.Registerer
	if reg != nil {
		dreg = prometheus.WrapRegistererWithPrefix("cellwatch_", reg)
	}

	c := &Cluster{cfg: cfg, logger: logger, failures: services.NewFailureWatcher(), changed: make(chan struct{}, 1)}
	f := promauto.With(reg)
	c.members = f.NewGaugeVec(prometheus.GaugeOpts{Name: "cellwatch_cluster_members", Help: "Nodes in the ring as this node sees it, by health (healthy nodes own partitions and alarms)."}, []string{"health"})
	c.changes = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_cluster_ownership_changes_total", Help: "Readings of the ring that changed ownership (subscribers were told)."})
	c.joinFailures = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_cluster_join_failures_total", Help: "Attempts to join the peers of -cluster.join that reached none of them."})

	c.kv = memberlist.NewKV(c.kvConfig(), kit, nil, dreg)
	client, err := memberlist.NewClient(c.kv, ring.GetCodec())
	if err != nil {
		return nil, fmt.Errorf("create memberlist client: %w", err)
	}
	c.client = client

	var delegate ring.BasicLifecyclerDelegate = ring.NewInstanceRegisterDelegate(ring.ACTIVE, numTokens)
	// No LEAVING step before the node leaves the ring: ownership treats the
	// two alike, and with memberlist a state change made in the second of
	// the last heartbeat is retried a second later, again and again while
	// the heartbeats keep to the same second (one heartbeat a second made a
	// stop take ten). Removal is always seen as a change.
	delegate = ring.NewAutoForgetDelegate(forgetAfter*cfg.HeartbeatTimeout, delegate, kit)
	c.lifecycler, err = ring.NewBasicLifecycler(ring.BasicLifecyclerConfig{
		ID:               cfg.NodeID,
		Addr:             cfg.APIAddr,
		Zone:             cfg.Zone,
		HeartbeatPeriod:  cfg.HeartbeatPeriod,
		HeartbeatTimeout: cfg.HeartbeatTimeout,
		NumTokens:        numTokens,
	}, ringName, ringKey, client, delegate, kit, dreg)
	if err != nil {
		return nil, fmt.Errorf("create ring lifecycler: %w", err)
	}
	c.ring, err = ring.NewWithStoreClientAndStrategy(ring.Config{
		HeartbeatTimeout:     cfg.HeartbeatTimeout,
		ReplicationFactor:    1, // unused: ownership is computed in view
		ZoneAwarenessEnabled: true,
	}, ringName, ringKey, client, ring.NewDefaultReplicationStrategy(), dreg, kit)
	if err != nil {
		return nil, fmt.Errorf("create ring client: %w", err)
	}

	c.BasicService = services.NewBasicService(c.starting, c.running, c.stopping).WithName("cluster")
	return c, nil
}

// kvConfig is dskit's memberlist configuration with its defaults, bound
// where Config says, joining no one by itself (the join loop does that).
func (c *Cluster) kvConfig() memberlist.KVConfig {
	var kc memberlist.KVConfig
	kc.RegisterFlags(flag.NewFlagSet("memberlist", flag.ContinueOnError)) // the defaults
	kc.NodeName = c.cfg.NodeID
	kc.RandomizeNodeName = true // a restarted node gossips under a fresh name
	bind := c.cfg.BindAddr
	if bind == "" {
		bind = "0.0.0.0"
	}
	kc.TCPTransport.BindAddrs = []string{bind}
	kc.TCPTransport.BindPort = c.cfg.BindPort
	kc.AdvertiseAddr = c.cfg.AdvertiseAddr
	if c.cfg.AdvertiseAddr != "" {
		kc.AdvertisePort = c.cfg.BindPort
	}
	kc.ClusterLabel = clusterLabel
	kc.GossipInterval = c.cfg.tune.gossipInterval
	kc.PushPullInterval = c.cfg.tune.pushPull
	kc.LeaveTimeout = c.cfg.tune.leaveTimeout
	kc.BroadcastTimeoutForLocalUpdatesOnShutdown = c.cfg.tune.leaveTimeout
	kc.Codecs = []codec.Codec{ring.GetCodec()}
	return kc
}

func (c *Cluster) starting(ctx context.Context) error {
	started := make([]services.Service, 0, 3)
	for _, s := range []struct {
		name string
		svc  services.Service
	}{{"memberlist", c.kv}, {"ring lifecycler", c.lifecycler}, {"ring client", c.ring}} {
		// The parts outlive this context (it ends when the cluster stops):
		// stopping stops them itself, in order.
		err := s.svc.StartAsync(context.WithoutCancel(ctx))
		if err == nil {
			started = append(started, s.svc)
			err = s.svc.AwaitRunning(ctx)
		}
		if err != nil {
			_ = stopAll(started)
			return fmt.Errorf("start %s: %w", s.name, err)
		}
		c.failures.WatchService(s.svc)
	}
	// The lifecycler has written this node into the local KV store: the
	// first reading already has it, so the node owns what it owns alone.
	if err := c.refresh(ctx); err != nil {
		_ = stopAll(started)
		return err
	}
	c.logger.Info("cluster node registered", "zone", c.cfg.Zone, "gossip_port", c.GossipPort(), "join", c.cfg.Join.String())
	return nil
}

func (c *Cluster) running(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		c.client.WatchKey(ctx, ringKey, func(any) bool {
			select {
			case c.changed <- struct{}{}:
			default: // a re-read is already pending
			}
			return true
		})
	})
	if len(c.cfg.Join) > 0 {
		wg.Go(func() { c.joinLoop(ctx) })
	}
	// Heartbeats age without the ring changing: re-check them.
	tick := time.NewTicker(c.cfg.tune.recheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.failures.Chan():
			return fmt.Errorf("cluster: %w", err)
		case <-c.changed:
		case <-tick.C:
		}
		if err := c.refresh(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("read the ring", "err", err)
		}
	}
}

// stopping gives up ownership at once (subscribers are told), then leaves
// the ring and the gossip cluster, and closes every subscription.
func (c *Cluster) stopping(_ error) error {
	if v := c.view.Swap(&view{}); v != nil && len(v.members) > 0 {
		c.notify()
	}
	// The lifecycler goes first: it removes the node from the ring, and
	// memberlist broadcasts that before it leaves.
	err := stopAll([]services.Service{c.kv, c.ring, c.lifecycler})
	c.mu.Lock()
	c.done = true
	for _, ch := range c.subs {
		close(ch)
	}
	c.subs = nil
	c.mu.Unlock()
	c.logger.Info("cluster node left")
	return err
}

// stopAll stops services in reverse order and returns their errors.
func stopAll(svcs []services.Service) error {
	var errs []error
	for i := len(svcs) - 1; i >= 0; i-- {
		svcs[i].StopAsync()
		if err := svcs[i].AwaitTerminated(context.Background()); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", services.DescribeService(svcs[i]), err))
		}
	}
	return errors.Join(errs...)
}

// refresh reads the ring and, when ownership may have changed, installs the
// new view and tells the subscribers.
func (c *Cluster) refresh(ctx context.Context) error {
	val, err := c.client.Get(ctx, ringKey)
	if err != nil {
		return fmt.Errorf("read ring: %w", err)
	}
	desc := ring.GetOrCreateRingDesc(val)
	now := time.Now()
	old := c.view.Load()
	if old != nil && old.print == fingerprint(desc, c.cfg.HeartbeatTimeout, now) {
		return nil
	}
	v := newView(desc, c.cfg.HeartbeatTimeout, now)
	c.view.Store(v)
	healthy := v.healthy()
	c.members.WithLabelValues("healthy").Set(float64(healthy))
	c.members.WithLabelValues("unhealthy").Set(float64(len(v.members) - healthy))
	c.changes.Inc()
	c.logger.Debug("ring changed", "members", len(v.members), "healthy", healthy, "zones", len(v.zones))
	c.notify()
	return nil
}

// joinLoop joins the peers of Config.Join, retrying with backoff until one
// answers, then re-joins them now and then, which heals a split of the
// gossip cluster and is harmless otherwise.
func (c *Cluster) joinLoop(ctx context.Context) {
	wait, joined := c.cfg.tune.joinBackoffMin, false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n, err := c.kv.JoinMembers(c.cfg.Join)
		switch {
		case n > 0 && !joined:
			c.logger.Info("joined cluster", "reached", n)
			joined, wait = true, c.cfg.tune.rejoin
		case n > 0:
			c.logger.Debug("re-joined cluster", "reached", n)
		default:
			c.joinFailures.Inc()
			if joined {
				c.logger.Warn("re-join cluster: no peer reached; gossip goes on with the members known", "join", c.cfg.Join.String(), "err", err)
				break
			}
			c.logger.Warn("join cluster: no peer reached; serving alone, retrying", "join", c.cfg.Join.String(), "err", err, "retry_in", wait)
			timer.Reset(wait)
			wait = min(2*wait, c.cfg.tune.joinBackoffMax)
			continue
		}
		timer.Reset(wait)
	}
}

// notify tells every subscriber that ownership may have changed.
func (c *Cluster) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default: // the subscriber has a notice pending already
		}
	}
}

// Subscribe returns a channel that receives a value whenever ownership may
// have changed (the ring changed, a node's heartbeat went stale, or this
// node is stopping). Notices coalesce: a slow reader gets one for many
// changes and should re-read what it owns. The channel is closed when the
// cluster service stops.
func (c *Cluster) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		close(ch)
		return ch
	}
	c.subs = append(c.subs, ch)
	return ch
}

func (c *Cluster) current() *view {
	if v := c.view.Load(); v != nil {
		return v
	}
	return &view{}
}

// Self is this node as the ring describes it (Healthy once it is ACTIVE in
// the ring, so from Start until Stop).
func (c *Cluster) Self() Instance {
	for _, m := range c.current().members {
		if m.ID == c.cfg.NodeID {
			return m
		}
	}
	return Instance{ID: c.cfg.NodeID, Addr: c.cfg.APIAddr, Zone: c.cfg.Zone}
}

// Instances is every node in the ring, healthy or not, sorted by ID.
func (c *Cluster) Instances() []Instance {
	return append([]Instance(nil), c.current().members...)
}

// PartitionOwners is the owner of a stream partition in each zone (one
// owner per zone that has a healthy node, so the replication factor is the
// number of zones), in zone order. Each zone is a consistent-hash ring of
// its healthy nodes' tokens, so when a node goes only its partitions move.
func (c *Cluster) PartitionOwners(partition int32) []Instance {
	return c.current().partitionOwners(partition)
}

// OwnedPartitions is the partitions, of a stream with numPartitions, that
// this node owns in its zone, in increasing order.
func (c *Cluster) OwnedPartitions(numPartitions int) []int32 {
	v := c.current()
	var owned []int32
	for p := range int32(numPartitions) {
		for _, o := range v.partitionOwners(p) {
			if o.ID == c.cfg.NodeID {
				owned = append(owned, p)
				break
			}
		}
	}
	return owned
}

// AlarmOwner is the node that evaluates an alarm: the one healthy node, in
// any zone, that holds the alarm's place on the ring. False when no node is
// healthy (before Start, after Stop).
func (c *Cluster) AlarmOwner(tenant, alarmName string) (Instance, bool) {
	return c.current().alarmOwner(tenant, alarmName)
}

// OwnsAlarm reports whether this node evaluates the alarm.
func (c *Cluster) OwnsAlarm(tenant, alarmName string) bool {
	o, ok := c.AlarmOwner(tenant, alarmName)
	return ok && o.ID == c.cfg.NodeID
}

// TenantNodes is the tenant's shuffle shard: the Config.TenantShardSize
// nodes (every node when 0) that ingest and hold its recent data, so the
// nodes a recent query fans out to. The shard is dskit's ring.ShuffleShard:
// a function of the tenant and the ring's members, the same on every node
// and stable while the members stay, including members that are unhealthy
// for now (Healthy tells them apart). Sorted by ID.
func (c *Cluster) TenantNodes(tenant string) []Instance {
	v := c.current()
	if len(v.members) == 0 {
		return nil
	}
	shard := c.ring.ShuffleShard(tenant, c.cfg.TenantShardSize)
	var nodes []Instance
	for _, m := range v.members {
		if shard.HasInstance(m.ID) {
			nodes = append(nodes, m)
		}
	}
	return nodes
}

// GossipPort is the port memberlist listens on (useful with BindPort 0);
// 0 before Start.
func (c *Cluster) GossipPort() int {
	if s := c.kv.State(); s != services.Running && s != services.Stopping {
		return 0
	}
	return c.kv.GetListeningPort()
}
