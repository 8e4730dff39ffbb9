package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/logs/insights"
	"github.com/cellwatch/cellwatch/logs/pattern"
	"github.com/cellwatch/cellwatch/store"
)

// logLine is a ~200-byte access-log-like JSON message.
func logLine(i int) string {
	return fmt.Sprintf(`{"ts":"2026-12-02T10:00:%02d.%03dZ","level":"info","method":"GET","path":"/api/v1/items/%d","status":%d,"ms":%d,"bytes":%d,"ua":"Mozilla/5.0 (X11; Linux x86_64)","trace":"%016x"}`,
		i%60, i%1000, i%5000, 200+(i%7)*50, i%250, 512+i%4096, uint64(i)*0x9e3779b97f4a7c15)
}

// logBodies are pre-encoded PutLogEvents calls (AWS JSON 1.1), as the SDKs
// send them: call c goes to stream c%streams, and each stream's calls carry
// consecutive milliseconds, so every stream's events arrive in order as an
// agent sends them.
type logBodies struct {
	bodies  [][]byte
	ts      [][]int // where each event's 13-digit timestamp sits in its body
	n       int     // events per call
	streams int
	perCall int // message bytes per call
}

func putLogEventsBodies(tb testing.TB, streams, calls, n int, at time.Time) logBodies {
	tb.Helper()
	lb := logBodies{n: n, streams: streams}
	msgBytes := 0
	for c := range calls {
		type ev struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		}
		evs := make([]ev, n)
		for i := range evs {
			evs[i] = ev{at.UnixMilli() + int64(c/streams*n+i), logLine(c*n + i)}
			msgBytes += len(evs[i].Message)
		}
		body, err := json.Marshal(map[string]any{"logGroupName": "bench", "logStreamName": fmt.Sprintf("s%03d", c%streams), "logEvents": evs})
		if err != nil {
			tb.Fatal(err)
		}
		var offs []int
		for from := 0; ; {
			k := bytes.Index(body[from:], []byte(`"timestamp":`))
			if k < 0 {
				break
			}
			from += k + len(`"timestamp":`)
			offs = append(offs, from)
		}
		if len(offs) != n {
			tb.Fatalf("found %d timestamps in a body of %d events", len(offs), n)
		}
		lb.bodies, lb.ts = append(lb.bodies, body), append(lb.ts, offs)
	}
	lb.perCall = msgBytes / calls
	return lb
}

// call is the k-th call's body in buf: its template with every timestamp
// moved on by the rounds already sent, so a long run keeps each stream's
// events in order.
func (lb *logBodies) call(k int, buf []byte) []byte {
	i := k % len(lb.bodies)
	buf = append(buf[:0], lb.bodies[i]...)
	shift := int64(k/len(lb.bodies)) * int64(len(lb.bodies)/lb.streams*lb.n)
	if shift == 0 {
		return buf
	}
	for _, off := range lb.ts[i] {
		digits := buf[off : off+13]
		var v int64
		for _, d := range digits {
			v = v*10 + int64(d-'0')
		}
		v += shift
		for j := 12; j >= 0; j-- {
			digits[j] = byte('0' + v%10)
			v /= 10
		}
	}
	return buf
}

// BenchmarkPutLogEventsEndToEnd posts pre-encoded PutLogEvents calls of
// 1,000 ~200-byte events from 8 concurrent clients to a node on loopback
// (fsync before every acknowledgement, the stream path running), and
// reports message MB/s and the long-term store's bytes on disk per message
// byte once every event is applied.
func BenchmarkPutLogEventsEndToEnd(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	c := tn.logsSDK()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	const streams = 16
	for s := range streams {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String(fmt.Sprintf("s%03d", s))}); err != nil {
			b.Fatal(err)
		}
	}
	// 64 calls of 1,000 events a round, 4 per stream: a stream advances 4 s
	// a round, so the run stays in the past for its first ~3,500 calls.
	lb := putLogEventsBodies(b, streams, 64, 1000, time.Now().Add(-15*time.Minute))
	perCall := lb.perCall
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU(b)
	stopProfile := timedProfile(b)
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		for pb.Next() {
			buf = lb.call(int(next.Add(1)-1), buf)
			req, _ := http.NewRequest("POST", tn.url(), bytes.NewReader(buf))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
			if !sendBench(b, client, req, http.StatusOK) {
				return
			}
		}
	})
	elapsed, cpu := time.Since(start), processCPU(b)-cpu0
	stopProfile()
	b.StopTimer()
	b.ReportMetric(float64(b.N*perCall)/elapsed.Seconds()/1e6, "MB/s")
	// CPU per message MB (server and load generator, one process) is steadier
	// than MB/s on a shared machine: 2,000 over it is the 2-core ceiling.
	b.ReportMetric(cpu.Seconds()*1e3/(float64(b.N*perCall)/1e6), "cpu-ms/MB")
	// Bytes on disk per message byte, once the long-term store applied all.
	want := b.N * 1000
	waitFor(b, 5*time.Minute, "the long-term store to apply every event", func() bool { return storedEvents(b, tn, streams) >= want })
	if err := tn.longTerm.Flush(); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(tn.cfg.Data, "longterm")
	b.ReportMetric(float64(logDiskBytes(b, tn))/float64(b.N*perCall), "L0-sst-bytes/msg-byte")
	if err := tn.longTerm.CompactLogs(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(logDiskBytes(b, tn))/float64(b.N*perCall), "compacted-sst-bytes/msg-byte")
	if os.Getenv("CELLWATCH_BENCH_FILES") != "" {
		_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b.Logf("%10d %s", info.Size(), filepath.Base(p))
			}
			return nil
		})
	}
}

func storedEvents(tb testing.TB, tn *testNode, streams int) int {
	n := 0
	for s := range streams {
		_ = tn.longTerm.ScanLogs(context.Background(), store.LogScan{Tenant: awsapi.DefaultTenant, Group: "bench", Stream: fmt.Sprintf("s%03d", s),
			FromMs: math.MinInt64, ToMs: math.MaxInt64}, func(*store.LogEvent) bool { n++; return true })
	}
	return n
}

// logDiskBytes is the long-term store's sstable bytes for the log events'
// keys (pebble's own write-ahead log files are recycled, a fixed cost, not
// per byte; the metrics' keys are not counted).
// timedProfile writes a CPU profile of the timed part alone to the file
// CELLWATCH_BENCH_CPUPROFILE names (run without -cpuprofile), so the set-up
// and the measurements after the timer do not blur it.
func timedProfile(tb testing.TB) func() {
	path := os.Getenv("CELLWATCH_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		tb.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}

// processCPU is the user and system CPU time this process used so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func logDiskBytes(tb testing.TB, tn *testNode) int64 {
	n, err := tn.longTerm.LogDiskBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkLogScan measures what FilterLogEvents and a Logs Insights
// `stats count(*) by bin(1m)` cost per byte: events written through
// PutLogEvents (64,000 of ~200 bytes, applied to the long-term store), then
// scanned through the node's merged view with a filter pattern, and with
// the Insights engine.
func BenchmarkLogScan(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	c := tn.logsSDK()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String("s000")}); err != nil {
		b.Fatal(err)
	}
	lb := putLogEventsBodies(b, 1, 64, 1000, time.Now().Add(-time.Hour))
	bodies, perCall := lb.bodies, lb.perCall
	for _, body := range bodies {
		req, _ := http.NewRequest("POST", tn.url(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
		if !sendBench(b, http.DefaultClient, req, http.StatusOK) {
			return
		}
	}
	waitFor(b, 2*time.Minute, "the long-term store to apply every event", func() bool { return storedEvents(b, tn, 1) >= 64000 })
	view := store.LogsView{Local: tn.local, LongTerm: tn.longTerm}
	scan := store.LogScan{Tenant: awsapi.DefaultTenant, Group: "bench", Stream: "s000", FromMs: math.MinInt64, ToMs: math.MaxInt64}
	total := int64(len(bodies) * perCall)
	pat, err := pattern.Parse(`"status\":500"`)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("filter-terms", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			n := 0
			if _, err := view.ScanLogs(ctx, scan, func(e *store.LogEvent) bool {
				if _, ok := pat.Match(e.Message); ok {
					n++
				}
				return true
			}); err != nil || n == 0 {
				b.Fatalf("matched %d, %v", n, err)
			}
		}
	})
	q, err := insights.Parse("stats count(*) by bin(1m)")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("insights-count-by-bin", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			run := q.NewRun(insights.Options{})
			var ev insights.Event
			if _, err := view.ScanLogs(ctx, scan, func(e *store.LogEvent) bool {
				ev = insights.Event{Timestamp: e.Timestamp, IngestionTime: e.Ingestion, Message: e.Message, Stream: "s000", Group: "bench"}
				return run.Add(&ev)
			}); err != nil || len(run.Results()) == 0 {
				b.Fatalf("no rows, %v", err)
			}
		}
	})
}
