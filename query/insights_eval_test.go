package query

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// seriesStore is a fake store of many series, each with its buckets
// ({count, sum, min, max} by minute start).
type seriesStore struct {
	keys    []store.SeriesKey
	buckets []map[int64][4]float64
	covered []store.Interval // nil: everything
}

func (f *seriesStore) add(name string, dims map[string]string, buckets map[int64][4]float64) {
	var ds []record.Dimension
	for k, v := range dims {
		ds = append(ds, record.Dimension{Name: k, Value: v})
	}
	record.SortDimensions(ds)
	f.keys = append(f.keys, store.SeriesKey{Tenant: "t", Namespace: "ns", MetricName: name, Dimensions: ds, Unit: "None"})
	f.buckets = append(f.buckets, buckets)
}

func (f *seriesStore) Lookup(string, string, string, []record.Dimension) []store.SeriesRef {
	return nil
}
func (f *seriesStore) Key(ref store.SeriesRef) store.SeriesKey { return f.keys[ref] }

func (f *seriesStore) Range(ref store.SeriesRef, start, end int64, fn func(a *store.Aggregate)) {
	for t := start; t < end; t += 60 {
		if b, ok := f.buckets[ref][t]; ok {
			fn(&store.Aggregate{Start: t, Width: 60, Count: b[0], Sum: b[1], Min: b[2], Max: b[3]})
		}
	}
}

func (f *seriesStore) Series(tenant string, fn func(store.SeriesRef, *store.SeriesKey, int64) bool) {
	for i := range f.keys {
		if f.keys[i].Tenant == tenant && !fn(store.SeriesRef(i), &f.keys[i], minTime) {
			return
		}
	}
}

func (f *seriesStore) Coverage(from, to int64) []store.Interval {
	if f.covered == nil {
		return []store.Interval{{From: from, To: to}}
	}
	return intervals.Of(f.covered...).Clip(from, to)
}

// insightsRun answers src over [start, end) (seconds relative to base) and
// renders the results as "label [t...] [v...]" lines (times relative to
// base), the unknown flag when set, and the request notes' codes.
func insightsRun(t *testing.T, f *seriesStore, base int64, src string, period, start, end int64) string {
	t.Helper()
	iq, err := parseInsights(src)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Local: f, Now: func() time.Time { return time.Unix(base+600, 0) }}, nil)
	view, err := s.view("", nil, base+start, base+end)
	if err != nil {
		t.Fatal(err)
	}
	var used answered
	q := dataQuery{id: "q1", insights: iq, period: period}
	var lines []string
	for _, r := range s.runInsights(view, "t", q, time.Unix(base+start, 0), time.Unix(base+end, 0), &used) {
		rel := make([]int64, len(r.times))
		for i, ts := range r.times {
			rel[i] = ts - base
		}
		line := fmt.Sprintf("%s %v %v", r.label, rel, r.values)
		if r.unknown {
			line += " unknown"
		}
		lines = append(lines, line)
	}
	for _, n := range used.notes {
		lines = append(lines, fmt.Sprint(n.(awsapi.Object)[0].Value))
	}
	return strings.Join(lines, " | ")
}

func TestInsightsEvaluate(t *testing.T) {
	const base = 100_000 * 60
	f := &seriesStore{}
	f.add("x", map[string]string{"host": "h1", "az": "a"}, map[int64][4]float64{base: {2, 10, 4, 6}, base + 60: {1, 3, 3, 3}})
	f.add("x", map[string]string{"host": "h2", "az": "a"}, map[int64][4]float64{base: {1, 20, 20, 20}})
	f.add("x", map[string]string{"host": "h3", "az": "b"}, map[int64][4]float64{base + 60: {4, 8, 1, 3}})
	f.add("x", map[string]string{"host": "h4"}, map[int64][4]float64{base: {1, 1, 1, 1}})
	f.add("y", map[string]string{"host": "h1", "az": "a"}, map[int64][4]float64{base: {1, 1000, 1000, 1000}})
	f.add("x", nil, map[int64][4]float64{base + 120: {1, 5, 5, 5}})
	for name, tc := range map[string]struct {
		src    string
		period int64
		want   string
	}{
		"SUM of sums":         {"SELECT SUM(x) FROM ns", 60, "q1 [0 60 120] [31 11 5]"},
		"AVG is sum / count":  {"SELECT AVG(x) FROM ns", 60, "q1 [0 60 120] [7.75 2.2 5]"},
		"MAX of maxes":        {"SELECT MAX(x) FROM ns", 60, "q1 [0 60 120] [20 3 5]"},
		"MIN of mins":         {"SELECT MIN(x) FROM ns", 60, "q1 [0 60 120] [1 1 5]"},
		"COUNT sample counts": {"SELECT COUNT(x) FROM ns", 60, "q1 [0 60 120] [4 5 1]"},
		"a longer period":     {"SELECT SUM(x) FROM ns", 120, "q1 [0 120] [42 5]"},
		"GROUP BY, Other for a missing key, labels ascending": {"SELECT AVG(x) FROM ns GROUP BY az", 60,
			"Other [0 120] [1 5] | a [0 60] [10 3] | b [60] [2]"},
		"GROUP BY two keys: values joined by a space": {"SELECT SUM(x) FROM ns WHERE host != 'h4' GROUP BY az, host", 60,
			"Other Other [120] [5] | a h1 [0 60] [10 3] | a h2 [0] [20] | b h3 [60] [8]"},
		"ORDER BY another function over the whole range, LIMIT after": {"SELECT SUM(x) FROM ns GROUP BY host ORDER BY MAX() DESC LIMIT 2", 60,
			"h2 [0] [20] | h1 [0 60] [10 3]"},
		"ORDER BY ascending, ties by label": {"SELECT COUNT(x) FROM ns WHERE az = 'a' OR host = 'h4' GROUP BY host ORDER BY COUNT()", 60,
			"h2 [0] [1] | h4 [0] [1] | h1 [0 60] [2 1]"},
		"ORDER BY AVG over the whole range": {"SELECT AVG(x) FROM ns GROUP BY host ORDER BY AVG() DESC", 60,
			"h2 [0] [20] | Other [120] [5] | h1 [0 60] [5 3] | h3 [60] [2] | h4 [0] [1]"},
		"SCHEMA: exactly these dimensions": {"SELECT SUM(x) FROM SCHEMA(ns, host)", 60, "q1 [0] [1]"},
		"SCHEMA in any order":              {"SELECT SUM(x) FROM SCHEMA(ns, host, az) GROUP BY host", 60, "h1 [0 60] [10 3] | h2 [0] [20] | h3 [60] [8]"},
		"SCHEMA with no dimensions":        {"SELECT SUM(x) FROM SCHEMA(ns)", 60, "q1 [120] [5]"},
		"WHERE !=: a missing key is unequal": {"SELECT SUM(x) FROM ns WHERE az != 'a' GROUP BY host", 60,
			"Other [120] [5] | h3 [60] [8] | h4 [0] [1]"},
		"no match, no GROUP BY: one empty result": {"SELECT SUM(x) FROM ns WHERE az = 'zz'", 60, "q1 [] []"},
		"no match with GROUP BY: no result":       {"SELECT SUM(x) FROM ns WHERE az = 'zz' GROUP BY az", 60, ""},
		"another namespace":                       {"SELECT SUM(x) FROM other", 60, "q1 [] []"},
		"metric names are case-sensitive":         {"SELECT SUM(X) FROM ns", 60, "q1 [] []"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := insightsRun(t, f, base, tc.src, tc.period, 0, 300); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestInsightsCoverageAndLimits(t *testing.T) {
	const base = 100_000 * 60
	one := func(f *seriesStore) {
		f.add("x", map[string]string{"host": "h1"}, map[int64][4]float64{base: {1, 2, 2, 2}, base + 120: {1, 4, 4, 4}})
	}
	t.Run("a period no store vouches for stays unknown", func(t *testing.T) {
		f := &seriesStore{covered: []store.Interval{{From: math.MinInt64, To: base + 60}}}
		one(f)
		want := "q1 [0 120] [2 4] unknown" // minutes 1 and on are unknown: the result is PartialData
		if got := insightsRun(t, f, base, "SELECT SUM(x) FROM ns", 60, 0, 180); got != want {
			t.Errorf("got %s; want %s", got, want)
		}
	})
	t.Run("a range past the 3 h window is cut to it", func(t *testing.T) {
		f := &seriesStore{}
		one(f)
		// now is base+600: the window starts at base+600-3h; the range
		// starts an hour before that, so its first hour is not read.
		start := int64(600 - 4*3600)
		want := "q1 [0 120] [2 4] unknown | MaxQueryTimeRangeExceeded"
		if got := insightsRun(t, f, base, "SELECT SUM(x) FROM ns", 60, start, 180); got != want {
			t.Errorf("got %s; want %s", got, want)
		}
	})
	t.Run("more than 500 series: 500 and a message", func(t *testing.T) {
		f := &seriesStore{}
		for i := range 501 {
			f.add("x", map[string]string{"host": fmt.Sprintf("h%03d", i)}, map[int64][4]float64{base: {1, float64(i), float64(i), float64(i)}})
		}
		got := insightsRun(t, f, base, "SELECT SUM(x) FROM ns GROUP BY host ORDER BY SUM() DESC", 60, 0, 60)
		lines := strings.Split(got, " | ")
		if len(lines) != 501 || lines[0] != "h500 [0] [500]" || lines[499] != "h001 [0] [1]" || lines[500] != codeResults {
			t.Errorf("got %d lines, first %q, 500th %q, last %q", len(lines), lines[0], lines[499], lines[len(lines)-1])
		}
		if got := insightsRun(t, f, base, "SELECT SUM(x) FROM ns GROUP BY host ORDER BY SUM() DESC LIMIT 500", 60, 0, 60); strings.Contains(got, codeResults) {
			t.Error("LIMIT 500 still reported the cap")
		}
	})
	t.Run("more than 10,000 metrics: the first 10,000 and a message", func(t *testing.T) {
		f := &seriesStore{}
		for i := range insightsMaxMetrics + 5 {
			f.add("x", map[string]string{"host": fmt.Sprint(i)}, map[int64][4]float64{base: {1, 1, 1, 1}})
		}
		want := "q1 [0] [10000] | " + codeMatching
		if got := insightsRun(t, f, base, "SELECT SUM(x) FROM ns", 60, 0, 60); got != want {
			t.Errorf("got %s; want %s", got, want)
		}
	})
}

// TestInsightsTwoStores: where the local store does not vouch for the
// first minutes (a wiped WAL), the long-term store answers them; each
// bucket is read from one store and each metric counts once.
func TestInsightsTwoStores(t *testing.T) {
	const base = 100_000 * 60
	local := &seriesStore{covered: []store.Interval{{From: base + 120, To: math.MaxInt64}}}
	local.add("x", map[string]string{"host": "h1"}, map[int64][4]float64{base: {1, 100, 100, 100}, base + 120: {1, 10, 10, 10}, base + 180: {1, 20, 20, 20}})
	lt := &seriesStore{}
	lt.add("x", map[string]string{"host": "h1"}, map[int64][4]float64{base: {1, 1, 1, 1}, base + 60: {1, 2, 2, 2}, base + 120: {1, 1000, 1000, 1000}})
	lt.add("x", map[string]string{"host": "h2"}, map[int64][4]float64{base + 60: {1, 5, 5, 5}})
	s := New(Config{Local: local, LongTerm: lt, Now: func() time.Time { return time.Unix(base+600, 0) }}, nil)
	view, err := s.view("", nil, base, base+240)
	if err != nil {
		t.Fatal(err)
	}
	iq, err := parseInsights("SELECT SUM(x) FROM ns GROUP BY host")
	if err != nil {
		t.Fatal(err)
	}
	var used answered
	rs := s.runInsights(view, "t", dataQuery{id: "q1", insights: iq, period: 60}, time.Unix(base, 0), time.Unix(base+240, 0), &used)
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %v %v %v", r.label, r.times, r.values, r.unknown))
	}
	want := fmt.Sprintf("h1 [%d %d %d %d] [1 2 10 20] false|h2 [%d] [5] false", base, base+60, base+120, base+180, base+60)
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	if fmt.Sprint(used.names) != "[longterm local]" || len(used.notes) != 0 {
		t.Errorf("sources %v, notes %v; want [longterm local] and no notes", used.names, used.notes)
	}
}
