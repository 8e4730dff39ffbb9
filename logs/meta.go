package logs

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/pebblelog"
)

// logGroup is one log group's metadata. Its streams and metric filters are
// stored under keys of their own.
type logGroup struct {
	Tenant    string            `json:"tenant"`
	Name      string            `json:"name"`
	Created   int64             `json:"created"` // Unix ms
	Retention int               `json:"retention,omitempty"`
	Class     string            `json:"class"`
	Tags      map[string]string `json:"tags,omitempty"`

	streams map[string]*logStream
	filters map[string]*metricFilter
}

// logStream is one log stream's metadata.
type logStream struct {
	Tenant    string `json:"tenant"`
	Group     string `json:"group"`
	Name      string `json:"name"`
	Created   int64  `json:"created"`
	First     int64  `json:"first,omitempty"`     // the earliest event timestamp accepted
	Last      int64  `json:"last,omitempty"`      // the latest event timestamp accepted
	Ingestion int64  `json:"ingestion,omitempty"` // the last PutLogEvents that added events
	Sequence  uint64 `json:"sequence,omitempty"`  // PutLogEvents calls, for nextSequenceToken
}

// metricFilter is one metric filter of a log group.
type metricFilter struct {
	Tenant          string           `json:"tenant"`
	Group           string           `json:"group"`
	Name            string           `json:"name"`
	Pattern         string           `json:"pattern"`
	Created         int64            `json:"created"`
	Transformations []transformation `json:"transformations"`
}

// transformation is a metric filter's metricTransformations entry.
type transformation struct {
	MetricName string            `json:"metricName"`
	Namespace  string            `json:"namespace"`
	Value      string            `json:"value"`
	Default    *float64          `json:"default,omitempty"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Unit       string            `json:"unit,omitempty"`
}

// metaStore holds every tenant's log groups, streams and metric filters in
// memory and in a pebble database, which it writes through. Callers hold mu
// around a lookup and the writes that follow from it.
type metaStore struct {
	mu      sync.Mutex
	dir     string
	logger  *slog.Logger
	db      *pebble.DB
	tenants map[string]map[string]*logGroup
	groups  int
}

func newMetaStore(dir string, logger *slog.Logger) *metaStore {
	return &metaStore{dir: dir, logger: logger, tenants: map[string]map[string]*logGroup{}}
}

// Keys: g\x00<tenant>\x00<group>, s\x00<tenant>\x00<group>\x00<stream>,
// f\x00<tenant>\x00<group>\x00<filter>; values are the JSON of the entity.
func groupKey(tenant, group string) []byte { return []byte("g\x00" + tenant + "\x00" + group) }

func childKey(kind byte, tenant, group, name string) []byte {
	return []byte(string(kind) + "\x00" + tenant + "\x00" + group + "\x00" + name)
}

func (m *metaStore) open() error {
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return fmt.Errorf("create logs metadata directory: %w", err)
	}
	db, err := pebble.Open(m.dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: pebblelog.New(m.logger)})
	if err != nil {
		return fmt.Errorf("open logs metadata: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.db = db
	if err := m.load(); err != nil {
		_ = db.Close()
		m.db = nil
		return err
	}
	return nil
}

func (m *metaStore) load() error {
	err := m.scan('g', func(v []byte) error {
		g := &logGroup{}
		if err := json.Unmarshal(v, g); err != nil {
			return err
		}
		g.streams, g.filters = map[string]*logStream{}, map[string]*metricFilter{}
		if m.tenants[g.Tenant] == nil {
			m.tenants[g.Tenant] = map[string]*logGroup{}
		}
		m.tenants[g.Tenant][g.Name] = g
		m.groups++
		return nil
	})
	if err == nil {
		err = m.scan('s', func(v []byte) error {
			s := &logStream{}
			if err := json.Unmarshal(v, s); err != nil {
				return err
			}
			if g := m.group(s.Tenant, s.Group); g != nil {
				g.streams[s.Name] = s
			}
			return nil
		})
	}
	if err == nil {
		err = m.scan('f', func(v []byte) error {
			f := &metricFilter{}
			if err := json.Unmarshal(v, f); err != nil {
				return err
			}
			if g := m.group(f.Tenant, f.Group); g != nil {
				g.filters[f.Name] = f
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("load logs metadata: %w", err)
	}
	return nil
}

func (m *metaStore) scan(kind byte, fn func(v []byte) error) error {
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kind, 0}, UpperBound: []byte{kind, 1}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Value()); err != nil {
			_ = it.Close()
			return err
		}
	}
	return it.Close()
}

func (m *metaStore) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db == nil {
		return nil
	}
	err := m.db.Close()
	m.db = nil
	if err != nil {
		return fmt.Errorf("close logs metadata: %w", err)
	}
	return nil
}

func (m *metaStore) groupCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.groups
}

// group returns the tenant's log group (nil: none). The caller holds mu.
func (m *metaStore) group(tenant, name string) *logGroup { return m.tenants[tenant][name] }

// tenantGroups returns the number of the tenant's log groups. The caller holds mu.
func (m *metaStore) tenantGroups(tenant string) int { return len(m.tenants[tenant]) }

// sortedGroups returns the tenant's log groups by name. The caller holds mu.
func (m *metaStore) sortedGroups(tenant string) []*logGroup {
	out := make([]*logGroup, 0, len(m.tenants[tenant]))
	for _, g := range m.tenants[tenant] {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *metaStore) set(key []byte, v any, opts *pebble.WriteOptions) error {
	if m.db == nil {
		return errNotOpen
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode logs metadata: %w", err)
	}
	if err := m.db.Set(key, b, opts); err != nil {
		return fmt.Errorf("write logs metadata: %w", err)
	}
	return nil
}

var errNotOpen = fmt.Errorf("write logs metadata: %w", pebble.ErrClosed)

// putGroup adds or replaces g. The caller holds mu.
func (m *metaStore) putGroup(g *logGroup) error {
	if err := m.set(groupKey(g.Tenant, g.Name), g, pebble.Sync); err != nil {
		return err
	}
	if m.tenants[g.Tenant] == nil {
		m.tenants[g.Tenant] = map[string]*logGroup{}
	}
	if m.tenants[g.Tenant][g.Name] == nil {
		m.groups++
	}
	if g.streams == nil {
		g.streams, g.filters = map[string]*logStream{}, map[string]*metricFilter{}
	}
	m.tenants[g.Tenant][g.Name] = g
	return nil
}

// deleteGroup deletes g with its streams and filters. The caller holds mu.
func (m *metaStore) deleteGroup(g *logGroup) error {
	if m.db == nil {
		return errNotOpen
	}
	b := m.db.NewBatch()
	defer b.Close()
	_ = b.Delete(groupKey(g.Tenant, g.Name), nil)
	for _, kind := range []byte{'s', 'f'} {
		lo := childKey(kind, g.Tenant, g.Name, "")
		hi := slices.Clone(lo)
		hi[len(hi)-1] = 1
		_ = b.DeleteRange(lo, hi, nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete log group: %w", err)
	}
	delete(m.tenants[g.Tenant], g.Name)
	m.groups--
	return nil
}

// putStream adds or replaces s in g; sync is false for the timestamps
// PutLogEvents moves (the events themselves are in the WAL). The caller
// holds mu.
func (m *metaStore) putStream(g *logGroup, s *logStream, sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := m.set(childKey('s', s.Tenant, s.Group, s.Name), s, opts); err != nil {
		return err
	}
	g.streams[s.Name] = s
	return nil
}

// deleteChild deletes a stream ('s') or a metric filter ('f') of g. The
// caller holds mu.
func (m *metaStore) deleteChild(g *logGroup, kind byte, name string) error {
	if m.db == nil {
		return errNotOpen
	}
	if err := m.db.Delete(childKey(kind, g.Tenant, g.Name, name), pebble.Sync); err != nil {
		return fmt.Errorf("delete logs metadata: %w", err)
	}
	if kind == 's' {
		delete(g.streams, name)
	} else {
		delete(g.filters, name)
	}
	return nil
}

// putFilter adds or replaces f in g. The caller holds mu.
func (m *metaStore) putFilter(g *logGroup, f *metricFilter) error {
	if err := m.set(childKey('f', f.Tenant, f.Group, f.Name), f, pebble.Sync); err != nil {
		return err
	}
	g.filters[f.Name] = f
	return nil
}

// retainedStream is a stream whose group has a retention policy.
type retainedStream struct {
	tenant, group, stream string
	days                  int
}

func (m *metaStore) retained() []retainedStream {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []retainedStream
	for tenant, groups := range m.tenants {
		for _, g := range groups {
			if g.Retention == 0 {
				continue
			}
			for name := range g.streams {
				out = append(out, retainedStream{tenant, g.Name, name, g.Retention})
			}
		}
	}
	return out
}

// streamNames returns g's streams' names. The caller holds mu.
func streamNames(g *logGroup) []string {
	out := make([]string, 0, len(g.streams))
	for n := range g.streams {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// containsFold reports whether s contains sub, ignoring case
// (logGroupNamePattern).
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// withGroup runs fn on the tenant's log group under mu; a missing group is
// errGroupNotFound.
func (m *metaStore) withGroup(tenant, name string, fn func(g *logGroup) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.group(tenant, name)
	if g == nil {
		return errGroupNotFound
	}
	return fn(g)
}
