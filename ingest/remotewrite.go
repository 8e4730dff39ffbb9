package ingest

import (
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"syscall"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/internal/sigv4"
)

// RemoteWriteConfig configures the Prometheus remote write receiver.
type RemoteWriteConfig struct {
	Namespace    string `yaml:"namespace"`
	MaxBodyBytes int    `yaml:"max_body_bytes"`
}

// RegisterFlags binds the settings to -remote-write.* flags.
func (c *RemoteWriteConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Namespace, "remote-write.namespace", "Prometheus", "CloudWatch namespace of every series received on /api/v1/write")
	fs.IntVar(&c.MaxBodyBytes, "remote-write.max-body-bytes", 10<<20, "largest snappy-compressed remote write body taken, in bytes (413 beyond); the decoded body is limited to 32 MiB")
}

// Validate checks the settings.
func (c *RemoteWriteConfig) Validate() error {
	if err := validateNamespace(c.Namespace, true); err != nil {
		return fmt.Errorf("-remote-write.namespace: %w", err)
	}
	if c.MaxBodyBytes <= 0 {
		return errors.New("-remote-write.max-body-bytes must be positive")
	}
	return nil
}

// RemoteWrite receives Prometheus remote write 1.0 and 2.0 requests and
// ingests them on PutMetricData's path: one WAL record per request, durable
// before the answer, then applied to the local store.
type RemoteWrite struct {
	wal    WAL
	store  LocalStore
	cfg    RemoteWriteConfig
	keys   map[string]sigv4.Credential // nil: anonymous, the default tenant
	now    func() time.Time
	logger *slog.Logger

	samples  *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	requests *prometheus.CounterVec
}

// NewRemoteWrite returns the handler of POST /api/v1/write. With keys, every
// request must carry HTTP basic auth: an access key id and its secret; it
// then acts for the key's account. Without, requests are the default tenant.
func NewRemoteWrite(wal WAL, local LocalStore, cfg RemoteWriteConfig, keys map[string]sigv4.Credential, reg prometheus.Registerer, logger *slog.Logger) http.Handler {
	return newRemoteWrite(wal, local, cfg, keys, reg, logger).handler()
}

func (rw *RemoteWrite) handler() http.Handler {
	return remoteapi.NewWriteHandler(rw, acceptedMessages,
		remoteapi.WithWriteHandlerLogger(rw.logger),
		remoteapi.WithWriteHandlerMiddlewares(rw.guard, remoteapi.SnappyDecodeMiddleware(rw.logger)))
}

func newRemoteWrite(wal WAL, local LocalStore, cfg RemoteWriteConfig, keys map[string]sigv4.Credential, reg prometheus.Registerer, logger *slog.Logger) *RemoteWrite {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(reg)
	return &RemoteWrite{
		wal: wal, store: local, cfg: cfg, keys: keys, now: time.Now, logger: logger,
		samples: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_remote_write_samples_total",
			Help: "Prometheus samples accepted by remote write, by protocol version.",
		}, []string{"version"}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_remote_write_dropped_total",
			Help: "Remote-written samples, histograms and exemplars not stored though the request succeeded, by reason.",
		}, []string{"reason"}),
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_remote_write_requests_total",
			Help: "Remote write requests by HTTP status code.",
		}, []string{"code"}),
	}
}

// guard authenticates, refuses browsers' cross-site requests to an
// anonymous node and bounds the body, before the body is read.
func (rw *RemoteWrite) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() { rw.requests.WithLabelValues(fmt.Sprint(sw.code)).Inc() }()
		tenant := awsapi.DefaultTenant
		if rw.keys != nil {
			id, secret, ok := r.BasicAuth()
			cred, known := rw.keys[id]
			if !ok || !known || subtle.ConstantTimeCompare([]byte(secret), []byte(cred.SecretAccessKey)) != 1 {
				sw.Header().Set("WWW-Authenticate", `Basic realm="cellwatch"`)
				http.Error(sw, "unauthorized: remote write needs HTTP basic auth with an access key id and its secret", http.StatusUnauthorized)
				return
			}
			tenant = cred.AccountID
		} else if CrossSite(r) {
			http.Error(sw, "forbidden: a browser's cross-site request is refused by a node that takes unsigned requests", http.StatusForbidden)
			return
		}
		// The content type first, as the protocol handler would, so that an
		// unknown one is 415 whatever the body.
		ctype := r.Header.Get("Content-Type")
		if ctype == "" {
			ctype = "application/x-protobuf"
		}
		if msgType, err := remoteapi.ParseProtoMsg(ctype); err != nil || !acceptedMessages.Contains(msgType) {
			if err == nil {
				err = fmt.Errorf("%v protobuf message is not accepted by this server; only accepts %v", msgType, acceptedMessages.String())
			}
			http.Error(sw, err.Error(), http.StatusUnsupportedMediaType)
			return
		}
		if r.ContentLength > int64(rw.cfg.MaxBodyBytes) {
			http.Error(sw, fmt.Sprintf("request body exceeds the %d bytes limit", rw.cfg.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(sw, r.Body, int64(rw.cfg.MaxBodyBytes))
		r = r.WithContext(contextWithTenant(r, tenant))
		next.ServeHTTP(sw, r)
	})
}

// Store implements the remoteapi write storage: decode, map, log, apply.
func (rw *RemoteWrite) Store(r *http.Request, msgType remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	wr := remoteapi.NewWriteResponse()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			wr.SetStatusCode(http.StatusRequestEntityTooLarge)
		} else {
			wr.SetStatusCode(http.StatusBadRequest)
		}
		return wr, fmt.Errorf("read body: %w", err)
	}
	var conv *converted
	if msgType == remoteapi.WriteV1MessageType {
		var req prompb.WriteRequest
		if err := req.Unmarshal(body); err != nil {
			wr.SetStatusCode(http.StatusBadRequest)
			return wr, fmt.Errorf("decode remote write 1.0 request: %w", err)
		}
		conv, err = convertV1(&req, rw.cfg.Namespace, rw.now())
	} else {
		var req writev2.Request
		if err := req.Unmarshal(body); err != nil {
			wr.SetStatusCode(http.StatusBadRequest)
			return wr, fmt.Errorf("decode remote write 2.0 request: %w", err)
		}
		conv, err = convertV2(&req, rw.cfg.Namespace, rw.now())
	}
	if err != nil {
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, err
	}
	if code, err := rw.commit(r, conv); err != nil {
		wr.SetStatusCode(code)
		return wr, err
	}
	for reason, n := range conv.dropped {
		rw.dropped.WithLabelValues(reason).Add(float64(n))
	}
	version := "1.0"
	if msgType == remoteapi.WriteV2MessageType {
		version = "2.0"
	}
	rw.samples.WithLabelValues(version).Add(float64(len(conv.rec.Datums)))
	wr.Add(remoteapi.WriteResponseStats{Samples: len(conv.rec.Datums)})
	return wr, nil
}

// commit appends the record to the WAL (durable before the answer) and
// applies it to the local store; a failure is the node's own (5xx), so the
// sender retries.
func (rw *RemoteWrite) commit(r *http.Request, conv *converted) (int, error) {
	if len(conv.rec.Datums) == 0 {
		return 0, nil
	}
	conv.rec.Tenant = tenantOf(r)
	if err := rw.store.Admit(); err != nil {
		return http.StatusServiceUnavailable, fmt.Errorf("admit samples: %w", err)
	}
	buf := record.AppendMetrics(make([]byte, 0, 64+64*len(conv.rec.Datums)), conv.rec)
	if len(buf) > fallback.MaxRecordSize {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request of %d samples is too large for one write (%d bytes encoded, at most %d); send fewer samples per request", len(conv.rec.Datums), len(buf), fallback.MaxRecordSize)
	}
	if _, err := rw.wal.Append(r.Context(), buf); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return http.StatusServiceUnavailable, fmt.Errorf("append to write-ahead log: the node's disk is full: %w", err)
		}
		return http.StatusInternalServerError, fmt.Errorf("append to write-ahead log: %w", err)
	}
	rw.store.Apply(conv.rec)
	return 0, nil
}

var acceptedMessages = remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
