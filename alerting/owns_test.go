package alerting

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/intervals"
)

// Series makes countingReader a MathReader: it records "math:" and the
// first query's metric.
func (r *countingReader) Series(_ context.Context, _ string, qs []MetricDataQuery, _ string, _, _ int64) (map[int64]float64, []intervals.Interval, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read = append(r.read, "math:"+qs[0].MetricStat.Metric.MetricName)
	return nil, nil, nil
}

// owning is an Owns whose set of owned alarm names a test changes.
type owning struct {
	mu   sync.Mutex
	mine []string
}

func (o *owning) owns(_, name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Contains(o.mine, name)
}

func (o *owning) set(names ...string) {
	o.mu.Lock()
	o.mine = names
	o.mu.Unlock()
}

// ownedStore starts a store whose evaluator owns what o says, reading
// through reads, on clock.
func ownedStore(t *testing.T, o *owning, reads Reader, clock *syncClock) (*Store, *Evaluator) {
	t.Helper()
	s, err := NewStore(Config{Dir: t.TempDir(), Now: clock.now, Reader: reads, Owns: o.owns, NodeID: "n"}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []services.Service{s, s.Outbox()} {
		if err := services.StartAndAwaitRunning(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { stopStore(t, s) })
	e, err := NewEvaluator(s, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, e
}

// TestOwnsMetricAndMathAlarms: as ownership moves, the evaluator reads the
// alarms it owns only, of both forms; one that comes back is due in the
// same period (no period skipped), and one it lost leaves its memory.
func TestOwnsMetricAndMathAlarms(t *testing.T) {
	clock := &syncClock{t: time.Date(2026, 12, 3, 10, 0, 30, 0, time.UTC)}
	o := &owning{}
	reads := &countingReader{}
	s, e := ownedStore(t, o, reads, clock)
	x := testMetricAlarm("x", 1)
	x.Metric.MetricName = "x"
	m := testMetricAlarm("m", 1)
	m.Metric, m.Statistic = Metric{}, ""
	m.Metrics = []MetricDataQuery{{ID: "e1", MetricStat: &Stat{Metric: Metric{Namespace: "ns", MetricName: "m"}, Period: 60, Stat: "Average"}, ReturnData: true}}
	for _, a := range []*Alarm{x, m} {
		if err := s.Put(a); err != nil {
			t.Fatal(err)
		}
	}
	last := map[string]int64{}
	steps := []struct {
		name    string
		own     []string
		advance time.Duration
		read    []string // this pass's reads, sorted
		kept    []string // the alarms the evaluator remembers after it
	}{
		{name: "owning x", own: []string{"x"}, read: []string{"x"}, kept: []string{"x"}},
		{name: "x moved away, m here", own: []string{"m"}, read: []string{"math:m"}, kept: []string{"m"}},
		{name: "x back in the same period", own: []string{"m", "x"}, read: []string{"x"}, kept: []string{"m", "x"}},
		{name: "the next period", own: []string{"m", "x"}, advance: time.Minute, read: []string{"math:m", "x"}, kept: []string{"m", "x"}},
		{name: "the same period again", own: []string{"m", "x"}, kept: []string{"m", "x"}},
		{name: "owning none", own: nil, advance: time.Minute},
	}
	for _, st := range steps {
		o.set(st.own...)
		clock.add(st.advance)
		before := len(reads.metrics())
		e.EvaluateDue(context.Background(), last)
		got := reads.metrics()[before:]
		slices.Sort(got)
		if !slices.Equal(got, st.read) {
			t.Errorf("%s: read %v; want %v", st.name, got, st.read)
		}
		var kept []string
		for id := range last {
			kept = append(kept, id[len("t\x00"):])
		}
		slices.Sort(kept)
		if !slices.Equal(kept, st.kept) {
			t.Errorf("%s: the evaluator remembers %v; want %v", st.name, kept, st.kept)
		}
	}
}

// TestOwnsCompositeMovedHere: a composite alarm is re-evaluated on a
// child's change (by this node or merged from a peer) only where it is
// owned; one that moves here is re-evaluated at the next pass from the
// children that changed since its state, so a change no owner saw is not
// lost, while a state set after its children's stands.
func TestOwnsCompositeMovedHere(t *testing.T) {
	clock := &syncClock{t: time.Date(2026, 12, 3, 10, 0, 30, 0, time.UTC)}
	o := &owning{}
	s, e := ownedStore(t, o, &countingReader{}, clock) // the child x is never owned here: only SetState and merges move it
	if err := s.Put(testMetricAlarm("x", 1)); err != nil {
		t.Fatal(err)
	}
	c := &CompositeAlarm{Base: Base{Tenant: "t", Name: "c"}, Rule: "ALARM(x)"}
	if err := c.ParseRule(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	last := map[string]int64{}
	setX := func(value string) {
		t.Helper()
		clock.add(time.Second)
		if err := s.SetState("t", "x", State{Value: value, Reason: "test", Updated: clock.now()}); err != nil {
			t.Fatal(err)
		}
	}
	mergeX := func(value string) {
		t.Helper()
		clock.add(time.Second)
		x := *s.Alarm("t", "x").(*Alarm)
		x.State = State{Value: value, Reason: "peer", Updated: clock.now()}
		x.StateRev, x.StateRevBy = s.rev+1000, "peer"
		if n, err := s.Merge([]Entry{alarmEntry(t, &x)}); err != nil || n != 1 {
			t.Fatalf("merge x: %d, %v", n, err)
		}
	}
	pass := func() { clock.add(time.Second); e.EvaluateDue(context.Background(), last) }
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{name: "put: evaluated where it is put", do: func() {}, want: StateOK},
		{name: "a child's change, not owned", do: func() { setX(StateAlarm) }, want: StateOK},
		{name: "a pass, not owned", do: pass, want: StateOK},
		{name: "moved here: the missed change counts", do: func() { o.set("c"); pass() }, want: StateAlarm},
		{name: "a child's change, owned", do: func() { setX(StateOK) }, want: StateOK},
		{name: "a peer's change of a child, owned", do: func() { mergeX(StateAlarm) }, want: StateAlarm},
		{name: "a peer's change of a child, not owned", do: func() { o.set(); mergeX(StateOK) }, want: StateAlarm},
		{name: "moved here again, before a pass saw it go", do: func() { o.set("c"); pass() }, want: StateOK},
		{name: "set by the API after its child's change", do: func() {
			clock.add(time.Second)
			if err := s.SetState("t", "c", State{Value: StateAlarm, Reason: "test", Updated: clock.now()}); err != nil {
				t.Fatal(err)
			}
		}, want: StateAlarm},
		{name: "moved away and back: the set state stands", do: func() { o.set(); pass(); o.set("c"); pass() }, want: StateAlarm},
	}
	for _, st := range steps {
		st.do()
		if got := s.Alarm("t", "c").Common().State.Value; got != st.want {
			t.Errorf("%s: c is %s; want %s", st.name, got, st.want)
		}
	}
	if _, ok := last["t\x00x"]; ok {
		t.Error("the evaluator remembers x, which it never owned")
	}
}
