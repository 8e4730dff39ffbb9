package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

func TestEvaluateQueries(t *testing.T) {
	const base = 10_000 * 60
	queries := []MetricQuery{
		{ID: "m1", Namespace: "ns", MetricName: "m", Stat: "Sum", Period: 60},
		{ID: "e1", Expression: "m1 * 2"},
		{ID: "e2", Expression: "FILL(m1, 0) + 1"},
	}
	for name, tc := range map[string]struct {
		covered []store.Interval
		want    string
		unknown string
	}{
		"all covered": {[]store.Interval{iv(0, base+3600)},
			"m1 60 [0 60 180 240] [1 1 1 1] false|e1 60 [0 60 180 240] [2 2 2 2] false|e2 60 [0 60 120 180 240] [2 2 1 2 2] false", "[]"},
		"minutes 2 to 4 unknown: FILL leaves them": {[]store.Interval{iv(0, base+120)},
			"m1 60 [0 60 180 240] [1 1 1 1] true|e1 60 [0 60 180 240] [2 2 2 2] true|e2 60 [0 60 180 240] [2 2 2 2] true", "[{120 300}]"},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeStore{buckets: map[int64]bool{base: true, base + 60: true, base + 180: true, base + 240: true}, covered: tc.covered}
			s := New(Config{Local: f, Now: func() time.Time { return time.Unix(base+3600, 0) }}, nil)
			got, unknown, err := s.EvaluateQueries(context.Background(), "t", queries, base, base+300)
			if err != nil {
				t.Fatal(err)
			}
			var out string
			for i, id := range []string{"m1", "e1", "e2"} {
				r := got[id]
				rel := make([]int64, len(r.Timestamps))
				for j, ts := range r.Timestamps {
					rel[j] = ts - base
				}
				if i > 0 {
					out += "|"
				}
				out += fmt.Sprintf("%s %d %v %v %v", r.ID, r.Period, rel, r.Values, r.Unknown)
			}
			if out != tc.want {
				t.Errorf("got  %s\nwant %s", out, tc.want)
			}
			for i := range unknown {
				unknown[i].From, unknown[i].To = unknown[i].From-base, unknown[i].To-base
			}
			if fmt.Sprint(unknown) != tc.unknown {
				t.Errorf("unknown %v; want %s", unknown, tc.unknown)
			}
		})
	}
	t.Run("an error names the problem", func(t *testing.T) {
		s := New(Config{Local: &fakeStore{}}, nil)
		_, _, err := s.EvaluateQueries(context.Background(), "t", []MetricQuery{{ID: "e1", Expression: "e1 + 1"}}, base, base+300)
		var ae *awsapi.Error
		if !errors.As(err, &ae) || ae.Code != "InvalidParameterValue" {
			t.Errorf("got %v; want an InvalidParameterValue", err)
		}
	})
}

func TestValidateQueries(t *testing.T) {
	m := func(id string, period int64) MetricQuery {
		return MetricQuery{ID: id, Namespace: "ns", MetricName: "m", Stat: "Average", Period: period}
	}
	e := func(id, expr string) MetricQuery { return MetricQuery{ID: id, Expression: expr} }
	for name, tc := range map[string]struct {
		queries []MetricQuery
		want    string // periods, or the error's text
	}{
		"periods by Id":        {[]MetricQuery{m("m1", 300), m("m2", 300), e("e1", "m1 / m2 * 100")}, "map[e1:300 m1:300 m2:300]"},
		"bad Id":               {[]MetricQuery{m("M1", 60)}, "Metrics.member.1.Id is invalid"},
		"duplicate Id":         {[]MetricQuery{m("m1", 60), m("m1", 60)}, "Metrics.member.2.Id is not unique"},
		"bad stat":             {[]MetricQuery{{ID: "m1", Stat: "Median", Period: 60}}, "Median for parameter Metrics.member.1.MetricStat.Stat"},
		"bad period":           {[]MetricQuery{m("m1", 45)}, "Metrics.member.1.MetricStat.Period must be"},
		"syntax":               {[]MetricQuery{m("m1", 60), e("e1", "m1 *")}, "Metrics.member.2.Expression is invalid"},
		"unknown Id":           {[]MetricQuery{m("m1", 60), e("e1", "m2")}, "uses the Id m2"},
		"periods differ":       {[]MetricQuery{m("m1", 60), m("m2", 300), e("e1", "m1 + m2")}, "must share one period"},
		"unsupported function": {[]MetricQuery{m("m1", 60), e("e1", "ANOMALY_DETECTION_BAND(m1)")}, "The function ANOMALY_DETECTION_BAND is not supported"},
	} {
		t.Run(name, func(t *testing.T) {
			periods, err := ValidateQueries(tc.queries)
			got := fmt.Sprint(periods)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}
