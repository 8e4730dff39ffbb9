package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// TestShutdownOrder stops a node while writers are publishing and checks
// the order the services stopped in (every one after those that depend on
// it), then restarts it: every write acknowledged before the shutdown is
// there, so none was acknowledged after the WAL closed.
func TestShutdownOrder(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	cw := tn.sdk()
	ts := time.Now().Add(-time.Minute).Truncate(time.Minute)
	var acked, sent atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				sent.Add(1)
				_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shutdown"),
					MetricData: []types.MetricDatum{{MetricName: aws.String("acks"), Timestamp: aws.Time(ts), Value: aws.Float64(1)}}})
				if err != nil {
					return // the node is going away
				}
				acked.Add(1)
			}
		})
	}
	waitFor(t, 30*time.Second, "writes to be acknowledged", func() bool { return acked.Load() >= 200 })
	tn.stop()
	wg.Wait()

	order := tn.order.Stopped()
	pos := map[string]int{}
	for i, name := range order {
		pos[name] = i
	}
	withoutService := map[string]bool{modQuery: true, modAll: true, modCluster: true, modAlarmSync: true} // a service only in cluster mode
	for name := range (&node{}).inits() {
		if _, inGraph := moduleDeps[name]; !inGraph && name != modAdmin {
			t.Errorf("module %s is in no dependency of the graph: it would never start", name)
		}
	}
	for name := range (&node{}).inits() {
		if _, ok := pos[name]; !ok && !withoutService[name] {
			t.Errorf("%s never stopped; stopped: %v", name, order)
		}
		for _, dep := range transitiveDeps(name) {
			if _, ok := pos[dep]; ok && pos[name] > pos[dep] {
				t.Errorf("%s stopped after %s, which it depends on; order: %v", name, dep, order)
			}
		}
	}
	if last := order[len(order)-1]; last != modAdmin {
		t.Errorf("the last service to stop is %s; want %s (the admin server answers until the end): %v", last, modAdmin, order)
	}
	if i, j := slices.Index(order, modAPI), slices.Index(order, modWAL); i < 0 || i > j {
		t.Errorf("the API stopped after the WAL: %v", order)
	}

	tn = startNode(t, testConfig(t, dir))
	dp := getStats(t, tn.sdk(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Shutdown"), MetricName: aws.String("acks"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 || int64(*dp[0].SampleCount) < acked.Load() || int64(*dp[0].SampleCount) > sent.Load() {
		t.Fatalf("after restart: got %+v; want one datapoint with between %d acknowledged and %d sent samples", dp, acked.Load(), sent.Load())
	}
	t.Logf("acknowledged %d, sent %d, found %v; stop order %v", acked.Load(), sent.Load(), *dp[0].SampleCount, order)
}

// transitiveDeps lists every module name depends on, directly or not.
func transitiveDeps(name string) []string {
	var out []string
	for _, d := range moduleDeps[name] {
		out = append(out, d)
		out = append(out, transitiveDeps(d)...)
	}
	return out
}

// TestStartFailureReleasesEverything: a node whose API port is taken fails
// to start with the cause named, and leaves the data directory free for the
// next start (lock released, WAL and stores closed).
func TestStartFailureReleasesEverything(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	_, err = newNode(context.Background(), testConfig(t, dir, "-listen", taken.Addr().String()), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "listen api") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start with the API port taken: got %v; want an error naming the api listener", err)
	}
	tn := startNode(t, testConfig(t, dir))
	putMinutes(t, tn.sdk(), "AfterFailure", time.Now().Add(-2*time.Minute), time.Now())
}

// BenchmarkNodeStartStop starts a node on a data directory holding one
// minute of data for 1,000 series, and stops it: the cost of the service
// manager, the WAL's replay into the local store, the stores' opening and
// the ordered shutdown, as an operator's restart pays it.
func BenchmarkNodeStartStop(b *testing.B) {
	dir := b.TempDir()
	tn := startBenchNode(b, testConfig(b, dir))
	ts := time.Now().Add(-time.Minute).Truncate(time.Minute)
	for _, call := range sdkPayloads(b, 1000, ts) {
		req, _ := http.NewRequest("POST", tn.url()+call.path, bytes.NewReader(call.body))
		req.Header = call.header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("put: %v %v", err, resp)
		}
		_ = resp.Body.Close()
	}
	tn.stop()
	b.ResetTimer()
	for range b.N {
		n, err := newNode(context.Background(), testConfig(b, dir), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		if n.local.NumSeries() != 1000 {
			b.Fatalf("rebuilt %d series; want 1000", n.local.NumSeries())
		}
		if err := n.stop(); err != nil {
			b.Fatal(err)
		}
	}
}
