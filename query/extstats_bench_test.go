package query

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cellwatch/cellwatch/store"
)

// BenchmarkExtendedStatistics computes each statistic over one aggregate
// (1,000 lognormal latencies, a busy minute) and over 1,440 aggregates of
// 100 values each (a day of minutes: the most one GetMetricStatistics call
// returns).
func BenchmarkExtendedStatistics(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	lognormal := func() float64 { return math.Exp(3 + 1.5*r.NormFloat64()) }
	one := new(store.Aggregate)
	for range 1000 {
		one.AddValue(lognormal(), 1)
	}
	day := make([]*store.Aggregate, 1440)
	for i := range day {
		day[i] = new(store.Aggregate)
		for range 100 {
			day[i].AddValue(lognormal(), 1)
		}
	}
	for _, s := range []string{"Average", "p99", "tm90", "IQM", "wm90", "tc90", "ts90", "TM(10%:90%)", "TM(20:100)", "PR(:100)"} {
		st, ok := ParseStatistic(s)
		if !ok {
			b.Fatalf("%s: refused", s)
		}
		b.Run(s+"/1", func(b *testing.B) {
			for b.Loop() {
				if _, ok := st.value(one); !ok {
					b.Fatal("no value")
				}
			}
		})
		b.Run(s+"/1440", func(b *testing.B) {
			for b.Loop() {
				for _, a := range day {
					if _, ok := st.value(a); !ok {
						b.Fatal("no value")
					}
				}
			}
		})
	}
}

func BenchmarkParseStatistic(b *testing.B) {
	for b.Loop() {
		for _, s := range []string{"p99", "tm90", "TM(10%:90%)", "PR(100:2000)"} {
			if _, ok := ParseStatistic(s); !ok {
				b.Fatal(s)
			}
		}
	}
}
