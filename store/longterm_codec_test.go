package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestBlockMerge splits random datums of one block into operands, merges the
// encoded operands as the merge operator does (in several groupings, as
// compactions would) and compares with the aggregates merged directly.
func TestBlockMerge(t *testing.T) {
	for ti := range tiers {
		t.Run(fmt.Sprintf("%ds", tiers[ti].width), func(t *testing.T) {
			tr := &tiers[ti]
			rng := rand.New(rand.NewPCG(9, uint64(ti)))
			bs := floorDiv(t0.Unix(), tr.span) * tr.span
			ds := randomDatums(rng, 500, time.Unix(bs, 0), time.Unix(bs+tr.span, 0), func() bool { return true })
			want := map[int64]*Aggregate{}
			var ops [][]byte
			for i := 0; i < len(ds); {
				n := 1 + rng.IntN(40)
				var aggs []Aggregate
				for _, d := range ds[i:min(i+n, len(ds))] {
					start := floorDiv(floorDiv(d.Timestamp, 1000), tr.width) * tr.width
					if want[start] == nil {
						want[start] = &Aggregate{Start: start, Width: tr.width}
					}
					want[start].AddDatum(&d)
					j := slices.IndexFunc(aggs, func(a Aggregate) bool { return a.Start == start })
					if j < 0 {
						aggs = append(aggs, Aggregate{Start: start, Width: tr.width})
						j = len(aggs) - 1
					}
					aggs[j].AddDatum(&d)
				}
				slices.SortFunc(aggs, func(a, b Aggregate) int { return int(a.Start - b.Start) })
				ops = append(ops, appendBlock(nil, tr, bs, aggs))
				i += n
			}
			fail := func(err error) { t.Errorf("corrupt operand: %v", err) }
			// Merge pairwise in random groupings until one block is left.
			for len(ops) > 1 {
				k := 2 + rng.IntN(min(4, len(ops)-1))
				k = min(k, len(ops))
				i := rng.IntN(len(ops) - k + 1)
				merged := mergeBlocks(tr, ops[i:i+k], fail)
				ops = slices.Replace(ops, i, i+k, merged)
			}
			got := model{}
			br := newBlockReader(ops[0], bs, tr.width, tr.buckets())
			var a Aggregate
			for br.next(&a) {
				got[bucketKey{"s", a.Start, a.Width}] = a.Clone()
			}
			if err := br.err(); err != nil {
				t.Fatal(err)
			}
			wantModel := model{}
			for start, a := range want {
				wantModel[bucketKey{"s", start, tr.width}] = a
			}
			compareModels(t, got, wantModel)
		})
	}
}

// TestBlockCorrupt: a block the codec never writes is reported, and merging
// keeps the valid operands.
func TestBlockCorrupt(t *testing.T) {
	tr := &tiers[tier60s]
	good := appendBlock(nil, tr, 0, []Aggregate{{Start: 60, Width: 60, Count: 1, Sum: 2, Min: 2, Max: 2}})
	for _, bad := range [][]byte{
		nil,
		{9},                  // unknown version
		{blockVersion, 0xff}, // bad header
		appendBlock(nil, tr, 0, []Aggregate{{Start: 60 * 400, Width: 60, Count: 1, Sum: 1, Min: 1, Max: 1}}), // index past the block
	} {
		var errs int
		out := mergeBlocks(tr, [][]byte{good, bad}, func(error) { errs++ })
		if errs != 1 {
			t.Errorf("%x: %d errors; want 1", bad, errs)
		}
		br := newBlockReader(out, 0, 60, tr.buckets())
		var a Aggregate
		if !br.next(&a) || a.Start != 60 || a.Count != 1 || br.next(&a) {
			t.Errorf("%x: merged block lost the good operand", bad)
		}
	}
}
