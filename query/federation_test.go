package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// fixedRing is a ring that does not change.
type fixedRing struct {
	tenant []Node
	owners func(p int) []Node
}

func (r fixedRing) TenantNodes(string) []Node    { return r.tenant }
func (r fixedRing) PartitionOwners(p int) []Node { return r.owners(p) }
func (r fixedRing) Nodes() []Node                { return r.tenant }

func newLocalAt(t *testing.T, now time.Time) *store.Local {
	t.Helper()
	l, err := store.NewLocal(store.LocalConfig{Now: func() time.Time { return now }}, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// live marks l live over the last ten minutes before now.
func live(l *store.Local, now time.Time) {
	for ms := now.Add(-10 * time.Minute).UnixMilli(); ms <= now.UnixMilli(); ms += 1000 {
		l.ApplyLiveness(record.Liveness{UnixMs: ms})
	}
}

// sums reads every series of st for the tenant: key -> total Sum and Count.
func sums(st Store, from, to int64) map[string][2]float64 {
	out := map[string][2]float64{}
	st.Series("t", func(ref store.SeriesRef, key *store.SeriesKey, _ int64) bool { return true })
	for i := range 8 {
		for _, ref := range st.Lookup("t", "App", "Req", []record.Dimension{{Name: "Host", Value: fmt.Sprint(i)}}) {
			k := st.Key(ref)
			st.Range(ref, from, to, func(a *store.Aggregate) {
				v := out[k.Dimensions[0].Value]
				out[k.Dimensions[0].Value] = [2]float64{v[0] + a.Sum, v[1] + a.Count}
			})
		}
	}
	return out
}

// TestFanoutMergesNodes: a tenant's local stores read as one (a series
// written to two nodes sums), a long-term store is read only for the
// partitions its node is asked for (stale copies of other partitions do
// not count twice), and a node that is down or does not answer makes its
// share unknown instead of empty.
func TestFanoutMergesNodes(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	from, to := now.Add(-10*time.Minute).Unix()/60*60, now.Unix()/60*60
	const parts = 4
	selfLocal, peerLocal := newLocalAt(t, now), newLocalAt(t, now)
	selfLT, peerLT := newLocalAt(t, now), newLocalAt(t, now)
	want := map[string][2]float64{}
	for i := range 8 {
		m := &record.Metrics{Tenant: "t", Namespace: "App", Datums: []record.Datum{{MetricName: "Req", Unit: "None", Value: float64(i + 1),
			Timestamp: now.Add(-5 * time.Minute).UnixMilli(), Dimensions: []record.Dimension{{Name: "Host", Value: fmt.Sprint(i)}}}}}
		// Written twice, once to each node; both long-term stores hold
		// every partition (the peer from before a move).
		selfLocal.Apply(m)
		peerLocal.Apply(m)
		selfLT.Apply(m)
		peerLT.Apply(m)
		want[fmt.Sprint(i)] = [2]float64{2 * float64(i+1), 2}
	}
	for _, l := range []*store.Local{selfLocal, peerLocal, selfLT, peerLT} {
		live(l, now)
	}
	var calls sync.Map // "source op" -> *atomic.Int64
	handler := PeerHandler(peerLocal, peerLT, parts)
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req peerRequest
		_ = json.Unmarshal(body, &req)
		n, _ := calls.LoadOrStore(req.Source+" "+path.Base(r.URL.Path), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler.ServeHTTP(w, r)
	}))
	defer peer.Close()
	self, other := Node{ID: "a", Addr: "unused", Healthy: true}, Node{ID: "b", Addr: peer.Listener.Addr().String(), Healthy: true}
	ring := fixedRing{tenant: []Node{self, other}, owners: func(p int) []Node {
		if p%2 == 0 {
			return []Node{self}
		}
		return []Node{other}
	}}
	clock := now
	f := &Fanout{Self: "a", Ring: ring, Local: selfLocal, LongTerm: selfLT, Partitions: parts,
		Client: NewPeerClient(2*time.Second, "", prometheus.NewRegistry(), nil), Now: func() time.Time { return clock }}
	local, lt := f.Stores("t", from, to)
	if got := sums(local, from, to); !maps.Equal(got, want) {
		t.Errorf("local stores of both nodes: %v; want %v", got, want)
	}
	if n, ok := calls.Load(SourceLocal + " range"); ok {
		t.Errorf("the peer's local store was read series by series (%d range calls); its lookups bring the request's buckets", n.(*atomic.Int64).Load())
	}
	full := intervals.Set{{From: from, To: to}}
	if got := intervals.Of(local.(Coverer).Coverage(from, to)...); !slices.Equal(got, full) {
		t.Errorf("local coverage with both nodes answering = %v; want %v", got, full)
	}
	once := map[string][2]float64{}
	for k, v := range want {
		once[k] = [2]float64{v[0] / 2, 1}
	}
	if got := sums(lt, from, to); !maps.Equal(got, once) {
		t.Errorf("long-term stores by partition: %v; want each series once %v", got, once)
	}

	// The peer gone from the ring (it left): absent for the window, as
	// what it took in is in the long-term stores only; after the window
	// it no longer counts.
	f.Ring = fixedRing{tenant: []Node{self}, owners: ring.owners}
	if local, _ = f.Stores("t", from, to); len(local.(Coverer).Coverage(from, to)) != 0 {
		t.Error("local coverage just after a node left the ring: covered; want none")
	}
	clock = now.Add(3*time.Hour + time.Second)
	if local, _ = f.Stores("t", from, to); len(local.(Coverer).Coverage(from, to)) == 0 {
		t.Error("local coverage a window after a node left: none; want this node's own")
	}
	clock = now

	// The peer unhealthy in the ring: absent, so nothing is covered.
	ring.tenant = []Node{self, {ID: "b", Addr: other.Addr}}
	f.Ring = ring
	local, _ = f.Stores("t", from, to)
	if got := local.(Coverer).Coverage(from, to); len(got) != 0 {
		t.Errorf("local coverage with the peer down = %v; want none", got)
	}
	// The peer healthy in the ring but not answering: the same.
	ring.tenant = []Node{self, other}
	f.Ring = ring
	peer.Close()
	local, lt = f.Stores("t", from, to)
	if got := local.(Coverer).Coverage(from, to); len(got) != 0 {
		t.Errorf("local coverage with the peer not answering = %v; want none", got)
	}
	if got := lt.(Coverer).Coverage(math.MinInt64/2, math.MaxInt64/2); len(got) != 0 {
		t.Errorf("long-term coverage with an owner not answering = %v; want none", got)
	}
}

// TestRecentReadsLeaveLongTermOut: a read of the window that the local
// stores cover does not ask the long-term stores (in a cluster, every
// partition owner), so an owner that is down costs it nothing; a read
// reaching before the window asks them, and reports their share unknown.
func TestRecentReadsLeaveLongTermOut(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	self := newLocalAt(t, now)
	for ms := now.Add(-4 * time.Hour).UnixMilli(); ms <= now.UnixMilli(); ms += 1000 {
		self.ApplyLiveness(record.Liveness{UnixMs: ms})
	}
	gone := httptest.NewServer(PeerHandler(self, self, 2))
	gone.Close() // the one partition owner does not answer
	reg := prometheus.NewRegistry()
	client := NewPeerClient(time.Second, "", reg, nil)
	owner := Node{ID: "b", Addr: gone.Listener.Addr().String(), Healthy: true}
	f := &Fanout{Self: "a", Ring: fixedRing{tenant: []Node{{ID: "a", Healthy: true}}, owners: func(int) []Node { return []Node{owner} }},
		Local: self, LongTerm: self, Partitions: 2, Client: client, Now: func() time.Time { return now }}
	s := New(Config{Local: self, LongTerm: self, Federation: f, Now: func() time.Time { return now }}, nil)
	from := now.Add(-10*time.Minute).Unix() / 60 * 60
	if unknown := s.Coverage("t", from, now.Unix()/60*60); len(unknown) != 0 {
		t.Errorf("recent read: unknown %v; want none (the local store covers it)", unknown)
	}
	if n := testutil.ToFloat64(client.errors.WithLabelValues("b")); n != 0 {
		t.Errorf("recent read asked the long-term owner (%v failed calls); want no call", n)
	}
	old := now.Add(-5*time.Hour).Unix() / 60 * 60
	if unknown := s.Coverage("t", old, old+600); len(unknown) == 0 {
		t.Error("a read before the window with its only long-term owner down: nothing unknown")
	}
}
