package query

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// Federation gives, per tenant, the stores a read of [lo, hi) (Unix
// seconds) draws on when the node is one of a cluster's (Config.Federation;
// nil on a single node). Each call returns stores for one request: they
// may hold what they learnt during it.
type Federation interface {
	Stores(tenant string, lo, hi int64) (local, longTerm Store)
}

// PartitionCoverer is a long-term store that judges its coverage over some
// stream partitions only (store.LongTerm): a node of a cluster vouches for
// the partitions it owns.
type PartitionCoverer interface {
	CoverageOf(parts []int, from, to int64) []store.Interval
}

// unionStore is several stores read as one, for one request: the local
// stores of a tenant's nodes (each holds what was written to it), or the
// long-term stores of the owners of every partition (each holds its
// partitions' series). A series in several members is one series whose
// buckets merge; a grain is covered only when every member covers it, so a
// member that does not answer makes the grain unknown, never empty.
type unionStore struct {
	members []Store
	refs    []unionRef     // by the union's SeriesRef
	index   map[string]int // series key -> index in refs
}

type unionRef struct {
	key   store.SeriesKey
	parts []memberRef
}

type memberRef struct {
	m   int
	ref store.SeriesRef
}

func newUnionStore(members ...Store) *unionStore {
	return &unionStore{members: members, index: map[string]int{}}
}

func seriesKeyString(k *store.SeriesKey) string {
	var b strings.Builder
	for _, s := range []string{k.Tenant, k.Namespace, k.MetricName, k.Unit} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, d := range k.Dimensions {
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// add records member m's ref for key and returns the union's index.
func (u *unionStore) add(m int, ref store.SeriesRef, key *store.SeriesKey) int {
	s := seriesKeyString(key)
	i, ok := u.index[s]
	if !ok {
		i = len(u.refs)
		u.index[s] = i
		u.refs = append(u.refs, unionRef{key: *key})
	}
	r := &u.refs[i]
	if !slices.Contains(r.parts, memberRef{m, ref}) {
		r.parts = append(r.parts, memberRef{m, ref})
	}
	return i
}

func (u *unionStore) Lookup(tenant, namespace, metricName string, dims []record.Dimension) []store.SeriesRef {
	var out []store.SeriesRef
	for m, st := range u.members {
		for _, ref := range st.Lookup(tenant, namespace, metricName, dims) {
			key := st.Key(ref)
			i := store.SeriesRef(u.add(m, ref, &key))
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

func (u *unionStore) Key(ref store.SeriesRef) store.SeriesKey {
	if int(ref) >= len(u.refs) {
		return store.SeriesKey{}
	}
	return u.refs[ref].key
}

func (u *unionStore) Range(ref store.SeriesRef, start, end int64, fn func(a *store.Aggregate)) {
	u.read(ref, fn, func(st Store, r store.SeriesRef, fn func(a *store.Aggregate)) { st.Range(r, start, end, fn) })
}

func (u *unionStore) RangePeriod(ref store.SeriesRef, start, end, period int64, fn func(a *store.Aggregate)) {
	u.read(ref, fn, func(st Store, r store.SeriesRef, fn func(a *store.Aggregate)) {
		if ps, ok := st.(PeriodStore); ok {
			ps.RangePeriod(r, start, end, period, fn)
		} else {
			st.Range(r, start, end, fn)
		}
	})
}

// read visits the buckets of ref in every member that has it, merged: the
// buckets of equal start and width are one, the rest ascend by start.
func (u *unionStore) read(ref store.SeriesRef, fn func(a *store.Aggregate), rng func(Store, store.SeriesRef, func(a *store.Aggregate))) {
	if int(ref) >= len(u.refs) {
		return
	}
	parts := u.refs[ref].parts
	if len(parts) == 1 {
		rng(u.members[parts[0].m], parts[0].ref, fn)
		return
	}
	type slot struct{ start, width int64 }
	merged := map[slot]*store.Aggregate{}
	for _, p := range parts {
		rng(u.members[p.m], p.ref, func(a *store.Aggregate) {
			k := slot{a.Start, a.Width}
			if acc := merged[k]; acc != nil {
				acc.Merge(a)
				return
			}
			c := &store.Aggregate{Start: a.Start, Width: a.Width}
			c.Merge(a)
			merged[k] = c
		})
	}
	out := make([]*store.Aggregate, 0, len(merged))
	for _, a := range merged {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *store.Aggregate) int {
		if a.Start != b.Start {
			return int(a.Start - b.Start)
		}
		return int(a.Width - b.Width)
	})
	for _, a := range out {
		fn(a)
	}
}

func (u *unionStore) Series(tenant string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	u.list(fn, func(st Store, visit func(store.SeriesRef, *store.SeriesKey, int64) bool) { st.Series(tenant, visit) })
}

func (u *unionStore) SeriesOf(tenant, namespace string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	u.list(fn, func(st Store, visit func(store.SeriesRef, *store.SeriesKey, int64) bool) {
		listSeries(st, tenant, namespace, true, visit)
	})
}

// list gathers every member's series before visiting any, so each is
// visited once with the newest timestamp over the members.
func (u *unionStore) list(fn func(store.SeriesRef, *store.SeriesKey, int64) bool, each func(Store, func(store.SeriesRef, *store.SeriesKey, int64) bool)) {
	newest := map[int]int64{}
	var order []int
	for m, st := range u.members {
		each(st, func(ref store.SeriesRef, key *store.SeriesKey, ts int64) bool {
			i := u.add(m, ref, key)
			if old, ok := newest[i]; !ok {
				order = append(order, i)
				newest[i] = ts
			} else if ts > old {
				newest[i] = ts
			}
			return true
		})
	}
	for _, i := range order {
		if !fn(store.SeriesRef(i), &u.refs[i].key, newest[i]) {
			return
		}
	}
}

// Coverage is what every member covers.
func (u *unionStore) Coverage(from, to int64) []store.Interval {
	all := intervals.Set{{From: math.MinInt64, To: math.MaxInt64}}
	for _, st := range u.members {
		all = intervals.Intersect(all, coverageOf(st, from, to))
		if len(all) == 0 {
			break
		}
	}
	return all
}

// partStore is a long-term store read for some of the stream's partitions
// only: the series of other partitions are not its to answer (the node
// may hold them from when it owned them, and another owner answers them
// now), and its coverage is judged over its partitions.
type partStore struct {
	Store
	parts []int
	n     int // partitions of the stream
}

func (p partStore) keep(key *store.SeriesKey) bool {
	return slices.Contains(p.parts, store.PartitionOf(key, p.n))
}

func (p partStore) Lookup(tenant, namespace, metricName string, dims []record.Dimension) []store.SeriesRef {
	refs := p.Store.Lookup(tenant, namespace, metricName, dims)
	return slices.DeleteFunc(refs, func(r store.SeriesRef) bool {
		k := p.Key(r)
		return !p.keep(&k)
	})
}

func (p partStore) Series(tenant string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	p.Store.Series(tenant, p.filter(fn))
}

func (p partStore) SeriesOf(tenant, namespace string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	listSeries(p.Store, tenant, namespace, true, p.filter(fn))
}

func (p partStore) filter(fn func(store.SeriesRef, *store.SeriesKey, int64) bool) func(store.SeriesRef, *store.SeriesKey, int64) bool {
	return func(ref store.SeriesRef, key *store.SeriesKey, ts int64) bool {
		if !p.keep(key) {
			return true
		}
		return fn(ref, key, ts)
	}
}

func (p partStore) RangePeriod(ref store.SeriesRef, start, end, period int64, fn func(a *store.Aggregate)) {
	if ps, ok := p.Store.(PeriodStore); ok {
		ps.RangePeriod(ref, start, end, period, fn)
		return
	}
	p.Range(ref, start, end, fn)
}

func (p partStore) Coverage(from, to int64) []store.Interval {
	if pc, ok := p.Store.(PartitionCoverer); ok {
		return pc.CoverageOf(p.parts, from, to)
	}
	return coverageOf(p.Store, from, to)
}

// absent stands for a node that owns a share of the data and cannot be
// read (down, unreachable): it holds nothing and covers nothing, so its
// share is unknown.
type absent struct{}

func (absent) Lookup(string, string, string, []record.Dimension) []store.SeriesRef { return nil }
func (absent) Key(store.SeriesRef) store.SeriesKey                                 { return store.SeriesKey{} }
func (absent) Range(store.SeriesRef, int64, int64, func(*store.Aggregate))         {}
func (absent) Series(string, func(store.SeriesRef, *store.SeriesKey, int64) bool)  {}
func (absent) Coverage(int64, int64) []store.Interval                              { return nil }

// Node is a cluster node as a read sees it.
type Node struct {
	ID, Addr string
	Healthy  bool
}

// Ring is the cluster's ownership as a read needs it (cmd fills it from
// package cluster).
type Ring interface {
	// TenantNodes is the nodes that hold the tenant's recent data.
	TenantNodes(tenant string) []Node
	// PartitionOwners is the owners of a stream partition, one per zone.
	PartitionOwners(p int) []Node
	// Nodes is every node in the ring, healthy or not.
	Nodes() []Node
}

// Fanout is the Federation of a cluster node: a read of a tenant draws on
// the local stores of the tenant's nodes (this node's own, read directly,
// and every other one over HTTP; one that is not healthy is absent) and on
// one long-term store per stream partition (this node's own for the
// partitions it owns, else an owner's, preferably in the caller's zone
// order). A partition without an owner is absent: unknown.
//
// A node that left the ring (stopped, or crashed and forgotten) within the
// last Window stays absent from every tenant's local stores: what it took
// in that window is only in the long-term stores now, so the local stores
// cannot vouch for the window, and the long-term store answers what it
// covers. (A node remembers the nodes it has seen since it started.)
type Fanout struct {
	Self            string // this node's ID
	Ring            Ring
	Local, LongTerm Store // this node's own
	Partitions      int
	Client          *PeerClient
	Window          time.Duration // default 3 h
	Now             func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // node -> last seen in the ring
}

// departed is the number of nodes seen in the ring within the window that
// are not in it now.
func (f *Fanout) departed() int {
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	window := f.Window
	if window <= 0 {
		window = 3 * time.Hour
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[string]time.Time{}
	}
	in := map[string]bool{}
	for _, n := range f.Ring.Nodes() {
		in[n.ID] = true
		f.seen[n.ID] = now
	}
	gone := 0
	for id, at := range f.seen {
		switch {
		case in[id]:
		case now.Sub(at) >= window:
			delete(f.seen, id)
		default:
			gone++
		}
	}
	return gone
}

// Stores implements Federation.
func (f *Fanout) Stores(tenant string, lo, hi int64) (Store, Store) {
	local := []Store{f.Local}
	if f.departed() > 0 {
		local = append(local, absent{})
	}
	for _, n := range f.Ring.TenantNodes(tenant) {
		switch {
		case n.ID == f.Self:
		case !n.Healthy || n.Addr == "":
			local = append(local, absent{})
		default:
			p := f.Client.store(n.ID, n.Addr, SourceLocal, nil)
			p.prefetch(lo, hi)
			local = append(local, p)
		}
	}
	var longTerm Store
	if f.LongTerm != nil {
		byOwner := map[string][]int{}
		addr := map[string]string{}
		var order []string
		missing := false
		for p := range f.Partitions {
			owner := ""
			for _, o := range f.Ring.PartitionOwners(p) {
				if o.ID == f.Self {
					owner = o.ID
					break
				}
				if owner == "" && o.Healthy && o.Addr != "" {
					owner, addr[o.ID] = o.ID, o.Addr
				}
			}
			if owner == "" {
				missing = true
				continue
			}
			if _, ok := byOwner[owner]; !ok {
				order = append(order, owner)
			}
			byOwner[owner] = append(byOwner[owner], p)
		}
		var members []Store
		for _, id := range order {
			if id == f.Self {
				members = append(members, partStore{Store: f.LongTerm, parts: byOwner[id], n: f.Partitions})
			} else {
				p := f.Client.store(id, addr[id], SourceLongTerm, byOwner[id])
				p.prefetch(lo, hi) // its finest buckets: exact for any period, re-bucketed by the reader
				members = append(members, p)
			}
		}
		if missing || len(members) == 0 {
			members = append(members, absent{})
		}
		longTerm = newUnionStore(members...)
	}
	return newUnionStore(local...), longTerm
}
