package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/alerting/notify"
)

// Store holds every tenant's alarms of both types, durably (see the
// package doc), and their history. It is a service: starting opens the
// database and loads the alarms, stopping closes it. Its notification
// outbox (Outbox) shares the database and must run between the two.
type Store struct {
	*services.BasicService

	cfg    Config
	logger *slog.Logger
	db     *db
	outbox *notify.Outbox

	mu     sync.RWMutex
	alarms map[string]map[string]Any // tenant -> name -> alarm of either type
	tombs  map[string]tombstone      // tenant\x00name -> the newest delete (replica.go)
	seq    int64                     // the last Seq given
	rev    int64                     // the highest Rev seen
	epoch  string                    // this run's name, so peers notice a restart
	missed map[string]bool           // tenant\x00name -> a composite not owned here had a child's change (composite.go)

	transitions *prometheus.CounterVec
}

// NewStore builds the alarm store and its outbox over cfg.Dir, and
// registers their metrics on reg. It opens nothing.
func NewStore(cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, errors.New("build alarm store: no directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Store{cfg: cfg, logger: logger, alarms: map[string]map[string]Any{}, missed: map[string]bool{}}
	o, err := notify.New(cfg.Notify, journal{s}, cfg.Now, reg, logger)
	if err != nil {
		return nil, fmt.Errorf("build alarm outbox: %w", err)
	}
	o.KeepFiring(s)
	s.outbox = o
	f := promauto.With(reg)
	s.transitions = f.NewCounterVec(prometheus.CounterOpts{
		Name: "cellwatch_alarm_transitions_total",
		Help: "Alarm state transitions by new state.",
	}, []string{"state"})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_alarms", Help: "Metric alarms, over all tenants."}, func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		n := 0
		for _, t := range s.alarms {
			for _, a := range t {
				if a.Type() == TypeMetric {
					n++
				}
			}
		}
		return float64(n)
	})
	s.BasicService = services.NewIdleService(s.starting, s.stopping)
	return s, nil
}

// Outbox is the store's notification outbox, a service to run after the
// store has started and to stop before it stops.
func (s *Store) Outbox() *notify.Outbox { return s.outbox }

func (s *Store) starting(context.Context) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("create alarm directory: %w", err)
	}
	d, err := openDB(s.cfg.Dir, s.logger)
	if err != nil {
		return err
	}
	all, err := d.loadAlarms()
	if err != nil {
		_ = d.close()
		return err
	}
	tombs, err := d.loadTombstones()
	if err != nil {
		_ = d.close()
		return err
	}
	s.mu.Lock()
	s.db, s.alarms, s.tombs = d, map[string]map[string]Any{}, tombs
	for _, a := range all {
		c := a.Common()
		splitVersions(c)
		s.tenant(c.Tenant)[c.Name] = a
		s.seq, s.rev = max(s.seq, c.Seq), max(s.rev, c.Rev, c.StateRev)
	}
	for _, t := range tombs {
		s.seq, s.rev = max(s.seq, t.Seq), max(s.rev, t.Rev)
	}
	s.epoch = newEpoch()
	s.mu.Unlock()
	if err := d.prune(s.cfg.Now().Add(-HistoryRetention).UnixMilli()); err != nil {
		s.logger.Warn("prune alarm history", "err", err)
	}
	s.logger.Info("alarms loaded", "alarms", len(all), "dir", s.cfg.Dir)
	return nil
}

func (s *Store) stopping(error) error {
	if s.db == nil {
		return nil
	}
	if err := s.db.close(); err != nil {
		return fmt.Errorf("close alarm database: %w", err)
	}
	return nil
}

// journal is the outbox's view of the store.
type journal struct{ s *Store }

func (j journal) DB() *pebble.DB { return j.s.db.p }

func (j journal) Record(b *pebble.Batch, results []notify.Result) error {
	items := make([]HistoryItem, len(results))
	for i, r := range results {
		items[i] = actionItem(r)
	}
	return j.s.db.batchHistory(b, items)
}

// tenant returns the tenant's alarms, creating the map; s.mu must be held
// for writing.
func (s *Store) tenant(t string) map[string]Any {
	m := s.alarms[t]
	if m == nil {
		m = map[string]Any{}
		s.alarms[t] = m
	}
	return m
}

// Alarm returns the tenant's alarm of either type (nil when there is none).
// It is never changed in place.
func (s *Store) Alarm(tenant, name string) Any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.alarms[tenant][name]
}

// List returns the tenant's alarms of both types by name.
func (s *Store) List(tenant string) []Any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.alarms[tenant]
	out := make([]Any, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Common().Name < out[j].Common().Name })
	return out
}

// History visits the history items with timestamps in [from, to) ms, in
// ascending or descending order, starting after the key after (if any),
// until fn returns false. Keys are opaque, for pagination.
func (s *Store) History(from, to int64, descending bool, after []byte, fn func(key []byte, h *HistoryItem) bool) error {
	return s.db.history(from, to, descending, after, fn)
}

// commit writes, in one synced batch, the alarms put (put[i] the next
// version of prev[i], nil for a new one) and the deletes of del, the
// history items hist, the outbox entries of put's transitions and the
// Action items of the actions that cannot be delivered or were dropped.
// Then memory follows and the transitions are counted. s.mu must be held
// for writing.
func (s *Store) commit(prev, put, del []Any, hist []HistoryItem) error {
	now := s.cfg.Now().UTC()
	add, res := notifications(prev, put, now)
	b := s.db.p.NewBatch()
	defer b.Close()
	tombs, seq, rev := s.version(put, del, now)
	if err := batchAlarms(b, put, del); err != nil {
		return err
	}
	if err := batchTombstones(b, tombs); err != nil {
		return err
	}
	committed := false
	if len(add) > 0 {
		drops, done, err := s.outbox.Stage(b, now, add)
		if err != nil {
			return fmt.Errorf("stage alarm notifications: %w", err)
		}
		defer func() { done(committed) }()
		res = append(res, drops...)
	}
	for _, r := range res {
		hist = append(hist, actionItem(r))
	}
	if err := s.db.batchHistory(b, hist); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit alarm batch: %w", err)
	}
	committed = true
	s.seq, s.rev = seq, rev
	for _, a := range put {
		s.tenant(a.Common().Tenant)[a.Common().Name] = a
		delete(s.tombs, tombKey(a.Common().Tenant, a.Common().Name))
	}
	for _, a := range del {
		delete(s.alarms[a.Common().Tenant], a.Common().Name)
		delete(s.missed, a.Common().Tenant+"\x00"+a.Common().Name)
	}
	for _, t := range tombs {
		s.tombs[tombKey(t.Tenant, t.Name)] = t
	}
	for _, h := range hist {
		if h.Type == HistoryStateUpdate {
			s.transitions.WithLabelValues(h.Summary[strings.LastIndexByte(h.Summary, ' ')+1:]).Inc()
			s.logger.Debug("alarm transition", "tenant", h.Tenant, "alarm", h.AlarmName, "type", h.AlarmType, "summary", h.Summary)
		}
	}
	return nil
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.cfg.Now() }
