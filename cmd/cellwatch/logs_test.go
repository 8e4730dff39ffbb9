package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	lt "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

// logsClientFor is the real CloudWatch Logs client (AWS JSON 1.1) pointed
// at a node.
func logsClientFor(addr string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
		Credentials: aws.AnonymousCredentials{}})
}

func (tn *testNode) logsSDK() *cloudwatchlogs.Client {
	return logsClientFor(tn.apiServer.Addr().String())
}

func createGroupAndStream(t *testing.T, c *cloudwatchlogs.Client, group, stream string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
}

func putEvents(ctx context.Context, c *cloudwatchlogs.Client, group, stream string, first, n int, at time.Time) error {
	evs := make([]lt.InputLogEvent, n)
	for i := range evs {
		evs[i] = lt.InputLogEvent{Timestamp: aws.Int64(at.UnixMilli()), Message: aws.String(fmt.Sprintf(`{"seq":%d,"status":%d}`, first+i, 200+300*((first+i)%2)))}
	}
	_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs},
		func(o *cloudwatchlogs.Options) { o.RetryMaxAttempts = 1 })
	return err
}

// countStored counts a stream's events in the long-term store by identity,
// and reports any identity stored twice.
func countStored(t *testing.T, tn *testNode, group, stream string) (n int, dups int) {
	t.Helper()
	seen := map[[3]uint64]bool{}
	err := tn.longTerm.ScanLogs(context.Background(), store.LogScan{Tenant: awsapi.DefaultTenant, Group: group, Stream: stream, FromMs: math.MinInt64, ToMs: math.MaxInt64},
		func(e *store.LogEvent) bool {
			k := [3]uint64{uint64(len(e.Origin)), e.Offset, uint64(e.Index)}
			if seen[k] {
				dups++
			}
			seen[k] = true
			n++
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	return n, dups
}

// TestLogsThroughAStreamOutage: with the stream down PutLogEvents goes on,
// GetLogEvents and FilterLogEvents find the new events (from the local
// store); after recovery the long-term store holds every event once.
func TestLogsThroughAStreamOutage(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	c, ctx := tn.logsSDK(), context.Background()
	createGroupAndStream(t, c, "/app/outage", "i-1")
	now := time.Now()
	if err := putEvents(ctx, c, "/app/outage", "i-1", 0, 50, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := tn.faulty.Set(fallback.Fault{Mode: fallback.FaultDown}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if err := putEvents(ctx, c, "/app/outage", "i-1", 50*i, 50, now); err != nil {
			t.Fatalf("PutLogEvents during the outage: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "the node to see the stream down", func() bool { mode, _, _ := tn.shipper.Health(); return mode == fallback.ModeDegraded })
	got, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/app/outage"), LogStreamName: aws.String("i-1"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 550 {
		t.Fatalf("GetLogEvents during the outage: %d events; want 550", len(got.Events))
	}
	f, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/outage"), FilterPattern: aws.String("{ $.status = 500 }")})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Events) != 275 {
		t.Fatalf("FilterLogEvents { $.status = 500 } during the outage: %d events; want 275", len(f.Events))
	}
	if err := tn.faulty.Set(fallback.Fault{Mode: fallback.FaultNone}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "every event to reach the long-term store", func() bool { n, _ := countStored(t, tn, "/app/outage", "i-1"); return n >= 550 })
	n, dups := countStored(t, tn, "/app/outage", "i-1")
	if n != 550 || dups != 0 {
		t.Fatalf("long-term store after recovery: %d events, %d twice; want 550, none twice", n, dups)
	}
}

// TestLogsKill9LosesNoAcknowledgedEvent kills a real process during a
// PutLogEvents load; after a restart every acknowledged event is there.
func TestLogsKill9LosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process")
	}
	dir := t.TempDir()
	cmd, addr := startProcess(t, dir)
	c := logsClientFor(addr)
	createGroupAndStream(t, c, "kill9", "s")
	at := time.Now()
	var acked, sent, next atomic.Int64
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				first := int(next.Add(20)) - 20
				sent.Add(20)
				if putEvents(ctx, c, "kill9", "s", first, 20, at) == nil {
					acked.Add(20)
				}
			}
		})
	}
	waitFor(t, 60*time.Second, "5,000 acknowledged events", func() bool { return acked.Load() >= 5000 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	stopLoad()
	wg.Wait()

	_, addr = startProcess(t, dir)
	c = logsClientFor(addr)
	var found int
	var token *string
	for {
		out, err := c.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("kill9"), LogStreamName: aws.String("s"),
			StartFromHead: aws.Bool(true), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		found += len(out.Events)
		if token != nil && *out.NextForwardToken == *token {
			break
		}
		token = out.NextForwardToken
	}
	t.Logf("sent %d, acknowledged %d, found after kill -9 and restart %d", sent.Load(), acked.Load(), found)
	if int64(found) < acked.Load() || int64(found) > sent.Load() {
		t.Errorf("after kill -9: %d events; want between acknowledged %d and sent %d", found, acked.Load(), sent.Load())
	}
}
