package cluster

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// Defaults of the settings that have one.
const (
	DefaultBindPort         = 7946
	DefaultHeartbeatPeriod  = 5 * time.Second
	DefaultHeartbeatTimeout = time.Minute
	DefaultPeerTimeout      = 5 * time.Second
)

// Config is the node's cluster membership. The zero Config is disabled; the
// settings with a yaml key are flags (RegisterFlags), the rest are timings
// that tests shorten.
type Config struct {
	// Join is the gossip addresses (host:port) of peers to join. A node
	// joins any one of them that answers and learns the rest by gossip; one
	// that reaches none starts alone and keeps trying in the background.
	Join Addrs `yaml:"join"`
	// BindAddr and BindPort are where memberlist listens for gossip (TCP).
	// Port 0 takes a free port (tests; see GossipPort).
	BindAddr string `yaml:"bind_addr"`
	BindPort int    `yaml:"bind_port"`
	// AdvertiseAddr is the gossip address peers are told to reach this node
	// at (default: the bind address, or a private address of the host when
	// binding every interface).
	AdvertiseAddr string `yaml:"advertise_addr"`
	// NodeID names the node in the ring (default: the host name). It must
	// be unique in the cluster and stable across restarts, so that a
	// restarted node takes its own tokens, and so its partitions and
	// alarms, back.
	NodeID string `yaml:"node_id"`
	// Zone places the node; every partition has one owner in each zone.
	Zone string `yaml:"zone"`
	// APIAddr is the host:port where peers read this node over HTTP; it is
	// the Addr of this node's Instance.
	APIAddr string `yaml:"api_addr"`
	// TenantShardSize is the number of nodes holding one tenant's data (its
	// shuffle shard); 0 means every node. With zones it is rounded up to a
	// multiple of the number of zones, as dskit's shuffle sharding does.
	TenantShardSize int `yaml:"tenant_shard_size"`
	// HeartbeatPeriod is how often the node refreshes its ring entry;
	// HeartbeatTimeout is how old an entry may be before its node is taken
	// for dead and owns nothing.
	HeartbeatPeriod  time.Duration `yaml:"heartbeat_period"`
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"`
	// PeerTimeout bounds one read of a peer's store; a peer slower than it
	// makes its share of that read unknown.
	PeerTimeout time.Duration `yaml:"peer_timeout"`

	tune tuning
}

// tuning is the part of Config that is no setting of the node; zero fields
// take the defaults.
type tuning struct {
	gossipInterval time.Duration // memberlist gossip interval (default 200ms)
	pushPull       time.Duration // memberlist full state sync interval (default 30s)
	joinBackoffMin time.Duration // first retry of a failed join (default 1s)
	joinBackoffMax time.Duration // longest wait between join retries (default 30s)
	rejoin         time.Duration // how often a joined node re-joins its seeds, healing splits (default 1m)
	recheck        time.Duration // how often heartbeat freshness is re-checked (default 1s)
	leaveTimeout   time.Duration // how long leaving memberlist may take on stop (default 5s)
}

func (t *tuning) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&t.gossipInterval, 200*time.Millisecond)
	set(&t.pushPull, 30*time.Second)
	set(&t.joinBackoffMin, time.Second)
	set(&t.joinBackoffMax, 30*time.Second)
	set(&t.rejoin, time.Minute)
	set(&t.recheck, time.Second)
	set(&t.leaveTimeout, 5*time.Second)
}

// RegisterFlags binds the cluster settings to flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(&c.Join, "cluster.join", "comma-separated gossip addresses (host:port) of peers to join; setting it (or -cluster.bind-addr) turns cluster mode on")
	fs.StringVar(&c.BindAddr, "cluster.bind-addr", "", "address to listen on for gossip (0.0.0.0 for every interface); setting it (or -cluster.join) turns cluster mode on")
	fs.IntVar(&c.BindPort, "cluster.bind-port", DefaultBindPort, "port to listen on for gossip (TCP)")
	fs.StringVar(&c.AdvertiseAddr, "cluster.advertise-addr", "", "gossip address peers reach this node at (default: the bind address, or a private address of the host)")
	fs.StringVar(&c.NodeID, "cluster.node-id", "", "this node's name in the ring, unique in the cluster and stable across restarts (default: the host name)")
	fs.StringVar(&c.Zone, "cluster.zone", "", "zone of this node; every stream partition is consumed by one node in each zone")
	fs.StringVar(&c.APIAddr, "cluster.api-addr", "", "host:port where peers reach this node's API over HTTP (default: -listen)")
	fs.IntVar(&c.TenantShardSize, "cluster.tenant-shard-size", 0, "nodes holding one tenant's data (its shuffle shard); 0 = every node")
	fs.DurationVar(&c.HeartbeatPeriod, "cluster.heartbeat-period", DefaultHeartbeatPeriod, "how often the node refreshes its entry in the ring")
	fs.DurationVar(&c.HeartbeatTimeout, "cluster.heartbeat-timeout", DefaultHeartbeatTimeout, "how old a ring entry may be before its node is taken for dead and owns nothing")
	fs.DurationVar(&c.PeerTimeout, "cluster.peer-timeout", DefaultPeerTimeout, "longest wait for one read of a peer's store; a peer slower than that makes its share of the read unknown")
}

// Enabled reports whether cluster mode is on: peers to join or a gossip
// address to listen on are set.
func (c *Config) Enabled() bool { return len(c.Join) > 0 || c.BindAddr != "" }

// Validate checks the settings of an enabled config; one that is not
// enabled is not used.
func (c *Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if c.NodeID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			return fmt.Errorf("-cluster.node-id is empty and the host has no name: %w", err)
		}
		c.NodeID = host
	}
	switch {
	case c.BindPort < 0 || c.BindPort > 65535:
		return fmt.Errorf("-cluster.bind-port %d is not a port", c.BindPort)
	case c.PeerTimeout < 0:
		return fmt.Errorf("-cluster.peer-timeout %s is negative", c.PeerTimeout)
	case c.TenantShardSize < 0:
		return fmt.Errorf("-cluster.tenant-shard-size %d is negative", c.TenantShardSize)
	case c.HeartbeatPeriod <= 0:
		return fmt.Errorf("-cluster.heartbeat-period %s must be positive", c.HeartbeatPeriod)
	case c.HeartbeatTimeout < 2*c.HeartbeatPeriod:
		return fmt.Errorf("-cluster.heartbeat-timeout %s must be at least twice -cluster.heartbeat-period %s", c.HeartbeatTimeout, c.HeartbeatPeriod)
	}
	for _, a := range c.Join {
		if !strings.Contains(a, ":") {
			return fmt.Errorf("-cluster.join %q has no port", a)
		}
	}
	return nil
}

// Addrs is a list of host:port addresses, given as one comma-separated flag
// value (or repeated flags) or a YAML list.
type Addrs []string

// String implements flag.Value.
func (a *Addrs) String() string { return strings.Join(*a, ",") }

// Set implements flag.Value: it appends the comma-separated addresses of v.
func (a *Addrs) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*a = append(*a, part)
		}
	}
	return nil
}
