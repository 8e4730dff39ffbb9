package main

import (
	"context"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/cluster"
	"github.com/cellwatch/cellwatch/query"

	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

// partitionSource lets the long-term consumer read a stream.Log (store
// declares what it reads; it does not import stream).
type partitionSource struct{ stream.Log }

func (s partitionSource) Fetch(ctx context.Context, p int, offset int64, maxBytes int) ([]store.StreamMessage, error) {
	msgs, err := s.Log.Fetch(ctx, p, offset, maxBytes)
	out := make([]store.StreamMessage, len(msgs))
	for i, m := range msgs {
		out[i] = store.StreamMessage{Offset: m.Offset, Value: m.Value}
	}
	return out, err
}

// ringOwnership gives the consumer the partitions the ring says are this
// node's (store declares Ownership; it does not import cluster).
type ringOwnership struct {
	c       *cluster.Cluster
	changes <-chan struct{}
}

func (o ringOwnership) Owned(n int) []int {
	owned := o.c.OwnedPartitions(n)
	out := make([]int, len(owned))
	for i, p := range owned {
		out[i] = int(p)
	}
	return out
}

func (o ringOwnership) Changes() <-chan struct{} { return o.changes }

// queryRing gives query's fan-out the ring's answers.
type queryRing struct{ c *cluster.Cluster }

func (r queryRing) TenantNodes(tenant string) []query.Node {
	return queryNodes(r.c.TenantNodes(tenant))
}
func (r queryRing) PartitionOwners(p int) []query.Node {
	return queryNodes(r.c.PartitionOwners(int32(p)))
}

func (r queryRing) Nodes() []query.Node { return queryNodes(r.c.Instances()) }

func queryNodes(in []cluster.Instance) []query.Node {
	out := make([]query.Node, len(in))
	for i, m := range in {
		out[i] = query.Node{ID: m.ID, Addr: m.Addr, Healthy: m.Healthy}
	}
	return out
}

// alarmPeers gives the alarm syncer the other healthy nodes of the ring.
type alarmPeers struct{ c *cluster.Cluster }

func (p alarmPeers) Peers() []alerting.Peer {
	self := p.c.Self().ID
	var out []alerting.Peer
	for _, m := range p.c.Instances() {
		if m.Healthy && m.ID != self && m.Addr != "" {
			out = append(out, alerting.Peer{ID: m.ID, Addr: m.Addr})
		}
	}
	return out
}
