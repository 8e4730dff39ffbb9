package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// SyncPath is where a node serves its alarm changes to its peers
// (SyncHandler).
const SyncPath = "/internal/v1/alarms/sync"

// Bounds of one sync call: a page holds at most syncPageEntries entries
// and, past its first, syncPageBytes of encoded alarms; a puller reads at
// most maxSyncResponse of an answer.
const (
	syncPageEntries = 1000
	syncPageBytes   = 4 << 20
	maxSyncResponse = 16 << 20
	syncParallel    = 8 // peers pulled at once
	syncWarnEvery   = time.Minute
)

type syncRequest struct {
	After int64 `json:"after"`
	Limit int   `json:"limit,omitempty"`
}

type syncResponse struct {
	Epoch   string  `json:"epoch"`
	Entries []Entry `json:"entries"`
	Last    int64   `json:"last"`
	More    bool    `json:"more"`
}

// SyncHandler serves the store's changes after a Seq, a page at a time:
// POST a JSON {"after": seq, "limit": n}; the answer is JSON {"epoch",
// "entries", "last", "more"}, and the next page is the one after "last".
// It checks no credentials: the caller mounts it behind its own.
func SyncHandler(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "sync alarms: POST only", http.StatusMethodNotAllowed)
			return
		}
		var req syncRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, "decode sync request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if req.Limit <= 0 || req.Limit > syncPageEntries {
			req.Limit = syncPageEntries
		}
		epoch := s.Epoch() // before the changes: a restart in between shows as a new epoch next time
		entries, last, more, err := s.Changes(req.After, req.Limit, syncPageBytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(syncResponse{Epoch: epoch, Entries: entries, Last: last, More: more})
	})
}

// Peer is another node of the cluster, as the syncer reaches it: its node
// ID and the host:port of its API listener, where SyncPath is served.
type Peer struct{ ID, Addr string }

// PeerLister is the cluster's other nodes now (cmd fills it from the ring).
type PeerLister interface{ Peers() []Peer }

// SyncConfig configures a Syncer; zero fields take the defaults.
type SyncConfig struct {
	Interval    time.Duration // between pulls from every peer (default 2 s)
	Timeout     time.Duration // of one call (default 5 s)
	Token       string        // sent as a bearer token when set
	PageEntries int           // entries asked for a call (default and most 1,000)
	// Client makes the calls (default: one without keep-alives, so a node
	// at rest holds no connection per peer).
	Client *http.Client
}

// Syncer pulls every peer's alarm changes into its store, every Interval:
// a peer's changes after the last Seq taken from it (from the start when
// the peer restarted, or this node did: the marks live in memory), merged
// (Store.Merge). Each peer's pull runs apart, up to 8 at once, every call
// bounded by Timeout, and a peer still being pulled is skipped at the next
// tick, so a peer that does not answer holds up neither the others nor the
// API; it is counted, logged at most once a minute, and tried again. It is
// a dskit service, to run while its store runs; stopping waits for the
// pulls in flight, which the stop cancels.
type Syncer struct {
	*services.BasicService

	s      *Store
	peers  PeerLister
	client *http.Client
	cfg    SyncConfig
	logger *slog.Logger

	sem      chan struct{} // a slot per pull running
	running  sync.WaitGroup
	mu       sync.Mutex
	marks    map[string]syncMark // peer ID -> what was taken from it
	inflight map[string]bool     // peers being pulled
	warned   map[string]time.Time
	failing  map[string]bool

	errors *prometheus.CounterVec
	merged prometheus.Counter
	pulls  prometheus.Histogram
}

type syncMark struct {
	epoch string
	last  int64
}

// NewSyncer builds the syncer of s; reg may be nil.
func NewSyncer(s *Store, peers PeerLister, cfg SyncConfig, reg prometheus.Registerer, logger *slog.Logger) *Syncer {
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PageEntries <= 0 || cfg.PageEntries > syncPageEntries {
		cfg.PageEntries = syncPageEntries
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.Client
	if client == nil {
		// A connection per pull, not one kept per peer: what a node holds
		// at rest does not grow with the cluster (as gossip's).
		client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	f := promauto.With(reg)
	y := &Syncer{s: s, peers: peers, cfg: cfg, logger: logger, client: client,
		sem: make(chan struct{}, syncParallel), marks: map[string]syncMark{}, inflight: map[string]bool{},
		warned: map[string]time.Time{}, failing: map[string]bool{},
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_alarm_sync_errors_total",
			Help: "Pulls of a peer's alarm changes that failed (retried at the next interval), by peer.",
		}, []string{"peer"}),
		merged: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_alarm_sync_merged_total",
			Help: "Alarm versions taken from peers (newer than this node's copy).",
		}),
		pulls: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_alarm_sync_pull_seconds",
			Help:    "Time of one pull of a peer's alarm changes (every page it had, or the failure).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	y.BasicService = services.NewTimerService(cfg.Interval, nil, y.iteration, y.stopping)
	return y
}

func (y *Syncer) iteration(ctx context.Context) error {
	y.start(ctx) // not waited for: a slow peer does not delay the next tick's pulls of the others
	return nil
}

func (y *Syncer) stopping(error) error {
	y.running.Wait()
	return nil
}

// SyncOnce pulls every peer not already being pulled, each until it has
// nothing more (at most 100 pages a peer), and returns when they are done.
func (y *Syncer) SyncOnce(ctx context.Context) { y.start(ctx).Wait() }

// start starts a pull of every peer not being pulled already; the
// WaitGroup returned ends with them.
func (y *Syncer) start(ctx context.Context) *sync.WaitGroup {
	var pass sync.WaitGroup
	for _, p := range y.peers.Peers() {
		y.mu.Lock()
		busy := y.inflight[p.ID]
		y.inflight[p.ID] = true
		y.mu.Unlock()
		if busy {
			continue
		}
		pass.Add(1)
		y.running.Add(1)
		go func() {
			defer y.running.Done()
			defer pass.Done()
			defer func() {
				y.mu.Lock()
				delete(y.inflight, p.ID)
				y.mu.Unlock()
			}()
			select {
			case y.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-y.sem }()
			y.pullPeer(ctx, p)
		}()
	}
	return &pass
}

func (y *Syncer) pullPeer(ctx context.Context, p Peer) {
	began := time.Now()
	defer func() { y.pulls.Observe(time.Since(began).Seconds()) }()
	for range 100 {
		more, err := y.pull(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return // stopping: not the peer's failure
			}
			y.errors.WithLabelValues(p.ID).Inc()
			y.warn(p, err)
			return
		}
		y.recovered(p)
		if !more {
			return
		}
	}
}

// warn logs p's failure unless it was logged less than a minute ago.
func (y *Syncer) warn(p Peer, err error) {
	now := time.Now()
	y.mu.Lock()
	y.failing[p.ID] = true
	log := now.Sub(y.warned[p.ID]) >= syncWarnEvery
	if log {
		y.warned[p.ID] = now
	}
	y.mu.Unlock()
	if log {
		y.logger.Warn("sync alarms: peer did not answer; retrying", "peer", p.ID, "addr", p.Addr, "err", err)
	}
}

// recovered logs that p answers again after it failed.
func (y *Syncer) recovered(p Peer) {
	y.mu.Lock()
	was := y.failing[p.ID]
	delete(y.failing, p.ID)
	y.mu.Unlock()
	if was {
		y.logger.Info("sync alarms: peer answers again", "peer", p.ID, "addr", p.Addr)
	}
}

// pull takes one page of p's changes; it reports whether more follow.
func (y *Syncer) pull(ctx context.Context, p Peer) (bool, error) {
	y.mu.Lock()
	mark := y.marks[p.ID]
	y.mu.Unlock()
	body, err := json.Marshal(syncRequest{After: mark.last, Limit: y.cfg.PageEntries})
	if err != nil {
		return false, fmt.Errorf("encode sync request: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, y.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, "http://"+p.Addr+SyncPath, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build sync request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if y.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+y.cfg.Token)
	}
	resp, err := y.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("pull alarm changes: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return false, fmt.Errorf("pull alarm changes: status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	var out syncResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxSyncResponse)).Decode(&out); err != nil {
		return false, fmt.Errorf("decode alarm changes: %w", err)
	}
	if out.Epoch != mark.epoch && mark.last != 0 {
		// The peer restarted: its Seqs began again. Pull it from the start.
		y.mu.Lock()
		y.marks[p.ID] = syncMark{epoch: out.Epoch}
		y.mu.Unlock()
		return true, nil
	}
	n, err := y.s.Merge(out.Entries)
	if err != nil {
		return false, fmt.Errorf("merge alarm changes: %w", err)
	}
	y.merged.Add(float64(n))
	y.mu.Lock()
	y.marks[p.ID] = syncMark{epoch: out.Epoch, last: out.Last}
	y.mu.Unlock()
	return out.More, nil
}
