package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// BenchmarkAlarmEvaluation10k: 10,000 alarms over 10,000 series, one
// evaluation pass as the evaluator runs each minute. Reports the pass's
// duration (the worst tick-to-state-written lag) and the share of one core
// it takes per minute.
func BenchmarkAlarmEvaluation10k(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	const n = 10000
	end := time.Now().Add(-10 * time.Second).Truncate(time.Minute)
	for first := 0; first < n; first += 200 {
		var data []types.MetricDatum
		for s := first; s < first+200; s++ {
			for m := 1; m <= 5; m++ {
				data = append(data, types.MetricDatum{MetricName: aws.String("load"), Dimensions: dims("host", fmt.Sprintf("h%05d", s)),
					Value: aws.Float64(float64((s + m) % 100)), Timestamp: aws.Time(end.Add(-time.Duration(m) * time.Minute))})
			}
		}
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for s := w; s < n; s += 16 {
				_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(fmt.Sprintf("a%05d", s)), Namespace: aws.String("Bench"),
					MetricName: aws.String("load"), Dimensions: dims("host", fmt.Sprintf("h%05d", s)), Statistic: types.StatisticAverage,
					Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(50), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		began := time.Now()
		tn.evaluator.EvaluateDue(ctx, map[string]int64{})
		total += time.Since(began)
	}
	b.StopTimer()
	for _, st := range []types.StateValue{types.StateValueAlarm, types.StateValueOk} {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: st, MaxRecords: aws.Int32(10)})
		if err != nil || len(out.MetricAlarms) == 0 {
			b.Fatalf("no alarm in %s after the passes (%v): the evaluation did not run", st, err)
		}
	}
	pass := total / time.Duration(b.N)
	b.ReportMetric(pass.Seconds()*1000, "ms/pass")
	b.ReportMetric(pass.Seconds()/60*100, "%core/minute")
}
