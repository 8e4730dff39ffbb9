package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/cellwatch/cellwatch/query"
)

// newPublicRouter routes the public port: the Prometheus API under
// /api/v1/ (with a request ID, a time limit and panic recovery), and every
// other path and method to fallback (the CloudWatch API: POST / and
// /service/...). Other path-based surfaces add their routes to the
// returned router before it serves.
func newPublicRouter(prom *query.PromAPI, cfg query.PromConfig, fallback http.Handler, logger *slog.Logger) chi.Router {
	r := chi.NewRouter()
	r.NotFound(fallback.ServeHTTP)
	r.MethodNotAllowed(fallback.ServeHTTP)
	r.Group(func(g chi.Router) {
		g.Use(requestID, timeLimit(cfg), recoverProm(logger))
		prom.Mount(g)
	})
	return r
}

// requestID gives every request an ID (X-Request-Id if the caller sent
// one) and answers it in the X-Request-Id header.
func requestID(next http.Handler) http.Handler {
	return middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(middleware.RequestIDHeader, middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r)
	}))
}

// timeLimit bounds a request's time to -query.timeout.
func timeLimit(cfg query.PromConfig) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), cfg.Timeout)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// recoverProm answers a handler's panic with Prometheus' error JSON
// (internal, 500) and logs it; http.ErrAbortHandler passes through.
func recoverProm(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger.Error("prometheus api panic", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "panic", v)
				query.WritePromPanic(w)
			}()
			next.ServeHTTP(w, r)
		})
	}
}
