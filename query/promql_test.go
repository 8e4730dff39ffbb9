package query

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

func TestPromNames(t *testing.T) {
	for in, want := range map[string]string{
		"CPUUtilization": "CPUUtilization", "Latency-ms": "Latency_ms", "5xx": "_5xx", "a.b c": "a_b_c", "": "",
	} {
		if got := PromName(in); got != want {
			t.Errorf("PromName(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"InstanceId": "InstanceId", "Cluster Name": "Cluster_Name", "namespace": "dimension_namespace",
		"stat": "dimension_stat", "unit": "dimension_unit", "__name__": "dimension___name__", "dimension_x": "dimension_dimension_x",
	} {
		if got := dimensionName(in); got != want {
			t.Errorf("dimensionName(%q) = %q; want %q", in, got, want)
		}
	}
	var b labels.ScratchBuilder
	key := &store.SeriesKey{Namespace: "AWS/EC2", MetricName: "Req-Count", Dimensions: []record.Dimension{{Name: "stat", Value: "x"}, {Name: "Host", Value: "a"}}}
	got := seriesLabels(key, &b).String()
	if want := `{Host="a", __name__="Req_Count", cw_metric="Req-Count", dimension_stat="x", namespace="AWS/EC2", unit="None"}`; got != want {
		t.Errorf("labels %s; want %s", got, want)
	}
}

func TestStatsFor(t *testing.T) {
	m := func(typ labels.MatchType, v string) *labels.Matcher { return labels.MustNewMatcher(typ, LabelStat, v) }
	for name, c := range map[string]struct {
		ms   []*labels.Matcher
		want []string
	}{
		"none":       {nil, []string{"average", "count", "max", "min", "sum", "last"}},
		"last":       {[]*labels.Matcher{m(labels.MatchEqual, "last")}, []string{"last"}},
		"equal":      {[]*labels.Matcher{m(labels.MatchEqual, "sum")}, []string{"sum"}},
		"percentile": {[]*labels.Matcher{m(labels.MatchEqual, "p99.9")}, []string{"p99.9"}},
		"regexp":     {[]*labels.Matcher{m(labels.MatchRegexp, "min|max|p99")}, []string{"max", "min"}},
		"not":        {[]*labels.Matcher{m(labels.MatchNotEqual, "sum")}, []string{"average", "count", "max", "min", "last"}},
		"unknown":    {[]*labels.Matcher{m(labels.MatchEqual, "median")}, nil},
	} {
		var got []string
		for _, p := range statsFor(c.ms) {
			got = append(got, p.label)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v; want %v", name, got, c.want)
		}
	}
}

func TestPromIteratorSeek(t *testing.T) {
	s := &promSeries{samples: promSamples{{1000, 1}, {2000, 2}, {5000, 5}}}
	it := s.Iterator(nil)
	for _, c := range []struct {
		seek int64
		want int64 // -1: none
	}{{0, 1000}, {1000, 1000}, {1500, 2000}, {1000, 2000}, {5000, 5000}, {6000, -1}} {
		vt := it.Seek(c.seek)
		switch {
		case c.want < 0 && vt != chunkenc.ValNone:
			t.Errorf("Seek(%d) = %v; want none", c.seek, vt)
		case c.want >= 0 && (vt != chunkenc.ValFloat || it.AtT() != c.want):
			t.Errorf("Seek(%d) at %d; want %d", c.seek, it.AtT(), c.want)
		}
	}
	it = s.Iterator(it)
	n := 0
	for it.Next() == chunkenc.ValFloat {
		n++
	}
	if n != 3 {
		t.Errorf("Next visited %d samples; want 3", n)
	}
}

// TestQueryableExtremes: the engine may ask for any time range.
func TestQueryableExtremes(t *testing.T) {
	s := New(Config{Local: emptyStore{}}, nil)
	q, err := s.Queryable("default", nil).Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	if ss.Next() || ss.Err() != nil {
		t.Errorf("select over everything: %v", ss.Err())
	}
}

type emptyStore struct{}

func (emptyStore) Lookup(string, string, string, []record.Dimension) []store.SeriesRef { return nil }
func (emptyStore) Key(store.SeriesRef) store.SeriesKey                                 { return store.SeriesKey{} }
func (emptyStore) Range(store.SeriesRef, int64, int64, func(*store.Aggregate))         {}
func (emptyStore) Series(string, func(store.SeriesRef, *store.SeriesKey, int64) bool)  {}
