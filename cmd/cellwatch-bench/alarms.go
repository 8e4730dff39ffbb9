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
	s, writes, err := b.nodeWith(ctx, "cbor", time.Now().Truncate(time.Second), false)
	if err != nil {
		return err
	}
	defer s.stop()
	before, _ := s.usage()
	start := time.Now()
	res := runLoadOnce(ctx, b.client, s.url, puts, b.concurrency)
	res.elapsed = time.Since(start)
	after, _ := s.usage()
	created := time.Now()
	if res.errors > 0 {
		return fmt.Errorf("PutMetricAlarm: %d of %d failed, first: %s", res.errors, len(puts), res.firstError)
	}
	create := row{scenario: "alarms-at-scale", target: fmt.Sprintf("PutMetricAlarm ×%d", n), server: s.name, unit: "alarms/s",
		res: res, cpu: after.cpu - before.cpu, rss: after.rss}
	load := b.measure(ctx, "alarms-at-scale", fmt.Sprintf("%d alarms; writes alongside", n), s, writes, b.duration)
	load.note = b.evaluationLag(ctx, s, n, created)
	b.add(create)
	b.add(load)
	return nil
}

// evaluationLag waits (at most 2 minutes) until the evaluator has
// evaluated n alarms, and says how long after their creation that was and
// what a pass cost, from the node's /metrics.
func (b *bench) evaluationLag(ctx context.Context, s *server, n int, created time.Time) string {
	metrics := s.admin + "/metrics"
	for deadline := created.Add(2 * time.Minute); ; {
		evals, err := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluations_total")
		if err != nil {
			return err.Error()
		}
		if evals >= float64(n) {
			sum, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluation_pass_seconds_sum")
			passes, _ := metricSum(ctx, b.client, metrics, "cellwatch_alarm_evaluation_pass_seconds_count")
			return fmt.Sprintf("all %d alarms evaluated %.1fs after the last was created; %.0f passes, mean pass %.1f ms",
				n, time.Since(created).Seconds(), passes, sum/max(passes, 1)*1e3)
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("only %.0f of %d alarm evaluations within 2m of creation", evals, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-time.After(200 * time.Millisecond):
		}
	}
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
