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
	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/ingest"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/query"
	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

// shutdownGrace bounds how long in-flight requests may take after SIGTERM.
const shutdownGrace = 30 * time.Second

// node is one running cellwatch: its components and its two HTTP servers.
type node struct {
	cfg      *Config
	logger   *slog.Logger
	reg      *prometheus.Registry
	lock     *os.File
	wal      *fallback.WAL
	local    *store.Local
	longTerm *store.LongTerm
	stream   *stream.Embedded
	faulty   *fallback.FaultyStream
	shipper  *fallback.Shipper
	consumer *store.Consumer
	alarms   *alerting.Service
	ready    atomic.Bool
	// running are the started background services, stopped in reverse order.
	running []services.Service

	apiLn, adminLn net.Listener
	api, admin     *http.Server
	fresh          freshConns
}

// freshConns tracks API connections that have not sent a request yet.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	if state == http.StateNew {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

// newNode builds every component in data-flow order, rebuilds the local
// store from the WAL and binds both listeners; serve runs it.
func newNode(ctx context.Context, cfg *Config, logger *slog.Logger) (_ *node, err error) {
	n := &node{cfg: cfg, logger: logger, reg: prometheus.NewRegistry()}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			_ = n.close() // release what was opened before the failure
		}
	}()
	genesis := newDataDir(cfg.Data) // before anything is created in it
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if n.lock, err = lockDataDir(cfg.Data); err != nil {
		return nil, err
	}
	if n.adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
		return nil, fmt.Errorf("listen admin: %w", err)
	}
	n.admin = &http.Server{Handler: n.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = n.admin.Serve(n.adminLn) }()

	walCfg := cfg.WAL
	walCfg.Dir = filepath.Join(cfg.Data, "wal")
	if n.wal, err = fallback.NewWAL(walCfg, n.reg, logger.With("component", "wal")); err != nil {
		return nil, err
	}
	// Not stopped by ctx: close stops it after the services that append to it.
	if err := services.StartAndAwaitRunning(context.WithoutCancel(ctx), n.wal); err != nil {
		return nil, err
	}
	n.local, err = store.NewLocal(store.LocalConfig{Window: cfg.Store.Window, MaxBytes: cfg.Store.MaxBytes}, n.reg, logger.With("component", "store"))
	if err != nil {
		return nil, fmt.Errorf("create local store: %w", err)
	}
	began := time.Now()
	if err := n.local.Rebuild(ctx, n.wal); err != nil {
		return nil, fmt.Errorf("rebuild local store from wal: %w", err)
	}
	logger.Info("local store rebuilt from wal", "took", time.Since(began).Round(time.Millisecond), "bytes", n.local.Bytes())
	if err := n.openStreamPath(cfg, logger); err != nil {
		return nil, err
	}
	n.registerAdminMetrics()
	for _, svc := range []struct {
		name string
		s    services.Service
	}{
		{"local store", n.local},
		{"long-term store", n.longTerm},
		{"long-term consumer", n.consumer},
		{"shipper", n.shipper},
		{"wal retention", fallback.NewRetention(n.wal, cfg.Store.Window, time.Minute, n.shipper.Shipped, logger.With("component", "wal"))},
		// Last: its started mark follows the rebuild, its last mark the API's stop.
		{"liveness", fallback.NewLiveness(fallback.LivenessConfig{Genesis: genesis}, n.wal, n.local, n.reg, logger.With("component", "liveness"))},
	} {
		if err := services.StartAndAwaitRunning(ctx, svc.s); err != nil {
			return nil, fmt.Errorf("start %s: %w", svc.name, err)
		}
		n.running = append(n.running, svc.s)
	}

	if err := n.openAPI(ctx, cfg, logger); err != nil {
		return nil, err
	}
	logger.Info("cellwatch started", "api", n.apiLn.Addr().String(), "admin", n.adminLn.Addr().String(),
		"data", absPath(cfg.Data), "node_id", n.wal.NodeID(), "wal_sync_interval", cfg.WAL.SyncInterval)
	return n, nil
}

// openAPI builds the CloudWatch API: PutMetricData into the WAL and the
// local store, reads through query, alarms with their evaluator; and binds
// its listener.
func (n *node) openAPI(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	var err error
	srv := ingest.NewServer(awsapi.DefaultLimits, n.reg, logger.With("component", "api"))
	metrics := ingest.NewMetrics(n.wal, n.local, nil, n.reg, logger)
	q := query.New(query.Config{Local: n.local, LongTerm: n.longTerm, Window: cfg.Store.Window}, logger.With("component", "query"))
	srv.Register("PutMetricData", metrics.PutMetricData)
	srv.Register("GetMetricStatistics", q.GetMetricStatistics)
	srv.Register("GetMetricData", q.GetMetricData)
	srv.Register("ListMetrics", q.ListMetrics)
	// Alarms: API, durable state in <data>/alarms, evaluator reading through query.
	if n.alarms, err = alerting.New(alerting.Config{Dir: filepath.Join(cfg.Data, "alarms"), Reader: alerting.QueryReader(q),
		NotifyTimeout: cfg.Alarms.NotifyTimeout, NotifyBackoffMax: cfg.Alarms.NotifyBackoffMax,
		NotifyMaxEntries: cfg.Alarms.NotifyMaxEntries, NotifyMaxBytes: cfg.Alarms.NotifyMaxBytes}, n.reg, logger.With("component", "alarms")); err != nil {
		return fmt.Errorf("open alarms: %w", err)
	}
	for op, h := range n.alarms.Handlers() {
		srv.Register(op, h)
	}
	evaluator := n.alarms.Evaluator()
	if err := services.StartAndAwaitRunning(ctx, evaluator); err != nil {
		return fmt.Errorf("start alarm evaluator: %w", err)
	}
	n.running = append(n.running, evaluator)
	if n.apiLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("listen api: %w", err)
	}
	n.api = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ConnState: n.fresh.track}
	return nil
}

// serve answers API calls until ctx is done, then shuts down gracefully:
// in-flight requests finish, the WAL is synced and closed, the lock released.
func (n *node) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- n.api.Serve(n.apiLn) }()
	n.ready.Store(true)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	n.ready.Store(false)
	n.logger.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Shutdown waits 5 s before it takes a connection that never sent a
	// request for idle; nothing is in flight on those, so close them now.
	n.api.SetKeepAlivesEnabled(false)
	go n.fresh.closeAll()
	if serr := n.api.Shutdown(sctx); serr != nil {
		err = errors.Join(err, fmt.Errorf("shut down api: %w", serr))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	err = errors.Join(err, n.close())
	n.logger.Info("cellwatch stopped")
	return err
}

func (n *node) close() error {
	var err error
	if n.api != nil {
		_ = n.api.Close()
	}
	for i := len(n.running) - 1; i >= 0; i-- {
		err = errors.Join(err, services.StopAndAwaitTerminated(context.Background(), n.running[i]))
	}
	n.running = nil
	if n.alarms != nil {
		err = errors.Join(err, n.alarms.Close())
	}
	if n.stream != nil {
		if cerr := n.stream.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close stream: %w", cerr))
		}
	}
	if n.longTerm != nil {
		if cerr := n.longTerm.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close long-term store: %w", cerr))
		}
	}
	if n.wal != nil {
		if cerr := services.StopAndAwaitTerminated(context.Background(), n.wal); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close wal: %w", cerr))
		}
	}
	if n.admin != nil {
		_ = n.admin.Close()
	}
	if n.lock != nil {
		_ = n.lock.Close()
	}
	return err
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
