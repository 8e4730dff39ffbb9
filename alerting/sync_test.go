package alerting

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/query"
)

// replica is one node's store, served to its peers, with its syncer.
type replica struct {
	id    string
	s     *Store
	srv   *httptest.Server
	sync  *Syncer
	dir   string
	clock *syncClock
}

type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *syncClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type peerList struct {
	mu    sync.Mutex
	peers []Peer
}

func (p *peerList) Peers() []Peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Peer(nil), p.peers...)
}

func startReplica(t *testing.T, id, dir string, clock *syncClock) *replica {
	t.Helper()
	s, err := NewStore(Config{Dir: dir, Now: clock.now, NodeID: id}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []services.Service{s, s.Outbox()} {
		if err := services.StartAndAwaitRunning(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
	}
	r := &replica{id: id, s: s, dir: dir, clock: clock, srv: httptest.NewServer(SyncHandler(s))}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *replica) stop(t *testing.T) {
	if r.srv == nil {
		return
	}
	r.srv.Close()
	stopStore(t, r.s)
	r.srv = nil
}

// syncAll has every replica pull every other once.
func syncAll(t *testing.T, rs []*replica) {
	t.Helper()
	for _, r := range rs {
		if r.srv == nil {
			continue
		}
		var peers peerList
		for _, o := range rs {
			if o != r && o.srv != nil {
				peers.peers = append(peers.peers, Peer{ID: o.id, Addr: o.srv.Listener.Addr().String()})
			}
		}
		if r.sync == nil {
			r.sync = NewSyncer(r.s, &peers, SyncConfig{Timeout: 2 * time.Second}, prometheus.NewRegistry(), nil)
		} else {
			r.sync.peers = &peers
		}
		r.sync.SyncOnce(context.Background())
	}
}

func testMetricAlarm(name string, threshold float64) *Alarm {
	return &Alarm{Base: Base{Tenant: "t", Name: name, ActionsEnabled: true}, Metric: Metric{Namespace: "ns", MetricName: "cpu"},
		Statistic: "Average", Period: 60, EvaluationPeriods: 1, Threshold: threshold, ComparisonOperator: "GreaterThanThreshold"}
}

// TestReplicasAgree: an alarm put on one store reaches the others, a
// delete on another removes it everywhere, a state the owner sets wins
// over an older write, a peer that is down holds up no one, and versions
// and tombstones survive a restart.
func TestReplicasAgree(t *testing.T) {
	clock := &syncClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	rs := []*replica{
		startReplica(t, "a", t.TempDir(), clock),
		startReplica(t, "b", t.TempDir(), clock),
		startReplica(t, "c", t.TempDir(), clock),
	}
	a, b, c := rs[0], rs[1], rs[2]
	if err := a.s.Put(testMetricAlarm("high-cpu", 80)); err != nil {
		t.Fatal(err)
	}
	if err := a.s.Put(testMetricAlarm("low-cpu", 5)); err != nil {
		t.Fatal(err)
	}
	syncAll(t, rs)
	for _, r := range rs {
		if got := r.s.Alarm("t", "high-cpu"); got == nil || got.(*Alarm).Threshold != 80 {
			t.Fatalf("%s: high-cpu = %+v; want the alarm put on a", r.id, got)
		}
	}

	// An update on c, then a delete on b, then a state set on a.
	clock.add(time.Second)
	if err := c.s.Put(testMetricAlarm("high-cpu", 90)); err != nil {
		t.Fatal(err)
	}
	syncAll(t, rs)
	clock.add(time.Second)
	if err := b.s.Delete("t", []string{"low-cpu"}); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Second)
	if err := a.s.SetState("t", "high-cpu", State{Value: StateAlarm, Reason: "set", Updated: clock.now()}); err != nil {
		t.Fatal(err)
	}
	syncAll(t, rs)
	for _, r := range rs {
		got := r.s.Alarm("t", "high-cpu")
		if got == nil || got.(*Alarm).Threshold != 90 || got.Common().State.Value != StateAlarm {
			t.Errorf("%s: high-cpu = %+v; want threshold 90 (c's update) in ALARM (a's state)", r.id, got)
		}
		if got := r.s.Alarm("t", "low-cpu"); got != nil {
			t.Errorf("%s: low-cpu still there after b deleted it", r.id)
		}
	}
	// History is the writer's own: only a recorded the transition.
	for _, r := range rs {
		n := 0
		_ = r.s.History(0, clock.now().Add(time.Hour).UnixMilli(), false, nil, func(_ []byte, h *HistoryItem) bool {
			if h.Type == HistoryStateUpdate {
				n++
			}
			return true
		})
		if want := map[string]int{"a": 1}[r.id]; n != want {
			t.Errorf("%s: %d state-update history items; want %d", r.id, n, want)
		}
	}

	// A stale write (an older version) does not win: b's copy is newer.
	stale := testMetricAlarm("high-cpu", 10)
	stale.Tenant, stale.Rev, stale.RevBy = "t", 1, "zzz"
	if n, err := b.s.Merge([]Entry{entryOf(t, stale)}); err != nil || n != 0 {
		t.Errorf("merge of a stale version: took %d, %v; want none", n, err)
	}

	// c is down: a and b still sync; a change made meanwhile reaches c
	// when it is back, and a restart of a keeps versions and tombstones.
	c.stop(t)
	clock.add(time.Second)
	if err := b.s.Put(testMetricAlarm("disk", 70)); err != nil {
		t.Fatal(err)
	}
	syncAll(t, rs)
	if a.s.Alarm("t", "disk") == nil {
		t.Error("a did not get b's alarm while c was down")
	}
	a.stop(t)
	rs[0] = startReplica(t, "a", a.dir, clock)
	rs[2] = startReplica(t, "c", c.dir, clock)
	syncAll(t, rs)
	for _, r := range rs {
		if r.s.Alarm("t", "disk") == nil || r.s.Alarm("t", "low-cpu") != nil || r.s.Alarm("t", "high-cpu").(*Alarm).Threshold != 90 {
			t.Errorf("%s after the restarts: disk %v, low-cpu %v, high-cpu %+v; want disk, no low-cpu, high-cpu at 90", r.id,
				r.s.Alarm("t", "disk") != nil, r.s.Alarm("t", "low-cpu") != nil, r.s.Alarm("t", "high-cpu"))
		}
	}
	if _, ok := rs[0].s.tombs[tombKey("t", "low-cpu")]; !ok {
		t.Error("a's tombstone of low-cpu did not survive its restart")
	}
}

func entryOf(t *testing.T, a Any) Entry {
	t.Helper()
	es, _, _, err := (&Store{alarms: map[string]map[string]Any{"t": {a.Common().Name: withSeq(a)}}}).Changes(0, 10, 1<<20)
	if err != nil || len(es) != 1 {
		t.Fatalf("entry of %s: %v", a.Common().Name, err)
	}
	return es[0]
}

func withSeq(a Any) Any { a.Common().Seq = 1; return a }

// countingReader answers every read with no data and records the metrics
// read.
type countingReader struct {
	mu   sync.Mutex
	read []string
}

func (r *countingReader) Periods(_ context.Context, _ string, m Metric, _, _ string, _, _, _ int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read = append(r.read, m.MetricName)
	return nil, nil, nil
}

func (r *countingReader) metrics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.read...)
}
