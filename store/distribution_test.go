package store

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAppendDistribution: the bins are the sketch's buckets in order, each
// representative (computed incrementally) equal to binValue up to float
// drift and clamped into [Min, Max], with every count; an implied
// distribution is one bin; a negative value leaves none.
func TestAppendDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var a Aggregate
	a.AddValue(0, 3)
	for range 20000 {
		a.AddValue(math.Exp(10*r.NormFloat64()), 1)
	}
	bins, ok := a.AppendDistribution(nil)
	if !ok || len(bins) != len(a.sk.keys)+1 || bins[0] != (Bin{0, 3}) {
		t.Fatalf("got %d bins (ok %v), first %v; want %d, first {0 3}", len(bins), ok, bins[0], len(a.sk.keys)+1)
	}
	total := 0.0
	for i, b := range bins {
		total += b.Count
		if i == 0 {
			continue
		}
		want := math.Min(math.Max(binValue(a.sk.keys[i-1]), a.Min), a.Max)
		if math.Abs(b.Value-want) > 1e-12*want || b.Count != a.sk.counts[i-1] || b.Value < bins[i-1].Value {
			t.Fatalf("bin %d: got %v; want {%v %v} in ascending order", i, b, want, a.sk.counts[i-1])
		}
	}
	if total != a.Count {
		t.Errorf("counts add up to %v; want %v", total, a.Count)
	}
	var implied Aggregate
	implied.AddValue(7, 4)
	if bins, ok := implied.AppendDistribution(nil); !ok || len(bins) != 1 || bins[0] != (Bin{7, 4}) {
		t.Errorf("implied: got %v %v; want [{7 4}]", bins, ok)
	}
	implied.AddValue(-1, 1)
	if bins, ok := implied.AppendDistribution(nil); ok || len(bins) != 0 {
		t.Errorf("negative: got %v %v; want none", bins, ok)
	}
}
