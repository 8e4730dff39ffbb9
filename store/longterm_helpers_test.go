package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/record"
)

func openTestLongTerm(t testing.TB, dir string, clock *testClock, reg prometheus.Registerer) *LongTerm {
	t.Helper()
	lt, err := startLongTerm(LongTermConfig{Dir: dir, Now: clock.now}, reg)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

// startLongTerm builds a long-term store and runs it, as a node does.
func startLongTerm(cfg LongTermConfig, reg prometheus.Registerer) (*LongTerm, error) {
	lt, err := NewLongTerm(cfg, reg, nil)
	if err != nil {
		return nil, err
	}
	if err := services.StartAndAwaitRunning(context.Background(), lt); err != nil {
		return nil, err
	}
	return lt, nil
}

// stopLongTerm stops lt, which closes its database.
func stopLongTerm(lt *LongTerm) error {
	return services.StopAndAwaitTerminated(context.Background(), lt)
}

// closeOnCleanup closes lt when the test ends unless the test closed it.
func closeOnCleanup(t testing.TB, lt **LongTerm) {
	t.Cleanup(func() {
		if *lt != nil {
			_ = stopLongTerm(*lt)
		}
	})
}

// metricsMsg builds a KindMetrics message.
func metricsMsg(off int64, origin string, walOff uint64, m *record.Metrics) Message {
	return Message{Offset: off, Shipped: record.Shipped{
		Origin: origin, Offset: walOff, Kind: record.KindMetrics, Body: record.AppendMetrics(nil, m),
	}}
}

func gapMsg(off int64, origin string, walOff uint64, g record.Gap) Message {
	return Message{Offset: off, Shipped: record.Shipped{
		Origin: origin, Offset: walOff, Kind: record.KindGap, Body: record.AppendGap(nil, g),
	}}
}

// bucketKey names a bucket of a series for comparisons.
type bucketKey struct {
	series       string
	start, width int64
}

func seriesName(k *SeriesKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/%s", k.Tenant, k.Namespace, k.MetricName)
	for _, d := range k.Dimensions {
		fmt.Fprintf(&b, ",%s=%s", d.Name, d.Value)
	}
	fmt.Fprintf(&b, " %s", k.Unit)
	return b.String()
}

// model is the expected content of the tiers: every datum merged into each
// tier's bucket, as the long-term store should hold it.
type model map[bucketKey]*Aggregate

func (md model) apply(m *record.Metrics, now int64) {
	for i := range m.Datums {
		d := m.Datums[i]
		if !validDatum(&d) {
			continue
		}
		d.Dimensions = sortedDims(d.Dimensions)
		key := SeriesKey{Tenant: m.Tenant, Namespace: m.Namespace, MetricName: d.MetricName, Dimensions: d.Dimensions, Unit: d.Unit}
		sec := floorDiv(d.Timestamp, 1000)
		for ti := range tiers {
			t := &tiers[ti]
			if t.highRes && !d.HighRes || !t.holds(sec, now) {
				continue
			}
			start := floorDiv(sec, t.width) * t.width
			bk := bucketKey{seriesName(&key), start, t.width}
			a := md[bk]
			if a == nil {
				a = &Aggregate{Start: start, Width: t.width}
				md[bk] = a
			}
			a.AddDatum(&d)
		}
	}
}

// dump reads every bucket of every tier of tenant's series in [from, to).
func dump(lt *LongTerm, tenant string, from, to int64) model {
	out := model{}
	now := lt.now()
	lt.Series(tenant, func(ref SeriesRef, key *SeriesKey, _ int64) bool {
		name := seriesName(key)
		for ti := range tiers {
			lt.readTier(uint32(ref), ti, from, to, now, func(a *Aggregate) {
				out[bucketKey{name, a.Start, a.Width}] = a.Clone()
			})
		}
		return true
	})
	return out
}

// diffAggregate compares two aggregates: Count, Min, Max exactly, Sum within
// float rounding, percentile availability and a few percentiles.
func diffAggregate(got, want *Aggregate) error {
	if got.Start != want.Start || got.Width != want.Width {
		return fmt.Errorf("bucket %d/%d; want %d/%d", got.Start, got.Width, want.Start, want.Width)
	}
	if got.Count != want.Count || got.Min != want.Min || got.Max != want.Max {
		return fmt.Errorf("count/min/max %v/%v/%v; want %v/%v/%v", got.Count, got.Min, got.Max, want.Count, want.Min, want.Max)
	}
	if math.Abs(got.Sum-want.Sum) > 1e-9*math.Max(1, math.Abs(want.Sum)) {
		return fmt.Errorf("sum %v; want %v", got.Sum, want.Sum)
	}
	if got.LastTS != want.LastTS || math.Float64bits(got.Last) != math.Float64bits(want.Last) {
		return fmt.Errorf("last %v@%d; want %v@%d", got.Last, got.LastTS, want.Last, want.LastTS)
	}
	if got.PercentilesAvailable() != want.PercentilesAvailable() {
		return fmt.Errorf("percentiles available %v; want %v", got.PercentilesAvailable(), want.PercentilesAvailable())
	}
	for _, p := range []float64{10, 50, 90, 99.9} {
		g, _ := got.Percentile(p)
		w, _ := want.Percentile(p)
		if g != w {
			return fmt.Errorf("p%v %v; want %v", p, g, w)
		}
	}
	return nil
}

// compareModels reports every difference between got and want.
func compareModels(t *testing.T, got, want model) {
	t.Helper()
	keys := make([]bucketKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if want[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b bucketKey) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	bad := 0
	for _, k := range keys {
		g, w := got[k], want[k]
		var err error
		switch {
		case g == nil:
			err = fmt.Errorf("missing")
		case w == nil:
			err = fmt.Errorf("unexpected bucket, count %v", g.Count)
		default:
			err = diffAggregate(g, w)
		}
		if err != nil {
			if bad++; bad <= 10 {
				t.Errorf("%v: %v", k, err)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d differences in all", bad)
	}
}
