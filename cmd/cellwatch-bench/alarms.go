package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// alarmsAtScale creates one alarm per series of the shape (PutMetricAlarm,
// JSON 1.0), keeps the series written for b.duration and reports the
// creation rate and what the evaluator says on /metrics: mean evaluation
// pass time and evaluations per second (the node exports no evaluation lag
// as such).
func (b *bench) alarmsAtScale(ctx context.Context) error {
	n := min(b.shape.series, 10000)
	var puts []call
	for s := range n {
		c, err := jsonCall("PutMetricAlarm", map[string]any{"AlarmName": "bench-" + strconv.Itoa(s), "Namespace": "Bench", "MetricName": "Latency",
			"Dimensions": b.shape.hostDims(s), "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1,
			"Threshold": 50.0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"})
		if err != nil {
			return err
		}
		puts = append(puts, c)
	}
	writes, err := b.putCalls(ctx, "cbor", time.Now().Truncate(time.Second))
	if err != nil {
		return err
	}
	s, err := b.startCellwatch(ctx)
	if err != nil {
		return err
	}
	defer s.stop()
	start := time.Now()
	res := runLoadOnce(ctx, b.client, s.url, puts, b.concurrency)
	res.elapsed = time.Since(start)
	if res.errors > 0 {
		return fmt.Errorf("PutMetricAlarm: %d of %d failed, first: %s", res.errors, len(puts), res.firstError)
	}
	metrics := s.admin + "/metrics"
	evals0, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluations_total")
	passSum0, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluation_pass_seconds_sum")
	passN0, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluation_pass_seconds_count")
	load := b.measure(ctx, "alarms-at-scale", fmt.Sprintf("%d alarms; writes alongside", n), s, writes, b.duration)
	evals1, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluations_total")
	passSum1, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluation_pass_seconds_sum")
	passN1, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluation_pass_seconds_count")
	create := row{scenario: "alarms-at-scale", target: fmt.Sprintf("PutMetricAlarm ×%d", n), server: s.name, unit: "alarms/s", res: res}
	create.res.p50, create.res.p90, create.res.p99 = 0, 0, 0
	mean := 0.0
	if passN1 > passN0 {
		mean = (passSum1 - passSum0) / (passN1 - passN0)
	}
	load.note = fmt.Sprintf("evaluator: %.0f evaluations/s, %.0f passes, mean pass %.1f ms", (evals1-evals0)/load.res.elapsed.Seconds(), passN1-passN0, mean*1e3)
	b.add(create)
	b.add(load)
	return nil
}

// fetchProfile saves the server's b.profile profile, taken during the
// scenario, under <cache>/profiles.
func (b *bench) fetchProfile(ctx context.Context, s *server, scenario string) error {
	path := "/debug/pprof/" + b.profile
	switch b.profile {
	case "cpu":
		path = "/debug/pprof/profile?seconds=" + strconv.Itoa(max(1, int(b.duration.Seconds())-1))
	case "heap", "mutex":
		select { // the middle of the run
		case <-time.After(b.duration / 2):
		case <-ctx.Done():
			return ctx.Err()
		}
	default:
		return fmt.Errorf("unknown profile %q (cpu, heap, mutex)", b.profile)
	}
	for _, base := range []string{s.admin, s.url} {
		resp, err := b.get(ctx, base+path)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			continue
		}
		out := profilePath(b.cache, scenario, b.profile)
		err = saveBody(resp, out)
		if err == nil {
			b.logf("profile: %s (go tool pprof %s)", out, out)
		}
		return err
	}
	return fmt.Errorf("%s serves no /debug/pprof on its API or admin listener", s.name)
}

func saveBody(resp *http.Response, path string) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("read profile: %w", err)
	}
	return writeFile(path, b)
}
