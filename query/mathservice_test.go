package query

import (
	"context"
	"errors"
	"fmt"
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
