package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/cluster"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/sigv4"
	"github.com/cellwatch/cellwatch/query"
)

// headerForwarded marks a request one node passed to another, which serves
// it itself (no second hop).
const headerForwarded = "X-Cellwatch-Forwarded-By"

// maxForwardBody bounds the body a node holds to pass a request on; a
// larger one is served here (the API refuses it by its own limits).
const maxForwardBody = 16 << 20

// forwarder sends a tenant's API requests that reach a node outside the
// tenant's shuffle shard to a node of the shard, so that the tenant's
// recent data is where reads look for it (the shard's local stores). It
// tries the shard's healthy nodes in turn; when none answers, the node
// serves the request itself (the write is durable here and reaches the
// long-term stores through the stream), counted. Off on one node and with
// -cluster.tenant-shard-size 0 (every node holds every tenant).
type forwarder struct {
	c       *cluster.Cluster
	keys    map[string]sigv4.Credential // nil: anonymous, one tenant
	local   http.Handler
	logger  *slog.Logger
	next    atomic.Uint64
	proxies *http.Transport

	forwarded, failed prometheus.Counter
}

func newForwarder(c *cluster.Cluster, keys map[string]sigv4.Credential, local http.Handler, reg prometheus.Registerer, logger *slog.Logger) *forwarder {
	f := promauto.With(reg)
	return &forwarder{c: c, keys: keys, local: local, logger: logger,
		proxies: &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: query.PeerIdleTimeout}, // none kept at rest
		forwarded: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_cluster_forwarded_requests_total",
			Help: "API requests passed to a node of the tenant's shard, this node being outside it.",
		}),
		failed: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_cluster_forward_failures_total",
			Help: "API requests for a tenant outside this node's shard that no shard node took, served here instead.",
		}),
	}
}

// tenant is the tenant a request claims to act for ("" when it names an
// unknown key: the API refuses it here).
func (f *forwarder) tenant(r *http.Request) string {
	if f.keys == nil {
		return awsapi.DefaultTenant
	}
	return f.keys[sigv4.AccessKeyOf(r)].AccountID
}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant := f.tenant(r)
	if tenant == "" || r.Header.Get(headerForwarded) != "" || strings.HasPrefix(r.URL.Path, "/internal/") {
		f.local.ServeHTTP(w, r)
		return
	}
	shard := f.c.TenantNodes(tenant)
	self := f.c.Self().ID
	var targets []cluster.Instance
	for _, n := range shard {
		if n.ID == self {
			f.local.ServeHTTP(w, r) // this node holds the tenant
			return
		}
		if n.Healthy && n.Addr != "" {
			targets = append(targets, n)
		}
	}
	if len(targets) == 0 {
		f.local.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForwardBody+1))
	if err != nil || len(body) > maxForwardBody {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		f.local.ServeHTTP(w, r)
		return
	}
	first := int(f.next.Add(1))
	for i := range targets {
		n := targets[(first+i)%len(targets)]
		if f.try(w, r, body, n) {
			f.forwarded.Inc()
			return
		}
	}
	f.failed.Inc()
	f.logger.Warn("forward request: no node of the tenant's shard answered; serving it here", "tenant", tenant)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.local.ServeHTTP(w, r)
}

// try passes r to node n's API; false when n could not be reached (nothing
// was written to w then).
func (f *forwarder) try(w http.ResponseWriter, r *http.Request, body []byte, n cluster.Instance) bool {
	target := &url.URL{Scheme: "http", Host: n.Addr}
	reached := true
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the signature covers the host the client used
			pr.Out.Header.Set(headerForwarded, f.c.Self().ID)
		},
		Transport: f.proxies,
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) {
			reached = false
		},
	}
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	proxy.ServeHTTP(w, req)
	return reached
}
