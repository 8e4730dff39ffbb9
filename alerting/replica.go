package alerting

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Replication between the nodes of a cluster. Every node's store holds
// every alarm: each stored alarm carries two versions, one of its
// definition (Rev, RevBy) and one of its state (StateRev, StateRevBy), and
// each delete leaves a tombstone with the version of the delete. A version
// is the writer's clock in Unix ms, raised past every version the writer
// has seen, then the writer's node ID, compared in that order, so the last
// writer wins everywhere alike, part by part: a PutMetricAlarm on one node
// and the owner's concurrent evaluation on another both stand, and a Put
// carrying a node's older copy of the state does not undo the owner's
// newer one. A delete wins over the definitions older than it (a state
// written later does not bring the alarm back); a definition newer than
// the delete creates the alarm again.
//
// Peers pull each other's changes in the order of Seq, a counter of the
// changes a node made or took (Changes), and take those newer than their
// own copy (Merge). History and notifications belong to the node that made
// a change; a copy taken from a peer adds neither, so DescribeAlarmHistory
// answers per node.

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
// their versions: a new alarm, or one of another type, gets both new
// versions, any other the new version of each part that changed, the
// stored one of the other. It returns the tombstones and the store's next
// seq and rev (applied to the store once the batch commits). s.mu is held.
func (s *Store) version(put, del []Any, now time.Time) ([]tombstone, int64, int64) {
	seq, rev := s.seq, max(s.rev+1, now.UnixMilli())
	for _, a := range put {
		b := a.Common()
		seq++
		b.Seq = seq
		old := s.alarms[b.Tenant][b.Name]
		if old == nil || old.Type() != a.Type() {
			b.Rev, b.RevBy, b.StateRev, b.StateRevBy = rev, s.cfg.NodeID, rev, s.cfg.NodeID
			continue
		}
		o := old.Common()
		b.Rev, b.RevBy, b.StateRev, b.StateRevBy = o.Rev, o.RevBy, o.StateRev, o.StateRevBy
		if !sameDefinition(old, a) {
			b.Rev, b.RevBy = rev, s.cfg.NodeID
		}
		if !sameState(o.State, b.State) {
			b.StateRev, b.StateRevBy = rev, s.cfg.NodeID
		}
	}
	var tombs []tombstone
	for _, a := range del {
		seq++
		b := a.Common()
		tombs = append(tombs, tombstone{Tenant: b.Tenant, Name: b.Name, Rev: rev, RevBy: s.cfg.NodeID, Seq: seq, At: now.UnixMilli()})
	}
	return tombs, seq, rev
}

// sameDefinition reports whether a and b differ in their state and
// versions at most.
func sameDefinition(a, b Any) bool {
	return bytes.Equal(definitionJSON(a), definitionJSON(b))
}

func definitionJSON(a Any) []byte {
	c := a.clone()
	b := c.Common()
	b.State, b.Rev, b.RevBy, b.StateRev, b.StateRevBy, b.Seq = State{}, 0, "", 0, "", 0
	v, _ := json.Marshal(c) // the stored form: it was (or will be) marshalled already
	return v
}

func sameState(a, b State) bool {
	return a.Value == b.Value && a.Reason == b.Reason && a.ReasonData == b.ReasonData &&
		a.Updated.Equal(b.Updated) && a.Transitioned.Equal(b.Transitioned)
}

// splitVersions gives a copy versioned as one (stored before the state
// had a version of its own, or sent by such a node) the state version of
// its definition.
func splitVersions(b *Base) {
	if b.StateRev == 0 && b.StateRevBy == "" {
		b.StateRev, b.StateRevBy = b.Rev, b.RevBy
	}
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

// Changes returns, in Seq order, the versions this store made or took
// after seq: at most limit of them and, past the first, at most maxBytes
// of encoded alarms; then the Seq of the last one returned (after, when
// none) and whether more follow. The alarms are encoded outside the
// store's lock (stored values are never changed in place), so a pull
// holds up no write for longer than a scan of the map.
func (s *Store) Changes(after int64, limit, maxBytes int) ([]Entry, int64, bool, error) {
	type change struct {
		seq   int64
		alarm Any
		tomb  tombstone
	}
	var all []change
	s.mu.RLock()
	for _, m := range s.alarms {
		for _, a := range m {
			if q := a.Common().Seq; q > after {
				all = append(all, change{seq: q, alarm: a})
			}
		}
	}
	for _, t := range s.tombs {
		if t.Seq > after {
			all = append(all, change{seq: t.Seq, tomb: t})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(all, func(a, b change) int { return cmp.Compare(a.seq, b.seq) })
	var out []Entry
	size := 0
	for _, c := range all {
		if len(out) == limit {
			break
		}
		if c.alarm == nil {
			t := c.tomb
			out = append(out, Entry{Tomb: &t, seq: c.seq})
			size += 128
			continue
		}
		v, err := json.Marshal(c.alarm)
		if err != nil {
			return nil, after, false, fmt.Errorf("encode alarm: %w", err)
		}
		if len(out) > 0 && size+len(v) > maxBytes {
			break
		}
		size += len(v)
		out = append(out, Entry{Type: c.alarm.Type(), Alarm: v, seq: c.seq})
	}
	last := after
	if len(out) > 0 {
		last = out[len(out)-1].seq
	}
	return out, last, len(out) < len(all), nil
}

// Epoch names this run of the store: a peer that sees it change pulls
// from the start again.
func (s *Store) Epoch() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.epoch
}

// replicated is what a merge leaves of one alarm: the alarm (a version of
// either part newer than the store's) or its tombstone.
type replicated struct {
	tenant, name string
	alarm        Any
	tomb         *tombstone
}

// Merge takes the parts of the entries newer than this store's copy of
// their alarm (see the top of this file), durably in one batch, with
// neither history nor notifications, and re-evaluates the composite
// alarms this node owns whose children changed state. It returns how many
// entries changed the store.
func (s *Store) Merge(entries []Entry) (int, error) {
	// Decoded before the lock: a page's worth of JSON holds up no reader.
	in := make([]replicated, 0, len(entries))
	for _, e := range entries {
		if e.Tomb != nil {
			t := *e.Tomb
			in = append(in, replicated{tenant: t.Tenant, name: t.Name, tomb: &t})
			continue
		}
		a, err := decodeEntry(e)
		if err != nil {
			// Skipped, not refused: one entry this node cannot read must
			// not stop every later one from coming.
			s.logger.Warn("merge alarm: skip an entry", "type", e.Type, "err", err)
			continue
		}
		splitVersions(a.Common())
		in = append(in, replicated{tenant: a.Common().Tenant, name: a.Common().Name, alarm: a})
	}
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	pending := map[string]replicated{} // tenant\x00name -> the result so far
	var order []string
	current := func(tenant, name string) (Any, *tombstone) {
		key := tombKey(tenant, name)
		if r, ok := pending[key]; ok {
			return r.alarm, r.tomb
		}
		if t, ok := s.tombs[key]; ok {
			return nil, &t
		}
		return s.alarms[tenant][name], nil
	}
	rev := s.rev
	for _, r := range in {
		have, tomb := current(r.tenant, r.name)
		if t := r.tomb; t != nil {
			if have != nil && !newer(t.Rev, t.RevBy, have.Common().Rev, have.Common().RevBy) ||
				tomb != nil && !newer(t.Rev, t.RevBy, tomb.Rev, tomb.RevBy) {
				continue
			}
			rev = max(rev, t.Rev)
		} else {
			b := r.alarm.Common()
			next, ok := mergeAlarm(have, tomb, r.alarm)
			if !ok {
				continue
			}
			r.alarm, rev = next, max(rev, b.Rev, b.StateRev)
		}
		key := tombKey(r.tenant, r.name)
		if _, ok := pending[key]; !ok {
			order = append(order, key)
		}
		pending[key] = r
	}
	if len(order) == 0 {
		return 0, nil
	}
	seq := s.seq
	b := s.db.p.NewBatch()
	defer b.Close()
	var put, del []Any
	var tombs []tombstone
	for _, key := range order {
		r := pending[key]
		seq++
		old := s.alarms[r.tenant][r.name]
		if r.alarm != nil {
			r.alarm.Common().Seq = seq
			put = append(put, r.alarm)
			if old != nil && old.Type() != r.alarm.Type() {
				del = append(del, old)
			}
			if err := b.Delete([]byte(prefixTomb+key), nil); err != nil {
				return 0, fmt.Errorf("delete tombstone: %w", err)
			}
			continue
		}
		r.tomb.Seq = seq
		tombs = append(tombs, *r.tomb)
		if old != nil {
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
		delete(s.missed, a.Common().Tenant+"\x00"+a.Common().Name)
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
	return len(order), nil
}

func decodeEntry(e Entry) (Any, error) {
	if e.Type != TypeMetric && e.Type != TypeComposite {
		return nil, fmt.Errorf("decode alarm: unknown type %q", e.Type)
	}
	a, err := decodeAlarm(e.Type, e.Alarm)
	if err != nil {
		return nil, fmt.Errorf("decode alarm: %w", err)
	}
	if b := a.Common(); b.Tenant == "" || b.Name == "" {
		return nil, errors.New("decode alarm: no tenant or name")
	}
	return a, nil
}

// mergeAlarm returns what the store keeps of the alarm when a peer sends
// version a of it: have (nil: none) is the store's copy, tomb (nil: none)
// the store's tombstone of it. ok is false when the store keeps what it
// has. Of the same type, each part is the newer one's; of another type
// (deleted and put again), the newer definition takes the alarm whole.
func mergeAlarm(have Any, tomb *tombstone, a Any) (Any, bool) {
	b := a.Common()
	if tomb != nil {
		return a, newer(b.Rev, b.RevBy, tomb.Rev, tomb.RevBy)
	}
	if have == nil {
		return a, true
	}
	h := have.Common()
	def := newer(b.Rev, b.RevBy, h.Rev, h.RevBy)
	if have.Type() != a.Type() {
		return a, def
	}
	state := newer(b.StateRev, b.StateRevBy, h.StateRev, h.StateRevBy)
	switch {
	case def && state:
		return a, true
	case def:
		b.State, b.StateRev, b.StateRevBy = h.State, h.StateRev, h.StateRevBy
		return a, true
	case state:
		next := have.clone()
		n := next.Common()
		n.State, n.StateRev, n.StateRevBy = b.State, b.StateRev, b.StateRevBy
		return next, true
	}
	return nil, false
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
