package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/record"
)

// testClock is an injectable clock.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := new(testClock)
	c.set(t)
	return c
}
func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// t0 is a minute-aligned test time.
var t0 = time.Unix(1_767_225_600, 0) // 2026-01-01T00:00:00Z

func newTestLocal(t testing.TB, clock *testClock, reg prometheus.Registerer) *Local {
	t.Helper()
	l, err := NewLocal(LocalConfig{Now: clock.now}, nil, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dims(kv ...string) []record.Dimension {
	var ds []record.Dimension
	for i := 0; i+1 < len(kv); i += 2 {
		ds = append(ds, record.Dimension{Name: kv[i], Value: kv[i+1]})
	}
	return ds
}

func datum(name string, ds []record.Dimension, unit string, ts time.Time, v float64) record.Datum {
	return record.Datum{MetricName: name, Dimensions: ds, Unit: unit, Timestamp: ts.UnixMilli(), Value: v}
}

func apply(l *Local, ds ...record.Datum) {
	l.Apply(&record.Metrics{Tenant: "t1", Namespace: "App", Datums: ds})
}

// buckets returns every bucket of ref in [start, end).
func buckets(l *Local, ref SeriesRef, start, end time.Time) []Aggregate {
	var out []Aggregate
	l.Range(ref, start.Unix(), end.Unix(), func(a *Aggregate) { out = append(out, *a.Clone()) })
	return out
}

func lookup1(t *testing.T, l *Local, name string, ds []record.Dimension) SeriesRef {
	t.Helper()
	refs := l.Lookup("t1", "App", name, ds)
	if len(refs) != 1 {
		t.Fatalf("got %d series for %s %v; want 1", len(refs), name, ds)
	}
	return refs[0]
}

func TestLocalCloudWatchExamples(t *testing.T) {
	clock := newClock(t0.Add(5 * time.Minute))
	l := newTestLocal(t, clock, nil)
	ts := t0.Add(time.Minute + 10*time.Second)
	d := dims("Host", "a")

	vs := datum("values", d, "None", ts, 0)
	vs.Values, vs.Counts = []float64{1, 10}, []float64{2, 4}
	st := datum("stats", d, "None", ts.Add(20*time.Second), 0)
	st.Stats = &record.StatisticSet{SampleCount: 10, Sum: 55, Min: 1, Max: 10}
	apply(l, vs, datum("stats", d, "None", ts, 11), st)

	got := buckets(l, lookup1(t, l, "values", d), t0, t0.Add(time.Hour))
	if len(got) != 1 || got[0].Count != 6 || got[0].Sum != 42 || got[0].Max != 10 || got[0].Start != t0.Unix()+60 || got[0].Width != 60 {
		t.Errorf("values: got %+v; want one 60 s bucket at %d with Count 6, Sum 42, Max 10", got, t0.Unix()+60)
	}
	got = buckets(l, lookup1(t, l, "stats", d), t0, t0.Add(time.Hour))
	if len(got) != 1 || got[0].Count != 11 || got[0].Sum != 66 || got[0].Min != 1 || got[0].Max != 11 {
		t.Errorf("stats: got %+v; want one bucket with Count 11, Sum 66, Min 1, Max 11", got)
	}

	// Units are separate series.
	apply(l, datum("units", d, "Seconds", ts, 1), datum("units", d, "Count", ts, 5), datum("units", d, "None", ts, 10))
	refs := l.Lookup("t1", "App", "units", d)
	if len(refs) != 3 {
		t.Fatalf("got %d series for three units; want 3", len(refs))
	}
	avg := map[string]float64{}
	for _, ref := range refs {
		for _, a := range buckets(l, ref, t0, t0.Add(time.Hour)) {
			avg[l.Key(ref).Unit] = a.Sum / a.Count
		}
	}
	if want := map[string]float64{"Seconds": 1, "Count": 5, "None": 10}; !mapsEqual(avg, want) {
		t.Errorf("got averages by unit %v; want %v", avg, want)
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestLocalLookupAndKey(t *testing.T) {
	clock := newClock(t0)
	l := newTestLocal(t, clock, nil)
	ts := t0.Add(-time.Minute)
	apply(l,
		datum("cpu", dims("Host", "a", "Az", "1"), "Percent", ts, 1), // unsorted on purpose
		datum("cpu", dims("Az", "1"), "Percent", ts, 2),
		datum("cpu", nil, "Percent", ts, 3),
	)
	l.Apply(&record.Metrics{Tenant: "t2", Namespace: "App", Datums: []record.Datum{datum("cpu", nil, "Percent", ts, 4)}})

	ref := lookup1(t, l, "cpu", dims("Az", "1", "Host", "a"))
	k := l.Key(ref)
	want := SeriesKey{Tenant: "t1", Namespace: "App", MetricName: "cpu", Dimensions: dims("Az", "1", "Host", "a"), Unit: "Percent"}
	if k.Tenant != want.Tenant || k.Namespace != want.Namespace || k.MetricName != want.MetricName ||
		!slices.Equal(k.Dimensions, want.Dimensions) || k.Unit != want.Unit {
		t.Errorf("got key %+v; want %+v", k, want)
	}
	if got := l.Lookup("t1", "App", "cpu", dims("Host", "a")); len(got) != 0 {
		t.Errorf("got %d series for a subset of dimensions; want 0 (exact match)", len(got))
	}
	if got := l.Lookup("t3", "App", "cpu", nil); len(got) != 0 {
		t.Errorf("got %d series of another tenant; want 0", len(got))
	}
	for _, tc := range []struct {
		tenant string
		want   int
	}{{"t1", 3}, {"t2", 1}, {"t3", 0}} {
		n := 0
		l.Series(tc.tenant, func(ref SeriesRef, key *SeriesKey, newest int64) bool {
			n++
			if key.Tenant != tc.tenant || newest != ts.Unix() {
				t.Errorf("got series %+v newest %d; want tenant %s newest %d", key, newest, tc.tenant, ts.Unix())
			}
			return true
		})
		if n != tc.want {
			t.Errorf("tenant %s: got %d series; want %d", tc.tenant, n, tc.want)
		}
	}
	n := 0
	l.Series("t1", func(SeriesRef, *SeriesKey, int64) bool { n++; return false })
	if n != 1 {
		t.Errorf("got %d calls after fn returned false; want 1", n)
	}
	if got := l.NumSeries(); got != 4 {
		t.Errorf("got %d series; want 4", got)
	}
}

func TestLocalConcurrentCollisions(t *testing.T) {
	clock := newClock(t0.Add(30 * time.Second))
	l := newTestLocal(t, clock, nil)
	const writers, perWriter = 50, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				d := datum("latency", dims("Service", "api"), "Milliseconds", t0.Add(time.Duration(i%60)*time.Second), float64(w*perWriter+i))
				apply(l, d)
			}
		})
	}
	// Readers run concurrently.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, ref := range l.Lookup("t1", "App", "latency", dims("Service", "api")) {
				l.Range(ref, t0.Unix(), t0.Unix()+60, func(a *Aggregate) { _, _ = a.Percentile(99) })
			}
			_ = l.Bytes()
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()

	got := buckets(l, lookup1(t, l, "latency", dims("Service", "api")), t0, t0.Add(time.Minute))
	n := float64(writers * perWriter)
	if len(got) != 1 || got[0].Count != n || got[0].Sum != n*(n-1)/2 || got[0].Min != 0 || got[0].Max != n-1 {
		t.Fatalf("got %+v; want one bucket with Count %v, Sum %v, Min 0, Max %v", got, n, n*(n-1)/2, n-1)
	}
	if p, _ := got[0].Percentile(50); math.Abs(p-n/2) > 0.01*n/2+1 {
		t.Errorf("got p50 %v; want about %v", p, n/2)
	}
}

func TestLocalSealingAndLateData(t *testing.T) {
	clock := newClock(t0)
	l := newTestLocal(t, clock, nil)
	d := dims("Host", "a")
	rng := rand.New(rand.NewPCG(1, 1))
	want := map[int64]*Aggregate{}
	add := func(ts time.Time, v float64) {
		apply(l, datum("m", d, "None", ts, v))
		start := ts.Unix() / 60 * 60
		if want[start] == nil {
			want[start] = &Aggregate{Start: start, Width: 60}
		}
		d := record.Datum{Value: v, Timestamp: ts.UnixMilli()}
		want[start].AddDatum(&d)
	}
	// Two and a half hours of minutes, written as time passes.
	for i := range 150 {
		clock.set(t0.Add(time.Duration(i)*time.Minute + 30*time.Second))
		add(t0.Add(time.Duration(i)*time.Minute+5*time.Second), math.Round(rng.Float64()*10000)/10)
		if i%3 == 0 {
			add(t0.Add(time.Duration(i)*time.Minute+7*time.Second), math.Round(rng.Float64()*10000)/10)
		}
	}
	ref := lookup1(t, l, "m", d)
	sh, slot, gen := ref.parts()
	l.shards[sh].mu.RLock()
	s := l.shards[sh].get(slot, gen)
	nOpen, nChunks := len(s.open), len(s.chunks)
	l.shards[sh].mu.RUnlock()
	if nOpen > 4 || nChunks < 3 {
		t.Fatalf("got %d open buckets and %d chunks; want at most 4 open and the rest sealed in >= 3 chunks", nOpen, nChunks)
	}
	// Late data into sealed buckets: existing ones, new ones between them,
	// one before everything, a high-resolution bucket among sealed ones.
	late := 0
	for _, m := range []int{0, 1, 59, 60, 61, 100, 140} {
		add(t0.Add(time.Duration(m)*time.Minute+40*time.Second), 1234.5)
		late++
	}
	add(t0.Add(-time.Minute), 3) // before the first bucket
	hr := datum("m", d, "None", t0.Add(90*time.Minute+15*time.Second), 7)
	hr.HighRes = true
	apply(l, hr)

	got := buckets(l, ref, t0.Add(-time.Hour), t0.Add(4*time.Hour))
	if len(got) != len(want)+1 {
		t.Fatalf("got %d buckets; want %d", len(got), len(want)+1)
	}
	prev := int64(math.MinInt64)
	for i := range got {
		a := &got[i]
		if a.Start < prev {
			t.Fatalf("got bucket %d at %d after %d; want ascending", i, a.Start, prev)
		}
		prev = a.Start
		if a.Width == 1 {
			if a.Start != t0.Unix()+90*60+15 || a.Count != 1 || a.Sum != 7 {
				t.Errorf("got high-resolution bucket %+v; want Start %d Count 1 Sum 7", *a, t0.Unix()+90*60+15)
			}
			continue
		}
		w := want[a.Start]
		if w == nil || !sameAggregate(a, w) {
			t.Errorf("bucket at %d: got %+v; want %+v", a.Start, *a, w)
		}
	}
	// Sub-ranges.
	if got := buckets(l, ref, t0.Add(60*time.Minute), t0.Add(62*time.Minute)); len(got) != 2 || got[0].Start != t0.Unix()+3600 {
		t.Errorf("got %d buckets in [60m, 62m); want 2 starting at %d", len(got), t0.Unix()+3600)
	}
	if got := buckets(l, ref, t0.Add(200*time.Minute), t0.Add(300*time.Minute)); len(got) != 0 {
		t.Errorf("got %d buckets after the data; want 0", len(got))
	}
}

func TestLocalWindow(t *testing.T) {
	clock := newClock(t0)
	reg := prometheus.NewRegistry()
	l := newTestLocal(t, clock, reg)
	d := dims("Host", "a")
	// Out of window: the bucket ended at or before now-3h.
	apply(l,
		datum("m", d, "None", t0.Add(-3*time.Hour-time.Second), 1),                                  // bucket [-3h-1m, -3h): out
		datum("m", d, "None", t0.Add(-3*time.Hour), 2),                                              // bucket [-3h, -3h+1m): in
		datum("m", d, "None", t0.Add(-2*time.Hour), 3),                                              // in
		datum("m", d, "None", t0.Add(-time.Minute), 4),                                              // in
		datum("other", d, "None", t0.Add(-4*time.Hour), 5),                                          // out: no series
		record.Datum{MetricName: "bad", Unit: "None", Timestamp: t0.UnixMilli(), Value: math.NaN()}, // invalid
	)
	if got := testutil.ToFloat64(l.outOfWindow); got != 2 {
		t.Errorf("got %v out-of-window datums; want 2", got)
	}
	if got := testutil.ToFloat64(l.invalid); got != 1 {
		t.Errorf("got %v invalid datums; want 1", got)
	}
	if got := testutil.ToFloat64(l.applied); got != 3 {
		t.Errorf("got %v applied datums; want 3", got)
	}
	if got := l.Lookup("t1", "App", "other", d); len(got) != 0 {
		t.Errorf("got a series for an out-of-window datum; want none")
	}
	ref := lookup1(t, l, "m", d)
	sum := func() float64 {
		s := 0.0
		l.Range(ref, 0, math.MaxInt64, func(a *Aggregate) { s += a.Sum })
		return s
	}
	if got := sum(); got != 9 {
		t.Errorf("got sum %v; want 9", got)
	}

	// A minute later the oldest bucket is out: reads skip it at once, the
	// trim drops it.
	clock.advance(time.Minute)
	if got := sum(); got != 7 {
		t.Errorf("got sum %v a minute later; want 7", got)
	}
	before := l.Bytes()
	l.Trim()
	if got := sum(); got != 7 {
		t.Errorf("got sum %v after trim; want 7", got)
	}
	if got := testutil.ToFloat64(l.trimmed); got != 1 {
		t.Errorf("got %v buckets trimmed; want 1", got)
	}
	if l.Bytes() >= before {
		t.Errorf("got %d bytes after trim; want less than %d", l.Bytes(), before)
	}

	// After the window everything is gone, the series too, and the ref is stale.
	clock.advance(3 * time.Hour)
	l.Trim()
	if got := sum(); got != 0 {
		t.Errorf("got sum %v after the window; want 0", got)
	}
	if n := l.NumSeries(); n != 0 {
		t.Errorf("got %d series after the window; want 0", n)
	}
	if k := l.Key(ref); k.MetricName != "" {
		t.Errorf("got key %+v for a stale ref; want the zero key", k)
	}
	if b := l.Bytes(); b != 0 {
		t.Errorf("got %d bytes when empty; want 0", b)
	}
	// A new series reusing the slot gets a new ref.
	apply(l, datum("m", d, "None", clock.now(), 1))
	if ref2 := lookup1(t, l, "m", d); ref2 == ref {
		t.Errorf("got the stale ref %d again; want a new one", ref)
	}
	if got := testutil.ToFloat64(l.trimmed); got != 3 {
		t.Errorf("got %v buckets trimmed; want 3", got)
	}
	if n, err := testutil.GatherAndCount(reg, "cellwatch_store_series", "cellwatch_store_bytes",
		"cellwatch_store_datums_applied_total", "cellwatch_store_datums_dropped_total",
		"cellwatch_store_buckets_trimmed_total"); err != nil || n != 7 {
		t.Errorf("got %d metrics (%v); want 7", n, err)
	}
}

func TestLocalTrimChunks(t *testing.T) {
	// Sealed chunks are dropped whole once all their buckets left the
	// window; until then reads hide expired buckets.
	clock := newClock(t0)
	l := newTestLocal(t, clock, nil)
	d := dims("Host", "a")
	for i := range 240 {
		clock.set(t0.Add(time.Duration(i)*time.Minute + 30*time.Second))
		apply(l, datum("m", d, "None", t0.Add(time.Duration(i)*time.Minute), float64(i)))
		if i%10 == 0 {
			l.Trim()
		}
	}
	l.Trim()
	ref := lookup1(t, l, "m", d)
	got := buckets(l, ref, t0, t0.Add(5*time.Hour))
	// now = 239m30s; window starts at 59m30s: buckets 59.. whose end > cutoff are kept.
	if len(got) != 181 || got[0].Start != t0.Unix()+59*60 {
		t.Errorf("got %d buckets from %d; want 181 from %d", len(got), got[0].Start, t0.Unix()+59*60)
	}
	sh, slot, gen := ref.parts()
	s := l.shards[sh].get(slot, gen)
	for _, c := range s.chunks {
		if c.end() <= clock.now().Unix()-3*3600 {
			t.Errorf("got a chunk ending at %d kept after trim; want it dropped", c.end())
		}
	}
}

type fakeWAL struct {
	recs [][]byte
	err  error
}

func (w *fakeWAL) Replay(ctx context.Context, from uint64, fn func(offset uint64, rec []byte) error) error {
	for i := from; i < uint64(len(w.recs)); i++ {
		if err := fn(i, w.recs[i]); err != nil {
			return err
		}
	}
	return w.err
}

func TestLocalRebuild(t *testing.T) {
	clock := newClock(t0)
	reg := prometheus.NewRegistry()
	l := newTestLocal(t, clock, reg)
	d := dims("Host", "a")
	m1 := record.Metrics{Tenant: "t1", Namespace: "App", Datums: []record.Datum{
		datum("m", d, "None", t0.Add(-10*time.Minute), 1),
		datum("m", d, "None", t0.Add(-4*time.Hour), 100), // out of window
	}}
	m2 := record.Metrics{Tenant: "t1", Namespace: "App", Datums: []record.Datum{datum("m", d, "None", t0.Add(-10*time.Minute), 2)}}
	good1 := record.AppendMetrics(nil, &m1)
	good2 := record.AppendMetrics(nil, &m2)
	wal := &fakeWAL{recs: [][]byte{
		good1,
		{},                   // empty: corrupt
		{99, 1, 2, 3},        // another kind: skipped
		good2[:len(good2)-3], // truncated: corrupt
		good2,
	}}
	if err := l.Rebuild(context.Background(), wal); err != nil {
		t.Fatal(err)
	}
	got := buckets(l, lookup1(t, l, "m", d), t0.Add(-time.Hour), t0)
	if len(got) != 1 || got[0].Count != 2 || got[0].Sum != 3 {
		t.Errorf("got %+v; want one bucket with Count 2, Sum 3", got)
	}
	if got := testutil.ToFloat64(l.corrupt); got != 2 {
		t.Errorf("got %v corrupt records; want 2", got)
	}
	if got := testutil.ToFloat64(l.outOfWindow); got != 1 {
		t.Errorf("got %v out-of-window datums; want 1", got)
	}
	wal.err = errors.New("disk on fire")
	if err := l.Rebuild(context.Background(), wal); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v; want the replay error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Rebuild(ctx, &fakeWAL{recs: [][]byte{good1}}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v; want context.Canceled", err)
	}
}

func TestLocalAdmit(t *testing.T) {
	clock := newClock(t0)
	l, err := NewLocal(LocalConfig{Now: clock.now, MaxBytes: 10_000}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Admit(); err != nil {
		t.Fatalf("got %v on an empty store; want nil", err)
	}
	for i := 0; l.Bytes() < 10_000; i++ {
		apply(l, datum("m", dims("Host", fmt.Sprint(i)), "None", t0, 1))
	}
	err = l.Admit()
	if !errors.Is(err, ErrFull) {
		t.Fatalf("got %v; want ErrFull", err)
	}
	if want := fmt.Sprintf("local store is full: using %d of 10000 bytes (-store.max-bytes)", l.Bytes()); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q; want it to start with %q", err, want)
	}
}

func TestNewLocalConfig(t *testing.T) {
	for _, cfg := range []LocalConfig{{Window: time.Millisecond}, {MaxBytes: -1}, {TrimInterval: -time.Second}} {
		if _, err := NewLocal(cfg, nil, nil, nil); err == nil {
			t.Errorf("got no error for %+v; want one", cfg)
		}
	}
	l, err := NewLocal(LocalConfig{}, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.Window != 3*time.Hour || l.cfg.MaxBytes != 2<<30 || l.cfg.TrimInterval != 30*time.Second {
		t.Errorf("got defaults %+v; want 3h, 2 GiB, 30s", l.cfg)
	}
}

func TestLocalService(t *testing.T) {
	clock := newClock(t0)
	l, err := NewLocal(LocalConfig{Now: clock.now, TrimInterval: 10 * time.Millisecond}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	apply(l, datum("m", nil, "None", t0, 1))
	if err := services.StartAndAwaitRunning(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	defer services.StopAndAwaitTerminated(context.Background(), l) //nolint:errcheck
	clock.advance(4 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for l.NumSeries() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d series 5 s after the window passed; want the service to trim them", l.NumSeries())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRangeCallbackMayCallStore(t *testing.T) {
	clock := newClock(t0)
	l := newTestLocal(t, clock, nil)
	for i := range 10 {
		apply(l, datum("m", nil, "None", t0.Add(-time.Duration(i)*time.Minute), 1))
	}
	ref := lookup1(t, l, "m", nil)
	n := 0
	l.Range(ref, 0, math.MaxInt64, func(a *Aggregate) {
		apply(l, datum("m", nil, "None", t0, 1)) // would deadlock if Range held the lock
		_ = l.Key(ref)
		n++
	})
	if n != 10 {
		t.Errorf("got %d buckets; want 10", n)
	}
}
