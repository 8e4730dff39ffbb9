package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/cluster"
	"github.com/cellwatch/cellwatch/dashboards"
	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/logs"
	"github.com/cellwatch/cellwatch/query"
	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

// shutdownGrace bounds how long in-flight requests may take after SIGTERM.
const shutdownGrace = 30 * time.Second

// node is one running cellwatch: its components, built by the module init
// functions (modules.go), run by one services.Manager in dependency order.
type node struct {
	cfg     *Config
	logger  *slog.Logger
	reg     *prometheus.Registry
	genesis bool     // the data directory was new: nothing came before the first start
	lock    *os.File // <data>/LOCK, held while the node runs

	wal         *fallback.WAL
	local       *store.Local
	longTerm    *store.LongTerm
	stream      streamService
	faulty      *fallback.FaultyStream
	shipper     *fallback.Shipper
	consumer    *store.Consumer
	query       *query.Service
	alarms      *alerting.Store
	evaluator   *alerting.Evaluator
	dashboards  *dashboards.Store
	logs        *logs.API
	apiServer   *httpServer
	adminServer *httpServer
	cluster     *cluster.Cluster             // nil on a single node
	apiListener net.Listener                 // bound while the node is built (cluster mode), served by apiServer
	peers       atomic.Pointer[http.Handler] // the node's stores served to its peers, once built

	manager *services.Manager
	order   stopOrder // the order in which services stopped
	ready   atomic.Bool
}

// streamService is the node's stream: the embedded one or Kafka.
type streamService interface {
	stream.Log
	services.Service
}

// newNode locks the data directory, builds every component and starts them
// in dependency order, so that on return the local store is rebuilt from the
// WAL and both listeners are bound; serve runs the node until ctx is done.
func newNode(ctx context.Context, cfg *Config, logger *slog.Logger) (_ *node, err error) {
	n := &node{cfg: cfg, logger: logger, reg: prometheus.NewRegistry()}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.genesis = newDataDir(cfg.Data) // before anything is created in it
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if n.lock, err = lockDataDir(cfg.Data); err != nil {
		return nil, err
	}
	mods, err := n.newModules()
	if err == nil {
		err = n.buildManager(mods)
	}
	if err != nil {
		_ = n.lock.Close()
		return nil, err
	}
	began := time.Now()
	if err := n.start(ctx); err != nil {
		return nil, errors.Join(err, n.stop())
	}
	n.ready.Store(true)
	logger.Info("cellwatch started", "api", n.apiServer.Addr().String(), "admin", n.adminServer.Addr().String(),
		"data", absPath(cfg.Data), "node_id", n.wal.NodeID(), "wal_sync_interval", cfg.WAL.SyncInterval,
		"took", time.Since(began).Round(time.Millisecond))
	return n, nil
}

// buildManager initialises the modules (in dependency order) and puts their
// services under one manager.
func (n *node) buildManager(mods interface {
	InitModuleServices(...string) (map[string]services.Service, error)
}) error {
	byName, err := mods.InitModuleServices(modAll)
	if be, ok := errors.AsType[*buildError](err); ok {
		return be // without the stack dskit's modules wrap it in
	} else if err != nil {
		return fmt.Errorf("build components: %w", err)
	}
	all := make([]services.Service, 0, len(byName))
	for _, s := range byName {
		all = append(all, s)
	}
	if n.manager, err = services.NewManager(all...); err != nil {
		return fmt.Errorf("build service manager: %w", err)
	}
	return nil
}

// start starts every service and waits until all run. A failure names the
// first service that failed, not the ones that failed because they depend
// on it.
func (n *node) start(ctx context.Context) error {
	if err := n.manager.StartAsync(ctx); err != nil {
		return fmt.Errorf("start components: %w", err)
	}
	if err := n.manager.AwaitHealthy(ctx); err != nil {
		if first := n.order.firstFailure(); first != nil {
			return first
		}
		return fmt.Errorf("start components: %w", err)
	}
	return nil
}

// serve runs the node until ctx is done or a component fails, then shuts it
// down gracefully: the API stops taking requests and finishes those in
// flight, then every component stops after those that depend on it, the WAL
// is synced and closed, the lock released.
func (n *node) serve(ctx context.Context) error {
	failed := make(chan struct{})
	var once sync.Once
	n.manager.AddListener(services.NewManagerListener(nil, nil, func(services.Service) { once.Do(func() { close(failed) }) }))
	var err error
	select {
	case <-ctx.Done():
	case <-failed:
		err = n.order.firstFailure()
	}
	n.ready.Store(false)
	n.logger.Info("shutting down: finishing in-flight requests")
	err = errors.Join(err, n.stop())
	n.logger.Info("cellwatch stopped")
	return err
}

// stop stops every service in dependency order and releases the lock.
func (n *node) stop() error {
	n.manager.StopAsync()
	// Every service has its own bound (the HTTP servers shutdownGrace); the
	// manager's wait has none of its own.
	err := n.manager.AwaitStopped(context.Background())
	err = errors.Join(err, n.order.failures())
	if cerr := n.lock.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("release data directory lock: %w", cerr))
	}
	return err
}

// stopOrder records the order in which services stopped, and failures.
type stopOrder struct {
	mu      sync.Mutex
	stopped []string
	failed  []error
}

// track wraps a component's service so that its stop is recorded when it
// happens (listeners are told later, each on its own goroutine), and its
// failure with its name. The module around it fails too when a module it
// depends on fails; only the component's own failures are recorded, so the
// first one is the cause.
func (o *stopOrder) track(name string, s services.Service) services.Service {
	s.AddListener(services.NewListener(nil, nil, nil, nil, func(_ services.State, err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.failed = append(o.failed, fmt.Errorf("%s: %w", name, err))
	}))
	return services.NewBasicService(
		func(ctx context.Context) error { return services.StartAndAwaitRunning(ctx, s) },
		func(ctx context.Context) error {
			if err := s.AwaitTerminated(ctx); ctx.Err() == nil {
				return err // it ended by itself
			}
			return nil
		},
		func(error) error {
			err := services.StopAndAwaitTerminated(context.Background(), s)
			o.mu.Lock()
			o.stopped = append(o.stopped, name)
			o.mu.Unlock()
			return err
		})
}

// Stopped returns the services in the order they ended.
func (o *stopOrder) Stopped() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.stopped...)
}

func (o *stopOrder) firstFailure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.failed) == 0 {
		return nil
	}
	return o.failed[0]
}

func (o *stopOrder) failures() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return errors.Join(o.failed...)
}

// newDataDir reports whether dir is missing or empty: a new node, with no
// data from before its first start (its first liveness mark says so). A
// directory that has state but lost its WAL is not new: the time before the
// restart is then unknown.
func newDataDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
