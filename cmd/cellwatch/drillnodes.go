package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cellwatch/cellwatch/fallback"
)

// drillNodes is the node, or the cluster, a drill runs.
type drillNodes struct {
	nodes  []*node
	cancel []context.CancelFunc
	served []chan error
	kafka  *kfake.Cluster
}

// startDrillNodes starts one node on the embedded stream, or cfg.nodes
// nodes in a cluster on an in-process three-broker Kafka. outage(true)
// takes the stream away: the fault injector the admin API drives on one
// node, the brokers refusing every write in a cluster.
func startDrillNodes(ctx context.Context, cfg drillConfig, logger *slog.Logger) (*drillNodes, func(bool) error, error) {
	ns := &drillNodes{}
	base := []string{"-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0"}
	var down atomic.Bool
	count := max(cfg.nodes, 1)
	if count > 1 {
		c, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			return nil, nil, fmt.Errorf("start kfake: %w", err)
		}
		ns.kafka = c
		c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if down.Load() {
				return nil, errors.New("broker down"), true
			}
			return nil, nil, false
		})
		base = append(base, "-stream.kind", "kafka", "-stream.kafka.brokers", strings.Join(c.ListenAddrs(), ","),
			"-stream.kafka.delivery-timeout", "1s", "-stream.partitions", "24",
			"-cluster.bind-addr", "127.0.0.1", "-cluster.bind-port", "0",
			"-cluster.heartbeat-period", "500ms", "-cluster.heartbeat-timeout", "5s")
	}
	for i := range count {
		data := filepath.Join(cfg.dir, "data")
		if count > 1 {
			data = filepath.Join(cfg.dir, fmt.Sprintf("data%d", i))
		}
		args := append(append([]string(nil), base...), "-data", data)
		if count > 1 {
			args = append(args, "-cluster.node-id", fmt.Sprintf("drill-%d", i))
			if i > 0 {
				args = append(args, "-cluster.join", fmt.Sprintf("127.0.0.1:%d", ns.nodes[0].cluster.GossipPort()))
			}
		}
		nodeCfg, err := loadConfig("drill", args)
		if err != nil {
			ns.stop(io.Discard)
			return nil, nil, err
		}
		nctx, cancel := context.WithCancel(ctx)
		n, err := newNode(nctx, nodeCfg, logger.With("node", i))
		if err != nil {
			cancel()
			ns.stop(io.Discard)
			return nil, nil, err
		}
		served := make(chan error, 1)
		go func() { served <- n.serve(nctx) }()
		ns.nodes, ns.cancel, ns.served = append(ns.nodes, n), append(ns.cancel, cancel), append(ns.served, served)
	}
	if count > 1 {
		deadline := time.Now().Add(30 * time.Second)
		for len(healthy(ns.nodes[0])) < count {
			if time.Now().After(deadline) {
				ns.stop(io.Discard)
				return nil, nil, fmt.Errorf("the %d nodes did not form a cluster within 30 s", count)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	outage := func(on bool) error {
		if ns.kafka != nil {
			if on {
				fmt.Fprintln(cfg.out, "closing the Kafka cluster to writes: every broker refuses every produce request")
			}
			down.Store(on)
			return nil
		}
		if !on {
			return ns.nodes[0].faulty.Set(fallback.Fault{})
		}
		fmt.Fprintln(cfg.out, "injecting a stream outage (mode=down) through the fault injector the admin API drives")
		return ns.nodes[0].faulty.Set(fallback.Fault{Mode: fallback.FaultDown})
	}
	return ns, outage, nil
}

// healthy is the IDs of the nodes n's ring holds healthy, sorted.
func healthy(n *node) []string {
	var ids []string
	for _, m := range n.cluster.Instances() {
		if m.Healthy {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// status is the nodes' status as one: the worst mode, backlogs and
// consumer lag summed.
func (ns *drillNodes) status(ctx context.Context) status {
	var all status
	for i, n := range ns.nodes {
		st := n.status(ctx)
		if i == 0 || st.Mode == fallback.ModeDegraded {
			all.Mode = st.Mode
		}
		all.BacklogBytes += st.BacklogBytes
		all.BacklogRecords += st.BacklogRecords
		all.ConsumerLag += st.ConsumerLag
		all.CatchUpETA = max(all.CatchUpETA, st.CatchUpETA)
	}
	return all
}

// stop stops every node, then the brokers.
func (ns *drillNodes) stop(out io.Writer) {
	for i := range ns.nodes {
		ns.cancel[i]()
	}
	for i := range ns.nodes {
		if err := <-ns.served[i]; err != nil {
			fmt.Fprintf(out, "cellwatch drill: node %d: %v\n", i, err)
		}
	}
	if ns.kafka != nil {
		ns.kafka.Close()
	}
}
