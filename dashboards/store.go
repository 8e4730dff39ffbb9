package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/pebblelog"
)

// Config configures the dashboard store. cmd sets every field; none has a
// flag.
type Config struct {
	Dir      string           `yaml:"-"` // the dashboard database's directory, <data>/dashboards by convention
	PageSize int              `yaml:"-"` // ListDashboards entries per page (default 1000, AWS's)
	Now      func() time.Time `yaml:"-"` // clock (default time.Now)
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("no dashboard directory")
	}
	if c.PageSize < 0 {
		return errors.New("dashboard page size must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Dashboard is one stored dashboard.
type Dashboard struct {
	Tenant   string       `json:"tenant"`
	Name     string       `json:"name"`
	Body     string       `json:"body"`
	Modified time.Time    `json:"modified"`
	Tags     []awsapi.Tag `json:"tags,omitempty"`
}

// ARN returns the dashboard's ARN: dashboards are global, so it has no
// region.
func (d *Dashboard) ARN() string { return ARNPrefix + d.Name }

// ARNPrefix starts every dashboard's ARN; the name follows.
const ARNPrefix = "arn:aws:cloudwatch::" + awsapi.AccountID + ":dashboard/"

// Store keeps every tenant's dashboards in a pebble database of their own
// (see the package doc). It is a service: starting opens the database,
// stopping closes it.
type Store struct {
	*services.BasicService

	cfg    Config
	logger *slog.Logger
	db     *pebble.DB
	mu     sync.Mutex // serializes writes: Put's create-or-update and Delete's all-or-nothing
	count  atomic.Int64
}

// NewStore builds the dashboard store over cfg.Dir and registers its metric
// on reg. It opens nothing.
func NewStore(cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("build dashboard store: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg.withDefaults(), logger: logger}
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_dashboards", Help: "Dashboards, over all tenants."},
		func() float64 { return float64(s.count.Load()) })
	s.BasicService = services.NewIdleService(s.starting, s.stopping)
	return s, nil
}

func (s *Store) starting(context.Context) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("create dashboard directory: %w", err)
	}
	db, err := pebble.Open(s.cfg.Dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: pebblelog.New(s.logger)})
	if err != nil {
		return fmt.Errorf("open dashboard database: %w", err)
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte(keyPrefix), UpperBound: []byte(keyEnd)})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("count dashboards: %w", err)
	}
	n := int64(0)
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		_ = db.Close()
		return fmt.Errorf("count dashboards: %w", err)
	}
	s.db = db
	s.count.Store(n)
	s.logger.Info("dashboards loaded", "dashboards", n, "dir", s.cfg.Dir)
	return nil
}

func (s *Store) stopping(error) error {
	if s.db == nil {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close dashboard database: %w", err)
	}
	return nil
}

// Keys: d\x00<tenant>\x00<name> -> JSON of Dashboard.
const (
	keyPrefix = "d\x00"
	keyEnd    = "d\x01"
)

func key(tenant, name string) []byte { return []byte(keyPrefix + tenant + "\x00" + name) }

// Get returns the tenant's dashboard (nil: none).
func (s *Store) Get(tenant, name string) (*Dashboard, error) {
	v, closer, err := s.db.Get(key(tenant, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	defer closer.Close()
	var d Dashboard
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("decode dashboard %s: %w", name, err)
	}
	return &d, nil
}

// Put creates the dashboard or replaces its body; tags apply only when it
// is created (an existing dashboard keeps its own).
func (s *Store) Put(d *Dashboard) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.Get(d.Tenant, d.Name)
	if err != nil {
		return err
	}
	next := *d
	next.Modified = s.cfg.Now().UTC()
	if old != nil {
		next.Tags = old.Tags
	}
	v, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("encode dashboard: %w", err)
	}
	if err := s.db.Set(key(d.Tenant, d.Name), v, pebble.Sync); err != nil {
		return fmt.Errorf("write dashboard: %w", err)
	}
	if old == nil {
		s.count.Add(1)
	}
	return nil
}

// Delete deletes the named dashboards, all or none: when any does not
// exist, nothing is deleted and missing names them, in request order.
func (s *Store) Delete(tenant string, names []string) (missing []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		_, closer, err := s.db.Get(key(tenant, n))
		if errors.Is(err, pebble.ErrNotFound) {
			missing = append(missing, n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read dashboard: %w", err)
		}
		_ = closer.Close()
		if err := b.Delete(key(tenant, n), nil); err != nil {
			return nil, fmt.Errorf("stage dashboard delete: %w", err)
		}
	}
	if len(missing) > 0 {
		return missing, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("delete dashboards: %w", err)
	}
	s.count.Add(-int64(len(seen)))
	return nil, nil
}

// Entry is one ListDashboards entry.
type Entry struct {
	Name     string
	Modified time.Time
	Size     int
}

// List returns, by name, up to a page of the tenant's dashboards whose
// names start with prefix and come after after (""; the start), and
// whether more follow.
func (s *Store) List(tenant, prefix, after string) (_ []Entry, more bool, err error) {
	lower := key(tenant, prefix)
	if after != "" {
		lower = append(key(tenant, after), 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(key(tenant, prefix))})
	if err != nil {
		return nil, false, fmt.Errorf("list dashboards: %w", err)
	}
	var out []Entry
	for it.First(); it.Valid(); it.Next() {
		if len(out) == s.cfg.PageSize {
			more = true
			break
		}
		var d Dashboard
		if err := json.Unmarshal(it.Value(), &d); err != nil {
			_ = it.Close()
			return nil, false, fmt.Errorf("decode dashboard: %w", err)
		}
		out = append(out, Entry{Name: d.Name, Modified: d.Modified, Size: len(d.Body)})
	}
	if err := it.Close(); err != nil {
		return nil, false, fmt.Errorf("list dashboards: %w", err)
	}
	return out, more, nil
}

// prefixEnd is the first key after every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Tags returns the dashboard's tags (false: no such dashboard).
func (s *Store) Tags(tenant, name string) ([]awsapi.Tag, bool, error) {
	d, err := s.Get(tenant, name)
	if err != nil || d == nil {
		return nil, false, err
	}
	return d.Tags, true, nil
}

// Tag adds tags to the dashboard, overwriting the values of keys it has;
// more than awsapi.MaxTags in all is refused. found is false when there is
// no such dashboard.
func (s *Store) Tag(tenant, name string, tags []awsapi.Tag) (found bool, err error) {
	return s.updateTags(tenant, name, func(have []awsapi.Tag) ([]awsapi.Tag, error) { return awsapi.MergeTags(have, tags) })
}

// Untag removes the keys from the dashboard's tags (absent keys are
// ignored). found is false when there is no such dashboard.
func (s *Store) Untag(tenant, name string, keys []string) (found bool, err error) {
	return s.updateTags(tenant, name, func(have []awsapi.Tag) ([]awsapi.Tag, error) { return awsapi.RemoveTags(have, keys), nil })
}

func (s *Store) updateTags(tenant, name string, f func([]awsapi.Tag) ([]awsapi.Tag, error)) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.Get(tenant, name)
	if err != nil || d == nil {
		return false, err
	}
	if d.Tags, err = f(d.Tags); err != nil {
		return true, err
	}
	v, err := json.Marshal(d)
	if err != nil {
		return true, fmt.Errorf("encode dashboard: %w", err)
	}
	if err := s.db.Set(key(tenant, name), v, pebble.Sync); err != nil {
		return true, fmt.Errorf("write dashboard tags: %w", err)
	}
	return true, nil
}
