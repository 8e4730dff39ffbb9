package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Handler serves one API operation. hdr is the response header, for
// operations that report something beside the body.
type Handler func(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error)

// Server answers CloudWatch API calls in every protocol.
type Server struct {
	handlers map[string]Handler
	limits   awsapi.Limits
	auth     awsapi.Authenticator // nil: every request is the default tenant
	inflight *inflight            // nil: no node-wide caps
	tenants  *TenantLimits        // nil: no per-tenant rates
	bodyTime time.Duration        // 0: no deadline on reading the body
	logger   *slog.Logger

	limited *prometheus.CounterVec

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	panics   prometheus.Counter
}

// CrossSite reports whether r comes from a web page of another site: a
// browser sends Origin with a cross-origin POST and Sec-Fetch-Site with
// every request; SDKs, the CLI and curl send neither. A page in a browser
// on the same machine could otherwise write to a node that takes unsigned
// requests.
func CrossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	return r.Header.Get("Origin") != ""
}

// NewServer returns a server with no operations; add them with Register.
func NewServer(limits awsapi.Limits, reg prometheus.Registerer, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f := promauto.With(reg)
	return &Server{
		handlers: map[string]Handler{},
		limits:   limits,
		logger:   logger,
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_api_requests_total",
			Help: "CloudWatch API requests by operation, protocol and error code (empty when it succeeded).",
		}, []string{"operation", "protocol", "code"}),
		limited: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_api_limited_total",
			Help: "API requests refused by a limit (body size, elements, depth, read time, in-flight caps, tenant rates), by limit.",
		}, []string{"limit"}),
		panics: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_api_panics_total",
			Help: "API handlers that panicked (answered with a server error; the stack is in the log).",
		}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cellwatch_api_request_duration_seconds",
			Help:    "Time to answer a CloudWatch API request.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"operation"}),
	}
}

// Authenticate makes every request pass a before it is served (SigV4; see
// NewAuthenticator).
func (s *Server) Authenticate(a awsapi.Authenticator) { s.auth = a }

// Guard applies c's node-wide caps and tenant's rates (nil: none) to every
// request; c's decode bounds replace the ones NewServer was given.
func (s *Server) Guard(c LimitsConfig, tenants *TenantLimits) {
	s.limits = c.Decode()
	s.inflight = &inflight{maxRequests: int64(c.MaxInflightRequests), maxBytes: c.MaxInflightBytes, bodyBytes: c.MaxBodyBytes}
	s.tenants = tenants
	s.bodyTime = c.ReadTimeout
}

// Register serves CloudWatch operation op with h.
func (s *Server) Register(op string, h Handler) { s.handlers[op] = h }

// RegisterLogs serves CloudWatch Logs operation op (AWS JSON 1.1) with h.
// Logs has operations of the same name as CloudWatch's (TagResource), so
// the two services' handlers are kept apart.
func (s *Server) RegisterLogs(op string, h Handler) { s.handlers[logsKey+op] = h }

const logsKey = "logs:"

// handlerKey is the name req's handler is registered under.
func handlerKey(req *awsapi.Request) string {
	if req.Protocol == awsapi.Logs {
		return logsKey + req.Operation
	}
	return req.Operation
}

// ServeHTTP implements http.Handler. A handler that panics answers a
// server error in the caller's protocol; the panic is logged with its stack
// and counted, and the node goes on.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := &awsapi.Request{}
	defer func() {
		if p := recover(); p != nil {
			s.panics.Inc()
			s.logger.Error("api handler panicked", "operation", req.Operation, "request_id", req.ID, "panic", p, "stack", string(debug.Stack()))
			s.finish(w, req, start, awsapi.InternalFailure("The server failed to process the request (request %s).", req.ID))
		}
	}()
	var aerr *awsapi.Error
	if s.inflight != nil {
		var charge int64
		if charge, aerr = s.inflight.admit(r); aerr != nil {
			req, _ = awsapi.Describe(r)
			s.finish(w, req, start, aerr)
			return
		}
		defer s.inflight.release(charge)
	}
	var rc *http.ResponseController
	if s.bodyTime > 0 {
		// A deadline on this request's body only, lifted once it is read,
		// so that a slow handler is not cut.
		rc = http.NewResponseController(w)
		_ = rc.SetReadDeadline(start.Add(s.bodyTime))
	}
	if req, aerr = awsapi.ReadRequest(r, s.limits, s.auth); aerr != nil {
		if aerr.Limit == "body_read_time" {
			// The rest of the body is not waited for: net/http would
			// otherwise read it before it sends the answer.
			w.Header().Set("Connection", "close")
		}
		s.finish(w, req, start, aerr)
		return
	}
	if rc != nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if aerr = s.tenants.AllowRequest(awsapi.TenantOf(req)); aerr != nil {
		s.finish(w, req, start, aerr)
		return
	}
	if s.auth == nil && CrossSite(r) {
		s.finish(w, req, start, awsapi.AuthError("AccessDenied", http.StatusForbidden,
			"A browser's cross-site request is refused by a node that takes unsigned requests."))
		return
	}
	h, ok := s.handlers[handlerKey(req)]
	if !ok {
		s.finish(w, req, start, awsapi.UnknownOperation(req.Operation))
		return
	}
	out, err := h(r.Context(), req, w.Header())
	if err != nil {
		s.finish(w, req, start, err)
		return
	}
	awsapi.WriteResponse(w, req, out)
	s.observe(req, start, "")
}

func (s *Server) finish(w http.ResponseWriter, req *awsapi.Request, start time.Time, err error) {
	awsapi.WriteError(w, req, err)
	code := "InternalServiceError"
	if aerr, ok := errors.AsType[*awsapi.Error](err); ok {
		code = aerr.Code
		if aerr.Limit != "" {
			s.limited.WithLabelValues(aerr.Limit).Inc()
		}
	}
	if code == "InternalServiceError" || code == "ServiceUnavailable" {
		s.logger.Error("api request failed", "operation", req.Operation, "request_id", req.ID, "err", err)
	}
	s.observe(req, start, code)
}

func (s *Server) observe(req *awsapi.Request, start time.Time, code string) {
	op := handlerKey(req)
	if _, known := s.handlers[op]; !known {
		op = "unknown" // bound the label set
	}
	s.requests.WithLabelValues(op, req.Protocol.String(), code).Inc()
	s.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}
