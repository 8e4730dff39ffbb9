package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

// seriesOfNames lists what SeriesOf visits, sorted.
func seriesOfNames(t *testing.T, list func(tenant, ns string, fn func(SeriesRef, *SeriesKey, int64) bool), tenant, ns string) []string {
	t.Helper()
	var out []string
	list(tenant, ns, func(_ SeriesRef, key *SeriesKey, _ int64) bool {
		if key.Tenant != tenant || key.Namespace != ns {
			t.Errorf("SeriesOf(%s, %s) visited %+v", tenant, ns, key)
		}
		out = append(out, key.MetricName+"/"+key.Dimensions[0].Value)
		return true
	})
	slices.Sort(out)
	return out
}

// nsMetrics writes n series M/<i> of tenant and namespace.
func nsMetrics(tenant, ns string, n int, ts time.Time) *record.Metrics {
	m := &record.Metrics{Tenant: tenant, Namespace: ns}
	for i := range n {
		m.Datums = append(m.Datums, datum("M", dims("I", fmt.Sprint(i)), "None", ts, 1))
	}
	return m
}

func wantNames(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("M/%d", i))
	}
	slices.Sort(out)
	return out
}

func TestLocalSeriesOf(t *testing.T) {
	clock := newClock(t0)
	l := newTestLocal(t, clock, nil)
	empty := l.Bytes()
	old, recent := t0.Add(-170*time.Minute), t0.Add(-time.Minute)
	l.Apply(nsMetrics("t1", "App", 300, old))
	l.Apply(nsMetrics("t1", "Other", 40, recent))
	l.Apply(nsMetrics("t2", "App", 7, recent))
	l.Apply(nsMetrics("t1", "Ap", 3, recent)) // a prefix of App is another namespace
	for _, tc := range []struct {
		tenant, ns string
		want       int
	}{{"t1", "App", 300}, {"t1", "Other", 40}, {"t2", "App", 7}, {"t1", "Ap", 3}, {"t1", "None", 0}, {"t3", "App", 0}} {
		if got := seriesOfNames(t, l.SeriesOf, tc.tenant, tc.ns); !slices.Equal(got, wantNames(tc.want)) {
			t.Errorf("SeriesOf(%s, %s): got %d series %v; want %d", tc.tenant, tc.ns, len(got), got, tc.want)
		}
	}
	n := 0
	l.SeriesOf("t1", "App", func(SeriesRef, *SeriesKey, int64) bool { n++; return false })
	if n != 1 {
		t.Errorf("got %d calls after fn returned false; want 1", n)
	}

	// App's slots are freed by the trim (their data left the
	// window) and reused by new series: the index follows.
	clock.advance(15 * time.Minute)
	l.Trim()
	if got := seriesOfNames(t, l.SeriesOf, "t1", "App"); len(got) != 0 {
		t.Errorf("after trim: got %d App series; want 0", len(got))
	}
	if got := seriesOfNames(t, l.SeriesOf, "t1", "Other"); len(got) != 40 {
		t.Errorf("after trim: got %d Other series; want 40", len(got))
	}
	l.Apply(nsMetrics("t1", "New", 120, clock.now()))
	if got := seriesOfNames(t, l.SeriesOf, "t1", "New"); !slices.Equal(got, wantNames(120)) {
		t.Errorf("reused slots: got %d New series; want 120", len(got))
	}
	clock.advance(4 * time.Hour)
	l.Trim()
	for _, ns := range []string{"App", "Other", "New", "Ap"} {
		if got := seriesOfNames(t, l.SeriesOf, "t1", ns); len(got) != 0 {
			t.Errorf("after the window: got %d %s series; want 0", len(got), ns)
		}
	}
	if got := l.Bytes(); got != empty {
		t.Errorf("got %d bytes with every series gone; want %d (the empty store)", got, empty)
	}
}

func TestLongTermSeriesOf(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	for i, m := range []*record.Metrics{nsMetrics("t1", "App", 50, t0), nsMetrics("t1", "Ap", 3, t0), nsMetrics("t1", "AppX", 4, t0), nsMetrics("t2", "App", 5, t0)} {
		if err := lt.ApplyBatch(0, []Message{metricsMsg(int64(i), "n", uint64(i), m)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		tenant, ns string
		want       int
	}{{"t1", "App", 50}, {"t1", "Ap", 3}, {"t1", "AppX", 4}, {"t2", "App", 5}, {"t1", "Nope", 0}} {
		if got := seriesOfNames(t, lt.SeriesOf, tc.tenant, tc.ns); !slices.Equal(got, wantNames(tc.want)) {
			t.Errorf("SeriesOf(%s, %s): got %v; want %d series", tc.tenant, tc.ns, got, tc.want)
		}
	}
	lt.SeriesOf("t1", "App", func(_ SeriesRef, key *SeriesKey, newest int64) bool {
		if newest != t0.Unix() {
			t.Errorf("newest of %+v = %d; want %d", key, newest, t0.Unix())
		}
		return true
	})
}
