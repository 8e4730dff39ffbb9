package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/record"
)

// TestLocalAgainstModel applies random datums (both widths, every form, late,
// early, out of window) while time passes and trims run, and compares every
// series with a plain map of aggregates after each step.
func TestLocalAgainstModel(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testLocalAgainstModel(t, seed) })
	}
}

func testLocalAgainstModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(21, seed))
	clock := newClock(t0)
	l := newTestLocal(t, clock, nil)
	type bkey struct{ start, width int64 }
	names := []string{"a", "b", "c"}
	model := map[string]map[bkey]*Aggregate{}
	for _, n := range names {
		model[n] = map[bkey]*Aggregate{}
	}
	randomDatum := func(name string) record.Datum {
		now := clock.now()
		var ts time.Time
		switch rng.IntN(10) {
		case 0: // anywhere in (and a bit beyond) the window
			ts = now.Add(-time.Duration(rng.Int64N(int64(3*time.Hour + 10*time.Minute))))
		case 1: // a little in the future
			ts = now.Add(time.Duration(rng.Int64N(int64(5 * time.Minute))))
		default: // recent
			ts = now.Add(-time.Duration(rng.Int64N(int64(4 * time.Minute))))
		}
		d := datum(name, dims("Host", "h"), "None", ts, 0)
		d.HighRes = rng.IntN(5) == 0
		switch rng.IntN(6) {
		case 0:
			d.Values = []float64{float64(rng.IntN(100)), math.Round(rng.Float64()*1000) / 10}
			d.Counts = []float64{1, float64(1 + rng.IntN(3))}
		case 1:
			v := float64(rng.IntN(10))
			d.Stats = &record.StatisticSet{SampleCount: 3, Sum: 3 * v, Min: v, Max: v}
		case 2:
			d.Value = -rng.Float64()
		default:
			d.Value = math.Round(rng.ExpFloat64()*1000) / 10
		}
		return d
	}
	for step := range 3000 {
		clock.advance(time.Duration(rng.Int64N(int64(20 * time.Second))))
		now := clock.now().Unix()
		cutoff := now - 3*3600
		for range 1 + rng.IntN(4) {
			name := names[rng.IntN(len(names))]
			d := randomDatum(name)
			apply(l, d)
			w := int64(60)
			if d.HighRes {
				w = 1
			}
			k := bkey{floorDiv(floorDiv(d.Timestamp, 1000), w) * w, w}
			if k.start+k.width <= cutoff {
				continue
			}
			if model[name][k] == nil {
				model[name][k] = &Aggregate{Start: k.start, Width: k.width}
			}
			model[name][k].AddDatum(&d)
		}
		if rng.IntN(20) == 0 {
			l.Trim()
		}
		if step%50 != 0 && step != 2999 {
			continue
		}
		for _, name := range names {
			var want []*Aggregate
			for k, a := range model[name] {
				if k.start+k.width > cutoff {
					want = append(want, a)
				}
			}
			slices.SortFunc(want, func(a, b *Aggregate) int {
				if keyLess(a.Start, a.Width, b.Start, b.Width) {
					return -1
				}
				return 1
			})
			var got []Aggregate
			for _, ref := range l.Lookup("t1", "App", name, dims("Host", "h")) {
				got = buckets(l, ref, time.Unix(0, 0), time.Unix(1<<40, 0))
			}
			if len(got) != len(want) {
				t.Fatalf("step %d series %s: got %d buckets; want %d", step, name, len(got), len(want))
			}
			for i := range got {
				if !sameAggregate(&got[i], want[i]) {
					t.Fatalf("step %d series %s bucket %d: got %+v; want %+v", step, name, i, got[i], *want[i])
				}
			}
		}
	}
	if testutil.ToFloat64(l.late) == 0 {
		t.Errorf("got no late merges; want the test to cover the sealed path")
	}
}
