package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

// mathMetrics is the Metrics list of an alarm on m1 + m2.
func mathMetrics() []types.MetricDataQuery {
	stat := func(id, name string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("Math"), MetricName: aws.String(name)}, Period: aws.Int32(60), Stat: aws.String("Sum")}}
	}
	return []types.MetricDataQuery{stat("m1", "requests"), stat("m2", "errors"),
		{Id: aws.String("e1"), Expression: aws.String("m1 + m2"), Label: aws.String("total"), ReturnData: aws.Bool(true)}}
}

// TestMetricMathAlarmThroughTheAPI: an alarm on m1 + m2 goes to ALARM when
// the sum crosses its threshold and to OK when it does not, and the
// Metrics form is validated as AWS does.
func TestMetricMathAlarmThroughTheAPI(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	end := steadyMinute(t)
	var data []types.MetricDatum
	for m := 1; m <= 5; m++ {
		ts := aws.Time(end.Add(-time.Duration(m)*time.Minute + 30*time.Second))
		data = append(data, types.MetricDatum{MetricName: aws.String("requests"), Value: aws.Float64(6), Timestamp: ts},
			types.MetricDatum{MetricName: aws.String("errors"), Value: aws.Float64(4), Timestamp: ts})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Math"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	for name, threshold := range map[string]float64{"crossed": 9, "clear": 11} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Metrics: mathMetrics(),
			EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(threshold), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}); err != nil {
			t.Fatal(err)
		}
	}
	tn.evaluator.EvaluateDue(ctx, map[string]int64{})
	if got := evalEnd(time.Now()); !got.Equal(end) {
		t.Skipf("the evaluation range moved during the test (%v -> %v); it needs a steady minute", end, got)
	}
	for name, want := range map[string]types.StateValue{"crossed": types.StateValueAlarm, "clear": types.StateValueOk} {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms %s: %v", name, err)
		}
		a := out.MetricAlarms[0]
		if a.StateValue != want {
			t.Errorf("%s: got %s (%s); want %s", name, a.StateValue, aws.ToString(a.StateReason), want)
		}
		if !strings.Contains(aws.ToString(a.StateReason), "10.0") {
			t.Errorf("%s: the reason does not show the sum 10.0: %s", name, aws.ToString(a.StateReason))
		}
		if len(a.Metrics) != 3 || aws.ToString(a.Metrics[2].Expression) != "m1 + m2" || !aws.ToBool(a.Metrics[2].ReturnData) ||
			aws.ToBool(a.Metrics[0].ReturnData) || aws.ToString(a.Metrics[1].MetricStat.Metric.MetricName) != "errors" {
			t.Errorf("%s: Metrics described as %+v", name, a.Metrics)
		}
		if a.MetricName != nil || a.Namespace != nil || a.Period != nil || a.Statistic != "" {
			t.Errorf("%s: single-metric fields described: %v %v %v %q", name, a.MetricName, a.Namespace, a.Period, a.Statistic)
		}
	}

	t.Run("Query protocol", func(t *testing.T) {
		status, body := tn.postQuery(t, url.Values{"Action": {"PutMetricAlarm"}, "AlarmName": {"query"}, "EvaluationPeriods": {"3"}, "Threshold": {"9"},
			"ComparisonOperator":  {"GreaterThanThreshold"},
			"Metrics.member.1.Id": {"m1"}, "Metrics.member.1.ReturnData": {"false"}, "Metrics.member.1.MetricStat.Period": {"60"}, "Metrics.member.1.MetricStat.Stat": {"Sum"},
			"Metrics.member.1.MetricStat.Metric.Namespace": {"Math"}, "Metrics.member.1.MetricStat.Metric.MetricName": {"requests"},
			"Metrics.member.1.MetricStat.Metric.Dimensions.member.1.Name": {"host"}, "Metrics.member.1.MetricStat.Metric.Dimensions.member.1.Value": {"h1"},
			"Metrics.member.2.Id": {"e1"}, "Metrics.member.2.Expression": {"m1 * 2"}})
		if status != 200 {
			t.Fatalf("PutMetricAlarm: %d %s", status, body)
		}
		status, body = tn.postQuery(t, url.Values{"Action": {"DescribeAlarms"}, "AlarmNames.member.1": {"query"}})
		for _, want := range []string{"<Metrics><member><Id>m1</Id><MetricStat><Metric><Namespace>Math</Namespace><MetricName>requests</MetricName><Dimensions><member><Name>host</Name><Value>h1</Value></member></Dimensions></Metric><Period>60</Period><Stat>Sum</Stat></MetricStat><ReturnData>false</ReturnData></member>",
			"<member><Id>e1</Id><Expression>m1 * 2</Expression><ReturnData>true</ReturnData></member></Metrics>"} {
			if status != 200 || !strings.Contains(body, want) {
				t.Errorf("DescribeAlarms: %d lacks %s: %s", status, want, body)
			}
		}
		if strings.Contains(body, "<MetricName>requests</MetricName><Namespace>") || strings.Contains(body, "<Statistic>") {
			t.Errorf("DescribeAlarms has single-metric fields: %s", body)
		}
	})

	bothReturn := mathMetrics()
	bothReturn[0].ReturnData = aws.Bool(true)
	for _, c := range []struct {
		name string
		in   *cloudwatch.PutMetricAlarmInput
		code string
	}{
		{"two ReturnData", &cloudwatch.PutMetricAlarmInput{Metrics: bothReturn}, "ValidationError"},
		{"with MetricName", &cloudwatch.PutMetricAlarmInput{Metrics: mathMetrics(), MetricName: aws.String("requests")}, "InvalidParameterCombination"},
	} {
		c.in.AlarmName, c.in.EvaluationPeriods, c.in.Threshold = aws.String("bad"), aws.Int32(3), aws.Float64(1)
		c.in.ComparisonOperator = types.ComparisonOperatorGreaterThanThreshold
		_, err := cw.PutMetricAlarm(ctx, c.in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
			t.Errorf("%s: got %v; want %s", c.name, err, c.code)
		}
	}
}
