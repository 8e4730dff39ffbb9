package alerting

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/query"
)

// node is one whole alarm node on the real clock: store, outbox,
// evaluator and syncer running as services, the store served over HTTP.
type node struct {
	id    string
	s     *Store
	sync  *Syncer
	srv   *httptest.Server
	peers *peerList
	reads *breachingReader
}

// startNode starts a node that owns (evaluates) every alarm or none.
func startNode(t *testing.T, id string, owner bool, cfg SyncConfig) *node {
	t.Helper()
	n := &node{id: id, peers: &peerList{}, reads: &breachingReader{}}
	s, err := NewStore(Config{Dir: t.TempDir(), NodeID: id, Reader: n.reads, EvalTickPeriod: 10 * time.Millisecond,
		Owns: func(string, string) bool { return owner }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEvaluator(s, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n.s, n.sync = s, NewSyncer(s, n.peers, cfg, prometheus.NewRegistry(), nil)
	n.srv = httptest.NewServer(SyncHandler(s))
	svcs := []services.Service{s, s.Outbox(), e, n.sync}
	for _, svc := range svcs {
		if err := services.StartAndAwaitRunning(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		n.srv.Close()
		for i := len(svcs) - 1; i >= 0; i-- {
			if err := services.StopAndAwaitTerminated(context.Background(), svcs[i]); err != nil {
				t.Error(err)
			}
		}
	})
	return n
}

func (n *node) addr() string { return n.srv.Listener.Addr().String() }

// breachingReader answers every period with 100, and counts the reads.
type breachingReader struct{ n atomic.Int64 }

func (r *breachingReader) Periods(_ context.Context, _ string, _ Metric, _, _ string, period, from, to int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error) {
	r.n.Add(1)
	out := map[int64]query.AlarmDatapoint{}
	for t := from; t < to; t += period {
		out[t] = query.AlarmDatapoint{Value: 100, SampleCount: 1}
	}
	return out, nil, nil
}

// blackhole is a peer that takes connections and never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// refused is an address where nothing listens.
func refused(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// waitFor polls cond every 5 ms until it holds or the deadline passes, and
// returns how long it took.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !cond() {
		if time.Since(began) > deadline {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(began)
}

// TestSyncServices: three whole nodes syncing every 20 ms, each also
// listing a peer that hangs and one that refuses. An alarm put on b (not
// its owner) reaches a and c; the owner a alone evaluates it, and its
// ALARM reaches b and c, recorded in a's history only; a delete on c
// reaches everyone. The hanging peer's 3 s timeout delays none of it.
func TestSyncServices(t *testing.T) {
	const timeout = 3 * time.Second
	cfg := SyncConfig{Interval: 20 * time.Millisecond, Timeout: timeout}
	a, b, c := startNode(t, "a", true, cfg), startNode(t, "b", false, cfg), startNode(t, "c", false, cfg)
	nodes := []*node{a, b, c}
	hung, down := blackhole(t), refused(t)
	for _, n := range nodes {
		peers := []Peer{{ID: "hung", Addr: hung}, {ID: "down", Addr: down}}
		for _, o := range nodes {
			if o != n {
				peers = append(peers, Peer{ID: o.id, Addr: o.addr()})
			}
		}
		n.peers.mu.Lock()
		n.peers.peers = peers // the hanging peer first: it must hold up no one
		n.peers.mu.Unlock()
	}
	everywhere := func(cond func(*node) bool) func() bool {
		return func() bool {
			for _, n := range nodes {
				if !cond(n) {
					return false
				}
			}
			return true
		}
	}

	if err := b.s.Put(testMetricAlarm("cpu", 80)); err != nil {
		t.Fatal(err)
	}
	put := waitFor(t, "the alarm put on b on every node", 20*time.Second, everywhere(func(n *node) bool { return n.s.Alarm("t", "cpu") != nil }))
	inAlarm := func(n *node) bool {
		x := n.s.Alarm("t", "cpu")
		return x != nil && x.Common().State.Value == StateAlarm
	}
	waitFor(t, "the owner's evaluation", 20*time.Second, func() bool { return inAlarm(a) })
	firing := waitFor(t, "the owner's ALARM on every node", 20*time.Second, everywhere(inAlarm))
	for _, n := range nodes {
		want := map[string]int{"a": 1}[n.id]
		if got := stateUpdates(t, n.s, "cpu"); got != want {
			t.Errorf("%s: %d state-update history items; want %d (the owner's)", n.id, got, want)
		}
		if got := n.reads.n.Load(); (got > 0) != (n.id == "a") {
			t.Errorf("%s read %d times; only the owner a evaluates", n.id, got)
		}
	}
	if err := c.s.Delete("t", []string{"cpu"}); err != nil {
		t.Fatal(err)
	}
	del := waitFor(t, "c's delete on every node", 20*time.Second, everywhere(func(n *node) bool { return n.s.Alarm("t", "cpu") == nil }))
	t.Logf("put on b to every node %v; the owner's ALARM to every node %v; delete on c to every node %v", put, firing, del)
	for _, d := range []time.Duration{put, firing, del} {
		if d >= timeout {
			t.Errorf("a change took %v to reach every node: the hung peer's %v timeout held it up", d, timeout)
		}
	}
	waitFor(t, "failed pulls of the peer that refuses counted", 20*time.Second, func() bool {
		return testutil.ToFloat64(a.sync.errors.WithLabelValues("down")) > 0
	})
	if got := testutil.ToFloat64(a.sync.merged); got < 2 {
		t.Errorf("a merged %v versions; want at least b's put and c's delete", got)
	}
}

// TestSyncTokenSent: the syncer sends SyncConfig.Token as a bearer token.
func TestSyncTokenSent(t *testing.T) {
	clock := &syncClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	a := startReplica(t, "a", t.TempDir(), clock)
	var got atomic.Value
	h := SyncHandler(a.s)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	b := startReplica(t, "b", t.TempDir(), clock)
	y := NewSyncer(b.s, &peerList{peers: []Peer{{ID: "a", Addr: srv.Listener.Addr().String()}}}, SyncConfig{Token: "secret"}, nil, nil)
	y.SyncOnce(t.Context())
	if got.Load() != "Bearer secret" {
		t.Errorf("Authorization %q; want the bearer token", got.Load())
	}
}

// TestSyncPeerDownLoggedOnce: a peer that does not answer is counted at
// every pull and logged once a minute; when it answers again, that is
// logged once and its changes come.
func TestSyncPeerDownLoggedOnce(t *testing.T) {
	clock := &syncClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	a, b := startReplica(t, "a", t.TempDir(), clock), startReplica(t, "b", t.TempDir(), clock)
	if err := a.s.Put(testMetricAlarm("cpu", 80)); err != nil {
		t.Fatal(err)
	}
	peers := &peerList{peers: []Peer{{ID: "a", Addr: refused(t)}}}
	logs := &countingHandler{}
	y := NewSyncer(b.s, peers, SyncConfig{Timeout: time.Second}, prometheus.NewRegistry(), slog.New(logs))
	for range 5 {
		y.SyncOnce(t.Context())
	}
	if got := testutil.ToFloat64(y.errors.WithLabelValues("a")); got != 5 {
		t.Errorf("%v failed pulls counted; want 5", got)
	}
	if w, i := logs.counts(); w != 1 || i != 0 {
		t.Errorf("%d warnings, %d infos over 5 failed pulls; want 1 warning", w, i)
	}
	peers.mu.Lock()
	peers.peers[0].Addr = a.srv.Listener.Addr().String()
	peers.mu.Unlock()
	y.SyncOnce(t.Context())
	y.SyncOnce(t.Context())
	if w, i := logs.counts(); w != 1 || i != 1 {
		t.Errorf("%d warnings, %d infos after the peer came back; want 1 and 1", w, i)
	}
	if b.s.Alarm("t", "cpu") == nil {
		t.Error("b did not take a's alarm once a answered")
	}
}

type countingHandler struct {
	mu          sync.Mutex
	warn, infos int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.Level {
	case slog.LevelWarn:
		h.warn++
	case slog.LevelInfo:
		h.infos++
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.warn, h.infos
}
