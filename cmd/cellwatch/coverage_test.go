package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/grafana/dskit/services"

	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/query"
	"github.com/cellwatch/cellwatch/store"
)

// fakeClock is an injectable clock for the liveness marks and the store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// markFor writes a liveness mark through a real WAL every second of d.
func markFor(t *testing.T, lv *fallback.Liveness, clock *fakeClock, d time.Duration) {
	t.Helper()
	for range int(d / time.Second) {
		if err := lv.Mark(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Second)
	}
}

// TestLivenessMarksThroughTheWAL: marks written through a real WAL make the
// local store covered, live and after a Rebuild; five silent minutes
// (a node that was down) are a hole after the Rebuild, and a wiped WAL
// leaves everything before the new start uncovered.
func TestLivenessMarksThroughTheWAL(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Unix(1_767_225_600, 0)} // minute-aligned
	start := clock.now().Unix()
	newLocal := func() *store.Local {
		l, err := store.NewLocal(store.LocalConfig{Now: clock.now}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	run := func(local *store.Local, d time.Duration) (nodeID string) {
		wal, err := fallback.NewWAL(fallback.WALConfig{Dir: filepath.Join(dir, "wal")}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := services.StartAndAwaitRunning(context.Background(), wal); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = services.StopAndAwaitTerminated(context.Background(), wal) }()
		if err := local.Rebuild(context.Background(), wal); err != nil {
			t.Fatal(err)
		}
		markFor(t, fallback.NewLiveness(fallback.LivenessConfig{Now: clock.now}, wal, local, nil, nil), clock, d)
		return wal.NodeID()
	}
	iv := func(from, to int64) store.Interval { return store.Interval{From: start + from, To: start + to} }
	open := int64(math.MaxInt64) - start

	live := newLocal()
	first := run(live, 2*time.Minute)
	if got := live.Coverage(start-60, start+600); !slices.Equal(got, []store.Interval{iv(0, 600)}) {
		t.Errorf("live, marks every second: %v; want covered from the first mark on", got)
	}
	clock.advance(5 * time.Minute) // the node is down
	run(newLocal(), time.Minute)
	rebuilt := newLocal()
	run(rebuilt, 0) // a restart that only rebuilds
	want := []store.Interval{iv(0, 119), iv(420, open)}
	if got := rebuilt.Coverage(start-60, math.MaxInt64); !slices.Equal(got, want) {
		t.Errorf("after five silent minutes and a rebuild: %v; want %v", got, want)
	}

	if err := os.RemoveAll(filepath.Join(dir, "wal")); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	wiped := newLocal()
	if second := run(wiped, time.Minute); second == first {
		t.Fatal("a wiped WAL kept its node ID")
	}
	if got := wiped.Coverage(start-60, math.MaxInt64); !slices.Equal(got, []store.Interval{iv(540, open)}) {
		t.Errorf("after the WAL was wiped: %v; want nothing before the new start", got)
	}
}

// gmd reads one metric's Sum per minute over [start, end) with the real SDK
// and returns the output and the response headers.
func gmd(t *testing.T, cw *cloudwatch.Client, ns, metric string, start, end time.Time, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, http.Header) {
	t.Helper()
	return gmdPeriod(t, cw, ns, metric, 60, start, end, opts...)
}

func gmdPeriod(t *testing.T, cw *cloudwatch.Client, ns, metric string, period int32, start, end time.Time, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, http.Header) {
	t.Helper()
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end),
		ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("q"), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric)}, Period: aws.Int32(period), Stat: aws.String("Sum")}}}}, opts...)
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw response")
	}
	return out, raw.Header
}

// putMinutes writes one datum of value 1 into each minute of [from, to].
func putMinutes(t *testing.T, cw *cloudwatch.Client, ns string, from, to time.Time) {
	t.Helper()
	var data []types.MetricDatum
	for m := from; !m.After(to); m = m.Add(time.Minute) {
		data = append(data, types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(m.Add(30 * time.Second))})
	}
	if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data}); err != nil {
		t.Fatal(err)
	}
}

func TestCoverageNormalCaseIsComplete(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw := tn.sdk()
	now := minute(0)
	putMinutes(t, cw, "Cov", now.Add(-30*time.Minute), now)
	out, hdr := gmd(t, cw, "Cov", "m", now.Add(-30*time.Minute), time.Now().Add(time.Minute))
	r := out.MetricDataResults[0]
	if r.StatusCode != types.StatusCodeComplete || len(out.Messages) != 0 || hdr.Get(query.HeaderUnknown) != "" || len(r.Values) != 31 {
		t.Errorf("got %s, %d values, messages %+v, %s %q; want Complete, 31 values, no message, no header",
			r.StatusCode, len(r.Values), out.Messages, query.HeaderUnknown, hdr.Get(query.HeaderUnknown))
	}
	// Both stores vouch for the past once the consumer caught up.
	waitFor(t, 30*time.Second, "the long-term store to cover the last minutes", func() bool {
		_, hdr := gmd(t, cw, "Cov", "m", now.Add(-30*time.Minute), minute(1), from(query.SourceLongTerm))
		return hdr.Get(query.HeaderUnknown) == ""
	})
	_, body := tn.admin(t, "GET", "/metrics", nil)
	for _, name := range []string{"cellwatch_coverage_local_uncovered_seconds 0", "cellwatch_coverage_longterm_watermark_timestamp_seconds 1", "cellwatch_liveness_marks_total"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
}

// TestCoverageAfterTheWALWasDeleted restarts a node whose WAL directory was
// deleted: the time before the restart is unknown unless the long-term
// store has it.
func TestCoverageAfterTheWALWasDeleted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shipped  bool // the stream took the data before the restart
		firstRun []string
	}{
		{"the long-term store has it", true, nil},
		{"nobody has it", false, []string{"-shipper.fault", "down"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tn := startNode(t, testConfig(t, dir, tc.firstRun...))
			first, last := minute(20), minute(1)
			putMinutes(t, tn.sdk(), "Wiped", first, last)
			if tc.shipped {
				waitFor(t, 30*time.Second, "the long-term store to catch up", func() bool { return tn.caughtUp(t) })
			}
			tn.stop()
			stopped := time.Now()
			if err := os.RemoveAll(filepath.Join(dir, "wal")); err != nil {
				t.Fatal(err)
			}
			tn = startNode(t, testConfig(t, dir))
			restarted := time.Now()
			cw := tn.sdk()
			// The minutes wholly before the last applied mark (at most a
			// second before the stop) and holding data.
			before := stopped.Add(-3 * time.Second).Truncate(time.Minute)
			if end := last.Add(time.Minute); end.Before(before) {
				before = end
			}

			out, hdr := gmd(t, cw, "Wiped", "m", first, before)
			r := out.MetricDataResults[0]
			if tc.shipped {
				if r.StatusCode != types.StatusCodeComplete || len(out.Messages) != 0 || hdr.Get(query.HeaderUnknown) != "" || len(r.Values) != int(before.Sub(first)/time.Minute) {
					t.Errorf("got %s, %d values, messages %+v, unknown %q; want Complete from the long-term store", r.StatusCode, len(r.Values), out.Messages, hdr.Get(query.HeaderUnknown))
				}
				if hdr.Get(query.HeaderSources) != query.SourceLongTerm {
					t.Errorf("%s %q; want %s", query.HeaderSources, hdr.Get(query.HeaderSources), query.SourceLongTerm)
				}
				return
			}
			// Nobody has it: PartialData with a message, and the header names
			// one interval from the query's start to about the restart.
			out, hdr = gmd(t, cw, "Wiped", "m", first, time.Now().Add(time.Minute))
			r = out.MetricDataResults[0]
			if r.StatusCode != types.StatusCodePartialData || len(r.Values) != 0 {
				t.Errorf("got %s with %d values; want PartialData and nothing (the data went with the WAL)", r.StatusCode, len(r.Values))
			}
			t.Logf("stopped %s, restarted %s: unknown %s", stopped.Format(time.RFC3339Nano), restarted.Format(time.RFC3339Nano), hdr.Get(query.HeaderUnknown))
			unknown := strings.Split(hdr.Get(query.HeaderUnknown), ",")
			if len(unknown) != 1 {
				t.Fatalf("%s %q; want one interval", query.HeaderUnknown, hdr.Get(query.HeaderUnknown))
			}
			lo, hi, _ := strings.Cut(unknown[0], "/")
			end, err := time.Parse(time.RFC3339, hi)
			if err != nil || lo != first.Format(time.RFC3339) || end.Before(stopped.Truncate(time.Minute)) || end.After(restarted.Add(time.Minute+time.Second)) {
				t.Errorf("unknown interval %s; want from %s to the minute of the restart (%s)", unknown[0], first.Format(time.RFC3339), restarted.Format(time.RFC3339))
			}
			if len(out.Messages) != 1 || *out.Messages[0].Code != "PartialData" || !strings.Contains(*out.Messages[0].Value, unknown[0]) {
				t.Errorf("messages %+v; want one PartialData naming %s", out.Messages, unknown[0])
			}
			// Every read operation says so, whatever its protocol.
			for op, body := range map[string]string{
				"GetMetricStatistics": fmt.Sprintf(`{"Namespace":"Wiped","MetricName":"m","StartTime":%d,"EndTime":%d,"Period":60,"Statistics":["Sum"]}`, first.Unix(), time.Now().Add(time.Minute).Unix()),
				"ListMetrics":         `{"RecentlyActive":"PT3H"}`,
			} {
				status, hdr, _ := tn.postJSONHeaders(t, op, body, nil)
				// Each operation rounds to its own period: a restart just after
				// a minute boundary may end the interval a minute earlier.
				got := hdr.Get(query.HeaderUnknown)
				_, gotHi, _ := strings.Cut(got, "/")
				gotEnd, err := time.Parse(time.RFC3339, gotHi)
				if status != 200 || err != nil || gotEnd.After(end) || gotEnd.Before(end.Add(-time.Minute)) {
					t.Errorf("%s: status %d, %s %q; want unknown up to %s (or the minute before)", op, status, query.HeaderUnknown, got, hi)
				}
			}
		})
	}
}

// TestCoverageOfADroppedBacklog: with the stream down the backlog passes
// its cap and the oldest part is dropped; once the stream is back, the
// long-term store reports that interval unknown, not empty, while the local
// store still covers it.
func TestCoverageOfADroppedBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few MiB")
	}
	tn := startNode(t, testConfig(t, t.TempDir(), "-wal.segment-size", "1048576", "-shipper.max-backlog-bytes", "2097152"))
	cw := tn.sdk()
	waitFor(t, 30*time.Second, "the long-term store to apply the first marks", func() bool { return tn.caughtUp(t) && tn.longTerm.Coverage(0, math.MaxInt64) != nil })
	faulted := time.Now()
	if err := tn.faulty.Set(fallback.Fault{Mode: fallback.FaultDown}); err != nil {
		t.Fatal(err)
	}
	data := make([]types.MetricDatum, 1000)
	for i := range data {
		data[i] = types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Dimensions: dims("i", strings.Repeat("x", i%7)+string(rune('a'+i%26)))}
	}
	for tn.adminStatus(t).WALEndOffset < 5<<20 {
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Dropped"), MetricData: data}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the cap to be enforced", func() bool { return tn.adminStatus(t).DroppedBytes > 0 })
	if err := tn.faulty.Set(fallback.Fault{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the gap marker to ship and the backlog to drain", func() bool {
		st := tn.adminStatus(t)
		return !st.GapPending && st.BacklogBytes == 0 && tn.caughtUp(t)
	})

	drained := time.Now()
	end := drained.Truncate(time.Second).Add(time.Second)
	waitFor(t, 45*time.Second, "the long-term store to apply the marks after the drain", func() bool {
		c := tn.longTerm.Coverage(end.Unix()-1, end.Unix())
		return len(c) == 1 && c[0].To == end.Unix()
	})

	// At one-second periods the long-term store, read alone, reports the
	// dropped interval unknown: around the fault, and only there (it covers
	// the seconds before and the drained ones after).
	out, hdr := gmdPeriod(t, cw, "Dropped", "m", 1, faulted.Add(-20*time.Second).Truncate(time.Second), end, from(query.SourceLongTerm))
	unknown := hdr.Get(query.HeaderUnknown)
	t.Logf("stream down at %s, %d bytes dropped, drained at %s; long-term read: unknown %s", faulted.Format(time.RFC3339Nano),
		tn.adminStatus(t).DroppedBytes, drained.Format(time.RFC3339Nano), unknown)
	if unknown == "" || out.MetricDataResults[0].StatusCode != types.StatusCodePartialData || len(out.Messages) != 1 {
		t.Errorf("long-term read of the dropped interval: %s %q, status %s, messages %+v; want it unknown and PartialData",
			query.HeaderUnknown, unknown, out.MetricDataResults[0].StatusCode, out.Messages)
	}
	for _, iv := range strings.Split(unknown, ",") {
		lo, hi, _ := strings.Cut(iv, "/")
		a, _ := time.Parse(time.RFC3339, lo)
		b, _ := time.Parse(time.RFC3339, hi)
		if a.Before(faulted.Add(-2*time.Second)) || b.After(drained) {
			t.Errorf("unknown interval %s lies outside the fault (%s to %s)", iv, faulted.Format(time.RFC3339), drained.Format(time.RFC3339))
		}
	}
	// At one-minute periods the minute of the fault is unknown too.
	start := faulted.Truncate(time.Minute).Add(-2 * time.Minute)
	out, hdr = gmd(t, cw, "Dropped", "m", start, faulted.Truncate(time.Minute).Add(time.Minute), from(query.SourceLongTerm))
	if hdr.Get(query.HeaderUnknown) == "" || out.MetricDataResults[0].StatusCode != types.StatusCodePartialData {
		t.Errorf("long-term read by the minute: %s %q, status %s; want the minute of the fault unknown", query.HeaderUnknown, hdr.Get(query.HeaderUnknown), out.MetricDataResults[0].StatusCode)
	}
	// The local store was live all along: the default read of that time is Complete.
	out, hdr = gmd(t, cw, "Dropped", "m", start, faulted.Truncate(time.Minute).Add(time.Minute))
	if out.MetricDataResults[0].StatusCode != types.StatusCodeComplete || hdr.Get(query.HeaderUnknown) != "" || hdr.Get(query.HeaderSources) != query.SourceLocal {
		t.Errorf("default read: status %s, %s %q, sources %q; want Complete from the local store", out.MetricDataResults[0].StatusCode,
			query.HeaderUnknown, hdr.Get(query.HeaderUnknown), hdr.Get(query.HeaderSources))
	}
}
