package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
)

// httpServer is an HTTP server as a service: starting binds the listener,
// running serves, stopping lets in-flight requests finish within grace.
type httpServer struct {
	services.Service

	name  string
	addr  string
	grace time.Duration
	srv   *http.Server
	ln    net.Listener
	fresh freshConns
}

func newHTTPServer(name, addr string, h http.Handler, grace time.Duration, logger *slog.Logger) *httpServer {
	s := &httpServer{name: name, addr: addr, grace: grace}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ConnState: s.fresh.track,
		ErrorLog: slog.NewLogLogger(logger.With("server", name).Handler(), slog.LevelWarn)}
	s.Service = services.NewBasicService(s.starting, s.running, s.stopping)
	return s
}

// readHeaderTimeout bounds how long a connection may take to send a
// request's headers (the API server bounds the body itself).
func (s *httpServer) readHeaderTimeout(d time.Duration) { s.srv.ReadHeaderTimeout = d }

// useListener makes the server serve ln, bound earlier, instead of binding
// its address when it starts.
func (s *httpServer) useListener(ln net.Listener) {
	if ln != nil {
		s.ln = ln
	}
}

// Addr is the bound address; valid once the service runs.
func (s *httpServer) Addr() net.Addr { return s.ln.Addr() }

func (s *httpServer) starting(context.Context) error {
	if s.ln != nil {
		return nil // bound before the server was built (useListener)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.name, err)
	}
	s.ln = ln
	return nil
}

func (s *httpServer) running(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", s.name, err)
	}
}

// stopping shuts the server down: no new connections, in-flight requests
// finish (at most grace), then every connection closes.
func (s *httpServer) stopping(error) error {
	if s.ln == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	// Shutdown waits 5 s before it takes a connection that never sent a
	// request for idle; nothing is in flight on those, so close them now.
	s.srv.SetKeepAlivesEnabled(false)
	go s.fresh.closeAll()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down %s: %w", s.name, err)
	}
	return nil
}

// freshConns tracks connections that have not sent a request yet.
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
