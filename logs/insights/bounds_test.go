package insights

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// synth makes n events, timestamps shuffled by a fixed permutation, one
// field v = i (so v is unique per event).
func synth(n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		j := (i * 7919) % n // a permutation when n is not a multiple of 7919
		evs[i] = Event{Timestamp: int64(j) * 1000, Message: `{"v":` + strconv.Itoa(j) + `,"pad":"` + strings.Repeat("x", 40) + `"}`, Stream: "s", Group: "g"}
	}
	return evs
}

func TestMaxGroups(t *testing.T) {
	evs := fixture(t)
	r := runQuery(t, "stats count(*) by user", Options{MaxGroups: 3}, evs)
	if !errors.Is(r.Err(), ErrTooLarge) {
		t.Fatalf("Err() = %v; want ErrTooLarge", r.Err())
	}
	// u1, u2, then no user (at 40 s) are three groups; u3 (the fifth
	// event) would be a fourth and stops the run uncounted.
	want := []string{"user=u1 count(*)=2", "user=u2 count(*)=1", "count(*)=1"}
	if got := show(r.Results()); !slices.Equal(got, want) || r.Stats().RecordsScanned != 5 {
		t.Errorf("rows %q after %v events; want %q after 5", got, r.Stats().RecordsScanned, want)
	}
	if r.Add(&evs[0]) {
		t.Error("Add after the bound = true; want false")
	}
}

func TestMaxBytesRows(t *testing.T) {
	evs := synth(1000)
	r := runQuery(t, "fields @message | sort v asc | limit 1000", Options{MaxBytes: 20_000}, evs)
	if !errors.Is(r.Err(), ErrTooLarge) {
		t.Fatalf("Err() = %v; want ErrTooLarge", r.Err())
	}
	if r.top.bytes <= 20_000 || r.top.bytes > 21_000 || len(r.Results()) == 0 {
		t.Errorf("held %d bytes, %d rows; want just over the bound, some rows", r.top.bytes, len(r.Results()))
	}
	// The same query with limit 10 holds 10 rows and stays under.
	r = runQuery(t, "fields @message | sort v asc | limit 10", Options{MaxBytes: 20_000}, evs)
	if r.Err() != nil || len(r.top.rows) != 10 {
		t.Errorf("err %v, %d rows held; want nil, 10", r.Err(), len(r.top.rows))
	}
}

func TestMaxBytesStats(t *testing.T) {
	evs := synth(5000)
	r := runQuery(t, "stats count_distinct(v), pct(v, 50) by v % 100", Options{MaxBytes: 100_000}, evs)
	if !errors.Is(r.Err(), ErrTooLarge) || r.groups.bytes > 101_000 {
		t.Fatalf("Err() = %v with %d bytes; want ErrTooLarge just over 100000", r.Err(), r.groups.bytes)
	}
}

// TestTopKHoldsK checks a non-stats query holds only its limit.
func TestTopKHoldsK(t *testing.T) {
	evs := synth(20_000)
	for _, tc := range []struct {
		q     string
		k     int
		first string
	}{
		{"fields v | limit 5", 5, "v=19999"},
		{"fields v | sort v asc | limit 7", 7, "v=0"},
		{"fields v | sort v % 1000 desc, v asc | dedup v % 1000 | limit 3", 3, "v=999"},
		{"fields v", DefaultLimit, "v=19999"},
	} {
		r := runQuery(t, tc.q, Options{}, evs)
		rows := show(r.Results())
		if len(r.top.rows) != tc.k || len(rows) != tc.k || rows[0] != tc.first {
			t.Errorf("%s: %d held, %d rows, first %q; want %d, %s", tc.q, len(r.top.rows), len(rows), rows[0], tc.k, tc.first)
		}
	}
	r := runQuery(t, "fields v | sort v % 1000 desc, v asc | dedup v % 1000 | limit 3", Options{}, evs)
	if got := strings.Join(show(r.Results()), " "); got != "v=999 v=998 v=997" {
		t.Errorf("dedup top-k: %s", got)
	}
	if r := runQuery(t, "fields v", Options{Limit: 50}, evs); len(r.Results()) != 50 {
		t.Errorf("Options.Limit 50: %d rows", len(r.Results()))
	}
}

func TestPctSketch(t *testing.T) {
	evs := synth(100_000)
	rows := runQuery(t, "stats pct(v, 50) as a, pct(v, 99) as b, pct(v, 1) as c, pct(v, 100) as d, pct(-v, 50) as e", Options{}, evs).Results()
	want := map[string]float64{"a": 50_000, "b": 99_000, "c": 1_000, "d": 99_999, "e": -50_000}
	for _, f := range rows[0] {
		got, _ := strconv.ParseFloat(f.Value, 64)
		w := want[f.Name]
		if math.Abs(got-w) > pctAlpha*math.Abs(w)+1 {
			t.Errorf("%s = %v; want %v within %v%%", f.Name, got, w, pctAlpha*100)
		}
	}
	if rows[0][3].Value != "99999" {
		t.Errorf("pct 100 = %s; want the exact maximum 99999", rows[0][3].Value)
	}
	// Values spread over many magnitudes stay within ddMaxBins.
	var p pctState
	for i := range 200_000 {
		p.add(math.Pow(10, float64(i%300)-150))
	}
	if n := len(p.sk.pos.bins); n > ddMaxBins {
		t.Errorf("%d bins; want at most %d", n, ddMaxBins)
	}
}

func TestCountDistinct(t *testing.T) {
	evs := synth(100_000)
	rows := runQuery(t, "stats count_distinct(v % 2000) as a, count_distinct(v % 3000) as b, count_distinct(v) as c", Options{}, evs).Results()
	for i, tc := range []struct{ want, tol float64 }{
		{2000, 0},             // exact below distinctExactMax
		{3000, 0.03 * 3000},   // HyperLogLog above
		{100_000, 0.03 * 1e5}, // HyperLogLog
	} {
		got, _ := strconv.ParseFloat(rows[0][i].Value, 64)
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s = %v; want %v ± %v", rows[0][i].Name, got, tc.want, tc.tol)
		}
	}
}
