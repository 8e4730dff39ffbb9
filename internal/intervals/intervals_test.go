package intervals

import (
	"math"
	"slices"
	"testing"
)

func TestSetOperations(t *testing.T) {
	a := Of(Interval{0, 10}, Interval{20, 30}, Interval{40, 50})
	b := Of(Interval{5, 25}, Interval{45, 60})
	for name, tc := range map[string]struct {
		got, want Set
	}{
		"of merges overlaps and touching": {Of(Interval{5, 7}, Interval{0, 5}, Interval{6, 9}, Interval{9, 9}, Interval{12, 13}), Set{{0, 9}, {12, 13}}},
		"union":                           {Union(a, b), Set{{0, 30}, {40, 60}}},
		"intersect":                       {Intersect(a, b), Set{{5, 10}, {20, 25}, {45, 50}}},
		"subtract":                        {Subtract(a, b), Set{{0, 5}, {25, 30}, {40, 45}}},
		"subtract everything":             {Subtract(a, Set{{math.MinInt64, math.MaxInt64}}), nil},
		"subtract inside":                 {Subtract(Set{{0, 100}}, Set{{10, 20}, {30, 40}}), Set{{0, 10}, {20, 30}, {40, 100}}},
		"clip":                            {a.Clip(8, 42), Set{{8, 10}, {20, 30}, {40, 42}}},
		"complement":                      {a.Complement(-5, 25), Set{{-5, 0}, {10, 20}}},
		"fill holes":                      {a.FillHoles(10), Set{{0, 50}}},
		"fill small holes only":           {Of(Interval{0, 10}, Interval{13, 20}, Interval{30, 40}).FillHoles(3), Set{{0, 20}, {30, 40}}},
		"inward":                          {Of(Interval{-90, 130}, Interval{150, 170}, Interval{200, math.MaxInt64}).Inward(60), Set{{-60, 120}, {240, math.MaxInt64}}},
		"scale ms to s":                   {Of(Interval{math.MinInt64, 1500}, Interval{2500, 4200}).Scale(1000), Set{{math.MinInt64, 1}, {3, 4}}},
		"add at the end":                  {slices.Clone(a).Add(Interval{50, 55}), Set{{0, 10}, {20, 30}, {40, 55}}},
		"add after the end":               {slices.Clone(a).Add(Interval{51, 55}), Set{{0, 10}, {20, 30}, {40, 50}, {51, 55}}},
		"add in the middle":               {slices.Clone(a).Add(Interval{9, 21}), Set{{0, 30}, {40, 50}}},
		"add empty":                       {slices.Clone(a).Add(Interval{3, 3}), a},
	} {
		t.Run(name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("got %v; want %v", tc.got, tc.want)
			}
		})
	}
	if !slices.Equal(a, Set{{0, 10}, {20, 30}, {40, 50}}) {
		t.Errorf("operations changed their argument: %v", a)
	}
}

func TestContainsLenAndArithmetic(t *testing.T) {
	s := Of(Interval{0, 10}, Interval{20, 30})
	for _, tc := range []struct {
		from, to int64
		want     bool
	}{{0, 10, true}, {2, 3, true}, {5, 15, false}, {10, 20, false}, {20, 30, true}, {29, 31, false}, {40, 41, false}, {7, 7, true}} {
		if got := s.Contains(tc.from, tc.to); got != tc.want {
			t.Errorf("Contains(%d, %d) = %v; want %v", tc.from, tc.to, got, tc.want)
		}
	}
	if s.Len() != 20 || (Set{{math.MinInt64, 0}}).Len() != math.MaxInt64 {
		t.Errorf("Len: %d, %d", s.Len(), (Set{{math.MinInt64, 0}}).Len())
	}
	if Mul(-1<<62, 1000) != math.MinInt64 || Mul(1<<62, 1000) != math.MaxInt64 || Mul(-3, 1000) != -3000 {
		t.Error("Mul must saturate")
	}
	if FloorDiv(-1, 60) != -1 || CeilDiv(-1, 60) != 0 || CeilDiv(61, 60) != 2 || FloorDiv(math.MinInt64, 1000) >= 0 {
		t.Error("FloorDiv/CeilDiv")
	}
}
