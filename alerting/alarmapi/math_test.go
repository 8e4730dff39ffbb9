package alarmapi

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/alerting/notify"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
)

// fakeMathReader serves metric math alarms a fixed returned series.
type fakeMathReader struct {
	fakeReader
	series   map[int64]float64
	returned string
	from, to int64
}

func (f *fakeMathReader) Series(_ context.Context, _ string, _ []alerting.MetricDataQuery, returned string, from, to int64) (map[int64]float64, []intervals.Interval, error) {
	f.reads++
	f.returned, f.from, f.to = returned, from, to
	return f.series, f.unknown, nil
}

const (
	m1Query   = `{"Id":"m1","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"a"},"Period":60,"Stat":"Sum"},"ReturnData":false}`
	m2Query   = `{"Id":"m2","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"b","Dimensions":[{"Name":"host","Value":"h1"}]},"Period":60,"Stat":"Average"},"ReturnData":false}`
	mathTail  = `,"EvaluationPeriods":3,"Threshold":10,"ComparisonOperator":"GreaterThanThreshold"}`
	mathAlarm = `{"AlarmName":"sum","Metrics":[` + m1Query + `,` + m2Query + `,{"Id":"e1","Expression":"m1 + m2","Label":"total"}]` + mathTail
)

func TestPutMetricAlarmMetricsValidation(t *testing.T) {
	s, err := openService(t, alerting.Config{Dir: t.TempDir()}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stat := func(id string, period int) string {
		return `{"Id":"` + id + `","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"` + id + `"},"Period":` + itoa(period) + `,"Stat":"Sum"},"ReturnData":false}`
	}
	many := make([]string, 11)
	for i := range many {
		many[i] = stat("m"+itoa(i), 60)
	}
	for _, c := range []struct {
		name, body string
		code, msg  string // code "" = accepted
	}{
		{"ok", mathAlarm, "", ""},
		{"one metric returned", `{"AlarmName":"x","Metrics":[` + strings.Replace(m1Query, "false", "true", 1) + `]` + mathTail, "", ""},
		{"two returned", `{"AlarmName":"x","Metrics":[` + strings.Replace(m1Query, "false", "true", 1) + `,{"Id":"e1","Expression":"m1 * 2"}]` + mathTail, "ValidationError", "Exactly one"},
		{"default returned twice", `{"AlarmName":"x","Metrics":[{"Id":"m1","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"a"},"Period":60,"Stat":"Sum"}},{"Id":"e1","Expression":"m1 * 2"}]` + mathTail, "ValidationError", "Exactly one"},
		{"none returned", `{"AlarmName":"x","Metrics":[` + m1Query + `]` + mathTail, "ValidationError", "Exactly one"},
		{"with MetricName", `{"AlarmName":"x","MetricName":"a","Metrics":[` + m1Query + `,{"Id":"e1","Expression":"m1 * 2"}]` + mathTail, "InvalidParameterCombination", "MetricName"},
		{"with Period", `{"AlarmName":"x","Period":60,"Metrics":[` + m1Query + `,{"Id":"e1","Expression":"m1 * 2"}]` + mathTail, "InvalidParameterCombination", "Period"},
		{"with Statistic", `{"AlarmName":"x","Statistic":"Sum","Metrics":[` + m1Query + `,{"Id":"e1","Expression":"m1 * 2"}]` + mathTail, "InvalidParameterCombination", "Statistic"},
		{"empty", `{"AlarmName":"x","Metrics":[]` + mathTail, "ValidationError", "empty"},
		{"eleven metrics", `{"AlarmName":"x","Metrics":[` + strings.Join(many, ",") + `,{"Id":"e1","Expression":"SUM(METRICS())"}]` + mathTail, "ValidationError", "maximum number of metrics"},
		{"bad expression", `{"AlarmName":"x","Metrics":[` + m1Query + `,{"Id":"e1","Expression":"m1 +"}]` + mathTail, "InvalidParameterValue", "Expression"},
		{"unknown id", `{"AlarmName":"x","Metrics":[` + m1Query + `,{"Id":"e1","Expression":"m1 + m9"}]` + mathTail, "InvalidParameterValue", "m9"},
		{"unsupported function", `{"AlarmName":"x","Metrics":[` + m1Query + `,{"Id":"e1","Expression":"ANOMALY_DETECTION_BAND(m1)"}]` + mathTail, "InvalidParameterValue", "ANOMALY_DETECTION_BAND"},
		{"periods differ", `{"AlarmName":"x","Metrics":[` + stat("m1", 60) + `,` + stat("m2", 300) + `,{"Id":"e1","Expression":"m1 + m2"}]` + mathTail, "InvalidParameterValue", "period"},
		{"unused period differs", `{"AlarmName":"x","Metrics":[` + stat("m1", 60) + `,` + stat("m2", 300) + `,{"Id":"e1","Expression":"m1 * 2"}]` + mathTail, "ValidationError", "share one period"},
		{"expression period differs", `{"AlarmName":"x","Metrics":[` + m1Query + `,{"Id":"e1","Expression":"m1 * 2","Period":300}]` + mathTail, "ValidationError", "Period"},
		{"expression and metric stat", `{"AlarmName":"x","Metrics":[{"Id":"e1","Expression":"1","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"a"},"Period":60,"Stat":"Sum"}}]` + mathTail, "ValidationError", "mutually exclusive"},
		{"neither", `{"AlarmName":"x","Metrics":[{"Id":"e1"}]` + mathTail, "ValidationError", "either"},
		{"no id", `{"AlarmName":"x","Metrics":[{"Expression":"1"}]` + mathTail, "ValidationError", "null"},
		{"bad period", `{"AlarmName":"x","Metrics":[` + strings.Replace(stat("m1", 45), "false", "true", 1) + `]` + mathTail, "", "Period"},
		{"span over a day", `{"AlarmName":"x","Metrics":[` + strings.Replace(stat("m1", 60), "false", "true", 1) + `],"EvaluationPeriods":1441,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}`, "ValidationError", "a day"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := call(t, s.PutMetricAlarm, c.body)
			if c.code == "" && c.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *awsapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v; want an *awsapi.Error", err)
			}
			if (c.code != "" && e.Code != c.code) || !strings.Contains(e.Message, c.msg) {
				t.Errorf("got %s %q; want %s containing %q", e.Code, e.Message, c.code, c.msg)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// jsonOf renders an output structure as JSON, members in order.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	var walk func(v any)
	fields := func(fs []awsapi.Field) {
		b.WriteByte('{')
		for i, f := range fs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(f.Name) + ":")
			walk(f.Value)
		}
		b.WriteByte('}')
	}
	walk = func(v any) {
		switch x := v.(type) {
		case awsapi.Object:
			fields(x)
		case awsapi.Map:
			fields(x)
		case awsapi.List:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				walk(e)
			}
			b.WriteByte(']')
		default:
			j, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(j)
		}
	}
	walk(v)
	return b.String()
}

func TestMetricMathAlarmEvaluatesTheReturnedSeries(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 10, 30, 0, time.UTC)
	end := now.Add(-10*time.Second).Unix() / 60 * 60
	f := &fakeMathReader{series: map[int64]float64{}}
	for i := int64(1); i <= 5; i++ {
		f.series[end-i*60] = 12
	}
	dir := t.TempDir()
	s, err := openService(t, alerting.Config{Dir: dir, Reader: f, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, s.PutMetricAlarm, mathAlarm); err != nil {
		t.Fatal(err)
	}
	last := map[string]int64{}
	s.EvaluateDue(context.Background(), last)
	a := s.Alarm(awsapi.DefaultTenant, "sum")
	if a.State.Value != alerting.StateAlarm {
		t.Fatalf("got %s %q; want ALARM", a.State.Value, a.State.Reason)
	}
	if f.returned != "e1" || f.from != end-5*60 || f.to != end {
		t.Errorf("read %s over [%d, %d); want e1 over [%d, %d)", f.returned, f.from, f.to, end-5*60, end)
	}
	if f.reads != 1 {
		t.Errorf("reads: %d; want 1", f.reads)
	}
	if strings.Contains(a.State.ReasonData, "statistic") || strings.Contains(a.State.ReasonData, "sampleCount") || !strings.Contains(a.State.ReasonData, `"recentDatapoints":[12.0,12.0,12.0]`) {
		t.Errorf("reason data: %s", a.State.ReasonData)
	}
	if !strings.Contains(a.State.Reason, "[12.0 (") {
		t.Errorf("reason: %s", a.State.Reason)
	}

	// Below the threshold: OK.
	now = now.Add(time.Minute)
	end += 60
	for i := int64(1); i <= 5; i++ {
		f.series[end-i*60] = 3
	}
	s.EvaluateDue(context.Background(), last)
	if a := s.Alarm(awsapi.DefaultTenant, "sum"); a.State.Value != alerting.StateOK {
		t.Errorf("below: got %s %q; want OK", a.State.Value, a.State.Reason)
	}

	// Missing periods follow TreatMissingData; unknown ones are never filled.
	now = now.Add(time.Minute)
	end += 60
	f.series = map[int64]float64{}
	f.unknown = []intervals.Interval{{From: end - 2*60, To: end}}
	if _, err := call(t, s.PutMetricAlarm, strings.Replace(mathAlarm, `"EvaluationPeriods"`, `"TreatMissingData":"breaching","EvaluationPeriods"`, 1)); err != nil {
		t.Fatal(err)
	}
	s.EvaluateDue(context.Background(), last)
	if a := s.Alarm(awsapi.DefaultTenant, "sum"); a.State.Value != alerting.StateInsufficientData || !strings.Contains(a.State.Reason, "unknown") {
		t.Errorf("unknown periods, breaching: got %s %q; want INSUFFICIENT_DATA naming them", a.State.Value, a.State.Reason)
	}
	f.unknown = nil
	now = now.Add(time.Minute)
	s.EvaluateDue(context.Background(), last)
	if a := s.Alarm(awsapi.DefaultTenant, "sum"); a.State.Value != alerting.StateAlarm {
		t.Errorf("missing, breaching: got %s %q; want ALARM", a.State.Value, a.State.Reason)
	}

	// Durable, and described in the input's shape without the single-metric fields.
	s.Close()
	s, err = openService(t, alerting.Config{Dir: dir, Reader: f, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := call(t, s.DescribeAlarms, `{"AlarmNames":["sum"]}`)
	if err != nil {
		t.Fatal(err)
	}
	js := jsonOf(t, out)
	for _, want := range []string{`"Metrics":[{"Id":"m1","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"a","Dimensions":[]},"Period":60,"Stat":"Sum"},"ReturnData":false}`,
		`{"Id":"m2","MetricStat":{"Metric":{"Namespace":"ns","MetricName":"b","Dimensions":[{"Name":"host","Value":"h1"}]},"Period":60,"Stat":"Average"},"ReturnData":false}`,
		`{"Id":"e1","Expression":"m1 + m2","Label":"total","ReturnData":true}]`, `"StateValue":"ALARM"`} {
		if !strings.Contains(js, want) {
			t.Errorf("DescribeAlarms lacks %s: %s", want, js)
		}
	}
	for _, absent := range []string{`"MetricName":"a","Namespace"`, `"Statistic"`, `"Period":60,"EvaluationPeriods"`, `"Namespace":"ns","Statistic"`} {
		if strings.Contains(js, absent) {
			t.Errorf("DescribeAlarms has %s: %s", absent, js)
		}
	}
}

func TestMetricMathAlarmSNSTrigger(t *testing.T) {
	in := map[string]any{}
	if err := json.Unmarshal([]byte(mathAlarm), &in); err != nil {
		t.Fatal(err)
	}
	a, err := parseAlarm(in)
	if err != nil {
		t.Fatal(err)
	}
	a.State.Value = alerting.StateAlarm
	b, err := notify.SNSMessage(alerting.Message(a, alerting.StateOK))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Trigger map[string]any }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"MetricName", "Namespace", "Statistic", "StatisticType", "Dimensions", "Unit"} {
		if _, ok := m.Trigger[absent]; ok {
			t.Errorf("trigger has %s: %s", absent, b)
		}
	}
	ms, _ := m.Trigger["Metrics"].([]any)
	if len(ms) != 3 || m.Trigger["Period"] != 60.0 {
		t.Fatalf("trigger: %s", b)
	}
	if e1, _ := ms[2].(map[string]any); e1["Expression"] != "m1 + m2" || e1["ReturnData"] != true || e1["Label"] != "total" {
		t.Errorf("e1: %v", e1)
	}
	if !strings.Contains(string(b), `"MetricStat":{"Metric":{"Dimensions":[{"name":"host","value":"h1"}],"MetricName":"b","Namespace":"ns"},"Period":60,"Stat":"Average"},"ReturnData":false`) {
		t.Errorf("m2: %s", b)
	}
}

func TestMetricMathAlarmAlertmanagerLabels(t *testing.T) {
	in := map[string]any{}
	if err := json.Unmarshal([]byte(mathAlarm), &in); err != nil {
		t.Fatal(err)
	}
	a, err := parseAlarm(in)
	if err != nil {
		t.Fatal(err)
	}
	a.State.Value = alerting.StateAlarm
	b, err := notify.AlertmanagerAlerts(alerting.Message(a, ""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"namespace"`) || strings.Contains(string(b), `"metric"`) || !strings.Contains(string(b), `"alertname":"sum"`) {
		t.Errorf("labels: %s", b)
	}
	// The history's configuration JSON carries the Metrics list, not the single metric.
	h := alerting.ConfigJSON(a)
	if !strings.Contains(h, `"metrics":[{"id":"m1","metricStat":{"metric":{"namespace":"ns","metricName":"a"},"period":60,"stat":"Sum"},"returnData":false}`) ||
		strings.Contains(h, `"namespace":"",`) || strings.Contains(h, `"metricName":""`) {
		t.Errorf("history config: %s", h)
	}
}
