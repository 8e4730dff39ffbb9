package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/record"
)

// randomDatums returns n datums of a few series in [from, to), in every form.
func randomDatums(rng *rand.Rand, n int, from, to time.Time, highRes func() bool) []record.Datum {
	out := make([]record.Datum, n)
	span := int64(to.Sub(from))
	for i := range out {
		ts := from.Add(time.Duration(rng.Int64N(span)))
		unit := []string{"None", "Milliseconds"}[rng.IntN(2)]
		d := datum([]string{"Latency", "Errors", "Size"}[rng.IntN(3)], dims("Host", fmt.Sprint("h", rng.IntN(3)), "AZ", "a"), unit, ts, 0)
		d.HighRes = highRes()
		switch rng.IntN(8) {
		case 0:
			d.Values = []float64{float64(rng.IntN(100)), math.Round(rng.Float64()*1000) / 10}
			d.Counts = []float64{1, float64(1 + rng.IntN(3))}
		case 1:
			v := float64(rng.IntN(10))
			d.Stats = &record.StatisticSet{SampleCount: 3, Sum: 3 * v, Min: v, Max: v}
		case 2:
			d.Stats = &record.StatisticSet{SampleCount: 4, Sum: 10, Min: 1, Max: 4}
		case 3:
			d.Value = -float64(rng.IntN(50)) / 10
		default:
			d.Value = math.Round(rng.ExpFloat64()*1000) / 10
			d.Sample = rng.IntN(2) == 0 // a Prometheus sample: the bucket keeps its last value
		}
		out[i] = d
	}
	return out
}

// TestLongTermMatchesLocal applies the same datums to a Local store and the
// long-term store and compares every bucket: 1 s buckets (RangePeriod with a
// 1 s period) and 60 s buckets (Local's buckets merged into minutes).
func TestLongTermMatchesLocal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		highRes float64 // share of high-resolution datums
	}{
		{"standard", 0},
		{"high-resolution", 1},
		{"mixed", 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tc.highRes*10)))
			clock := newClock(t0.Add(3 * time.Hour))
			l := newTestLocal(t, clock, nil)
			lt := openTestLongTerm(t, t.TempDir(), clock, nil)
			closeOnCleanup(t, &lt)
			from, to := t0.Add(10*time.Minute), t0.Add(3*time.Hour)
			ds := randomDatums(rng, 3000, from, to, func() bool { return rng.Float64() < tc.highRes })
			var msgs []Message
			for i := 0; i < len(ds); i += 7 {
				m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: ds[i:min(i+7, len(ds))]}
				l.Apply(&m)
				msgs = append(msgs, metricsMsg(int64(len(msgs)), "node-a", uint64(100*len(msgs)), &m))
			}
			for i := 0; i < len(msgs); i += 50 {
				if err := lt.ApplyBatch(0, msgs[i:min(i+50, len(msgs))]); err != nil {
					t.Fatal(err)
				}
			}

			want1, want60 := model{}, model{}
			l.Series("t1", func(ref SeriesRef, key *SeriesKey, _ int64) bool {
				name := seriesName(key)
				l.Range(ref, from.Unix(), to.Unix(), func(a *Aggregate) {
					if a.Width == 1 {
						want1[bucketKey{name, a.Start, 1}] = a.Clone()
					}
					m := floorDiv(a.Start, 60) * 60
					bk := bucketKey{name, m, 60}
					if want60[bk] == nil {
						want60[bk] = &Aggregate{Start: m, Width: 60}
					}
					want60[bk].Merge(a)
				})
				return true
			})
			got1, got60 := model{}, model{}
			nSeries := 0
			lt.Series("t1", func(ref SeriesRef, key *SeriesKey, _ int64) bool {
				nSeries++
				name := seriesName(key)
				if refs := lt.Lookup(key.Tenant, key.Namespace, key.MetricName, key.Dimensions); !slices.Contains(refs, ref) {
					t.Errorf("Lookup(%s) = %v; want it to contain %d", name, refs, ref)
				}
				lt.RangePeriod(ref, from.Unix(), to.Unix(), 1, func(a *Aggregate) { got1[bucketKey{name, a.Start, a.Width}] = a.Clone() })
				lt.RangePeriod(ref, from.Unix(), to.Unix(), 60, func(a *Aggregate) { got60[bucketKey{name, a.Start, a.Width}] = a.Clone() })
				return true
			})
			if nSeries != l.NumSeries() {
				t.Errorf("long-term store has %d series; local %d", nSeries, l.NumSeries())
			}
			if len(want60) == 0 || (tc.highRes > 0 && len(want1) == 0) {
				t.Fatalf("local store returned %d/%d buckets", len(want1), len(want60))
			}
			t.Run("1s", func(t *testing.T) { compareModels(t, got1, want1) })
			t.Run("60s", func(t *testing.T) { compareModels(t, got60, want60) })
		})
	}
}

// TestLongTermExactlyOnce replays, overlaps and interleaves batches (and
// reopens the store between them) and checks that every message counts
// exactly once.
func TestLongTermExactlyOnce(t *testing.T) {
	// Messages of partition 0: origins a and b interleaved, each ascending.
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 40
	msgs := make([]Message, n)
	metrics := make([]record.Metrics, n)
	for i := range msgs {
		origin, walOff := "node-a", uint64(1000+10*i)
		if i%3 == 1 {
			origin, walOff = "node-b", uint64(5+i)
		}
		ds := make([]record.Datum, 4)
		for j := range ds {
			ds[j] = datum("Requests", dims("Host", fmt.Sprint("h", rng.IntN(3))), "Count",
				t0.Add(time.Duration(rng.IntN(120))*time.Minute), float64(rng.IntN(100)))
		}
		metrics[i] = record.Metrics{Tenant: "t1", Namespace: "App", Datums: ds}
		msgs[i] = metricsMsg(int64(i), origin, walOff, &metrics[i])
	}
	type step struct {
		from, to int  // apply msgs[from:to]
		reopen   bool // close and reopen before the step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"once", []step{{0, n, false}}},
		{"same batch twice", []step{{0, 20, false}, {0, 20, false}, {20, n, false}}},
		{"overlapping batches", []step{{0, 15, false}, {10, 30, false}, {25, n, false}}},
		{"one by one then all", []step{{0, 1, false}, {1, 2, false}, {2, 3, false}, {0, n, false}}},
		{"reopen between", []step{{0, 20, false}, {5, 25, true}, {0, n, true}}},
		{"replay everything after reopen", []step{{0, n, false}, {0, n, true}, {0, n, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock(t0.Add(3 * time.Hour))
			dir := t.TempDir()
			lt := openTestLongTerm(t, dir, clock, nil)
			closeOnCleanup(t, &lt)
			for _, s := range tc.steps {
				if s.reopen {
					if err := stopLongTerm(lt); err != nil {
						t.Fatal(err)
					}
					lt = openTestLongTerm(t, dir, clock, nil)
				}
				if err := lt.ApplyBatch(0, msgs[s.from:s.to]); err != nil {
					t.Fatal(err)
				}
			}
			want := model{}
			for i := range metrics {
				want.apply(&metrics[i], clock.now().Unix())
			}
			from, to := t0.Add(-240*time.Hour).Unix(), t0.Add(240*time.Hour).Unix()
			compareModels(t, dump(lt, "t1", from, to), want)
			// Again after pebble folded the merge operands (flush, compaction).
			if err := lt.db.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := lt.db.Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
				t.Fatal(err)
			}
			compareModels(t, dump(lt, "t1", from, to), want)
			if got := lt.NextOffset(0); got != n {
				t.Errorf("NextOffset = %d; want %d", got, n)
			}
			marks, err := lt.Marks(0)
			if err != nil {
				t.Fatal(err)
			}
			if marks["node-a"] != 1000+10*(n-1) || marks["node-b"] != 5+37 {
				t.Errorf("marks = %v; want node-a %d, node-b %d", marks, 1000+10*(n-1), 5+37)
			}
		})
	}
}

// TestLongTermPartitionsAreIndependent applies the same WAL offsets of one
// origin to two partitions (one WAL record split by series): both apply.
func TestLongTermPartitionsAreIndependent(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	want := model{}
	for p := range 2 {
		m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: []record.Datum{
			datum("M", dims("Part", fmt.Sprint(p)), "None", t0, float64(p+1)),
		}}
		want.apply(&m, clock.now().Unix())
		if err := lt.ApplyBatch(p, []Message{metricsMsg(0, "node-a", 77, &m)}); err != nil {
			t.Fatal(err)
		}
		// A retry of the same part is dropped.
		if err := lt.ApplyBatch(p, []Message{metricsMsg(1, "node-a", 77, &m)}); err != nil {
			t.Fatal(err)
		}
	}
	compareModels(t, dump(lt, "t1", t0.Unix()-86400, t0.Unix()+86400), want)
}

// TestLongTermGaps records gap markers (once, however often they arrive),
// keeps the record after a gap (the shipper sends the marker with the
// offset of the first record it kept), and records a corrupt message as a
// gap of its one offset.
func TestLongTermGaps(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	dir := t.TempDir()
	lt := openTestLongTerm(t, dir, clock, nil)
	closeOnCleanup(t, &lt)
	m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: []record.Datum{datum("M", nil, "None", t0, 5)}}
	g := record.Gap{From: 100, To: 500, FirstMs: t0.UnixMilli(), LastMs: t0.Add(time.Minute).UnixMilli()}
	corrupt := metricsMsg(4, "node-a", 600, &m)
	corrupt.Shipped.Body = corrupt.Shipped.Body[:5]
	batch := []Message{
		metricsMsg(0, "node-a", 50, &m),
		gapMsg(1, "node-a", 500, g),      // as the shipper sends it: Offset = To
		metricsMsg(2, "node-a", 500, &m), // the first kept record
		gapMsg(3, "node-a", 500, g),      // the marker again (another retry)
		corrupt,
		{Offset: 5, Shipped: record.Shipped{Origin: "node-a", Offset: 700, Kind: 99, Body: []byte{1}}}, // unknown kind
	}
	for range 2 {
		if err := lt.ApplyBatch(3, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := lt.SkipStream(3, 6, 9); err != nil {
		t.Fatal(err)
	}
	if got := lt.NextOffset(3); got != 9 {
		t.Errorf("NextOffset = %d; want 9", got)
	}
	if err := stopLongTerm(lt); err != nil {
		t.Fatal(err)
	}
	lt = openTestLongTerm(t, dir, clock, nil)
	gaps, err := lt.Gaps(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	want := []GapRecord{
		{Origin: "node-a", Partition: 3, From: 100, To: 500, FirstMs: g.FirstMs, LastMs: g.LastMs},
		{Origin: "node-a", Partition: 3, From: 600, To: 601, FirstMs: -1, LastMs: -1},
		{Stream: true, Partition: 3, From: 6, To: 9, FirstMs: t0.UnixMilli(), LastMs: clock.now().UnixMilli()},
	}
	if !slices.Equal(gaps, want) {
		t.Errorf("Gaps =\n%+v\nwant\n%+v", gaps, want)
	}
	// Time filtering: only the gaps that may overlap.
	if gaps, _ := lt.Gaps(t0.Add(2*time.Hour).UnixMilli(), t0.Add(3*time.Hour).UnixMilli()); len(gaps) != 1 || gaps[0].From != 600 {
		t.Errorf("Gaps in a later hour = %+v; want only the one of unknown span", gaps)
	}
	var n float64
	ref := lt.Lookup("t1", "App", "M", nil)
	if len(ref) != 1 {
		t.Fatalf("Lookup = %v", ref)
	}
	lt.RangePeriod(ref[0], t0.Unix(), t0.Unix()+60, 60, func(a *Aggregate) { n += a.Count })
	if n != 2 {
		t.Errorf("count = %v; want 2 (the record before the gap and the first after it, once each)", n)
	}
}

// TestLongTermSeriesIDs assigns ids from concurrent batches of four
// partitions over overlapping series: one id per key, stable across a
// reopen, and new ids never collide with old ones.
func TestLongTermSeriesIDs(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	dir := t.TempDir()
	lt := openTestLongTerm(t, dir, clock, nil)
	closeOnCleanup(t, &lt)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for p := range 4 {
		wg.Go(func() {
			for i := range 20 {
				var ds []record.Datum
				for s := range 50 {
					ds = append(ds, datum("M", dims("S", fmt.Sprint((s+p*13+i)%70)), []string{"None", "Bytes"}[s%2], t0, 1))
				}
				m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: ds}
				if err := lt.ApplyBatch(p, []Message{metricsMsg(int64(i), "n", uint64(i), &m)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ids := func() map[string]SeriesRef {
		out := map[string]SeriesRef{}
		lt.Series("t1", func(ref SeriesRef, key *SeriesKey, newest int64) bool {
			name := seriesName(key)
			if _, dup := out[name]; dup {
				t.Errorf("series %s listed twice", name)
			}
			out[name] = ref
			if newest != t0.Unix() {
				t.Errorf("newest of %s = %d; want %d", name, newest, t0.Unix())
			}
			if k := lt.Key(ref); seriesName(&k) != name {
				t.Errorf("Key(%d) = %s; want %s", ref, seriesName(&k), name)
			}
			return true
		})
		return out
	}
	before := ids()
	if len(before) != 140 {
		t.Errorf("%d series; want 140", len(before))
	}
	seen := map[SeriesRef]bool{}
	for _, ref := range before {
		if seen[ref] {
			t.Errorf("id %d assigned twice", ref)
		}
		seen[ref] = true
	}
	if err := stopLongTerm(lt); err != nil {
		t.Fatal(err)
	}
	lt = openTestLongTerm(t, dir, clock, nil)
	after := ids()
	if len(after) != len(before) {
		t.Fatalf("%d series after reopen; want %d", len(after), len(before))
	}
	for k, ref := range before {
		if after[k] != ref {
			t.Errorf("%s: id %d after reopen; was %d", k, after[k], ref)
		}
	}
	m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: []record.Datum{datum("New", nil, "None", t0, 1)}}
	if err := lt.ApplyBatch(0, []Message{metricsMsg(100, "n", 100, &m)}); err != nil {
		t.Fatal(err)
	}
	refs := lt.Lookup("t1", "App", "New", nil)
	if len(refs) != 1 || seen[refs[0]] {
		t.Errorf("new series got %v; want one fresh id", refs)
	}
	if refs := lt.Lookup("t1", "App", "M", dims("S", "3")); len(refs) != 2 {
		t.Errorf("Lookup of a metric with two units = %v; want 2 refs", refs)
	}
}

// TestLongTermTiers back-dates datums over 20 days and reads them back at
// 60 s, 300 s and 3600 s from the right tiers.
func TestLongTermTiers(t *testing.T) {
	now := t0.Add(20 * 24 * time.Hour)
	clock := newClock(now)
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	var ds []record.Datum
	for ts := t0; ts.Before(now); ts = ts.Add(7 * time.Minute) {
		ds = append(ds, datum("M", nil, "None", ts, float64(ts.Unix()%97)))
	}
	want := model{}
	var msgs []Message
	for i := 0; i < len(ds); i += 100 {
		m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: ds[i:min(i+100, len(ds))]}
		want.apply(&m, now.Unix())
		msgs = append(msgs, metricsMsg(int64(len(msgs)), "n", uint64(len(msgs)), &m))
	}
	if err := lt.ApplyBatch(0, msgs); err != nil {
		t.Fatal(err)
	}
	compareModels(t, dump(lt, "t1", t0.Add(-24*time.Hour).Unix(), now.Unix()), want)
	ref := lt.Lookup("t1", "App", "M", nil)[0]

	// count sums the counts RangePeriod returns, by bucket width.
	count := func(start, end time.Time, period int64) map[int64]float64 {
		out := map[int64]float64{}
		lt.RangePeriod(ref, start.Unix(), end.Unix(), period, func(a *Aggregate) { out[a.Width] += a.Count })
		return out
	}
	exact := func(start, end time.Time) float64 {
		n := 0.0
		for _, d := range ds {
			if ts := d.Timestamp / 1000; ts >= start.Unix() && ts < end.Unix() {
				n++
			}
		}
		return n
	}
	day := 24 * time.Hour
	old := t0.Add(time.Hour) // 19 days ago: past the 60 s tier
	recent := now.Add(-10 * day).Truncate(time.Hour)
	unaligned := now.Add(-3*time.Hour + 17*time.Minute)
	for _, tc := range []struct {
		name       string
		start, end time.Time
		period     int64
		want       map[int64]float64 // count by width; nil: exact count from any width
	}{
		{"60 s older than 15 days: nothing", old, now, 60, map[int64]float64{}},
		{"300 s from 19 days ago", old, old.Add(day), 300, map[int64]float64{300: exact(old, old.Add(day))}},
		{"3600 s from 19 days ago", old, old.Add(day), 3600, map[int64]float64{3600: exact(old, old.Add(day))}},
		{"60 s within 15 days", recent, recent.Add(day), 60, map[int64]float64{60: exact(recent, recent.Add(day))}},
		{"3600 s within 15 days reads hours", recent, recent.Add(day), 3600, map[int64]float64{3600: exact(recent, recent.Add(day))}},
		{"3600 s to an unaligned end", recent, unaligned, 3600, nil},
		{"300 s from 19 days ago to an unaligned end", old, unaligned, 300, nil},
		{"1 s older than 3 hours: nothing", old, now, 1, map[int64]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := count(tc.start, tc.end, tc.period)
			if tc.want == nil {
				total := 0.0
				for _, n := range got {
					total += n
				}
				if want := exact(tc.start, tc.end); total != want {
					t.Errorf("count %v (by width %v); want %v", total, got, want)
				}
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("counts by width %v; want %v", got, tc.want)
			}
		})
	}
	// Range reads the finest complete tier that holds start.
	widths := map[int64]bool{}
	lt.Range(ref, old.Unix(), now.Unix(), func(a *Aggregate) { widths[a.Width] = true })
	if len(widths) != 1 || !widths[300] {
		t.Errorf("Range from 19 days ago read widths %v; want 300", widths)
	}
}

// TestLongTermRetention moves the clock past each tier's retention and
// checks that reads stop returning the tier and that its keys are deleted.
func TestLongTermRetention(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: []record.Datum{
		{MetricName: "M", Unit: "None", HighRes: true, Timestamp: t0.Add(30 * time.Minute).UnixMilli(), Value: 1},
		datum("M", nil, "None", t0.Add(-20*24*time.Hour), 2),  // past the 60 s tier already
		datum("M", nil, "None", t0.Add(-500*24*time.Hour), 3), // past every tier
	}}
	if err := lt.ApplyBatch(0, []Message{metricsMsg(0, "n", 0, &m)}); err != nil {
		t.Fatal(err)
	}
	keys := func(ti int) int {
		lo, hi := tierBounds(ti, math.MaxInt64)
		it, err := lt.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		return n
	}
	buckets := func(ti int) int {
		n := 0
		lt.readTier(0, ti, t0.Add(-600*24*time.Hour).Unix(), t0.Add(time.Hour).Unix(), lt.now(), func(*Aggregate) { n++ })
		return n
	}
	check := func(step string, want [4]int) {
		t.Helper()
		if err := lt.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		for ti := range tiers {
			if k, b := keys(ti), buckets(ti); k != want[ti] || b != want[ti] {
				t.Errorf("%s: tier %ds has %d keys, %d buckets; want %d", step, tiers[ti].width, k, b, want[ti])
			}
		}
	}
	check("at first", [4]int{1, 1, 2, 2})
	clock.advance(4 * time.Hour)
	check("after 4 h", [4]int{0, 1, 2, 2})
	clock.advance(16 * 24 * time.Hour)
	check("after 16 days", [4]int{0, 0, 2, 2})
	clock.advance(50 * 24 * time.Hour)
	check("after 66 days", [4]int{0, 0, 0, 2})
	clock.advance(384 * 24 * time.Hour)
	check("after 450 days", [4]int{0, 0, 0, 1})
	clock.advance(16 * 24 * time.Hour)
	check("after 466 days", [4]int{0, 0, 0, 0})
}
