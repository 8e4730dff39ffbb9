package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// PeerPath is where a node serves its stores to the other nodes of its
// cluster (PeerHandler); the operation follows: lookup, range, series,
// coverage.
const PeerPath = "/internal/v1/store/"

// PeerIdleTimeout is how long a connection to a peer stays open unused.
const PeerIdleTimeout = 5 * time.Second

// maxPeerResponse bounds what one peer call may return (a series list of a
// large tenant is the biggest).
const maxPeerResponse = 256 << 20

// peerRequest is the body of every peer call. Source names the store
// (SourceLocal or SourceLongTerm); Parts, for the long-term store, the
// partitions the caller reads from this node (nil: all).
type peerRequest struct {
	Source     string             `json:"source"`
	Parts      []int              `json:"parts,omitempty"`
	Tenant     string             `json:"tenant,omitempty"`
	Namespace  string             `json:"namespace,omitempty"`
	MetricName string             `json:"metric_name,omitempty"`
	Dims       []record.Dimension `json:"dims,omitempty"`
	AnyNS      bool               `json:"any_namespace,omitempty"`
	Ref        store.SeriesRef    `json:"ref,omitempty"`
	Start      int64              `json:"start,omitempty"`
	End        int64              `json:"end,omitempty"`
	Period     int64              `json:"period,omitempty"`
	// PrefetchFrom and PrefetchTo, on a lookup, ask for each series found
	// its buckets with Start in [PrefetchFrom, PrefetchTo) in the answer.
	PrefetchFrom int64 `json:"prefetch_from,omitempty"`
	PrefetchTo   int64 `json:"prefetch_to,omitempty"`
}

type peerSeries struct {
	Ref    store.SeriesRef `json:"ref"`
	Key    store.SeriesKey `json:"key"`
	Newest int64           `json:"newest,omitempty"`
	Aggs   [][]byte        `json:"aggs,omitempty"` // the prefetched buckets (lookup with a prefetch range)
}

// PeerHandler serves a node's own stores to its peers (mounted at
// PeerPath by cmd). partitions is the stream's partition count, by which
// a long-term read for some partitions keeps their series only.
func PeerHandler(local, longTerm Store, partitions int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var req peerRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, "decode peer request: "+err.Error(), http.StatusBadRequest)
			return
		}
		var st Store
		switch req.Source {
		case SourceLocal:
			st = local
		case SourceLongTerm:
			if longTerm == nil {
				http.Error(w, "no long-term store", http.StatusNotFound)
				return
			}
			st = longTerm
			if req.Parts != nil {
				st = partStore{Store: longTerm, parts: req.Parts, n: partitions}
			}
		default:
			http.Error(w, "unknown source "+req.Source, http.StatusBadRequest)
			return
		}
		var out any
		switch op := strings.TrimPrefix(r.URL.Path, PeerPath); op {
		case "lookup":
			var found []peerSeries
			for _, ref := range st.Lookup(req.Tenant, req.Namespace, req.MetricName, req.Dims) {
				ps := peerSeries{Ref: ref, Key: st.Key(ref)}
				if req.PrefetchTo > req.PrefetchFrom {
					st.Range(ref, req.PrefetchFrom, req.PrefetchTo, func(a *store.Aggregate) {
						b, _ := a.AppendBinary(nil)
						ps.Aggs = append(ps.Aggs, b)
					})
				}
				found = append(found, ps)
			}
			out = found
		case "series":
			var found []peerSeries
			listSeries(st, req.Tenant, req.Namespace, !req.AnyNS, func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool {
				found = append(found, peerSeries{Ref: ref, Key: *key, Newest: newest})
				return true
			})
			out = found
		case "range":
			var aggs [][]byte
			visit := func(a *store.Aggregate) {
				b, _ := a.AppendBinary(nil)
				aggs = append(aggs, b)
			}
			if ps, ok := st.(PeriodStore); ok && req.Period > 0 {
				ps.RangePeriod(req.Ref, req.Start, req.End, req.Period, visit)
			} else {
				st.Range(req.Ref, req.Start, req.End, visit)
			}
			out = aggs
		case "coverage":
			out = coverageOf(st, req.Start, req.End)
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// PeerClient is how a node reads its peers' stores.
type PeerClient struct {
	HTTP    *http.Client
	Timeout time.Duration // per call
	Token   string        // sent as a bearer token when set
	logger  *slog.Logger
	errors  *prometheus.CounterVec
}

// NewPeerClient returns a client with the given per-call timeout; reg may
// be nil.
func NewPeerClient(timeout time.Duration, token string, reg prometheus.Registerer, logger *slog.Logger) *PeerClient {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &PeerClient{
		// Connections kept between the calls of a read, closed soon after:
		// at rest a node holds none to its peers.
		HTTP:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: PeerIdleTimeout}},
		Timeout: timeout, Token: token, logger: logger,
		errors: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_query_peer_errors_total",
			Help: "Reads of a peer's store that failed (the peer's share of that read was reported unknown), by peer.",
		}, []string{"peer"}),
	}
}

var errPeerFailed = errors.New("peer failed earlier in this read")

// peerStore is one peer's store read over HTTP for one request. The first
// failed call marks the peer failed: it then holds nothing and covers
// nothing for the rest of the request, so its share is unknown.
type peerStore struct {
	c      *PeerClient
	id     string
	addr   string
	source string
	parts  []int

	mu     sync.Mutex
	keys   map[store.SeriesRef]store.SeriesKey
	failed bool

	// A local store's peer may be asked, with each lookup, for the buckets
	// of the request's range: the reads of them then need no call.
	pfFrom, pfTo int64
	cached       map[store.SeriesRef][]store.Aggregate
}

// maxPrefetch is the longest range whose buckets come with a lookup (the
// local window and a little): past it, buckets are read series by series.
const maxPrefetch = 4 * 3600

// prefetch has lookups bring the buckets of [lo, hi) along.
func (p *peerStore) prefetch(lo, hi int64) {
	if hi > lo && hi-lo <= maxPrefetch {
		p.pfFrom, p.pfTo = lo, hi
		p.cached = map[store.SeriesRef][]store.Aggregate{}
	}
}

func (c *PeerClient) store(id, addr, source string, parts []int) *peerStore {
	return &peerStore{c: c, id: id, addr: addr, source: source, parts: parts, keys: map[store.SeriesRef]store.SeriesKey{}}
}

func (p *peerStore) call(op string, req peerRequest, out any) error {
	p.mu.Lock()
	failed := p.failed
	p.mu.Unlock()
	if failed {
		return errPeerFailed
	}
	req.Source, req.Parts = p.source, p.parts
	err := p.do(op, req, out)
	if err != nil {
		p.mu.Lock()
		p.failed = true
		p.mu.Unlock()
		p.c.errors.WithLabelValues(p.id).Inc()
		p.c.logger.Warn("read peer: failed; its share of this read is unknown", "peer", p.id, "addr", p.addr, "op", op, "err", err)
	}
	return err
}

func (p *peerStore) do(op string, req peerRequest, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode peer request: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.c.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.addr+PeerPath+op, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build peer request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if p.c.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+p.c.Token)
	}
	resp, err := p.c.HTTP.Do(hr)
	if err != nil {
		return fmt.Errorf("call peer %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("call peer %s: status %d: %s", op, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPeerResponse)).Decode(out); err != nil {
		return fmt.Errorf("decode peer %s: %w", op, err)
	}
	return nil
}

func (p *peerStore) remember(found []peerSeries) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range found {
		p.keys[s.Ref] = s.Key
	}
}

func (p *peerStore) Lookup(tenant, namespace, metricName string, dims []record.Dimension) []store.SeriesRef {
	var found []peerSeries
	req := peerRequest{Tenant: tenant, Namespace: namespace, MetricName: metricName, Dims: dims, PrefetchFrom: p.pfFrom, PrefetchTo: p.pfTo}
	if p.call("lookup", req, &found) != nil {
		return nil
	}
	p.remember(found)
	if p.cached != nil {
		p.mu.Lock()
		for _, s := range found {
			aggs := make([]store.Aggregate, 0, len(s.Aggs))
			for _, b := range s.Aggs {
				var a store.Aggregate
				if err := a.UnmarshalBinary(b); err == nil {
					aggs = append(aggs, a)
				}
			}
			p.cached[s.Ref] = aggs
		}
		p.mu.Unlock()
	}
	refs := make([]store.SeriesRef, len(found))
	for i, s := range found {
		refs[i] = s.Ref
	}
	return refs
}

func (p *peerStore) Key(ref store.SeriesRef) store.SeriesKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[ref]
}

func (p *peerStore) Range(ref store.SeriesRef, start, end int64, fn func(a *store.Aggregate)) {
	p.RangePeriod(ref, start, end, 0, fn)
}

func (p *peerStore) RangePeriod(ref store.SeriesRef, start, end, period int64, fn func(a *store.Aggregate)) {
	p.mu.Lock()
	cached, ok := p.cached[ref]
	p.mu.Unlock()
	// A long-term store's Range is its 60 s (or coarser) buckets: they
	// answer whole-minute periods exactly, not sub-minute ones, which only
	// RangePeriod reads from the 1 s tier.
	minutes := p.source != SourceLongTerm || period == 0 || period%60 == 0
	if ok && minutes && p.pfFrom <= start && end <= p.pfTo {
		for i := range cached {
			if a := &cached[i]; a.Start >= start && a.Start < end {
				fn(a.Clone())
			}
		}
		return
	}
	var aggs [][]byte
	if p.call("range", peerRequest{Ref: ref, Start: start, End: end, Period: period}, &aggs) != nil {
		return
	}
	for _, b := range aggs {
		var a store.Aggregate
		if err := a.UnmarshalBinary(b); err != nil {
			p.c.logger.Error("read peer: undecodable bucket", "peer", p.id, "err", err)
			continue
		}
		fn(&a)
	}
}

func (p *peerStore) Series(tenant string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	p.list(peerRequest{Tenant: tenant, AnyNS: true}, fn)
}

func (p *peerStore) SeriesOf(tenant, namespace string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	p.list(peerRequest{Tenant: tenant, Namespace: namespace}, fn)
}

func (p *peerStore) list(req peerRequest, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	var found []peerSeries
	if p.call("series", req, &found) != nil {
		return
	}
	p.remember(found)
	for i := range found {
		if !fn(found[i].Ref, &found[i].Key, found[i].Newest) {
			return
		}
	}
}

// Coverage is the peer's coverage; nothing when it does not answer.
func (p *peerStore) Coverage(from, to int64) []store.Interval {
	var cov []store.Interval
	if p.call("coverage", peerRequest{Start: from, End: to}, &cov) != nil {
		return nil
	}
	return cov
}
