package alerting

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ver is one version: the writer's ms and its node ID.
type ver struct {
	rev int64
	by  string
}

// versioned is a metric alarm "x" of tenant t with the given threshold,
// state and versions of its definition and its state.
func versioned(threshold float64, state string, def, st ver) *Alarm {
	a := testMetricAlarm("x", threshold)
	a.State = State{Value: state, Reason: "r", Updated: time.Unix(st.rev/1000, 0).UTC()}
	a.Rev, a.RevBy, a.StateRev, a.StateRevBy = def.rev, def.by, st.rev, st.by
	return a
}

func compositeVersioned(def, st ver) *CompositeAlarm {
	c := &CompositeAlarm{Base: Base{Tenant: "t", Name: "x", State: State{Value: StateOK}}, Rule: "ALARM(y)"}
	if err := c.ParseRule(); err != nil {
		panic(err)
	}
	c.Rev, c.RevBy, c.StateRev, c.StateRevBy = def.rev, def.by, st.rev, st.by
	return c
}

// alarmEntry is a as a peer sends it.
func alarmEntry(t *testing.T, a Any) Entry {
	t.Helper()
	v, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return Entry{Type: a.Type(), Alarm: v}
}

func tombEntry(v ver) Entry {
	return Entry{Tomb: &tombstone{Tenant: "t", Name: "x", Rev: v.rev, RevBy: v.by, At: v.rev}}
}

// TestMergeParts: a merge takes each part of an alarm (its definition, its
// state) when the peer's version of it is newer, a delete wins over older
// definitions only, and an alarm of another type only by a newer
// definition. Nothing taken adds history.
func TestMergeParts(t *testing.T) {
	v := func(rev int64, by string) ver { return ver{rev, by} }
	base := versioned(80, StateOK, v(100, "a"), v(100, "a"))
	cases := []struct {
		name      string
		local     Entry // what the store holds first (nothing when empty)
		in        Entry
		taken     bool
		gone      bool
		typ       string
		threshold float64
		state     string
	}{
		{name: "both parts older", local: alarmEntry(t, base), in: alarmEntry(t, versioned(10, StateAlarm, v(50, "b"), v(50, "b"))),
			threshold: 80, state: StateOK},
		{name: "definition newer, state older", local: alarmEntry(t, base), in: alarmEntry(t, versioned(90, StateAlarm, v(200, "b"), v(50, "b"))),
			taken: true, threshold: 90, state: StateOK},
		{name: "state newer, definition older", local: alarmEntry(t, base), in: alarmEntry(t, versioned(10, StateAlarm, v(50, "b"), v(200, "b"))),
			taken: true, threshold: 80, state: StateAlarm},
		{name: "both parts newer", local: alarmEntry(t, base), in: alarmEntry(t, versioned(90, StateAlarm, v(200, "b"), v(200, "b"))),
			taken: true, threshold: 90, state: StateAlarm},
		{name: "the same versions", local: alarmEntry(t, base), in: alarmEntry(t, versioned(90, StateAlarm, v(100, "a"), v(100, "a"))),
			threshold: 80, state: StateOK},
		{name: "same ms, higher node ID", local: alarmEntry(t, base), in: alarmEntry(t, versioned(90, StateAlarm, v(100, "b"), v(100, "b"))),
			taken: true, threshold: 90, state: StateAlarm},
		{name: "same ms, lower node ID", local: alarmEntry(t, base), in: alarmEntry(t, versioned(90, StateAlarm, v(100, ""), v(100, ""))),
			threshold: 80, state: StateOK},
		{name: "a node that versions the alarm as one", local: alarmEntry(t, base), in: alarmEntry(t, versioned(90, StateAlarm, v(200, "b"), v(0, ""))),
			taken: true, threshold: 90, state: StateAlarm},
		{name: "new alarm", in: alarmEntry(t, base), taken: true, threshold: 80, state: StateOK},
		{name: "delete after the definition, before the state", local: alarmEntry(t, versioned(80, StateOK, v(100, "a"), v(300, "a"))),
			in: tombEntry(v(150, "b")), taken: true, gone: true},
		{name: "delete before the definition", local: alarmEntry(t, base), in: tombEntry(v(50, "b")), threshold: 80, state: StateOK},
		{name: "a state newer than the delete does not bring it back", local: tombEntry(v(200, "b")),
			in: alarmEntry(t, versioned(90, StateAlarm, v(150, "a"), v(300, "a"))), gone: true},
		{name: "a definition newer than the delete creates it again", local: tombEntry(v(200, "b")),
			in: alarmEntry(t, versioned(90, StateAlarm, v(250, "a"), v(250, "a"))), taken: true, threshold: 90, state: StateAlarm},
		{name: "a newer delete of a delete", local: tombEntry(v(200, "b")), in: tombEntry(v(300, "c")), taken: true, gone: true},
		{name: "another type, newer definition", local: alarmEntry(t, base), in: alarmEntry(t, compositeVersioned(v(200, "b"), v(50, "b"))),
			taken: true, typ: TypeComposite, state: StateOK},
		{name: "another type, older definition, newer state", local: alarmEntry(t, base), in: alarmEntry(t, compositeVersioned(v(50, "b"), v(300, "b"))),
			threshold: 80, state: StateOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startStore(t, t.TempDir(), time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
			t.Cleanup(func() { stopStore(t, s) })
			if tc.local.Type != "" || tc.local.Tomb != nil {
				if n, err := s.Merge([]Entry{tc.local}); err != nil || n != 1 {
					t.Fatalf("merge the local copy: %d, %v", n, err)
				}
			}
			seq := s.seq
			n, err := s.Merge([]Entry{tc.in})
			if err != nil {
				t.Fatal(err)
			}
			if got := n == 1; got != tc.taken {
				t.Errorf("taken: %v; want %v", got, tc.taken)
			}
			if es, _, _, _ := s.Changes(seq, 10, 1<<20); (len(es) == 1) != tc.taken {
				t.Errorf("%d changes to pass on after the merge; want them only when taken", len(es))
			}
			got := s.Alarm("t", "x")
			if tc.gone {
				if got != nil {
					t.Fatalf("x = %+v; want deleted", got)
				}
				if _, ok := s.tombs[tombKey("t", "x")]; !ok {
					t.Error("no tombstone of x")
				}
				return
			}
			if got == nil {
				t.Fatal("x is gone")
			}
			if typ := cmpOr(tc.typ, TypeMetric); got.Type() != typ {
				t.Fatalf("x is a %s; want a %s", got.Type(), typ)
			}
			if a, ok := got.(*Alarm); ok && a.Threshold != tc.threshold {
				t.Errorf("threshold %v; want %v", a.Threshold, tc.threshold)
			}
			if got.Common().State.Value != tc.state {
				t.Errorf("state %s; want %s", got.Common().State.Value, tc.state)
			}
			if h := historyCount(t, s); h != 0 {
				t.Errorf("%d history items; a merge adds none", h)
			}
		})
	}
}

// TestMergeSkipsUnreadable: an entry this node cannot read is skipped,
// and the rest of its page taken, so it does not stop the later ones.
func TestMergeSkipsUnreadable(t *testing.T) {
	s := startStore(t, t.TempDir(), time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
	t.Cleanup(func() { stopStore(t, s) })
	bad := []Entry{
		{Type: "Dashboard", Alarm: []byte(`{}`)},
		{Type: TypeMetric, Alarm: []byte(`{"tenant":`)},
		{Type: TypeComposite, Alarm: []byte(`{"tenant":"t","name":"c","rule":"ALARM("}`)},
		{Type: TypeMetric, Alarm: []byte(`{"name":"no-tenant"}`)},
	}
	n, err := s.Merge(append(bad, alarmEntry(t, testMetricAlarm("x", 1))))
	if err != nil || n != 1 || s.Alarm("t", "x") == nil {
		t.Errorf("merge: took %d, %v, x %v; want x alone", n, err, s.Alarm("t", "x") != nil)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func historyCount(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.History(0, 1<<62, false, nil, func([]byte, *HistoryItem) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func stateUpdates(t *testing.T, s *Store, name string) int {
	t.Helper()
	n := 0
	if err := s.History(0, 1<<62, false, nil, func(_ []byte, h *HistoryItem) bool {
		if h.Type == HistoryStateUpdate && h.AlarmName == name {
			n++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMergeConcurrentWrites, on two stores whose clocks disagree: a
// PutMetricAlarm on a node that holds an older copy of the state keeps
// the owner's newer state (and the owner keeps the new definition), and a
// state written on a node that had not seen the owner's newer one loses
// to it everywhere. Each node records its own transitions only.
func TestMergeConcurrentWrites(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	ca, cb := &syncClock{t: t0}, &syncClock{t: t0.Add(time.Minute)} // b is a minute ahead
	rs := []*replica{startReplica(t, "a", t.TempDir(), ca), startReplica(t, "b", t.TempDir(), cb)}
	a, b := rs[0], rs[1]
	if err := a.s.Put(testMetricAlarm("x", 80)); err != nil {
		t.Fatal(err)
	}
	syncAll(t, rs)

	// a, the owner, moves x to ALARM; b, not yet aware, puts a new
	// threshold with its (ahead) clock, carrying its copy of the state.
	ca.add(time.Second)
	if err := a.s.SetState("t", "x", State{Value: StateAlarm, Reason: "owner", Updated: ca.now()}); err != nil {
		t.Fatal(err)
	}
	if err := b.s.Put(testMetricAlarm("x", 90)); err != nil {
		t.Fatal(err)
	}
	syncAll(t, rs)
	syncAll(t, rs)
	for _, r := range rs {
		x := r.s.Alarm("t", "x").(*Alarm)
		if x.Threshold != 90 || x.State.Value != StateAlarm || x.State.Reason != "owner" {
			t.Errorf("%s: threshold %v, state %s (%q); want b's threshold 90 and the owner's ALARM", r.id, x.Threshold, x.State.Value, x.State.Reason)
		}
	}

	// b now has a's versions, so its clock is raised past them. Take a
	// clock far behind for b and a third store c that saw none of it: its
	// state write, concurrent with the owner's later one, is older.
	cc := &syncClock{t: t0.Add(-time.Hour)}
	c := startReplica(t, "c", t.TempDir(), cc)
	if n, err := c.s.Merge([]Entry{alarmEntry(t, testMetricAlarm("x", 90))}); err != nil || n != 1 { // an old copy, versions 0
		t.Fatalf("seed c: %d, %v", n, err)
	}
	if err := c.s.SetState("t", "x", State{Value: StateOK, Reason: "stale", Updated: cc.now()}); err != nil {
		t.Fatal(err)
	}
	ca.add(time.Second)
	if err := a.s.SetState("t", "x", State{Value: StateInsufficientData, Reason: "owner again", Updated: ca.now()}); err != nil {
		t.Fatal(err)
	}
	rs = append(rs, c)
	syncAll(t, rs)
	syncAll(t, rs)
	for _, r := range rs {
		x := r.s.Alarm("t", "x").(*Alarm)
		if x.Threshold != 90 || x.State.Reason != "owner again" {
			t.Errorf("%s: threshold %v, state %s (%q); want the owner's newest state", r.id, x.Threshold, x.State.Value, x.State.Reason)
		}
	}
	for _, w := range []struct {
		r    *replica
		want int
	}{{a, 2}, {b, 0}, {c, 1}} {
		if got := stateUpdates(t, w.r.s, "x"); got != w.want {
			t.Errorf("%s: %d state-update history items; want %d (its own transitions)", w.r.id, got, w.want)
		}
	}
}

// TestMergeAfterRestart: versions and tombstones survive a restart, a
// stale copy of a deleted alarm is still refused, and a write after a
// restart with a clock gone back is still newer than every stored version.
func TestMergeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	clock := &syncClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	r := startReplica(t, "a", dir, clock)
	for _, n := range []string{"x", "y"} {
		if err := r.s.Put(testMetricAlarm(n, 80)); err != nil {
			t.Fatal(err)
		}
	}
	stale := alarmEntry(t, r.s.Alarm("t", "y")) // y as a peer held it before the delete
	clock.add(time.Second)
	if err := r.s.Delete("t", []string{"y"}); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Second)
	if err := r.s.SetState("t", "x", State{Value: StateAlarm, Reason: "r", Updated: clock.now()}); err != nil {
		t.Fatal(err)
	}
	before := *r.s.Alarm("t", "x").Common()
	tomb := r.s.tombs[tombKey("t", "y")]
	seq, rev := r.s.seq, r.s.rev
	r.stop(t)

	clock.add(-time.Hour)
	r = startReplica(t, "a", dir, clock)
	after := r.s.Alarm("t", "x").Common()
	if after.Rev != before.Rev || after.RevBy != before.RevBy || after.StateRev != before.StateRev || after.Seq != before.Seq {
		t.Errorf("x's versions after the restart: %d/%s %d/%s seq %d; before %d/%s %d/%s seq %d", after.Rev, after.RevBy, after.StateRev, after.StateRevBy,
			after.Seq, before.Rev, before.RevBy, before.StateRev, before.StateRevBy, before.Seq)
	}
	if got, ok := r.s.tombs[tombKey("t", "y")]; !ok || got != tomb {
		t.Errorf("y's tombstone after the restart: %+v, %v; want %+v", got, ok, tomb)
	}
	if r.s.seq != seq || r.s.rev != rev {
		t.Errorf("seq, rev after the restart: %d, %d; want %d, %d", r.s.seq, r.s.rev, seq, rev)
	}
	if n, err := r.s.Merge([]Entry{stale}); err != nil || n != 0 {
		t.Errorf("merge of y's copy from before its delete: took %d, %v; want none", n, err)
	}
	if err := r.s.SetState("t", "x", State{Value: StateOK, Reason: "r", Updated: clock.now()}); err != nil {
		t.Fatal(err)
	}
	if got := r.s.Alarm("t", "x").Common(); !newer(got.StateRev, got.StateRevBy, before.StateRev, before.StateRevBy) {
		t.Errorf("a state written an hour back in time got version %d; want one after %d", got.StateRev, before.StateRev)
	}
}

// TestSyncPages: the handler answers a page at a time, bounded by entries
// and by bytes, each page after the last one's Seq, until no more follow;
// a syncer takes them all in one pass.
func TestSyncPages(t *testing.T) {
	clock := &syncClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	a := startReplica(t, "a", t.TempDir(), clock)
	const n = 25
	for i := range n {
		if err := a.s.Put(testMetricAlarm("alarm-"+string(rune('a'+i)), float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	post := func(body string) *http.Response {
		t.Helper()
		resp, err := http.Post(a.srv.URL+SyncPath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	seen := map[string]bool{}
	var after int64
	pages := 0
	for more := true; more; pages++ {
		resp := post(`{"after":` + strconv.FormatInt(after, 10) + `,"limit":4}`)
		var page syncResponse
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) > 4 || page.Last <= after {
			t.Fatalf("page after %d: %d entries, last %d; want at most 4, after %d", after, len(page.Entries), page.Last, after)
		}
		for _, e := range page.Entries {
			var x Alarm
			if err := json.Unmarshal(e.Alarm, &x); err != nil {
				t.Fatal(err)
			}
			seen[x.Name] = true
		}
		after, more = page.Last, page.More
	}
	if len(seen) != n || pages != (n+3)/4 {
		t.Errorf("%d alarms in %d pages; want %d in %d", len(seen), pages, n, (n+3)/4)
	}

	one, _, more, err := a.s.Changes(0, 100, 1) // a byte bound below one alarm: the first still comes
	if err != nil || len(one) != 1 || !more {
		t.Errorf("a page of 1 byte: %d entries, more %v, %v; want 1 and more", len(one), more, err)
	}
	two, _, _, _ := a.s.Changes(0, 100, len(one[0].Alarm)*2+len(one[0].Alarm)/2)
	if len(two) != 2 {
		t.Errorf("a page of 2.5 alarms' bytes: %d entries; want 2", len(two))
	}

	if resp := post(`not json`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad request: status %d; want 400", resp.StatusCode)
	}
	if resp, err := http.Get(a.srv.URL + SyncPath); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v; want 405", resp.StatusCode, err)
	} else {
		_ = resp.Body.Close()
	}

	b := startReplica(t, "b", t.TempDir(), clock)
	y := NewSyncer(b.s, &peerList{peers: []Peer{{ID: "a", Addr: a.srv.Listener.Addr().String()}}}, SyncConfig{PageEntries: 4}, nil, nil)
	y.SyncOnce(t.Context())
	if got := len(b.s.List("t")); got != n {
		t.Errorf("b took %d alarms in one pass of pages of 4; want %d", got, n)
	}
}
