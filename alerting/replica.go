package alerting

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Replication between the nodes of a cluster. Every node's store holds
// every alarm: each stored alarm (and each delete, as a tombstone) carries
// a version (Rev, RevBy): the writer's clock in Unix ms, raised past every
// version the writer has seen, and the writer's node ID, compared in that
// order, so the last writer wins everywhere alike. Peers pull each other's
// changes in the order of Seq, a counter of the changes a node made or
// took (Changes), and take those newer than their own copy (Merge). History
// and notifications belong to the node that made a change; a copy taken
// from a peer adds neither (DescribeAlarmHistory answers per node).

// TombstoneRetention is how long a deleted alarm's tombstone is kept, so a
// peer that was away for less than that learns of the delete.
const TombstoneRetention = 24 * time.Hour

const prefixTomb = "t\x00"

// tombstone is a deleted alarm's last version.
type tombstone struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
	Rev    int64  `json:"rev"`
	RevBy  string `json:"revBy"`
	Seq    int64  `json:"seq"`
	At     int64  `json:"at"` // Unix ms of the delete, for pruning
}

func tombKey(tenant, name string) string { return tenant + "\x00" + name }

// newer reports whether version (rev, by) is after (rev2, by2).
func newer(rev int64, by string, rev2 int64, by2 string) bool {
	return rev > rev2 || (rev == rev2 && by > by2)
}

func newEpoch() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// version gives the alarms put and the tombstones of the alarms deleted
// their versions, and returns the tombstones and the store's next seq and
// rev (applied to the store once the batch commits). s.mu is held.
func (s *Store) version(put, del []Any, now time.Time) ([]tombstone, int64, int64) {
	seq, rev := s.seq, max(s.rev+1, now.UnixMilli())
	for _, a := range put {
		b := a.Common()
		seq++
		b.Rev, b.RevBy, b.Seq = rev, s.cfg.NodeID, seq
	}
	var tombs []tombstone
	for _, a := range del {
		seq++
		b := a.Common()
		tombs = append(tombs, tombstone{Tenant: b.Tenant, Name: b.Name, Rev: rev, RevBy: s.cfg.NodeID, Seq: seq, At: now.UnixMilli()})
	}
	return tombs, seq, rev
}

func batchTombstones(b *pebble.Batch, tombs []tombstone) error {
	for _, t := range tombs {
		v, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("encode tombstone: %w", err)
		}
		if err := b.Set([]byte(prefixTomb+tombKey(t.Tenant, t.Name)), v, nil); err != nil {
			return fmt.Errorf("write tombstone: %w", err)
		}
	}
	return nil
}

func (d *db) loadTombstones() (map[string]tombstone, error) {
	it, err := d.p.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixTomb), UpperBound: []byte("t\x01")})
	if err != nil {
		return nil, fmt.Errorf("read tombstones: %w", err)
	}
	out := map[string]tombstone{}
	for it.First(); it.Valid(); it.Next() {
		var t tombstone
		if err := json.Unmarshal(it.Value(), &t); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("decode tombstone %q: %w", it.Key(), err)
		}
		out[tombKey(t.Tenant, t.Name)] = t
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read tombstones: %w", err)
	}
	return out, nil
}

// Entry is one alarm's newest version as a peer sends it: the alarm, or
// the tombstone of its delete.
type Entry struct {
	Type  string          `json:"type,omitempty"` // TypeMetric or TypeComposite; "" for a tombstone
	Alarm json.RawMessage `json:"alarm,omitempty"`
	Tomb  *tombstone      `json:"tomb,omitempty"`
	seq   int64
}

// Changes returns, in Seq order, at most limit of the versions this store
// made or took after seq, the Seq of the last one returned (after, when
// none), and whether more follow.
func (s *Store) Changes(after int64, limit int) ([]Entry, int64, bool, error) {
	s.mu.RLock()
	var out []Entry
	for _, m := range s.alarms {
		for _, a := range m {
			if a.Common().Seq > after {
				v, err := json.Marshal(a)
				if err != nil {
					s.mu.RUnlock()
					return nil, after, false, fmt.Errorf("encode alarm: %w", err)
				}
				out = append(out, Entry{Type: a.Type(), Alarm: v, seq: a.Common().Seq})
			}
		}
	}
	for _, t := range s.tombs {
		if t.Seq > after {
			c := t
			out = append(out, Entry{Tomb: &c, seq: t.Seq})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return int(a.seq - b.seq) })
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	last := after
	if len(out) > 0 {
		last = out[len(out)-1].seq
	}
	return out, last, more, nil
}

// Epoch names this run of the store: a peer that sees it change pulls
// from the start again.
func (s *Store) Epoch() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.epoch
}

// Merge takes the entries newer than this store's copy of their alarm,
// durably in one batch, with neither history nor notifications, and
// re-evaluates the composite alarms this node owns whose children changed
// state. It returns how many it took.
func (s *Store) Merge(entries []Entry) (int, error) {
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	type take struct {
		put  Any
		tomb *tombstone
	}
	var takes []take
	seq, rev := s.seq, s.rev
	taken := map[string]bool{}
	for _, e := range entries {
		var t take
		var tenant, name string
		var erev int64
		var eby string
		if e.Tomb != nil {
			c := *e.Tomb
			t.tomb = &c
			tenant, name, erev, eby = c.Tenant, c.Name, c.Rev, c.RevBy
		} else {
			a, err := decodeAlarm(e.Type, e.Alarm)
			if err != nil {
				return 0, fmt.Errorf("merge alarm: %w", err)
			}
			t.put = a
			b := a.Common()
			tenant, name, erev, eby = b.Tenant, b.Name, b.Rev, b.RevBy
		}
		key := tombKey(tenant, name)
		if taken[key] {
			continue // a page holds one version of an alarm
		}
		if have := s.alarms[tenant][name]; have != nil && !newer(erev, eby, have.Common().Rev, have.Common().RevBy) {
			continue
		}
		if have, ok := s.tombs[key]; ok && !newer(erev, eby, have.Rev, have.RevBy) {
			continue
		}
		seq++
		rev = max(rev, erev)
		if t.tomb != nil {
			t.tomb.Seq = seq
		} else {
			t.put.Common().Seq = seq
		}
		taken[key] = true
		takes = append(takes, t)
	}
	if len(takes) == 0 {
		return 0, nil
	}
	b := s.db.p.NewBatch()
	defer b.Close()
	var put, del []Any
	var tombs []tombstone
	for _, t := range takes {
		if t.put != nil {
			put = append(put, t.put)
			if old := s.alarms[t.put.Common().Tenant][t.put.Common().Name]; old != nil && old.Type() != t.put.Type() {
				del = append(del, old)
			}
			if err := b.Delete([]byte(prefixTomb+tombKey(t.put.Common().Tenant, t.put.Common().Name)), nil); err != nil {
				return 0, fmt.Errorf("delete tombstone: %w", err)
			}
			continue
		}
		tombs = append(tombs, *t.tomb)
		if old := s.alarms[t.tomb.Tenant][t.tomb.Name]; old != nil {
			del = append(del, old)
		}
	}
	if err := batchAlarms(b, nil, del); err != nil {
		return 0, err
	}
	if err := batchAlarms(b, put, nil); err != nil {
		return 0, err
	}
	if err := batchTombstones(b, tombs); err != nil {
		return 0, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("commit merged alarms: %w", err)
	}
	s.seq, s.rev = seq, rev
	changed := map[string][]string{}
	for _, a := range del {
		delete(s.alarms[a.Common().Tenant], a.Common().Name)
	}
	for _, a := range put {
		c := a.Common()
		if old := s.alarms[c.Tenant][c.Name]; old == nil || old.Common().State.Value != c.State.Value {
			changed[c.Tenant] = append(changed[c.Tenant], c.Name)
		}
		s.tenant(c.Tenant)[c.Name] = a
		delete(s.tombs, tombKey(c.Tenant, c.Name))
	}
	for _, t := range tombs {
		s.tombs[tombKey(t.Tenant, t.Name)] = t
	}
	for tenant, names := range changed {
		s.propagate(tenant, names, now)
	}
	return len(takes), nil
}

// owns reports whether this node evaluates the alarm (every alarm on a
// single node).
func (s *Store) owns(tenant, name string) bool {
	return s.cfg.Owns == nil || s.cfg.Owns(tenant, name)
}

// pruneTombstones forgets the deletes older than TombstoneRetention.
func (s *Store) pruneTombstones(now time.Time) error {
	cutoff := now.Add(-TombstoneRetention).UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	var old []string
	for k, t := range s.tombs {
		if t.At < cutoff {
			old = append(old, k)
		}
	}
	if len(old) == 0 {
		return nil
	}
	b := s.db.p.NewBatch()
	defer b.Close()
	for _, k := range old {
		if err := b.Delete([]byte(prefixTomb+k), nil); err != nil {
			return fmt.Errorf("prune tombstone: %w", err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("prune tombstones: %w", err)
	}
	for _, k := range old {
		delete(s.tombs, k)
	}
	return nil
}
