package alarmapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/query"
)

type fakeReader struct {
	reads   int
	values  map[int64]query.AlarmDatapoint
	unknown []intervals.Interval
}

func (f *fakeReader) Periods(_ context.Context, _ string, _ alerting.Metric, _, _ string, _, _, _ int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error) {
	f.reads++
	return f.values, f.unknown, nil
}

func call(t *testing.T, h Handler, body string) (awsapi.Object, error) {
	t.Helper()
	var in map[string]any
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	return h(context.Background(), &awsapi.Request{Input: in}, http.Header{})
}

func TestEvaluateDueReadsEachSeriesOnce(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 10, 30, 0, time.UTC)
	f := &fakeReader{values: map[int64]query.AlarmDatapoint{}}
	end := now.Add(-10*time.Second).Unix() / 60 * 60
	for i := int64(1); i <= 5; i++ {
		f.values[end-i*60] = query.AlarmDatapoint{Value: 10, SampleCount: 1}
	}
	s, err := openService(t, alerting.Config{Dir: t.TempDir(), Reader: f, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"a", "b", "c"} {
		if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"`+name+`","Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":3,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold"}`); err != nil {
			t.Fatal(err)
		}
	}
	last := map[string]int64{}
	s.EvaluateDue(context.Background(), last)
	if f.reads != 1 {
		t.Errorf("reads: got %d; want 1 for three alarms on one series", f.reads)
	}
	for _, name := range []string{"a", "b", "c"} {
		if a := s.Alarm(awsapi.DefaultTenant, name); a.State.Value != alerting.StateAlarm {
			t.Errorf("%s: got %s %q; want ALARM", name, a.State.Value, a.State.Reason)
		}
	}
	s.EvaluateDue(context.Background(), last)
	if f.reads != 1 {
		t.Errorf("second pass in the same period read again: %d reads", f.reads)
	}
	// The node loses its data: breaching must not ALARM, it is INSUFFICIENT_DATA.
	now = now.Add(time.Minute)
	f.values = map[int64]query.AlarmDatapoint{}
	f.unknown = []intervals.Interval{{From: 0, To: now.Unix()}}
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"a","Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":3,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"breaching"}`); err != nil {
		t.Fatal(err)
	}
	s.EvaluateDue(context.Background(), last)
	if a := s.Alarm(awsapi.DefaultTenant, "a"); a.State.Value != alerting.StateInsufficientData {
		t.Errorf("lost data, breaching: got %s %q; want INSUFFICIENT_DATA", a.State.Value, a.State.Reason)
	}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Periods(context.Context, string, alerting.Metric, string, string, int64, int64, int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error) {
	return nil, nil, r.err
}

// TestUnevaluableStatistic: an alarm stored with a statistic the reader can
// never compute (stored before PutMetricAlarm checked it as now) goes to
// INSUFFICIENT_DATA with a reason naming the statistic; a failed read
// leaves the state as it was.
func TestUnevaluableStatistic(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 10, 30, 0, time.UTC)
	for name, c := range map[string]struct {
		err  error
		want string // in the reason
	}{
		"unsupported":  {fmt.Errorf("read: %w: %q", query.ErrUnsupportedStatistic, "TM(10%:500)"), "the statistic TM(10%:500) cannot be evaluated"},
		"read failure": {errors.New("store down"), "Unchecked: Initial alarm creation"},
	} {
		s, err := openService(t, alerting.Config{Dir: t.TempDir(), Reader: errReader{c.err}, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		a := &alerting.Alarm{Metric: alerting.Metric{Namespace: "ns", MetricName: "m"}, ExtendedStatistic: "TM(10%:500)", Period: 60, EvaluationPeriods: 1,
			Threshold: 1, ComparisonOperator: "GreaterThanThreshold"}
		a.Name, a.Tenant = "old", awsapi.DefaultTenant
		if err := s.store.Put(a); err != nil {
			t.Fatal(err)
		}
		s.EvaluateDue(context.Background(), map[string]int64{})
		got := s.Alarm(awsapi.DefaultTenant, "old")
		if got.State.Value != alerting.StateInsufficientData || !strings.Contains(got.State.Reason, c.want) {
			t.Errorf("%s: got %s %q; want INSUFFICIENT_DATA %q", name, got.State.Value, got.State.Reason, c.want)
		}
	}
}
