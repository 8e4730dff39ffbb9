package query

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// fakeStore holds one series, metric "m" of namespace "ns", with a datum of
// value 1 in every minute bucket it has, and covers what it is told.
type fakeStore struct {
	buckets map[int64]bool
	covered []store.Interval
	reads   []string // "from-to" of each Range, for the tests
}

func (f *fakeStore) Lookup(tenant, namespace, metricName string, dims []record.Dimension) []store.SeriesRef {
	if namespace == "ns" && metricName == "m" {
		return []store.SeriesRef{1}
	}
	return nil
}

func (f *fakeStore) Key(store.SeriesRef) store.SeriesKey {
	return store.SeriesKey{Namespace: "ns", MetricName: "m", Unit: "None"}
}

func (f *fakeStore) Range(_ store.SeriesRef, start, end int64, fn func(a *store.Aggregate)) {
	f.reads = append(f.reads, fmt.Sprintf("%d-%d", start, end))
	for t := intervals.CeilDiv(start, 60) * 60; t < end; t += 60 {
		if f.buckets[t] {
			a := store.Aggregate{Start: t, Width: 60}
			a.AddDatum(&record.Datum{Value: 1})
			fn(&a)
		}
	}
}

func (f *fakeStore) Series(string, func(store.SeriesRef, *store.SeriesKey, int64) bool) {}

func (f *fakeStore) Coverage(from, to int64) []store.Interval {
	return intervals.Of(f.covered...).Clip(from, to)
}

func iv(from, to int64) store.Interval { return store.Interval{From: from, To: to} }

func TestPlan(t *testing.T) {
	const split = 10_000 * 60
	all := intervals.Set{iv(math.MinInt64, math.MaxInt64)}
	local, lt := &fakeStore{}, &fakeStore{}
	for name, tc := range map[string]struct {
		force           string
		noLongTerm      bool
		covLocal, covLT intervals.Set
		from, to, grain int64
		sources         string
		unknown         intervals.Set
	}{
		"both cover: the window split": {
			covLocal: intervals.Set{iv(split, math.MaxInt64)}, covLT: intervals.Set{iv(math.MinInt64, split+600)},
			from: split - 600, to: split + 600, grain: 60,
			sources: "longterm 599400-600000, local 600000-600600",
		},
		"a wiped WAL: the recent past from the long-term store": {
			covLocal: intervals.Set{iv(split+300, math.MaxInt64)}, covLT: intervals.Set{iv(math.MinInt64, split+330)},
			from: split, to: split + 600, grain: 60,
			sources: "longterm 600000-600300, local 600300-600600",
		},
		"a wiped WAL the long-term store lacks: unknown, read locally": {
			covLocal: intervals.Set{iv(split+290, math.MaxInt64)}, covLT: intervals.Set{iv(math.MinInt64, split+100)},
			from: split, to: split + 600, grain: 60,
			sources: "longterm 600000-600060, local 600060-600600", unknown: intervals.Set{iv(split+60, split+300)},
		},
		"an old hole the local window still has": {
			covLocal: all, covLT: intervals.Set{iv(math.MinInt64, split-300), iv(split-120, math.MaxInt64)},
			from: split - 600, to: split, grain: 60,
			sources: "longterm 599400-599700, local 599700-599880, longterm 599880-600000",
		},
		"an old hole nobody has: unknown, read from the long-term store": {
			covLocal: nil, covLT: intervals.Set{iv(math.MinInt64, split-300), iv(split-120, math.MaxInt64)},
			from: split - 600, to: split, grain: 60,
			sources: "longterm 599400-600000", unknown: intervals.Set{iv(split-300, split-120)},
		},
		"a bucket counts only when covered whole": {
			covLocal: intervals.Set{iv(split+61, math.MaxInt64)}, covLT: nil,
			from: split, to: split + 600, grain: 60,
			sources: "local 600000-600600", unknown: intervals.Set{iv(split, split+120)},
		},
		"the last bucket reaches past to": {
			covLocal: intervals.Set{iv(math.MinInt64, split+590)}, covLT: nil,
			from: split, to: split + 570, grain: 60,
			sources: "local 600000-600570", unknown: intervals.Set{iv(split+540, split+600)},
		},
		"sub-minute grain": {
			covLocal: intervals.Set{iv(split+13, math.MaxInt64)}, covLT: nil,
			from: split, to: split + 60, grain: 5,
			sources: "local 600000-600060", unknown: intervals.Set{iv(split, split+15)},
		},
		"forced long-term: what it lacks is unknown": {
			force: SourceLongTerm, covLT: intervals.Set{iv(math.MinInt64, split+200)},
			from: split, to: split + 600, grain: 60,
			sources: "longterm 600000-600600", unknown: intervals.Set{iv(split+180, split+600)},
		},
		"forced local": {
			force: SourceLocal, covLocal: intervals.Set{iv(split+200, math.MaxInt64)},
			from: split, to: split + 600, grain: 60,
			sources: "local 600000-600600", unknown: intervals.Set{iv(split, split+240)},
		},
		"no long-term store": {
			noLongTerm: true, covLocal: intervals.Set{iv(split, math.MaxInt64)},
			from: split - 120, to: split + 120, grain: 60,
			sources: "local 599880-600120", unknown: intervals.Set{iv(split-120, split)},
		},
	} {
		t.Run(name, func(t *testing.T) {
			v := &coverageView{force: tc.force, local: local, longTerm: lt, covLocal: tc.covLocal, covLT: tc.covLT, split: split}
			if tc.noLongTerm {
				v.longTerm = nil
			}
			p := v.plan(tc.from, tc.to, tc.grain)
			var got []string
			for _, s := range p.sources {
				got = append(got, fmt.Sprintf("%s %d-%d", s.name, s.from, s.to))
			}
			if strings.Join(got, ", ") != tc.sources || !slices.Equal(p.unknown, tc.unknown) {
				t.Errorf("got sources %q, unknown %v; want %q, %v", strings.Join(got, ", "), p.unknown, tc.sources, tc.unknown)
			}
		})
	}
}

// TestReadsReportUnknown: a node restarted without its WAL, whose long-term
// store lacks part of the time before: GetMetricData says PartialData with
// a message, every read sets the headers, and the service's Coverage agrees.
func TestReadsReportUnknown(t *testing.T) {
	now := time.Unix(1_767_225_600, 0) // minute-aligned
	restart, ltEnd := now.Unix()-600, now.Unix()-1200
	local := &fakeStore{buckets: map[int64]bool{}, covered: []store.Interval{iv(restart, math.MaxInt64)}}
	lt := &fakeStore{buckets: map[int64]bool{}, covered: []store.Interval{iv(math.MinInt64, ltEnd)}}
	for ts := now.Unix() - 3600; ts < now.Unix(); ts += 60 {
		lt.buckets[ts] = ts < ltEnd
		local.buckets[ts] = ts >= restart
	}
	s := New(Config{Local: local, LongTerm: lt, Now: func() time.Time { return now }}, nil)
	from, to := float64(now.Unix()-3600), float64(now.Unix())
	query := map[string]any{"Id": "q", "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "ns", "MetricName": "m"}, "Period": 60.0, "Stat": "Sum"}}
	wantUnknown := fmt.Sprintf("%s/%s", time.Unix(ltEnd, 0).UTC().Format(time.RFC3339), time.Unix(restart, 0).UTC().Format(time.RFC3339))

	hdr := http.Header{}
	out, err := s.GetMetricData(context.Background(), &awsapi.Request{Header: http.Header{}, Input: awsapi.Input{
		"StartTime": from, "EndTime": to, "MetricDataQueries": []any{query}}}, hdr)
	if err != nil {
		t.Fatal(err)
	}
	res := field(out, "MetricDataResults").(awsapi.List)[0].(awsapi.Object)
	msgs := field(out, "Messages").(awsapi.List)
	if field(res, "StatusCode") != statusPartial || len(field(res, "Values").(awsapi.List)) != 50 {
		t.Errorf("result: %v; want PartialData with the 50 known minutes", res)
	}
	if len(msgs) != 1 || field(msgs[0].(awsapi.Object), "Code") != "PartialData" || !strings.Contains(field(msgs[0].(awsapi.Object), "Value").(string), wantUnknown) {
		t.Errorf("messages %v; want one PartialData naming %s", msgs, wantUnknown)
	}
	if hdr.Get(HeaderUnknown) != wantUnknown || hdr.Get(HeaderSources) != "longterm,local" {
		t.Errorf("headers %v; want %s %s and sources longterm,local", hdr, HeaderUnknown, wantUnknown)
	}
	if got := s.Coverage("any", now.Unix()-3600, now.Unix()); !slices.Equal(got, []store.Interval{iv(ltEnd, restart)}) {
		t.Errorf("Coverage = %v; want [%d, %d)", got, ltEnd, restart)
	}

	// GetMetricStatistics: the header only.
	hdr = http.Header{}
	if _, err := s.GetMetricStatistics(context.Background(), &awsapi.Request{Header: http.Header{}, Input: awsapi.Input{
		"Namespace": "ns", "MetricName": "m", "StartTime": from, "EndTime": to, "Period": 60.0, "Statistics": []any{"Sum"}}}, hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Get(HeaderUnknown) != wantUnknown {
		t.Errorf("GetMetricStatistics: %s %q; want %q", HeaderUnknown, hdr.Get(HeaderUnknown), wantUnknown)
	}

	// A range both stores cover is Complete, without the header or a message.
	hdr = http.Header{}
	out, err = s.GetMetricData(context.Background(), &awsapi.Request{Header: http.Header{}, Input: awsapi.Input{
		"StartTime": from, "EndTime": float64(ltEnd), "MetricDataQueries": []any{query}}}, hdr)
	if err != nil {
		t.Fatal(err)
	}
	res = field(out, "MetricDataResults").(awsapi.List)[0].(awsapi.Object)
	if field(res, "StatusCode") != statusComplete || len(field(out, "Messages").(awsapi.List)) != 0 || hdr.Get(HeaderUnknown) != "" {
		t.Errorf("covered range: %v, headers %v; want Complete and no unknown", out, hdr)
	}
}

func field(o awsapi.Object, name string) any {
	for _, f := range o {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

func TestFormatUnknown(t *testing.T) {
	var set intervals.Set
	for i := range int64(150) {
		set = append(set, iv(i*120, i*120+60))
	}
	parts := strings.Split(formatUnknown(set), ",")
	if len(parts) != maxUnknownListed || parts[len(parts)-1] != "1970-01-01T03:18:00Z/1970-01-01T04:59:00Z" {
		t.Errorf("got %d intervals, the last %q; want %d, the last spanning the rest", len(parts), parts[len(parts)-1], maxUnknownListed)
	}
	if got := formatUnknown(intervals.Set{iv(0, 60)}); got != "1970-01-01T00:00:00Z/1970-01-01T00:01:00Z" {
		t.Errorf("got %q", got)
	}
}

// BenchmarkPlan: the coverage-aware plan of a 3 h range by the minute, with
// a local store restarted every ten minutes and a long-term store with
// holes.
func BenchmarkPlan(b *testing.B) {
	const now = 10_000 * 60
	var local, lt intervals.Set
	for i := int64(0); i < 18; i++ {
		local = append(local, iv(now-10800+i*600+10, now-10800+(i+1)*600))
		lt = append(lt, iv(now-10800+i*600, now-10800+i*600+590))
	}
	v := &coverageView{local: &fakeStore{}, longTerm: &fakeStore{}, covLocal: local, covLT: lt, split: now - 10800}
	for b.Loop() {
		if p := v.plan(now-10800, now, 60); len(p.sources) == 0 {
			b.Fatal("no plan")
		}
	}
}
