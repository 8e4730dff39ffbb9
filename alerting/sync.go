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

// Bounds of one sync call.
const (
	syncPageEntries = 1000
	maxSyncResponse = 64 << 20
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

// SyncHandler serves the store's changes after a Seq, a page at a time.
func SyncHandler(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req syncRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, "decode sync request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if req.Limit <= 0 || req.Limit > syncPageEntries {
			req.Limit = syncPageEntries
		}
		entries, last, more, err := s.Changes(req.After, req.Limit)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(syncResponse{Epoch: s.Epoch(), Entries: entries, Last: last, More: more})
	})
}

// Peer is another node of the cluster, as the syncer reaches it.
type Peer struct{ ID, Addr string }

// PeerLister is the cluster's other nodes now (cmd fills it from the ring).
type PeerLister interface{ Peers() []Peer }

// SyncConfig configures a Syncer; zero fields take the defaults.
type SyncConfig struct {
	Interval time.Duration // between pulls from every peer (default 2 s)
	Timeout  time.Duration // of one call (default 5 s)
	Token    string        // sent as a bearer token when set
}

// Syncer pulls every peer's alarm changes into its store, every Interval:
// a peer's changes after the last Seq taken from it (from the start when
// the peer restarted), merged (Store.Merge). A peer that does not answer
// is counted, logged at most once a minute, and tried again next time; it
// never holds up the others or the API. It is a dskit service.
type Syncer struct {
	*services.BasicService

	s      *Store
	peers  PeerLister
	client *http.Client
	cfg    SyncConfig
	logger *slog.Logger

	mu     sync.Mutex
	marks  map[string]syncMark // peer ID -> what was taken from it
	warned map[string]time.Time

	errors *prometheus.CounterVec
	merged prometheus.Counter
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(reg)
	y := &Syncer{s: s, peers: peers, cfg: cfg, logger: logger,
		// A connection per pull, not one kept per peer: what a node holds
		// at rest does not grow with the cluster (as gossip's).
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		marks:  map[string]syncMark{}, warned: map[string]time.Time{},
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_alarm_sync_errors_total",
			Help: "Pulls of a peer's alarm changes that failed (retried at the next interval), by peer.",
		}, []string{"peer"}),
		merged: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_alarm_sync_merged_total",
			Help: "Alarm versions taken from peers (newer than this node's copy).",
		}),
	}
	y.BasicService = services.NewTimerService(cfg.Interval, nil, y.iteration, nil)
	return y
}

func (y *Syncer) iteration(ctx context.Context) error {
	y.SyncOnce(ctx)
	return nil
}

// SyncOnce pulls every peer once, each until it has nothing more (at most
// 100 pages a peer a pass).
func (y *Syncer) SyncOnce(ctx context.Context) {
	for _, p := range y.peers.Peers() {
		for range 100 {
			more, err := y.pull(ctx, p)
			if err != nil {
				y.errors.WithLabelValues(p.ID).Inc()
				y.warn(p, err)
				break
			}
			if !more {
				break
			}
		}
	}
}

func (y *Syncer) warn(p Peer, err error) {
	y.mu.Lock()
	last := y.warned[p.ID]
	now := time.Now()
	if now.Sub(last) >= time.Minute {
		y.warned[p.ID] = now
	}
	y.mu.Unlock()
	if now.Sub(last) >= time.Minute {
		y.logger.Warn("sync alarms: peer did not answer; retrying", "peer", p.ID, "addr", p.Addr, "err", err)
	}
}

// pull takes one page of p's changes; it reports whether more follow.
func (y *Syncer) pull(ctx context.Context, p Peer) (bool, error) {
	y.mu.Lock()
	mark := y.marks[p.ID]
	y.mu.Unlock()
	body, _ := json.Marshal(syncRequest{After: mark.last, Limit: syncPageEntries})
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
	if out.Epoch != mark.epoch && mark.epoch != "" {
		// The peer restarted: its Seqs began again. Pull it from the start.
		y.mu.Lock()
		y.marks[p.ID] = syncMark{epoch: out.Epoch}
		y.mu.Unlock()
		return true, nil
	}
	n, err := y.s.Merge(out.Entries)
	if err != nil {
		return false, err
	}
	y.merged.Add(float64(n))
	y.mu.Lock()
	y.marks[p.ID] = syncMark{epoch: out.Epoch, last: out.Last}
	y.mu.Unlock()
	return out.More, nil
}
