package main

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/grafana/dskit/modules"
	"github.com/grafana/dskit/services"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/alerting/alarmapi"
	"github.com/cellwatch/cellwatch/cluster"
	"github.com/cellwatch/cellwatch/dashboards"
	"github.com/cellwatch/cellwatch/dashboards/ui"
	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/ingest"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/kitlog"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/internal/sigv4"
	"github.com/cellwatch/cellwatch/logs"
	"github.com/cellwatch/cellwatch/query"
	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

// The modules of a node: each is one component and its service.
const (
	modAdmin     = "admin-server"
	modWAL       = "wal"
	modLocal     = "local-store"
	modStream    = "stream"
	modLongTerm  = "long-term-store"
	modConsumer  = "long-term-consumer"
	modShipper   = "shipper"
	modRetention = "wal-retention"
	modLiveness  = "liveness"
	modQuery     = "query"
	modAlarms    = "alarm-store"
	modOutbox    = "alarm-notifications"
	modEvaluator = "alarm-evaluator"
	modDash      = "dashboards"
	modLogs      = "logs"
	modCluster   = "cluster"
	modAlarmSync = "alarm-sync"
	modAPI       = "api-server"
	modAll       = "all"
)

// moduleDeps is the wiring graph. A module starts once the modules it
// depends on run, and stops before any of them stops, so the order of
// shutdown is the reverse of this table's arrows:
//   - the admin server is the root: /-/ready answers while the WAL replays,
//     and /metrics until the last component stopped;
//   - the API server stops first: no write is acknowledged after the WAL
//     closed, and liveness writes its last mark after the API's last write;
//   - the consumer and the evaluator stop before the stores they read.
var moduleDeps = map[string][]string{
	modWAL:       {modAdmin},
	modStream:    {modAdmin},
	modLongTerm:  {modAdmin},
	modLocal:     {modWAL},                             // rebuilt from the WAL when it starts
	modShipper:   {modWAL, modStream},                  // tails the WAL into the stream
	modRetention: {modWAL, modShipper},                 // deletes segments shipped and out of the window
	modLiveness:  {modWAL, modLocal},                   // its first mark follows the rebuild
	modCluster:   {modAdmin},                           // the ring (cluster mode; nothing on one node): serves before peers answer
	modConsumer:  {modStream, modLongTerm, modCluster}, // applies the stream (the partitions the ring gives it) to the long-term store
	modQuery:     {modLocal, modLongTerm, modCluster},  // reads both stores by coverage (in a cluster, the peers' too)
	modAlarms:    {modQuery, modCluster},               // the alarm database; its evaluations read through query; in a cluster it evaluates the alarms the ring gives it
	modAlarmSync: {modAlarms, modCluster},              // in a cluster, pulls the peers' alarm changes
	modOutbox:    {modAlarms},                          // delivers what transitions stage in the alarm store
	modEvaluator: {modOutbox, modQuery},                // evaluates through query, notifies through the outbox
	modDash:      {modAdmin},                           // the dashboard database
	modLogs:      {modLiveness, modQuery},              // log metadata, retention and Insights queries over both stores
	modAPI:       {modLiveness, modQuery, modOutbox, modDash, modLogs},
	modAll:       {modAPI, modConsumer, modRetention, modEvaluator, modAlarmSync},
}

// newModules registers every module of n with its init function and the
// graph above.
func (n *node) newModules() (*modules.Manager, error) {
	m := modules.NewManager(kitlog.Logger{L: n.logger.With("component", "modules"), InfoAsDebug: true})
	for name, init := range n.inits() {
		if init != nil {
			init = n.tracked(name, init)
		}
		m.RegisterModule(name, init)
	}
	for name, deps := range moduleDeps {
		if err := m.AddDependency(name, deps...); err != nil {
			return nil, fmt.Errorf("add dependencies of %s: %w", name, err)
		}
	}
	return m, nil
}

// inits are the init functions of the modules; every one is in moduleDeps.
func (n *node) inits() map[string]func() (services.Service, error) {
	return map[string]func() (services.Service, error){
		modAdmin: n.initAdmin, modWAL: n.initWAL, modLocal: n.initLocal, modStream: n.initStream,
		modLongTerm: n.initLongTerm, modConsumer: n.initConsumer, modShipper: n.initShipper,
		modRetention: n.initRetention, modLiveness: n.initLiveness, modQuery: n.initQuery,
		modAlarms: n.initAlarms, modOutbox: n.initOutbox, modEvaluator: n.initEvaluator, modAPI: n.initAPI, modAll: nil,
		modDash: n.initDashboards, modLogs: n.initLogs, modCluster: n.initCluster,
		modAlarmSync: n.initAlarmSync,
	}
}

// tracked records when the service of init stops (node.order), and names
// the module in its error.
func (n *node) tracked(name string, init func() (services.Service, error)) func() (services.Service, error) {
	return func() (services.Service, error) {
		s, err := init()
		if err != nil {
			return nil, &buildError{module: name, err: err}
		}
		if s == nil {
			return nil, nil
		}
		return n.order.track(name, s), nil
	}
}

// buildError is a module's init function failing.
type buildError struct {
	module string
	err    error
}

func (e *buildError) Error() string { return "build " + e.module + ": " + e.err.Error() }
func (e *buildError) Unwrap() error { return e.err }

func (n *node) initAdmin() (services.Service, error) {
	n.adminServer = newHTTPServer("admin", n.cfg.AdminListen, n.adminHandler(), shutdownGrace, n.logger)
	return n.adminServer, nil
}

func (n *node) initWAL() (_ services.Service, err error) {
	cfg := n.cfg.WAL
	cfg.Dir = filepath.Join(n.cfg.Data, "wal")
	n.wal, err = fallback.NewWAL(cfg, n.reg, n.logger.With("component", "wal"))
	return n.wal, err
}

func (n *node) initLocal() (_ services.Service, err error) {
	n.local, err = store.NewLocal(n.cfg.Store, n.wal, n.reg, n.logger.With("component", "store"))
	return n.local, err
}

func (n *node) initStream() (_ services.Service, err error) {
	logger := n.logger.With("component", "stream")
	switch cfg := n.cfg.Stream; cfg.Kind {
	case stream.KindKafka:
		n.stream, err = stream.NewKafka(cfg.Kafka, cfg.Partitions, n.reg, logger)
	default:
		cfg.Dir = filepath.Join(n.cfg.Data, "stream")
		n.stream, err = stream.NewEmbedded(cfg.EmbeddedConfig, n.reg, logger)
	}
	if err != nil {
		return nil, err
	}
	n.faulty = fallback.NewFaultyStream(n.stream)
	if err := n.faulty.Set(fallback.Fault{Mode: n.cfg.Shipper.Fault}); err != nil {
		return nil, fmt.Errorf("-shipper.fault: %w", err)
	}
	n.registerAdminMetrics()
	return n.stream, nil
}

func (n *node) initLongTerm() (_ services.Service, err error) {
	n.longTerm, err = store.NewLongTerm(store.LongTermConfig{Dir: filepath.Join(n.cfg.Data, "longterm"), Partitions: n.cfg.Stream.Partitions},
		n.reg, n.logger.With("component", "longterm"))
	return n.longTerm, err
}

// initCluster builds the node's membership of its cluster; on a single
// node there is none.
func (n *node) initCluster() (_ services.Service, err error) {
	if !n.cfg.Cluster.Enabled() {
		return nil, nil
	}
	cfg := n.cfg.Cluster
	if cfg.APIAddr == n.cfg.Listen {
		// Peers reach this node on its API listener: bind it now, so that
		// a port 0 is known before the node enters the ring (the API
		// server, built later, serves this listener).
		ln, err := net.Listen("tcp", n.cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen api: %w", err)
		}
		n.apiListener = ln
		cfg.APIAddr = ln.Addr().String()
	}
	n.cluster, err = cluster.New(cfg, n.logger, n.reg)
	if err != nil {
		return nil, err
	}
	n.logger.Warn("cluster mode: CloudWatch Logs (groups, streams, events) and dashboards are each node's own, not the cluster's: send a tenant's Logs and dashboard calls to one node")
	return n.cluster, nil
}

func (n *node) initConsumer() (services.Service, error) {
	var cfg store.ConsumerConfig
	if n.cluster != nil {
		cfg.Ownership = ringOwnership{n.cluster, n.cluster.Subscribe()}
	}
	n.consumer = store.NewConsumer(n.longTerm, partitionSource{n.stream}, cfg, n.reg, n.logger.With("component", "consumer"))
	return n.consumer, nil
}

func (n *node) initShipper() (_ services.Service, err error) {
	cfg := n.cfg.Shipper
	cfg.StateFile = filepath.Join(n.cfg.Data, "shipper.json")
	n.shipper, err = fallback.NewShipper(cfg, n.wal, n.faulty, n.reg, n.logger.With("component", "shipper"))
	return n.shipper, err
}

func (n *node) initRetention() (services.Service, error) {
	return fallback.NewRetention(n.wal, n.cfg.Store.Window, time.Minute, n.shipper.Shipped, n.logger.With("component", "wal")), nil
}

func (n *node) initLiveness() (services.Service, error) {
	return fallback.NewLiveness(fallback.LivenessConfig{Genesis: n.genesis}, n.wal, n.local, n.reg, n.logger.With("component", "liveness")), nil
}

// initQuery builds the read path; it has no service of its own.
func (n *node) initQuery() (services.Service, error) {
	cfg := query.Config{Local: n.local, LongTerm: n.longTerm, Window: n.cfg.Store.Window}
	if n.cluster != nil {
		cfg.Federation = &query.Fanout{Self: n.cfg.Cluster.NodeID, Ring: queryRing{n.cluster}, Local: n.local, LongTerm: n.longTerm,
			Partitions: n.cfg.Stream.Partitions, Window: n.cfg.Store.Window,
			Client: query.NewPeerClient(n.cfg.Cluster.PeerTimeout, n.cfg.AdminToken, n.reg, n.logger.With("component", "query"))}
	}
	n.query = query.New(cfg, n.logger.With("component", "query"))
	peers := query.PeerHandler(n.local, n.longTerm, n.cfg.Stream.Partitions)
	n.peers.Store(&peers)
	return nil, nil
}

func (n *node) initAlarms() (_ services.Service, err error) {
	cfg := n.cfg.Alarms
	cfg.Dir, cfg.Reader = filepath.Join(n.cfg.Data, "alarms"), alerting.QueryReader(n.query)
	if n.cluster != nil {
		cfg.NodeID, cfg.Owns = n.cfg.Cluster.NodeID, n.cluster.OwnsAlarm
	}
	n.alarms, err = alerting.NewStore(cfg, n.reg, n.logger.With("component", "alarms"))
	return n.alarms, err
}

// initAlarmSync builds, in a cluster, the puller of the peers' alarm
// changes (every node holds every alarm; alerting/replica.go).
func (n *node) initAlarmSync() (services.Service, error) {
	if n.cluster == nil {
		return nil, nil
	}
	return alerting.NewSyncer(n.alarms, alarmPeers{n.cluster}, alerting.SyncConfig{Timeout: n.cfg.Cluster.PeerTimeout, Token: n.cfg.AdminToken},
		n.reg, n.logger.With("component", "alarms")), nil
}

func (n *node) initOutbox() (services.Service, error) { return n.alarms.Outbox(), nil }

func (n *node) initEvaluator() (_ services.Service, err error) {
	n.evaluator, err = alerting.NewEvaluator(n.alarms, n.reg, n.logger.With("component", "alarms"))
	return n.evaluator, err
}

// initAPI builds the CloudWatch API: PutMetricData into the WAL and the
// local store, reads through query, the alarm and dashboard APIs.
func (n *node) initAPI() (services.Service, error) {
	srv := ingest.NewServer(awsapi.DefaultLimits, n.reg, n.logger.With("component", "api"))
	var keys map[string]sigv4.Credential
	tenants := ingest.NewTenantLimits(n.cfg.Limits)
	srv.Guard(n.cfg.Limits, tenants)
	if file := n.cfg.Auth.CredentialsFile; file != "" {
		var err error
		if keys, err = sigv4.LoadCredentials(file); err != nil {
			return nil, err
		}
		srv.Authenticate(ingest.NewSigV4Authenticator(keys, n.reg))
	}
	metrics := ingest.NewMetrics(n.wal, n.local, nil, n.reg, n.logger)
	metrics.RateLimit(tenants, func(tenant, namespace string, d *record.Datum) bool {
		return len(n.local.Lookup(tenant, namespace, d.MetricName, d.Dimensions)) > 0
	})
	srv.Register("PutMetricData", metrics.PutMetricData)
	srv.Register("GetMetricStatistics", n.query.GetMetricStatistics)
	srv.Register("GetMetricData", n.query.GetMetricData)
	srv.Register("ListMetrics", n.query.ListMetrics)
	for op, h := range n.logs.Handlers() {
		srv.RegisterLogs(op, ingest.Handler(h))
	}
	alarms, dash := alarmapi.New(n.alarms).Handlers(), dashboards.New(n.dashboards)
	// Registered last, the dashboards' tagging operations serve dashboard
	// ARNs and pass the others to the alarms' own.
	for _, ops := range []map[string]alarmapi.Handler{alarms, dash.Handlers(), dash.TagHandlers(alarms)} {
		for op, h := range ops {
			srv.Register(op, h)
		}
	}
	prom := query.NewPromAPI(n.query, n.cfg.PromQL, keys, n.reg, n.logger.With("component", "promql"))
	router := newPublicRouter(prom, n.cfg.PromQL, n.withUI(srv), n.logger.With("component", "promql"))
	// Prometheus remote write, outside the query middleware (its own limits).
	router.Post("/api/v1/write", ingest.NewRemoteWrite(n.wal, n.local, n.cfg.RemoteWrite, keys, n.reg, n.logger.With("component", "remote-write")).ServeHTTP)
	var public http.Handler = router
	if n.cluster != nil {
		// The node's stores, read by its peers; refused until the WAL is
		// replayed, so a peer counts this node's share unknown.
		router.Post(query.PeerPath+"*", n.guardAdmin(http.HandlerFunc(n.servePeers)).ServeHTTP)
		router.Post(alerting.SyncPath, n.guardAdmin(alerting.SyncHandler(n.alarms)).ServeHTTP)
		if n.cfg.Cluster.TenantShardSize > 0 {
			public = newForwarder(n.cluster, keys, router, n.reg, n.logger.With("component", "cluster"))
		}
	}
	n.apiServer = newHTTPServer("api", n.cfg.Listen, public, shutdownGrace, n.logger)
	n.apiServer.useListener(n.apiListener)
	n.apiServer.readHeaderTimeout(n.cfg.Limits.ReadHeaderTimeout)
	return n.apiServer, nil
}

// withUI puts the status page (GET / and /ui/) in front of the CloudWatch
// API, which serves everything else (POST /, and GET / with an Action).
func (n *node) withUI(api http.Handler) http.Handler {
	page := ui.New(n.uiConfig())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ui.IsPage(r) {
			page.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// initLogs builds the CloudWatch Logs API: PutLogEvents through the WAL into
// the local store (ingest.Logs), reads over both stores (store.LogsView).
func (n *node) initLogs() (_ services.Service, err error) {
	w := ingest.NewLogs(n.wal, n.local, n.reg)
	n.logs, err = logs.New(logs.Config{Dir: filepath.Join(n.cfg.Data, "logs")}, w, store.LogsView{Local: n.local, LongTerm: n.longTerm},
		n.reg, n.logger.With("component", "logs"))
	return n.logs, err
}

func (n *node) initDashboards() (_ services.Service, err error) {
	n.dashboards, err = dashboards.NewStore(dashboards.Config{Dir: filepath.Join(n.cfg.Data, "dashboards")}, n.reg,
		n.logger.With("component", "dashboards"))
	return n.dashboards, err
}
