package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/query"
)

// drillConfig is what `cellwatch drill` takes.
type drillConfig struct {
	healthy, outage time.Duration
	writers         int
	interval        time.Duration
	dir             string
	out             io.Writer
	nodes           int // > 1: a cluster on an in-process Kafka (kfake)
}

// verdict is the drill's result.
type verdict struct {
	Written, Failed, InLongTerm, InLocal, Lost, DoubleCounted int64
	HealthyP50, HealthyP99, DegradedP50, DegradedP99          time.Duration
	MaxFreshness                                              time.Duration
	Drain                                                     time.Duration
}

func (v verdict) ok() bool { return v.Lost == 0 && v.DoubleCounted == 0 && v.Failed == 0 }

// runDrill is `cellwatch drill`: it starts a node, publishes, takes the
// stream away, shows that writes, reads and freshness go on, brings it back,
// shows the backlog drain and ends with a verdict.
func runDrill(args []string) int {
	cfg := drillConfig{out: os.Stdout}
	fs := flag.NewFlagSet("cellwatch drill", flag.ContinueOnError)
	fs.DurationVar(&cfg.healthy, "healthy", 15*time.Second, "how long to publish before the outage (the healthy baseline)")
	fs.DurationVar(&cfg.outage, "outage", 30*time.Second, "how long the stream is down")
	fs.IntVar(&cfg.writers, "writers", 8, "concurrent publishers (AWS SDK for Go v2 clients)")
	fs.DurationVar(&cfg.interval, "interval", 20*time.Millisecond, "pause between one publisher's PutMetricData calls (20 datums each)")
	fs.StringVar(&cfg.dir, "data", "", "data directory of the drill's node (default: a temporary one, removed after)")
	fs.IntVar(&cfg.nodes, "cluster", 1, "nodes: more than 1 runs a cluster of that many nodes on an in-process three-broker Kafka (kfake), writers spread over the nodes, and the outage is the brokers refusing every write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.dir == "" {
		dir, err := os.MkdirTemp("", "cellwatch-drill")
		if err != nil {
			fmt.Fprintln(os.Stderr, "cellwatch drill:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg.dir = dir
	}
	v, err := drill(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cellwatch drill:", err)
		return 1
	}
	if !v.ok() {
		return 1
	}
	return 0
}

func drill(ctx context.Context, cfg drillConfig) (verdict, error) {
	var v verdict
	logFile := filepath.Join(cfg.dir, "drill.log")
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return v, err
	}
	lf, err := os.Create(logFile)
	if err != nil {
		return v, err
	}
	defer lf.Close()
	ns, outage, err := startDrillNodes(ctx, cfg, slog.New(slog.NewTextHandler(lf, nil)))
	if err != nil {
		return v, err
	}
	defer ns.stop(cfg.out)
	say := func(format string, args ...any) { fmt.Fprintf(cfg.out, format, args...) }
	for i, n := range ns.nodes {
		say("cellwatch drill: node %d on %s, admin on %s, log in %s\n", i, n.apiServer.Addr(), n.adminServer.Addr(), logFile)
	}
	cws := make([]*cloudwatch.Client, len(ns.nodes))
	for i, n := range ns.nodes {
		cws[i] = cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + n.apiServer.Addr().String()),
			Credentials: credentials.NewStaticCredentialsProvider("drill", "drill", ""), RetryMaxAttempts: 1})
	}
	cw := cws[0] // reads: in a cluster, node 0 reads every node's share
	start := time.Now().Add(-time.Minute).Truncate(time.Minute)
	pub := &publishers{}
	pctx, stopPublishing := context.WithCancel(ctx)
	defer stopPublishing()
	var wg sync.WaitGroup
	for w := range cfg.writers {
		wg.Go(func() { pub.run(pctx, cws[w%len(cws)], w, cfg.interval) })
	}

	phase := func(name string, d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			time.Sleep(time.Second)
			st := ns.status(ctx)
			fresh := freshness(ctx, cw)
			if name == "outage" {
				v.MaxFreshness = max(v.MaxFreshness, fresh)
			}
			p50, p99 := pub.percentiles(name)
			say("\r[%-8s %3.0fs] mode=%-10s backlog=%7.1f MiB (%6d records) writes ok=%-7d failed=%-3d p50=%-7v p99=%-7v freshness=%-6v consumer lag=%d   ",
				name, max(0, time.Until(end).Seconds()), st.Mode, float64(st.BacklogBytes)/(1<<20), st.BacklogRecords,
				pub.ok.Load(), pub.failed.Load(), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), fresh.Round(time.Millisecond), st.ConsumerLag)
		}
		say("\n")
	}
	pub.setPhase("healthy")
	phase("healthy", cfg.healthy)
	if err := outage(true); err != nil {
		return v, err
	}
	pub.setPhase("outage")
	phase("outage", cfg.outage)
	say("stream back: the backlog drains while publishing goes on\n")
	_ = outage(false)
	pub.setPhase("recovery")
	drainStart := time.Now()
	for {
		st := ns.status(ctx)
		say("\r[recovery %3.0fs] mode=%-10s backlog=%7.1f MiB eta=%5.1fs consumer lag=%-8d   ", time.Since(drainStart).Seconds(), st.Mode,
			float64(st.BacklogBytes)/(1<<20), st.CatchUpETA, st.ConsumerLag)
		if st.BacklogBytes < 1<<20 && st.ConsumerLag == 0 && st.Mode != fallback.ModeDegraded {
			break
		}
		if time.Since(drainStart) > 10*time.Minute {
			return v, fmt.Errorf("the backlog did not drain within 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	v.Drain = time.Since(drainStart)
	say("\n")
	stopPublishing()
	wg.Wait()
	// Let the last writes reach the long-term store.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st := ns.status(ctx); st.BacklogBytes == 0 && st.ConsumerLag == 0 {
			break
		}
	}
	end := time.Now().Add(2 * time.Minute)
	v.Written, v.Failed = pub.ok.Load()*20, pub.failed.Load()
	if v.InLocal, err = count(ctx, cw, query.SourceLocal, start, end); err != nil {
		return v, err
	}
	if v.InLongTerm, err = count(ctx, cw, query.SourceLongTerm, start, end); err != nil {
		return v, err
	}
	v.Lost = max(0, v.Written-v.InLongTerm)
	v.DoubleCounted = max(0, v.InLongTerm-v.Written-v.Failed*20) // a failed call may still have landed
	v.HealthyP50, v.HealthyP99 = pub.percentiles("healthy")
	v.DegradedP50, v.DegradedP99 = pub.percentiles("outage")
	say("\nverdict\n")
	say("  datums written (acknowledged)      %d (failed calls: %d)\n", v.Written, v.Failed)
	say("  datums in the local store          %d\n", v.InLocal)
	say("  datums in the long-term store      %d\n", v.InLongTerm)
	say("  lost                               %d\n", v.Lost)
	say("  double-counted                     %d\n", v.DoubleCounted)
	say("  PutMetricData p50 / p99 healthy    %v / %v\n", v.HealthyP50, v.HealthyP99)
	say("  PutMetricData p50 / p99 degraded   %v / %v\n", v.DegradedP50, v.DegradedP99)
	say("  freshness during the outage        at most %v behind (GetMetricData, 1 s resolution)\n", v.MaxFreshness.Round(time.Millisecond))
	say("  backlog drained in                 %v\n", v.Drain.Round(100*time.Millisecond))
	if v.ok() {
		say("PASS: nothing lost, nothing counted twice, writes and reads went on through the outage\n")
	} else {
		say("FAIL\n")
	}
	return v, nil
}

// publishers write PutMetricData calls of 20 datums (value 1, one second
// resolution) and time them per phase.
type publishers struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	phase      string
	lat        map[string][]time.Duration
}

func (p *publishers) setPhase(name string) { p.mu.Lock(); p.phase = name; p.mu.Unlock() }

// run publishes until ctx is done. Calls themselves are not cancelled: each
// ends as acknowledged or failed, so the verdict can count every datum.
func (p *publishers) run(ctx context.Context, cw *cloudwatch.Client, w int, interval time.Duration) {
	for ctx.Err() == nil {
		data := make([]types.MetricDatum, 20)
		now := time.Now()
		for i := range data {
			data[i] = types.MetricDatum{MetricName: aws.String("drill"), Dimensions: []types.Dimension{{Name: aws.String("writer"), Value: aws.String(fmt.Sprint(w))}},
				Value: aws.Float64(1), StorageResolution: aws.Int32(1), Timestamp: aws.Time(now)}
		}
		began := time.Now()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, err := cw.PutMetricData(cctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Drill"), MetricData: data})
		cancel()
		d := time.Since(began)
		if err != nil {
			p.failed.Add(1)
		} else {
			p.ok.Add(1)
			p.mu.Lock()
			if p.lat == nil {
				p.lat = map[string][]time.Duration{}
			}
			p.lat[p.phase] = append(p.lat[p.phase], d)
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

func (p *publishers) percentiles(phase string) (p50, p99 time.Duration) {
	p.mu.Lock()
	lat := slices.Clone(p.lat[phase])
	p.mu.Unlock()
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// freshness is how far behind now the newest datapoint GetMetricData returns is.
func freshness(ctx context.Context, cw *cloudwatch.Client) time.Duration {
	now := time.Now()
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Minute)), EndTime: aws.Time(now.Add(time.Second)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("f"), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("Drill"), MetricName: aws.String("drill"), Dimensions: []types.Dimension{{Name: aws.String("writer"), Value: aws.String("0")}}},
			Period: aws.Int32(1), Stat: aws.String("SampleCount")}}}})
	if err != nil || len(out.MetricDataResults) == 0 || len(out.MetricDataResults[0].Timestamps) == 0 {
		return time.Minute
	}
	return now.Sub(out.MetricDataResults[0].Timestamps[0])
}

// count sums the drill's datums in one store.
func count(ctx context.Context, cw *cloudwatch.Client, source string, start, end time.Time) (int64, error) {
	var total int64
	for w := range 256 {
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Drill"), MetricName: aws.String("drill"),
			Dimensions: []types.Dimension{{Name: aws.String("writer"), Value: aws.String(fmt.Sprint(w))}},
			StartTime:  aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(3600), Statistics: []types.Statistic{types.StatisticSampleCount}},
			func(o *cloudwatch.Options) {
				o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(query.HeaderReadSource, source))
			})
		if err != nil {
			return 0, fmt.Errorf("count datums in %s: %w", source, err)
		}
		if len(out.Datapoints) == 0 && w > 0 {
			break
		}
		for _, d := range out.Datapoints {
			total += int64(*d.SampleCount)
		}
	}
	return total, nil
}
