package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// logStreams and logEventsPerCall shape the put-logs load: what an agent
// shipping access logs sends (1,000 ~200-byte JSON lines a call).
const (
	logStreams       = 16
	logEventsPerCall = 1000
)

// logsCall is a Logs JSON 1.1 request of op.
func logsCall(op string, body any, bytes int) (call, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return call{}, fmt.Errorf("encode %s: %w", op, err)
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Logs_20140328." + op}}
	return call{path: "/", header: h, body: b, datums: bytes}, nil
}

// putLogsCalls are the PutLogEvents calls of the load: calls round-robin
// over the streams, each stream's events consecutive milliseconds from at.
// A call's datums are its message bytes, so the row counts bytes/s.
func putLogsCalls(at time.Time, calls int) ([]call, error) {
	type event struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	out := make([]call, 0, calls)
	for c := range calls {
		evs := make([]event, logEventsPerCall)
		bytes := 0
		for i := range evs {
			n := c*logEventsPerCall + i
			evs[i] = event{at.UnixMilli() + int64(c/logStreams*logEventsPerCall+i), fmt.Sprintf(
				`{"level":"info","method":"GET","path":"/api/v1/items/%d","status":%d,"ms":%d,"bytes":%d,"ua":"Mozilla/5.0 (X11; Linux x86_64)","trace":"%016x"}`,
				n%5000, 200+(n%7)*50, n%250, 512+n%4096, uint64(n)*0x9e3779b97f4a7c15)}
			bytes += len(evs[i].Message)
		}
		pc, err := logsCall("PutLogEvents", map[string]any{"logGroupName": "bench", "logStreamName": fmt.Sprintf("s%03d", c%logStreams), "logEvents": evs}, bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	return out, nil
}

// putLogs writes access-log lines through PutLogEvents to a fresh
// cellwatch (fsync before every acknowledgement, the stream path running).
// Throughput is message bytes per second; bytes/datum is the data
// directory's bytes per message byte.
func (b *bench) putLogs(ctx context.Context) error {
	cw, err := b.startCellwatch(ctx)
	if err != nil {
		return err
	}
	defer cw.stop()
	r, err := b.putLogsOn(ctx, cw)
	if err != nil {
		return err
	}
	b.add(r)
	return nil
}

// putLogsOn creates the group and streams on cw and runs the load.
func (b *bench) putLogsOn(ctx context.Context, cw *server) (row, error) {
	group, err := logsCall("CreateLogGroup", map[string]any{"logGroupName": "bench"}, 0)
	if err != nil {
		return row{}, err
	}
	var streams []call
	for s := range logStreams {
		c, err := logsCall("CreateLogStream", map[string]any{"logGroupName": "bench", "logStreamName": fmt.Sprintf("s%03d", s)}, 0)
		if err != nil {
			return row{}, err
		}
		streams = append(streams, c)
	}
	for _, set := range [][]call{{group}, streams} { // the group before its streams
		if _, err := b.writeOnce(ctx, cw, set); err != nil {
			return row{}, fmt.Errorf("set up log streams: %w", err)
		}
	}
	// 256 calls: 16 a stream, ~50 MB of bodies held by the generator.
	calls, err := putLogsCalls(time.Now().Add(-30*time.Minute), 256)
	if err != nil {
		return row{}, err
	}
	target := fmt.Sprintf("%d streams, %d events/req, %d conns", logStreams, logEventsPerCall, b.concurrency)
	stopProfile := b.startProfile(ctx, cw, "put-logs")
	r := b.measure(ctx, "put-logs", target, cw, calls, b.duration)
	stopProfile()
	r.unit = "msg B/s"
	return r, nil
}
