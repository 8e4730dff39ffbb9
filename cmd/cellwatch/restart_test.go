package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func TestRestartRebuildsFromWAL(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	ts := minute(10)
	put := &cloudwatch.PutMetricDataInput{Namespace: aws.String("Restart"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("m"), Values: []float64{1, 2, 3}, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("hr"), Value: aws.Float64(4), StorageResolution: aws.Int32(1), Timestamp: aws.Time(ts.Add(7 * time.Second))},
	}}
	if _, err := tn.sdk().PutMetricData(context.Background(), put); err != nil {
		t.Fatal(err)
	}
	tn.stop()

	tn = startNode(t, testConfig(t, dir))
	dp := getStats(t, tn.sdk(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Restart"), MetricName: aws.String("m"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 || *dp[0].SampleCount != 3 || *dp[0].Sum != 6 {
		t.Errorf("after restart: got %+v; want SampleCount 3, Sum 6", dp)
	}
	dp = getStats(t, tn.sdk(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Restart"), MetricName: aws.String("hr"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(1), Statistics: allStats()})
	if len(dp) != 1 || !dp[0].Timestamp.Equal(ts.Add(7*time.Second)) {
		t.Errorf("high-resolution datum after restart: got %+v; want one datapoint at +7s", dp)
	}
}

func TestSecondNodeOnSameDataDirFails(t *testing.T) {
	dir := t.TempDir()
	startNode(t, testConfig(t, dir))
	_, err := newNode(context.Background(), testConfig(t, dir), slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("second node on the same data directory started; want an error")
	}
	if want := fmt.Sprintf("data directory %s is in use by another cellwatch (pid %d", dir, os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("got %q; want it to contain %q", err, want)
	}
}

// buildBinary compiles cellwatch once for the tests that need a real process.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cellwatch-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cellwatch")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

var apiAddr = regexp.MustCompile(`msg="cellwatch started" api=(\S+)`)

// logBuffer collects a process's log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// startProcess runs the cellwatch binary on dir and returns it with its API address.
func startProcess(t *testing.T, dir string, extra ...string) (*exec.Cmd, string) {
	cmd, addr, _ := startProcessLogs(t, dir, extra...)
	return cmd, addr
}

// startProcessLogs is startProcess that also returns the process's log.
func startProcessLogs(t *testing.T, dir string, extra ...string) (*exec.Cmd, string, *logBuffer) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0", "-data", dir}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	logs := &logBuffer{}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.add(sc.Text())
			if m := apiAddr.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		return cmd, addr, logs
	case <-time.After(60 * time.Second):
		t.Fatalf("cellwatch did not log its address within 60 s:\n%s", logs)
	}
	return nil, "", nil
}

// TestKill9LosesNoAcknowledgedDatum kills a real cellwatch process with
// SIGKILL during a write load; after a restart every datum whose
// PutMetricData was answered 200 is there.
func TestKill9LosesNoAcknowledgedDatum(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process")
	}
	dir := t.TempDir()
	cmd, addr := startProcess(t, dir)
	cw := clientFor(addr)
	ts := minute(1)
	var acked, sent atomic.Int64
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				data := make([]types.MetricDatum, 20)
				for i := range data {
					data[i] = types.MetricDatum{MetricName: aws.String("acked"), Dimensions: dims("writer", "all"), Value: aws.Float64(1), Timestamp: aws.Time(ts)}
				}
				sent.Add(20)
				_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Kill9"), MetricData: data},
					func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
				if err == nil {
					acked.Add(20)
				}
			}
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for acked.Load() < 20000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	stopLoad()
	wg.Wait()
	if acked.Load() == 0 {
		t.Fatal("no PutMetricData was acknowledged before the kill")
	}

	_, addr = startProcess(t, dir)
	dp, err := clientFor(addr).GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Kill9"), MetricName: aws.String("acked"), Dimensions: dims("writer", "all"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	if len(dp.Datapoints) == 1 {
		got = *dp.Datapoints[0].SampleCount
	}
	t.Logf("sent %d, acknowledged %d, found after kill -9 and restart %v", sent.Load(), acked.Load(), got)
	if got < float64(acked.Load()) || got > float64(sent.Load()) {
		t.Errorf("after kill -9: SampleCount %v; want between acknowledged %d and sent %d", got, acked.Load(), sent.Load())
	}
}

func TestSIGTERMShutsDownGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process")
	}
	dir := t.TempDir()
	cmd, addr, logs := startProcessLogs(t, dir)
	ts := minute(1)
	if _, err := clientFor(addr).PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Term"),
		MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(3), Timestamp: aws.Time(ts)}}}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("cellwatch still running 40 s after SIGTERM:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "cellwatch stopped") {
		t.Errorf("log lacks the shutdown line:\n%s", logs)
	}
	// The lock is released and the datum is there.
	_, addr = startProcess(t, dir)
	dp, err := clientFor(addr).GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Term"), MetricName: aws.String("m"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if err != nil || len(dp.Datapoints) != 1 || *dp.Datapoints[0].Sum != 3 {
		t.Errorf("after restart: got %+v, %v; want one datapoint with Sum 3", dp, err)
	}
}
