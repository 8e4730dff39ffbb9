// Package cluster is a node's membership of a cellwatch cluster and its
// answer, computed alone, to "who owns what" (docs/design.md §8).
//
// Membership is dskit's ring over memberlist gossip: each node runs a
// memberlist KV store (one TCP listener; gossip to a fixed number of random
// peers per interval, so no goroutine or connection per peer), registers
// itself in the ring with random tokens through a ring.BasicLifecycler, and
// reads the ring back with a ring.Ring. The ring is the only shared state:
// ownership is a pure function of it, so every node that has heard the
// same gossip gives the same answers, with no coordination.
//
//   - Stream partitions: each zone (-cluster.zone) is a consistent-hash ring
//     of its healthy nodes' tokens, and partition p belongs, in each zone, to
//     the node holding the first token after p's hash. So every partition
//     has one owner per zone (the replication factor is the number of
//     zones), and when a node goes only its partitions move.
//   - Alarms: one owner among all healthy nodes, by the same rule on the
//     hash of (tenant, alarm name); an alarm moves only when its owner goes
//     (or a new node takes its place on the ring).
//   - Tenants: dskit's shuffle shard of -cluster.tenant-shard-size nodes,
//     the nodes that hold the tenant's recent data and the targets of a
//     query's fan-out.
//
// Only ACTIVE nodes whose heartbeat is younger than -cluster.heartbeat-timeout
// own partitions or alarms; a node that stops leaves the ring at once, and
// one that crashed loses what it owned when its heartbeat goes stale.
//
// # Lifecycle
//
// New(cfg, logger, reg) checks the config and builds the service; it binds
// nothing. services.StartAndAwaitRunning binds the gossip port and registers
// the node, and returns once the node owns what it owns alone: it does not
// wait for peers. Joining the peers of -cluster.join goes on in the
// background, retried with backoff (and logged) until one answers, so a
// node whose peers are down still starts and serves. Subscribe tells a
// consumer (the partition consumer, the alarm evaluator) when to re-read
// what it owns. Stopping gives up ownership first (subscribers are told),
// then removes the node from the ring and leaves the gossip cluster.
//
//	c, err := cluster.New(cfg, logger, reg)
//	...
//	services.StartAndAwaitRunning(ctx, c)
//	changes := c.Subscribe()
//	for range changes {
//		consume(c.OwnedPartitions(numPartitions))
//	}
package cluster
