package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

func logsMsg(off int64, origin string, walOff uint64, l *record.Logs) Message {
	return Message{Offset: off, Shipped: record.Shipped{
		Origin: origin, Offset: walOff, Kind: record.KindLogs, Body: record.AppendLogs(nil, l),
	}}
}

func logsRec(stream string, ingestion int64, ts ...int64) *record.Logs {
	l := &record.Logs{Tenant: "t", Group: "g", Stream: stream, Ingestion: ingestion}
	for _, x := range ts {
		l.Events = append(l.Events, record.LogEvent{Timestamp: x, Message: fmt.Sprintf("%s@%d", stream, x)})
	}
	return l
}

func scanAll(t *testing.T, r interface {
	ScanLogs(context.Context, LogScan, func(*LogEvent) bool) ([]Interval, error)
}, s LogScan) ([]string, []Interval) {
	t.Helper()
	var got []string
	unknown, err := r.ScanLogs(context.Background(), s, func(e *LogEvent) bool { got = append(got, e.Message); return true })
	if err != nil {
		t.Fatal(err)
	}
	return got, unknown
}

func TestLongTermLogsApplyOnceAndScan(t *testing.T) {
	clock := newClock(t0)
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	ms := t0.UnixMilli()
	rec := logsRec("s", ms, ms+1, ms+2, ms+3)
	rec.Metrics = []record.Metrics{{Tenant: "t", Namespace: "LogMetrics", Datums: []record.Datum{
		{MetricName: "Errors", Unit: "None", Timestamp: ms + 1, Value: 1},
	}}}
	// The same message twice (a replay), and a second record.
	msgs := []Message{logsMsg(0, "node-a", 1, rec), logsMsg(1, "node-a", 1, rec), logsMsg(2, "node-a", 2, logsRec("s", ms+10, ms+2))}
	if err := lt.ApplyBatch(0, msgs); err != nil {
		t.Fatal(err)
	}
	if err := lt.ApplyBatch(0, msgs[:1]); err != nil { // the stream redelivers
		t.Fatal(err)
	}
	got, _ := scanAll(t, LogsView{Local: newTestLocal(t, clock, nil), LongTerm: lt}, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: ms, ToMs: ms + 10})
	want := []string{fmt.Sprintf("s@%d", ms+1), fmt.Sprintf("s@%d", ms+2), fmt.Sprintf("s@%d", ms+2), fmt.Sprintf("s@%d", ms+3)}
	if !slices.Equal(got, want) {
		t.Fatalf("scan = %v; want %v (each event once, by timestamp then ingestion)", got, want)
	}
	desc, _ := scanAll(t, LogsView{Local: newTestLocal(t, clock, nil), LongTerm: lt}, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: ms, ToMs: ms + 3, Descending: true})
	if !slices.Equal(desc, []string{want[2], want[1], want[0]}) {
		t.Fatalf("descending scan of [ms, ms+3) = %v", desc)
	}
	// The metric filter's datum is in the metric path.
	refs := lt.Lookup("t", "LogMetrics", "Errors", nil)
	if len(refs) != 1 {
		t.Fatalf("metric filter datum: %d series; want 1", len(refs))
	}
	if err := lt.ForgetLogs("t", "g", "s", ms+2); err != nil {
		t.Fatal(err)
	}
	if got, _ := scanAll(t, LogsView{Local: newTestLocal(t, clock, nil), LongTerm: lt}, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: math.MinInt64, ToMs: math.MaxInt64}); len(got) != 3 {
		t.Fatalf("after retention before ms+2: %v; want the 3 events at or after it", got)
	}
	if err := lt.ForgetLogs("t", "g", "s", math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if got, _ := scanAll(t, LogsView{Local: newTestLocal(t, clock, nil), LongTerm: lt}, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: math.MinInt64, ToMs: math.MaxInt64}); len(got) != 0 {
		t.Fatalf("after deleting the stream: %v", got)
	}
}

func TestLogsViewMergesLocalAndLongTermOnce(t *testing.T) {
	clock := newClock(t0)
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	local := newTestLocal(t, clock, nil)
	ms := t0.UnixMilli()
	shipped := logsRec("s", ms, ms-2000, ms-1000) // applied to both
	local.ApplyLogs("node-a", 1, shipped)
	if err := lt.ApplyBatch(0, []Message{logsMsg(0, "node-a", 1, shipped)}); err != nil {
		t.Fatal(err)
	}
	local.ApplyLogs("node-a", 2, logsRec("s", ms+5, ms-1500, ms)) // not shipped yet
	got, _ := scanAll(t, LogsView{Local: local, LongTerm: lt}, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: ms - 3000, ToMs: ms + 1})
	want := []string{fmt.Sprintf("s@%d", ms-2000), fmt.Sprintf("s@%d", ms-1500), fmt.Sprintf("s@%d", ms-1000), fmt.Sprintf("s@%d", ms)}
	if !slices.Equal(got, want) {
		t.Fatalf("merged scan = %v; want %v", got, want)
	}
	n := 0
	if _, err := (LogsView{Local: local, LongTerm: lt}).ScanLogs(context.Background(), LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: ms - 3000, ToMs: ms + 1},
		func(*LogEvent) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Fatalf("a scan stopped by its callback after 2 events called it %d times (%v)", n, err)
	}
}

func TestLocalLogsWindowBoundAndCoverage(t *testing.T) {
	clock := newClock(t0)
	l, err := NewLocal(LocalConfig{Now: clock.now, MaxLogBytes: 64 * 1024}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.ApplyLiveness(record.Liveness{UnixMs: t0.UnixMilli(), Genesis: true}) // a new data directory: all before is covered
	ms := t0.UnixMilli()
	l.ApplyLogs("n", 1, logsRec("old", ms, t0.Add(-4*time.Hour).UnixMilli())) // before the window: left to the long-term store
	if got := l.LogBytes(); got != 0 {
		t.Fatalf("an event older than the window was kept (%d bytes)", got)
	}
	view := LogsView{Local: l}
	from, to := t0.Add(-30*time.Minute).UnixMilli(), ms
	if _, unknown := scanAll(t, view, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: from, ToMs: to}); len(unknown) != 0 {
		t.Fatalf("covered time reported unknown: %v", unknown)
	}
	// Fill past the bound: the oldest events go and their time becomes unknown.
	for i := range 2000 {
		l.ApplyLogs("n", uint64(10+i), logsRec("s", ms, from+int64(i)*500))
	}
	if got := l.LogBytes(); got > 64*1024 {
		t.Fatalf("log bytes %d over the 64 KiB bound", got)
	}
	got, unknown := scanAll(t, view, LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: from, ToMs: to})
	if len(got) == 0 || len(got) == 2000 || len(unknown) != 1 || unknown[0].From != from {
		t.Fatalf("after shedding: %d events, unknown %v; want some events and [%d, horizon) unknown", len(got), unknown, from)
	}
	first := got[0]
	var firstTs int64
	_, _ = fmt.Sscanf(first, "s@%d", &firstTs)
	if unknown[0].To > firstTs {
		t.Fatalf("unknown %v reaches past the oldest event kept (%d)", unknown, firstTs)
	}
	clock.advance(3 * time.Hour)
	l.Trim()
	if got := l.LogBytes(); got != 0 {
		t.Fatalf("events left the window but %d bytes remain", got)
	}
}

func TestRebuildAppliesLogRecords(t *testing.T) {
	clock := newClock(t0)
	ms := t0.UnixMilli()
	rec := logsRec("s", ms, ms-10)
	rec.Metrics = []record.Metrics{{Tenant: "t", Namespace: "N", Datums: []record.Datum{{MetricName: "M", Unit: "None", Timestamp: ms - 10, Value: 3}}}}
	src := recordsSource{record.AppendLogs(nil, rec)}
	l := newTestLocal(t, clock, nil)
	if err := l.Rebuild(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	var origin string
	l.ScanLogs(LogScan{Tenant: "t", Group: "g", Stream: "s", FromMs: math.MinInt64, ToMs: math.MaxInt64}, func(e *LogEvent) bool { origin = e.Origin; return true })
	if origin != "wal-node" {
		t.Fatalf("rebuilt event origin %q; want the WAL's node ID", origin)
	}
	if len(l.Lookup("t", "N", "M", nil)) != 1 {
		t.Fatal("the record's metric filter datum was not rebuilt")
	}
}

type recordsSource [][]byte

func (r recordsSource) NodeID() string { return "wal-node" }
func (r recordsSource) Replay(_ context.Context, from uint64, fn func(uint64, []byte) error) error {
	for i, rec := range r {
		if err := fn(from+uint64(i), rec); err != nil {
			return err
		}
	}
	return nil
}

func TestMergeLogEvents(t *testing.T) {
	ev := func(ts int64, off uint64, idx uint32) LogEvent {
		return LogEvent{Timestamp: ts, Origin: "n", Offset: off, Index: idx, Message: fmt.Sprintf("%d/%d/%d", ts, off, idx)}
	}
	held := []LogEvent{ev(10, 1, 0), ev(20, 1, 1), ev(30, 1, 2)}
	for _, tc := range []struct {
		name  string
		add   []LogEvent
		want  []int64 // timestamps in order
		added int     // events added
	}{
		{"newer appends", []LogEvent{ev(40, 2, 0), ev(50, 2, 1)}, []int64{10, 20, 30, 40, 50}, 2},
		{"older interleaves", []LogEvent{ev(5, 2, 0), ev(15, 2, 1), ev(25, 2, 2), ev(35, 2, 3)}, []int64{5, 10, 15, 20, 25, 30, 35}, 4},
		{"same timestamp orders by identity", []LogEvent{ev(20, 0, 5), ev(20, 2, 0)}, []int64{10, 20, 20, 20, 30}, 2},
		{"applied before is skipped", []LogEvent{ev(20, 1, 1), ev(30, 1, 2), ev(31, 2, 0)}, []int64{10, 20, 30, 31}, 1},
		{"unsorted input is ordered", []LogEvent{ev(25, 2, 1), ev(15, 2, 0)}, []int64{10, 15, 20, 25, 30}, 2},
		{"nothing to add", nil, []int64{10, 20, 30}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, added := mergeLogEvents(slices.Clone(held), slices.Clone(tc.add))
			var ts []int64
			for i := range got {
				ts = append(ts, got[i].Timestamp)
				if i > 0 && CompareLogEvents(&got[i-1], &got[i]) >= 0 {
					t.Fatalf("out of order at %d: %+v then %+v", i, got[i-1], got[i])
				}
			}
			if !slices.Equal(ts, tc.want) {
				t.Fatalf("timestamps %v, want %v", ts, tc.want)
			}
			var wantBytes int64
			for _, a := range tc.add {
				if !slices.ContainsFunc(held, func(h LogEvent) bool { return CompareLogEvents(&h, &a) == 0 }) {
					wantBytes += int64(len(a.Message)) + logEventOverhead
				}
			}
			if added != wantBytes || len(got) != len(held)+tc.added {
				t.Fatalf("added %d bytes, %d events; want %d bytes, %d events", added, len(got)-len(held), wantBytes, tc.added)
			}
		})
	}
}
