package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cellwatch/cellwatch/dashboards/ui"
	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/ingest"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// status is the JSON of GET /admin/status.
type status struct {
	NodeID string `json:"node_id"`
	Ready  bool   `json:"ready"`
	fallback.ShipperStatus
	ConsumerLag   int64             `json:"consumer_lag_records"` // summed over partitions
	Partitions    []partitionStatus `json:"partitions"`
	LocalSeries   int               `json:"local_store_series"`
	LocalBytes    int64             `json:"local_store_bytes"`
	LocalMaxBytes int64             `json:"local_store_max_bytes"`
	Cluster       *clusterStatus    `json:"cluster,omitempty"` // cluster mode only
}

// clusterStatus is the node's view of its ring.
type clusterStatus struct {
	NodeID          string         `json:"node_id"`
	Members         []memberStatus `json:"members"`
	OwnedPartitions []int32        `json:"owned_partitions"`
}

type memberStatus struct {
	ID      string `json:"id"`
	Addr    string `json:"addr"`
	Zone    string `json:"zone,omitempty"`
	Healthy bool   `json:"healthy"`
}

type partitionStatus struct {
	Partition   int   `json:"partition"`
	EndOffset   int64 `json:"end_offset"`
	Applied     int64 `json:"applied_offset"`
	ConsumerLag int64 `json:"consumer_lag_records"`
}

func (n *node) status(ctx context.Context) status {
	st := status{NodeID: n.wal.NodeID(), Ready: n.isReady(), ShipperStatus: n.shipper.Status(),
		LocalSeries: n.local.NumSeries(), LocalBytes: n.local.Bytes(), LocalMaxBytes: n.cfg.Store.MaxBytes}
	for p := range n.stream.Partitions() {
		if !n.consumes(p) {
			continue // another node's to apply (cluster mode)
		}
		ps := partitionStatus{Partition: p, Applied: n.longTerm.NextOffset(p)}
		if _, end, err := n.stream.Bounds(ctx, p); err == nil {
			ps.EndOffset = end
			ps.ConsumerLag = max(0, end-ps.Applied)
		}
		st.ConsumerLag += ps.ConsumerLag
		st.Partitions = append(st.Partitions, ps)
	}
	if n.cluster != nil {
		st.Cluster = &clusterStatus{NodeID: n.cluster.Self().ID, OwnedPartitions: n.cluster.OwnedPartitions(n.cfg.Stream.Partitions)}
		for _, m := range n.cluster.Instances() {
			st.Cluster.Members = append(st.Cluster.Members, memberStatus{ID: m.ID, Addr: m.Addr, Zone: m.Zone, Healthy: m.Healthy})
		}
	}
	return st
}

// servePeers serves the node's stores to its peers (query.PeerHandler),
// once they are built and the WAL is replayed.
func (n *node) servePeers(w http.ResponseWriter, r *http.Request) {
	h := n.peers.Load()
	if h == nil || !n.ready.Load() {
		http.Error(w, "starting: replaying the write-ahead log", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// consumes reports whether this node applies partition p to its long-term
// store: every partition on a single node, the ones its ring gives it in a
// cluster.
func (n *node) consumes(p int) bool {
	if n.cluster == nil {
		return true
	}
	return slices.Contains(n.cluster.OwnedPartitions(n.cfg.Stream.Partitions), int32(p))
}

// isReady: the node takes writes and serves reads. It is ready in degraded
// mode (it still ingests and serves); not while its WAL replays, nor when its
// WAL failed (the disk refused a sync).
func (n *node) isReady() bool { return n.ready.Load() && n.wal.Err() == nil }

// registerAdminMetrics puts on /metrics the status numbers that no component
// exports itself: per-partition consumer lag.
func (n *node) registerAdminMetrics() {
	for p := range n.cfg.Stream.Partitions {
		n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "cellwatch_consumer_lag_records",
			Help:        "Stream records of the partition not yet applied to the long-term store.",
			ConstLabels: prometheus.Labels{"partition": strconv.Itoa(p)},
		}, func() float64 {
			if !n.ready.Load() || !n.consumes(p) { // the stores are not open yet, or closing; another node's partition
				return 0
			}
			_, end, err := n.stream.Bounds(context.Background(), p)
			if err != nil {
				return 0
			}
			return float64(max(0, end-n.longTerm.NextOffset(p)))
		}))
	}
}

func (n *node) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "cellwatch is alive")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !n.ready.Load():
			http.Error(w, "not ready: replaying the write-ahead log", http.StatusServiceUnavailable)
		case n.wal.Err() != nil:
			http.Error(w, "not ready: the write-ahead log failed: "+n.wal.Err().Error(), http.StatusServiceUnavailable)
		default: // ready is set after every component is built
			mode, _, _ := n.shipper.Health()
			fmt.Fprintf(w, "ready (%s)\n", mode)
		}
	})
	mux.Handle("GET /admin/status", n.guardAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !n.ready.Load() {
			http.Error(w, "starting: replaying the write-ahead log", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, n.status(r.Context()))
	})))
	mux.Handle("POST /admin/stream/fault", n.guardAdmin(http.HandlerFunc(n.setFault)))
	mux.Handle("DELETE /admin/stream/fault", n.guardAdmin(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !n.ready.Load() { // the components are built once ready is set
			http.Error(w, "starting: replaying the write-ahead log", http.StatusServiceUnavailable)
			return
		}
		_ = n.faulty.Set(fallback.Fault{})
		n.logger.Warn("stream fault cleared")
		writeJSON(w, http.StatusOK, n.faulty.Current())
	})))
	return mux
}

// guardAdmin keeps the admin API from web pages and, with -admin.token, from
// anyone without the token: a browser's cross-site request is refused (a
// page open on the operator's machine could otherwise inject faults), and so
// is a body of a type an HTML form can send.
func (n *node) guardAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case ingest.CrossSite(r):
			http.Error(w, "forbidden: the admin API refuses a browser's cross-site request", http.StatusForbidden)
		case ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" || ct == "text/plain":
			http.Error(w, "forbidden: the admin API refuses "+ct+" bodies (an HTML form can send those); send parameters in the URL", http.StatusForbidden)
		case n.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+n.cfg.AdminToken)) != 1:
			w.Header().Set("WWW-Authenticate", `Bearer realm="cellwatch admin"`)
			http.Error(w, "unauthorized: the admin API needs Authorization: Bearer <-admin.token>", http.StatusUnauthorized)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// setFault serves POST /admin/stream/fault?mode=down|slow|hang|flaky[&delay=2s].
func (n *node) setFault(w http.ResponseWriter, r *http.Request) {
	if !n.ready.Load() {
		http.Error(w, "starting: replaying the write-ahead log", http.StatusServiceUnavailable)
		return
	}
	f := fallback.Fault{Mode: fallback.FaultMode(r.FormValue("mode"))}
	if f.Mode == fallback.FaultNone {
		http.Error(w, "mode is required: down, slow, hang or flaky", http.StatusBadRequest)
		return
	}
	if d := r.FormValue("delay"); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			http.Error(w, fmt.Sprintf("delay %q is not a duration (e.g. 2s): %v", d, err), http.StatusBadRequest)
			return
		}
		f.Delay = delay
	}
	if err := n.faulty.Set(f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.logger.Warn("stream fault injected", "mode", f.Mode, "delay", f.Delay)
	writeJSON(w, http.StatusOK, n.faulty.Current())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// uiConfig is what the status page reads: the shipper's status and the
// local store's size (never the stream: the page works while it is down),
// the alarms, the dashboards and the read path. On a signed node the page
// is off (a browser cannot sign, and it would show anyone the node).
func (n *node) uiConfig() ui.Config {
	tenant := awsapi.DefaultTenant
	if n.cfg.Auth.CredentialsFile != "" {
		tenant = ""
	}
	return ui.Config{Tenant: tenant, Alarms: n.alarms, Dashboards: n.dashboards, Reader: n.query, Window: n.cfg.Store.Window,
		Logger: n.logger.With("component", "ui"), Status: func() ui.Status {
			sh := n.shipper.Status()
			return ui.Status{NodeID: n.wal.NodeID(), Ready: n.isReady(), Mode: string(sh.Mode), ModeSince: sh.ModeSince,
				LastError: sh.LastError, Fault: faultText(sh.Fault), BacklogBytes: sh.BacklogBytes, BacklogRecords: sh.BacklogRecords,
				OldestUnshippedAge: sh.OldestUnshippedAge, CatchUpETA: sh.CatchUpETA, DroppedBytes: sh.DroppedBytes,
				GapPending: sh.GapPending, LocalSeries: n.local.NumSeries(), LocalBytes: n.local.Bytes(), LocalMaxBytes: n.cfg.Store.MaxBytes}
		}}
}

func faultText(f fallback.Fault) string {
	if f.Mode == fallback.FaultNone {
		return ""
	}
	if f.Delay > 0 {
		return fmt.Sprintf("%s (delay %s)", f.Mode, f.Delay)
	}
	return string(f.Mode)
}
